// Fuzzes the per-connection state machine of kernel/core/router.hpp: byte
// streams from up to four fake hardware connections, cut into frames the way
// the server's session does, fed to one core::Router over a small model
// (user me@example.com with devices A and B, user other@example.com with C;
// storage also knows D of me@example.com and E of a new user), with token
// loads, HTTP API writes, clock jumps, storage flushes and account changes
// interleaved.
//
// Input: two setting bytes, then operations (LLVMFuzzerTestOneInput below;
// gen_corpus.py writes the seeds with the same layout).
//
// Invariants checked after every step:
//  - every frame sent carries the message id of the frame (or API call) that
//    caused it, so no id 0 is sent unless the device itself sent id 0 (which
//    real libraries never do: by default the harness sends none);
//  - bodies sent are at most 65535 bytes; frames forwarded to another
//    connection fit that connection's buff-in;
//  - nothing is sent on a closed connection, and status replies go only to
//    the connection that asked;
//  - no write and no frame crosses users (bridges, API writes);
//  - a command before login closes the connection with no reply; a login gets
//    exactly one reply (or waits for storage);
//  - at most `message_quota` frames per second per connection are handled,
//    and QUOTA_LIMIT is answered at most once a minute;
//  - the online lists, online counts and sorted pin tables stay consistent;
//    every changed device is handed to the next storage flush.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "codec/frame.hpp"
#include "codec/protocol.hpp"
#include "core/model.hpp"
#include "core/router.hpp"
#include "fuzz_util.hpp"

using namespace blynk;
using codec::Command;
using codec::Status;

namespace {

const std::string kTokenA(32, 'A'), kTokenB(32, 'B'), kTokenC(32, 'C');
const std::string kTokenD(32, 'D'), kTokenE(32, 'E');  // known only to "storage"

constexpr size_t kSlots = 4;
constexpr size_t kMaxConnections = 64;

// BLYNK_FUZZ_VERBOSE=1 prints every frame and status sent (for reading seeds).
const bool g_verbose = std::getenv("BLYNK_FUZZ_VERBOSE") != nullptr;

bool is_login(uint8_t command) {
    return command == uint8_t(Command::HardwareLogin) || command == uint8_t(Command::Login);
}

struct World;

class FakeConn final : public core::HwOutput {
public:
    FakeConn(World& w, int id);  // opens its route
    ~FakeConn();                 // releases it
    void send(uint8_t command, uint16_t msg_id, std::string_view body) override;
    void send_status(uint16_t msg_id, uint16_t status) override;
    void close(std::string_view reason) override;
    void reject(std::string_view reason) override { close(reason); }
    bool is_closed() const override { return closed; }
    std::string peer() const override {
        return "192.0.2." + std::to_string(id_ % 250) + ":" + std::to_string(40000 + id_);
    }

