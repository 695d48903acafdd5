// What the core::AppHub tests run against: a fake app connection that records
// every message (FakeApp), a fake device connection for the real router
// (FakeDevice), and a fake backend (FakeBackend) that keeps "storage" in
// memory and runs its callbacks only when the test says so, so a test can see
// what an app hears before and after storage answered. The fixture
// (AppHubTest) builds a real core::Model, core::Router and core::AppHub over
// them with one account (me@example.com: dashboard 1 with devices 0 and 1,
// dashboard 2 with device 0) and another account (other@example.com).
#pragma once

#include <gtest/gtest.h>

#include <blynk/plugin.h>

#include <deque>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "codec/protocol.hpp"
#include "core/app_hub.hpp"
#include "core/router.hpp"
#include "core/secrets.hpp"

namespace blynk::test {

using codec::Command;
using codec::Status;

// Fields joined with `\0`, as app and hardware bodies are.
inline std::string fields(std::initializer_list<std::string_view> parts) {
    std::string out;
    bool first = true;
    for (auto p : parts) {
        if (!first) out.push_back('\0');
        first = false;
        out.append(p.data(), p.size());
    }
    return out;
}

struct Message {
    uint8_t command;  // 0: a status
    uint16_t msg_id;
    std::string body;  // a status: empty
    uint32_t status;   // a status: its code
};

class FakeApp final : public core::AppOutput {
public:
    FakeApp(core::AppHub& hub, bool ws = false, std::string address = "198.51.100.7")
        : hub_(&hub), ws_(ws), address_(std::move(address)), route(&hub.open(*this)) {}
    ~FakeApp() { hub_->release(*route); }
    FakeApp(const FakeApp&) = delete;
    FakeApp& operator=(const FakeApp&) = delete;

    void send(uint8_t command, uint16_t msg_id, std::string_view body) override {
        EXPECT_FALSE(closed) << "a message to a closed app";
        sent.push_back({command, msg_id, std::string(body), 0});
    }
    void send_status(uint16_t msg_id, uint32_t status) override {
        EXPECT_FALSE(closed) << "a status to a closed app";
        sent.push_back({0, msg_id, {}, status});
    }
    // Like a connection with nothing left to send: the hub hears of it at once.
    void close(std::string_view reason) override {
        if (closed) return;
        closed = true;
        why = std::string(reason);
        hub_->on_close(*route);
    }
    void reject(std::string_view reason) override {
        rejected = true;
        close(reason);
    }
    bool is_closed() const override { return closed; }
    std::string peer() const override { return address_ + ":50000"; }
    bool websocket() const override { return ws_; }
    std::string local_host() const override { return "blynk.example.net"; }
    void resume() override { ++resumed; }

    // The only status sent since the last clear, or -1 if there is not exactly one.
    int64_t only_status() const {
        if (sent.size() != 1 || sent[0].command != 0) return -1;
        return sent[0].status;
    }
    // Messages of one command.
    std::vector<Message> of(Command c) const {
        std::vector<Message> out;
        for (auto& m : sent)
            if (m.command == uint8_t(c)) out.push_back(m);
        return out;
    }

    core::AppHub* hub_;
    bool ws_;
    std::string address_;
    core::AppRoute* route;
    std::vector<Message> sent;
    bool closed = false, rejected = false;
    int resumed = 0;
    std::string why;
};

class FakeDevice final : public core::HwOutput {
public:
    explicit FakeDevice(core::Router& r) : router_(&r), route(&r.open(*this)) {}
    ~FakeDevice() { router_->release(*route); }
    void send(uint8_t command, uint16_t msg_id, std::string_view body) override {
        EXPECT_FALSE(closed);
        EXPECT_NE(msg_id, 0) << "message id 0 to a device";
        sent.push_back({command, msg_id, std::string(body), 0});
    }
    void send_status(uint16_t msg_id, uint16_t status) override { sent.push_back({0, msg_id, {}, status}); }
    void close(std::string_view reason) override {
        if (closed) return;
        closed = true;
        why = std::string(reason);
        router_->on_close(*route);
    }
    void reject(std::string_view reason) override { close(reason); }
    bool is_closed() const override { return closed; }
    std::string peer() const override { return "192.0.2.9:4000"; }

    core::Router* router_;
    core::HwRoute* route;
    std::vector<Message> sent;
    bool closed = false;
    std::string why;
};

// Storage and the hashing pool, in memory; callbacks wait in `jobs` until run().
class FakeBackend final : public core::AppBackend {
public:
    explicit FakeBackend(core::Model& m) : model(m) {}

