/*
 * abi11-plugin: a plugin as one built against the plugin ABI 1.1 is on the
 * wire, to prove that a server speaking a later 1.x ABI still loads and feeds
 * it: the 1.1 additions (an HTTP route, the kernel's device model) and events.
 *
 *   GET /abi11/{token}/{pin}   the stored value of virtual pin {pin}, read
 *                              through the 1.1 kernel functions ("-" if none)
 *   pin writes                 appended to the file of its setting `file` as
 *                              "<email> v<pin> <value>"
 *
 * The ABI only ever appends, so ABI 1.1 is today's header up to the first
 * field 1.2 appended: the plugin answers abi_minor 1, a plugin table cut at
 * that field, and reads no host or event field past the 1.1 ones. Written in
 * C without the C++ layer, whose instance handling is 1.2's. (The 1.0 plugin
 * beside it, tests/sdk/abi-1.0, pins the layout of the fields 1.0 had.)
 */
#include <blynk/plugin.h>

#include "../older_abi.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME "abi11-plugin"

/* Where ABI 1.1 ended. */
#define PLUGIN_SIZE_1_1 offsetof(blynk_plugin_v1, auth)
#define HOST_SIZE_1_1 offsetof(blynk_host_v1, profile_json)

static const blynk_host_v1* host;
static char file_path[1024];

static void log_info(const char* message) {
    host->log(host->ctx, BLYNK_LOG_INFO, older_abi_str(message));
}

static int fail(blynk_error* err, const char* message) {
    snprintf(err->message, sizeof err->message, "%s", message);
    return BLYNK_ERROR;
}

static int echo_init(void* self, const blynk_setting* settings, size_t count, blynk_error* err) {
    size_t i;
    FILE* f;
    char line[128];
    (void)self;
    file_path[0] = '\0';
    for (i = 0; i < count; ++i) {
        const blynk_setting* s = &settings[i];
        if (s->key.size == 4 && memcmp(s->key.data, "file", 4) == 0) {
            if (s->value.size >= sizeof file_path) return fail(err, "'file' is too long");
            memcpy(file_path, s->value.data, s->value.size);
            file_path[s->value.size] = '\0';
        } else {
            snprintf(err->message, sizeof err->message, "unknown key '%.*s'", (int)s->key.size, s->key.data);
            return BLYNK_ERROR;
        }
    }
    if (!file_path[0]) return fail(err, "'file' must be set");
    f = fopen(file_path, "a");
    if (!f) return fail(err, "'file' cannot be opened for appending");
    fclose(f);
    snprintf(line, sizeof line, NAME ": built for ABI 1.1, host offers 1.%u", (unsigned)host->abi_minor);
    log_info(line);
    return BLYNK_OK;
}

/* The event thread only: no lock needed. Reads no field past ABI 1.1's. */
static void echo_pin_written(void* self, const blynk_pin_event* ev) {
    FILE* f = fopen(file_path, "a");
    (void)self;
    if (!f) return;
    fprintf(f, "%.*s %c%u %.*s\n", (int)ev->email.size, ev->email.data, ev->pin_type, (unsigned)ev->pin,
            (int)ev->value.size, ev->value.data);
    fclose(f);
}

static void answer(blynk_http_responder* responder, uint32_t status, const char* body) {
    blynk_http_response r;
    memset(&r, 0, sizeof r);
    r.size = (uint32_t)sizeof r;
    r.status = status;
    r.content_type = older_abi_str("text/plain");
    r.body = older_abi_str(body);
    host->http_respond(host->ctx, responder, &r);
}

/* What the token look-up needs once it answers (possibly later). */
typedef struct pending_read {
    blynk_http_responder* responder;
    char token[64];
    size_t token_size;
    uint8_t pin;
} pending_read;

static void token_resolved(void* arg, int status) {
    pending_read* p = (pending_read*)arg;
    blynk_str token, value;
    char text[1024];
    token.data = p->token;
    token.size = p->token_size;
    if (status != BLYNK_OK) {
        answer(p->responder, 400, "Invalid token.");
    } else if (host->pin_read(host->ctx, token, 'v', p->pin, &value) == BLYNK_OK) {
        snprintf(text, sizeof text, "%.*s", (int)value.size, value.data);
        answer(p->responder, 200, text);
    } else {
        answer(p->responder, 200, "-");
    }
    free(p);
}

static void get_pin(void* self, void* route_data, const blynk_http_request* req, blynk_http_responder* responder) {
    pending_read* p;
    long pin;
    char digits[8];
    (void)self;
    (void)route_data;
    if (req->param_count != 2 || req->params[0].size >= sizeof p->token || req->params[1].size == 0 ||
        req->params[1].size >= sizeof digits) {
        answer(responder, 400, "Bad request.");
        return;
    }
    memcpy(digits, req->params[1].data, req->params[1].size);
    digits[req->params[1].size] = '\0';
    pin = strtol(digits, NULL, 10);
    if (pin < 0 || pin > 255) {
        answer(responder, 400, "Bad pin.");
        return;
    }
    p = (pending_read*)calloc(1, sizeof *p);
    if (!p) {
        answer(responder, 500, "Out of memory.");
        return;
    }
    p->responder = responder;
    memcpy(p->token, req->params[0].data, req->params[0].size);
    p->token_size = req->params[0].size;
    p->pin = (uint8_t)pin;
    host->resolve_token(host->ctx, req->params[0], token_resolved, p);
}

static blynk_http_route routes[1];
static blynk_http_v1 http;
static blynk_events_v1 events;
static blynk_plugin_v1 table;

BLYNK_PLUGIN_EXPORT const blynk_plugin_v1* blynk_plugin_entry(const blynk_host_v1* h) {
    if (h->abi_major != BLYNK_ABI_MAJOR || h->size < HOST_SIZE_1_1) return NULL;
    host = h;
    routes[0].method = older_abi_str("GET");
    routes[0].pattern = older_abi_str("/abi11/{token}/{pin}");
    routes[0].handler = get_pin;
    routes[0].route_data = NULL;
    http.size = (uint32_t)sizeof http;
    http.routes = routes;
    http.route_count = 1;
    older_abi_table(&table, &events, PLUGIN_SIZE_1_1, 1u, NAME, "1.1.0", echo_pin_written);
    table.init = echo_init;
    table.http = &http;
    return &table;
}
