// Fuzzes the app side of the kernel (core::AppHub) together with the router:
// up to four app connections (each either TLS app frames, cut from a byte
// stream, or /dashws messages, one per chunk) and three device connections,
// over a model of me@example.com (dashboard 1 with devices A and B, widgets, a
// tag and a device selector; dashboard 2, shared, with device D) and
// other@example.com (device C); a fake backend (storage and the hashing pool)
// answers each call right after the hub returns, or fails, or finds its queue
// full. Besides raw bytes, an op sends one of a table of well-formed commands
// (logins with the right password or share token, dashboards, widgets,
// devices, tags, writes, sharing, clone codes...) with fields from the input,
// so the fuzzer reaches the deep states quickly.
//
// Input: two setting bytes, then operations (LLVMFuzzerTestOneInput below).
//
// Invariants checked on every message:
//  - nothing is sent on a closed connection;
//  - no frame to a device has message id 0 (unless the app's frame that caused
//    it had id 0, which the transport then rewrites; the harness sends no id 0
//    unless setting bit 7 is on);
//  - every status, and every answer to a request, carries the id of the frame
//    that caused it (server pushes: APP_SYNC 1111, DEVICE_NOT_IN_NETWORK 1 on
//    ACTIVATE, DEVICE_OFFLINE 0);
//  - an app session hears only of its own user's devices and apps, and a
//    shared session only of its one dashboard; a shared session's profile
//    holds no device token;
//  - bounded memory: sessions = open connections, dashboards, widgets, tags
//    and devices within the limits, each step's output bounded.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <blynk/plugin.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "codec/deflate.hpp"
#include "codec/frame.hpp"
#include "codec/protocol.hpp"
#include "core/app_hub.hpp"
#include "core/app_json.hpp"
#include "core/model.hpp"
#include "core/router.hpp"
#include "core/secrets.hpp"
#include "fuzz_util.hpp"

using namespace blynk;
using codec::Command;
using codec::Status;

