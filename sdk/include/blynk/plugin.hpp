// blynkd plugin SDK: the header-only C++ layer over plugin.h.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
//
// A plugin author derives from blynk::Plugin, overrides what it provides and
// writes BLYNK_PLUGIN(MyPlugin, "my-plugin", "1.0.0") once in one source file.
// Everything below is compiled into the plugin, so no C++ type crosses the
// ABI: this layer converts between the C tables and these classes and catches
// every exception at the edge.
#ifndef BLYNK_PLUGIN_HPP
#define BLYNK_PLUGIN_HPP

#include <blynk/plugin.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace blynk {

inline std::string_view view(blynk_str s) {
    return s.data ? std::string_view(s.data, s.size) : std::string_view();
}
inline blynk_str slice(std::string_view s) {
    return blynk_str{s.data(), s.size()};
}

inline void set_error(blynk_error* err, std::string_view msg) {
    if (!err) return;
    size_t n = msg.size() < BLYNK_ERROR_CAPACITY - 1 ? msg.size() : BLYNK_ERROR_CAPACITY - 1;
    std::memcpy(err->message, msg.data(), n);
    err->message[n] = '\0';
}

// Thrown by a plugin for an invalid setting; the message should name the key
// and say what is allowed.
struct SettingsError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A storage failure with its status code (BLYNK_NOT_FOUND, BLYNK_CONFLICT, ...).
struct StorageError : std::runtime_error {
    int status;
    StorageError(int st, const std::string& what) : std::runtime_error(what), status(st) {}
};

// The plugin's config table, flattened to dotted keys.
class Settings {
public:
    struct Value {
        std::string text;
        uint32_t type;
    };
    Settings() = default;
    Settings(const blynk_setting* s, size_t n) {
        for (size_t i = 0; i < n; ++i)
            values_[std::string(view(s[i].key))] = {std::string(view(s[i].value)), s[i].type};
    }
    void set(const std::string& key, std::string text, uint32_t type) { values_[key] = {std::move(text), type}; }
    bool has(const std::string& key) const { return values_.count(key) != 0; }
    const std::map<std::string, Value>& all() const { return values_; }

    std::string get_string(const std::string& key, const std::string& def) const {
        auto it = values_.find(key);
        if (it == values_.end()) return def;
        if (it->second.type != BLYNK_SETTING_STRING) throw SettingsError("'" + key + "' must be a string");
        return it->second.text;
    }
    int64_t get_int(const std::string& key, int64_t def, int64_t min, int64_t max) const {
        auto it = values_.find(key);
        if (it == values_.end()) return def;
        if (it->second.type != BLYNK_SETTING_INTEGER)
            throw SettingsError("'" + key + "' must be an integer between " + std::to_string(min) + " and " +
                                std::to_string(max));
        errno = 0;
        char* end = nullptr;
        long long v = std::strtoll(it->second.text.c_str(), &end, 10);
        if (errno || !end || *end != '\0' || v < min || v > max)
            throw SettingsError("'" + key + "' is " + it->second.text + "; allowed: " + std::to_string(min) + " to " +
                                std::to_string(max));
        return v;
    }
    bool get_bool(const std::string& key, bool def) const {
        auto it = values_.find(key);
        if (it == values_.end()) return def;
        if (it->second.type != BLYNK_SETTING_BOOL) throw SettingsError("'" + key + "' must be true or false");
        return it->second.text == "true";
    }
    // Throws for any key not in `known` (so typos are caught at start).
    void reject_unknown(const std::set<std::string>& known) const {
        for (auto& kv : values_)
            if (!known.count(kv.first)) {
                std::string allowed;
                for (auto& k : known)
                    allowed += (allowed.empty() ? "" : ", ") + k;
                throw SettingsError("unknown key '" + kv.first +
                                    "'; known keys: " + (allowed.empty() ? "none" : allowed));
            }
    }

private:
    std::map<std::string, Value> values_;
};

// Reading a field of a record is allowed only if it lies within the size the
// writer gave; a newer writer's extra fields are ignored, an older writer's
// missing fields stay defaulted.
#define BLYNK_HAS_FIELD(rec, field) \
    ((rec)->size >= offsetof(std::remove_pointer_t<decltype(rec)>, field) + sizeof((rec)->field))

namespace detail {
// Carries a std::function through a C callback (fn, arg) pair; runs it once.
inline void run_boxed(void* arg) {
    std::unique_ptr<std::function<void()>> f(static_cast<std::function<void()>*>(arg));
    try {
        (*f)();
    } catch (...) {
    }
}
}  // namespace detail

