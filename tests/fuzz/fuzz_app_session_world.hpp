// The world fuzz_app_session runs in: fake app and device connections that
// check every message the kernel hands them against what caused it (the
// invariants listed in fuzz_app_session.cpp), a backend that answers each
// call right after the hub returns, and the model, router and hub over them.
// Included by fuzz_app_session.cpp only.
#pragma once

#include <blynk/plugin.h>
#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>
#include "codec/deflate.hpp"
#include "codec/frame.hpp"
#include "codec/protocol.hpp"
#include "core/app_hub.hpp"
#include "core/app_json.hpp"
#include "core/model.hpp"
#include "core/router.hpp"
#include "core/secrets.hpp"
#include "fuzz_util.hpp"

namespace blynk::fuzz::app_session {

using codec::Command;
using codec::Status;

const std::string kTokenA(32, 'A'), kTokenB(32, 'B'), kTokenC(32, 'C'), kTokenD(32, 'D'), kTokenL(32, 'L');
const std::string kPassword = "pw";
const std::string kShareToken(32, 'S');

constexpr size_t kAppSlots = 4, kDeviceSlots = 3, kMaxConnections = 48;
constexpr size_t kMaxOutputPerStep = 8 << 20;

const bool g_verbose = std::getenv("BLYNK_FUZZ_VERBOSE") != nullptr;

struct World;

// What caused the output being checked: an app's frame (or a backend answer
// to it), a device's frame, or a connection closing.
struct Cause {
    bool active = false;
    const core::AppRoute* app = nullptr;  // the requesting app session (routes live until the end)
    const core::HwRoute* hw = nullptr;    // or the device connection
    uint16_t msg_id = 0;
    core::User* user = nullptr;  // whose activity it is, when known at the start
};

class FakeApp final : public core::AppOutput {
public:
    FakeApp(World& w, bool ws, int id);
    ~FakeApp();
    void send(uint8_t command, uint16_t msg_id, std::string_view body) override;
    void send_status(uint16_t msg_id, uint32_t status) override;
    void close(std::string_view reason) override;
    void reject(std::string_view reason) override { close(reason); }
    bool is_closed() const override { return closed; }
    std::string peer() const override { return "198.51.100." + std::to_string(id_ % 200) + ":5000"; }
    bool websocket() const override { return ws_; }
    std::string local_host() const override { return "blynk.example.net"; }
    void resume() override {}

    core::AppRoute* route = nullptr;
    bool closed = false;
    std::string input;  // TLS: bytes not yet a whole frame

private:
    World& w_;
    bool ws_;
    int id_;
};

class FakeDevice final : public core::HwOutput {
public:
    FakeDevice(World& w);
    ~FakeDevice();
    void send(uint8_t command, uint16_t msg_id, std::string_view body) override;
    void send_status(uint16_t msg_id, uint16_t status) override;
    void close(std::string_view reason) override;
    void reject(std::string_view reason) override { close(reason); }
    bool is_closed() const override { return closed; }
    std::string peer() const override { return "192.0.2.1:4000"; }

    core::HwRoute* route = nullptr;
    bool closed = false;
    std::string input;

private:
    World& w_;
};

// Storage and the hashing pool: each call's answer runs right after the hub
// returns (never inside the call), as the loop thread would run it later.
class Backend final : public core::AppBackend {
public:
    explicit Backend(World& w) : w_(w) {}
    bool fail = false, full = false;
    std::deque<std::pair<Cause, std::function<void()>>> jobs;
    std::map<std::string, std::string> clones;
    std::string last_clone;