    // The next change (save or remove) fails with this status; 0: none.
    int fail_next = 0;
    // False: every call finds its queue full (returns false).
    bool accepting = true;
    // Users storage knows that the model has not loaded yet.
    std::map<std::string, std::function<std::unique_ptr<core::User>()>> stored_users;
    // What was stored, in order ("user me@example.com", "dash 1", "device 1/0"...).
    std::vector<std::string> log;
    int verifications = 0, loads = 0;
    std::vector<core::Device*> closed_devices;

    size_t pending() const { return jobs.size(); }
    // Runs every waiting callback (and those they queue) in order.
    void run() {
        while (!jobs.empty()) {
            auto job = std::move(jobs.front());
            jobs.pop_front();
            job();
        }
    }

    bool load_user(std::string email, std::function<void(core::LoadResult)> done) override {
        if (!accepting) return false;
        ++loads;
        jobs.push_back([this, email, done] {
            auto it = stored_users.find(email);
            if (it == stored_users.end()) return done(core::LoadResult::Unknown);
            core::LoadedData data;
            data.users.push_back(it->second());
            model.merge(std::move(data));
            done(core::LoadResult::Found);
        });
        return true;
    }
    bool verify_password(std::string client_hash, std::string stored, std::function<void(bool)> done) override {
        if (!accepting) return false;
        ++verifications;
        jobs.push_back([=] { done(core::verify_slow_hash(client_hash, stored)); });
        return true;
    }
    bool hash_password(std::string client_hash, std::function<void(std::string)> done) override {
        if (!accepting) return false;
        jobs.push_back([=] { done(core::slow_hash(client_hash, kIterations)); });
        return true;
    }
    bool save_user(const core::User& u, bool create, std::function<void(int)> done) override {
        return change((create ? "new user " : "user ") + u.email, std::move(done));
    }
    bool save_dash(const core::User&, const core::Dashboard& dash, std::function<void(int)> done) override {
        return change("dash " + std::to_string(dash.id), std::move(done));
    }
    bool remove_dash(const core::User&, int32_t dash_id, std::function<void(int)> done) override {
        return change("remove dash " + std::to_string(dash_id), std::move(done));
    }
    bool save_device(const core::Device& d, std::function<void(int)> done) override {
        return change("device " + std::to_string(d.dash_id) + "/" + std::to_string(d.id), std::move(done));
    }
    bool remove_device(const core::Device& d, std::function<void(int)> done) override {
        return change("remove device " + std::to_string(d.dash_id) + "/" + std::to_string(d.id), std::move(done));
    }
    bool save_clone(std::string json, std::function<void(std::string)> done) override {
        if (!accepting) return false;
        jobs.push_back([this, json, done] {
            std::string code(32, char('a' + clones.size() % 26));
            clones[code] = json;
            done(code);
        });
        return true;
    }
    bool load_clone(std::string code, std::function<void(std::string)> done) override {
        if (!accepting) return false;
        jobs.push_back([this, code, done] {
            auto it = clones.find(code);
            done(it == clones.end() ? std::string() : it->second);
        });
        return true;
    }
    void close_device(core::Device& d, std::string_view why) override {
        closed_devices.push_back(&d);
        while (d.online)
            d.online->out->close(why);
    }

    // Cheap hashes for tests (the real count is a deployment's choice).
    static constexpr uint32_t kIterations = 1000;
    core::Model& model;
    std::map<std::string, std::string> clones;

private:
    bool change(std::string what, std::function<void(int)> done) {
        if (!accepting) return false;
        int rc = fail_next;
        fail_next = 0;
        jobs.push_back([this, what = std::move(what), done, rc] {
            if (rc == 0) log.push_back(what);
            done(rc);
        });
        return true;
    }
    std::deque<std::function<void()>> jobs;
};

inline const std::string kTokenA(32, 'A');  // me: dashboard 1, device 0
inline const std::string kTokenB(32, 'B');  // me: dashboard 1, device 1
inline const std::string kTokenD(32, 'D');  // me: dashboard 2, device 0
inline const std::string kTokenC(32, 'C');  // other: dashboard 1, device 0

class AppHubTest : public ::testing::Test {
protected:
    AppHubTest()
        : router(model, router_settings(), [this] { return now; }),
          backend(model),
          hub(model, router, backend, settings(), [this] { return now; }) {
        router.set_apps(&hub);
        core::LoadedData data;
        data.users.push_back(make_user("me@example.com", kPassword));
        core::User& me = *data.users.back();
        me.dashboards.push_back(make_dash(1, "Home"));
        me.dashboards.push_back(make_dash(2, "Garden"));
        me.devices.push_back(make_device(1, 0, kTokenA));
        me.devices.push_back(make_device(1, 1, kTokenB));
        me.devices.push_back(make_device(2, 0, kTokenD));
        data.users.push_back(make_user("other@example.com", kPassword));
        data.users.back()->dashboards.push_back(make_dash(1, "Theirs"));
        data.users.back()->devices.push_back(make_device(1, 0, kTokenC));
        model.merge(std::move(data));
    }

