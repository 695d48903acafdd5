// The sms-nexmo module through the SDK's PluginUnderTest: its settings, and
// (with the fake provider, tests/integration/lib/fake_providers.js) what it
// sends and how it reads each answer.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include <blynk/plugin_testing.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace {

using blynk::testing::FakeHost;
using blynk::testing::PluginUnderTest;
using blynk::testing::Setting;

// A fresh instance per test (the entry makes one per call), its host kept for
// the process as the plugin keeps the host table.
PluginUnderTest& fresh_plugin() {
    auto* host = new FakeHost;
    auto* p = new PluginUnderTest(*host);
    EXPECT_TRUE(p->load_module(BLYNK_PLUGIN_MODULE)) << p->error();
    return *p;
}

void write_file(const std::string& path, const std::string& text, std::filesystem::perms mode) {
    std::ofstream(path) << text;
    std::filesystem::permissions(path, mode);
}

TEST(SmsNexmoSettings, MissingOrBadSettingsAreRefusedNamingTheKey) {
    PluginUnderTest& p = fresh_plugin();
    EXPECT_NE(p.init({{"api_secret", "s"}, {"from", "Blynk"}}).message.find("'api_key'"), std::string::npos);
    EXPECT_NE(p.init({{"api_key", "k"}, {"api_secret", "s"}}).message.find("'from'"), std::string::npos);
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