    // The router's state for this connection (inert once closed, released with it).
    core::HwRoute* route = nullptr;
    core::Device* device() const { return route ? route->device : nullptr; }
    bool closed = false;
    std::string input;  // bytes received, not yet a whole frame
    size_t replies = 0;
    int64_t quota_second = -1;
    uint32_t quota_count = 0;
    int64_t quota_reported_s = -1;

private:
    World& w_;
    int id_;
};

// What caused the router's current output.
struct Cause {
    bool active = false;
    FakeConn* conn = nullptr;            // the requesting connection (frames, token loads)
    core::Device* api_device = nullptr;  // for HTTP API writes
    uint16_t msg_id = 0;
    bool accepted = false;  // the router did something for this frame (beyond QUOTA_LIMIT)
};

struct Loader final : core::TokenLoader {
    struct Pending {
        std::string token;
        FakeConn* conn;
        uint16_t msg_id;
        std::function<void(core::LoadResult)> done;
    };
    World* w = nullptr;
    std::vector<Pending> pending;
    bool load(std::string token, core::HwOutput& conn, std::function<void(core::LoadResult)> done) override;
};

struct Events final : core::EventSink, core::AppFanout {
    World* w = nullptr;
    bool wants_pin_events() const override { return true; }
    void device_online(const core::Device& d, std::string_view, int64_t) override;
    void device_offline(const core::Device& d, std::string_view, int64_t) override;
    void pin_written(const core::Device& d, uint16_t key, std::string_view value, int64_t) override;
    void login(bool ok, const core::Device* d, std::string_view, int64_t) override;
    void hardware_connected(core::Device& d, core::HwRoute& conn, uint16_t msg_id) override;
    void hardware_disconnected(core::Device& d) override;
    void hardware_write(core::Device& d, uint16_t msg_id, std::string_view body) override;
    void widget_property(core::Device& d, uint16_t msg_id, std::string_view body) override;
};

struct World {
    World(const core::RouterSettings& s, bool with_loader, size_t max_body_, bool raw_ids_)
        : router(model, s, [this] { return now_ms; }), settings(s), max_body(max_body_), raw_ids(raw_ids_) {
        core::LoadedData data;
        auto me = std::make_unique<core::User>();
        me->email = "me@example.com";
        me->dashboards.emplace_back();
        me->dashboards.back().name = "My Dashboard";
        for (auto [id, tok] : {std::pair{0, kTokenA}, std::pair{1, kTokenB}}) {
            auto d = std::make_unique<core::Device>();
            d->id = id;
            d->token = tok;
            me->devices.push_back(std::move(d));
        }
        auto other = std::make_unique<core::User>();
        other->email = "other@example.com";
        auto c = std::make_unique<core::Device>();
        c->token = kTokenC;
        other->devices.push_back(std::move(c));
        data.users.push_back(std::move(me));
        data.users.push_back(std::move(other));
        model.merge(std::move(data));
        for (auto* t : {&kTokenA, &kTokenB, &kTokenC})
            devices.push_back(model.find_token(*t));
        events.w = this;
        router.set_events(&events);
        router.set_apps(&events);
        loader.w = this;
        if (with_loader) router.set_loader(&loader);
        for (size_t i = 0; i < kSlots; ++i)
            slots[i] = connect();
    }

    FakeConn* connect() {
        conns.push_back(std::make_unique<FakeConn>(*this, int(conns.size())));
        return conns.back().get();
    }

    const core::User* cause_user() const {
        if (cur.api_device) return cur.api_device->user;
        FUZZ_CHECK(cur.conn && cur.conn->device());
        return cur.conn->device()->user;
    }

    // The session's read loop (server.cpp consume_hardware) for one connection.
    void pump(FakeConn& c) {
        size_t off = 0;
        while (!c.closed && !c.route->login_pending) {
            codec::Frame f;
            size_t used = 0;
            auto r = codec::parse_hardware(std::string_view(c.input).substr(off), max_body, f, used);
            if (r == codec::Parse::NeedMore) break;
            if (r == codec::Parse::TooLarge || f.command >= codec::kLastCommandIndex) {
                c.reject("oversize frame or unknown command");
                break;
            }
            if (!raw_ids && f.msg_id == 0) f.msg_id = 1;  // what every library does
            frame(c, f);
            off += used;
        }
        if (c.closed)
            c.input.clear();
        else
            c.input.erase(0, off);
    }

    void frame(FakeConn& c, const codec::Frame& f) {
        bool was_in = c.device() != nullptr;
        size_t replies = c.replies;
        cur = Cause{true, &c, nullptr, f.msg_id, false};
        router.on_frame(*c.route, f);
        if (!was_in && f.command != 0) {
            if (!is_login(f.command)) {
                FUZZ_CHECK(c.closed && c.replies == replies);  // rejected, unanswered
            } else {
                // One answer, or none while storage looks the token up.
                FUZZ_CHECK(c.replies == replies + (c.route && c.route->login_pending ? 0 : 1));
                // Only a live token logs in (never an evicted or re-tokened device's).
                if (c.device()) FUZZ_CHECK(trim_token(f.body) == c.device()->token && !c.device()->removed);
            }
        }
        if (was_in && cur.accepted && settings.message_quota) {
            int64_t sec = now_ms / 1000;
            if (sec != c.quota_second) {
                c.quota_second = sec;
                c.quota_count = 0;
            }
            ++c.quota_count;
            FUZZ_CHECK(c.quota_count <= settings.message_quota);
        }
        cur = Cause{};
        check_model();
    }

    static std::string_view trim_token(std::string_view s) {
        auto ws = [](char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; };
        while (!s.empty() && ws(s.front()))
            s.remove_prefix(1);
        while (!s.empty() && ws(s.back()))
            s.remove_suffix(1);
        return s;
    }

