/*
 * abi10-plugin: a plugin as one built against the plugin ABI 1.0 is on the
 * wire, to prove that a server speaking a later 1.x ABI still loads and feeds
 * it.
 *
 * It subscribes to pin writes and appends one line per write to the file
 * named by the setting `file` (default <data_dir>/abi10-pins.txt):
 *
 *     <n> <email> <dash_id>-<device_id> <pin_type><pin> <value>
 *
 * where <n> counts the writes this plugin has seen for that pin of that
 * device (1, 2, ...), and a multi-value write has its `\0`s shown as spaces.
 *
 * The ABI only ever appends, so ABI 1.0 is today's header up to the first
 * field 1.1 appended: the plugin answers abi_minor 0 with its plugin table cut
 * there and reads no host or event field past the 1.0 ones. The static
 * assertions below pin the 1.0 layout (as the 1.0 headers had it, on 64-bit
 * platforms), so a reordered or resized 1.0 field fails the build.
 */
#include <blynk/plugin.h>

#include "../older_abi.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define NAME "abi10-plugin"

/* Where ABI 1.0 ended. */
#define PLUGIN_SIZE_1_0 offsetof(blynk_plugin_v1, http)
#define HOST_SIZE_1_0 offsetof(blynk_host_v1, http_respond)
#define PIN_EVENT_SIZE_1_0 offsetof(blynk_pin_event, token)

#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu
_Static_assert(HOST_SIZE_1_0 == 72 && offsetof(blynk_host_v1, ctx) == 16 && offsetof(blynk_host_v1, log) == 24 &&
                   offsetof(blynk_host_v1, data_dir) == 48 && offsetof(blynk_host_v1, submit_work) == 64,
               "the ABI 1.0 host table");
_Static_assert(PLUGIN_SIZE_1_0 == 88 && offsetof(blynk_plugin_v1, name) == 16 &&
                   offsetof(blynk_plugin_v1, self) == 48 && offsetof(blynk_plugin_v1, init) == 56 &&
                   offsetof(blynk_plugin_v1, events) == 80,
               "the ABI 1.0 plugin table");
_Static_assert(PIN_EVENT_SIZE_1_0 == 64 && offsetof(blynk_pin_event, dash_id) == 24 &&
                   offsetof(blynk_pin_event, pin_type) == 32 && offsetof(blynk_pin_event, value) == 40,
               "the ABI 1.0 pin event");
_Static_assert(sizeof(blynk_events_v1) >= 40 && offsetof(blynk_events_v1, pin_written) == 24, "the ABI 1.0 events");
_Static_assert(sizeof(blynk_setting) == 40 && offsetof(blynk_setting, type) == 32, "the ABI 1.0 setting");
#endif

static const blynk_host_v1* host;
static FILE* file;
static char file_path[1024];

/* Writes seen per (email, dash, device, pin): a test plugin, so a small table. */
typedef struct counter {
    char email[128];
    int32_t dash_id, device_id;
    char pin_type;
    uint8_t pin;
    unsigned long n;
} counter;
static counter counters[256];
static size_t counter_count;

static void host_log(int level, const char* message) {
    host->log(host->ctx, level, older_abi_str(message));
}

static void close_file(void) {
    if (file) fclose(file);
    file = NULL;
}

static int counter_init(void* self, const blynk_setting* settings, size_t count, blynk_error* err) {
    size_t i;
    char line[1600];
    (void)self;
    file_path[0] = '\0';
    for (i = 0; i < count; ++i) {
        const blynk_setting* s = &settings[i];
        if (s->key.size == 4 && memcmp(s->key.data, "file", 4) == 0 && s->value.size < sizeof file_path) {
            memcpy(file_path, s->value.data, s->value.size);
            file_path[s->value.size] = '\0';
        } else {
            snprintf(err->message, sizeof err->message, "unknown key '%.*s'", (int)s->key.size, s->key.data);
            return BLYNK_ERROR;
        }
    }
    if (!file_path[0])
        snprintf(file_path, sizeof file_path, "%.*s/abi10-pins.txt", (int)host->data_dir.size, host->data_dir.data);
    close_file();
    file = fopen(file_path, "a");
    if (!file) {
        snprintf(err->message, sizeof err->message, "cannot open '%s' (setting 'file') for appending: %s", file_path,
                 strerror(errno));
        return BLYNK_ERROR;
    }
    /* What this 1.0 plugin sees of the host: the host's own table is larger
     * and its minor newer; the plugin reads only the 1.0 fields. */
    snprintf(line, sizeof line,
             NAME
             ": built for ABI 1.0, host offers %u.%u (host table %u bytes, 1.0 table %u); "
             "counting pin writes into %s",
             (unsigned)host->abi_major, (unsigned)host->abi_minor, (unsigned)host->size, (unsigned)HOST_SIZE_1_0,
             file_path);
    host_log(BLYNK_LOG_INFO, line);
    return BLYNK_OK;
}

static void counter_shutdown(void* self) {
    (void)self;
    close_file();
}

static unsigned long count_write(const blynk_pin_event* ev) {
    size_t i;
    counter* c;
    for (i = 0; i < counter_count; ++i) {
        c = &counters[i];
        if (strlen(c->email) == ev->email.size && memcmp(c->email, ev->email.data, ev->email.size) == 0 &&
            c->dash_id == ev->dash_id && c->device_id == ev->device_id && c->pin_type == ev->pin_type &&
            c->pin == ev->pin)
            return ++c->n;
    }
    if (counter_count == sizeof counters / sizeof counters[0] || ev->email.size >= sizeof c->email) return 0;
    c = &counters[counter_count++];
    memcpy(c->email, ev->email.data, ev->email.size);
    c->email[ev->email.size] = '\0';
    c->dash_id = ev->dash_id;
    c->device_id = ev->device_id;
    c->pin_type = ev->pin_type;
    c->pin = ev->pin;
    return c->n = 1;
}

/* On the kernel's event thread, one event at a time: no lock needed. Reads no
 * field past ABI 1.0's. */
static void counter_pin_written(void* self, const blynk_pin_event* ev) {
    size_t i;
    (void)self;
    if (!file) return;
    fprintf(file, "%lu %.*s %d-%d %c%u ", count_write(ev), ev->email.size ? (int)ev->email.size : 1,
            ev->email.size ? ev->email.data : "-", (int)ev->dash_id, (int)ev->device_id,
            ev->pin_type ? ev->pin_type : '?', (unsigned)ev->pin);
    for (i = 0; i < ev->value.size; ++i) {
        unsigned char u = (unsigned char)ev->value.data[i];
        fputc(u == 0 ? ' ' : (u < 0x20 || u == 0x7f) ? '?' : u, file);
    }
    fputc('\n', file);
    if (fflush(file) != 0) host_log(BLYNK_LOG_WARN, NAME ": cannot write to its file");
}

static blynk_events_v1 events;
static blynk_plugin_v1 table;

BLYNK_PLUGIN_EXPORT const blynk_plugin_v1* blynk_plugin_entry(const blynk_host_v1* h) {
    if (h->abi_major != BLYNK_ABI_MAJOR || h->size < HOST_SIZE_1_0) return NULL;
    host = h;
    older_abi_table(&table, &events, PLUGIN_SIZE_1_0, 0u, NAME, "1.0.0", counter_pin_written);
    table.init = counter_init;
    table.shutdown = counter_shutdown;
    return &table;
}