// The kernel, as seen from a plugin.
class Host {
public:
    explicit Host(const blynk_host_v1* h = nullptr) : h_(h) {}
    const blynk_host_v1* raw() const { return h_; }
    void log(int level, std::string_view msg) const {
        if (h_ && BLYNK_HAS_FIELD(h_, log) && h_->log)
            h_->log(h_->ctx, level, slice(msg));
        else
            std::fprintf(stderr, "%.*s\n", int(msg.size()), msg.data());
    }
    // Runs fn(arg) on the server's worker pool (for blocking work); false if
    // the pool is full or the server offers none.
    bool submit(void (*fn)(void*), void* arg) const {
        return h_ && BLYNK_HAS_FIELD(h_, submit_work) && h_->submit_work &&
               h_->submit_work(h_->ctx, fn, arg) == BLYNK_OK;
    }
    bool submit(std::function<void()> fn) const {
        auto* box = new std::function<void()>(std::move(fn));
        if (submit(detail::run_boxed, box)) return true;
        delete box;
        return false;
    }
    void info(std::string_view m) const { log(BLYNK_LOG_INFO, m); }
    void warn(std::string_view m) const { log(BLYNK_LOG_WARN, m); }
    void error(std::string_view m) const { log(BLYNK_LOG_ERROR, m); }
    std::string data_dir() const {
        return h_ && BLYNK_HAS_FIELD(h_, data_dir) ? std::string(view(h_->data_dir)) : std::string(".");
    }
    std::string server_version() const {
        return h_ && BLYNK_HAS_FIELD(h_, server_version) ? std::string(view(h_->server_version)) : std::string();
    }

private:
    const blynk_host_v1* h_;
};

// ----------------------------------------------------------------- records

struct User {
    std::string email, name, pass_hash;
    bool is_admin = false;
    int64_t created_at_ms = 0;
};
struct Dash {
    std::string email;
    int32_t dash_id = 0;
    std::string name;
    bool is_active = false;
    int64_t created_at_ms = 0;
};
struct Device {
    std::string email;
    int32_t dash_id = 0, device_id = 0;
    std::string name, token, board_type;
    int64_t created_at_ms = 0, connect_time_ms = 0, disconnect_time_ms = 0, data_received_ms = 0;
    std::string last_ip, hardware_info;
};
struct Pin {
    std::string email;
    int32_t dash_id = 0, device_id = 0;
    char pin_type = 'v';
    uint8_t pin = 0;
    std::string property, value;
    int64_t updated_at_ms = 0;
};

