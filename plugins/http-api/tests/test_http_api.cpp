// Unit tests of the http-api plugin. The built module is loaded the way the
// kernel loads it, by the SDK's fake host (blynk/plugin_testing.hpp), and its
// routes are called through the C tables of plugin.h. The fake host plays the
// kernel: tokens, devices and pins in a map, token lookups answered at once or
// later, a worker pool the test drains by hand.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include <blynk/plugin_testing.hpp>

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#if HTTP_API_QR_BUILT
#include <qrencode.h>
#include <zlib.h>
#endif

#ifndef BLYNK_PLUGIN_MODULE
#error "BLYNK_PLUGIN_MODULE must name the built module (blynk_add_plugin_test ... PLUGIN http-api)"
#endif

namespace fs = std::filesystem;
using namespace std::string_literals;
using blynk::testing::Setting;
using Request = blynk::testing::HttpCall;
using Answer = std::shared_ptr<blynk::testing::HttpAnswer>;

namespace {

// ------------------------------------------------------------------ harness

// One host and one plugin for the process: the plugin is created once.
struct Module {
    blynk::testing::TempDir tmp{"http-api-test"};
    std::string data_dir = (fs::path(tmp.path()) / "data").string();
    blynk::testing::FakeHost host{data_dir, "test"};
    blynk::testing::PluginUnderTest plugin{host};
    Module() { plugin.load_module(BLYNK_PLUGIN_MODULE); }
};

Module& mod() {
    static Module* m = new Module;
    return *m;
}
blynk::testing::PluginUnderTest& plugin() {
    return mod().plugin;
}
// The fake kernel: its devices, switches and what the plugin did to it.
blynk::testing::FakeHost& kernel() {
    return mod().host;
}

const std::string kProject = R"({"id":1,"name":"My Dashboard","widgets":[]})";

blynk::testing::FakeDevice fake_device() {
    blynk::testing::FakeDevice d;
    d.email = "me@example.com";
    d.name = "esp32";
    d.board_type = "ESP32";
    return d;
}

std::pair<int, std::string> init_with(const std::vector<Setting>& settings) {
    auto r = plugin().init(settings);
    return {r.status, r.message};
}

// Matches the request against the plugin's routes as the kernel does and calls
// the handler; nullptr for an unmatched request (the kernel's 404).
Answer call(const Request& rq) {
    return plugin().call(rq);
}

Answer get(const std::string& path) {
    return call({"GET", path, {}, "", false});
}
Answer json_call(const std::string& method, const std::string& path, const std::string& body,
                 const std::string& ctype = "application/json") {
    Request r{method, path, {}, body, false};
    if (!ctype.empty()) r.headers.emplace_back("Content-Type", ctype);
    return call(r);
}

const std::string T1 = "AbCdEfGhIjKlMnOpQrStUvWxYz012-_9";  // 32 chars
const std::string T2 = "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz";
const std::string UNKNOWN = "00000000000000000000000000000000";

const char* kText = "text/plain;charset=utf-8";
const char* kJson = "application/json;charset=utf-8";

class HttpApi : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(plugin().loaded()) << plugin().error();
        kernel().reset_kernel();
        kernel().devices[T1] = fake_device();
        kernel().devices[T2] = fake_device();
        // What the plugin serves as /project: the dashboard (no tokens) by profile_json.
        kernel().profiles[{"me@example.com", 1}] = {kProject, "not served: it has tokens"};
        ASSERT_EQ(init_with({}).first, BLYNK_OK);
    }
};

#define EXPECT_ANSWER(a, st, ctype, text)        \
    do {                                         \
        const auto& answer_ = (a);               \
        ASSERT_TRUE(answer_);                    \
        EXPECT_EQ(answer_->answers, 1);          \
        EXPECT_EQ(answer_->status, (st));        \
        EXPECT_EQ(answer_->content_type, ctype); \
        EXPECT_EQ(answer_->body, text);          \
    } while (0)

#define EXPECT_TEXT(a, st, text) EXPECT_ANSWER(a, st, kText, text)
#define EXPECT_EMPTY_200(a) EXPECT_ANSWER(a, 200, "", "")

