/*
 * blynkd plugin SDK: the C ABI.
 *
 * Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
 *
 * This header (with plugin_storage.h, which it includes for the records,
 * history and storage tables) is the whole boundary between the blynkd
 * kernel and a plugin.
 * Rules (see docs/plugin-sdk.md):
 *   - one entry symbol, BLYNK_PLUGIN_ENTRY_NAME, with C linkage;
 *   - the host offers its ABI major/minor, the plugin answers with the ones it
 *     was built for; a different major is refused with a message naming both;
 *   - every table starts with its own size and only ever grows by appending;
 *     a reader never touches a field that lies beyond the size it was given,
 *     and a NULL function pointer means "not provided";
 *   - only plain data crosses: slices are pointer + length and are valid only
 *     for the duration of the call; memory is freed by whoever allocated it;
 *     no exception ever crosses (the C++ layer catches at the edge);
 *   - plugins are never unloaded while the server runs.
 */
#ifndef BLYNK_PLUGIN_H
#define BLYNK_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BLYNK_ABI_MAJOR 1u
#define BLYNK_ABI_MINOR 4u

/* The one exported symbol of every plugin. */
#define BLYNK_PLUGIN_ENTRY_NAME "blynk_plugin_entry"

#if defined(_WIN32)
#define BLYNK_PLUGIN_EXPORT __declspec(dllexport)
#else
#define BLYNK_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* A borrowed UTF-8 slice; not NUL-terminated unless stated. */
typedef struct blynk_str {
    const char* data;
    size_t size;
} blynk_str;

/* Status codes of every function that can fail. */
enum blynk_status {
    BLYNK_OK = 0,
    BLYNK_ERROR = 1,     /* see the blynk_error message */
    BLYNK_NOT_FOUND = 2, /* the record does not exist */
    BLYNK_CONFLICT = 3,  /* a unique key (email, token) is taken */
    BLYNK_DENIED = 4     /* (ABI 1.2) a plugin's access control refused it */
};

/* An error message written by the callee into the caller's buffer. */
#define BLYNK_ERROR_CAPACITY 512
typedef struct blynk_error {
    char message[BLYNK_ERROR_CAPACITY]; /* NUL-terminated */
} blynk_error;

enum blynk_log_level {
    BLYNK_LOG_TRACE = 0,
    BLYNK_LOG_DEBUG = 1,
    BLYNK_LOG_INFO = 2,
    BLYNK_LOG_WARN = 3,
    BLYNK_LOG_ERROR = 4
};

/* One entry of the plugin's own config table, flattened: nested tables use
 * dotted keys, arrays use key.0, key.1, ...; values are rendered as text. */
enum blynk_setting_type {
    BLYNK_SETTING_STRING = 0,
    BLYNK_SETTING_INTEGER = 1,
    BLYNK_SETTING_FLOAT = 2,
    BLYNK_SETTING_BOOL = 3 /* "true" / "false" */
};
typedef struct blynk_setting {
    blynk_str key;
    blynk_str value;
    uint32_t type; /* enum blynk_setting_type */
} blynk_setting;

/* ---------------------------------------------------------------- http --- */

typedef struct blynk_http_header {
    blynk_str name;
    blynk_str value;
} blynk_http_header;

/* A request as a route handler sees it; everything is borrowed for the
 * duration of the handler call (copy what an asynchronous answer needs). */
typedef struct blynk_http_request {
    uint32_t size;
    blynk_str method; /* "GET", "PUT", ... */
    blynk_str path;   /* percent-decoded path, without the query */
    blynk_str query;  /* raw query string, without '?' */
    const blynk_http_header* headers;
    size_t header_count;
    blynk_str body;
    /* Values of the route pattern's {name} segments, in order, percent-decoded. */
    const blynk_str* params;
    size_t param_count;
    blynk_str peer; /* "ip:port" */
    uint32_t tls;   /* 1 when the request came over TLS */
} blynk_http_request;

typedef struct blynk_http_response {
    uint32_t size;
    uint32_t status;                  /* 200, 400, ... */
    blynk_str content_type;           /* empty: no Content-Type (an empty body) */
    const blynk_http_header* headers; /* extra headers, e.g. Location */
    size_t header_count;
    blynk_str body;
} blynk_http_response;

/* The pending answer to one request, owned by the host until answered. */
typedef struct blynk_http_responder blynk_http_responder;