inline User from_c(const blynk_user_rec* r) {
    User u;
    if (BLYNK_HAS_FIELD(r, email)) u.email = std::string(view(r->email));
    if (BLYNK_HAS_FIELD(r, name)) u.name = std::string(view(r->name));
    if (BLYNK_HAS_FIELD(r, pass_hash)) u.pass_hash = std::string(view(r->pass_hash));
    if (BLYNK_HAS_FIELD(r, is_admin)) u.is_admin = r->is_admin != 0;
    if (BLYNK_HAS_FIELD(r, created_at_ms)) u.created_at_ms = r->created_at_ms;
    return u;
}
inline blynk_user_rec to_c(const User& u) {
    blynk_user_rec r{};
    r.size = sizeof r;
    r.email = slice(u.email);
    r.name = slice(u.name);
    r.pass_hash = slice(u.pass_hash);
    r.is_admin = u.is_admin;
    r.created_at_ms = u.created_at_ms;
    return r;
}
inline Dash from_c(const blynk_dash_rec* r) {
    Dash d;
    if (BLYNK_HAS_FIELD(r, email)) d.email = std::string(view(r->email));
    if (BLYNK_HAS_FIELD(r, dash_id)) d.dash_id = r->dash_id;
    if (BLYNK_HAS_FIELD(r, name)) d.name = std::string(view(r->name));
    if (BLYNK_HAS_FIELD(r, is_active)) d.is_active = r->is_active != 0;
    if (BLYNK_HAS_FIELD(r, created_at_ms)) d.created_at_ms = r->created_at_ms;
    return d;
}
inline blynk_dash_rec to_c(const Dash& d) {
    blynk_dash_rec r{};
    r.size = sizeof r;
    r.email = slice(d.email);
    r.dash_id = d.dash_id;
    r.name = slice(d.name);
    r.is_active = d.is_active;
    r.created_at_ms = d.created_at_ms;
    return r;
}
inline Device from_c(const blynk_device_rec* r) {
    Device d;
    if (BLYNK_HAS_FIELD(r, email)) d.email = std::string(view(r->email));
    if (BLYNK_HAS_FIELD(r, dash_id)) d.dash_id = r->dash_id;
    if (BLYNK_HAS_FIELD(r, device_id)) d.device_id = r->device_id;
    if (BLYNK_HAS_FIELD(r, name)) d.name = std::string(view(r->name));
    if (BLYNK_HAS_FIELD(r, token)) d.token = std::string(view(r->token));
    if (BLYNK_HAS_FIELD(r, board_type)) d.board_type = std::string(view(r->board_type));
    if (BLYNK_HAS_FIELD(r, created_at_ms)) d.created_at_ms = r->created_at_ms;
    if (BLYNK_HAS_FIELD(r, connect_time_ms)) d.connect_time_ms = r->connect_time_ms;
    if (BLYNK_HAS_FIELD(r, disconnect_time_ms)) d.disconnect_time_ms = r->disconnect_time_ms;
    if (BLYNK_HAS_FIELD(r, data_received_ms)) d.data_received_ms = r->data_received_ms;
    if (BLYNK_HAS_FIELD(r, last_ip)) d.last_ip = std::string(view(r->last_ip));
    if (BLYNK_HAS_FIELD(r, hardware_info)) d.hardware_info = std::string(view(r->hardware_info));
    return d;
}
inline blynk_device_rec to_c(const Device& d) {
    blynk_device_rec r{};
    r.size = sizeof r;
    r.email = slice(d.email);
    r.dash_id = d.dash_id;
    r.device_id = d.device_id;
    r.name = slice(d.name);
    r.token = slice(d.token);
    r.board_type = slice(d.board_type);
    r.created_at_ms = d.created_at_ms;
    r.connect_time_ms = d.connect_time_ms;
    r.disconnect_time_ms = d.disconnect_time_ms;
    r.data_received_ms = d.data_received_ms;
    r.last_ip = slice(d.last_ip);
    r.hardware_info = slice(d.hardware_info);
    return r;
}
inline Pin from_c(const blynk_pin_rec* r) {
    Pin p;
    if (BLYNK_HAS_FIELD(r, email)) p.email = std::string(view(r->email));
    if (BLYNK_HAS_FIELD(r, dash_id)) p.dash_id = r->dash_id;
    if (BLYNK_HAS_FIELD(r, device_id)) p.device_id = r->device_id;
    if (BLYNK_HAS_FIELD(r, pin_type)) p.pin_type = r->pin_type;
    if (BLYNK_HAS_FIELD(r, pin)) p.pin = r->pin;
    if (BLYNK_HAS_FIELD(r, property)) p.property = std::string(view(r->property));
    if (BLYNK_HAS_FIELD(r, value)) p.value = std::string(view(r->value));
    if (BLYNK_HAS_FIELD(r, updated_at_ms)) p.updated_at_ms = r->updated_at_ms;
    return p;
}
inline blynk_pin_rec to_c(const Pin& p) {
    blynk_pin_rec r{};
    r.size = sizeof r;
    r.email = slice(p.email);
    r.dash_id = p.dash_id;
    r.device_id = p.device_id;
    r.pin_type = p.pin_type;
    r.pin = p.pin;
    r.property = slice(p.property);
    r.value = slice(p.value);
    r.updated_at_ms = p.updated_at_ms;
    return r;
}

// Where a storage plugin delivers what it loads.
class StorageSink {
public:
    explicit StorageSink(const blynk_storage_sink* s) : s_(s) {}
    void user(const User& u) const {
        auto r = to_c(u);
        if (s_->user) s_->user(s_->ctx, &r);
    }
    void dash(const Dash& d) const {
        auto r = to_c(d);
        if (s_->dash) s_->dash(s_->ctx, &r);
    }
    void device(const Device& d) const {
        auto r = to_c(d);
        if (s_->device) s_->device(s_->ctx, &r);
    }
    void pin(const Pin& p) const {
        auto r = to_c(p);
        if (s_->pin) s_->pin(s_->ctx, &r);
    }

private:
    const blynk_storage_sink* s_;
};

// The storage extension point in C++. Throw StorageError (or anything) to fail.
class Storage {
public:
    virtual ~Storage() = default;
    virtual void load_all(const StorageSink& sink) = 0;
    // Returns false if no device has this token.
    virtual bool load_by_token(std::string_view token, const StorageSink& sink) = 0;
    // Returns false if the user does not exist.
    virtual bool load_user(std::string_view email, const StorageSink& sink) = 0;
    virtual void put_user(const User& u, bool create) = 0;
    virtual void remove_user(std::string_view email) = 0;
    virtual void put_dash(const Dash& d) = 0;
    virtual void put_device(const Device& d) = 0;
    virtual void remove_device(std::string_view email, int32_t dash_id, int32_t device_id) = 0;
    virtual void put_pins(const std::vector<Pin>& pins) = 0;
    // Updates the server-learned fields of existing devices; returns, per
    // record, whether no such device (with that token) exists any more.
    virtual std::vector<bool> update_devices(const std::vector<Device>& devices) = 0;
};

