// The sms-nexmo module through the SDK's PluginUnderTest: its settings, and
// (with the fake provider, tests/integration/lib/fake_providers.js) what it
// sends and how it reads each answer.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include <blynk/plugin_testing.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>

#include "../../notify-common/tests/fake_providers.hpp"

namespace {

using blynk::testing::FakeHost;
using blynk::testing::PluginUnderTest;
using blynk::testing::Setting;

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

void write_file(const std::string& path, const std::string& text, std::filesystem::perms mode) {
    std::ofstream(path) << text;
    std::filesystem::permissions(path, mode);
}

TEST(SmsNexmoSettings, MissingOrBadSettingsAreRefusedNamingTheKey) {
    PluginUnderTest& p = fresh_plugin();
    EXPECT_NE(p.init({{"api_secret", "s"}, {"from", "Blynk"}}).message.find("'api_key'"), std::string::npos);
    EXPECT_NE(p.init({{"api_key", "k"}, {"api_secret", "s"}, {"from", "far too long a sender"}}).message.find("'from'"),
              std::string::npos);
    EXPECT_NE(p.init({{"api_key", "k"}, {"api_secret", "s"}, {"from", "B"}, {"base_url", "http://x"}})
                  .message.find("'base_url'"),
              std::string::npos);
    EXPECT_NE(p.init({{"api_key", "k"}, {"api_secret", "s"}, {"from", "B"}, {"timeout", "5"}})
                  .message.find("unknown key 'timeout'"),
              std::string::npos);
}

TEST(SmsNexmoSettings, ASecretFileOthersMayReadIsRefusedAndItsContentNeverShown) {
    blynk::testing::TempDir dir;
    std::string file = dir.path() + "/secret";
    write_file(file, "TOPSECRET-123\n", std::filesystem::perms(0644));
    PluginUnderTest& p = fresh_plugin();
    std::vector<Setting> s = {{"api_key", "k"}, {"api_secret_file", file}, {"from", "Blynk"}};
    blynk::testing::Result r = p.init(s);
    EXPECT_EQ(r.status, BLYNK_ERROR);
    EXPECT_NE(r.message.find("mode 0644"), std::string::npos) << r.message;
    EXPECT_EQ(r.message.find("TOPSECRET"), std::string::npos);
    std::filesystem::permissions(file, std::filesystem::perms(0600));
    PluginUnderTest& q = fresh_plugin();
    EXPECT_TRUE(q.init(s).ok());
    for (auto& line : q.host().logs())
        EXPECT_EQ(line.message.find("TOPSECRET"), std::string::npos) << line.message;
    q.shutdown();
}

TEST(SmsNexmoSettings, ANumberThatIsNoPhoneNumberIsRefusedBeforeAnyRequest) {
    PluginUnderTest& p = fresh_plugin();
    // A closed port: had it tried to send, the error would be a connection's.
    ASSERT_TRUE(
        p.init({{"api_key", "k"}, {"api_secret", "s"}, {"from", "B"}, {"base_url", "https://127.0.0.1:1"}}).ok());
    blynk::testing::Result r = p.send_sms({"not a number", "hi"});
    EXPECT_EQ(r.status, BLYNK_ERROR);
    EXPECT_NE(r.message.find("not a phone number"), std::string::npos) << r.message;
    p.shutdown();
}

}  // namespace

