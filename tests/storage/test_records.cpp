// The storage suite, records: accounts, dashboards, devices, tokens, pins and
// properties, the three load shapes, conflicts and removal cascades; each test
// once per storage plugin.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include "storage_fixture.hpp"

#include <algorithm>

namespace storage_suite {

std::string backend_name(const ::testing::TestParamInfo<std::string>& info) {
    return info.param;
}

namespace {

class Records : public StorageSuite {};
INSTANTIATE_STORAGE_SUITE(Records);

TEST_P(Records, UserRoundTripsEveryFieldAndCreateConflicts) {
    blynk::User u = user("ann@example.com");
    u.is_admin = true;
    ASSERT_TRUE(P().put_user(u, true).ok());
    auto again = P().put_user(u, true);
    EXPECT_EQ(again.status, BLYNK_CONFLICT) << again.message;

    Loaded l;
    ASSERT_TRUE(P().load_user("ann@example.com", l).ok());
    ASSERT_EQ(l.users.size(), 1u);
    EXPECT_EQ(l.users[0].email, u.email);
    EXPECT_EQ(l.users[0].name, u.name);
    EXPECT_EQ(l.users[0].pass_hash, u.pass_hash);  // bytes, the NUL included
    EXPECT_TRUE(l.users[0].is_admin);
    EXPECT_EQ(l.users[0].created_at_ms, u.created_at_ms);
    EXPECT_EQ(l.users[0].json, u.json);
    EXPECT_EQ(l.users[0].energy, u.energy);

    u.name = "Ann B.";
    u.energy = 1;
    ASSERT_TRUE(P().put_user(u, false).ok());  // an update
    Loaded l2;
    ASSERT_TRUE(P().load_user("ann@example.com", l2).ok());
    ASSERT_EQ(l2.users.size(), 1u);
    EXPECT_EQ(l2.users[0].name, "Ann B.");
    EXPECT_EQ(l2.users[0].energy, 1);

    Loaded none;
    EXPECT_EQ(P().load_user("nobody@example.com", none).status, BLYNK_NOT_FOUND);
    EXPECT_TRUE(none.users.empty());
}

TEST_P(Records, LoadShapesAllUserAndToken) {
    seed("a@x", "tokA");
    seed("b@x", "tokB", 7, 3);
    ASSERT_TRUE(P().put_device(device("b@x", 7, 4, "tokB2")).ok());
    ASSERT_TRUE(P().put_pins({pin("a@x", 1, 0, 'v', 1, "10"), pin("b@x", 7, 3, 'd', 2, "1"),
                              pin("b@x", 7, 4, 'v', 5, "hi", "label")})
                    .ok());

    Loaded all;
    ASSERT_TRUE(P().load_all(all).ok());
    EXPECT_EQ(all.order, "UUDDVVVPPP");  // every record after its parent
    EXPECT_EQ(all.users.size(), 2u);

    Loaded b;
    ASSERT_TRUE(P().load_user("b@x", b).ok());
    EXPECT_EQ(b.order, "UDVVPP");
    for (auto& d : b.devices)
        EXPECT_EQ(d.email, "b@x");

    Loaded by_token;
    ASSERT_TRUE(P().load_by_token("tokB2", by_token).ok());
    EXPECT_EQ(by_token.order, "UDVVPP");  // the owner's whole data, not just the device
    ASSERT_NE(by_token.find_pin(4, 'v', 5, "label"), nullptr);
    EXPECT_EQ(by_token.find_pin(4, 'v', 5, "label")->value, "hi");

    Loaded none;
    EXPECT_EQ(P().load_by_token("nope", none).status, BLYNK_NOT_FOUND);
    EXPECT_EQ(P().load_by_token("", none).status, BLYNK_NOT_FOUND);
    EXPECT_TRUE(none.order.empty());
}

TEST_P(Records, DeviceRoundTripsAndTokensAreUnique) {
    seed("a@x", "tok1");
    blynk::Device d = device("a@x", 1, 0, "tok1");
    Loaded l;
    ASSERT_TRUE(P().load_by_token("tok1", l).ok());
    ASSERT_EQ(l.devices.size(), 1u);
    const auto& got = l.devices[0];
    EXPECT_EQ(got.name, d.name);
    EXPECT_EQ(got.board_type, d.board_type);
    EXPECT_EQ(got.hardware_info, d.hardware_info);
    EXPECT_EQ(got.last_ip, d.last_ip);
    EXPECT_EQ(got.json, d.json);
    EXPECT_EQ(got.created_at_ms, d.created_at_ms);

    // Another device may not take the token; the same device may be saved again.
    auto clash = P().put_device(device("a@x", 1, 1, "tok1"));
    EXPECT_EQ(clash.status, BLYNK_CONFLICT) << clash.message;
    EXPECT_TRUE(P().put_device(device("a@x", 1, 0, "tok1")).ok());
    // Devices without a token never clash with each other.
    EXPECT_TRUE(P().put_device(device("a@x", 1, 2, "")).ok());
    EXPECT_TRUE(P().put_device(device("a@x", 1, 3, "")).ok());
    // A token change frees the old one.
    ASSERT_TRUE(P().put_device(device("a@x", 1, 0, "tok2")).ok());
    EXPECT_TRUE(P().put_device(device("a@x", 1, 1, "tok1")).ok());
    Loaded old;
    ASSERT_TRUE(P().load_by_token("tok1", old).ok());
    EXPECT_EQ(P().load_by_token("tok2", old).status, BLYNK_OK);
}

TEST_P(Records, DeviceBeforeItsDashboardCreatesOneAndUnknownUserIsRefused) {
    ASSERT_TRUE(P().put_user(user("a@x"), true).ok());
    ASSERT_TRUE(P().put_device(device("a@x", 9, 0, "t9")).ok());
    Loaded l;
    ASSERT_TRUE(P().load_user("a@x", l).ok());
    ASSERT_EQ(l.dashes.size(), 1u);
    EXPECT_EQ(l.dashes[0].dash_id, 9);
    EXPECT_EQ(P().put_device(device("ghost@x", 1, 0, "tg")).status, BLYNK_NOT_FOUND);
    EXPECT_EQ(P().put_dash(dash("ghost@x", 1)).status, BLYNK_NOT_FOUND);
}

TEST_P(Records, DashboardShareTokenAndJsonRoundTrip) {
    ASSERT_TRUE(P().put_user(user("a@x"), true).ok());
    blynk::Dash d = dash("a@x", 3);
    d.share_token = "share123";
    ASSERT_TRUE(P().put_dash(d).ok());
    ASSERT_TRUE(P().put_dash(dash("a@x", 4)).ok());
    Loaded l;
    ASSERT_TRUE(P().load_user("a@x", l).ok());
    ASSERT_EQ(l.dashes.size(), 2u);
    EXPECT_EQ(l.dashes[0].share_token, "share123");
    EXPECT_EQ(l.dashes[0].json, d.json);
    EXPECT_EQ(l.dashes[1].share_token, "");  // not shared
}

TEST_P(Records, PinsAndPropertiesUpsertLastValueWins) {
    seed("a@x", "t");
    ASSERT_TRUE(P().put_pins({pin("a@x", 1, 0, 'v', 1, "1"), pin("a@x", 1, 0, 'v', 1, "2"),
                              pin("a@x", 1, 0, 'v', 1, "blue", "color"), pin("a@x", 1, 0, 'a', 0, "512")})
                    .ok());
    ASSERT_TRUE(P().put_pins({pin("a@x", 1, 0, 'v', 1,
                                  "3\0"
                                  "4"s)})
                    .ok());  // a multi-value
    Loaded l;
    ASSERT_TRUE(P().load_user("a@x", l).ok());
    EXPECT_EQ(l.pins.size(), 3u);
    ASSERT_NE(l.find_pin(0, 'v', 1), nullptr);
    EXPECT_EQ(l.find_pin(0, 'v', 1)->value,
              "3\0"
              "4"s);
    ASSERT_NE(l.find_pin(0, 'v', 1, "color"), nullptr);
    EXPECT_EQ(l.find_pin(0, 'v', 1, "color")->value, "blue");
    EXPECT_EQ(l.find_pin(0, 'a', 0)->value, "512");
}

TEST_P(Records, PinsOfGoneDevicesAreSkippedAndABadTypeSavesNothing) {
    seed("a@x", "t");
    auto r = P().put_pins({pin("a@x", 1, 0, 'v', 1, "1"), pin("a@x", 1, 99, 'v', 1, "lost")});
    EXPECT_TRUE(r.ok()) << r.message;
    auto bad = P().put_pins({pin("a@x", 1, 0, 'v', 2, "2"), pin("a@x", 1, 0, 'x', 3, "3")});
    EXPECT_NE(bad.status, BLYNK_OK);
    Loaded l;
    ASSERT_TRUE(P().load_user("a@x", l).ok());
    EXPECT_EQ(l.pins.size(), 1u);
    EXPECT_EQ(l.find_pin(0, 'v', 2), nullptr);
}

TEST_P(Records, UpdateDevicesReportsTheMissingOnes) {
    seed("a@x", "t");
    blynk::Device s = device("a@x", 1, 0, "t");
    s.connect_time_ms = 5;
    s.last_ip = "192.0.2.1";
    blynk::Device gone = device("a@x", 1, 42, "x");
    blynk::Device retoken = device("a@x", 1, 0, "other");
    std::vector<uint8_t> missing;
    auto r = P().update_devices({s, gone, retoken}, missing);
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(missing, (std::vector<uint8_t>{0, 1, 1}));
    Loaded l;
    ASSERT_TRUE(P().load_user("a@x", l).ok());
    ASSERT_EQ(l.devices.size(), 1u);
    EXPECT_EQ(l.devices[0].connect_time_ms, 5);
    EXPECT_EQ(l.devices[0].last_ip, "192.0.2.1");
    EXPECT_EQ(l.devices[0].name, "Device 0");  // update_devices never renames
}

TEST_P(Records, RemovalsCascadeAndReportNotFound) {
    seed("a@x", "t0", 1, 0);
    ASSERT_TRUE(P().put_device(device("a@x", 1, 1, "t1")).ok());
    ASSERT_TRUE(P().put_device(device("a@x", 2, 0, "t2")).ok());
    ASSERT_TRUE(
        P().put_pins({pin("a@x", 1, 0, 'v', 1, "1"), pin("a@x", 1, 1, 'v', 1, "1"), pin("a@x", 2, 0, 'v', 1, "1")})
            .ok());

    ASSERT_TRUE(P().remove_device("a@x", 1, 1).ok());
    EXPECT_EQ(P().remove_device("a@x", 1, 1).status, BLYNK_NOT_FOUND);
    Loaded none;
    EXPECT_EQ(P().load_by_token("t1", none).status, BLYNK_NOT_FOUND);  // the token is free

    ASSERT_TRUE(P().remove_dash("a@x", 2).ok());
    EXPECT_EQ(P().remove_dash("a@x", 2).status, BLYNK_NOT_FOUND);
    Loaded l;
    ASSERT_TRUE(P().load_user("a@x", l).ok());
    EXPECT_EQ(l.dashes.size(), 1u);
    EXPECT_EQ(l.devices.size(), 1u);
    EXPECT_EQ(l.pins.size(), 1u);

    ASSERT_TRUE(P().remove_user("a@x").ok());
    EXPECT_EQ(P().remove_user("a@x").status, BLYNK_NOT_FOUND);
    Loaded all;
    ASSERT_TRUE(P().load_all(all).ok());
    EXPECT_TRUE(all.order.empty());
    // The email may be registered again, from scratch.
    EXPECT_TRUE(P().put_user(user("a@x"), true).ok());
    EXPECT_TRUE(P().put_device(device("a@x", 1, 0, "t0")).ok());
}

}  // namespace
}  // namespace storage_suite