// A gzip body inflated (the CSV export); "" if it is not one.
std::string http_api_gunzip(const std::string& gz) {
    z_stream z{};
    if (inflateInit2(&z, 15 + 16) != Z_OK) return {};
    std::string out(1 << 20, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
    z.avail_in = uInt(gz.size());
    z.next_out = reinterpret_cast<Bytef*>(&out[0]);
    z.avail_out = uInt(out.size());
    int rc = inflate(&z, Z_FINISH);
    out.resize(out.size() - z.avail_out);
    inflateEnd(&z);
    return rc == Z_STREAM_END ? out : std::string();
}

// ------------------------------------------------------------------- tests

TEST_F(HttpApi, ServesTheFourteenLegacyRoutes) {
    std::vector<std::string> got = plugin().routes();
    std::vector<std::string> want = {"GET /{token}/get/{pin}",
                                     "GET /{token}/update/{pin}",
                                     "PUT /{token}/update/{pin}",
                                     "PUT /{token}/pin/{pin}",
                                     "PUT /{token}/extra/pin/{pin}",
                                     "GET /{token}/isHardwareConnected",
                                     "GET /{token}/isAppConnected",
                                     "GET /{token}/project",
                                     "GET /{token}/rtc",
                                     "POST /{token}/notify",
                                     "POST /{token}/email",
                                     "GET /{token}/data/{pin}",
                                     "GET /{token}/qr",
                                     "GET /{token}/clone"};
    EXPECT_EQ(got, want);
    EXPECT_EQ(plugin().name(), "http-api");
}

TEST_F(HttpApi, MalformedTokensAreRefusedWithoutAskingTheKernel) {
    for (std::string bad : {"short"s, T1 + "x", T1.substr(0, 31) + "!", T1.substr(0, 31) + ".", T1.substr(0, 31) + " ",
                            "%2F" + T1.substr(3), "%00" + T1.substr(3)}) {
        SCOPED_TRACE(bad);
        auto a = get("/" + bad + "/get/v1");
        EXPECT_TEXT(a, 400, "Invalid token.");
        a = get("/" + bad + "/isHardwareConnected");
        EXPECT_TEXT(a, 400, "Invalid token.");
    }
    EXPECT_TRUE(kernel().token_lookups.empty());
}

TEST_F(HttpApi, UnknownTokenIsInvalidOnEveryRoute) {
    for (auto& a : {get("/" + UNKNOWN + "/get/v1"), get("/" + UNKNOWN + "/update/v1?value=1"),
                    json_call("PUT", "/" + UNKNOWN + "/update/v1", R"(["1"])"),
                    json_call("PUT", "/" + UNKNOWN + "/pin/v1", R"(["1"])"),
                    json_call("PUT", "/" + UNKNOWN + "/extra/pin/v1", R"([{"value":"1"}])"),
                    get("/" + UNKNOWN + "/isHardwareConnected"), get("/" + UNKNOWN + "/isAppConnected"),
                    get("/" + UNKNOWN + "/project"), get("/" + UNKNOWN + "/rtc"),
                    json_call("POST", "/" + UNKNOWN + "/notify", R"({"body":"x"})"),
                    json_call("POST", "/" + UNKNOWN + "/email", R"({"to":"a@b.c","subj":"s"})"),
                    get("/" + UNKNOWN + "/data/v1"), get("/" + UNKNOWN + "/qr")}) {
        EXPECT_TEXT(a, 400, "Invalid token.");
    }
    EXPECT_EQ(kernel().token_lookups.size(), 13u);
    EXPECT_TRUE(kernel().pin_writes.empty());
}

// Storage cannot look a token up (failing, or too busy): 503 with Retry-After,
// never "Invalid token." (which would tell the client its token is wrong).
TEST_F(HttpApi, AnUnavailableLookupIs503NotInvalidToken) {
    kernel().storage_unavailable = true;
    for (auto& a : {get("/" + UNKNOWN + "/get/v1"), get("/" + UNKNOWN + "/update/v1?value=1"),
                    get("/" + UNKNOWN + "/isHardwareConnected")}) {
        EXPECT_TEXT(a, 503, "Storage is not available; try again later.");
        bool retry_after = false;
        for (auto& [k, v] : a->headers)
            retry_after = retry_after || (k == "Retry-After" && v == "5");
        EXPECT_TRUE(retry_after);
    }
    EXPECT_TRUE(kernel().pin_writes.empty());
    // A token the kernel has in memory is served as usual meanwhile.
    EXPECT_ANSWER(get("/" + T1 + "/isHardwareConnected"), 200, kJson, "false");
}

TEST_F(HttpApi, TokenComesBeforePinAndBody) {
    EXPECT_TEXT(get("/" + UNKNOWN + "/get/x8"), 400, "Invalid token.");
    EXPECT_TEXT(json_call("PUT", "/" + UNKNOWN + "/update/x8", "{bad", "text/plain"), 400, "Invalid token.");
    EXPECT_TEXT(json_call("PUT", "/" + T1 + "/update/x8", "{bad", "text/plain"), 400, "Wrong pin format.");
    EXPECT_TEXT(get("/" + UNKNOWN + "/data/x8"), 400, "Invalid token.");
}

TEST_F(HttpApi, AnswersLaterWhenTheTokenIsLookedUpAsynchronously) {
    kernel().defer_token_lookups = true;
    kernel().devices[T1].pins[{'v', 3}] = "42";
    auto a = get("/" + T1 + "/get/V3");
    auto b = get("/" + T1 + "/update/v4?value=x&value=y");
    auto c = json_call("PUT", "/" + T1 + "/pin/d7", R"(["1","2"])");
    auto d = get("/" + UNKNOWN + "/get/v3");
    EXPECT_EQ(a->answers + b->answers + c->answers + d->answers, 0);
    kernel().run_token_lookups();  // the request memory was overwritten in between
    EXPECT_ANSWER(a, 200, kJson, R"(["42"])");
    EXPECT_EMPTY_200(b);
    EXPECT_EMPTY_200(c);
    EXPECT_TEXT(d, 400, "Invalid token.");
    ASSERT_EQ(kernel().pin_writes.size(), 2u);
    EXPECT_EQ(kernel().pin_writes[0].value, "x\0y"s);
    EXPECT_EQ(kernel().pin_writes[1].pin_type, 'd');
    EXPECT_EQ(kernel().pin_writes[1].pin, 7);
    EXPECT_EQ(kernel().pin_writes[1].value, "1\0002"s);
}

TEST_F(HttpApi, GetPin) {
    auto& pins = kernel().devices[T1].pins;
    pins[{'v', 1}] = "1";
    pins[{'v', 2}] = "a\0b\0\0c"s;
    pins[{'d', 13}] = "0";
    pins[{'a', 255}] = "";
    pins[{'v', 9}] = "quote\" back\\slash \x01 ctrl é ✓ \xff bad";
    EXPECT_ANSWER(get("/" + T1 + "/get/v1"), 200, kJson, R"(["1"])");
    EXPECT_ANSWER(get("/" + T1 + "/get/V1"), 200, kJson, R"(["1"])");
    EXPECT_ANSWER(get("/" + T1 + "/get/v2"), 200, kJson, R"(["a","b","","c"])");
    EXPECT_ANSWER(get("/" + T1 + "/get/D13"), 200, kJson, R"(["0"])");
    EXPECT_ANSWER(get("/" + T1 + "/get/a255"), 200, kJson, R"([""])");
    EXPECT_ANSWER(get("/" + T1 + "/get/v9"), 200, kJson,
                  "[\"quote\\\" back\\\\slash \\u0001 ctrl é ✓ \xEF\xBF\xBD bad\"]");
    EXPECT_TEXT(get("/" + T1 + "/get/v3"), 400, "Requested pin doesn't exist in the app.");
    EXPECT_TEXT(get("/" + T1 + "/get/d1"), 400, "Requested pin doesn't exist in the app.");
    // another device's pins are its own
    EXPECT_TEXT(get("/" + T2 + "/get/v1"), 400, "Requested pin doesn't exist in the app.");
}

TEST_F(HttpApi, PinFormat) {
    for (const char* bad : {"x8", "v256", "V", "v-1", "v+1", "v 1", "vv1", "1", "v1.0", "v1a", "v99999999999", "%76"}) {
        SCOPED_TRACE(bad);
        EXPECT_TEXT(get("/" + T1 + "/get/" + bad), 400, "Wrong pin format.");
        EXPECT_TEXT(get("/" + T1 + "/update/" + bad + "?value=1"), 400, "Wrong pin format.");
        EXPECT_TEXT(json_call("PUT", "/" + T1 + "/update/" + bad, R"(["1"])"), 400, "Wrong pin format.");
        EXPECT_TEXT(json_call("PUT", "/" + T1 + "/pin/" + bad, R"(["1"])"), 400, "Wrong pin format.");
        EXPECT_TEXT(json_call("PUT", "/" + T1 + "/extra/pin/" + bad, R"([{"value":"1"}])"), 400, "Wrong pin format.");
        EXPECT_TEXT(get("/" + T1 + "/data/" + bad), 400, "Wrong pin format.");
    }
    EXPECT_TRUE(kernel().pin_writes.empty());
    for (const char* good : {"v0", "V255", "d0", "D13", "a0", "A7", "v007"}) {
        SCOPED_TRACE(good);
        EXPECT_EMPTY_200(get("/" + T1 + "/update/" + good + "?value=1"));
    }
    ASSERT_EQ(kernel().pin_writes.size(), 7u);
    EXPECT_EQ(kernel().pin_writes[1].pin_type, 'v');
    EXPECT_EQ(kernel().pin_writes[1].pin, 255);
    EXPECT_EQ(kernel().pin_writes[5].pin_type, 'a');
    EXPECT_EQ(kernel().pin_writes[6].pin, 7);
}

TEST_F(HttpApi, GetUpdateWritesValues) {
    EXPECT_EMPTY_200(get("/" + T1 + "/update/v1?value=42"));
    EXPECT_EMPTY_200(get("/" + T1 + "/update/V2?value=1&value=2&value=3"));
    EXPECT_EMPTY_200(get("/" + T1 + "/update/v3?value=hello+world%21&other=x"));
    EXPECT_TEXT(get("/" + T1 + "/update/v4?value="), 400, "No pin for update provided.");
    EXPECT_TEXT(get("/" + T1 + "/update/v4?value"), 400, "No pin for update provided.");
    EXPECT_TEXT(json_call("PUT", "/" + T1 + "/update/v4", R"([""])"), 400, "No pin for update provided.");
    EXPECT_EMPTY_200(get("/" + T1 + "/update/v4?value=&value=x"));
    EXPECT_EMPTY_200(get("/" + T1 + "/update/v5?value=%E2%9C%93&label=ignored"));
    ASSERT_EQ(kernel().pin_writes.size(), 5u);
    EXPECT_EQ(kernel().pin_writes[0].token, T1);
    EXPECT_EQ(kernel().pin_writes[0].value, "42");
    EXPECT_EQ(kernel().pin_writes[1].value, "1\0002\0003"s);
    EXPECT_EQ(kernel().pin_writes[2].value, "hello world!");
    EXPECT_EQ(kernel().pin_writes[3].value, "\0x"s);
    EXPECT_EQ(kernel().pin_writes[4].value, "✓");
    EXPECT_TRUE(kernel().property_writes.empty());
    EXPECT_ANSWER(get("/" + T1 + "/get/v2"), 200, kJson, R"(["1","2","3"])");
}

TEST_F(HttpApi, AWriteAnAccessHookRefusesIs403AndNotStored) {
    kernel().deny_pin_writes = true;
    EXPECT_TEXT(get("/" + T1 + "/update/v1?value=42"), 403, "Writing this pin is not allowed.");
    EXPECT_TEXT(json_call("PUT", "/" + T1 + "/update/v1", R"(["42"])"), 403, "Writing this pin is not allowed.");
    EXPECT_TRUE(kernel().pin_writes.empty());
}

TEST_F(HttpApi, GetUpdateWithoutValueOrProperty) {
    EXPECT_TEXT(get("/" + T1 + "/update/v1"), 400, "Wrong request format.");
    EXPECT_TEXT(get("/" + T1 + "/update/v1?"), 400, "Wrong request format.");
    EXPECT_TEXT(get("/" + T1 + "/update/v1?values=1&Label=x"), 400, "Wrong request format.");
    EXPECT_TRUE(kernel().pin_writes.empty());
}

TEST_F(HttpApi, GetUpdateSetsAProperty) {
    EXPECT_EMPTY_200(get("/" + T1 + "/update/v1?label=Hello%20there"));
    EXPECT_EMPTY_200(get("/" + T1 + "/update/d5?color=%23FF0000"));
    // the first property in the legacy order wins, whatever the query order
    EXPECT_EMPTY_200(get("/" + T1 + "/update/v2?max=10&min=1&rotation=5"));
    EXPECT_EMPTY_200(get("/" + T1 + "/update/v3?labels=a&labels=b"));
    ASSERT_EQ(kernel().property_writes.size(), 4u);
    EXPECT_EQ(kernel().property_writes[0].pin, 1);
    EXPECT_EQ(kernel().property_writes[0].property, "label");
    EXPECT_EQ(kernel().property_writes[0].value, "Hello there");
    EXPECT_EQ(kernel().property_writes[1].pin, 5);
    EXPECT_EQ(kernel().property_writes[1].value, "#FF0000");
    EXPECT_EQ(kernel().property_writes[2].property, "min");
    EXPECT_EQ(kernel().property_writes[2].value, "1");
    EXPECT_EQ(kernel().property_writes[3].value, "a\0b"s);
    EXPECT_TRUE(kernel().pin_writes.empty());
    for (const char* p : {"label",       "color",
                          "onBackColor", "offBackColor",
                          "onColor",     "offColor",
                          "onLabel",     "offLabel",
                          "labels",      "min",
                          "max",         "isOnPlay",
                          "url",         "urls",
                          "step",        "valueFormatting",
                          "suffix",      "maximumFractionDigits",
                          "opacity",     "scale",
                          "rotation"}) {
        SCOPED_TRACE(p);
        EXPECT_EMPTY_200(get("/" + T1 + "/update/v7?" + p + "=1"));
        EXPECT_EQ(kernel().property_writes.back().property, p);
    }
    kernel().fail_pin_property = true;
    EXPECT_TEXT(get("/" + T1 + "/update/v1?label=x"), 400, "Error setting widget property.");
    kernel().fail_pin_property = false;
    kernel().devices[T1].dash_active = false;
    EXPECT_TEXT(get("/" + T1 + "/update/v1?label=x"), 400, "Project is not active.");
    // a value write does not need an active dashboard
    EXPECT_EMPTY_200(get("/" + T1 + "/update/v1?value=x"));
    EXPECT_TEXT(get("/" + T1 + "/update/x1?label=x"), 400, "Wrong pin format.");
}

TEST_F(HttpApi, PutUpdateAndPin) {
    for (const char* route : {"update", "pin"}) {
        SCOPED_TRACE(route);
        kernel().pin_writes.clear();
        std::string base = "/" + T1 + "/" + route + "/";
        EXPECT_EMPTY_200(json_call("PUT", base + "v1", R"(["1"])"));
        EXPECT_EMPTY_200(json_call("PUT", base + "v2", R"([ "1" , "2" ])", "application/json; charset=utf-8"));
        EXPECT_EMPTY_200(
            json_call("PUT", base + "v3", R"([1, -2, 2.5, 1e3, true, false, "é\u2713\n"])", "Application/JSON"));
        EXPECT_TEXT(json_call("PUT", base + "v4", "[]"), 400, "No pin for update provided.");
        ASSERT_EQ(kernel().pin_writes.size(), 3u);
        EXPECT_EQ(kernel().pin_writes[0].value, "1");
        EXPECT_EQ(kernel().pin_writes[1].value, "1\0002"s);
        EXPECT_EQ(kernel().pin_writes[2].value, "1\0-2\0002.5\0001000\0true\0false\0é✓\n"s);
    }
}

TEST_F(HttpApi, PutBodyErrors) {
    const std::string ct = "Unexpected content type. Expecting application/json.";
    std::string base = "/" + T1 + "/update/v1";
    EXPECT_TEXT(json_call("PUT", base, R"(["1"])", ""), 500, ct);
    EXPECT_TEXT(json_call("PUT", base, R"(["1"])", "text/plain"), 500, ct);
    EXPECT_TEXT(json_call("PUT", base, R"(["1"])", "application/x-www-form-urlencoded"), 500, ct);
    for (std::string bad : {"", "[", "1", "\"1\"", "{\"a\":1}", "[\"1\",]", "[null]", "[[\"1\"]]", "[{}]", "[\"1\"] x",
                            "['1']", "[\"\xff\"]", "/* c */ [\"1\"]"}) {
        SCOPED_TRACE(bad);
        EXPECT_TEXT(json_call("PUT", base, bad), 500, "Error parsing body param. " + bad);
    }
    // a long body is echoed cut to 256 bytes, never inside a UTF-8 sequence
    std::string big = "[\"" + std::string(300, 'x');
    EXPECT_TEXT(json_call("PUT", base, big), 500, "Error parsing body param. " + big.substr(0, 256));
    std::string utf = "[\"" + std::string(253, 'x') + "é" + "é";  // é at bytes 255..256
    EXPECT_TEXT(json_call("PUT", base, utf), 500, "Error parsing body param. " + utf.substr(0, 255));
    // a value must fit in one HARDWARE frame body, `vw\0<pin>\0<value>` <= 65535 bytes
    EXPECT_EMPTY_200(json_call("PUT", "/" + T1 + "/update/v1", "[\"" + std::string(65535 - 5, 'x') + "\"]"));
    EXPECT_TEXT(json_call("PUT", "/" + T1 + "/update/v1", "[\"" + std::string(65535 - 4, 'x') + "\"]"), 400,
                "Value is too long.");
    EXPECT_TEXT(json_call("PUT", "/" + T1 + "/update/v10", "[\"" + std::string(65535 - 5, 'x') + "\"]"), 400,
                "Value is too long.");
    EXPECT_TEXT(get("/" + T1 + "/update/v1?value=" + std::string(70000, 'y')), 400, "Value is too long.");
    ASSERT_EQ(kernel().pin_writes.size(), 1u);
    kernel().pin_writes.clear();
    // deep nesting is refused, not a crash
    std::string deep(100000, '[');
    auto a = json_call("PUT", base, deep);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, 500);
    EXPECT_TRUE(kernel().pin_writes.empty());
}

