// The push-fcm module through the SDK's PluginUnderTest against the fake FCM
// and OAuth endpoints (tests/integration/lib/fake_providers.js), which verify
// the JWT's RS256 signature with the public half of the key they made.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include <blynk/plugin_testing.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "../../notify-common/tests/fake_providers.hpp"

namespace {

using blynk::testing::FakeHost;
using blynk::testing::PluginUnderTest;
using blynk::testing::Setting;
using notify_test::FakeProviders;

// A host and a loaded instance (the entry makes one per call), kept until the
// process ends, as the plugin keeps the host table.
struct Loaded {
    FakeHost host;
    PluginUnderTest plugin{host};
};
PluginUnderTest& fresh_plugin() {
    static auto* kept = new std::vector<std::unique_ptr<Loaded>>;
    kept->push_back(std::make_unique<Loaded>());
    PluginUnderTest& p = kept->back()->plugin;
    EXPECT_TRUE(p.load_module(BLYNK_PLUGIN_MODULE)) << p.error();
    return p;
}

std::string read_all(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

class PushFcm : public ::testing::Test {
protected:
    static void SetUpTestSuite() { providers_ = new FakeProviders; }
    static void TearDownTestSuite() {
        delete providers_;
        providers_ = nullptr;
    }
    void SetUp() override {
        if (!providers_->available()) GTEST_SKIP() << providers_->why_not();
    }
    // A plugin for the fake's project: the token URL comes from the key file.
    PluginUnderTest& started(std::vector<Setting> extra = {}, bool expect_ok = true) {
        PluginUnderTest& p = fresh_plugin();
        std::vector<Setting> s = {{"service_account_file", providers_->service_account_file()},
                                  {"fcm_base_url", providers_->base_url()},
                                  {"ca_file", providers_->ca_file()}};
        for (auto& e : extra) {
            s.erase(std::remove_if(s.begin(), s.end(), [&](const Setting& x) { return x.key == e.key; }), s.end());
            s.push_back(e);
        }
        last_init_ = p.init(s);
        if (expect_ok) {
            EXPECT_TRUE(last_init_.ok()) << last_init_.message;
        }
        plugins_.push_back(&p);
        return p;
    }
    boost::json::array pushes() { return providers_->state()["pushes"].as_array(); }
    int64_t token_requests() { return providers_->state()["tokenRequests"].as_int64(); }
    void TearDown() override {
        // No secret in any log line: not the key, not an access token, not a push token.
        for (PluginUnderTest* p : plugins_) {
            for (auto& line : p->host().logs())
                for (const char* secret : {"PRIVATE KEY", "ya29.", "tok-android", "tok-ios", "unregistered-"})
                    EXPECT_EQ(line.message.find(secret), std::string::npos) << line.message;
            p->shutdown();
        }
    }
    static FakeProviders* providers_;
    std::vector<PluginUnderTest*> plugins_;
    blynk::testing::Result last_init_;
};
FakeProviders* PushFcm::providers_ = nullptr;

const blynk::Push kTwo{{{"tok-android", false}, {"tok-ios", true}}, "Blynk", "Too hot!", true};

}  // namespace

TEST_F(PushFcm, PushesReachAndroidAndIosWithOneSignedTokenRequestForTwoPushes) {
    PluginUnderTest& p = started();
    int64_t tokens_before = token_requests();
    size_t before = pushes().size();
    std::vector<uint8_t> invalid;
    blynk::testing::Result r = p.send_push(kTwo, invalid);
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(invalid, (std::vector<uint8_t>{0, 0}));
    ASSERT_TRUE(p.send_push({{{"tok-android", false}}, "Blynk", "Still hot", false}, invalid).ok());
    EXPECT_EQ(token_requests(), tokens_before + 1);  // the access token is cached
    EXPECT_TRUE(providers_->state()["jwtErrors"].as_array().empty());
    auto all = pushes();
    ASSERT_EQ(all.size(), before + 3);
    for (size_t i = before; i < all.size(); ++i)
        EXPECT_EQ(all[i].as_object()["authorized"], true);
    auto android = all[before].as_object()["message"].as_object();
    EXPECT_EQ(android["token"], "tok-android");
    EXPECT_EQ(android["data"].as_object()["message"], "Too hot!");
    EXPECT_EQ(android["data"].as_object()["title"], "Blynk");
    EXPECT_EQ(android["android"].as_object()["priority"], "HIGH");
    auto ios = all[before + 1].as_object()["message"].as_object();
    EXPECT_EQ(ios["token"], "tok-ios");
    auto aps = ios["apns"].as_object()["payload"].as_object()["aps"].as_object();
    EXPECT_EQ(aps["alert"].as_object()["body"], "Too hot!");
    EXPECT_EQ(all[before + 2].as_object()["message"].as_object()["android"].as_object()["priority"], "NORMAL");
}

TEST_F(PushFcm, TokensFcmNoLongerKnowsAreFlaggedForRemoval) {
    PluginUnderTest& p = started();
    std::vector<uint8_t> invalid;
    blynk::testing::Result r = p.send_push(
        {{{"tok-android", false}, {"unregistered-1", false}, {"invalid-2", true}}, "Blynk", "x", false}, invalid);
    EXPECT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(invalid, (std::vector<uint8_t>{0, 1, 1}));
    // None delivered: an error, and the dead token is still reported.
    r = p.send_push({{{"unregistered-3", false}}, "Blynk", "x", false}, invalid);
    EXPECT_EQ(r.status, BLYNK_ERROR);
    EXPECT_EQ(invalid, std::vector<uint8_t>{1});
    EXPECT_NE(r.message.find("no longer registered"), std::string::npos) << r.message;
}

TEST_F(PushFcm, ARevokedAccessTokenIsRenewedOnceOn401) {
    PluginUnderTest& p = started();
    std::vector<uint8_t> invalid;
    ASSERT_TRUE(p.send_push(kTwo, invalid).ok());
    int64_t tokens = token_requests();
    providers_->revoke_tokens();
    blynk::testing::Result r = p.send_push(kTwo, invalid);
    EXPECT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(token_requests(), tokens + 1);
}

TEST_F(PushFcm, UnavailableAndQuotaAreRetriedHonouringRetryAfter) {
    PluginUnderTest& p = started();
    size_t before = pushes().size();
    providers_->script(R"({"push": [{"http": 503, "status": "UNAVAILABLE", "errorCode": "UNAVAILABLE"},
        {"http": 429, "status": "RESOURCE_EXHAUSTED", "errorCode": "QUOTA_EXCEEDED", "retryAfter": 1}]})");
    std::vector<uint8_t> invalid;
    auto t0 = std::chrono::steady_clock::now();
    blynk::testing::Result r = p.send_push({{{"tok-android", false}}, "Blynk", "x", true}, invalid);
    EXPECT_TRUE(r.ok()) << r.message;
    EXPECT_GE(seconds_since(t0), 1.0);  // waited as Retry-After said
    EXPECT_EQ(pushes().size(), before + 3);

    // A Retry-After beyond the timeout: no pointless wait, an error at once.
    PluginUnderTest& q = started({{"timeout_s", "2", BLYNK_SETTING_INTEGER}});
    providers_->script(R"({"push": [{"http": 429, "errorCode": "QUOTA_EXCEEDED", "retryAfter": 30}]})");
    t0 = std::chrono::steady_clock::now();
    r = q.send_push({{{"tok-android", false}}, "Blynk", "x", true}, invalid);
    EXPECT_EQ(r.status, BLYNK_ERROR);
    EXPECT_NE(r.message.find("QUOTA_EXCEEDED; no time left"), std::string::npos) << r.message;
    EXPECT_LT(seconds_since(t0), 1.0);
}

