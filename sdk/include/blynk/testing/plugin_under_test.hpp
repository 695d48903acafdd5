// blynkd plugin SDK testing: loads a plugin's entry with a FakeHost, checks
// its answer as blynkd does, and calls its tables (see blynk/plugin_testing.hpp).
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#ifndef BLYNK_TESTING_PLUGIN_UNDER_TEST_HPP
#define BLYNK_TESTING_PLUGIN_UNDER_TEST_HPP

#include <blynk/plugin.hpp>
#include <blynk/testing/fake_host.hpp>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#else
#include <dlfcn.h>
#endif

namespace blynk {
namespace testing {

// Loads a module file and finds its entry; nullptr with *error set if the
// file does not load or has no entry symbol. The module stays loaded until
// the process ends, as in blynkd.
inline blynk_plugin_entry_fn find_entry(const std::string& path, std::string* error) {
#if defined(_WIN32)
    HMODULE m = LoadLibraryA(path.c_str());
    if (!m) {
        if (error) *error = path + ": cannot be loaded (error " + std::to_string(GetLastError()) + ")";
        return nullptr;
    }
    auto entry = reinterpret_cast<blynk_plugin_entry_fn>(GetProcAddress(m, BLYNK_PLUGIN_ENTRY_NAME));
#else
    void* m = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!m) {
        const char* why = dlerror();
        if (error) *error = path + ": cannot be loaded: " + (why ? why : "unknown reason");
        return nullptr;
    }
    auto entry = reinterpret_cast<blynk_plugin_entry_fn>(dlsym(m, BLYNK_PLUGIN_ENTRY_NAME));
#endif
    if (!entry && error)
        *error = path + ": has no entry symbol '" + std::string(BLYNK_PLUGIN_ENTRY_NAME) + "'; is it a blynkd plugin?";
    return entry;
}

// The plugin as blynkd sees it: its table, and C++ calls for each function of
// it that convert to and from the C records and return the status.
class PluginUnderTest {
public:
    explicit PluginUnderTest(FakeHost& host) : host_(host) {}

    // Calls the entry with the host's table and checks the answer as blynkd's
    // loader does (a table, the same ABI major, a minor not newer than the
    // host's, big enough for ABI 1.0). False with error() set if refused;
    // table() is then still what the entry returned.
    bool load(blynk_plugin_entry_fn entry) {
        error_.clear();
        table_ = entry ? entry(host_.table()) : nullptr;
        std::string who = "plugin";
        if (table_ && table_->size >= offsetof(blynk_plugin_v1, name) + sizeof(table_->name) && table_->name.data)
            who += " '" + std::string(view(table_->name)) + "'";
        auto ver = [](uint32_t a, uint32_t b) { return std::to_string(a) + "." + std::to_string(b); };
        if (!table_)
            error_ = who + ": refused to load (its entry returned no table; see its log)";
        else if (table_->size < offsetof(blynk_plugin_v1, abi_minor) + sizeof(table_->abi_minor))
            error_ = who + ": returned a malformed table (size " + std::to_string(table_->size) + ")";
        else if (table_->abi_major != BLYNK_ABI_MAJOR)
            error_ = who + ": built for plugin ABI " + ver(table_->abi_major, table_->abi_minor) +
                     ", but this host speaks ABI " + ver(BLYNK_ABI_MAJOR, BLYNK_ABI_MINOR);
        else if (table_->abi_minor > BLYNK_ABI_MINOR)
            error_ = who + ": needs plugin ABI " + ver(table_->abi_major, table_->abi_minor) +
                     ", newer than this host's " + ver(BLYNK_ABI_MAJOR, BLYNK_ABI_MINOR);
        else if (table_->size < offsetof(blynk_plugin_v1, shutdown) + sizeof(table_->shutdown))
            error_ = who + ": returned a table too small for ABI 1.0";
        return error_.empty();
    }
    // The same for a module file (BLYNK_PLUGIN_MODULE from blynk_add_plugin_test).
    bool load_module(const std::string& path) {
        table_ = nullptr;
        blynk_plugin_entry_fn entry = find_entry(path, &error_);
        return entry && load(entry);
    }
    const std::string& error() const { return error_; }
    bool loaded() const { return table_ && error_.empty(); }
    const blynk_plugin_v1* table() const { return table_; }
    const blynk_storage_v1* storage() const { return has(&blynk_plugin_v1::storage) ? table_->storage : nullptr; }
    const blynk_events_v1* events() const { return has(&blynk_plugin_v1::events) ? table_->events : nullptr; }
    const blynk_http_v1* http() const { return has(&blynk_plugin_v1::http) ? table_->http : nullptr; }
    const blynk_auth_v1* auth() const { return has(&blynk_plugin_v1::auth) ? table_->auth : nullptr; }
    const blynk_notifier_v1* notifier() const { return has(&blynk_plugin_v1::notifier) ? table_->notifier : nullptr; }
    std::string name() const { return table_ ? std::string(view(table_->name)) : std::string(); }
    FakeHost& host() const { return host_; }