    // `fail`: storage cannot answer (an I/O error); nothing is merged.
    void complete_loads(bool fail) {
        auto pending = std::move(loader.pending);
        loader.pending.clear();
        for (auto& p : pending) {
            bool found = false;
            if (!fail && (p.token == kTokenD || p.token == kTokenE)) {
                core::LoadedData data;
                auto u = std::make_unique<core::User>();
                u->email = p.token == kTokenD ? "me@example.com" : "late@example.com";
                auto d = std::make_unique<core::Device>();
                d->id = p.token == kTokenD ? 2 : 0;
                d->token = p.token;
                core::Device* raw = d.get();
                u->devices.push_back(std::move(d));
                data.users.push_back(std::move(u));
                model.merge(std::move(data));
                if (model.find_token(p.token) == raw) devices.push_back(raw);
                found = model.find_token(p.token) != nullptr;
            }
            if (p.conn->is_closed()) continue;  // the loader's contract: only open connections hear back
            cur = Cause{true, p.conn, nullptr, p.msg_id, false};
            bool was_in = p.conn->device() != nullptr;
            p.done(fail ? core::LoadResult::Failed : found ? core::LoadResult::Found : core::LoadResult::Unknown);
            if (!was_in && p.conn->device())
                FUZZ_CHECK(p.conn->device()->token == p.token && !p.conn->device()->removed);
            cur = Cause{};
            check_model();
            pump(*p.conn);
        }
    }

    void api_write(core::Device& d, const core::PinWrite& w) {
        cur = Cause{true, nullptr, &d, codec::msgid::kHttpApi, false};
        uint16_t st = router.write_pin(d, w);
        FUZZ_CHECK(st == 0 || codec::status_name(st));
        cur = Cause{};
        check_model();
    }

    // The storage flush (server.cpp flush_pins): every device with unsaved
    // pins or state is in the batch, once.
    void flush() {
        std::vector<core::Device*> dirty;
        router.take_dirty(dirty);
        std::set<core::Device*> seen(dirty.begin(), dirty.end());
        FUZZ_CHECK(seen.size() == dirty.size());
        for (core::Device* d : devices) {
            bool unsaved =
                d->state_dirty || std::any_of(d->pins.begin(), d->pins.end(), [](auto& p) { return p.dirty; });
            if (unsaved) FUZZ_CHECK(seen.count(d));
        }
        for (core::Device* d : dirty) {
            FUZZ_CHECK(d->dirty_pins_listed);
            d->dirty_pins_listed = false;
            d->state_dirty = false;
            for (auto& p : d->pins)
                p.dirty = false;
        }
    }

    void check_model() {
        for (core::Device* d : devices) {
            uint32_t n = 0;
            core::HwRoute* prev = nullptr;
            for (core::HwRoute* r = d->online; r; r = r->next_on_device) {
                FUZZ_CHECK(r->device == d && r->prev_on_device == prev && !r->out->is_closed());
                prev = r;
                FUZZ_CHECK(++n <= conns.size());
            }
            FUZZ_CHECK(n == d->online_count);
            for (size_t i = 1; i < d->pins.size(); ++i)
                FUZZ_CHECK(d->pins[i - 1].key < d->pins[i].key);
        }
        for (auto& c : conns) {
            if (c->closed) FUZZ_CHECK(!c->route->device && !c->route->next_on_device && !c->route->prev_on_device);
            if (!c->device()) continue;
            bool listed = false;
            for (core::HwRoute* o = c->device()->online; o && !listed; o = o->next_on_device)
                listed = o == c->route;
            FUZZ_CHECK(listed);
        }
    }

