// Devices' notifications through the router: the legacy checks and statuses
// (protocol.md §7.4), what the notifier is handed, and that the device hears
// OK only once the notifier says the provider took it.
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

class Conn final : public core::HwOutput {
public:
    explicit Conn(core::Router& r) : router(&r), route(&r.open(*this)) {}
    ~Conn() { router->release(*route); }
    void send(uint8_t, uint16_t, std::string_view) override {}
    void send_status(uint16_t msg_id, uint16_t status) override { statuses.push_back({msg_id, status}); }
    void close(std::string_view) override {
        if (closed) return;
        closed = true;
        router->on_close(*route);
    }
    void reject(std::string_view r) override { close(r); }
    bool is_closed() const override { return closed; }
    std::string peer() const override { return "192.0.2.9:1000"; }
    void hold() override { ++holds; }
    void unhold() override { --holds; }
    uint16_t last() const { return statuses.empty() ? 0xFFFF : statuses.back().second; }

    core::Router* router;
    core::HwRoute* route;
    std::vector<std::pair<uint16_t, uint16_t>> statuses;
    bool closed = false;
    int holds = 0;
};

struct FakeNotifier : core::Notifier {
    void send(core::NotifyRequest r, Done done) override {
        requests.push_back(std::move(r));
        pending.push_back(std::move(done));
    }
    std::vector<core::NotifyRequest> requests;
    std::vector<Done> pending;
};

std::string fields(std::initializer_list<std::string_view> parts) {
    std::string out;
    bool first = true;
    for (auto p : parts) {
        if (!first) out.push_back('\0');
        first = false;
        out.append(p);
    }
    return out;
}

const std::string kToken = "NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN";

class RouterNotifyTest : public ::testing::Test {
protected:
    RouterNotifyTest() : router(model, settings(), [this] { return now; }) {
        core::LoadedData data;
        auto u = std::make_unique<core::User>();
        u->email = "owner@example.com";
        u->dashboards.emplace_back();
        auto d = std::make_unique<core::Device>();
        d->token = kToken;
        d->name = "Boiler";
        u->devices.push_back(std::move(d));
        data.users.push_back(std::move(u));
        model.merge(std::move(data));
        router.set_notifier(&notifier);
    }
    static core::RouterSettings settings() {
        core::RouterSettings s;
        s.notifications.frequency_ms = 5000;
        s.notifications.mail_daily_quota = 3;
        s.notifications.push_title = "Title";
        return s;
    }
    core::Dashboard& dash() { return model.find_user("owner@example.com")->dashboards[0]; }
    void widget(const std::string& type, const std::string& json) {
        core::Widget w;
        w.id = int64_t(dash().widgets.size() + 1);
        w.type = type;
        w.json = json;
        dash().widgets.push_back(w);
    }
    std::unique_ptr<Conn> device() {
        auto c = std::make_unique<Conn>(router);
        frame(*c, Command::HardwareLogin, 1, kToken);
        c->statuses.clear();
        return c;
    }
    void frame(Conn& c, Command cmd, uint16_t id, const std::string& b) {
        codec::Frame f;
        f.command = uint8_t(cmd);
        f.msg_id = id;
        f.length = uint32_t(b.size());
        f.body = b;
        router.on_frame(*c.route, f);
    }

    int64_t now = 1'700'000'000'000;
    core::Model model;
    core::Router router;
    FakeNotifier notifier;
};

TEST_F(RouterNotifyTest, MailGoesOutWithWidgetSettingsAndOkComesAfterTheSend) {
    widget("EMAIL", R"({"type":"EMAIL","contentType":"TEXT_PLAIN"})");
    auto c = device();
    frame(*c, Command::Email, 7, fields({"Hot {DEVICE_NAME}", "It is hot in {DEVICE_NAME}"}));
    ASSERT_EQ(notifier.requests.size(), 1u);
    EXPECT_TRUE(c->statuses.empty()) << "no answer before the provider took it";
    EXPECT_EQ(c->holds, 1);
    auto& r = notifier.requests[0];
    EXPECT_EQ(r.channel, core::NotifyChannel::Mail);
    EXPECT_EQ(r.to, "owner@example.com") << "the account's address when neither widget nor device names one";
    EXPECT_EQ(r.subject, "Hot Boiler");
    EXPECT_EQ(r.body, "It is hot in Boiler");
    EXPECT_EQ(r.content_type, "text/plain");
    notifier.pending[0](core::NotifyOutcome::Sent);
    EXPECT_EQ(c->last(), uint16_t(Status::Ok));
    EXPECT_EQ(c->statuses.back().first, 7);
    EXPECT_EQ(c->holds, 0);
}