    // ------------------------------------------------------------ lifecycle
    Result init(const std::vector<Setting>& settings) {
        if (!loaded() || !table_->init) return {};  // no init: nothing to check
        std::vector<blynk_setting> c;
        for (auto& s : settings)
            c.push_back({slice(s.key), slice(s.value), s.type});
        return status_of([&](blynk_error* e) { return table_->init(table_->self, c.data(), c.size(), e); });
    }
    void shutdown() {
        if (loaded() && table_->shutdown) table_->shutdown(table_->self);
    }

    // -------------------------------------------------------------- storage
    Result load_all(RecordingSink& out) {
        return store([&](auto* s, blynk_error* e) {
            auto sink = out.sink();
            return s->load_all(table_->self, &sink, e);
        });
    }
    Result load_by_token(std::string_view token, RecordingSink& out) {
        return store([&](auto* s, blynk_error* e) {
            auto sink = out.sink();
            return s->load_by_token(table_->self, slice(token), &sink, e);
        });
    }
    Result load_user(std::string_view email, RecordingSink& out) {
        return store([&](auto* s, blynk_error* e) {
            auto sink = out.sink();
            return s->load_user(table_->self, slice(email), &sink, e);
        });
    }
    Result put_user(const User& u, bool create) {
        auto r = to_c(u);
        return store([&](auto* s, blynk_error* e) { return s->put_user(table_->self, &r, create ? 1u : 0u, e); });
    }
    Result remove_user(std::string_view email) {
        return store([&](auto* s, blynk_error* e) { return s->remove_user(table_->self, slice(email), e); });
    }
    Result put_dash(const Dash& d) {
        auto r = to_c(d);
        return store([&](auto* s, blynk_error* e) { return s->put_dash(table_->self, &r, e); });
    }
    Result put_device(const Device& d) {
        auto r = to_c(d);
        return store([&](auto* s, blynk_error* e) { return s->put_device(table_->self, &r, e); });
    }
    Result remove_device(std::string_view email, int32_t dash_id, int32_t device_id) {
        return store([&](auto* s, blynk_error* e) {
            return s->remove_device(table_->self, slice(email), dash_id, device_id, e);
        });
    }
    Result put_pins(const std::vector<Pin>& pins) {
        std::vector<blynk_pin_rec> recs;
        for (auto& p : pins)
            recs.push_back(to_c(p));
        return store([&](auto* s, blynk_error* e) { return s->put_pins(table_->self, recs.data(), recs.size(), e); });
    }
    // missing is resized to devices.size(); what the plugin does not write keeps its value.
    Result update_devices(const std::vector<Device>& devices, std::vector<uint8_t>& missing) {
        std::vector<blynk_device_rec> recs;
        for (auto& d : devices)
            recs.push_back(to_c(d));
        missing.resize(recs.size());
        if (storage() && !BLYNK_HAS_FIELD(storage(), update_devices))
            return {BLYNK_ERROR, "the plugin's storage table has no update_devices"};
        return store([&](auto* s, blynk_error* e) {
            return s->update_devices(table_->self, recs.data(), recs.size(), missing.data(), e);
        });
    }

    // SDK 1.3; an older plugin's table has no remove_dash.
    Result remove_dash(std::string_view email, int32_t dash_id) {
        if (storage() && (!BLYNK_HAS_FIELD(storage(), remove_dash) || !storage()->remove_dash))
            return {BLYNK_ERROR, "the plugin's storage table has no remove_dash"};
        return store([&](auto* s, blynk_error* e) { return s->remove_dash(table_->self, slice(email), dash_id, e); });
    }

