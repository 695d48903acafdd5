// host::project_json: the bytes GET /TOKEN/project answers with (the same as
// the hand-built JSON the server made before Boost.JSON built it).
#include "host/project_json.hpp"

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

TEST(ProjectJson, NamesTheDashboardAndItsDevicesInTheLegacyOrder) {
    blynk::core::User u;
    blynk::core::Dashboard dash;
    dash.id = 3;
    dash.name = "Greenhouse";
    dash.created_ms = 1700000000123;
    dash.active = false;
    u.dashboards.push_back(dash);
    Device& a = add_device(u, 3, 0, "Pump", "ESP32");
    add_device(u, 3, 1, "Fan");
    add_device(u, 4, 2, "Elsewhere");  // another dashboard: not listed
    add_device(u, 3, 5, "Gone").removed = true;
    EXPECT_EQ(blynk::host::project_json(a),
              R"({"id":3,"name":"Greenhouse","createdAt":1700000000123,"isActive":false,"widgets":[],)"
              R"("devices":[{"id":0,"name":"Pump","boardType":"ESP32"},{"id":1,"name":"Fan"}]})");
}

TEST(ProjectJson, ADeviceWithoutADashboardRecordGetsTheDefaultOne) {
    blynk::core::User u;
    Device& a = add_device(u, 1, 0, "Quote \" back\\slash\nline\ttab\x01");
    EXPECT_EQ(blynk::host::project_json(a),
              R"({"id":1,"name":"My Dashboard","createdAt":0,"isActive":true,"widgets":[],)"
              R"("devices":[{"id":0,"name":"Quote \" back\\slash\nline\ttab\u0001"}]})");
}