TEST_F(RouterNotifyTest, MailWidgetAddressWinsOverTheDevicesAndHtmlIsTheDefault) {
    widget("EMAIL", R"({"type":"EMAIL","to":"widget@example.com"})");
    auto c = device();
    frame(*c, Command::Email, 2, fields({"device@example.com", "s", "b"}));
    ASSERT_EQ(notifier.requests.size(), 1u);
    EXPECT_EQ(notifier.requests[0].to, "widget@example.com");
    EXPECT_EQ(notifier.requests[0].content_type, "text/html");
}

TEST_F(RouterNotifyTest, MailRefusalsAreTheLegacyStatuses) {
    auto c = device();
    frame(*c, Command::Email, 2, fields({"a@b.cd", "s", "b"}));
    EXPECT_EQ(c->last(), uint16_t(Status::NotAllowed)) << "no mail widget";
    widget("EMAIL", R"({"type":"EMAIL"})");
    frame(*c, Command::Email, 3, "");
    EXPECT_EQ(c->last(), uint16_t(Status::IllegalCommand)) << "empty body";
    frame(*c, Command::Email, 4, "only-one-field");
    EXPECT_EQ(c->last(), uint16_t(Status::IllegalCommand));
    frame(*c, Command::Email, 5, fields({"not an address", "s", "b"}));
    EXPECT_EQ(c->last(), uint16_t(Status::IllegalCommand)) << "invalid recipient";
    frame(*c, Command::Email, 6, fields({"x@y.zz\r\nBcc: z@y.zz", "s", "b"}));
    EXPECT_EQ(c->last(), uint16_t(Status::QuotaLimit)) << "the frequency limit counted the previous attempt";
    now += 5000;
    frame(*c, Command::Email, 7, fields({"x@y.zz\r\nBcc: z@y.zz", "s", "b"}));
    EXPECT_EQ(c->last(), uint16_t(Status::IllegalCommand)) << "a line break in the address is refused";
    dash().active = false;
    frame(*c, Command::Email, 8, fields({"s", "b"}));
    EXPECT_EQ(c->last(), uint16_t(Status::NotAllowed)) << "inactive dashboard";
    EXPECT_TRUE(notifier.requests.empty());
    // What /metrics shows of them: each refusal once, by what the device heard.
    const uint64_t* mail = router.counters.notify_refused[size_t(core::HwNotifyKind::Mail)];
    EXPECT_EQ(mail[core::Counters::kNotifyNoWidget], 2u);
    EXPECT_EQ(mail[core::Counters::kNotifyInvalid], 4u);
    EXPECT_EQ(mail[core::Counters::kNotifyQuota], 1u);
    EXPECT_EQ(mail[core::Counters::kNotifyNoProvider], 0u);
}

TEST_F(RouterNotifyTest, FrequencyLimitIsPerConnectionAndKind) {
    widget("EMAIL", R"({"type":"EMAIL"})");
    widget("NOTIFICATION", R"({"type":"NOTIFICATION","androidTokens":{"uid1":"tok1"}})");
    auto a = device();
    auto b = device();
    frame(*a, Command::Email, 2, fields({"s", "b"}));
    frame(*a, Command::Email, 3, fields({"s", "b"}));
    EXPECT_EQ(a->last(), uint16_t(Status::QuotaLimit));
    frame(*a, Command::PushNotification, 4, "push is another kind");
    frame(*b, Command::Email, 5, fields({"s", "b"}));
    EXPECT_EQ(notifier.requests.size(), 3u) << "one mail and one push from a, one mail from b";
    now += 5000;
    frame(*a, Command::Email, 6, fields({"s", "b"}));
    EXPECT_EQ(notifier.requests.size(), 4u);
}