// `token` (SDK 1.2) is the device's token, what Kernel's functions take to
// act on the device (from the kernel thread: Kernel::post); empty from a
// host older than 1.2 and in a refused login. A secret: never log it.
struct DeviceEvent {
    std::string_view email;
    int32_t dash_id, device_id;
    std::string_view device_name, peer;
    int64_t at_ms;
    std::string_view token = {};  // defaulted: older aggregate initialisers still compile warning-free
};
struct PinEvent {
    std::string_view email;
    int32_t dash_id, device_id;
    char pin_type;
    uint8_t pin;
    std::string_view value;
    int64_t at_ms;
    std::string_view token = {};  // defaulted: older aggregate initialisers still compile warning-free
};
struct LoginEvent {
    uint32_t kind;
    bool success;
    std::string_view email;
    int32_t dash_id, device_id;
    std::string_view peer;
    int64_t at_ms;
    std::string_view token = {};  // defaulted: older aggregate initialisers still compile warning-free
};

// What the access-control hooks (SDK 1.2) are asked about; see blynk_auth_v1.
struct AuthLogin {
    std::string_view token, email;
    int32_t dash_id, device_id;
    std::string_view peer;
};
struct AuthWrite {
    std::string_view token, email;
    int32_t dash_id, device_id;
    char pin_type;
    uint8_t pin;
    std::string_view value;
    uint32_t source;  // enum blynk_write_source
};

enum Subscription : unsigned {
    kDeviceOnline = 1u << 0,
    kDeviceOffline = 1u << 1,
    kPinWritten = 1u << 2,
    kLogin = 1u << 3,
};

// Which access-control hooks a plugin provides (Plugin::auth_hooks()).
enum AuthHook : unsigned {
    kAuthLogin = 1u << 0,
    kAuthPinWrite = 1u << 1,
};

// ------------------------------------------------------------------- http

// Percent-decodes a URL component ('+' becomes a space when `plus` is true).
inline std::string url_decode(std::string_view s, bool plus = true) {
    std::string out;
    out.reserve(s.size());
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
            out.push_back(char(hex(s[i + 1]) * 16 + hex(s[i + 2])));
            i += 2;
        } else if (plus && s[i] == '+') {
            out.push_back(' ');
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

struct HttpRequest {
    std::string_view method, path, query, body, peer;
    bool tls = false;
    std::vector<std::string_view> params;  // the pattern's {name} segments, in order
    const blynk_http_header* headers = nullptr;
    size_t header_count = 0;

    // A header by case-insensitive name.
    std::optional<std::string_view> header(std::string_view name) const {
        for (size_t i = 0; i < header_count; ++i) {
            std::string_view n = view(headers[i].name);
            if (n.size() != name.size()) continue;
            bool same = true;
            for (size_t k = 0; k < n.size() && same; ++k)
                same = (n[k] | 0x20) == (name[k] | 0x20);
            if (same) return view(headers[i].value);
        }
        return std::nullopt;
    }
    // Every value of a query parameter, decoded, in order.
    std::vector<std::string> query_values(std::string_view name) const {
        std::vector<std::string> out;
        std::string_view q = query;
        while (!q.empty()) {
            size_t amp = q.find('&');
            std::string_view pair = q.substr(0, amp);
            size_t eq = pair.find('=');
            if (url_decode(pair.substr(0, eq)) == name)
                out.push_back(eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1)));
            if (amp == std::string_view::npos) break;
            q.remove_prefix(amp + 1);
        }
        return out;
    }
    std::optional<std::string> query_value(std::string_view name) const {
        auto v = query_values(name);
        if (v.empty()) return std::nullopt;
        return v.front();
    }
};

// The answer to one request; copyable, may be kept and used later from any
// thread. Only the first respond() counts.
class Responder {
public:
    Responder(const blynk_host_v1* host, blynk_http_responder* r) : host_(host), r_(r) {}
    void respond(uint32_t status, std::string_view content_type = {}, std::string_view body = {},
                 const std::vector<std::pair<std::string, std::string>>& headers = {}) const {
        if (!r_ || !host_ || !BLYNK_HAS_FIELD(host_, http_respond) || !host_->http_respond) return;
        std::vector<blynk_http_header> h;
        for (auto& kv : headers)
            h.push_back({slice(kv.first), slice(kv.second)});
        blynk_http_response res{};
        res.size = sizeof res;
        res.status = status;
        res.content_type = slice(content_type);
        res.headers = h.data();
        res.header_count = h.size();
        res.body = slice(body);
        host_->http_respond(host_->ctx, r_, &res);
    }
    void json(std::string_view body, uint32_t status = 200) const {
        respond(status, "application/json;charset=utf-8", body);
    }
    void text(uint32_t status, std::string_view body) const { respond(status, "text/plain;charset=utf-8", body); }
    void empty(uint32_t status = 200) const { respond(status); }

private:
    const blynk_host_v1* host_;
    blynk_http_responder* r_;
};

using HttpHandler = std::function<void(const HttpRequest&, const Responder&)>;

struct DeviceInfo {
    std::string email, name, board_type;
    int32_t dash_id = 0, device_id = 0;
    uint32_t online_connections = 0;
    bool dash_active = false, app_connected = false;
    int64_t connect_time_ms = 0, disconnect_time_ms = 0, data_received_ms = 0;
};

