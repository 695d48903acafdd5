// blynkd plugin SDK: a fake host for a plugin's unit tests.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
//
// A test loads a plugin's entry the way blynkd does and drives it through the
// C tables of plugin.h, with no server running:
//
//     blynk::testing::FakeHost host(data_dir);        // fills a blynk_host_v1
//     blynk::testing::PluginUnderTest plugin(host);
//     if (!plugin.load_module(BLYNK_PLUGIN_MODULE)) fail(plugin.error());
//     blynk::testing::Result r = plugin.init({{"file", "/tmp/x.log"}});
//     plugin.pin_written({"a@b.c", 1, 0, 'v', 5, "42", 1000});
//
// What the fake host does (docs/plugin-sdk.md, "Testing a plugin"):
//   - log: recorded, with its level (logs(), logged(text));
//   - submit_work and post_kernel: queued; run_pending() runs the queue on
//     the calling thread, until it is empty (work may queue more work). With
//     run_at_once = true, each job runs inside the call that submits it.
//     refuse_work = true makes submit_work answer BLYNK_ERROR (a full pool);
//   - the device model: `devices` (by token) is what the kernel knows;
//     resolve_token answers from it at once (or, with defer_token_lookups,
//     when run_token_lookups() is called), BLYNK_ERROR for an unknown token
//     when storage_unavailable; pin_write and pin_property change the device
//     and are recorded in pin_writes / property_writes;
//   - HTTP: PluginUnderTest::call() matches a request against the plugin's
//     routes as the kernel does (percent-decoded segments, the route with the
//     most literal segments wins) and returns the HttpAnswer, which records
//     every http_respond (answers counts them; only the first is kept).
//
// Threads: the test's thread plays the kernel thread and the event thread.
// Logging, submitting work, posting and answering HTTP may come from any
// thread; everything else is called from the test's thread.
//
// Lifetimes: a plugin keeps the host table until the process ends, so keep
// the FakeHost alive as long as the process (e.g. a function-local static).
// Since SDK 1.2 a plugin built with plugin.hpp makes a new instance per load
// (one file may run as two instances), so a test may load the same module
// again for a fresh instance. A loaded module is never unloaded.
//
// This header needs only the C++17 standard library and the platform's
// dynamic loader (link ${CMAKE_DL_LIBS}); it does not depend on any test
// framework. blynk_add_plugin_test() in BlynkPlugin.cmake builds a test with it.
#ifndef BLYNK_PLUGIN_TESTING_HPP
#define BLYNK_PLUGIN_TESTING_HPP

#include <blynk/plugin.hpp>
#include <blynk/testing/fake_host.hpp>          // FakeHost, TempDir, Setting, Result, RecordingSink, HttpAnswer
#include <blynk/testing/plugin_under_test.hpp>  // PluginUnderTest: loads the plugin and calls its tables

#endif  // BLYNK_PLUGIN_TESTING_HPP