    bool load_user(std::string email, std::function<void(core::LoadResult)> done) override;
    bool verify_password(std::string client_hash, std::string stored, std::function<void(bool)> done) override {
        return queue([=] { done(core::verify_slow_hash(client_hash, stored)); });
    }
    bool hash_password(std::string client_hash, std::function<void(std::string)> done) override {
        return queue([=] { done(core::slow_hash(client_hash, 1)); });
    }
    bool save_user(const core::User&, bool, std::function<void(int)> done) override { return change(done); }
    bool save_dash(const core::User&, const core::Dashboard&, std::function<void(int)> done) override {
        return change(done);
    }
    bool remove_dash(const core::User&, int32_t, std::function<void(int)> done) override { return change(done); }
    bool save_device(const core::Device&, std::function<void(int)> done) override { return change(done); }
    bool remove_device(const core::Device&, std::function<void(int)> done) override { return change(done); }
    bool save_clone(std::string json, std::function<void(std::string)> done) override {
        return queue([this, json, done] {
            std::string code = fail ? std::string() : std::string(32, char('a' + clones.size() % 26));
            if (!code.empty()) {
                clones[code] = json;
                last_clone = code;
            }
            done(code);
        });
    }
    bool load_clone(std::string code, std::function<void(std::string)> done) override {
        return queue([this, code, done] {
            auto it = clones.find(code);
            done(it == clones.end() ? std::string() : it->second);
        });
    }
    void close_device(core::Device& d, std::string_view why) override {
        while (d.online)
            d.online->out->close(why);
    }

private:
    bool queue(std::function<void()> job);
    bool change(std::function<void(int)> done) {
        int rc = fail ? BLYNK_ERROR : BLYNK_OK;
        return queue([done, rc] { done(rc); });
    }
    World& w_;
};

inline core::Widget widget(std::string_view json) {
    core::Widget w;
    std::string err;
    FUZZ_CHECK(core::parse_widget(json, w, err));
    return w;
}

inline std::unique_ptr<core::Device> device(int32_t dash, int32_t id, const std::string& token) {
    auto d = std::make_unique<core::Device>();
    d->dash_id = dash;
    d->id = id;
    d->name = "d";
    d->token = token;
    return d;
}

inline std::unique_ptr<core::User> user(const std::string& email) {
    auto u = std::make_unique<core::User>();
    u->email = email;
    u->pass_hash = core::slow_hash(core::legacy_pass_hash(email, kPassword), 1);
    u->energy = 5000;
    return u;
}

inline core::AppSettings app_settings(uint8_t s) {
    core::AppSettings a;
    static const uint32_t quotas[] = {0, 3, 100, 0};
    a.message_quota = quotas[s & 3];
    a.allow_registration = (s & 4) == 0;
    a.registrations_per_hour = 2;
    a.max_dashboards = 4;
    a.max_devices = 4;
    a.max_widgets = 8;
    a.max_tags = 3;
    a.max_widget_bytes = 1024;
    a.max_dash_bytes = 8192;
    return a;
}

struct World {
    World(uint8_t s0, uint8_t s1)
        : router(model, router_settings(s1), [this] { return now_ms; }),
          backend(*this),
          hub(model, router, backend, app_settings(s0), [this] { return now_ms; }),
          raw_ids((s0 & 0x80) != 0) {
        router.set_apps(&hub);
        core::LoadedData data;
        auto me = user("me@example.com");
        core::Dashboard d1;
        d1.id = 1;
        d1.name = "Home";
        d1.app_connected_on = true;
        d1.widgets.push_back(widget(R"({"id":1,"type":"BUTTON","width":1,"height":1,"pin":13,"pinType":"DIGITAL"})"));
        d1.widgets.push_back(
            widget(R"({"id":2,"type":"SLIDER","width":1,"height":1,"pin":5,"pinType":"DIGITAL","pwmMode":true})"));
        d1.widgets.push_back(widget(R"({"id":3,"type":"NOTIFICATION","width":1,"height":1})"));
        d1.widgets.push_back(widget(R"({"id":200001,"type":"DEVICE_SELECTOR","width":1,"height":1,"value":1})"));
        d1.tags.push_back({100001, "all", {0, 1}});
        core::Dashboard d2;
        d2.id = 2;
        d2.name = "Shared";
        d2.shared = true;
        d2.share_token = kShareToken;
        me->dashboards.push_back(std::move(d1));
        me->dashboards.push_back(std::move(d2));
        me->devices.push_back(device(1, 0, kTokenA));
        me->devices.push_back(device(1, 1, kTokenB));
        me->devices.push_back(device(2, 0, kTokenD));
        auto other = user("other@example.com");
        other->devices.push_back(device(1, 0, kTokenC));
        data.users.push_back(std::move(me));
        data.users.push_back(std::move(other));
        model.merge(std::move(data));
        for (size_t i = 0; i < kAppSlots; ++i)
            apps[i] = open_app(i & 1);
        for (size_t i = 0; i < kDeviceSlots; ++i)
            devices[i] = open_device();
    }
    ~World() {
        // Connections go before the hub and the router they point into.
        app_conns.clear();
        device_conns.clear();
    }

