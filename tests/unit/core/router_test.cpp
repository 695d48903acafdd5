// The router against fake connections: what a device gets back for every
// hardware command, with no sockets involved.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "codec/protocol.hpp"
#include "core/router.hpp"

using namespace blynk;
using codec::Command;
using codec::Status;

namespace {

struct Sent {
    uint8_t command;
    uint16_t msg_id;
    std::string body;  // for RESPONSE: empty
    uint16_t status;   // for RESPONSE
};

class FakeConn final : public core::HwOutput {
public:
    explicit FakeConn(core::Router& r) : router(&r), route(&r.open(*this)) {}
    ~FakeConn() { router->release(*route); }
    void send(uint8_t command, uint16_t msg_id, std::string_view body) override {
        sent.push_back({command, msg_id, std::string(body), 0});
    }
    void send_status(uint16_t msg_id, uint16_t status) override { sent.push_back({0, msg_id, {}, status}); }
    void close(std::string_view reason) override {
        if (closed) return;
        closed = true;
        why = std::string(reason);
        router->on_close(*route);
    }
    void reject(std::string_view reason) override { close(reason); }
    bool is_closed() const override { return closed; }
    std::string peer() const override { return "192.0.2.7:4242"; }

    uint16_t last_status() const { return sent.empty() || sent.back().command ? 0xFFFF : sent.back().status; }

    core::Router* router;
    core::HwRoute* route;  // the router's state for it (released with it)
    std::vector<Sent> sent;
    bool closed = false;
    std::string why;
};

struct RecordingEvents : core::EventSink {
    bool wants_pin_events() const override { return true; }
    void device_online(const core::Device&, std::string_view, int64_t) override { ++online; }
    void device_offline(const core::Device&, std::string_view, int64_t) override { ++offline; }
    void pin_written(const core::Device&, uint16_t key, std::string_view value, int64_t) override {
        pins.push_back(std::string(1, core::key_type(key)) + std::to_string(core::key_pin(key)) + "=" +
                       std::string(value));
    }
    void login(bool ok, const core::Device*, std::string_view, int64_t) override { ok ? ++logins : ++failed_logins; }
    int online = 0, offline = 0, logins = 0, failed_logins = 0;
    std::vector<std::string> pins;
};

std::string body(std::initializer_list<std::string_view> fields) {
    std::string out;
    bool first = true;
    for (auto f : fields) {
        if (!first) out.push_back('\0');
        first = false;
        out.append(f);
    }
    return out;
}

const std::string kTokenA = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const std::string kTokenB = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
const std::string kTokenOther = "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC";

class RouterTest : public ::testing::Test {
protected:
    RouterTest() : router(model, settings(), [this] { return now; }) {
        core::LoadedData data;
        auto u = std::make_unique<core::User>();
        u->email = "me@example.com";
        u->dashboards.emplace_back();
        u->dashboards.back().name = "My Dashboard";
        for (auto [id, tok] : {std::pair{0, kTokenA}, std::pair{1, kTokenB}}) {
            auto d = std::make_unique<core::Device>();
            d->id = id;
            d->token = tok;
            d->name = "dev" + std::to_string(id);
            u->devices.push_back(std::move(d));
        }
        data.users.push_back(std::move(u));
        auto other = std::make_unique<core::User>();
        other->email = "other@example.com";
        auto d = std::make_unique<core::Device>();
        d->token = kTokenOther;
        other->devices.push_back(std::move(d));
        data.users.push_back(std::move(other));
        model.merge(std::move(data));
        router.set_events(&events);
    }
    static core::RouterSettings settings() {
        core::RouterSettings s;
        s.message_quota = 100;
        s.idle_timeout_s = 10;
        return s;
    }
    std::unique_ptr<FakeConn> conn() { return std::make_unique<FakeConn>(router); }
    void frame(FakeConn& c, Command cmd, uint16_t id, const std::string& b) {
        codec::Frame f;
        f.command = uint8_t(cmd);
        f.msg_id = id;
        f.length = uint32_t(b.size());
        f.body = b;
        router.on_frame(*c.route, f);
    }
    std::unique_ptr<FakeConn> logged_in(const std::string& token) {
        auto c = conn();
        frame(*c, Command::HardwareLogin, 1, token);
        EXPECT_EQ(c->last_status(), uint16_t(Status::Ok));
        c->sent.clear();
        return c;
    }