TEST_F(HttpApi, PutExtra) {
    std::string base = "/" + T1 + "/extra/pin/";
    EXPECT_EMPTY_200(json_call(
        "PUT", base + "v1", R"([{"timestamp": 1700000000000, "value": "first"}, {"timestamp": 1, "value": "2nd"}])"));
    EXPECT_EMPTY_200(json_call("PUT", base + "v2", R"([{"value": 5}])"));
    EXPECT_EMPTY_200(json_call("PUT", base + "V3", R"([{"value": "x", "timestamp": null, "other": [1]}])"));
    EXPECT_TEXT(json_call("PUT", base + "v1", "[]"), 400, "No pin for update provided.");
    ASSERT_EQ(kernel().pin_writes.size(), 3u);
    EXPECT_EQ(kernel().pin_writes[0].value, "first");
    EXPECT_EQ(kernel().pin_writes[1].value, "5");
    EXPECT_EQ(kernel().pin_writes[2].value, "x");
    for (std::string bad : {R"([{"timestamp": 1}])", R"(["1"])", R"([{"value": null}])", R"([{"value": [1]}])",
                            R"([{"value": "a", "timestamp": "now"}])", R"({"value":"a"})"}) {
        SCOPED_TRACE(bad);
        EXPECT_TEXT(json_call("PUT", base + "v1", bad), 500, "Error parsing body param. " + bad);
    }
    EXPECT_TEXT(json_call("PUT", base + "v1", R"([{"value":"1"}])", "text/plain"), 500,
                "Unexpected content type. Expecting application/json.");
}