// The device model, as the kernel offers it. Every function but post() must
// be called on the kernel thread (route handlers run there).
class Kernel {
public:
    explicit Kernel(const blynk_host_v1* h = nullptr) : h_(h) {}
    bool available() const { return h_ && BLYNK_HAS_FIELD(h_, project_json) && h_->project_json; }

    // Runs fn on the kernel thread; false if the server is stopping.
    bool post(std::function<void()> fn) const {
        if (!h_ || !BLYNK_HAS_FIELD(h_, post_kernel) || !h_->post_kernel) return false;
        auto* box = new std::function<void()>(std::move(fn));
        int rc = h_->post_kernel(h_->ctx, detail::run_boxed, box);
        if (rc != BLYNK_OK) delete box;
        return rc == BLYNK_OK;
    }
    // Looks the token up (asking storage when needed); done(found) runs on the kernel thread.
    void resolve_token(std::string_view token, std::function<void(bool)> done) const {
        lookup_token(token, [done = std::move(done)](TokenLookup r) { done(r == TokenLookup::Found); });
    }
    // The same, telling "not found" from "cannot be told now" (storage failing
    // or too busy: answer 503, not "invalid token").
    enum class TokenLookup { Found, NotFound, Unavailable };
    void lookup_token(std::string_view token, std::function<void(TokenLookup)> done) const {
        if (!h_ || !BLYNK_HAS_FIELD(h_, resolve_token) || !h_->resolve_token) return done(TokenLookup::Unavailable);
        auto* box = new std::function<void(TokenLookup)>(std::move(done));
        h_->resolve_token(
            h_->ctx, slice(token),
            [](void* arg, int status) {
                std::unique_ptr<std::function<void(TokenLookup)>> f(
                    static_cast<std::function<void(TokenLookup)>*>(arg));
                try {
                    (*f)(status == BLYNK_OK          ? TokenLookup::Found
                         : status == BLYNK_NOT_FOUND ? TokenLookup::NotFound
                                                     : TokenLookup::Unavailable);
                } catch (...) {
                }
            },
            box);
    }
    std::optional<DeviceInfo> device(std::string_view token) const {
        if (!available()) return std::nullopt;
        blynk_device_info i{};
        i.size = sizeof i;
        if (h_->device_info(h_->ctx, slice(token), &i) != BLYNK_OK) return std::nullopt;
        DeviceInfo d;
        d.email = std::string(view(i.email));
        d.name = std::string(view(i.name));
        d.board_type = std::string(view(i.board_type));
        d.dash_id = i.dash_id;
        d.device_id = i.device_id;
        d.online_connections = i.online_connections;
        d.dash_active = i.dash_active != 0;
        d.app_connected = i.app_connected != 0;
        d.connect_time_ms = i.connect_time_ms;
        d.disconnect_time_ms = i.disconnect_time_ms;
        d.data_received_ms = i.data_received_ms;
        return d;
    }
    // The stored value (multi-values `\0`-separated), or nullopt.
    std::optional<std::string> pin_read(std::string_view token, char type, uint8_t pin) const {
        if (!available()) return std::nullopt;
        blynk_str v{};
        if (h_->pin_read(h_->ctx, slice(token), type, pin, &v) != BLYNK_OK) return std::nullopt;
        return std::string(view(v));
    }
    // What became of a write_pin.
    enum class WriteStatus {
        Ok,
        NotFound,  // no such device (resolve the token first)
        Denied,    // a plugin's access control refused it (SDK 1.2)
        Failed,    // a bad write (pin type, empty value, too long), or no host
    };
    WriteStatus write_pin(std::string_view token, char type, uint8_t pin, std::string_view value) const {
        if (!available()) return WriteStatus::Failed;
        switch (h_->pin_write(h_->ctx, slice(token), type, pin, slice(value))) {
            case BLYNK_OK:
                return WriteStatus::Ok;
            case BLYNK_NOT_FOUND:
                return WriteStatus::NotFound;
            case BLYNK_DENIED:
                return WriteStatus::Denied;
            default:
                return WriteStatus::Failed;
        }
    }
    bool pin_write(std::string_view token, char type, uint8_t pin, std::string_view value) const {
        return write_pin(token, type, pin, value) == WriteStatus::Ok;
    }
    bool pin_property(std::string_view token, uint8_t pin, std::string_view property, std::string_view value) const {
        return available() && h_->pin_property(h_->ctx, slice(token), pin, slice(property), slice(value)) == BLYNK_OK;
    }
    // Deprecated since SDK 1.2: profile_json(email, dash_id) gives the same.
    std::optional<std::string> project_json(std::string_view token) const {
        if (!available()) return std::nullopt;
        blynk_str v{};
        if (h_->project_json(h_->ctx, slice(token), &v) != BLYNK_OK) return std::nullopt;
        return std::string(view(v));
    }
    // The JSON of one dashboard of a user, or with dash_id =
    // BLYNK_PROFILE_ALL_DASHBOARDS of the whole profile ({"dashBoards":[...]});
    // with_tokens adds each device's token (for its owner only). nullopt: no
    // such user or dashboard, or a host older than SDK 1.2.
    std::optional<std::string> profile_json(std::string_view email, int32_t dash_id, bool with_tokens) const {
        if (!h_ || !BLYNK_HAS_FIELD(h_, profile_json) || !h_->profile_json) return std::nullopt;
        blynk_str v{};
        if (h_->profile_json(h_->ctx, slice(email), dash_id, with_tokens ? uint32_t(BLYNK_PROFILE_WITH_TOKENS) : 0u,
                             &v) != BLYNK_OK)
            return std::nullopt;
        return std::string(view(v));
    }

private:
    const blynk_host_v1* h_;
};