    int64_t now = 1'700'000'000'000;
    core::Model model;
    core::Router router;
    RecordingEvents events;
};

TEST_F(RouterTest, HeartbeatTimeoutIsCeilOf2Point3Times) {
    EXPECT_EQ(core::Router::idle_for_heartbeat(10), 23000u);
    EXPECT_EQ(core::Router::idle_for_heartbeat(1), 3000u);
    EXPECT_EQ(core::Router::idle_for_heartbeat(45), 104000u);
    EXPECT_EQ(core::Router::idle_for_heartbeat(0), 0u);
}

TEST_F(RouterTest, LoginFormsAnsweredOkAndDeviceGoesOnline) {
    auto a = conn();
    frame(*a, Command::HardwareLogin, 1, kTokenA);
    ASSERT_EQ(a->sent.size(), 1u);
    EXPECT_EQ(a->sent[0].msg_id, 1);
    EXPECT_EQ(a->last_status(), uint16_t(Status::Ok));
    auto b = conn();
    frame(*b, Command::Login, 1, "  " + kTokenB + "\n");  // the old form, token trimmed
    EXPECT_EQ(b->last_status(), uint16_t(Status::Ok));
    EXPECT_EQ(events.online, 2);
    EXPECT_EQ(a->route->idle_timeout_ms, 23000u);
    EXPECT_EQ(model.find_token(kTokenA)->online_count, 1u);
}

TEST_F(RouterTest, BadTokensGetInvalidTokenAndStayOpen) {
    auto c = conn();
    frame(*c, Command::HardwareLogin, 1, "short");
    EXPECT_EQ(c->last_status(), uint16_t(Status::InvalidToken));
    frame(*c, Command::HardwareLogin, 2, std::string(32, 'Z'));  // unknown, no storage to ask
    EXPECT_EQ(c->last_status(), uint16_t(Status::InvalidToken));
    std::string with_nul = kTokenA;
    with_nul[5] = '\0';
    frame(*c, Command::HardwareLogin, 3, with_nul);
    EXPECT_EQ(c->last_status(), uint16_t(Status::InvalidToken));
    EXPECT_FALSE(c->closed);
    EXPECT_EQ(events.failed_logins, 3);
}

TEST_F(RouterTest, SecondLoginIsAlreadyRegistered) {
    auto c = logged_in(kTokenA);
    frame(*c, Command::HardwareLogin, 2, kTokenA);
    EXPECT_EQ(c->last_status(), uint16_t(Status::UserAlreadyRegistered));
    EXPECT_EQ(c->sent.back().msg_id, 2);
}

TEST_F(RouterTest, AnyCommandBeforeLoginCloses) {
    auto c = conn();
    frame(*c, Command::Ping, 1, "");
    EXPECT_TRUE(c->closed);
    EXPECT_TRUE(c->sent.empty());
}

TEST_F(RouterTest, PingIsAnsweredWithItsId) {
    auto c = logged_in(kTokenA);
    frame(*c, Command::Ping, 77, "");
    EXPECT_EQ(c->last_status(), uint16_t(Status::Ok));
    EXPECT_EQ(c->sent.back().msg_id, 77);
}

TEST_F(RouterTest, WritesAreStoredSilentlyAndSyncedBack) {
    auto c = logged_in(kTokenA);
    frame(*c, Command::Hardware, 2, body({"vw", "5", "42"}));
    frame(*c, Command::Hardware, 3, body({"dw", "13", "1"}));
    frame(*c, Command::Hardware, 4, body({"vw", "6", "a", "b"}));  // multi-value
    EXPECT_TRUE(c->sent.empty()) << "a write gets no reply";
    EXPECT_EQ(events.pins, (std::vector<std::string>{"v5=42", "d13=1", std::string("v6=a\0b", 6)}));

    frame(*c, Command::HardwareSync, 9, body({"vr", "5", "6", "7"}));
    ASSERT_EQ(c->sent.size(), 2u);
    EXPECT_EQ(c->sent[0].command, uint8_t(Command::Hardware));
    EXPECT_EQ(c->sent[0].msg_id, 9);
    EXPECT_EQ(c->sent[0].body, body({"vw", "5", "42"}));
    EXPECT_EQ(c->sent[1].body, body({"vw", "6", "a", "b"}));

    c->sent.clear();
    frame(*c, Command::HardwareSync, 10, "");
    ASSERT_EQ(c->sent.size(), 3u);
    for (auto& s : c->sent)
        EXPECT_EQ(s.msg_id, 10);

    std::vector<core::Device*> dirty;
    router.take_dirty(dirty);
    ASSERT_EQ(dirty.size(), 1u);
    EXPECT_TRUE(dirty[0]->find_pin(core::pin_key('v', 5))->dirty);
}

TEST_F(RouterTest, BadWritesAreIllegalCommand) {
    auto c = logged_in(kTokenA);
    for (const std::string& b : {body({"vw", "256", "1"}), body({"vw", "-1", "1"}), body({"vw", "x", "aaaa"}),
                                 body({"aw", "1"}), body({"aw", "1", ""}), std::string("vw"), body({"qw", "1", "1"})}) {
        frame(*c, Command::Hardware, 5, b);
        EXPECT_EQ(c->last_status(), uint16_t(Status::IllegalCommand)) << "body " << b;
    }
    c->sent.clear();
    frame(*c, Command::Hardware, 6, body({"vw", "0", "1"}));
    frame(*c, Command::Hardware, 7, body({"vw", "255", "1"}));
    frame(*c, Command::Hardware, 8, body({"vr", "3"}));  // reads from a device mean nothing: ignored
    EXPECT_TRUE(c->sent.empty());
}

TEST_F(RouterTest, SyncSkipsValuesLargerThanTheDevicesBuffer) {
    auto c = logged_in(kTokenA);
    frame(*c, Command::BlynkInternal, 2, body({"ver", "0.6.1", "buff-in", "32"}));
    frame(*c, Command::Hardware, 3, body({"vw", "1", "short"}));
    frame(*c, Command::Hardware, 4, body({"vw", "2", std::string(40, 'x')}));
    c->sent.clear();
    frame(*c, Command::HardwareSync, 5, "");
    ASSERT_EQ(c->sent.size(), 1u) << "the 45-byte frame exceeds buff-in 32";
    EXPECT_EQ(c->sent[0].body, body({"vw", "1", "short"}));
}

TEST_F(RouterTest, SyncWithBadBodyIsIllegal) {
    auto c = logged_in(kTokenA);
    frame(*c, Command::HardwareSync, 3, "vr");
    EXPECT_EQ(c->last_status(), uint16_t(Status::IllegalCommand));
    frame(*c, Command::HardwareSync, 4, body({"vr", "300"}));
    EXPECT_EQ(c->last_status(), uint16_t(Status::IllegalCommand));
}

TEST_F(RouterTest, BridgeDeliversToTheOtherDeviceAndStoresForIt) {
    auto a = logged_in(kTokenA);
    auto b1 = logged_in(kTokenB);
    auto b2 = logged_in(kTokenB);  // several connections per token all get traffic
    frame(*a, Command::Bridge, 2, body({"V1", "i", kTokenB}));
    EXPECT_EQ(a->last_status(), uint16_t(Status::Ok));
    a->sent.clear();
    frame(*a, Command::Bridge, 3, body({"V1", "vw", "5", "hi"}));
    EXPECT_TRUE(a->sent.empty());
    for (auto* b : {b1.get(), b2.get()}) {
        ASSERT_EQ(b->sent.size(), 1u);
        EXPECT_EQ(b->sent[0].command, uint8_t(Command::Bridge));
        EXPECT_EQ(b->sent[0].msg_id, 3);
        EXPECT_EQ(b->sent[0].body, body({"vw", "5", "hi"}));
    }
    EXPECT_EQ(model.find_token(kTokenB)->find_pin(core::pin_key('v', 5))->value, "hi");
}

TEST_F(RouterTest, BridgeRefusals) {
    auto a = logged_in(kTokenA);
    frame(*a, Command::Bridge, 2, body({"V1", "vw", "5", "1"}));
    EXPECT_EQ(a->last_status(), uint16_t(Status::NotAllowed)) << "write on an uninitialised bridge pin";
    frame(*a, Command::Bridge, 3, body({"V2", "i", kTokenOther}));
    EXPECT_EQ(a->last_status(), uint16_t(Status::NotAllowed)) << "another user's device";
    frame(*a, Command::Bridge, 4, body({"V1", "i"}));
    EXPECT_EQ(a->last_status(), uint16_t(Status::IllegalCommand));
    frame(*a, Command::Bridge, 5, "V1");
    EXPECT_EQ(a->last_status(), uint16_t(Status::IllegalCommand));
    frame(*a, Command::Bridge, 6, body({"V1", "i", kTokenB}));
    EXPECT_EQ(a->last_status(), uint16_t(Status::Ok));
    frame(*a, Command::Bridge, 7, body({"V1", "vw", "5", "1"}));
    EXPECT_EQ(a->last_status(), uint16_t(Status::DeviceNotInNetwork)) << "target offline";
    EXPECT_EQ(model.find_token(kTokenB)->find_pin(core::pin_key('v', 5))->value, "1") << "still stored";
    frame(*a, Command::Bridge, 8, body({"V1", "vw", "256", "1"}));
    EXPECT_EQ(a->last_status(), uint16_t(Status::IllegalCommand));
}

TEST_F(RouterTest, BridgeRespectsTheTargetsBuffer) {
    auto a = logged_in(kTokenA);
    auto b = logged_in(kTokenB);
    frame(*b, Command::BlynkInternal, 2, body({"ver", "0.6.1", "buff-in", "12"}));
    b->sent.clear();
    frame(*a, Command::Bridge, 2, body({"V1", "i", kTokenB}));
    frame(*a, Command::Bridge, 3, body({"V1", "vw", "1", "12"}));   // 7 + 5 <= 12
    frame(*a, Command::Bridge, 4, body({"V1", "vw", "1", "123"}));  // 8 + 5 > 12
    ASSERT_EQ(b->sent.size(), 1u);
    EXPECT_EQ(b->sent[0].msg_id, 3);
}

TEST_F(RouterTest, InfoPacketsOfBothLibraryGenerationsAreAnswered) {
    auto c = logged_in(kTokenA);
    frame(*c, Command::BlynkInternal, 2,
          body({"ver", "0.6.1", "h-beat", "10", "buff-in", "256", "dev", "ESP8266", "build", "Jan 1 2020"}));
    EXPECT_EQ(c->last_status(), uint16_t(Status::Ok));
    EXPECT_EQ(c->route->idle_timeout_ms, 23000u);
    EXPECT_EQ(c->route->buff_in, 256);
    EXPECT_EQ(model.find_token(kTokenA)->board_type, "ESP8266");

    auto d = logged_in(kTokenB);
    frame(*d, Command::BlynkInternal, 3,
          body({"mcu", "1.0.0", "fw-type", "TMPL", "build", "x", "blynk", "1.3.2", "h-beat", "45", "buff-in", "1024"}));
    EXPECT_EQ(d->last_status(), uint16_t(Status::Ok));
    EXPECT_EQ(d->sent.back().msg_id, 3);
    EXPECT_EQ(d->route->idle_timeout_ms, 104000u);
    EXPECT_EQ(d->route->buff_in, 1024);
}

TEST_F(RouterTest, RtcIsAnsweredWithUtcSeconds) {
    auto c = logged_in(kTokenA);
    frame(*c, Command::BlynkInternal, 5, "rtc");
    ASSERT_EQ(c->sent.size(), 1u);
    EXPECT_EQ(c->sent[0].command, uint8_t(Command::BlynkInternal));
    EXPECT_EQ(c->sent[0].msg_id, 5);
    EXPECT_EQ(c->sent[0].body, body({"rtc", std::to_string(now / 1000)}));
}

TEST_F(RouterTest, QuotaDropsOverTheLimitAndReportsOncePerMinute) {
    auto c = logged_in(kTokenA);
    for (int i = 0; i < 150; ++i)
        frame(*c, Command::Hardware, uint16_t(i + 2), body({"vw", "1", std::to_string(i)}));
    ASSERT_EQ(c->sent.size(), 1u);
    EXPECT_EQ(c->sent[0].status, uint16_t(Status::QuotaLimit));
    EXPECT_EQ(c->sent[0].msg_id, 102) << "the first dropped message";
    EXPECT_EQ(model.find_token(kTokenA)->find_pin(core::pin_key('v', 1))->value, "99");
    now += 2000;  // a new second: within the quota again, no second report within the minute
    c->sent.clear();
    frame(*c, Command::Ping, 500, "");
    EXPECT_EQ(c->last_status(), uint16_t(Status::Ok));
    for (int i = 0; i < 150; ++i)
        frame(*c, Command::Ping, uint16_t(600 + i), "");
    for (auto& s : c->sent)
        EXPECT_NE(s.status, uint16_t(Status::QuotaLimit));
    now += 61000;
    c->sent.clear();
    for (int i = 0; i < 150; ++i)
        frame(*c, Command::Ping, uint16_t(800 + i), "");
    int reports = 0;
    for (auto& s : c->sent)
        reports += s.command == 0 && s.status == uint16_t(Status::QuotaLimit);
    EXPECT_EQ(reports, 1);
}

TEST_F(RouterTest, SetPropertyValidatesNameAndStores) {
    auto c = logged_in(kTokenA);
    frame(*c, Command::SetWidgetProperty, 2, body({"1", "label", "Temp"}));
    EXPECT_EQ(c->last_status(), uint16_t(Status::Ok));
    frame(*c, Command::SetWidgetProperty, 3, body({"1", "bogus", "x"}));
    EXPECT_EQ(c->last_status(), uint16_t(Status::IllegalCommandBody));
    frame(*c, Command::SetWidgetProperty, 4, body({"1", "label"}));
    EXPECT_EQ(c->last_status(), uint16_t(Status::IllegalCommandBody));
    auto& props = model.find_token(kTokenA)->properties;
    ASSERT_EQ(props.size(), 1u);
    EXPECT_EQ(props[0].value, "Temp");
}

TEST_F(RouterTest, NotificationsWithoutNotifierAreRefusedLikeLegacy) {
    auto c = logged_in(kTokenA);
    frame(*c, Command::PushNotification, 2, "hello");
    EXPECT_EQ(c->last_status(), uint16_t(Status::NotificationNotAuthorized));
    frame(*c, Command::PushNotification, 3, "");
    EXPECT_EQ(c->last_status(), uint16_t(Status::NotificationInvalidBody));
    frame(*c, Command::Tweet, 4, std::string(141, 'x'));
    EXPECT_EQ(c->last_status(), uint16_t(Status::NotificationInvalidBody));
    frame(*c, Command::Email, 5, body({"a@b.c", "s", "b"}));
    EXPECT_EQ(c->last_status(), uint16_t(Status::NotAllowed));
}

TEST_F(RouterTest, CloseMarksTheDeviceOfflineOnlyWhenItsLastConnectionGoes) {
    auto a1 = logged_in(kTokenA);
    auto a2 = logged_in(kTokenA);
    core::Device* d = model.find_token(kTokenA);
    EXPECT_EQ(d->online_count, 2u);
    a1->close("test");
    EXPECT_EQ(events.offline, 0);
    EXPECT_EQ(d->online_count, 1u);
    a2->close("test");
    EXPECT_EQ(events.offline, 1);
    EXPECT_EQ(d->online, nullptr);
    EXPECT_EQ(d->disconnect_ms, now);
}

// A write as the HTTP API and plugins make it (the host's pin_write).
core::PinWrite api_write(char type, uint8_t pin, std::string_view value) {
    core::PinWrite w;
    w.type = type;
    w.pin = pin;
    w.value = value;
    w.source = core::WriteSource::Api;
    return w;
}

TEST_F(RouterTest, ApiWritesAreStoredAndSentWithMessageId111) {
    auto c = logged_in(kTokenA);
    core::Device& d = *model.find_token(kTokenA);
    EXPECT_EQ(router.write_pin(d, api_write('v', 3, "on")), 0);
    ASSERT_EQ(c->sent.size(), 1u);
    EXPECT_EQ(c->sent[0].command, uint8_t(Command::Hardware));
    EXPECT_EQ(c->sent[0].msg_id, 111);
    EXPECT_EQ(c->sent[0].body, body({"vw", "3", "on"}));
    EXPECT_EQ(d.find_pin(core::pin_key('v', 3))->value, "on");
    EXPECT_EQ(router.write_pin(d, api_write('v', 3, "")), uint16_t(Status::IllegalCommand));
    std::string big(70000, 'x');
    EXPECT_EQ(router.write_pin(d, api_write('v', 3, big)), uint16_t(Status::IllegalCommand));
    EXPECT_EQ(router.write_pin(d, api_write('x', 3, "on")), uint16_t(Status::IllegalCommand));
    EXPECT_EQ(d.find_pin(core::pin_key('v', 3))->value, "on") << "refused writes change nothing";
    EXPECT_EQ(c->sent.size(), 1u);
}

TEST_F(RouterTest, ApiWritesUpToOneFrameAreTaken) {
    // `vw\0` + "100" + `\0` + value is the frame's body: 65,535 bytes at most.
    core::Device& d = *model.find_token(kTokenA);
    std::string fits(0xFFFF - 7, 'x'), over(0xFFFF - 6, 'x');
    EXPECT_EQ(router.write_pin(d, api_write('v', 100, fits)), 0);
    EXPECT_EQ(router.write_pin(d, api_write('v', 100, over)), uint16_t(Status::IllegalCommand));
    EXPECT_EQ(d.find_pin(core::pin_key('v', 100))->value.size(), fits.size());
}

TEST_F(RouterTest, UnknownCommandsBelow100AreIgnored) {
    auto c = logged_in(kTokenA);
    frame(*c, Command::HardwareLogEvent, 2, "event");
    frame(*c, Command(21), 3, "group");
    frame(*c, Command::Response, 4, "");
    EXPECT_TRUE(c->sent.empty());
    EXPECT_FALSE(c->closed);
}

}  // namespace