TEST_F(PushFcm, PermanentErrorsAreNotRetriedAndSayWhy) {
    PluginUnderTest& p = started();
    size_t before = pushes().size();
    providers_->script(
        R"({"push": [{"http": 403, "status": "PERMISSION_DENIED", "errorCode": "SENDER_ID_MISMATCH"}]})");
    std::vector<uint8_t> invalid;
    blynk::testing::Result r = p.send_push({{{"tok-android", false}}, "Blynk", "x", false}, invalid);
    EXPECT_EQ(r.status, BLYNK_ERROR);
    EXPECT_NE(r.message.find("another Firebase project"), std::string::npos) << r.message;
    EXPECT_EQ(invalid, std::vector<uint8_t>{0});  // not this token's fault: kept
    EXPECT_EQ(pushes().size(), before + 1);
}

TEST_F(PushFcm, AHungProviderIsGivenUpWithinTheTimeout) {
    PluginUnderTest& p = started({{"timeout_s", "1", BLYNK_SETTING_INTEGER}});
    std::vector<uint8_t> invalid;
    ASSERT_TRUE(p.send_push({{{"tok-android", false}}, "Blynk", "warm-up", false}, invalid).ok());
    providers_->script(R"({"push": [{"hang": true}]})");
    auto t0 = std::chrono::steady_clock::now();
    blynk::testing::Result r = p.send_push(kTwo, invalid);
    double took = seconds_since(t0);
    EXPECT_EQ(r.status, BLYNK_ERROR);
    EXPECT_NE(r.message.find("timeout"), std::string::npos) << r.message;
    EXPECT_LT(took, 2.0);
}