// Base class of every C++ plugin.
class Plugin {
public:
    virtual ~Plugin() = default;
    // Validate settings; throw SettingsError with a message naming the key.
    virtual void init(const Settings&) {}
    virtual void shutdown() {}
    // Non-null for a storage plugin; the Plugin keeps ownership.
    virtual Storage* storage() { return nullptr; }
    // Which events to receive (a mask of Subscription).
    virtual unsigned subscriptions() const { return 0; }
    virtual void on_device_online(const DeviceEvent&) {}
    virtual void on_device_offline(const DeviceEvent&) {}
    virtual void on_pin_written(const PinEvent&) {}
    virtual void on_login(const LoginEvent&) {}
    // Access control (SDK 1.2): which hooks to install (a mask of AuthHook).
    // They run on the kernel thread inside the login and write paths: decide
    // from memory, quickly, never block (docs/plugin-sdk.md, "Access control").
    virtual unsigned auth_hooks() const { return 0; }
    virtual bool allow_login(const AuthLogin&) { return true; }
    virtual bool allow_pin_write(const AuthWrite&) { return true; }
    // Ignored since SDK 1.2 (kept so older sources build): which thread calls
    // what is documented (docs/plugin-sdk.md, "Threads"); lock what is shared.
    virtual bool thread_safe() const { return false; }

    const Host& host() const { return host_; }
    const Kernel& kernel() const { return kernel_; }
    void attach_host(const blynk_host_v1* h) {
        host_ = Host(h);
        kernel_ = Kernel(h);
    }

    // Serves method + pattern ("/{token}/get/{pin}") with handler; call from
    // the constructor or init(). Handlers run on the kernel thread.
    void route(std::string method, std::string pattern, HttpHandler handler) {
        routes_.push_back({std::move(method), std::move(pattern), std::move(handler)});
    }
    struct RouteEntry {
        std::string method, pattern;
        HttpHandler handler;
    };
    const std::vector<RouteEntry>& routes() const { return routes_; }

private:
    Host host_;
    Kernel kernel_;
    std::vector<RouteEntry> routes_;
};

namespace detail {

template <class F>
int guard(blynk_error* err, F&& f) {
    try {
        f();
        return BLYNK_OK;
    } catch (const StorageError& e) {
        set_error(err, e.what());
        return e.status;
    } catch (const std::exception& e) {
        set_error(err, e.what());
        return BLYNK_ERROR;
    } catch (...) {
        set_error(err, "unknown error");
        return BLYNK_ERROR;
    }
}

template <class F>
void guard_void(Plugin* p, F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        p->host().error(std::string("unhandled exception: ") + e.what());
    } catch (...) {
        p->host().error("unhandled exception");
    }
}

// One instance of the plugin and the C tables that point at it. The entry
// makes one per call: since SDK 1.2 one file may be loaded under two names
// (the loader hands back the same module, so nothing static may hold an
// instance's state). Instances live until the process ends, as the host keeps
// their tables.
struct Instance {
    std::unique_ptr<Plugin> plugin;
    blynk_plugin_v1 table{};
    blynk_events_v1 events{};
    blynk_auth_v1 auth{};
    std::vector<blynk_http_route> routes;  // the C view of plugin->routes(); rebuilt after init()
    blynk_http_v1 http{};
};
inline std::vector<std::unique_ptr<Instance>>& instances() {
    static std::vector<std::unique_ptr<Instance>> all;
    return all;
}

// `self` of every table is the Instance.
inline Plugin* self(void* s) {
    return static_cast<Instance*>(s)->plugin.get();
}