    // SDK 1.4: history; a table without it (older, or a store that keeps no
    // history: NULL entries) answers BLYNK_ERROR naming the entry.
    Result put_points(const std::vector<Point>& points, bool keep_raw) {
        if (auto r = missing_history(&blynk_storage_v1::put_points, "put_points")) return *r;
        std::vector<blynk_point_rec> recs;
        for (auto& p : points)
            recs.push_back(to_c(p));
        return store([&](auto* s, blynk_error* e) {
            return s->put_points(table_->self, recs.data(), recs.size(),
                                 keep_raw ? uint32_t(BLYNK_POINTS_KEEP_RAW) : 0u, e);
        });
    }
    // out gets the rows as delivered (appended).
    Result read_history(const HistoryQuery& q, std::vector<HistoryRow>& out) {
        if (auto r = missing_history(&blynk_storage_v1::read_history, "read_history")) return *r;
        auto c = to_c(q);
        return store([&](auto* s, blynk_error* e) {
            auto sink = history_sink(out);
            return s->read_history(table_->self, &c, &sink, e);
        });
    }
    Result remove_history(const HistoryScope& scope) {
        if (auto r = missing_history(&blynk_storage_v1::remove_history, "remove_history")) return *r;
        auto c = to_c(scope);
        return store([&](auto* s, blynk_error* e) { return s->remove_history(table_->self, &c, e); });
    }
    Result trim_history(const HistoryCutoffs& before_ms, uint64_t* removed = nullptr) {
        if (auto r = missing_history(&blynk_storage_v1::trim_history, "trim_history")) return *r;
        return store(
            [&](auto* s, blynk_error* e) { return s->trim_history(table_->self, before_ms.data(), removed, e); });
    }
    Result dump_history(std::vector<HistoryRow>& out) {
        if (auto r = missing_history(&blynk_storage_v1::dump_history, "dump_history")) return *r;
        return store([&](auto* s, blynk_error* e) {
            auto sink = history_sink(out);
            return s->dump_history(table_->self, &sink, e);
        });
    }
    Result import_history(const std::vector<HistoryRow>& rows) {
        if (auto r = missing_history(&blynk_storage_v1::import_history, "import_history")) return *r;
        std::vector<blynk_history_rec> recs;
        for (auto& h : rows)
            recs.push_back(to_c(h));
        return store(
            [&](auto* s, blynk_error* e) { return s->import_history(table_->self, recs.data(), recs.size(), e); });
    }

    // --------------------------------------------------------------- events
    // A C event or auth request with its size and the fields naming the
    // device (email, dashboard, device, token) filled in from `e`.
    template <class C, class E>
    static C about_device(const E& e) {
        C c{};
        c.size = sizeof c;
        c.token = slice(e.token);
        c.email = slice(e.email);
        c.dash_id = e.dash_id;
        c.device_id = e.device_id;
        return c;
    }

    // Each returns false if the plugin is not subscribed to the event.
    bool device_online(const DeviceEvent& ev) { return device_event(&blynk_events_v1::device_online, ev); }
    bool device_offline(const DeviceEvent& ev) { return device_event(&blynk_events_v1::device_offline, ev); }
    bool pin_written(const PinEvent& ev) {
        if (!events() || !events()->pin_written) return false;
        auto c = about_device<blynk_pin_event>(ev);
        c.pin_type = ev.pin_type;
        c.pin = ev.pin;
        c.value = slice(ev.value);
        c.at_ms = ev.at_ms;
        events()->pin_written(table_->self, &c);
        return true;
    }
    bool login(const LoginEvent& ev) {
        if (!events() || !events()->login) return false;
        auto c = about_device<blynk_login_event>(ev);
        c.kind = ev.kind;
        c.success = ev.success ? 1u : 0u;
        c.peer = slice(ev.peer);
        c.at_ms = ev.at_ms;
        events()->login(table_->self, &c);
        return true;
    }

    // ---------------------------------------------------------------- auth
    // The plugin's verdict (BLYNK_AUTH_ALLOW, BLYNK_AUTH_DENY, or what else it
    // answers); nullopt if it has no such hook. The kernel asks on its thread.
    std::optional<int> auth_login(const AuthLogin& rq) {
        if (!auth() || !BLYNK_HAS_FIELD(auth(), login) || !auth()->login) return std::nullopt;
        auto c = about_device<blynk_auth_login>(rq);
        c.peer = slice(rq.peer);
        return auth()->login(table_->self, &c);
    }
    std::optional<int> auth_pin_write(const AuthWrite& rq) {
        if (!auth() || !BLYNK_HAS_FIELD(auth(), pin_write) || !auth()->pin_write) return std::nullopt;
        auto c = about_device<blynk_auth_write>(rq);
        c.pin_type = rq.pin_type;
        c.pin = rq.pin;
        c.value = slice(rq.value);
        c.source = rq.source;
        return auth()->pin_write(table_->self, &c);
    }