TEST_F(PushFcm, AHungTokenEndpointIsGivenUpWithinTheTimeoutToo) {
    PluginUnderTest& p = started({{"timeout_s", "1", BLYNK_SETTING_INTEGER}});  // no cached token yet
    size_t before = pushes().size();
    providers_->script(R"({"token": [{"hang": true}]})");
    std::vector<uint8_t> invalid;
    auto t0 = std::chrono::steady_clock::now();
    blynk::testing::Result r = p.send_push(kTwo, invalid);
    EXPECT_EQ(r.status, BLYNK_ERROR);
    EXPECT_NE(r.message.find("no FCM access token"), std::string::npos) << r.message;
    EXPECT_LT(seconds_since(t0), 2.0);
    EXPECT_EQ(pushes().size(), before);  // nothing sent without a token
}

TEST_F(PushFcm, AKeyTheTokenEndpointRejectsFailsThePushWithItsReason) {
    // Another account's name with this key: the fake's claim check refuses it.
    std::string json = read_all(providers_->service_account_file());
    std::string other = providers_->dir() + "/other-account.json";
    size_t at = json.find("blynkd@");
    json.replace(at, 6, "intruder");
    std::ofstream(other) << json;
    std::filesystem::permissions(other, std::filesystem::perms(0600));
    PluginUnderTest& p = started({{"service_account_file", other}});
    std::vector<uint8_t> invalid;
    blynk::testing::Result r = p.send_push(kTwo, invalid);
    EXPECT_EQ(r.status, BLYNK_ERROR);
    EXPECT_NE(r.message.find("invalid_grant: iss is not the service account"), std::string::npos) << r.message;
}

TEST_F(PushFcm, AWorldReadableKeyFileIsRefusedAtStart) {
    std::string copy = providers_->dir() + "/readable.json";
    std::filesystem::copy_file(providers_->service_account_file(), copy,
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::permissions(copy, std::filesystem::perms(0644));
    started({{"service_account_file", copy}}, false);
    EXPECT_EQ(last_init_.status, BLYNK_ERROR);
    EXPECT_NE(last_init_.message.find("mode 0644 lets every local user read this secret"), std::string::npos)
        << last_init_.message;
    EXPECT_EQ(last_init_.message.find("PRIVATE KEY"), std::string::npos);
    started({{"project_id", "bad/id"}}, false);
    EXPECT_NE(last_init_.message.find("'project_id'"), std::string::npos) << last_init_.message;
}