TEST_F(HttpApi, Connected) {
    EXPECT_ANSWER(get("/" + T1 + "/isHardwareConnected"), 200, kJson, "false");
    kernel().devices[T1].online_connections = 2;
    EXPECT_ANSWER(get("/" + T1 + "/isHardwareConnected"), 200, kJson, "true");
    EXPECT_ANSWER(get("/" + T1 + "/isAppConnected"), 200, kJson, "false");
    kernel().devices[T1].app_connected = true;
    EXPECT_ANSWER(get("/" + T1 + "/isAppConnected"), 200, kJson, "true");
    kernel().devices[T1].dash_active = false;
    EXPECT_ANSWER(get("/" + T1 + "/isAppConnected"), 200, kJson, "false");
}

TEST_F(HttpApi, ProjectAndRtc) {
    EXPECT_ANSWER(get("/" + T1 + "/project"), 200, kJson, kProject);
    auto before =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    auto a = get("/" + T1 + "/rtc");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, 200);
    EXPECT_EQ(a->content_type, kJson);
    ASSERT_GE(a->body.size(), 3u);
    long long t = std::stoll(a->body.substr(1));
    EXPECT_EQ(a->body, "[" + std::to_string(t) + "]");
    EXPECT_GE(t, before);
    EXPECT_LE(t, before + 2);
}