TEST_F(RouterNotifyTest, DailyMailQuotaIsPerUserAndResetsAfterADay) {
    widget("EMAIL", R"({"type":"EMAIL"})");
    auto c = device();
    for (int i = 0; i < 3; ++i) {
        frame(*c, Command::Email, uint16_t(10 + i), fields({"s", "b"}));
        now += 5000;
    }
    EXPECT_EQ(notifier.requests.size(), 3u);
    auto other = device();  // a new connection: the quota is the user's, not the connection's
    frame(*other, Command::Email, 20, fields({"s", "b"}));
    EXPECT_EQ(other->last(), uint16_t(Status::QuotaLimit));
    EXPECT_EQ(router.counters.notify_refused[size_t(core::HwNotifyKind::Mail)][core::Counters::kNotifyQuota], 1u);
    now += 24LL * 3600 * 1000;
    frame(*other, Command::Email, 21, fields({"s", "b"}));
    EXPECT_EQ(notifier.requests.size(), 4u);
}

TEST_F(RouterNotifyTest, PushCarriesTokensPriorityAndTitle) {
    auto c = device();
    frame(*c, Command::PushNotification, 2, "hi");
    EXPECT_EQ(c->last(), uint16_t(Status::NotificationNotAuthorized)) << "no widget";
    widget("NOTIFICATION", R"({"type":"NOTIFICATION","priority":"high"})");
    frame(*c, Command::PushNotification, 3, "hi");
    EXPECT_EQ(c->last(), uint16_t(Status::NotificationNotAuthorized)) << "no tokens";
    dash().widgets.back().json =
        R"({"type":"NOTIFICATION","priority":"high","androidTokens":{"a":"ta"},"iOSTokens":{"i":"ti"}})";
    frame(*c, Command::PushNotification, 4, std::string(256, 'x'));
    EXPECT_EQ(c->last(), uint16_t(Status::NotificationInvalidBody));
    frame(*c, Command::PushNotification, 5, "{DEVICE_NAME} is hot");
    ASSERT_EQ(notifier.requests.size(), 1u);
    auto& r = notifier.requests[0];
    EXPECT_EQ(r.body, "Boiler is hot");
    EXPECT_EQ(r.subject, "Title");
    EXPECT_TRUE(r.high_priority);
    ASSERT_EQ(r.targets.size(), 2u);
    EXPECT_FALSE(r.targets[0].ios);
    EXPECT_TRUE(r.targets[1].ios);
    dash().active = false;
    now += 5000;
    frame(*c, Command::PushNotification, 6, "x");
    EXPECT_EQ(c->last(), uint16_t(Status::NoActiveDashboard));
    const uint64_t* push = router.counters.notify_refused[size_t(core::HwNotifyKind::Push)];
    EXPECT_EQ(push[core::Counters::kNotifyNoWidget], 3u) << "no widget, no tokens, inactive dashboard";
    EXPECT_EQ(push[core::Counters::kNotifyInvalid], 1u);
}

TEST_F(RouterNotifyTest, SmsNeedsTheWidgetsNumber) {
    auto c = device();
    widget("SMS", R"({"type":"SMS"})");
    frame(*c, Command::Sms, 2, "hi");
    EXPECT_EQ(c->last(), uint16_t(Status::NotificationNotAuthorized));
    dash().widgets.back().json = R"({"type":"SMS","to":"+15550100"})";
    frame(*c, Command::Sms, 3, std::string(161, 'x'));
    EXPECT_EQ(c->last(), uint16_t(Status::NotificationInvalidBody));
    frame(*c, Command::Sms, 4, "hi");
    ASSERT_EQ(notifier.requests.size(), 1u);
    EXPECT_EQ(notifier.requests[0].to, "+15550100");
}

TEST_F(RouterNotifyTest, TweetIsAnsweredNotificationErrorBecauseTwitterIsClosed) {
    auto c = device();
    frame(*c, Command::Tweet, 2, "hi");
    EXPECT_EQ(c->last(), uint16_t(Status::NotificationNotAuthorized));
    widget("TWITTER", R"({"type":"TWITTER","token":"t","secret":"s"})");
    frame(*c, Command::Tweet, 3, std::string(141, 'x'));
    EXPECT_EQ(c->last(), uint16_t(Status::NotificationInvalidBody));
    frame(*c, Command::Tweet, 4, "hi");
    EXPECT_EQ(c->last(), uint16_t(Status::NotificationError));
    EXPECT_TRUE(notifier.requests.empty());
    const uint64_t* tweet = router.counters.notify_refused[size_t(core::HwNotifyKind::Tweet)];
    EXPECT_EQ(tweet[core::Counters::kNotifyNoWidget], 1u);
    EXPECT_EQ(tweet[core::Counters::kNotifyInvalid], 1u);
    EXPECT_EQ(tweet[core::Counters::kNotifyNoProvider], 1u) << "nothing can send a tweet";
}

