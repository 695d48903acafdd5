// core::AppHub: dashboards, widgets, devices and tags (their answers and error
// codes and the legacy limits), activation and the state an app is synced
// with, profiles and clone codes.
#include <gtest/gtest.h>

#include "app_hub_fakes.hpp"
#include "codec/deflate.hpp"
#include "core/app_json.hpp"

using namespace blynk;
using namespace blynk::test;

namespace {

class AppHubDashboards : public AppHubTest {
protected:
    // The one status `a` got with message id `id` (-1 if none or several).
    static int64_t status_of(const FakeApp& a, uint16_t id) {
        int64_t found = -1;
        int n = 0;
        for (auto& m : a.sent)
            if (m.command == 0 && m.msg_id == id) found = m.status, ++n;
        return n == 1 ? found : -1;
    }
    // `command` from `a` answered (after storage) with one status.
    int64_t ask(FakeApp& a, Command command, const std::string& body) {
        a.sent.clear();
        frame(a, command, 42, body);
        backend.run();
        return a.only_status();
    }
    // A widget read from its JSON, as an app would have created it.
    static core::Widget widget(std::string_view json) {
        core::Widget w;
        std::string err;
        EXPECT_TRUE(core::parse_widget(json, w, err)) << err;
        return w;
    }
    std::vector<std::string> bodies(const FakeApp& a, Command c) {
        std::vector<std::string> out;
        for (auto& m : a.of(c))
            out.push_back(m.body);
        return out;
    }
};

constexpr const char* kButtonV1 =
    R"({"id":10,"type":"BUTTON","width":2,"height":1,"deviceId":0,"pin":1,"pinType":"VIRTUAL"})";

TEST_F(AppHubDashboards, CreateDashboardWithDevicesGivesThemNewTokens) {
    auto a = app();
    std::string json =
        R"({"id":9,"name":"Lab","isActive":true,"theme":"Blynk","widgets":[)" + std::string(kButtonV1) +
        R"(],"devices":[{"id":0,"name":"Probe","boardType":"ESP32","token":"ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"}]})";
    frame(*a, Command::CreateDash, 3, json);
    EXPECT_TRUE(a->sent.empty());
    backend.run();
    EXPECT_EQ(a->only_status(), uint32_t(Status::Ok));
    EXPECT_EQ(backend.log, (std::vector<std::string>{"device 9/0", "dash 9"})) << "devices first, then the dashboard";
    core::Device* d = me().find_device(9, 0);
    ASSERT_NE(d, nullptr);
    EXPECT_NE(d->token, std::string(32, 'Z')) << "a token an app sends is never taken";
    EXPECT_EQ(model.find_token(std::string(32, 'Z')), nullptr);
    EXPECT_EQ(model.find_token(d->token), d);
    ASSERT_NE(me().find_dash(9), nullptr);
    EXPECT_EQ(me().find_dash(9)->widgets.size(), 1u);
}

TEST_F(AppHubDashboards, CreateDashboardRefusals) {
    auto a = app();
    EXPECT_EQ(ask(*a, Command::CreateDash, ""), uint32_t(Status::IllegalCommand));
    EXPECT_EQ(ask(*a, Command::CreateDash, "{not json"), uint32_t(Status::IllegalCommandBody));
    EXPECT_EQ(ask(*a, Command::CreateDash, R"({"name":"no id"})"), uint32_t(Status::IllegalCommandBody));
    EXPECT_EQ(ask(*a, Command::CreateDash, R"({"id":1,"name":"taken"})"), uint32_t(Status::NotAllowed));
    // max_widgets = 3, max_devices = 3 in this fixture.
    std::string widgets;
    for (int i = 0; i < 4; ++i)
        widgets +=
            std::string(i ? "," : "") + R"({"id":)" + std::to_string(i) + R"(,"type":"LED","width":1,"height":1})";
    EXPECT_EQ(ask(*a, Command::CreateDash, R"({"id":5,"widgets":[)" + widgets + "]}"), uint32_t(Status::NotAllowed));
    std::string devices;
    for (int i = 0; i < 4; ++i)
        devices += std::string(i ? "," : "") + R"({"id":)" + std::to_string(i) + R"(,"name":"d"})";
    EXPECT_EQ(ask(*a, Command::CreateDash, R"({"id":5,"devices":[)" + devices + "]}"), uint32_t(Status::NotAllowed));
    // max_dashboards = 4: two exist.
    EXPECT_EQ(ask(*a, Command::CreateDash, R"({"id":5,"name":"3rd"})"), uint32_t(Status::Ok));
    EXPECT_EQ(ask(*a, Command::CreateDash, R"({"id":6,"name":"4th"})"), uint32_t(Status::Ok));
    EXPECT_EQ(ask(*a, Command::CreateDash, R"({"id":7,"name":"5th"})"), uint32_t(Status::QuotaLimit));
    EXPECT_EQ(me().dashboards.size(), 4u);
}

TEST_F(AppHubDashboards, UpdateDashboardReplacesWidgetsAndKeepsDevicesTagsAndActivation) {
    auto a = app();
    dash(1).tags.push_back({100001, "all", {0, 1}});
    dash(1).active = false;
    EXPECT_EQ(ask(*a, Command::UpdateDash,
                  R"({"id":1,"name":"Renamed","isActive":true,"widgets":[)" + std::string(kButtonV1) + "]}"),
              uint32_t(Status::Ok));
    EXPECT_EQ(dash(1).name, "Renamed");
    EXPECT_EQ(dash(1).widgets.size(), 1u);
    EXPECT_EQ(dash(1).tags.size(), 1u);
    EXPECT_FALSE(dash(1).active) << "activation is ACTIVATE's, not an update's";
    EXPECT_NE(me().find_device(1, 1), nullptr);
    EXPECT_EQ(ask(*a, Command::UpdateDash, R"({"id":77,"name":"none"})"), uint32_t(Status::IllegalCommand));
    EXPECT_EQ(ask(*a, Command::UpdateDash, "[]"), uint32_t(Status::IllegalCommandBody));
}

TEST_F(AppHubDashboards, DeleteDashboardRemovesItsDevicesAndClosesTheirConnections) {
    auto a = app();
    auto dev = device(kTokenA);
    a->sent.clear();
    frame(*a, Command::DeleteDash, 3, "1");
    backend.run();
    EXPECT_EQ(status_of(*a, 3), int64_t(Status::Ok));
    EXPECT_EQ(backend.log, std::vector<std::string>{"remove dash 1"});
    EXPECT_TRUE(dev->closed);
    EXPECT_EQ(model.find_token(kTokenA), nullptr) << "its token stops working at once";
    EXPECT_EQ(model.find_token(kTokenB), nullptr);
    EXPECT_NE(model.find_token(kTokenD), nullptr) << "another dashboard's device stays";
    EXPECT_EQ(me().find_dash(1), nullptr);
    EXPECT_EQ(ask(*a, Command::DeleteDash, "1"), uint32_t(Status::IllegalCommand));
}

TEST_F(AppHubDashboards, DeleteDashboardClosesEverySharedSessionOfIt) {
    auto owner = app();
    auto s1 = shared_app(1), s2 = shared_app(1), s3 = shared_app(1);
    auto keep = shared_app(2);
    EXPECT_EQ(ask(*owner, Command::DeleteDash, "1"), uint32_t(Status::Ok));
    EXPECT_TRUE(s1->closed);
    EXPECT_TRUE(s2->closed);
    EXPECT_TRUE(s3->closed);
    EXPECT_FALSE(keep->closed);
    EXPECT_FALSE(owner->closed);
}

TEST_F(AppHubDashboards, WidgetsCreateUpdateGetDelete) {
    auto a = app();
    EXPECT_EQ(ask(*a, Command::CreateWidget, fields({"1", kButtonV1})), uint32_t(Status::Ok));
    EXPECT_EQ(backend.log.back(), "dash 1");
    EXPECT_EQ(ask(*a, Command::CreateWidget, fields({"1", kButtonV1})), uint32_t(Status::NotAllowed)) << "same id";
    EXPECT_EQ(ask(*a, Command::CreateWidget, fields({"1", R"({"id":11,"type":"LED","width":0,"height":1})"})),
              uint32_t(Status::NotAllowed))
        << "no size";
    EXPECT_EQ(ask(*a, Command::CreateWidget, fields({"1", R"({"id":11,"type":"LED",)"})),
              uint32_t(Status::IllegalCommandBody));
    EXPECT_EQ(ask(*a, Command::CreateWidget, fields({"77", kButtonV1})), uint32_t(Status::IllegalCommand));
    EXPECT_EQ(ask(*a, Command::CreateWidget, fields({"1", "100", "200", kButtonV1})), uint32_t(Status::NotAllowed))
        << "a tiles template's widget";
    EXPECT_EQ(ask(*a, Command::CreateWidget, fields({"1", R"({"id":11,"type":"LED","width":1,"height":1})"})),
              uint32_t(Status::Ok));
    EXPECT_EQ(ask(*a, Command::CreateWidget, fields({"1", R"({"id":12,"type":"LED","width":1,"height":1})"})),
              uint32_t(Status::Ok));
    EXPECT_EQ(ask(*a, Command::CreateWidget, fields({"1", R"({"id":13,"type":"LED","width":1,"height":1})"})),
              uint32_t(Status::NotAllowed))
        << "max_widgets = 3";

    // The value a device wrote is the widget's value.
    auto dev = device(kTokenA);
    frame(*dev, Command::Hardware, 2, fields({"vw", "1", "on"}));
    a->sent.clear();
    frame(*a, Command::GetWidget, 5, fields({"1", "10"}));
    ASSERT_EQ(a->of(Command::GetWidget).size(), 1u);
    EXPECT_NE(a->of(Command::GetWidget)[0].body.find(R"("value":"on")"), std::string::npos);

    EXPECT_EQ(ask(*a, Command::UpdateWidget, fields({"1", R"({"id":10,"type":"SLIDER","width":2,"height":1})"})),
              uint32_t(Status::IllegalCommand))
        << "a widget's type never changes";
    EXPECT_EQ(ask(*a, Command::UpdateWidget,
                  fields({"1", R"({"id":10,"type":"BUTTON","width":4,"height":1,"pin":2,"pinType":"VIRTUAL"})"})),
              uint32_t(Status::Ok));
    EXPECT_EQ(dash(1).find_widget(10)->pin_key, core::pin_key('v', 2));
    EXPECT_EQ(ask(*a, Command::DeleteWidget, fields({"1", "10"})), uint32_t(Status::Ok));
    EXPECT_EQ(dash(1).find_widget(10), nullptr);
    EXPECT_EQ(ask(*a, Command::DeleteWidget, fields({"1", "10"})), uint32_t(Status::IllegalCommand));
    EXPECT_EQ(ask(*a, Command::GetWidget, fields({"1", "10"})), uint32_t(Status::IllegalCommand));
}

TEST_F(AppHubDashboards, DevicesCreateUpdateListDelete) {
    auto a = app();
    frame(*a, Command::CreateDevice, 4, fields({"1", R"({"id":2,"name":"Pump","boardType":"ESP8266","vendor":"x"})"}));
    backend.run();
    ASSERT_EQ(a->of(Command::CreateDevice).size(), 1u);
    core::Device* pump = me().find_device(1, 2);
    ASSERT_NE(pump, nullptr);
    EXPECT_NE(a->of(Command::CreateDevice)[0].body.find(R"("token":")" + pump->token), std::string::npos);
    EXPECT_NE(a->of(Command::CreateDevice)[0].body.find(R"("vendor":"x")"), std::string::npos);
    // max_devices = 3 per dashboard (two were there).
    EXPECT_EQ(ask(*a, Command::CreateDevice, fields({"1", R"({"id":3,"name":"Fourth"})"})),
              uint32_t(Status::NotAllowed));
    EXPECT_EQ(ask(*a, Command::CreateDevice, fields({"2", R"({"id":0,"name":"Same id"})"})),
              uint32_t(Status::NotAllowed));
    EXPECT_EQ(ask(*a, Command::CreateDevice, fields({"2", R"({"id":5,"name":""})"})), uint32_t(Status::IllegalCommand));
    EXPECT_EQ(ask(*a, Command::CreateDevice, fields({"2", "{"})), uint32_t(Status::IllegalCommandBody));
    EXPECT_EQ(ask(*a, Command::CreateDevice, fields({"77", R"({"id":5,"name":"x"})"})),
              uint32_t(Status::IllegalCommand));

    EXPECT_EQ(ask(*a, Command::UpdateDevice, fields({"1", R"({"id":2,"name":"Big pump"})"})), uint32_t(Status::Ok));
    EXPECT_EQ(pump->name, "Big pump");
    EXPECT_EQ(pump->board_type, "ESP8266") << "kept when the update names none";
    EXPECT_EQ(ask(*a, Command::UpdateDevice, fields({"1", R"({"id":50,"name":"x"})"})),
              uint32_t(Status::IllegalCommandBody));

    auto dev = device(kTokenA);
    a->sent.clear();
    frame(*a, Command::GetDevices, 6, "1");
    ASSERT_EQ(a->of(Command::GetDevices).size(), 1u);
    std::string list = a->of(Command::GetDevices)[0].body;
    EXPECT_NE(list.find(R"("status":"ONLINE")"), std::string::npos);
    EXPECT_NE(list.find(R"("status":"OFFLINE")"), std::string::npos);
    EXPECT_NE(list.find("Big pump"), std::string::npos);
    a->sent.clear();
    frame(*a, Command::MobileGetDevice, 7, fields({"1", "0"}));
    ASSERT_EQ(a->of(Command::MobileGetDevice).size(), 1u);
    EXPECT_NE(a->of(Command::MobileGetDevice)[0].body.find(kTokenA), std::string::npos);

    dash(1).tags.push_back({100001, "all", {0, 1}});
    a->sent.clear();
    frame(*a, Command::DeleteDevice, 8, fields({"1", "0"}));
    backend.run();
    EXPECT_EQ(status_of(*a, 8), int64_t(Status::Ok));
    EXPECT_TRUE(dev->closed);
    EXPECT_EQ(model.find_token(kTokenA), nullptr);
    EXPECT_EQ(dash(1).tags[0].device_ids, std::vector<int32_t>{1}) << "gone from its tags";
    EXPECT_EQ(ask(*a, Command::DeleteDevice, fields({"1", "0"})), uint32_t(Status::IllegalCommandBody));
}

TEST_F(AppHubDashboards, TagsCreateListUpdateDelete) {
    auto a = app();
    frame(*a, Command::CreateTag, 3, fields({"1", R"({"id":100001,"name":"all","deviceIds":[0,1]})"}));
    backend.run();
    ASSERT_EQ(a->of(Command::CreateTag).size(), 1u);
    EXPECT_EQ(a->of(Command::CreateTag)[0].body, R"({"id":100001,"name":"all","deviceIds":[0,1]})");
    EXPECT_EQ(ask(*a, Command::CreateTag, fields({"1", R"({"id":100002,"name":"all"})"})),
              uint32_t(Status::IllegalCommand))
        << "same name";
    EXPECT_EQ(ask(*a, Command::CreateTag, fields({"1", R"({"id":5,"name":"low id"})"})),
              uint32_t(Status::IllegalCommandBody));
    EXPECT_EQ(ask(*a, Command::CreateTag, fields({"1", R"({"id":100002,"name":""})"})),
              uint32_t(Status::IllegalCommand));
    a->sent.clear();
    frame(*a, Command::CreateTag, 4, fields({"1", R"({"id":100002,"name":"two"})"}));
    backend.run();
    EXPECT_EQ(a->of(Command::CreateTag).size(), 1u);
    EXPECT_EQ(ask(*a, Command::CreateTag, fields({"1", R"({"id":100003,"name":"three"})"})),
              uint32_t(Status::NotAllowed))
        << "max_tags = 2";
    a->sent.clear();
    frame(*a, Command::GetTags, 4, "1");
    EXPECT_EQ(bodies(*a, Command::GetTags),
              std::vector<std::string>{
                  R"([{"id":100001,"name":"all","deviceIds":[0,1]},{"id":100002,"name":"two","deviceIds":[]}])"});
    EXPECT_EQ(ask(*a, Command::UpdateTag, fields({"1", R"({"id":100002,"name":"two","deviceIds":[1]})"})),
              uint32_t(Status::Ok));
    EXPECT_EQ(dash(1).find_tag(100002)->device_ids, std::vector<int32_t>{1});
    EXPECT_EQ(ask(*a, Command::UpdateTag, fields({"1", R"({"id":100009,"name":"x"})"})),
              uint32_t(Status::IllegalCommand));
    EXPECT_EQ(ask(*a, Command::DeleteTag, fields({"1", "100002"})), uint32_t(Status::Ok));
    EXPECT_EQ(ask(*a, Command::DeleteTag, fields({"1", "100002"})), uint32_t(Status::IllegalCommand));
    EXPECT_EQ(ask(*a, Command::GetTags, "77"), uint32_t(Status::IllegalCommand));
}

TEST_F(AppHubDashboards, ActivateSendsPinModesAndSyncsTheStoredState) {
    dash(1).widgets.push_back(
        widget(R"({"id":20,"type":"BUTTON","width":1,"height":1,"deviceId":0,"pin":13,"pinType":"DIGITAL"})"));
    auto a = app(), b = app();
    auto dev = device(kTokenA);
    dev->sent.clear();
    frame(*dev, Command::Hardware, 2, fields({"vw", "5", "42"}));
    frame(*dev, Command::SetWidgetProperty, 3, fields({"5", "label", "Temp"}));
    EXPECT_EQ(ask(*a, Command::DeactivateDashboard, "1"), uint32_t(Status::Ok));
    EXPECT_EQ(bodies(*b, Command::DeactivateDashboard), std::vector<std::string>{"1"}) << "the other app is told";
    EXPECT_FALSE(dash(1).active);
    a->sent.clear();
    b->sent.clear();
    dev->sent.clear();

    frame(*a, Command::ActivateDashboard, 8, "1");
    EXPECT_TRUE(dash(1).active);
    // Device 1 is offline: the app hears it (the legacy id 1), then OK.
    EXPECT_EQ(status_of(*a, codec::msgid::kPinModes), int64_t(Status::DeviceNotInNetwork));
    EXPECT_EQ(status_of(*a, 8), int64_t(Status::Ok));
    ASSERT_EQ(dev->sent.size(), 1u);
    EXPECT_EQ(dev->sent[0].command, uint8_t(Command::Hardware));
    EXPECT_EQ(dev->sent[0].msg_id, codec::msgid::kPinModes);
    EXPECT_EQ(dev->sent[0].body, fields({"pm", "13", "out"}));
    for (FakeApp* app : {a.get(), b.get()}) {
        auto sync = app->of(Command::AppSync);
        ASSERT_EQ(sync.size(), 1u);
        EXPECT_EQ(sync[0].msg_id, codec::msgid::kAppSync);
        EXPECT_EQ(sync[0].body, fields({"1-0", "vw", "5", "42"}));
        auto props = app->of(Command::SetWidgetProperty);
        ASSERT_EQ(props.size(), 1u);
        EXPECT_EQ(props[0].body, fields({"1-0", "5", "label", "Temp"}));
    }
    EXPECT_EQ(bodies(*b, Command::ActivateDashboard), std::vector<std::string>{"1"});
}

TEST_F(AppHubDashboards, ActivateWithNoDeviceOnlineIsDeviceNotInNetwork) {
    auto a = app();
    frame(*a, Command::ActivateDashboard, 3, "2");
    EXPECT_EQ(status_of(*a, 3), int64_t(Status::DeviceNotInNetwork));
    EXPECT_TRUE(dash(2).active);
    dash(2).notifications_off = true;
    a->sent.clear();
    frame(*a, Command::ActivateDashboard, 4, "2");
    EXPECT_EQ(status_of(*a, 4), int64_t(Status::Ok)) << "isNotificationsOff: no DEVICE_NOT_IN_NETWORK";
    EXPECT_EQ(ask(*a, Command::ActivateDashboard, "77"), uint32_t(Status::IllegalCommand));
}

TEST_F(AppHubDashboards, DeactivatedDashboardsForwardNothingToApps) {
    auto a = app();
    auto dev = device(kTokenA);
    EXPECT_EQ(ask(*a, Command::DeactivateDashboard, "1"), uint32_t(Status::Ok));
    a->sent.clear();
    frame(*dev, Command::Hardware, 2, fields({"vw", "5", "42"}));
    EXPECT_TRUE(a->sent.empty());
    EXPECT_EQ(model.find_token(kTokenA)->find_pin(core::pin_key('v', 5))->value, "42") << "stored all the same";
    // DEACTIVATE without a body: every dashboard.
    EXPECT_EQ(ask(*a, Command::DeactivateDashboard, ""), uint32_t(Status::Ok));
    EXPECT_FALSE(dash(2).active);
}

TEST_F(AppHubDashboards, AppSyncOfADashboardOrOneDevice) {
    dash(1).widgets.push_back(widget(
        R"({"id":21,"type":"SLIDER","width":1,"height":1,"deviceId":0,"pin":13,"pinType":"DIGITAL","pwmMode":true})"));
    auto a = app();
    auto d0 = device(kTokenA), d1 = device(kTokenB);
    frame(*d0, Command::Hardware, 2, fields({"dw", "13", "1"}));
    frame(*d1, Command::Hardware, 2, fields({"vw", "0", "a", "b"}));
    a->sent.clear();
    frame(*a, Command::AppSync, 6, "1");
    EXPECT_EQ(status_of(*a, 6), int64_t(Status::Ok));
    EXPECT_EQ(bodies(*a, Command::AppSync),
              (std::vector<std::string>{fields({"1-0", "aw", "13", "1"}), fields({"1-1", "vw", "0", "a", "b"})}))
        << "a pwm widget's digital pin is reported as analog; multi-values stay whole";
    a->sent.clear();
    frame(*a, Command::AppSync, 7, "1-1");
    EXPECT_EQ(bodies(*a, Command::AppSync), (std::vector<std::string>{fields({"1-1", "vw", "0", "a", "b"})}));
    EXPECT_EQ(ask(*a, Command::AppSync, "77"), uint32_t(Status::IllegalCommand));
    EXPECT_EQ(ask(*a, Command::AppSync, "x"), uint32_t(Status::IllegalCommand));
}

TEST_F(AppHubDashboards, ProfileOwnerAndSharedViews) {
    auto a = app();
    frame(*a, Command::LoadProfileGzipped, 2, "");
    ASSERT_EQ(a->of(Command::LoadProfileGzipped).size(), 1u);
    std::string json;
    ASSERT_TRUE(codec::zlib_inflate(a->of(Command::LoadProfileGzipped)[0].body, 1 << 20, json));
    EXPECT_EQ(json, core::profile_json(me(), core::JsonView::Owner));
    EXPECT_NE(json.find(kTokenA), std::string::npos);
    EXPECT_NE(json.find("Garden"), std::string::npos);

    auto shared = shared_app(1);
    frame(*shared, Command::LoadProfileGzipped, 3, "");
    ASSERT_EQ(shared->of(Command::LoadProfileGzipped).size(), 1u);
    ASSERT_TRUE(codec::zlib_inflate(shared->of(Command::LoadProfileGzipped)[0].body, 1 << 20, json));
    EXPECT_EQ(json.find(kTokenA), std::string::npos) << "a shared app never sees tokens";
    EXPECT_EQ(json.find(dash(1).share_token), std::string::npos);
    EXPECT_EQ(json.find("Garden"), std::string::npos) << "nor another dashboard";
    EXPECT_NE(json.find("Home"), std::string::npos);
}

TEST_F(AppHubDashboards, CloneCodeMakesACopyWithNewTokens) {
    auto a = app();
    frame(*a, Command::GetCloneCode, 2, "1");
    backend.run();
    ASSERT_EQ(a->of(Command::GetCloneCode).size(), 1u);
    std::string code = a->of(Command::GetCloneCode)[0].body;
    EXPECT_EQ(backend.clones[code].find(kTokenA), std::string::npos) << "a clone holds no token";
    a->sent.clear();
    frame(*a, Command::GetProjectByCloneCode, 3, fields({code, "new"}));
    backend.run();
    ASSERT_EQ(a->of(Command::GetProjectByCloneCode).size(), 1u);
    ASSERT_NE(me().find_dash(3), nullptr) << "the next free id";
    core::Device* copy = me().find_device(3, 0);
    ASSERT_NE(copy, nullptr);
    EXPECT_NE(copy->token, kTokenA);
    EXPECT_EQ(ask(*a, Command::GetProjectByCloneCode, "unknown"), uint32_t(Status::ServerError));
}

}  // namespace