TEST_F(HttpApi, Notify) {
    std::string base = "/" + T1 + "/notify";
    // A valid body goes to the kernel's notify (push); its answer decides ours.
    EXPECT_EMPTY_200(json_call("POST", base, R"({"body":"hi"})"));
    ASSERT_EQ(kernel().notifications.size(), 1u);
    EXPECT_EQ(kernel().notifications[0].token, T1);
    EXPECT_EQ(kernel().notifications[0].channel, uint32_t(BLYNK_NOTIFY_PUSH));
    EXPECT_EQ(kernel().notifications[0].body, "hi");
    EXPECT_EMPTY_200(json_call("POST", base, "{\"body\":\"" + std::string(255, 'x') + "\"}"));
    std::string wide;
    for (int i = 0; i < 255; ++i)
        wide += "é";  // 255 characters, 510 bytes
    EXPECT_EMPTY_200(json_call("POST", base, "{\"body\":\"" + wide + "\"}"));
    kernel().notify_status = BLYNK_DENIED;
    kernel().notify_message = "Notification widget not found.";
    EXPECT_TEXT(json_call("POST", base, R"({"body":"hi"})"), 400, "Notification widget not found.");
    kernel().notify_status = BLYNK_ERROR;
    kernel().notify_message = "no plugin sends push";
    auto busy = json_call("POST", base, R"({"body":"hi"})");
    ASSERT_TRUE(busy);
    EXPECT_EQ(busy->status, 503);
    kernel().notify_status = BLYNK_OK;
    size_t sent = kernel().notifications.size();
    for (std::string bad :
         std::vector<std::string>{R"({"body":""})", R"({})", R"({"body":null})", R"({"text":"hi"})",
                                  "{\"body\":\"" + std::string(256, 'x') + "\"}", "{\"body\":\"" + wide + "x\"}"}) {
        SCOPED_TRACE(bad);
        EXPECT_TEXT(json_call("POST", base, bad), 400, "Body is empty or larger than 255 chars.");
    }
    EXPECT_EQ(kernel().notifications.size(), sent);  // nothing invalid reached the kernel
    EXPECT_TEXT(json_call("POST", base, R"({"body":"hi"})", ""), 500,
                "Unexpected content type. Expecting application/json.");
    EXPECT_TEXT(json_call("POST", base, R"(["hi"])"), 500, R"(Error parsing body param. ["hi"])");
    EXPECT_TEXT(json_call("POST", base, R"({"body":{"a":1}})"), 500, R"(Error parsing body param. {"body":{"a":1}})");
}