/* A route handler runs on the kernel thread and must not block: it either
 * answers before returning or keeps the responder and answers later, from
 * any thread, with host->http_respond (exactly once). */
typedef void (*blynk_http_handler)(void* self, void* route_data, const blynk_http_request* req,
                                   blynk_http_responder* responder);

typedef struct blynk_http_route {
    blynk_str method;  /* exact method, "GET" */
    blynk_str pattern; /* "/{token}/get/{pin}": literal segments and {name} segments */
    blynk_http_handler handler;
    void* route_data; /* passed back to the handler */
} blynk_http_route;

/* HTTP routes a plugin serves on the device ports. Two plugins claiming the
 * same method and pattern is an error at load. */
typedef struct blynk_http_v1 {
    uint32_t size;
    const blynk_http_route* routes;
    size_t route_count;
} blynk_http_v1;

/* What the kernel tells about a device (kernel thread only; strings valid
 * until the calling function returns). */
typedef struct blynk_device_info {
    uint32_t size;
    blynk_str email;
    int32_t dash_id;
    int32_t device_id;
    blynk_str name;
    blynk_str board_type;
    uint32_t online_connections; /* live hardware connections */
    uint32_t dash_active;
    uint32_t app_connected; /* an app of the user is connected */
    int64_t connect_time_ms;
    int64_t disconnect_time_ms;
    int64_t data_received_ms;
} blynk_device_info;

/* ---------------------------------------------------------------- host --- */

/* What the kernel offers to a plugin. One instance per loaded plugin. */
struct blynk_history_query; /* below, in "history" */
struct blynk_history_rec;