    static core::RouterSettings router_settings(uint8_t s) {
        core::RouterSettings r;
        r.message_quota = (s & 1) ? 5 : 0;
        r.default_buff_in = (s & 2) ? 32 : 1024;
        return r;
    }

    FakeApp* open_app(bool ws) {
        app_conns.push_back(std::make_unique<FakeApp>(*this, ws, int(app_conns.size())));
        return app_conns.back().get();
    }
    FakeDevice* open_device() {
        device_conns.push_back(std::make_unique<FakeDevice>(*this));
        return device_conns.back().get();
    }

    // The backend's answers, each with the cause that queued it.
    void run_jobs() {
        while (!backend.jobs.empty()) {
            auto job = std::move(backend.jobs.front());
            backend.jobs.pop_front();
            Cause saved = cur;
            cur = job.first;
            job.second();
            cur = saved;
        }
    }

    // One app message, as AppHandler::deliver hands it over.
    void app_message(FakeApp& a, uint8_t command, uint16_t msg_id, std::string_view body) {
        if (a.closed) return;
        if (!raw_ids && msg_id == 0) msg_id = 1;
        if (command >= codec::kLastCommandIndex) {
            reject_app(a, "unknown command");
            return;
        }
        if (g_verbose)
            std::fprintf(stderr, "app %p -> %s id %u, %zu bytes\n", static_cast<void*>(&a),
                         codec::command_name(command) ? codec::command_name(command) : "?", msg_id, body.size());
        codec::Frame f;
        f.command = command;
        f.msg_id = msg_id;
        f.body = body;
        f.length = uint32_t(body.size());
        begin(Cause{true, a.route, nullptr, msg_id, a.route->user});
        hub.on_frame(*a.route, f);
        a.route->over_quota = false;
        end();
        run_jobs();
        check();
    }
    // TLS app frames from a byte stream (app.max_body: 4096).
    void app_bytes(FakeApp& a, std::string_view bytes) {
        if (a.closed) return;
        a.input.append(bytes);
        size_t off = 0;
        while (!a.closed && !a.route->pending) {
            codec::Frame f;
            size_t used = 0;
            auto r = codec::parse_app(std::string_view(a.input).substr(off), 4096, f, used);
            if (r == codec::Parse::NeedMore) break;
            if (r == codec::Parse::TooLarge) {
                reject_app(a, "too large");
                break;
            }
            off += used;
            std::string body(f.body);
            app_message(a, f.command, f.msg_id, body);
        }
        a.input.erase(0, off);
        if (a.input.size() > 8192) a.input.clear();
    }
    void device_bytes(FakeDevice& d, std::string_view bytes) {
        if (d.closed) return;
        d.input.append(bytes);
        size_t off = 0;
        while (!d.closed) {
            codec::Frame f;
            size_t used = 0;
            auto r = codec::parse_hardware(std::string_view(d.input).substr(off), 1024, f, used);
            if (r == codec::Parse::NeedMore) break;
            if (r == codec::Parse::TooLarge || f.command >= codec::kLastCommandIndex) {
                close_device(d);
                break;
            }
            off += used;
            if (!raw_ids && f.msg_id == 0) f.msg_id = 1;
            std::string body(f.body);
            f.body = body;
            begin(Cause{true, nullptr, d.route, f.msg_id, device_user(d)});
            router.on_frame(*d.route, f);
            d.route->over_quota = false;
            end();
            // A login may have made the device's user known only now.
            check();
        }
        d.input.erase(0, off);
        if (d.input.size() > 4096) d.input.clear();
    }

    void begin(Cause c) {
        cur = c;
        output = 0;
    }
    void end() { cur = Cause{}; }

