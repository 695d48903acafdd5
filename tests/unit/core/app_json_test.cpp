// core::app_json: a dashboard as an app sends it (widgets of several types with
// fields the server does not know, multi-pin widgets, tags, devices) read
// into the model, kept as the storage blob, loaded back and written out again
// is the same dashboard; pin modes; what the public and clone views leave out.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <memory>
#include <string>

#include "core/app_json.hpp"
#include "core/model.hpp"

using namespace blynk;
namespace json = boost::json;

namespace {

// One of each kind the server reads differently: a control with fields it does
// not know, a pwm slider, a display on an analog pin, a multi-pin zeRGBa and
// joystick, a terminal and a graph (no pin modes; nested unknown objects), a
// device selector, and a widget of a type this server has never heard of.
const char* const kWidgets[] = {
    R"({"id":1,"x":0,"y":0,"width":2,"height":1,"type":"BUTTON","deviceId":0,"pin":13,"pinType":"DIGITAL",)"
    R"("pushMode":false,"onLabel":"ON","offLabel":"OFF","color":600084223,"min":0,"max":1,"label":"Lamp"})",
    R"({"id":2,"x":2,"y":0,"width":4,"height":1,"type":"SLIDER","deviceId":0,"pin":5,"pinType":"DIGITAL",)"
    R"("pwmMode":true,"sendOnReleaseOn":true,"frequency":100,"min":0,"max":255})",
    R"({"id":3,"x":0,"y":1,"width":2,"height":2,"type":"GAUGE","deviceId":0,"pin":0,"pinType":"ANALOG",)"
    R"("frequency":1000,"valueFormatting":"/pin.#/ C"})",
    R"({"id":4,"x":2,"y":1,"width":4,"height":3,"type":"RGB","deviceId":0,"splitMode":true,"sendOnReleaseOn":false,)"
    R"("pins":[{"pin":1,"pinType":"DIGITAL","min":0,"max":255},{"pin":2,"pinType":"DIGITAL","min":0,"max":255},)"
    R"({"pin":3,"pinType":"DIGITAL","min":0,"max":255}]})",
    R"({"id":5,"x":0,"y":4,"width":4,"height":4,"type":"TWO_AXIS_JOYSTICK","deviceId":1,"split":false,)"
    R"("pins":[{"pin":7,"pinType":"VIRTUAL","min":0,"max":255},{"pin":8,"pinType":"VIRTUAL","min":0,"max":255}]})",
    R"({"id":6,"x":0,"y":8,"width":8,"height":4,"type":"TERMINAL","deviceId":0,"pin":9,"pinType":"VIRTUAL",)"
    R"("autoScrollOn":true,"terminalInputOn":true,"textLightOn":false})",
    R"({"id":7,"x":0,"y":12,"width":8,"height":4,"type":"ENHANCED_GRAPH","yAxisValues":true,)"
    R"("dataStreams":[{"title":"T","graphType":"LINE","color":-1,"pin":{"pin":10,"pinType":"VIRTUAL","deviceId":0},)"
    R"("functionType":"AVG","yAxisMin":0.5,"yAxisMax":99.5,"showYAxis":true}],"period":"ONE_HOUR"})",
    R"({"id":200001,"x":6,"y":0,"width":2,"height":1,"type":"DEVICE_SELECTOR","value":1,"deviceIds":[0,1]})",
    R"({"id":9,"x":6,"y":1,"width":2,"height":1,"type":"HOLOGRAM","deviceId":0,"pin":11,"pinType":"VIRTUAL",)"
    R"("beam":{"angle":1.25,"colors":["red","green"]},"nullField":null})",
};

std::string dashboard_text() {
    std::string widgets;
    for (const char* w : kWidgets)
        widgets += std::string(widgets.empty() ? "" : ",") + w;
    return R"({"id":4,"name":"Greenhouse","createdAt":1600000000000,"updatedAt":1600000001000,"isActive":true,)"
           R"("isShared":true,"isAppConnectedOn":true,"isNotificationsOff":false,"theme":"BlynkLight",)"
           R"("keepScreenOn":true,"widgets":[)" +
           widgets +
           R"(],"tags":[{"id":100001,"name":"all","deviceIds":[0,1]}],)"
           R"("devices":[{"id":0,"name":"Esp","boardType":"ESP32","vendor":"Espressif","connectionType":"WI_FI",)"
           R"("iconName":"ESP32"},{"id":1,"name":"Uno","boardType":"Arduino UNO"}]})";
}

// A user holding the dashboard `text` describes, with its devices.
std::unique_ptr<core::User> user_with(const std::string& text) {
    auto u = std::make_unique<core::User>();
    u->email = "me@example.com";
    core::Dashboard dash;
    std::vector<core::DeviceJson> devices;
    std::string err;
    EXPECT_TRUE(core::parse_dashboard(text, dash, &devices, err)) << err;
    for (auto& spec : devices) {
        auto d = std::make_unique<core::Device>();
        d->user = u.get();
        d->dash_id = dash.id;
        d->id = spec.id;
        d->name = spec.name;
        d->board_type = spec.board_type;
        d->settings_json = spec.settings_json;
        d->token = std::string(32, char('A' + spec.id));
        u->devices.push_back(std::move(d));
    }
    u->dashboards.push_back(std::move(dash));
    return u;
}

json::value parsed(const std::string& text) {
    return json::parse(text);
}

TEST(AppJson, ADashboardSurvivesTheStorageBlobUnchanged) {
    auto u = user_with(dashboard_text());
    core::Dashboard& dash = u->dashboards[0];
    dash.share_token = "SHARESHARESHARESHARESHARESHARE12";
    std::string before = core::dashboard_json(*u, 4, core::JsonView::Owner);

    // Storage keeps the record (id, name, active, created) and the blob.
    std::string blob = core::dashboard_blob(dash);
    core::Dashboard loaded;
    loaded.id = dash.id;
    loaded.name = dash.name;
    loaded.active = dash.active;
    loaded.created_ms = dash.created_ms;
    ASSERT_TRUE(core::load_dashboard_blob(blob, loaded));
    dash = std::move(loaded);
    EXPECT_EQ(parsed(core::dashboard_json(*u, 4, core::JsonView::Owner)), parsed(before));
    EXPECT_EQ(u->dashboards[0].share_token, "SHARESHARESHARESHARESHARESHARE12");
    ASSERT_EQ(u->dashboards[0].widgets.size(), std::size(kWidgets));
    EXPECT_EQ(u->dashboards[0].widgets[3].pins.size(), 3u) << "multi-pin widgets keep their pins";
    EXPECT_TRUE(u->dashboards[0].widgets[1].pwm);
}

TEST(AppJson, EveryWidgetComesBackAsTheAppSentIt) {
    auto u = user_with(dashboard_text());
    json::value out = parsed(core::dashboard_json(*u, 4, core::JsonView::Owner));
    const json::array& widgets = out.as_object().at("widgets").as_array();
    ASSERT_EQ(widgets.size(), std::size(kWidgets));
    for (size_t i = 0; i < widgets.size(); ++i)
        EXPECT_EQ(widgets[i], parsed(kWidgets[i])) << "widget " << i;
    const json::object& o = out.as_object();
    EXPECT_EQ(o.at("theme"), "BlynkLight") << "unknown dashboard fields are kept";
    EXPECT_EQ(o.at("keepScreenOn"), true);
    EXPECT_EQ(o.at("tags"), parsed(R"([{"id":100001,"name":"all","deviceIds":[0,1]}])"));
    const json::array& devices = o.at("devices").as_array();
    ASSERT_EQ(devices.size(), 2u);
    EXPECT_EQ(devices[0].as_object().at("vendor"), "Espressif");
    EXPECT_EQ(devices[0].as_object().at("iconName"), "ESP32");
    EXPECT_EQ(devices[0].as_object().at("token"), json::value(std::string(32, 'A')));
    EXPECT_EQ(devices[0].as_object().at("status"), "OFFLINE");
}

TEST(AppJson, ReadingTheOwnerViewAgainGivesTheSameProfile) {
    auto u = user_with(dashboard_text());
    std::string first = core::profile_json(*u, core::JsonView::Owner);
    json::value profile = parsed(first);
    auto again = user_with(json::serialize(profile.as_object().at("dashBoards").as_array().at(0)));
    EXPECT_EQ(parsed(core::profile_json(*again, core::JsonView::Owner)), parsed(first));
}

TEST(AppJson, WidgetValuesComeFromThePins) {
    auto u = user_with(dashboard_text());
    core::Device& esp = *u->devices[0];
    esp.pin(core::pin_key('d', 13)).value = "1";
    json::value owner = parsed(core::dashboard_json(*u, 4, core::JsonView::Owner));
    EXPECT_EQ(owner.at("widgets").as_array()[0].as_object().at("value"), "1");
    json::value clone = parsed(core::dashboard_json(*u, 4, core::JsonView::Clone));
    for (auto& w : clone.at("widgets").as_array())
        EXPECT_FALSE(w.as_object().contains("value")) << json::serialize(w);
}

TEST(AppJson, PublicAndCloneViewsHoldNoTokens) {
    auto u = user_with(dashboard_text());
    u->dashboards[0].share_token = "SHARESHARESHARESHARESHARESHARE12";
    u->devices[0]->last_ip = "203.0.113.5";
    for (core::JsonView view : {core::JsonView::Public, core::JsonView::Clone}) {
        std::string text = core::dashboard_json(*u, 4, view);
        EXPECT_EQ(text.find(std::string(32, 'A')), std::string::npos);
        EXPECT_EQ(text.find(std::string(32, 'B')), std::string::npos);
        EXPECT_EQ(text.find("SHARESHARE"), std::string::npos);
        EXPECT_EQ(text.find("203.0.113.5"), std::string::npos);
        EXPECT_EQ(text.find("\"token\""), std::string::npos);
        EXPECT_NE(text.find("Greenhouse"), std::string::npos);
        EXPECT_NE(text.find("Espressif"), std::string::npos) << "public device fields stay";
    }
    std::string owner = core::dashboard_json(*u, 4, core::JsonView::Owner);
    EXPECT_NE(owner.find("SHARESHARE"), std::string::npos);
}

TEST(AppJson, PinModesOfADevice) {
    auto u = user_with(dashboard_text());
    const core::Dashboard& dash = u->dashboards[0];
    // Digital and analog pins only, controls `out`, displays `in`; terminal,
    // graph and selector add nothing; the joystick (virtual pins) is device 1's.
    std::string expected = "pm";
    for (const char* part : {"13", "out", "5", "out", "0", "in", "1", "out", "2", "out", "3", "out"}) {
        expected.push_back('\0');
        expected += part;
    }
    EXPECT_EQ(core::pin_modes(dash, 0), expected);
    EXPECT_EQ(core::pin_modes(dash, 1), "");
    EXPECT_EQ(core::pin_modes(dash, 7), "");
}

TEST(AppJson, BadJsonIsRefusedWithAReason) {
    core::Widget w;
    core::Tag t;
    core::DeviceJson d;
    core::Dashboard dash;
    std::string err;
    EXPECT_FALSE(core::parse_widget("{", w, err));
    EXPECT_FALSE(err.empty());
    EXPECT_FALSE(core::parse_widget(R"({"type":"BUTTON"})", w, err)) << "no id";
    EXPECT_FALSE(core::parse_widget(R"({"id":"1"})", w, err)) << "id not a number";
    EXPECT_FALSE(core::parse_tag(R"({"id":5,"name":"x"})", t, err)) << "tag ids start at 100000";
    EXPECT_FALSE(core::parse_device(R"({"id":100000,"name":"x"})", d, err)) << "device ids end at 99999";
    EXPECT_FALSE(core::parse_dashboard(R"({"id":1,"widgets":[{"id":1},{"id":1}]})", dash, nullptr, err))
        << "two widgets with one id";
    EXPECT_FALSE(core::parse_dashboard(R"({"id":1,"widgets":{}})", dash, nullptr, err));
    EXPECT_FALSE(core::parse_dashboard("[1]", dash, nullptr, err));
    EXPECT_FALSE(core::load_dashboard_blob("{", dash));
    EXPECT_TRUE(core::load_dashboard_blob("", dash)) << "a dashboard stored before blobs existed";
}

}  // namespace
