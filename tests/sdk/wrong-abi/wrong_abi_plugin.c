/*
 * A plugin built for the next ABI major: the kernel must refuse it with a
 * message naming both versions, and must call nothing in its table.
 *
 * Written in C directly against plugin.h, without the C++ layer, to show the
 * ABI alone is enough to write a plugin.
 */
#include <blynk/plugin.h>

#include <string.h>

#define NAME "wrong-abi-plugin"

static int wrong_abi_init(void* self, const blynk_setting* settings, size_t count, blynk_error* err) {
    static const char msg[] = NAME ": init called although the ABI major differs";
    (void)self;
    (void)settings;
    (void)count;
    /* Reaching this is a kernel bug: make it loud in the test's output. */
    if (err) memcpy(err->message, msg, sizeof msg);
    return BLYNK_ERROR;
}

static blynk_plugin_v1 table;

BLYNK_PLUGIN_EXPORT const blynk_plugin_v1* blynk_plugin_entry(const blynk_host_v1* host) {
    (void)host;
    memset(&table, 0, sizeof table);
    table.size = (uint32_t)sizeof table;
    table.abi_major = BLYNK_ABI_MAJOR + 1u;
    table.abi_minor = 0u;
    table.flags = 0u;
    table.name.data = NAME;
    table.name.size = sizeof NAME - 1;
    table.version.data = "0.0.1";
    table.version.size = 5;
    table.self = &table;
    table.init = wrong_abi_init;
    table.shutdown = NULL;
    table.storage = NULL;
    table.events = NULL;
    return &table;
}
