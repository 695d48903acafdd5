// host::dashboard_json and profile_json: the bytes GET /TOKEN/project answers
// with, and what plugins get through the host's profile_json (the legacy
// fields in the legacy order, then the app's own settings).
#include "host/profile_json.hpp"

#include "core/model.hpp"

#include <gtest/gtest.h>

#include <memory>

using blynk::core::Device;

namespace {
Device& add_device(blynk::core::User& u, int dash, int id, std::string name, std::string board = {}) {
    auto d = std::make_unique<Device>();
    d->user = &u;
    d->dash_id = dash;
    d->id = id;
    d->name = std::move(name);
    d->board_type = std::move(board);
    u.devices.push_back(std::move(d));
    return *u.devices.back();
}
}  // namespace

TEST(ProfileJson, NamesTheDashboardAndItsDevicesInTheLegacyOrder) {
    blynk::core::User u;
    blynk::core::Dashboard dash;
    dash.id = 3;
    dash.name = "Greenhouse";
    dash.created_ms = 1700000000123;
    dash.active = false;
    u.dashboards.push_back(dash);
    add_device(u, 3, 0, "Pump", "ESP32");
    add_device(u, 3, 1, "Fan");
    add_device(u, 4, 2, "Elsewhere");  // another dashboard: not listed
    add_device(u, 3, 5, "Gone").removed = true;
    EXPECT_EQ(blynk::host::dashboard_json(u, 3, false),
              R"({"id":3,"name":"Greenhouse","createdAt":1700000000123,"isActive":false,"widgets":[],)"
              R"("devices":[{"id":0,"name":"Pump","boardType":"ESP32"},{"id":1,"name":"Fan"}])"
              R"(,"isShared":false,"isAppConnectedOn":false,"isNotificationsOff":false})");
}

TEST(ProfileJson, ADeviceWithoutADashboardRecordGetsTheDefaultOne) {
    blynk::core::User u;
    add_device(u, 1, 0, "Quote \" back\\slash\nline\ttab\x01");
    EXPECT_EQ(blynk::host::dashboard_json(u, 1, false),
              R"({"id":1,"name":"My Dashboard","createdAt":0,"isActive":true,"widgets":[],)"
              R"("devices":[{"id":0,"name":"Quote \" back\\slash\nline\ttab\u0001"}])"
              R"(,"isShared":false,"isAppConnectedOn":false,"isNotificationsOff":false})");
}

TEST(ProfileJson, TokensOnlyWhenAskedAndEveryDashboardInTheProfile) {
    blynk::core::User u;
    blynk::core::Dashboard dash;
    dash.id = 7;
    dash.name = "Empty";
    u.dashboards.push_back(dash);
    add_device(u, 2, 0, "Lamp").token = "tok-lamp";
    EXPECT_EQ(blynk::host::dashboard_json(u, 2, true),
              R"({"id":2,"name":"My Dashboard","createdAt":0,"isActive":true,"widgets":[],)"
              R"("devices":[{"id":0,"name":"Lamp","token":"tok-lamp","status":"OFFLINE"}])"
              R"(,"isShared":false,"isAppConnectedOn":false,"isNotificationsOff":false})");
    EXPECT_EQ(
        blynk::host::profile_json(u, false),
        R"({"dashBoards":[{"id":2,"name":"My Dashboard","createdAt":0,"isActive":true,"widgets":[],)"
        R"("devices":[{"id":0,"name":"Lamp"}],"isShared":false,"isAppConnectedOn":false,"isNotificationsOff":false},{"id":7,"name":"Empty","createdAt":0,"isActive":true,)"
        R"("widgets":[],"devices":[],"isShared":false,"isAppConnectedOn":false,"isNotificationsOff":false}]})");
    EXPECT_TRUE(blynk::host::has_dashboard(u, 2));
    EXPECT_TRUE(blynk::host::has_dashboard(u, 7));
    EXPECT_FALSE(blynk::host::has_dashboard(u, 3));
}