    int64_t now_ms = 1'700'000'000'000;
    core::Model model;
    core::Router router;
    core::RouterSettings settings;
    size_t max_body;
    bool raw_ids;
    Loader loader;
    Events events;
    Cause cur;
    std::vector<core::Device*> devices;  // every device the model has held
    std::vector<std::unique_ptr<FakeConn>> conns;
    FakeConn* slots[kSlots] = {};
    int retokens = 0;
};

void FakeConn::send(uint8_t command, uint16_t msg_id, std::string_view body) {
    const Cause& cur = w_.cur;
    core::Device* device = this->device();
    FUZZ_CHECK(cur.active && !closed && device);
    FUZZ_CHECK(msg_id == cur.msg_id);
    FUZZ_CHECK(body.size() <= 0xFFFF);
    if (g_verbose)
        std::fprintf(stderr, "  conn %d <- command %u id %u, %zu bytes\n", id_, command, msg_id, body.size());
    ++replies;
    if (this == cur.conn) {
        // Answers to the device's own request: sync values and the RTC reply.
        FUZZ_CHECK(command == uint8_t(Command::Hardware) || command == uint8_t(Command::BlynkInternal));
        w_.cur.accepted = true;
        return;
    }
    // Forwarded to another connection: a bridge or API write, to the same user's
    // device, within what that connection can receive.
    FUZZ_CHECK(command == uint8_t(Command::Bridge) || command == uint8_t(Command::Hardware));
    FUZZ_CHECK(device->user == w_.cause_user());
    if (cur.api_device) FUZZ_CHECK(device == cur.api_device);
    uint32_t limit = route->buff_in ? route->buff_in : w_.settings.default_buff_in;
    FUZZ_CHECK(body.size() + codec::kHardwareHeader <= limit);
    FUZZ_CHECK(body.size() >= 2 && body[1] == 'w');
}

void FakeConn::send_status(uint16_t msg_id, uint16_t status) {
    Cause& cur = w_.cur;
    FUZZ_CHECK(cur.active && !closed && this == cur.conn);
    FUZZ_CHECK(msg_id == cur.msg_id);
    FUZZ_CHECK(codec::status_name(status) != nullptr);
    if (g_verbose) std::fprintf(stderr, "  conn %d <- id %u %s\n", id_, msg_id, codec::status_name(status));
    ++replies;
    if (status == uint16_t(Status::QuotaLimit)) {
        int64_t sec = w_.now_ms / 1000;
        FUZZ_CHECK(quota_reported_s < 0 || sec - quota_reported_s >= 60);
        quota_reported_s = sec;
        return;
    }
    if (!device()) {
        // Before login only login answers exist.
        FUZZ_CHECK(status == uint16_t(Status::InvalidToken) || status == uint16_t(Status::ServerError));
        return;
    }
    cur.accepted = true;
}

void FakeConn::close(std::string_view) {
    if (closed) return;
    closed = true;
    w_.router.on_close(*route);
}

FakeConn::~FakeConn() {
    w_.router.release(*route);
}

FakeConn::FakeConn(World& w, int id) : route(&w.router.open(*this)), w_(w), id_(id) {}

bool Loader::load(std::string token, core::HwOutput& conn, std::function<void(core::LoadResult)> done) {
    FUZZ_CHECK(token.size() == 32);
    FUZZ_CHECK(&conn == w->cur.conn);
    if (pending.size() >= 2) return false;
    pending.push_back({std::move(token), w->cur.conn, w->cur.msg_id, std::move(done)});
    return true;
}

void Events::device_online(const core::Device& d, std::string_view, int64_t) {
    FUZZ_CHECK(d.online_count == 1 && !d.removed);
}
void Events::device_offline(const core::Device& d, std::string_view, int64_t) {
    FUZZ_CHECK(d.online_count == 0 && !d.online);
}
void Events::pin_written(const core::Device& d, uint16_t key, std::string_view value, int64_t) {
    FUZZ_CHECK(w->cur.active && d.user == w->cause_user());
    FUZZ_CHECK(!value.empty());
    char t = core::key_type(key);
    FUZZ_CHECK(t == 'v' || t == 'd' || t == 'a');
    const core::PinValue* p = d.find_pin(key);
    FUZZ_CHECK(p && p->value == value && p->dirty);
    if (!w->cur.api_device) w->cur.accepted = true;
}
void Events::login(bool ok, const core::Device* d, std::string_view, int64_t) {
    FUZZ_CHECK(w->cur.active && w->cur.conn);
    FUZZ_CHECK(ok == (d != nullptr));
    if (ok) FUZZ_CHECK(w->cur.conn->device() == d);
}
void Events::hardware_connected(core::Device& d, core::HwRoute& conn, uint16_t msg_id) {
    FUZZ_CHECK(w->cur.active && w->cur.conn && w->cur.conn->device() == &d && msg_id == w->cur.msg_id);
    FUZZ_CHECK(conn.device == &d);
}
void Events::hardware_disconnected(core::Device& d) {
    FUZZ_CHECK(d.online_count == 0);
}
void Events::widget_property(core::Device& d, uint16_t, std::string_view body) {
    FUZZ_CHECK(d.user != nullptr && !body.empty());
}
void Events::hardware_write(core::Device& d, uint16_t msg_id, std::string_view body) {
    FUZZ_CHECK(w->cur.active && msg_id == w->cur.msg_id && d.user == w->cause_user());
    FUZZ_CHECK(body.size() <= 0xFFFF);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    blynk::fuzz::Input in(data, size);
    uint8_t s0 = in.byte(), s1 = in.byte();
    core::RouterSettings s;
    static const uint32_t quotas[] = {0, 2, 5, 100};
    static const uint16_t buffs[] = {255, 32, 1024, 65535};
    static const uint32_t bridges[] = {100, 0, 1, 2};
    static const size_t max_bodies[] = {16384, 32, 255, 65535};
    s.message_quota = quotas[s0 & 3];
    s.default_buff_in = buffs[(s0 >> 4) & 3];
    s.max_bridges = bridges[(s0 >> 6) & 3];
    s.idle_timeout_s = (s1 & 4) ? 0 : 10;
    World w(s, (s0 & 4) != 0, max_bodies[s1 & 3], (s0 & 8) != 0);

    // Op byte: low 3 bits the kind, the next 2 the connection slot.
    while (!in.empty()) {
        uint8_t op = in.byte();
        size_t slot = (op >> 3) % kSlots;
        switch (op & 7) {
            case 0:
            case 1:
            case 2: {  // bytes arrive on a connection
                FakeConn& c = *w.slots[slot];
                std::string_view chunk = in.chunk();
                if (c.closed) break;
                c.input.append(chunk);
                w.pump(c);
                break;
            }
            case 3:  // the connection closes; a new one takes its slot
                w.slots[slot]->close("closed by peer");
                w.check_model();
                if (w.conns.size() < kMaxConnections) w.slots[slot] = w.connect();
                break;
            case 4: {  // the clock moves (10 ms steps, or 15 s steps up to a few minutes)
                uint8_t t = in.byte();
                w.now_ms += t < 200 ? int64_t(t) * 10 : int64_t(t - 199) * 15000;
                break;
            }
            case 5:  // storage answers every pending token load (or fails them all: high bit)
                w.complete_loads((op & 0x80) != 0);
                break;
            case 6: {  // the HTTP API (a plugin) writes a pin or sets a property
                uint8_t sub = in.byte();
                core::Device& d = *w.devices[sub % w.devices.size()];
                if (sub & 0x80) {
                    uint8_t pin = in.byte();
                    std::string_view prop = in.chunk();
                    std::string_view value = in.chunk();
                    w.router.api_property(d, pin, prop, value);
                } else {
                    // As the host's pin_write hands it over for plugins.
                    core::PinWrite pw;
                    pw.type = char(in.byte());
                    pw.pin = in.byte();
                    pw.value = in.chunk();
                    pw.source = core::WriteSource::Api;
                    w.api_write(d, pw);
                }
                break;
            }
            case 7: {  // storage side: flush, or an account change made elsewhere
                uint8_t sub = in.byte();
                core::Device& d = *w.devices[(sub >> 2) % w.devices.size()];
                switch (sub & 3) {
                    case 0:
                        w.flush();
                        break;
                    case 1:
                        w.model.evict(d);
                        break;
                    case 2: {
                        char tok[40];
                        std::snprintf(tok, sizeof tok, "R%031d", ++w.retokens);
                        w.model.retoken(d, tok);
                        break;
                    }
                    case 3:
                        w.model.remove_user((sub & 4) ? "late@example.com" : "other@example.com");
                        break;
                }
                w.check_model();
                break;
            }
        }
    }
    // The server stops: every connection closes; nothing stays online.
    for (auto& c : w.conns)
        c->close("shutdown");
    w.check_model();
    for (core::Device* d : w.devices)
        FUZZ_CHECK(!d->online && d->online_count == 0);
    w.flush();
    return 0;
}
