/*
 * What the C test plugins that stand for plugins built against an older ABI
 * (abi-1.0, abi-1.1) share: a borrowed string, and their plugin table as that
 * ABI had it (cut at `size`, answering `minor`), subscribed to pin writes.
 */
#ifndef BLYNK_TESTS_OLDER_ABI_H
#define BLYNK_TESTS_OLDER_ABI_H

#include <blynk/plugin.h>

#include <string.h>

static inline blynk_str older_abi_str(const char* s) {
    blynk_str r;
    r.data = s;
    r.size = strlen(s);
    return r;
}

/* Fills `table` and `events` as a plugin of ABI 1.`minor` answers: the
 * plugin table `size` bytes long (where that ABI ended), events of 1.0. */
static inline void older_abi_table(blynk_plugin_v1* table, blynk_events_v1* events, size_t size, uint32_t minor,
                                   const char* name, const char* version,
                                   void (*pin_written)(void*, const blynk_pin_event*)) {
    memset(events, 0, sizeof *events);
    events->size = (uint32_t)(offsetof(blynk_events_v1, login) + sizeof events->login);
    events->pin_written = pin_written;
    memset(table, 0, sizeof *table);
    table->size = (uint32_t)size;
    table->abi_major = 1u;
    table->abi_minor = minor;
    table->name = older_abi_str(name);
    table->version = older_abi_str(version);
    table->self = table;
    table->events = events;
}

#endif /* BLYNK_TESTS_OLDER_ABI_H */