// ------------------------------------------------- against the fake Vonage
namespace {

using notify_test::FakeProviders;

class SmsNexmo : public ::testing::Test {
protected:
    static void SetUpTestSuite() { providers_ = new FakeProviders; }
    static void TearDownTestSuite() {
        delete providers_;
        providers_ = nullptr;
    }
    void SetUp() override {
        if (!providers_->available()) GTEST_SKIP() << providers_->why_not();
    }
    // A started plugin sending to the fake provider, with `extra` settings.
    PluginUnderTest& started(std::vector<Setting> extra = {}) {
        PluginUnderTest& p = fresh_plugin();
        std::vector<Setting> s = {{"api_key", "test-key"},
                                  {"api_secret", "test-secret"},
                                  {"from", "Blynk"},
                                  {"base_url", providers_->base_url()},
                                  {"ca_file", providers_->ca_file()}};
        for (auto& e : extra) {
            s.erase(std::remove_if(s.begin(), s.end(), [&](const Setting& x) { return x.key == e.key; }), s.end());
            s.push_back(e);
        }
        blynk::testing::Result r = p.init(s);
        EXPECT_TRUE(r.ok()) << r.message;
        plugins_.push_back(&p);
        return p;
    }
    size_t requests() { return providers_->state()["sms"].as_array().size(); }
    boost::json::object last_request() { return providers_->state()["sms"].as_array().back().as_object(); }
    void TearDown() override {
        // Whatever happened, no secret reached the log.
        for (PluginUnderTest* p : plugins_) {
            for (auto& line : p->host().logs())
                EXPECT_EQ(line.message.find("test-secret"), std::string::npos) << line.message;
            p->shutdown();
        }
    }
    static FakeProviders* providers_;
    std::vector<PluginUnderTest*> plugins_;
};
FakeProviders* SmsNexmo::providers_ = nullptr;

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST_F(SmsNexmo, ATextReachesVonageWithTheAccountsFieldsAndUnicodeOnlyWhenNeeded) {
    PluginUnderTest& p = started();
    blynk::testing::Result r = p.send_sms({"+49 151 2345678", "Door open @ 21:00"});
    ASSERT_TRUE(r.ok()) << r.message;
    auto sent = last_request();
    EXPECT_EQ(sent["api_key"], "test-key");
    EXPECT_EQ(sent["api_secret"], "test-secret");
    EXPECT_EQ(sent["from"], "Blynk");
    EXPECT_EQ(sent["to"], "491512345678");
    EXPECT_EQ(sent["text"], "Door open @ 21:00");
    EXPECT_FALSE(sent.contains("type"));
    ASSERT_TRUE(p.send_sms({"+491512345678", "\u0422\u0435\u043f\u043b\u043e \xF0\x9F\x94\xA5"}).ok());
    sent = last_request();
    EXPECT_EQ(sent["type"], "unicode");
    EXPECT_EQ(sent["text"], "\u0422\u0435\u043f\u043b\u043e \xF0\x9F\x94\xA5");
}

TEST_F(SmsNexmo, ABaseUrlThatIsTheFullEndpointAsMigrateConfigWritesItWorksToo) {
    PluginUnderTest& p = started({{"base_url", providers_->base_url() + "/sms/json"}});
    size_t before = requests();
    blynk::testing::Result r = p.send_sms({"+491512345678", "hi"});
    EXPECT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(requests(), before + 1);
}

TEST_F(SmsNexmo, PermanentRefusalsFailAtOnceWithTheirMeaning) {
    PluginUnderTest& wrong = started({{"api_secret", "not-the-secret"}});
    size_t before = requests();
    blynk::testing::Result r = wrong.send_sms({"+491512345678", "hi"});
    EXPECT_EQ(r.status, BLYNK_ERROR);
    EXPECT_NE(r.message.find("invalid credentials"), std::string::npos) << r.message;
    EXPECT_EQ(r.message.find("not-the-secret"), std::string::npos);
    EXPECT_EQ(requests(), before + 1);  // no retry

    PluginUnderTest& p = started();
    providers_->script(R"({"sms": [{"status": "9"}, {"status": "29"}, {"http": 401, "body": "{}"}]})");
    EXPECT_NE(p.send_sms({"+491512345678", "a"}).message.find("not enough credit"), std::string::npos);
    EXPECT_NE(p.send_sms({"+491512345678", "b"}).message.find("allowed list"), std::string::npos);
    EXPECT_NE(p.send_sms({"+491512345678", "c"}).message.find("HTTP 401"), std::string::npos);
    EXPECT_EQ(requests(), before + 4);
}

TEST_F(SmsNexmo, TemporaryFailuresAreRetriedWithBackoffUpToRetries) {
    PluginUnderTest& p = started();
    size_t before = requests();
    providers_->script(R"({"sms": [{"http": 500, "body": "oops"}, {"status": "1"}]})");
    blynk::testing::Result r = p.send_sms({"+491512345678", "third time lucky"});
    EXPECT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(requests(), before + 3);

    PluginUnderTest& once = started({{"retries", "1", BLYNK_SETTING_INTEGER}});
    providers_->script(R"({"sms": [{"http": 503, "body": ""}, {"http": 503, "body": ""}]})");
    r = once.send_sms({"+491512345678", "no luck"});
    EXPECT_EQ(r.status, BLYNK_ERROR);
    EXPECT_NE(r.message.find("HTTP 503; gave up after 2 attempts"), std::string::npos) << r.message;
    EXPECT_EQ(requests(), before + 5);
}

TEST_F(SmsNexmo, AHungProviderIsGivenUpWithinTheTimeout) {
    PluginUnderTest& p = started({{"timeout_s", "1", BLYNK_SETTING_INTEGER}});
    providers_->script(R"({"sms": [{"hang": true}]})");
    auto t0 = std::chrono::steady_clock::now();
    blynk::testing::Result r = p.send_sms({"+491512345678", "anyone?"});
    double took = seconds_since(t0);
    EXPECT_EQ(r.status, BLYNK_ERROR);
    EXPECT_NE(r.message.find("timeout"), std::string::npos) << r.message;
    EXPECT_GE(took, 0.9);
    EXPECT_LT(took, 2.0);
}

TEST_F(SmsNexmo, AProviderCertificateNotSignedByTrustedRootsIsRefused) {
    PluginUnderTest& p = started({{"ca_file", ""}});  // the system's roots do not know the test CA
    size_t before = requests();
    blynk::testing::Result r = p.send_sms({"+491512345678", "hi"});
    EXPECT_EQ(r.status, BLYNK_ERROR);
    EXPECT_NE(r.message.find("certificate"), std::string::npos) << r.message;
    EXPECT_EQ(requests(), before);  // nothing reached it: no key was sent to an unverified peer
}