inline const blynk_storage_v1* storage_table() {
    static const blynk_storage_v1 t = [] {
        blynk_storage_v1 s{};
        s.size = sizeof s;
        s.load_all = [](void* me, const blynk_storage_sink* sink, blynk_error* err) {
            return guard(err, [&] { self(me)->storage()->load_all(StorageSink(sink)); });
        };
        s.load_by_token = [](void* me, blynk_str token, const blynk_storage_sink* sink, blynk_error* err) {
            bool found = false;
            int rc = guard(err, [&] { found = self(me)->storage()->load_by_token(view(token), StorageSink(sink)); });
            if (rc != BLYNK_OK || found) return rc;
            set_error(err, "no device has this token");
            return int(BLYNK_NOT_FOUND);
        };
        s.load_user = [](void* me, blynk_str email, const blynk_storage_sink* sink, blynk_error* err) {
            bool found = false;
            int rc = guard(err, [&] { found = self(me)->storage()->load_user(view(email), StorageSink(sink)); });
            if (rc != BLYNK_OK || found) return rc;
            set_error(err, "no such user");
            return int(BLYNK_NOT_FOUND);
        };
        s.put_user = [](void* me, const blynk_user_rec* r, uint32_t create, blynk_error* err) {
            return guard(err, [&] { self(me)->storage()->put_user(from_c(r), create != 0); });
        };
        s.remove_user = [](void* me, blynk_str email, blynk_error* err) {
            return guard(err, [&] { self(me)->storage()->remove_user(view(email)); });
        };
        s.put_dash = [](void* me, const blynk_dash_rec* r, blynk_error* err) {
            return guard(err, [&] { self(me)->storage()->put_dash(from_c(r)); });
        };
        s.put_device = [](void* me, const blynk_device_rec* r, blynk_error* err) {
            return guard(err, [&] { self(me)->storage()->put_device(from_c(r)); });
        };
        s.remove_device = [](void* me, blynk_str email, int32_t dash, int32_t dev, blynk_error* err) {
            return guard(err, [&] { self(me)->storage()->remove_device(view(email), dash, dev); });
        };
        s.put_pins = [](void* me, const blynk_pin_rec* recs, size_t n, blynk_error* err) {
            return guard(err, [&] {
                std::vector<Pin> pins;
                pins.reserve(n);
                for (size_t i = 0; i < n; ++i)
                    pins.push_back(from_c(&recs[i]));
                self(me)->storage()->put_pins(pins);
            });
        };
        s.update_devices = [](void* me, const blynk_device_rec* recs, size_t n, uint8_t* missing, blynk_error* err) {
            return guard(err, [&] {
                std::vector<Device> devices;
                devices.reserve(n);
                for (size_t i = 0; i < n; ++i)
                    devices.push_back(from_c(&recs[i]));
                std::vector<bool> gone = self(me)->storage()->update_devices(devices);
                for (size_t i = 0; i < n; ++i)
                    missing[i] = i < gone.size() && gone[i] ? 1 : 0;
            });
        };
        return s;
    }();
    return &t;
}

// An event's token, if the host's event is new enough (SDK 1.2) to carry one.
template <class E>
std::string_view event_token(const E* ev) {
    return BLYNK_HAS_FIELD(ev, token) ? view(ev->token) : std::string_view();
}

inline blynk_events_v1 events_table(unsigned mask) {
    blynk_events_v1 e{};
    e.size = sizeof e;
    if (mask & kDeviceOnline)
        e.device_online = [](void* me, const blynk_device_event* ev) {
            guard_void(self(me), [&] {
                self(me)->on_device_online({view(ev->email), ev->dash_id, ev->device_id, view(ev->device_name),
                                            view(ev->peer), ev->at_ms, event_token(ev)});
            });
        };
    if (mask & kDeviceOffline)
        e.device_offline = [](void* me, const blynk_device_event* ev) {
            guard_void(self(me), [&] {
                self(me)->on_device_offline({view(ev->email), ev->dash_id, ev->device_id, view(ev->device_name),
                                             view(ev->peer), ev->at_ms, event_token(ev)});
            });
        };
    if (mask & kPinWritten)
        e.pin_written = [](void* me, const blynk_pin_event* ev) {
            guard_void(self(me), [&] {
                self(me)->on_pin_written({view(ev->email), ev->dash_id, ev->device_id, ev->pin_type, ev->pin,
                                          view(ev->value), ev->at_ms, event_token(ev)});
            });
        };
    if (mask & kLogin)
        e.login = [](void* me, const blynk_login_event* ev) {
            guard_void(self(me), [&] {
                self(me)->on_login({ev->kind, ev->success != 0, view(ev->email), ev->dash_id, ev->device_id,
                                    view(ev->peer), ev->at_ms, event_token(ev)});
            });
        };
    return e;
}

