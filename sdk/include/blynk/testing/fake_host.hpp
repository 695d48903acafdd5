// blynkd plugin SDK testing: the fake host (see blynk/plugin_testing.hpp).
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#ifndef BLYNK_TESTING_FAKE_HOST_HPP
#define BLYNK_TESTING_FAKE_HOST_HPP

#include <blynk/plugin.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace blynk {
namespace testing {

// One entry of the plugin's settings table, as the server flattens it
// (docs/plugin-sdk.md, "Settings"): {"port", "587", BLYNK_SETTING_INTEGER}.
struct Setting {
    std::string key, value;
    uint32_t type = BLYNK_SETTING_STRING;
};

// The status of a call into the plugin and the message it wrote.
struct Result {
    int status = BLYNK_OK;
    std::string message;
    bool ok() const { return status == BLYNK_OK; }
};

struct LogLine {
    int level;  // enum blynk_log_level
    std::string message;
};

// A folder under the system's temporary folder, removed with its contents
// when the object dies.
class TempDir {
public:
    explicit TempDir(const std::string& prefix = "blynk-plugin-test") {
        std::random_device rd;
        std::filesystem::path base = std::filesystem::temp_directory_path();
        for (int attempt = 0; attempt < 100 && path_.empty(); ++attempt) {
            std::filesystem::path p = base / (prefix + "-" + std::to_string(rd()) + std::to_string(rd()));
            std::error_code ec;
            if (std::filesystem::create_directory(p, ec)) path_ = p.string();  // false if it existed
        }
        if (path_.empty()) throw std::runtime_error("cannot create a temporary folder in " + base.string());
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

// What the fake kernel knows about one device, by token: what device_info
// answers (on the first dashboard, active, unless a test says otherwise) and
// its pins.
struct FakeDevice : DeviceInfo {
    FakeDevice() {
        dash_id = 1;
        dash_active = true;
    }
    std::map<std::pair<char, int>, std::string> pins;  // ('v', 1) -> value
    std::string project_json;                          // what project_json answers
};

// What profile_json answers for one (email, dash_id) key; dash_id
// BLYNK_PROFILE_ALL_DASHBOARDS is the whole profile.
struct FakeProfile {
    std::string json;              // without tokens
    std::string json_with_tokens;  // with BLYNK_PROFILE_WITH_TOKENS
};

struct PinWrite {
    std::string token;
    char pin_type;
    int pin;
    std::string value;
};
struct PropertyWrite {
    std::string token;
    int pin;
    std::string property, value;
};

// An HTTP request as a client sends it; target is "/path?query".
struct HttpCall {
    using Headers = std::vector<std::pair<std::string, std::string>>;
    // So that {"GET", "/x"} needs no more (and no missing-initializer warning).
    HttpCall(std::string method_ = "GET", std::string target_ = {}, Headers headers_ = {}, std::string body_ = {},
             bool tls_ = false, std::string peer_ = "127.0.0.1:5555")
        : method(std::move(method_)),
          target(std::move(target_)),
          headers(std::move(headers_)),
          body(std::move(body_)),
          tls(tls_),
          peer(std::move(peer_)) {}
    std::string method;
    std::string target;
    Headers headers;
    std::string body;
    bool tls;
    std::string peer;
};

// What the plugin answered (after the handler returned, or later).
struct HttpAnswer {
    int status = -1;  // -1: not answered (yet)
    std::string content_type, body;
    std::vector<std::pair<std::string, std::string>> headers;
    int answers = 0;  // how many times http_respond was called; only the first counts
    // The request's memory, kept (overwritten with '#') as long as the host
    // lives, so a handler that kept a pointer into it reads '#', not freed memory.
    std::shared_ptr<const void> request;
    std::optional<std::string> header(std::string_view name) const {
        for (auto& [k, v] : headers)
            if (k == name) return v;
        return std::nullopt;
    }
};

// A storage sink that keeps every record a load delivers, and the order of
// the calls: one letter per call, U (user), D (dashboard), V (device), P (pin).
class RecordingSink {
public:
    std::vector<User> users;
    std::vector<Dash> dashes;
    std::vector<Device> devices;
    std::vector<Pin> pins;
    std::string order;

    blynk_storage_sink sink() {
        blynk_storage_sink s{};
        s.size = sizeof s;
        s.ctx = this;
        s.user = [](void* c, const blynk_user_rec* r) { me(c).add(me(c).users, from_c(r), 'U'); };
        s.dash = [](void* c, const blynk_dash_rec* r) { me(c).add(me(c).dashes, from_c(r), 'D'); };
        s.device = [](void* c, const blynk_device_rec* r) { me(c).add(me(c).devices, from_c(r), 'V'); };
        s.pin = [](void* c, const blynk_pin_rec* r) { me(c).add(me(c).pins, from_c(r), 'P'); };
        return s;
    }
    const Pin* find_pin(int32_t device_id, char type, uint8_t pin, const std::string& property = "") const {
        for (auto& p : pins)
            if (p.device_id == device_id && p.pin_type == type && p.pin == pin && p.property == property) return &p;
        return nullptr;
    }

private:
    static RecordingSink& me(void* c) { return *static_cast<RecordingSink*>(c); }
    template <class T>
    void add(std::vector<T>& to, T rec, char letter) {
        to.push_back(std::move(rec));
        order += letter;
    }
};

// The host side of the ABI: a blynk_host_v1 whose functions record what the
// plugin does. Not copyable: the table points at this object.
class FakeHost {
public:
    explicit FakeHost(std::string data_dir = ".", std::string server_version = "0.0.0-test")
        : data_dir_(std::move(data_dir)), version_(std::move(server_version)) {
        blynk_host_v1& h = table_;
        h.size = sizeof h;
        h.abi_major = BLYNK_ABI_MAJOR;
        h.abi_minor = BLYNK_ABI_MINOR;
        h.ctx = this;
        h.log = [](void* c, int level, blynk_str m) { me(c).on_log(level, m); };
        h.server_version = slice(version_);
        h.data_dir = slice(data_dir_);
        h.submit_work = [](void* c, void (*fn)(void*), void* arg) { return me(c).enqueue(fn, arg, true); };
        h.http_respond = [](void* c, blynk_http_responder* r, const blynk_http_response* res) {
            me(c).on_respond(r, res);
        };
        h.post_kernel = [](void* c, void (*fn)(void*), void* arg) { return me(c).enqueue(fn, arg, false); };
        h.resolve_token = [](void* c, blynk_str t, void (*done)(void*, int), void* arg) {
            me(c).on_resolve(std::string(view(t)), done, arg);
        };
        h.device_info = [](void* c, blynk_str t, blynk_device_info* out) { return me(c).on_device_info(view(t), out); };
        h.read_history = [](void* c, blynk_str t, const blynk_history_query* q,
                            void (*done)(void*, int, const blynk_history_rec*, size_t),
                            void* arg) { me(c).on_read_history(std::string(view(t)), from_c(q), done, arg); };
        h.notify = [](void* c, blynk_str t, uint32_t channel, blynk_str to, blynk_str subject, blynk_str body,
                      void (*done)(void*, int, blynk_str), void* arg) {
            FakeHost& f = me(c);
            f.notifications.push_back({std::string(view(t)), channel, std::string(view(to)), std::string(view(subject)),
                                       std::string(view(body))});
            int status = f.devices.count(std::string(view(t))) ? f.notify_status : int(BLYNK_NOT_FOUND);
            done(arg, status, slice(f.notify_message));
        };
        h.pin_read = [](void* c, blynk_str t, char type, uint8_t pin, blynk_str* v) {
            FakeDevice* d = me(c).find(view(t));
            if (!d || !d->pins.count({type, pin})) return int(BLYNK_NOT_FOUND);
            *v = slice(d->pins[{type, pin}]);
            return int(BLYNK_OK);
        };
        h.pin_write = [](void* c, blynk_str t, char type, uint8_t pin, blynk_str v) {
            FakeDevice* d = me(c).find(view(t));
            if (!d) return int(BLYNK_NOT_FOUND);
            if (me(c).deny_pin_writes) return int(BLYNK_DENIED);
            d->pins[{type, pin}] = std::string(view(v));
            me(c).pin_writes.push_back({std::string(view(t)), type, pin, std::string(view(v))});
            return int(BLYNK_OK);
        };
        h.pin_property = [](void* c, blynk_str t, uint8_t pin, blynk_str prop, blynk_str v) {
            if (!me(c).find(view(t)) || me(c).fail_pin_property) return int(BLYNK_ERROR);
            me(c).property_writes.push_back({std::string(view(t)), pin, std::string(view(prop)), std::string(view(v))});
            return int(BLYNK_OK);
        };
        h.project_json = [](void* c, blynk_str t, blynk_str* json) {
            FakeDevice* d = me(c).find(view(t));
            if (!d) return int(BLYNK_NOT_FOUND);
            *json = slice(d->project_json);
            return int(BLYNK_OK);
        };
        h.profile_json = [](void* c, blynk_str email, int32_t dash_id, uint32_t flags, blynk_str* json) {
            auto& profiles = me(c).profiles;
            auto it = profiles.find({std::string(view(email)), dash_id});
            if (it == profiles.end()) return int(BLYNK_NOT_FOUND);
            *json = slice((flags & BLYNK_PROFILE_WITH_TOKENS) ? it->second.json_with_tokens : it->second.json);
            return int(BLYNK_OK);
        };
    }
    FakeHost(const FakeHost&) = delete;
    FakeHost& operator=(const FakeHost&) = delete;

    const blynk_host_v1* table() const { return &table_; }
    const std::string& data_dir() const { return data_dir_; }

    // ------------------------------------------------------------ logging
    std::vector<LogLine> logs() const {
        std::lock_guard<std::mutex> lock(mu_);
        return logs_;
    }
    // Whether any log line contains text.
    bool logged(std::string_view text) const {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto& l : logs_)
            if (l.message.find(text) != std::string::npos) return true;
        return false;
    }
    void clear_logs() {
        std::lock_guard<std::mutex> lock(mu_);
        logs_.clear();
    }

    // ----------------------------------------- worker pool, kernel posts
    bool refuse_work = false;  // submit_work answers BLYNK_ERROR, as a full pool does
    bool run_at_once = false;  // run submitted and posted jobs inside the submitting call

    // Runs queued work and posts on this thread until none is left; returns how many ran.
    size_t run_pending() {
        size_t ran = 0;
        for (;;) {
            std::vector<std::function<void()>> batch;
            {
                std::lock_guard<std::mutex> lock(mu_);
                batch.swap(queue_);
            }
            if (batch.empty()) return ran;
            for (auto& job : batch)
                job();
            ran += batch.size();
        }
    }
    size_t pending() const {
        std::lock_guard<std::mutex> lock(mu_);
        return queue_.size();
    }

    // -------------------------------------------------------- device model
    std::map<std::string, FakeDevice> devices;                        // by token
    std::map<std::pair<std::string, int32_t>, FakeProfile> profiles;  // what profile_json answers
    bool defer_token_lookups = false;                                 // resolve_token answers in run_token_lookups()
    bool storage_unavailable = false;        // unknown tokens resolve to BLYNK_ERROR, not BLYNK_NOT_FOUND
    bool fail_pin_property = false;          // pin_property answers BLYNK_ERROR
    bool deny_pin_writes = false;            // pin_write answers BLYNK_DENIED (an access hook's refusal)
    std::vector<std::string> token_lookups;  // every token resolve_token was asked for
    std::vector<PinWrite> pin_writes;
    std::vector<PropertyWrite> property_writes;
    // SDK 1.4: what read_history answers, by token (any order; filtered by
    // the query's pin, granularity and range, paged as a store pages), and
    // every query it was asked (with the token in its email field).
    std::map<std::string, std::vector<HistoryRow>> history;
    bool fail_history = false;  // read_history answers BLYNK_ERROR
    std::vector<HistoryQuery> history_queries;
    // SDK 1.4: every notify call, and what it answers (at once, unlike the
    // server, which answers later on the kernel thread; BLYNK_NOT_FOUND for a
    // token not in `devices`).
    struct Notification {
        std::string token;
        uint32_t channel;
        std::string to, subject, body;
    };
    std::vector<Notification> notifications;
    int notify_status = BLYNK_OK;
    std::string notify_message;

    // Answers the deferred token lookups (with what `devices` holds now).
    size_t run_token_lookups() {
        auto lookups = std::move(deferred_lookups_);
        deferred_lookups_.clear();
        for (auto& f : lookups)
            f();
        return lookups.size();
    }
    // Forgets devices, switches and records (not the logs, not queued work).
    void reset_kernel() {
        devices.clear();
        profiles.clear();
        defer_token_lookups = storage_unavailable = fail_pin_property = deny_pin_writes = refuse_work = run_at_once =
            false;
        deferred_lookups_.clear();
        token_lookups.clear();
        pin_writes.clear();
        property_writes.clear();
        history.clear();
        history_queries.clear();
        fail_history = false;
        notifications.clear();
        notify_status = BLYNK_OK;
        notify_message.clear();
    }

    // --------------------------------------------------------------- http
    // A fresh answer slot; the host keeps it alive, so a late answer is safe.
    std::shared_ptr<HttpAnswer> new_answer() {
        std::lock_guard<std::mutex> lock(mu_);
        answers_.push_back(std::make_shared<HttpAnswer>());
        return answers_.back();
    }
    static blynk_http_responder* responder_of(HttpAnswer& a) { return reinterpret_cast<blynk_http_responder*>(&a); }
    // Waits until the plugin answered (from another thread); false after timeout.
    bool wait_answered(const HttpAnswer& a, std::chrono::milliseconds timeout) {
        std::unique_lock<std::mutex> lock(mu_);
        return answered_.wait_for(lock, timeout, [&] { return a.answers > 0; });
    }

private:
    static FakeHost& me(void* c) { return *static_cast<FakeHost*>(c); }
    void on_read_history(const std::string& token, HistoryQuery q,
                         void (*done)(void*, int, const blynk_history_rec*, size_t), void* arg) {
        q.email = token;
        history_queries.push_back(q);
        if (fail_history) return done(arg, BLYNK_ERROR, nullptr, 0);
        if (!devices.count(token)) return done(arg, BLYNK_NOT_FOUND, nullptr, 0);
        std::vector<HistoryRow> rows;
        for (auto& r : history[token])
            if (r.pin_type == q.pin_type && r.pin == q.pin && r.granularity == q.granularity && r.at_ms >= q.from_ms &&
                r.at_ms < q.to_ms)
                rows.push_back(r);
        std::sort(rows.begin(), rows.end(), [](const HistoryRow& a, const HistoryRow& b) { return a.at_ms < b.at_ms; });
        size_t end = rows.size() > q.skip ? rows.size() - q.skip : 0;
        size_t begin = q.limit && end > q.limit ? end - q.limit : 0;
        std::vector<blynk_history_rec> recs;
        for (size_t i = begin; i < end; ++i)
            recs.push_back(to_c(rows[i]));
        done(arg, BLYNK_OK, recs.data(), recs.size());
    }
    FakeDevice* find(std::string_view token) {
        auto it = devices.find(std::string(token));
        return it == devices.end() ? nullptr : &it->second;
    }
    void on_log(int level, blynk_str m) {
        std::lock_guard<std::mutex> lock(mu_);
        logs_.push_back({level, std::string(view(m))});
    }
    int enqueue(void (*fn)(void*), void* arg, bool is_work) {
        if (is_work && refuse_work) return BLYNK_ERROR;
        if (run_at_once) {
            fn(arg);
            return BLYNK_OK;
        }
        std::lock_guard<std::mutex> lock(mu_);
        queue_.push_back([fn, arg] { fn(arg); });
        return BLYNK_OK;
    }
    void on_respond(blynk_http_responder* r, const blynk_http_response* res) {
        auto* a = reinterpret_cast<HttpAnswer*>(r);
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (++a->answers == 1) {
                a->status = int(res->status);
                a->content_type = std::string(view(res->content_type));
                a->body = std::string(view(res->body));
                for (size_t i = 0; i < res->header_count; ++i)
                    a->headers.emplace_back(std::string(view(res->headers[i].name)),
                                            std::string(view(res->headers[i].value)));
            }
        }
        answered_.notify_all();
    }
    void on_resolve(std::string token, void (*done)(void*, int), void* arg) {
        token_lookups.push_back(token);
        auto finish = [this, token, done, arg] {
            done(arg, devices.count(token) ? BLYNK_OK : storage_unavailable ? BLYNK_ERROR : BLYNK_NOT_FOUND);
        };
        if (defer_token_lookups)
            deferred_lookups_.push_back(finish);
        else
            finish();
    }
    int on_device_info(std::string_view token, blynk_device_info* out) {
        FakeDevice* d = find(token);
        if (!d) return BLYNK_NOT_FOUND;
        blynk_device_info i{};
        i.size = sizeof i;
        i.email = slice(d->email);
        i.dash_id = d->dash_id;
        i.device_id = d->device_id;
        i.name = slice(d->name);
        i.board_type = slice(d->board_type);
        i.online_connections = d->online_connections;
        i.dash_active = d->dash_active;
        i.app_connected = d->app_connected;
        i.connect_time_ms = d->connect_time_ms;
        i.disconnect_time_ms = d->disconnect_time_ms;
        i.data_received_ms = d->data_received_ms;
        // Only as much as the plugin's struct holds (an older plugin's is shorter).
        uint32_t n = out->size < sizeof i ? out->size : uint32_t(sizeof i);
        std::memcpy(out, &i, n);
        out->size = n;
        return BLYNK_OK;
    }

    std::string data_dir_, version_;
    blynk_host_v1 table_{};
    mutable std::mutex mu_;  // guards what other threads may touch: logs, queue, answers
    std::condition_variable answered_;
    std::vector<LogLine> logs_;
    std::vector<std::function<void()>> queue_;
    std::vector<std::shared_ptr<HttpAnswer>> answers_;
    std::vector<std::function<void()>> deferred_lookups_;
};

}  // namespace testing
}  // namespace blynk

#endif  // BLYNK_TESTING_FAKE_HOST_HPP