TEST_F(HttpApi, Email) {
    std::string base = "/" + T1 + "/email";
    const char* wrong = "Email body is wrong. Missing or empty fields 'to', 'subj'.";
    EXPECT_EMPTY_200(json_call("POST", base, R"({"to":"a@b.c","subj":"s","title":"body"})"));
    ASSERT_EQ(kernel().notifications.size(), 1u);
    EXPECT_EQ(kernel().notifications[0].channel, uint32_t(BLYNK_NOTIFY_MAIL));
    EXPECT_EQ(kernel().notifications[0].to, "a@b.c");
    EXPECT_EQ(kernel().notifications[0].subject, "s");
    EXPECT_EQ(kernel().notifications[0].body, "body");
    EXPECT_EMPTY_200(json_call("POST", base, R"({"to":"a@b.c","subj":"s"})"));
    for (const char* bad : {R"({"subj":"s"})", R"({"to":"a@b.c"})", R"({"to":"","subj":"s"})",
                            R"({"to":"a@b.c","subj":""})", R"({"to":null,"subj":"s"})", "{}"}) {
        SCOPED_TRACE(bad);
        EXPECT_TEXT(json_call("POST", base, bad), 400, wrong);
    }
    EXPECT_TEXT(json_call("POST", base, R"({"to":"a@b.c","subj":"s"})", "text/html"), 500,
                "Unexpected content type. Expecting application/json.");
    EXPECT_TEXT(json_call("POST", base, "nope"), 500, "Error parsing body param. nope");
}

TEST_F(HttpApi, Data) {
    EXPECT_TEXT(get("/" + T1 + "/data/v1"), 400, "No data.");
    EXPECT_TEXT(get("/" + T1 + "/data/A0"), 400, "No data.");
    EXPECT_TEXT(get("/" + T1 + "/data/v256"), 400, "Wrong pin format.");
    // Minutes of V1 (and an hour, and another pin, which the export leaves out).
    auto row = [](char type, uint8_t pin, blynk::Granularity g, int64_t at, double sum, int64_t count) {
        blynk::HistoryRow h;
        h.pin_type = type;
        h.pin = pin;
        h.granularity = g;
        h.at_ms = at;
        h.sum = sum;
        h.count = count;
        return h;
    };
    kernel().devices[T1].device_id = 3;
    kernel().history[T1] = {
        row('v', 1, blynk::Granularity::minute, 120000, 60, 3), row('v', 1, blynk::Granularity::minute, 60000, 0.5, 1),
        row('v', 1, blynk::Granularity::minute, 180000, 2.5e7, 1), row('v', 1, blynk::Granularity::hour, 0, 1, 1),
        row('v', 2, blynk::Granularity::minute, 0, 9, 1)};
    auto a = get("/" + T1 + "/data/V1");
    EXPECT_EQ(a->answers, 0);  // the CSV is built and compressed on the worker pool
    kernel().run_pending();
    ASSERT_EQ(a->answers, 1);
    EXPECT_EQ(a->status, 200);
    EXPECT_EQ(a->content_type, "application/gzip");
    // A gzip stream (RFC 1952 magic), oldest minute first, as the legacy lines.
    ASSERT_GT(a->body.size(), 2u);
    EXPECT_EQ(a->body.substr(0, 2), "\x1f\x8b");
    EXPECT_EQ(http_api_gunzip(a->body), "0.5,60000,3\n20.0,120000,3\n2.5E7,180000,3\n");
    ASSERT_EQ(kernel().history_queries.size(), 3u);  // v1, A0 (no data), V1
    EXPECT_EQ(kernel().history_queries.back().granularity, blynk::Granularity::minute);
    EXPECT_EQ(kernel().history_queries.back().limit, 43200u);  // the legacy csv.export.data.points.max
    kernel().fail_history = true;
    EXPECT_TEXT(get("/" + T1 + "/data/V1"), 400, "Error getting pin data.");
}

TEST_F(HttpApi, CloneLookups) {
    auto a = get("/" + UNKNOWN + "/clone");
    EXPECT_EQ(a->answers, 0);  // file I/O happens on the worker pool
    kernel().run_pending();
    EXPECT_TEXT(a, 500, "Requested QR not found.");
    // a malformed code never reaches the file system
    for (std::string bad : std::vector<std::string>{"..", "x", T1 + "y", ".." + T1.substr(2)}) {
        SCOPED_TRACE(bad);
        auto b = get("/" + bad + "/clone");
        EXPECT_TEXT(b, 500, "Requested QR not found.");
    }
    EXPECT_TRUE(kernel().pending() == 0);
    EXPECT_TRUE(kernel().token_lookups.empty());  // a clone code is not a token
    kernel().refuse_work = true;
    EXPECT_TEXT(get("/" + UNKNOWN + "/clone"), 503, "Server is busy, try again later.");
}

