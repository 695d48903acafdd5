// host::parse_legacy_user (kernel/host/legacy_user.cpp): what import-legacy
// reads of a legacy `.user` file, field by field, and what it refuses.
#include <gtest/gtest.h>

#include "core/app_json.hpp"
#include "host/legacy_user.hpp"

namespace blynk::host {
namespace {

LegacyUser parse_ok(const std::string& json, const std::string& hint = "") {
    LegacyUser lu;
    std::string err;
    EXPECT_TRUE(parse_legacy_user(json, hint, lu, err)) << err;
    return lu;
}

std::string parse_error(const std::string& json, const std::string& hint = "") {
    LegacyUser lu;
    std::string err;
    EXPECT_FALSE(parse_legacy_user(json, hint, lu, err));
    return err;
}

std::string pin(const LegacyUser& lu, int32_t dash, int32_t device, char type, uint8_t p) {
    const core::Device* d = lu.user->find_device(dash, device);
    if (!d) return "<no device>";
    const core::PinValue* v = d->find_pin(core::pin_key(type, p));
    return v ? v->value : "<none>";
}

const char* kUser = R"({"email":"Ann@Example.com","name":"Ann","pass":"hash","appName":"Blynk","region":"fra1",
 "ip":"10.0.0.1","lastLoggedIP":"10.0.0.2","lastLoggedAt":5,"lastModifiedTs":6,"id":"ann@example.com-Blynk",
 "isSuperAdmin":true,"energy":1234,
 "profile":{"apps":[{"id":"blynkabcdefgh"}],
  "dashBoards":[{"id":1,"name":"A","createdAt":100,"isActive":true,
    "widgets":[{"type":"SLIDER","id":1,"deviceId":0,"pin":3,"value":7},
               {"type":"GAUGE","id":2,"deviceId":0,"pin":4,"value":2.5},
               {"type":"BUTTON","id":3,"deviceId":100000,"pin":9,"value":"1"}],
    "devices":[{"id":0,"name":"esp","token":"tokA"},{"id":1,"name":"uno","token":"tokB"}],
    "pinsStorage":{"1-v7":"old-map","0-v8-label-x":"L","bad":"x","5-v1":"no such device"}}],
  "pinsStorage":{"1-1-v7":{"type":"TERMINAL","values":["a","b","last"]},"1-0-v3":"newer","1-0-d13":"1",
                 "1-0-v3-max":"255","2-0-v1":"other dashboard"}}})";

TEST(LegacyUser, ReadsTheAccountItsSettingsAndDropsWhatBelongedToTheOldServer) {
    LegacyUser lu = parse_ok(kUser);
    const core::User& u = *lu.user;
    EXPECT_EQ(u.email, "ann@example.com");
    EXPECT_EQ(u.name, "Ann");
    EXPECT_TRUE(u.is_admin);
    EXPECT_EQ(u.energy, 1234);
    EXPECT_EQ(lu.client_hash, "hash");
    EXPECT_EQ(u.created_ms, 100);
    EXPECT_EQ(u.settings_json, R"({"appName":"Blynk","region":"fra1","apps":[{"id":"blynkabcdefgh"}]})");
    ASSERT_EQ(u.devices.size(), 2u);
    EXPECT_EQ(u.devices[1]->token, "tokB");
}

TEST(LegacyUser, PinValuesFromWidgetsAndBothPinsStorageFormsTheProfileMapWinning) {
    LegacyUser lu = parse_ok(kUser);
    EXPECT_EQ(pin(lu, 1, 0, 'v', 3), "newer");  // the widget said 7; the profile map is newer
    EXPECT_EQ(pin(lu, 1, 0, 'v', 4), "2.5");    // a JSON number, as a device writes it
    EXPECT_EQ(pin(lu, 1, 0, 'd', 13), "1");
    EXPECT_EQ(pin(lu, 1, 1, 'v', 7), "last");    // a queue keeps its last value
    EXPECT_EQ(pin(lu, 1, 0, 'v', 9), "<none>");  // a widget on a tag gives no device a value
    const core::Device* d0 = lu.user->find_device(1, 0);
    ASSERT_TRUE(d0);
    ASSERT_EQ(d0->properties.size(), 2u);
    EXPECT_EQ(d0->properties[0].name, "label-x");  // a property may hold '-'
    EXPECT_EQ(d0->properties[0].value, "L");
    EXPECT_EQ(d0->properties[1].name, "max");
    // "bad", the device 5 of the per-dash map, and dashboard 2 of the profile map name nothing here.
    EXPECT_EQ(lu.pins_dropped, 3u);
    EXPECT_EQ(lu.pins, 6u);
}

TEST(LegacyUser, TheOlderFileFormTakesTheEmailFromItsNameAndAMismatchIsRefused) {
    LegacyUser lu = parse_ok(R"({"name":"Old"})", "old@example.com");
    EXPECT_EQ(lu.user->email, "old@example.com");
    EXPECT_NE(parse_error(R"({"email":"a@example.com"})", "b@example.com").find("b@example.com"), std::string::npos);
}

TEST(LegacyUser, RefusesWhatIsNotAWholeLegacyAccountSayingWhy) {
    EXPECT_NE(parse_error(R"({"email":"a@b.c","profile":{"dashBoards":[)").find("invalid JSON"), std::string::npos);
    EXPECT_NE(parse_error("[1]").find("not a JSON object"), std::string::npos);
    EXPECT_NE(parse_error(R"({"email":"not-an-email"})").find("not a valid e-mail"), std::string::npos);
    EXPECT_NE(parse_error(R"({"email":"a@b.c","energy":"lots"})").find("energy"), std::string::npos);
    EXPECT_NE(parse_error(R"({"email":"a@b.c","profile":{"dashBoards":[{"id":1,"widgets":[{"type":"BUTTON"}]}]}})")
                  .find("dashboard 1"),
              std::string::npos);
    EXPECT_NE(parse_error(R"({"email":"a@b.c","profile":{"dashBoards":[{"id":1},{"id":1}]}})").find("two dashboards"),
              std::string::npos);
    EXPECT_NE(parse_error(R"({"email":"a@b.c","profile":{"dashBoards":[{"id":1,"devices":[{"id":0,"token":"t"},
              {"id":1,"token":"t"}]}]}})")
                  .find("share one token"),
              std::string::npos);
    std::string deep = R"({"email":"a@b.c","x":)" + std::string(100, '[') + std::string(100, ']') + "}";
    EXPECT_NE(parse_error(deep).find("invalid JSON"), std::string::npos);
}

TEST(LegacyUser, TheFingerprintIgnoresPinValuesButNotTokens) {
    LegacyUser a = parse_ok(kUser), b = parse_ok(kUser);
    EXPECT_EQ(import_fingerprint(*a.user), import_fingerprint(*b.user));
    b.user->devices[0]->pin(core::pin_key('v', 3)).value = "changed by the device";
    EXPECT_EQ(import_fingerprint(*a.user), import_fingerprint(*b.user));
    b.user->devices[0]->token = "other";
    EXPECT_NE(import_fingerprint(*a.user), import_fingerprint(*b.user));
}

}  // namespace
}  // namespace blynk::host
