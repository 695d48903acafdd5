// core::AppHub with the real router: hardware activity fanned out to apps
// (the owner's sessions, shared sessions of that dashboard only, never
// another user's), app writes to devices, tags and device selectors, device
// presence, token refresh, and sharing.
#include <gtest/gtest.h>

#include "app_hub_fakes.hpp"
#include "core/app_json.hpp"

using namespace blynk;
using namespace blynk::test;

namespace {

class AppHubLive : public AppHubTest {
protected:
    static std::vector<std::string> bodies(const FakeApp& a, Command c) {
        std::vector<std::string> out;
        for (auto& m : a.of(c))
            out.push_back(m.body);
        return out;
    }
    static std::vector<std::string> bodies(const FakeDevice& d, Command c) {
        std::vector<std::string> out;
        for (auto& m : d.sent)
            if (m.command == uint8_t(c)) out.push_back(m.body);
        return out;
    }
    static void clear(std::initializer_list<FakeApp*> apps) {
        for (FakeApp* a : apps)
            a->sent.clear();
    }
};

TEST_F(AppHubLive, ADeviceWriteReachesItsOwnersAppsAndSharesOfItsDashboardOnly) {
    auto a = app(), b = app();
    auto s1 = shared_app(1), s2 = shared_app(2);
    auto o = app("other@example.com");
    auto dev_a = device(kTokenA), dev_d = device(kTokenD), dev_c = device(kTokenC);
    clear({a.get(), b.get(), s1.get(), s2.get(), o.get()});

    frame(*dev_a, Command::Hardware, 9, fields({"vw", "5", "42"}));
    for (FakeApp* x : {a.get(), b.get(), s1.get()}) {
        ASSERT_EQ(x->sent.size(), 1u);
        EXPECT_EQ(x->sent[0].command, uint8_t(Command::Hardware));
        EXPECT_EQ(x->sent[0].msg_id, 9);
        EXPECT_EQ(x->sent[0].body, fields({"1-0", "vw", "5", "42"}));
    }
    EXPECT_TRUE(s2->sent.empty()) << "a share of another dashboard";
    EXPECT_TRUE(o->sent.empty()) << "another user";

    clear({a.get(), b.get(), s1.get()});
    frame(*dev_d, Command::Hardware, 10, fields({"vw", "1", "x"}));
    EXPECT_EQ(bodies(*a, Command::Hardware), std::vector<std::string>{fields({"2-0", "vw", "1", "x"})});
    EXPECT_EQ(bodies(*b, Command::Hardware), std::vector<std::string>{fields({"2-0", "vw", "1", "x"})});
    EXPECT_EQ(bodies(*s2, Command::Hardware), std::vector<std::string>{fields({"2-0", "vw", "1", "x"})});
    EXPECT_TRUE(s1->sent.empty());
    EXPECT_TRUE(o->sent.empty());

    clear({a.get(), b.get(), s2.get()});
    frame(*dev_c, Command::Hardware, 11, fields({"vw", "1", "theirs"}));
    EXPECT_EQ(bodies(*o, Command::Hardware), std::vector<std::string>{fields({"1-0", "vw", "1", "theirs"})});
    for (FakeApp* x : {a.get(), b.get(), s1.get(), s2.get()})
        EXPECT_TRUE(x->sent.empty());
}

TEST_F(AppHubLive, AppsHearWhenADeviceComesOnlineAndGoesOffline) {
    auto a = app();
    auto s2 = shared_app(2);
    auto dev = device(kTokenA);
    auto connected = a->of(Command::HardwareConnected);
    ASSERT_EQ(connected.size(), 1u);
    EXPECT_EQ(connected[0].body, "1-0");
    EXPECT_EQ(connected[0].msg_id, 1) << "the login's id";
    EXPECT_TRUE(s2->sent.empty());
    a->sent.clear();
    dev->close("gone");
    EXPECT_EQ(bodies(*a, Command::DeviceOffline), std::vector<std::string>{"1-0"});
    EXPECT_TRUE(s2->sent.empty());
    // isNotificationsOff: no DEVICE_OFFLINE.
    dash(2).notifications_off = true;
    auto dev_d = device(kTokenD);
    s2->sent.clear();
    dev_d->close("gone");
    EXPECT_TRUE(s2->of(Command::DeviceOffline).empty());
}

TEST_F(AppHubLive, DevicesHearAconAndAdisWhenTheFirstAppComesAndTheLastGoes) {
    dash(1).app_connected_on = true;
    auto dev = device(kTokenA);
    EXPECT_TRUE(dev->sent.empty()) << "no app yet";
    auto a = app();
    EXPECT_EQ(bodies(*dev, Command::BlynkInternal), std::vector<std::string>{"acon"});
    EXPECT_EQ(dev->sent.back().msg_id, codec::msgid::kTimer);
    auto b = app();
    EXPECT_EQ(dev->sent.size(), 1u) << "only the first app";
    a.reset();
    EXPECT_EQ(dev->sent.size(), 1u);
    b.reset();
    EXPECT_EQ(bodies(*dev, Command::BlynkInternal), (std::vector<std::string>{"acon", "adis"}));
    // A device connecting while an app is there hears acon after its login.
    auto c = app();
    FakeDevice late(router);
    frame(late, Command::HardwareLogin, 4, kTokenB);
    EXPECT_EQ(bodies(late, Command::BlynkInternal), std::vector<std::string>{"acon"});
}

TEST_F(AppHubLive, AnAppWriteReachesTheDeviceAndTheUsersOtherApps) {
    auto a = app(), b = app();
    auto s1 = shared_app(1), s2 = shared_app(2);
    auto o = app("other@example.com");
    auto dev = device(kTokenA), other_dev = device(kTokenC);
    clear({a.get(), b.get(), s1.get(), s2.get(), o.get()});
    frame(*a, Command::Hardware, 20, fields({"1-0", "vw", "1", "100"}));
    ASSERT_EQ(dev->sent.size(), 1u);
    EXPECT_EQ(dev->sent[0].command, uint8_t(Command::Hardware));
    EXPECT_EQ(dev->sent[0].msg_id, 20);
    EXPECT_EQ(dev->sent[0].body, fields({"vw", "1", "100"}));
    EXPECT_TRUE(a->sent.empty()) << "delivered: no answer";
    for (FakeApp* x : {b.get(), s1.get()}) {
        ASSERT_EQ(x->sent.size(), 1u);
        EXPECT_EQ(x->sent[0].command, uint8_t(Command::AppSync));
        EXPECT_EQ(x->sent[0].msg_id, 20);
        EXPECT_EQ(x->sent[0].body, fields({"1-0", "vw", "1", "100"}));
    }
    EXPECT_TRUE(s2->sent.empty());
    EXPECT_TRUE(o->sent.empty());
    EXPECT_TRUE(other_dev->sent.empty());
    EXPECT_EQ(model.find_token(kTokenA)->find_pin(core::pin_key('v', 1))->value, "100");

    // A shared app writes to its dashboard as the owner's app does.
    clear({a.get(), b.get()});
    dev->sent.clear();
    frame(*s1, Command::Hardware, 21, fields({"1-0", "dw", "2", "1"}));
    EXPECT_EQ(bodies(*dev, Command::Hardware), std::vector<std::string>{fields({"dw", "2", "1"})});
    EXPECT_EQ(bodies(*a, Command::AppSync), std::vector<std::string>{fields({"1-0", "dw", "2", "1"})});
}

TEST_F(AppHubLive, AWriteToAnOfflineDeviceIsDeviceNotInNetwork) {
    auto a = app();
    frame(*a, Command::Hardware, 22, fields({"1-1", "vw", "1", "1"}));
    EXPECT_EQ(a->only_status(), uint32_t(Status::DeviceNotInNetwork));
    EXPECT_EQ(a->sent[0].msg_id, 22);
    EXPECT_EQ(model.find_token(kTokenB)->find_pin(core::pin_key('v', 1))->value, "1") << "stored for its next sync";
    a->sent.clear();
    dash(1).notifications_off = true;
    frame(*a, Command::Hardware, 23, fields({"1-1", "vw", "1", "2"}));
    EXPECT_TRUE(a->sent.empty()) << "isNotificationsOff";
}

TEST_F(AppHubLive, AnInactiveDashboardDropsAppWrites) {
    auto a = app(), b = app();
    auto dev = device(kTokenA);
    dash(1).active = false;
    clear({a.get(), b.get()});
    frame(*a, Command::Hardware, 24, fields({"1-0", "vw", "1", "1"}));
    EXPECT_TRUE(a->sent.empty());
    EXPECT_TRUE(b->sent.empty());
    EXPECT_TRUE(dev->sent.empty());
    EXPECT_EQ(model.find_token(kTokenA)->find_pin(core::pin_key('v', 1)), nullptr);
}

TEST_F(AppHubLive, AWriteToATagReachesEachOfItsDevices) {
    dash(1).tags.push_back({100001, "all", {0, 1}});
    auto a = app();
    auto d0 = device(kTokenA), d1 = device(kTokenB), d2 = device(kTokenD);
    a->sent.clear();
    frame(*a, Command::Hardware, 25, fields({"1-100001", "vw", "3", "on"}));
    EXPECT_EQ(bodies(*d0, Command::Hardware), std::vector<std::string>{fields({"vw", "3", "on"})});
    EXPECT_EQ(bodies(*d1, Command::Hardware), std::vector<std::string>{fields({"vw", "3", "on"})});
    EXPECT_TRUE(d2->sent.empty()) << "the same device id on another dashboard";
    EXPECT_TRUE(a->sent.empty());
    frame(*a, Command::Hardware, 26, fields({"1-100002", "vw", "3", "on"}));
    EXPECT_EQ(a->only_status(), uint32_t(Status::DeviceNotInNetwork)) << "an unknown tag reaches nobody";
}

TEST_F(AppHubLive, ADeviceSelectorSendsToTheDeviceItSelected) {
    core::Widget selector;
    std::string err;
    ASSERT_TRUE(
        core::parse_widget(R"({"id":200001,"type":"DEVICE_SELECTOR","width":2,"height":1,"value":1})", selector, err));
    dash(1).widgets.push_back(selector);
    auto a = app(), b = app();
    auto d0 = device(kTokenA), d1 = device(kTokenB);
    frame(*a, Command::Hardware, 27, fields({"1-200001", "vw", "4", "v"}));
    EXPECT_TRUE(d0->sent.empty());
    EXPECT_EQ(bodies(*d1, Command::Hardware), std::vector<std::string>{fields({"vw", "4", "v"})});

    // The app selects device 0: told OK, its state synced, the other app told.
    frame(*d0, Command::Hardware, 3, fields({"vw", "9", "zero"}));
    clear({a.get(), b.get()});
    frame(*a, Command::Hardware, 28, fields({"1", "vu", "200001", "0"}));
    ASSERT_FALSE(a->sent.empty());
    EXPECT_EQ(a->sent[0].command, 0);
    EXPECT_EQ(a->sent[0].status, uint32_t(Status::Ok));
    EXPECT_EQ(bodies(*a, Command::AppSync), std::vector<std::string>{fields({"1-0", "vw", "9", "zero"})});
    EXPECT_EQ(bodies(*b, Command::AppSync), std::vector<std::string>{fields({"1", "vu", "200001", "0"})});
    d0->sent.clear();
    d1->sent.clear();
    frame(*a, Command::Hardware, 29, fields({"1-200001", "vw", "4", "w"}));
    EXPECT_EQ(bodies(*d0, Command::Hardware), std::vector<std::string>{fields({"vw", "4", "w"})});
    EXPECT_TRUE(d1->sent.empty());
    a->sent.clear();
    frame(*a, Command::Hardware, 30, fields({"1", "vu", "10", "0"}));
    EXPECT_EQ(a->only_status(), uint32_t(Status::IllegalCommand)) << "not a device selector";
}

TEST_F(AppHubLive, BadAppWritesAreIllegalCommand) {
    auto a = app();
    auto dev = device(kTokenA);
    for (const std::string& body : {fields({"1-0"}), fields({"x-0", "vw", "1", "1"}), fields({"1-0", "vw", "999", "1"}),
                                    fields({"1-0", "vw", "1", ""}), fields({"77-0", "vw", "1", "1"})}) {
        a->sent.clear();
        frame(*a, Command::Hardware, 31, body);
        EXPECT_EQ(a->only_status(), uint32_t(Status::IllegalCommand)) << codec::command_name(20) << " " << body;
    }
    EXPECT_TRUE(dev->sent.empty());
}

TEST_F(AppHubLive, RefreshTokenClosesTheDeviceAndOnlyTheNewTokenLogsIn) {
    auto a = app();
    auto dev = device(kTokenA);
    frame(*a, Command::RefreshToken, 32, fields({"1", "0"}));
    EXPECT_TRUE(dev->closed) << "the device's live connections go at once";
    EXPECT_EQ(model.find_token(kTokenA), nullptr);
    EXPECT_TRUE(a->of(Command::RefreshToken).empty()) << "answered once stored";
    backend.run();
    auto answer = a->of(Command::RefreshToken);
    ASSERT_EQ(answer.size(), 1u);
    EXPECT_EQ(answer[0].msg_id, 32);
    std::string fresh = answer[0].body;
    EXPECT_EQ(fresh.size(), 32u);
    EXPECT_NE(fresh, kTokenA);
    FakeDevice old(router);
    frame(old, Command::HardwareLogin, 1, kTokenA);
    ASSERT_EQ(old.sent.size(), 1u);
    EXPECT_EQ(old.sent[0].status, uint32_t(Status::InvalidToken));
    auto again = device(fresh);
    EXPECT_EQ(model.find_token(fresh), me().find_device(1, 0));
    a->sent.clear();
    frame(*a, Command::RefreshToken, 33, fields({"1", "50"}));
    EXPECT_EQ(a->only_status(), uint32_t(Status::IllegalCommandBody));
}

TEST_F(AppHubLive, RefreshingTheShareTokenClosesEverySharedSession) {
    auto owner = app();
    auto s1 = shared_app(1), s2 = shared_app(1), s3 = shared_app(1);
    auto keep = shared_app(2);
    std::string old_token = dash(1).share_token;
    frame(*owner, Command::RefreshShareToken, 34, "1");
    for (FakeApp* s : {s1.get(), s2.get(), s3.get()}) {
        EXPECT_TRUE(s->closed);
        EXPECT_EQ(s->only_status(), uint32_t(Status::NotAllowed));
    }
    EXPECT_FALSE(keep->closed);
    backend.run();
    auto answer = owner->of(Command::RefreshShareToken);
    ASSERT_EQ(answer.size(), 1u);
    EXPECT_EQ(answer[0].body, dash(1).share_token);
    EXPECT_NE(answer[0].body, old_token);
    FakeApp late(hub);
    frame(late, Command::ShareLogin, 1, fields({"me@example.com", old_token, "Android", "2.27.0"}));
    EXPECT_EQ(late.only_status(), uint32_t(Status::NotAllowed));
    FakeApp fresh(hub);
    frame(fresh, Command::ShareLogin, 1, fields({"me@example.com", answer[0].body, "Android", "2.27.0"}));
    EXPECT_EQ(fresh.only_status(), uint32_t(Status::Ok));
}

TEST_F(AppHubLive, AFirstShareTokenCostsEnergy) {
    auto a = app();
    me().energy = 999;
    frame(*a, Command::GetShareToken, 35, "1");
    EXPECT_EQ(a->only_status(), uint32_t(Status::EnergyLimit));
    EXPECT_TRUE(dash(1).share_token.empty());
    me().energy = 1500;
    a->sent.clear();
    frame(*a, Command::GetShareToken, 36, "1");
    backend.run();
    ASSERT_EQ(a->of(Command::GetShareToken).size(), 1u);
    EXPECT_EQ(a->of(Command::GetShareToken)[0].body, dash(1).share_token);
    EXPECT_EQ(me().energy, 500);
    a->sent.clear();
    frame(*a, Command::GetShareToken, 37, "1");
    backend.run();
    EXPECT_EQ(me().energy, 500) << "the same token again, free";
    EXPECT_EQ(bodies(*a, Command::GetShareToken), std::vector<std::string>{dash(1).share_token});
}

TEST_F(AppHubLive, SharingOnAndOffTellsTheSharedSessions) {
    auto owner = app();
    auto s1 = shared_app(1);
    frame(*owner, Command::Sharing, 38, fields({"1", "off"}));
    EXPECT_EQ(bodies(*s1, Command::Sharing), std::vector<std::string>{fields({"1", "off"})});
    EXPECT_FALSE(dash(1).shared);
    backend.run();
    EXPECT_EQ(owner->only_status(), uint32_t(Status::Ok));
}

}  // namespace