typedef struct blynk_host_v1 {
    uint32_t size; /* sizeof the host's struct */
    uint32_t abi_major;
    uint32_t abi_minor;
    void* ctx; /* pass back to every function below */
    /* Log through the server's logger, tagged with the plugin's name. */
    void (*log)(void* ctx, int level, blynk_str message);
    blynk_str server_version;
    blynk_str data_dir; /* absolute path of the data folder */
    /* Run fn(arg) on the kernel's bounded worker pool (for blocking work that
     * must not run on an I/O thread). Returns BLYNK_ERROR if the queue is full. */
    int (*submit_work)(void* ctx, void (*fn)(void* arg), void* arg);

    /* ---- appended in ABI 1.1: HTTP routes and the device model ---- */
    /* Answers a pending HTTP request (exactly once, from any thread). */
    void (*http_respond)(void* ctx, blynk_http_responder* responder, const blynk_http_response* response);
    /* Runs fn(arg) on the kernel thread, where the functions below may be
     * called (route handlers already run there). BLYNK_ERROR if stopping. */
    int (*post_kernel)(void* ctx, void (*fn)(void* arg), void* arg);
    /* Kernel thread only. Looks a device token up (asking storage if it is not
     * in memory) and calls done(arg, status) on the kernel thread: BLYNK_OK,
     * BLYNK_NOT_FOUND, or BLYNK_ERROR when it cannot be told now (storage is
     * failing or too busy). May call done before returning. */
    void (*resolve_token)(void* ctx, blynk_str token, void (*done)(void* arg, int status), void* arg);
    /* Kernel thread only, for a resolved token; BLYNK_NOT_FOUND otherwise. */
    int (*device_info)(void* ctx, blynk_str token, blynk_device_info* out);
    /* The stored value of a pin (multi-values `\0`-separated); BLYNK_NOT_FOUND
     * if the pin has none. Valid until the calling function returns. */
    int (*pin_read)(void* ctx, blynk_str token, char pin_type, uint8_t pin, blynk_str* value);
    /* Writes a pin as the HTTP API does: stored, and sent to the device's live
     * connections (message id 111) and its user's apps. BLYNK_DENIED (since
     * ABI 1.2) when a plugin's access control refuses it; BLYNK_ERROR when the
     * write itself is bad (pin type, empty value, too long for a frame). */
    int (*pin_write)(void* ctx, blynk_str token, char pin_type, uint8_t pin, blynk_str value);
    /* Sets a widget property of a pin (stored, sent to apps, never to hardware). */
    int (*pin_property)(void* ctx, blynk_str token, uint8_t pin, blynk_str property, blynk_str value);
    /* Deprecated since ABI 1.2 (kept working): profile_json with the device's
     * email and dash_id and no flags gives the same JSON. The public JSON of
     * the device's dashboard (no tokens); valid until the calling function
     * returns. */
    int (*project_json)(void* ctx, blynk_str token, blynk_str* json);

    /* ---- appended in ABI 1.2 ---- */
    /* Kernel thread only. The JSON of one dashboard of a user (dash_id >= 0),
     * or of the user's whole profile, {"dashBoards":[...]}, with dash_id =
     * BLYNK_PROFILE_ALL_DASHBOARDS. flags: BLYNK_PROFILE_WITH_TOKENS adds each
     * device's "token" (for the owner's own app only: never serve it to
     * anyone else). BLYNK_NOT_FOUND: no such user (in memory) or dashboard.
     * Valid until the calling function returns. */
    int (*profile_json)(void* ctx, blynk_str email, int32_t dash_id, uint32_t flags, blynk_str* json);

    /* ---- appended in ABI 1.3 ---- */
    /* Gives the kernel a new certificate for the TLS port: chain_pem is the
     * server's certificate followed by its intermediates, key_pem its private
     * key (PEM, unencrypted). Any thread; it builds and checks the TLS context
     * on the calling thread (~10-30 ms of CPU: call it from submit_work or the
     * plugin's own thread, not a route handler). BLYNK_OK once the chain
     * parsed, the key matched it and it has not expired: new TLS connections
     * then use it at once, live ones keep the certificate they began with.
     * BLYNK_ERROR with the reason in err (which may be NULL) otherwise, or
     * when the server does not serve yet; the served certificate stays. The
     * kernel logs the certificate's subject, expiry and fingerprint, never
     * the key. */
    int (*install_certificate)(void* ctx, blynk_str chain_pem, blynk_str key_pem, blynk_error* err);
    /* [server] host: the name devices and apps reach the server by (empty
     * when not configured). Valid for the life of the process. */
    blynk_str server_host;

    /* ---- appended in ABI 1.4 ---- */
    /* Kernel thread only, for a resolved token: a notification as the legacy
     * HTTP API sent it, by the legacy rules (/notify: channel
     * BLYNK_NOTIFY_PUSH and body; /email: BLYNK_NOTIFY_MAIL, to, subject and
     * body, always plain text; no frequency limit, no quota), sent on the
     * kernel's notifier pool. done(arg, status, message) runs later on the
     * kernel thread (never inside this call): BLYNK_OK once the provider took
     * it; BLYNK_DENIED when a rule refused it (message: the legacy reason,
     * answered 400); BLYNK_ERROR when no plugin serves the channel, the queue
     * is full or the provider failed (message says which); BLYNK_NOT_FOUND
     * for an unknown token. message is valid during the call. */
    void (*notify)(void* ctx, blynk_str token, uint32_t channel, blynk_str to, blynk_str subject, blynk_str body,
                   void (*done)(void* arg, int status, blynk_str message), void* arg);
    /* Kernel thread only, for a resolved token. Reads the history of one pin
     * of the token's device (query: pin_type, pin, granularity, from_ms,
     * to_ms, limit, skip; its email, dash_id and device_id are ignored: the
     * token names them) on the storage thread, never the caller's, and calls
     * done on the kernel thread with the rows, oldest first (borrowed for the
     * call): BLYNK_OK (count may be 0), BLYNK_NOT_FOUND for a token not in
     * memory, BLYNK_ERROR when storage failed, is too busy or keeps no
     * history. May call done before returning. NULL before ABI 1.4. */
    void (*read_history)(void* ctx, blynk_str token, const struct blynk_history_query* query,
                         void (*done)(void* arg, int status, const struct blynk_history_rec* rows, size_t count),
                         void* arg);
    /* appended fields go here */
} blynk_host_v1;

/* (ABI 1.4) The channels of blynk_host_v1.notify. */
enum blynk_notify_channel { BLYNK_NOTIFY_MAIL = 0, BLYNK_NOTIFY_SMS = 1, BLYNK_NOTIFY_PUSH = 2 };

#define BLYNK_PROFILE_ALL_DASHBOARDS (-1)
enum blynk_profile_flags { BLYNK_PROFILE_WITH_TOKENS = 1u };

/* Records, history and storage (a separate file for readability only). */
#include "plugin_storage.h"

/* -------------------------------------------------------------- events --- */

enum blynk_session_kind { BLYNK_SESSION_HARDWARE = 0, BLYNK_SESSION_APP = 1 };