    // ----------------------------------------------------------------- http
    // "METHOD /pattern" of every route, in the plugin's order.
    std::vector<std::string> routes() const {
        std::vector<std::string> out;
        if (http())
            for (size_t i = 0; i < http()->route_count; ++i)
                out.push_back(std::string(view(http()->routes[i].method)) + " " +
                              std::string(view(http()->routes[i].pattern)));
        return out;
    }
    // Calls the route that serves the request, as the kernel would; nullptr if
    // none does (the kernel's 404). The request's memory is overwritten after
    // the handler returns, so a handler that kept a pointer into it instead of
    // a copy answers with garbage and the test sees it.
    std::shared_ptr<HttpAnswer> call(HttpCall rq) {
        struct Memory {  // everything the C request points at
            HttpCall rq;
            std::string path, query;
            std::vector<std::string> params;
            std::vector<blynk_str> cparams;
            std::vector<blynk_http_header> headers;
        };
        auto m = std::make_shared<Memory>();
        m->rq = std::move(rq);
        std::string& target = m->rq.target;
        if (size_t q = target.find('?'); q != std::string::npos) {
            m->query = target.substr(q + 1);
            target.resize(q);
        }
        std::vector<std::string> segs = split(target);
        for (auto& s : segs)
            if (!percent_decode(s)) return nullptr;
        const blynk_http_route* best = nullptr;
        size_t best_literals = 0;
        for (size_t r = 0; http() && r < http()->route_count; ++r) {
            const blynk_http_route& route = http()->routes[r];
            std::vector<std::string> pat = split(std::string(view(route.pattern)));
            if (view(route.method) != m->rq.method || pat.size() != segs.size()) continue;
            bool ok = true;
            size_t literals = 0;
            for (size_t k = 0; k < pat.size() && ok; ++k) {
                bool param = is_param(pat[k]);
                ok = param ? !segs[k].empty() : pat[k] == segs[k];
                literals += param ? 0 : 1;
            }
            if (ok && (!best || literals > best_literals)) best = &route, best_literals = literals;
        }
        if (!best) return nullptr;
        std::vector<std::string> pat = split(std::string(view(best->pattern)));
        m->path = "/";
        for (size_t k = 0; k < segs.size(); ++k) {
            m->path += (k ? "/" : "") + segs[k];
            if (is_param(pat[k])) m->params.push_back(segs[k]);
        }
        for (auto& p : m->params)
            m->cparams.push_back(slice(p));
        for (auto& h : m->rq.headers)
            m->headers.push_back({slice(h.first), slice(h.second)});
        blynk_http_request req{};
        req.size = sizeof req;
        req.method = slice(m->rq.method);
        req.path = slice(m->path);
        req.query = slice(m->query);
        req.headers = m->headers.data();
        req.header_count = m->headers.size();
        req.body = slice(m->rq.body);
        req.params = m->cparams.data();
        req.param_count = m->cparams.size();
        req.peer = slice(m->rq.peer);
        req.tls = m->rq.tls ? 1u : 0u;
        std::shared_ptr<HttpAnswer> answer = host_.new_answer();
        best->handler(table_->self, best->route_data, &req, FakeHost::responder_of(*answer));
        for (std::string* s : {&m->path, &m->query, &m->rq.body, &m->rq.peer, &m->rq.method})
            std::fill(s->begin(), s->end(), '#');
        for (auto& p : m->params)
            std::fill(p.begin(), p.end(), '#');
        for (auto& h : m->rq.headers)
            std::fill(h.second.begin(), h.second.end(), '#');
        answer->request = std::move(m);  // http_respond writes other fields, so a late answer does not race this
        return answer;
    }