TEST_F(RouterNotifyTest, ProviderOutcomesMapToStatuses) {
    widget("NOTIFICATION", R"({"type":"NOTIFICATION","androidTokens":{"a":"ta"}})");
    auto c = device();
    const std::pair<core::NotifyOutcome, Status> cases[] = {
        {core::NotifyOutcome::Failed, Status::NotificationError},
        {core::NotifyOutcome::NoProvider, Status::NotificationError},
        {core::NotifyOutcome::Busy, Status::QuotaLimit},
    };
    for (auto [outcome, status] : cases) {
        now += 5000;
        frame(*c, Command::PushNotification, 9, "x");
        notifier.pending.back()(outcome);
        EXPECT_EQ(c->last(), uint16_t(status));
    }
}

TEST_F(RouterNotifyTest, AnswerAfterTheDeviceLeftIsDroppedAndTheHoldReleased) {
    widget("EMAIL", R"({"type":"EMAIL"})");
    auto c = device();
    frame(*c, Command::Email, 2, fields({"s", "b"}));
    c->close("gone");
    size_t before = c->statuses.size();
    notifier.pending[0](core::NotifyOutcome::Sent);
    EXPECT_EQ(c->statuses.size(), before);
    EXPECT_EQ(c->holds, 0);
}

TEST_F(RouterNotifyTest, WithoutANotifierEveryValidRequestFails) {
    router.set_notifier(nullptr);
    widget("EMAIL", R"({"type":"EMAIL"})");
    auto c = device();
    frame(*c, Command::Email, 2, fields({"s", "b"}));
    EXPECT_EQ(c->last(), uint16_t(Status::NotificationError));
    EXPECT_EQ(router.counters.notify_refused[size_t(core::HwNotifyKind::Mail)][core::Counters::kNotifyNoProvider], 1u);
}

TEST_F(RouterNotifyTest, OfflinePushFiresOnceAfterTheIgnorePeriod) {
    widget("NOTIFICATION", R"({"type":"NOTIFICATION","notifyWhenOffline":true,"notifyWhenOfflineIgnorePeriod":1000,)"
                           R"("androidTokens":{"a":"ta"}})");
    auto c = device();
    c->close("gone");
    router.tick();
    EXPECT_TRUE(notifier.requests.empty()) << "not within the ignore period";
    now += 1000;
    router.tick();
    ASSERT_EQ(notifier.requests.size(), 1u);
    EXPECT_EQ(notifier.requests[0].body, "Your Boiler went offline.");
    EXPECT_EQ(notifier.requests[0].channel, core::NotifyChannel::Push);
    now += 5000;
    router.tick();
    EXPECT_EQ(notifier.requests.size(), 1u) << "once";
}

TEST_F(RouterNotifyTest, OfflinePushIsNotSentForAQuickReconnect) {
    widget("NOTIFICATION", R"({"type":"NOTIFICATION","notifyWhenOffline":true,"notifyWhenOfflineIgnorePeriod":1000,)"
                           R"("androidTokens":{"a":"ta"}})");
    auto c = device();
    c->close("gone");
    now += 500;
    auto again = device();
    now += 1000;
    router.tick();
    EXPECT_TRUE(notifier.requests.empty());
    // Without an ignore period it goes at once; without notifyWhenOffline never.
    dash().widgets.back().json = R"({"type":"NOTIFICATION","notifyWhenOffline":true,"androidTokens":{"a":"ta"}})";
    again->close("gone");
    EXPECT_EQ(notifier.requests.size(), 1u);
    dash().widgets.back().json = R"({"type":"NOTIFICATION","androidTokens":{"a":"ta"}})";
    auto third = device();
    third->close("gone");
    now += 100000;
    router.tick();
    EXPECT_EQ(notifier.requests.size(), 1u);
}

}  // namespace