typedef struct blynk_device_event {
    uint32_t size;
    blynk_str email;
    int32_t dash_id;
    int32_t device_id;
    blynk_str device_name;
    blynk_str peer; /* "ip:port" */
    int64_t at_ms;
    /* ---- appended in ABI 1.2 ---- */
    /* The device's token: what the host functions (pin_write, device_info,
     * ...) take to act on this device. A secret: never log it. */
    blynk_str token;
} blynk_device_event;

typedef struct blynk_pin_event {
    uint32_t size;
    blynk_str email;
    int32_t dash_id;
    int32_t device_id;
    char pin_type; /* 'v', 'd', 'a' */
    uint8_t pin;
    blynk_str value; /* multi-values are `\0`-separated */
    int64_t at_ms;
    /* ---- appended in ABI 1.2 ---- */
    blynk_str token; /* the device's token, as in blynk_device_event */
} blynk_pin_event;

typedef struct blynk_login_event {
    uint32_t size;
    uint32_t kind;    /* enum blynk_session_kind */
    uint32_t success; /* 0: refused (email/ids are empty then) */
    blynk_str email;
    int32_t dash_id;
    int32_t device_id;
    blynk_str peer;
    int64_t at_ms;
    /* ---- appended in ABI 1.2 ---- */
    blynk_str token; /* the device's token; empty when the login was refused */
} blynk_login_event;

/* Event subscriptions. Events are delivered in order on the kernel's one
 * event thread (never an I/O thread, never the kernel thread); a slow
 * subscriber delays only other subscribers. A NULL entry is not subscribed
 * and costs nothing. A token in an event may be passed to the host's kernel
 * functions only from the kernel thread (post_kernel). */
typedef struct blynk_events_v1 {
    uint32_t size;
    void (*device_online)(void* self, const blynk_device_event* ev);
    void (*device_offline)(void* self, const blynk_device_event* ev);
    void (*pin_written)(void* self, const blynk_pin_event* ev);
    void (*login)(void* self, const blynk_login_event* ev);
    /* appended fields go here */
} blynk_events_v1;

/* ---------------------------------------------------------------- auth --- */

/* A hardware login the kernel has accepted (the token is a known device's),
 * before the device is told so. */
typedef struct blynk_auth_login {
    uint32_t size;
    blynk_str token; /* a secret: never log it */
    blynk_str email;
    int32_t dash_id;
    int32_t device_id;
    blynk_str peer; /* "ip:port" */
} blynk_auth_login;

enum blynk_write_source {
    BLYNK_WRITE_HARDWARE = 0, /* the device itself (hardware command) */
    BLYNK_WRITE_BRIDGE = 1,   /* another device, through a bridge */
    BLYNK_WRITE_API = 2       /* the HTTP API or a plugin's pin_write */
};

/* A pin write about to be stored and routed. */
typedef struct blynk_auth_write {
    uint32_t size;
    blynk_str token; /* the target device's token */
    blynk_str email;
    int32_t dash_id;
    int32_t device_id;
    char pin_type; /* 'v', 'd', 'a' */
    uint8_t pin;
    blynk_str value; /* multi-values are `\0`-separated */
    uint32_t source; /* enum blynk_write_source */
} blynk_auth_write;

enum blynk_auth_verdict { BLYNK_AUTH_ALLOW = 0, BLYNK_AUTH_DENY = 1 };

/* Synchronous access control (ABI 1.2). Called on the kernel thread, inline
 * in the login and write paths, so each call must be quick and must never
 * block (no I/O, no locks held by other threads for long): decide from
 * memory. Every call is timed against [plugins] auth_budget_us; a plugin
 * whose calls keep overrunning is switched off and the server then applies
 * [plugins] auth_fail ("closed": deny everything, the default; "open": allow).
 * Returns enum blynk_auth_verdict; anything else counts as a deny. A NULL
 * entry is not called. Several plugins: all are asked, the first deny wins. */
typedef struct blynk_auth_v1 {
    uint32_t size;
    int (*login)(void* self, const blynk_auth_login* req);
    int (*pin_write)(void* self, const blynk_auth_write* req);
    /* appended fields go here */
} blynk_auth_v1;