    static constexpr const char* kPassword = "correct horse";
    static core::RouterSettings router_settings() {
        core::RouterSettings s;
        s.message_quota = 0;
        return s;
    }
    static core::AppSettings settings() {
        core::AppSettings s;
        s.message_quota = 0;
        s.registrations_per_hour = 3;
        s.max_dashboards = 4;
        s.max_devices = 3;
        s.max_widgets = 3;
        s.max_tags = 2;
        return s;
    }
    static std::unique_ptr<core::User> make_user(const std::string& email, const std::string& password) {
        auto u = std::make_unique<core::User>();
        u->email = email;
        u->pass_hash = core::slow_hash(core::legacy_pass_hash(email, password), FakeBackend::kIterations);
        u->energy = 100000;
        return u;
    }
    static core::Dashboard make_dash(int32_t id, std::string name) {
        core::Dashboard d;
        d.id = id;
        d.name = std::move(name);
        d.active = true;
        return d;
    }
    static std::unique_ptr<core::Device> make_device(int32_t dash_id, int32_t id, const std::string& token) {
        auto d = std::make_unique<core::Device>();
        d->dash_id = dash_id;
        d->id = id;
        d->name = "dev" + std::to_string(dash_id) + "-" + std::to_string(id);
        d->token = token;
        return d;
    }

    core::User& me() { return *model.find_user("me@example.com"); }
    core::Dashboard& dash(int32_t id) { return *me().find_dash(id); }

    void frame(FakeApp& a, Command c, uint16_t id, const std::string& body) {
        codec::Frame f;
        f.command = uint8_t(c);
        f.msg_id = id;
        f.length = uint32_t(body.size());
        f.body = body;
        hub.on_frame(*a.route, f);
    }
    void frame(FakeDevice& d, Command c, uint16_t id, const std::string& body) {
        codec::Frame f;
        f.command = uint8_t(c);
        f.msg_id = id;
        f.length = uint32_t(body.size());
        f.body = body;
        router.on_frame(*d.route, f);
    }
    // A new app connection logged in as `email` (its messages cleared).
    std::unique_ptr<FakeApp> app(const std::string& email = "me@example.com", std::string password = kPassword) {
        auto a = std::make_unique<FakeApp>(hub);
        frame(*a, Command::Login, 1, fields({email, core::legacy_pass_hash(email, password), "Android", "2.27.0"}));
        backend.run();
        EXPECT_EQ(a->only_status(), uint32_t(Status::Ok)) << "login of " << email;
        a->sent.clear();
        return a;
    }
    // A new app connection logged in with a dashboard's share token.
    std::unique_ptr<FakeApp> shared_app(int32_t dash_id) {
        core::Dashboard& d = dash(dash_id);
        d.shared = true;
        if (d.share_token.empty()) d.share_token = core::generate_token();
        auto a = std::make_unique<FakeApp>(hub);
        frame(*a, Command::ShareLogin, 1, fields({"me@example.com", d.share_token, "Android", "2.27.0"}));
        backend.run();
        EXPECT_EQ(a->only_status(), uint32_t(Status::Ok)) << "share login to dashboard " << dash_id;
        a->sent.clear();
        return a;
    }
    // A device connection logged in with `token` (its messages cleared).
    std::unique_ptr<FakeDevice> device(const std::string& token) {
        auto d = std::make_unique<FakeDevice>(router);
        frame(*d, Command::HardwareLogin, 1, token);
        EXPECT_FALSE(d->sent.empty());
        if (!d->sent.empty()) {
            EXPECT_EQ(d->sent[0].status, uint32_t(Status::Ok));
        }
        d->sent.clear();
        return d;
    }

    int64_t now = 1'700'000'000'000;
    core::Model model;
    core::Router router;
    FakeBackend backend;
    core::AppHub hub;
};

}  // namespace blynk::test
