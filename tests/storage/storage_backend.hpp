// The storage suite's backends: each loads one storage plugin module with the
// SDK's fake host and gives every test a fresh, empty store (storage-sqlite:
// a new file in a temporary folder; storage-postgres: a new database in the
// test cluster, tests/pg/cluster.sh).
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#pragma once

#include <blynk/plugin_testing.hpp>

#include <memory>
#include <string>
#include <vector>

namespace storage_suite {

class Backend {
public:
    virtual ~Backend() = default;
    virtual std::string name() const = 0;
    // Empty when the backend can run; otherwise why not (the test skips, or
    // fails where BLYNK_TEST_PG_REQUIRED says the backend must be there).
    virtual std::string unavailable() const { return {}; }
    // Shuts the plugin down and starts it on a new, empty store named `test`.
    virtual blynk::testing::Result open_fresh(const std::string& test) = 0;
    blynk::testing::PluginUnderTest& plugin() { return *plugin_; }
    blynk::testing::FakeHost& host() { return *host_; }

protected:
    std::unique_ptr<blynk::testing::TempDir> tmp_;
    std::unique_ptr<blynk::testing::FakeHost> host_;
    std::unique_ptr<blynk::testing::PluginUnderTest> plugin_;
};

// The backend named "sqlite" or "postgres", created once per process.
Backend& backend(const std::string& name);
// Stops what the backends started (the cluster, if the suite started one).
void stop_backends();

}  // namespace storage_suite

namespace storage_suite {
// The current test's database and the cluster's admin URL (storage-postgres).
std::string postgres_url();
std::string postgres_admin_url();
}  // namespace storage_suite