inline void http_trampoline(void* me, void* route_data, const blynk_http_request* req, blynk_http_responder* r) {
    Plugin* p = self(me);
    auto* entry = static_cast<const Plugin::RouteEntry*>(route_data);
    Responder responder(p->host().raw(), r);
    try {
        HttpRequest q;
        q.method = view(req->method);
        q.path = view(req->path);
        q.query = view(req->query);
        q.body = view(req->body);
        q.peer = view(req->peer);
        q.tls = req->tls != 0;
        q.headers = req->headers;
        q.header_count = req->header_count;
        for (size_t i = 0; i < req->param_count; ++i)
            q.params.push_back(view(req->params[i]));
        entry->handler(q, responder);
    } catch (const std::exception& e) {
        responder.text(500, e.what());
    } catch (...) {
        responder.text(500, "internal error");
    }
}

inline void publish_routes(Instance& in);

inline blynk_auth_v1 auth_table(unsigned mask) {
    blynk_auth_v1 a{};
    a.size = sizeof a;
    // A throwing hook denies: an access check that cannot decide must not allow.
    if (mask & kAuthLogin)
        a.login = [](void* me, const blynk_auth_login* r) {
            bool allow = false;
            guard_void(self(me), [&] {
                allow =
                    self(me)->allow_login({view(r->token), view(r->email), r->dash_id, r->device_id, view(r->peer)});
            });
            return int(allow ? BLYNK_AUTH_ALLOW : BLYNK_AUTH_DENY);
        };
    if (mask & kAuthPinWrite)
        a.pin_write = [](void* me, const blynk_auth_write* r) {
            bool allow = false;
            guard_void(self(me), [&] {
                allow = self(me)->allow_pin_write({view(r->token), view(r->email), r->dash_id, r->device_id,
                                                   r->pin_type, r->pin, view(r->value), r->source});
            });
            return int(allow ? BLYNK_AUTH_ALLOW : BLYNK_AUTH_DENY);
        };
    return a;
}

// Builds the C table of a new plugin instance (one per call of the entry).
template <class P>
const blynk_plugin_v1* make_entry(const blynk_host_v1* host, const char* name, const char* version) {
    if (!host || host->abi_major != BLYNK_ABI_MAJOR) {
        if (host && host->log) {
            char msg[256];
            std::snprintf(msg, sizeof msg, "plugin %s speaks ABI %u.%u but the server offers %u.%u; refusing to load",
                          name, BLYNK_ABI_MAJOR, BLYNK_ABI_MINOR, host->abi_major, host->abi_minor);
            host->log(host->ctx, BLYNK_LOG_ERROR, slice(msg));
        }
        // Still answer, so the host can name both versions in its own error.
    }
    auto in = std::make_unique<Instance>();
    try {
        in->plugin = std::make_unique<P>();
    } catch (const std::exception& e) {
        Host(host).error(std::string("plugin ") + name + " failed to start: " + e.what());
        return nullptr;
    } catch (...) {
        Host(host).error(std::string("plugin ") + name + " failed to start");
        return nullptr;
    }
    Plugin& plugin = *in->plugin;
    plugin.attach_host(host);
    blynk_plugin_v1& table = in->table;
    table.size = sizeof table;
    table.abi_major = BLYNK_ABI_MAJOR;
    table.abi_minor = BLYNK_ABI_MINOR;
    table.flags = plugin.thread_safe() ? uint32_t(BLYNK_PLUGIN_THREAD_SAFE) : 0u;
    table.name = slice(name);
    table.version = slice(version);
    table.self = in.get();
    table.init = [](void* me, const blynk_setting* s, size_t n, blynk_error* err) {
        return guard(err, [&] {
            self(me)->init(Settings(s, n));
            publish_routes(*static_cast<Instance*>(me));
        });
    };
    table.shutdown = [](void* me) { guard_void(self(me), [&] { self(me)->shutdown(); }); };
    table.storage = plugin.storage() ? storage_table() : nullptr;
    if (unsigned mask = plugin.subscriptions()) {
        in->events = events_table(mask);
        table.events = &in->events;
    }
    if (unsigned mask = plugin.auth_hooks()) {
        in->auth = auth_table(mask);
        table.auth = &in->auth;
    }
    publish_routes(*in);
    instances().push_back(std::move(in));
    return &table;
}

inline void publish_routes(Instance& in) {
    in.routes.clear();
    for (auto& r : in.plugin->routes())
        in.routes.push_back({slice(r.method), slice(r.pattern), http_trampoline, const_cast<Plugin::RouteEntry*>(&r)});
    in.http.size = sizeof in.http;
    in.http.routes = in.routes.data();
    in.http.route_count = in.routes.size();
    in.table.http = in.routes.empty() ? nullptr : &in.http;
}

}  // namespace detail
}  // namespace blynk

// Exactly once per plugin, in one source file.
#define BLYNK_PLUGIN(CLASS, NAME, VERSION)                                                                \
    extern "C" BLYNK_PLUGIN_EXPORT const blynk_plugin_v1* blynk_plugin_entry(const blynk_host_v1* host) { \
        return ::blynk::detail::make_entry<CLASS>(host, NAME, VERSION);                                   \
    }

#endif  // BLYNK_PLUGIN_HPP