    static core::User* device_user(const FakeDevice& d) { return d.route->device ? d.route->device->user : nullptr; }
    // Whose activity the current output is (a login makes it known on the way).
    core::User* cause_user() const {
        if (cur.user) return cur.user;
        if (cur.app) return cur.app->user;
        if (cur.hw && cur.hw->device) return cur.hw->device->user;
        return nullptr;
    }
    // The transport closes an app connection for breaking the protocol.
    void reject_app(FakeApp& a, std::string_view why) {
        begin(Cause{true, a.route, nullptr, 0, a.route->user});
        a.reject(why);
        end();
        check();
    }
    void close_app(FakeApp& a) {
        begin(Cause{true, a.route, nullptr, 0, a.route->user});
        a.close("closed by peer");
        end();
        check();
    }
    void close_device(FakeDevice& d) {
        begin(Cause{true, nullptr, d.route, 0, device_user(d)});
        d.close("closed by peer");
        end();
        check();
    }

    void check() {
        FUZZ_CHECK(hub.session_count() == app_conns.size());
        const core::AppSettings& s = hub.settings();
        model.for_each_user([&](const core::User& u) {
            size_t apps_listed = 0;
            for (const core::AppRoute* r = u.apps; r; r = r->next_on_user) {
                FUZZ_CHECK(r->user == &u && !r->out->is_closed());
                FUZZ_CHECK(++apps_listed <= app_conns.size());
            }
            // Dashboards made from devices' dashboard ids come on top of the limit.
            FUZZ_CHECK(u.dashboards.size() <= s.max_dashboards + 4);
            for (auto& dash : u.dashboards) {
                FUZZ_CHECK(dash.widgets.size() <= s.max_widgets + 4);
                FUZZ_CHECK(dash.tags.size() <= s.max_tags + 1);
                size_t devices = 0;
                for (auto& d : u.devices)
                    devices += d->dash_id == dash.id && !d->removed;
                FUZZ_CHECK(devices <= s.max_devices + 3);
            }
            // Removed devices stay in u.devices (inert) until a restart, so
            // only the live ones are bounded here (docs/fuzzing.md, known issues).
            size_t live = 0;
            for (auto& d : u.devices)
                live += !d->removed;
            FUZZ_CHECK(live <= (s.max_dashboards + 2) * s.max_devices);
        });
    }