/* ----------------------------------------------------------- notifiers --- */
/* (ABI 1.4) Channels that reach people. The kernel applies the legacy rules
 * first (body limits, the widgets required, the per-user quota, the queue
 * limit) and calls a notifier on its own bounded worker threads, never an I/O
 * thread or the kernel thread, so a send may block, up to the plugin's own
 * per-message timeout (retries included). Return BLYNK_OK once the provider
 * has accepted the message, BLYNK_ERROR with the reason in err otherwise (the
 * kernel logs it, counts it and answers the caller as the legacy server did). */

typedef struct blynk_mail {
    uint32_t size;
    blynk_str to;           /* one address */
    blynk_str subject;      /* UTF-8 */
    blynk_str body;         /* UTF-8 */
    blynk_str content_type; /* "text/plain" or "text/html" */
} blynk_mail;

typedef struct blynk_sms {
    uint32_t size;
    blynk_str to;   /* the number as the notification widget holds it */
    blynk_str body; /* UTF-8 */
} blynk_sms;

enum blynk_push_platform { BLYNK_PUSH_ANDROID = 0, BLYNK_PUSH_IOS = 1 };
enum blynk_push_priority { BLYNK_PUSH_NORMAL = 0, BLYNK_PUSH_HIGH = 1 };

typedef struct blynk_push_target {
    blynk_str token;   /* a secret: never log it */
    uint32_t platform; /* enum blynk_push_platform */
} blynk_push_target;

typedef struct blynk_push {
    uint32_t size;
    const blynk_push_target* targets;
    size_t target_count;
    blynk_str title;
    blynk_str body;
    uint32_t priority; /* enum blynk_push_priority */
} blynk_push;

/* A NULL entry: the plugin does not provide that channel. At most one
 * plugin serves a channel (a second is an error at load). */
typedef struct blynk_notifier_v1 {
    uint32_t size;
    int (*send_mail)(void* self, const blynk_mail* mail, blynk_error* err);
    int (*send_sms)(void* self, const blynk_sms* sms, blynk_error* err);
    /* invalid[i] = 1 when the provider said targets[i]'s token is no longer
     * valid (the kernel then removes it); BLYNK_OK when at least one target
     * got it. */
    int (*send_push)(void* self, const blynk_push* push, uint8_t* invalid, blynk_error* err);
    /* appended fields go here */
} blynk_notifier_v1;

/* -------------------------------------------------------------- plugin --- */

enum blynk_plugin_flags {
    /* Ignored since ABI 1.2 (kept so older sources build): every function is
     * called from a documented thread (docs/plugin-sdk.md, "Threads"), and
     * some of them concurrently whatever this flag says, so a plugin must
     * lock what its functions share. */
    BLYNK_PLUGIN_THREAD_SAFE = 1u
};

/* What a plugin returns from its entry. It stays owned by the plugin and
 * must live until the process ends. */
typedef struct blynk_plugin_v1 {
    uint32_t size;
    uint32_t abi_major; /* the ABI the plugin was built for */
    uint32_t abi_minor;
    uint32_t flags; /* enum blynk_plugin_flags */
    blynk_str name;
    blynk_str version;
    void* self; /* passed to every function of every table */
    /* Validate and apply settings; BLYNK_ERROR with a message naming the key. */
    int (*init)(void* self, const blynk_setting* settings, size_t count, blynk_error* err);
    /* Flush and release; called once at shutdown. Not an unload. */
    void (*shutdown)(void* self);
    const blynk_storage_v1* storage; /* NULL: not a storage plugin */
    const blynk_events_v1* events;   /* NULL: no subscriptions */
    /* ---- appended in ABI 1.1 ---- */
    const blynk_http_v1* http; /* NULL: no HTTP routes */
    /* ---- appended in ABI 1.2 ---- */
    const blynk_auth_v1* auth; /* NULL: no access control */
    /* ---- appended in ABI 1.4 ---- */
    const blynk_notifier_v1* notifier; /* NULL: not a notifier */
    /* appended fields go here */
} blynk_plugin_v1;

/* The entry: gets the host's table (kept valid for the life of the process)
 * and returns the plugin's table, or NULL after logging why it refuses.
 * Since ABI 1.2 one file may be loaded as several instances (two entries of
 * plugins.enabled naming the same file): the entry is then called once per
 * instance, each time with its own host table, and must return a new table
 * with its own self each time. */
typedef const blynk_plugin_v1* (*blynk_plugin_entry_fn)(const blynk_host_v1* host);

#ifdef __cplusplus
}
#endif

#endif /* BLYNK_PLUGIN_H */