    // ------------------------------------------------------------ notifier
    // SDK 1.4. Each calls the channel's entry as the kernel's notifier threads
    // do (blocking up to the plugin's own timeout); an error if the plugin has
    // no such channel.
    Result send_mail(const Mail& m) {
        const blynk_notifier_v1* n = notifier();
        if (!n || !BLYNK_HAS_FIELD(n, send_mail) || !n->send_mail)
            return {BLYNK_ERROR, "the plugin's notifier does not send mail"};
        blynk_mail c = to_c(m);
        return status_of([&](blynk_error* e) { return n->send_mail(table_->self, &c, e); });
    }
    Result send_sms(const Sms& m) {
        const blynk_notifier_v1* n = notifier();
        if (!n || !BLYNK_HAS_FIELD(n, send_sms) || !n->send_sms)
            return {BLYNK_ERROR, "the plugin's notifier does not send SMS"};
        blynk_sms c = to_c(m);
        return status_of([&](blynk_error* e) { return n->send_sms(table_->self, &c, e); });
    }
    // invalid is resized to m.targets.size() and zeroed first; the plugin
    // sets invalid[i] = 1 for a token the provider no longer knows.
    Result send_push(const Push& m, std::vector<uint8_t>& invalid) {
        invalid.assign(m.targets.size(), 0);
        const blynk_notifier_v1* n = notifier();
        if (!n || !BLYNK_HAS_FIELD(n, send_push) || !n->send_push)
            return {BLYNK_ERROR, "the plugin's notifier does not send push"};
        std::vector<blynk_push_target> targets;
        blynk_push c = to_c(m, targets);
        return status_of([&](blynk_error* e) { return n->send_push(table_->self, &c, invalid.data(), e); });
    }

private:
    template <class M>
    std::optional<Result> missing_history(M blynk_storage_v1::*entry, const char* name) const {
        const blynk_storage_v1* s = storage();
        if (!s) return std::nullopt;  // store() says "no storage"
        size_t end = size_t(reinterpret_cast<const char*>(&(s->*entry)) - reinterpret_cast<const char*>(s)) + sizeof(M);
        if (s->size < end || !(s->*entry))
            return Result{BLYNK_ERROR, std::string("the plugin's storage table has no ") + name};
        return std::nullopt;
    }
    static blynk_history_sink history_sink(std::vector<HistoryRow>& out) {
        blynk_history_sink sink{};
        sink.size = sizeof sink;
        sink.ctx = &out;
        sink.row = [](void* ctx, const blynk_history_rec* r) {
            static_cast<std::vector<HistoryRow>*>(ctx)->push_back(from_c(r));
        };
        return sink;
    }
    template <class F>
    static Result status_of(F&& f) {
        blynk_error err{};
        Result r;
        r.status = f(&err);
        r.message = err.message;
        return r;
    }
    template <class F>
    Result store(F&& f) {
        if (!storage()) return {BLYNK_ERROR, "the plugin provides no storage"};
        return status_of([&](blynk_error* e) { return f(storage(), e); });
    }
    template <class M>
    bool has(M blynk_plugin_v1::*field) const {
        if (!loaded()) return false;
        size_t end = size_t(reinterpret_cast<const char*>(&(table_->*field)) - reinterpret_cast<const char*>(table_)) +
                     sizeof(M);
        return table_->size >= end;
    }
    bool device_event(void (*blynk_events_v1::*fn)(void*, const blynk_device_event*), const DeviceEvent& ev) {
        if (!events() || !(events()->*fn)) return false;
        auto c = about_device<blynk_device_event>(ev);
        c.device_name = slice(ev.device_name);
        c.peer = slice(ev.peer);
        c.at_ms = ev.at_ms;
        (events()->*fn)(table_->self, &c);
        return true;
    }
    static bool is_param(const std::string& seg) { return seg.size() >= 2 && seg.front() == '{' && seg.back() == '}'; }
    // "/a/b" -> {"a", "b"}; "/" -> {""}.
    static std::vector<std::string> split(const std::string& p) {
        std::vector<std::string> parts;
        for (size_t i = 1; i <= p.size();) {
            size_t j = std::min(p.find('/', i), p.size());
            parts.push_back(p.substr(i, j - i));
            i = j + 1;
        }
        return parts;
    }
    // As the kernel decodes a path segment: '+' stays, a bad escape refuses the request.
    static bool percent_decode(std::string& s) {
        auto hex = [](char c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); };
        for (size_t i = 0; i < s.size(); ++i)
            if (s[i] == '%' && (i + 2 >= s.size() || !hex(s[i + 1]) || !hex(s[i + 2]))) return false;
        s = url_decode(s, false);
        return true;
    }

    FakeHost& host_;
    const blynk_plugin_v1* table_ = nullptr;
    std::string error_;
};

}  // namespace testing
}  // namespace blynk

#endif  // BLYNK_TESTING_PLUGIN_UNDER_TEST_HPP