namespace {

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

core::Widget widget(std::string_view json) {
    core::Widget w;
    std::string err;
    FUZZ_CHECK(core::parse_widget(json, w, err));
    return w;
}

std::unique_ptr<core::Device> device(int32_t dash, int32_t id, const std::string& token) {
    auto d = std::make_unique<core::Device>();
    d->dash_id = dash;
    d->id = id;
    d->name = "d";
    d->token = token;
    return d;
}

std::unique_ptr<core::User> user(const std::string& email) {
    auto u = std::make_unique<core::User>();
    u->email = email;
    u->pass_hash = core::slow_hash(core::legacy_pass_hash(email, kPassword), 1);
    u->energy = 5000;
    return u;
}

core::AppSettings app_settings(uint8_t s) {
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

bool Backend::queue(std::function<void()> job) {
    if (full) return false;
    jobs.emplace_back(w_.cur, std::move(job));
    return true;
}

bool Backend::load_user(std::string email, std::function<void(core::LoadResult)> done) {
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
int32_t named_dash(std::string_view body) {
    size_t end = std::min({body.find('\0'), body.find('-', 1), body.size()});
    int32_t id = -1;
    return core::parse_i32(body.substr(0, end), id) ? id : -1;
}

FakeApp::FakeApp(World& w, bool ws, int id) : route(&w.hub.open(*this)), w_(w), ws_(ws), id_(id) {}
FakeApp::~FakeApp() {
    w_.hub.release(*route);
}

void FakeApp::send(uint8_t command, uint16_t msg_id, std::string_view body) {
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

void FakeApp::send_status(uint16_t msg_id, uint32_t status) {
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

void FakeApp::close(std::string_view) {
    if (closed) return;
    closed = true;
    w_.hub.on_close(*route);
}

FakeDevice::FakeDevice(World& w) : route(&w.router.open(*this)), w_(w) {}
FakeDevice::~FakeDevice() {
    w_.router.release(*route);
}

void FakeDevice::send(uint8_t command, uint16_t msg_id, std::string_view body) {
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

void FakeDevice::send_status(uint16_t msg_id, uint16_t status) {
    FUZZ_CHECK(w_.cur.active && !closed);
    FUZZ_CHECK(msg_id != 0 || (w_.raw_ids && w_.cur.msg_id == 0));
    FUZZ_CHECK(codec::status_name(status) != nullptr);
}

void FakeDevice::close(std::string_view) {
    if (closed) return;
    closed = true;
    w_.router.on_close(*route);
}

// --- the table of well-formed commands (op 7)

std::string join(std::initializer_list<std::string> parts) {
    std::string out;
    bool first = true;
    for (auto& p : parts) {
        if (!first) out.push_back('\0');
        first = false;
        out += p;
    }
    return out;
}

void canned(World& w, FakeApp& a, fuzz::Input& in) {
    uint8_t kind = in.byte();
    uint8_t x = in.byte(), y = in.byte();
    uint16_t id = uint16_t(in.byte() + 1);
    std::string dash = std::to_string(x % 4), dev = std::to_string(y % 3);
    const std::string emails[] = {"me@example.com", "other@example.com", "late@example.com", "new@example.com"};
    const std::string& email = emails[x % 4];
    auto send = [&](Command c, const std::string& body) { w.app_message(a, uint8_t(c), id, body); };
    switch (kind % 28) {
        case 0:
            return send(Command::Login,
                        join({email, core::legacy_pass_hash(email, (y & 1) ? "wrong" : kPassword), "Android", "2"}));
        case 1: {
            core::User* me = w.model.find_user("me@example.com");
            core::Dashboard* d = me ? me->find_dash(x % 3) : nullptr;
            std::string token = d && !d->share_token.empty() ? d->share_token : kShareToken;
            return send(Command::ShareLogin, join({"me@example.com", token, "ios", "2"}));
        }
        case 2:
            return send(Command::Register, join({email, core::legacy_pass_hash(email, kPassword), "Blynk"}));
        case 3:
            return send(Command::Hardware, join({dash + "-" + dev, (y & 4) ? "dw" : "vw", std::to_string(x), "1"}));
        case 4:
            return send(Command::Hardware, join({dash + "-100001", "vw", "1", std::to_string(y)}));
        case 5:
            return send(Command::Hardware, join({dash + "-200001", "vw", "2", "x"}));
        case 6:
            return send(Command::Hardware, join({dash, "vu", "200001", dev}));
        case 7:
            return send(Command::ActivateDashboard, dash);
        case 8:
            return send(Command::DeactivateDashboard, (y & 1) ? dash : "");
        case 9:
            return send(Command::AppSync, (y & 1) ? dash + "-" + dev : dash);
        case 10:
            return send(Command::CreateDash, R"({"id":)" + dash + R"(,"name":"n","devices":[{"id":)" + dev +
                                                 R"(,"name":"x"}],"widgets":[{"id":7,"type":"LED","width":1,)"
                                                 R"("height":1,"pin":)" +
                                                 std::to_string(y) + R"(,"pinType":"ANALOG"}]})");
        case 11:
            return send(Command::DeleteDash, dash);
        case 12:
            return send(Command::CreateWidget, join({dash, R"({"id":)" + std::to_string(y) +
                                                               R"(,"type":"BUTTON","width":1,"height":1,"pin":)" +
                                                               std::to_string(x) + R"(,"pinType":"DIGITAL"})"}));
        case 13:
            return send(Command::DeleteWidget, join({dash, std::to_string(y)}));
        case 14:
            return send(Command::CreateDevice, join({dash, R"({"id":)" + dev + R"(,"name":"n"})"}));
        case 15:
            return send(Command::DeleteDevice, join({dash, dev}));
        case 16:
            return send(Command::RefreshToken, join({dash, dev}));
        case 17:
            return send(Command::CreateTag, join({dash, R"({"id":10000)" + std::to_string(y % 4) + R"(,"name":"t)" +
                                                            std::to_string(y) + R"(","deviceIds":[0,1,2]})"}));
        case 18:
            return send(Command::GetShareToken, dash);
        case 19:
            return send(Command::RefreshShareToken, dash);
        case 20:
            return send(Command::Sharing, join({dash, (y & 1) ? "on" : "off"}));
        case 21:
            return send(Command::LoadProfileGzipped, (y & 1) ? dash : "");
        case 22:
            return send(Command::GetCloneCode, dash);
        case 23:
            return send(Command::GetProjectByCloneCode,
                        (y & 1) ? join({w.backend.last_clone, "new"}) : w.backend.last_clone);
        case 24:
            return send(Command::SetWidgetProperty, join({dash, std::to_string(y % 4), "label", "L"}));
        case 25:
            return send(Command::GetDevices, dash);
        case 26:
            return send(Command::AddPushToken, join({dash, "uid" + std::to_string(y), "tok"}));
        default:
            return send(Command::Logout, "");
    }
}

// A device logs in with the token of a device the model has (after refreshes too).
void device_login(World& w, FakeDevice& d, uint8_t pick) {
    std::vector<std::string> tokens = {kTokenA, kTokenB, kTokenC, kTokenD, kTokenL};
    w.model.for_each_user([&](const core::User& u) {
        for (auto& dev : u.devices)
            if (!dev->removed) tokens.push_back(dev->token);
    });
    std::string frame;
    codec::encode_hardware(frame, uint8_t(Command::HardwareLogin), 1, tokens[pick % tokens.size()]);
    w.device_bytes(d, frame);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::Input in(data, size);
    uint8_t s0 = in.byte(), s1 = in.byte();
    World w(s0, s1);

    // Op byte: low 3 bits the kind, bits 3-4 a slot, bit 7 a variant.
    while (!in.empty()) {
        uint8_t op = in.byte();
        size_t slot = ((op >> 3) & 3) % kAppSlots;
        FakeApp& a = *w.apps[slot];
        switch (op & 7) {
            case 0:
            case 1: {  // bytes from an app: a TLS byte stream, or one /dashws message
                std::string_view chunk = in.chunk();
                if (!a.websocket()) {
                    w.app_bytes(a, chunk);
                } else if (chunk.size() < 3) {
                    w.reject_app(a, "app websocket message shorter than its header");
                } else {
                    w.app_message(a, uint8_t(chunk[0]), uint16_t((uint8_t(chunk[1]) << 8) | uint8_t(chunk[2])),
                                  chunk.substr(3));
                }
                break;
            }
            case 2: {  // bytes from a device
                FakeDevice& d = *w.devices[((op >> 3) & 3) % kDeviceSlots];
                w.device_bytes(d, in.chunk());
                break;
            }
            case 3:  // an app connection closes; a new one (TLS or /dashws) takes its slot
                w.close_app(a);
                if (w.app_conns.size() < kMaxConnections) w.apps[slot] = w.open_app((op & 0x80) != 0);
                break;
            case 4: {  // a device connection closes and a new one logs in (or not)
                FakeDevice*& d = w.devices[((op >> 3) & 3) % kDeviceSlots];
                w.close_device(*d);
                if (w.device_conns.size() < kMaxConnections) d = w.open_device();
                if (op & 0x80) device_login(w, *d, in.byte());
                break;
            }
            case 5: {  // the clock moves (10 ms steps, or minutes)
                uint8_t t = in.byte();
                w.now_ms += t < 200 ? int64_t(t) * 10 : int64_t(t - 199) * 60000;
                break;
            }
            case 6: {  // the backend starts or stops failing, or its queues fill up
                uint8_t b = in.byte();
                w.backend.fail = (b & 1) != 0;
                w.backend.full = (b & 2) != 0;
                break;
            }
            case 7:  // a well-formed command
                canned(w, a, in);
                break;
        }
    }
    // Shutdown: every connection closes; nobody stays listed.
    for (auto& c : w.app_conns)
        w.close_app(*c);
    for (auto& c : w.device_conns)
        w.close_device(*c);
    w.model.for_each_user([](const core::User& u) { FUZZ_CHECK(u.apps == nullptr); });
    return 0;
}