    int64_t now_ms = 1'700'000'000'000;
    core::Model model;
    core::Router router;
    Backend backend;
    core::AppHub hub;
    bool raw_ids;
    Cause cur;
    size_t output = 0;
    std::vector<std::unique_ptr<FakeApp>> app_conns;
    std::vector<std::unique_ptr<FakeDevice>> device_conns;
    FakeApp* apps[kAppSlots] = {};
    FakeDevice* devices[kDeviceSlots] = {};
};

inline bool Backend::queue(std::function<void()> job) {
    if (full) return false;
    jobs.emplace_back(w_.cur, std::move(job));
    return true;
}

inline bool Backend::load_user(std::string email, std::function<void(core::LoadResult)> done) {
    return queue([this, email, done] {
        if (fail) return done(core::LoadResult::Failed);
        if (email != "late@example.com" || w_.model.find_user(email)) return done(core::LoadResult::Unknown);
        core::LoadedData data;
        auto u = user(email);
        u->devices.push_back(device(1, 0, kTokenL));
        data.users.push_back(std::move(u));
        w_.model.merge(std::move(data));
        done(core::LoadResult::Found);
    });
}

// The dashboard an app message's body names first (`7`, `7-3`, `7\0...`), or -1.
inline int32_t named_dash(std::string_view body) {
    size_t end = std::min({body.find('\0'), body.find('-', 1), body.size()});
    int32_t id = -1;
    return core::parse_i32(body.substr(0, end), id) ? id : -1;
}

inline FakeApp::FakeApp(World& w, bool ws, int id) : route(&w.hub.open(*this)), w_(w), ws_(ws), id_(id) {}
inline FakeApp::~FakeApp() {
    w_.hub.release(*route);
}

inline void FakeApp::send(uint8_t command, uint16_t msg_id, std::string_view body) {
    const Cause& cur = w_.cur;
    FUZZ_CHECK(cur.active && !closed);
    if (g_verbose)
        std::fprintf(stderr, "  app %p <- command %u id %u, %zu bytes\n", (void*)this, command, msg_id, body.size());
    w_.output += body.size() + 7;
    FUZZ_CHECK(w_.output <= kMaxOutputPerStep);
    Command c = Command(command);
    bool push = c == Command::Hardware || c == Command::AppSync || c == Command::SetWidgetProperty ||
                c == Command::HardwareConnected || c == Command::DeviceOffline || c == Command::ActivateDashboard ||
                c == Command::DeactivateDashboard || c == Command::Sharing;
    if (route != cur.app || push) {
        // Told of someone else's activity: only the same user's, and a share
        // only of its dashboard.
        FUZZ_CHECK(route->user && route->user == w_.cause_user());
        FUZZ_CHECK(push);
        if (!route->owner() && !(c == Command::DeactivateDashboard && body.empty()))
            FUZZ_CHECK(named_dash(body) == route->shared_dash);
        FUZZ_CHECK(msg_id == cur.msg_id || msg_id == codec::msgid::kAppSync ||
                   (c == Command::DeviceOffline && msg_id == 0));
        return;
    }
    // An answer to this session's own request.
    FUZZ_CHECK(msg_id == cur.msg_id);
    if (c == Command::LoadProfileGzipped && route->user && !route->owner()) {
        // A share's profile: its one dashboard, no device tokens, no share token.
        std::string text;
        FUZZ_CHECK(codec::zlib_inflate(body, 1 << 22, text));
        boost::json::value v = boost::json::parse(text);
        const boost::json::array& dashes = v.at("dashBoards").as_array();
        FUZZ_CHECK(dashes.size() == 1);
        const boost::json::object& dash = dashes[0].as_object();
        FUZZ_CHECK(dash.at("id").to_number<int64_t>() == route->shared_dash);
        FUZZ_CHECK(!dash.contains("sharedToken"));
        for (auto& d : dash.at("devices").as_array())
            FUZZ_CHECK(!d.as_object().contains("token"));
    }
}

inline void FakeApp::send_status(uint16_t msg_id, uint32_t status) {
    const Cause& cur = w_.cur;
    FUZZ_CHECK(cur.active && !closed);
    FUZZ_CHECK(codec::status_name(uint16_t(status)) != nullptr);
    if (g_verbose)
        std::fprintf(stderr, "  app %p <- id %u %s\n", (void*)this, msg_id, codec::status_name(uint16_t(status)));
    w_.output += 7;
    FUZZ_CHECK(msg_id == cur.msg_id || (status == uint32_t(Status::DeviceNotInNetwork) &&
                                        msg_id == codec::msgid::kPinModes && route == cur.app));
    // Statuses to another session: only a share's end (its token refreshed).
    if (route != cur.app) FUZZ_CHECK(status == uint32_t(Status::NotAllowed) && !route->owner());
}

inline void FakeApp::close(std::string_view) {
    if (closed) return;
    closed = true;
    w_.hub.on_close(*route);
}

inline FakeDevice::FakeDevice(World& w) : route(&w.router.open(*this)), w_(w) {}
inline FakeDevice::~FakeDevice() {
    w_.router.release(*route);
}

inline void FakeDevice::send(uint8_t command, uint16_t msg_id, std::string_view body) {
    const Cause& cur = w_.cur;
    FUZZ_CHECK(cur.active && !closed && route->device);
    if (g_verbose) std::fprintf(stderr, "  device %p <- command %u id %u\n", (void*)this, command, msg_id);
    FUZZ_CHECK(msg_id != 0 || (w_.raw_ids && cur.msg_id == 0));
    core::User* user = w_.cause_user();
    FUZZ_CHECK(user == nullptr || route->device->user == user);
    FUZZ_CHECK(body.size() <= 0xFFFF);
    // What apps send a device fits what it can receive.
    uint32_t limit = route->buff_in ? route->buff_in : w_.router.settings().default_buff_in;
    if (cur.app && command == uint8_t(Command::Hardware)) FUZZ_CHECK(body.size() + codec::kHardwareHeader <= limit);
    w_.output += body.size() + 5;
    FUZZ_CHECK(w_.output <= kMaxOutputPerStep);
}

inline void FakeDevice::send_status(uint16_t msg_id, uint16_t status) {
    FUZZ_CHECK(w_.cur.active && !closed);
    FUZZ_CHECK(msg_id != 0 || (w_.raw_ids && w_.cur.msg_id == 0));
    FUZZ_CHECK(codec::status_name(status) != nullptr);
}

inline void FakeDevice::close(std::string_view) {
    if (closed) return;
    closed = true;
    w_.router.on_close(*route);
}

}  // namespace blynk::fuzz::app_session