TEST_F(HttpApi, Settings) {
    auto [rc, msg] = init_with({{"qr_hots", "x", BLYNK_SETTING_STRING}});
    EXPECT_EQ(rc, BLYNK_ERROR);
    EXPECT_NE(msg.find("unknown key 'qr_hots'"), std::string::npos) << msg;
    std::tie(rc, msg) = init_with({{"qr_port", "70000", BLYNK_SETTING_INTEGER}});
    EXPECT_EQ(rc, BLYNK_ERROR);
    EXPECT_NE(msg.find("qr_port"), std::string::npos) << msg;
    std::tie(rc, msg) = init_with({{"qr_host", "example.com:9443", BLYNK_SETTING_STRING}});
    EXPECT_EQ(rc, BLYNK_ERROR);
    EXPECT_NE(msg.find("qr_host"), std::string::npos) << msg;
    std::tie(rc, msg) =
        init_with({{"qr_host", "blynk.example.com", BLYNK_SETTING_STRING}, {"qr_port", "443", BLYNK_SETTING_INTEGER}});
    EXPECT_EQ(rc, BLYNK_OK) << msg;
    EXPECT_EQ(init_with({}).first, BLYNK_OK);
}

// Random bytes in every place a request can carry them: each request is answered
// exactly once, with a status the API uses, and nothing crashes.
TEST_F(HttpApi, RandomInputIsAnsweredOnce) {
    std::mt19937 rng(12345);
    auto bytes = [&](size_t max) {
        std::string out(rng() % (max + 1), '\0');
        for (char& c : out)
            c = char(rng() % 4 == 0 ? "[]{}\",:0v"[rng() % 10] : rng() % 256);
        return out;
    };
    auto pct = [](const std::string& raw) {
        static const char hex[] = "0123456789ABCDEF";
        std::string out;
        for (unsigned char c : raw) {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
        return out;
    };
    const char* routes[][2] = {{"GET", "get/P"},   {"GET", "update/P"},    {"PUT", "update/P"},
                               {"PUT", "pin/P"},   {"PUT", "extra/pin/P"}, {"POST", "notify"},
                               {"POST", "email"},  {"GET", "data/P"},      {"GET", "isHardwareConnected"},
                               {"GET", "project"}, {"GET", "qr"}};
    kernel().devices[T1].pins[{'v', 1}] = "x";
    for (int i = 0; i < 3000; ++i) {
        auto& r = routes[rng() % (sizeof routes / sizeof routes[0])];
        std::string tok = rng() % 3 ? T1 : pct(bytes(40));
        std::string pin = rng() % 2 ? "v" + std::to_string(rng() % 300) : pct(bytes(6));
        std::string tail = r[1];
        if (tail.back() == 'P') tail = tail.substr(0, tail.size() - 1) + pin;
        Request rq{r[0], "/" + tok + "/" + tail + "?" + bytes(30), {}, bytes(rng() % 2 ? 40 : 600), false};
        if (rng() % 2) rq.headers.emplace_back("Content-Type", "application/json");
        if (rng() % 2) rq.headers.emplace_back("Host", bytes(20));
        auto a = call(rq);
        if (!a) continue;  // a segment decoded to nothing: the kernel's 404
        kernel().run_pending();
        ASSERT_EQ(a->answers, 1) << rq.method << " " << rq.target;
        EXPECT_TRUE(a->status == 200 || a->status == 400 || a->status == 500 || a->status == 501)
            << a->status << " " << a->body;
    }
}

#if HTTP_API_QR_BUILT

// Decodes a PNG written by the plugin (8-bit grayscale, filter 0 on every row).
bool decode_gray_png(const std::string& png, unsigned& w, unsigned& h, std::vector<unsigned char>& pixels) {
    if (png.compare(0, 8, "\x89PNG\r\n\x1a\n"s) != 0) return false;
    auto u32 = [&](size_t at) {
        return (uint32_t(uint8_t(png[at])) << 24) | (uint32_t(uint8_t(png[at + 1])) << 16) |
               (uint32_t(uint8_t(png[at + 2])) << 8) | uint32_t(uint8_t(png[at + 3]));
    };
    std::string idat;
    bool end = false;
    for (size_t at = 8; at + 12 <= png.size() && !end;) {
        uint32_t len = u32(at);
        std::string type = png.substr(at + 4, 4);
        if (at + 12 + len > png.size()) return false;
        uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(png.data() + at + 4), uInt(len + 4));
        if (crc != u32(at + 8 + len)) return false;
        if (type == "IHDR") {
            w = u32(at + 8);
            h = u32(at + 12);
            if (png[at + 16] != 8 || png[at + 17] != 0 || png[at + 20] != 0) return false;
        } else if (type == "IDAT") {
            idat += png.substr(at + 8, len);
        } else if (type == "IEND") {
            end = true;
        }
        at += 12 + len;
    }
    if (!end) return false;
    std::vector<unsigned char> raw(size_t(w + 1) * h);
    uLongf n = uLongf(raw.size());
    if (uncompress(raw.data(), &n, reinterpret_cast<const Bytef*>(idat.data()), uLong(idat.size())) != Z_OK ||
        n != raw.size())
        return false;
    pixels.clear();
    for (unsigned y = 0; y < h; ++y) {
        if (raw[size_t(y) * (w + 1)] != 0) return false;
        pixels.insert(pixels.end(), raw.begin() + long(y) * (w + 1) + 1, raw.begin() + long(y + 1) * (w + 1));
    }
    return true;
}

// Whether the image is exactly the QR code of text (module size and quiet zone as the plugin draws them).
void expect_qr_of(const std::string& png, const std::string& text) {
    unsigned w = 0, h = 0;
    std::vector<unsigned char> px;
    ASSERT_TRUE(decode_gray_png(png, w, h, px));
    QRcode* code =
        QRcode_encodeData(int(text.size()), reinterpret_cast<const unsigned char*>(text.data()), 0, QR_ECLEVEL_M);
    ASSERT_NE(code, nullptr);
    unsigned m = unsigned(code->width), total = m + 8, scale = 500 / total;
    ASSERT_EQ(w, total * scale);
    ASSERT_EQ(h, w);
    EXPECT_GE(w, 400u);
    int wrong = 0;
    for (unsigned y = 0; y < h; ++y)
        for (unsigned x = 0; x < w; ++x) {
            unsigned mx = x / scale, my = y / scale;
            bool dark = mx >= 4 && my >= 4 && mx < m + 4 && my < m + 4 && (code->data[(my - 4) * m + (mx - 4)] & 1);
            if (px[size_t(y) * w + x] != (dark ? 0 : 255)) ++wrong;
        }
    QRcode_free(code);
    EXPECT_EQ(wrong, 0);
}

std::vector<std::string> clone_files() {
    std::vector<std::string> out;
    fs::path dir = fs::path(mod().data_dir) / "http-api" / "clones";
    std::error_code ec;
    for (auto& e : fs::directory_iterator(dir, ec))
        out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

TEST_F(HttpApi, QrSavesACloneAndDrawsItsLink) {
    auto before = clone_files();
    Request r{"GET", "/" + T1 + "/qr", {{"Host", "blynk.example.com:8080"}}, "", false};
    auto a = call(r);
    EXPECT_EQ(a->answers, 0);  // the image is made on the worker pool
    kernel().run_pending();
    ASSERT_EQ(a->answers, 1);
    EXPECT_EQ(a->status, 200) << a->body;
    EXPECT_EQ(a->content_type, "image/png");
    auto after = clone_files();
    ASSERT_EQ(after.size(), before.size() + 1);
    std::string file;
    for (auto& f : after)
        if (std::find(before.begin(), before.end(), f) == before.end()) file = f;
    ASSERT_EQ(file.size(), 32u + 5u) << file;
    std::string code = file.substr(0, 32);
    // plain HTTP: the app port is the default TLS port
    expect_qr_of(a->body, "blynk://token/clone/" + code + "?server=blynk.example.com&port=9443");

    auto c = get("/" + code + "/clone");
    kernel().run_pending();
    EXPECT_ANSWER(c, 200, kJson, kProject);

    // over TLS the port of the Host header is the app port
    Request t{"GET", "/" + T1 + "/qr", {{"Host", "[::1]:19443"}}, "", true};
    auto b = call(t);
    kernel().run_pending();
    ASSERT_EQ(b->status, 200) << b->body;
    auto files = clone_files();
    ASSERT_EQ(files.size(), after.size() + 1);
    std::string code2;
    for (auto& f : files)
        if (std::find(after.begin(), after.end(), f) == after.end()) code2 = f.substr(0, 32);
    EXPECT_NE(code2, code);
    expect_qr_of(b->body, "blynk://token/clone/" + code2 + "?server=[::1]&port=19443");

    // the settings win over the request
    ASSERT_EQ(
        init_with({{"qr_host", "iot.example.org", BLYNK_SETTING_STRING}, {"qr_port", "443", BLYNK_SETTING_INTEGER}})
            .first,
        BLYNK_OK);
    auto d = call(r);
    kernel().run_pending();
    ASSERT_EQ(d->status, 200) << d->body;
    auto files3 = clone_files();
    std::string code3;
    for (auto& f : files3)
        if (std::find(files.begin(), files.end(), f) == files.end()) code3 = f.substr(0, 32);
    expect_qr_of(d->body, "blynk://token/clone/" + code3 + "?server=iot.example.org&port=443");
}

TEST_F(HttpApi, QrNeedsAHostName) {
    EXPECT_TEXT(get("/" + T1 + "/qr"), 500,
                "The server's host name is unknown: send a Host header or set [plugins.http-api] qr_host.");
    for (const char* bad : {"evil&x=1", "[]", "[::1", "[::1]x", "a:b", "h:70000", ":80", "a b", "é.com"}) {
        SCOPED_TRACE(bad);
        Request r{"GET", "/" + T1 + "/qr", {{"Host", bad}}, "", false};
        EXPECT_TEXT(call(r), 500,
                    "The server's host name is unknown: send a Host header or set [plugins.http-api] qr_host.");
    }
    kernel().refuse_work = true;
    Request ok{"GET", "/" + T1 + "/qr", {{"Host", "localhost"}}, "", false};
    EXPECT_TEXT(call(ok), 503, "Server is busy, try again later.");
}

#else

TEST_F(HttpApi, QrIsNotAvailableInThisBuild) {
    Request r{"GET", "/" + T1 + "/qr", {{"Host", "localhost"}}, "", false};
    EXPECT_TEXT(call(r), 501, "QR codes are not available on this server.");
}

#endif

}  // namespace
