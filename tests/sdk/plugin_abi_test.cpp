// Loads the SDK's test modules and the out-of-tree pin-logger through the C
// ABI alone, with the SDK's fake host (blynk/plugin_testing.hpp): checks what
// a kernel will rely on (the entry symbol, the answered ABI version, the
// tables) without needing the kernel.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include <blynk/plugin_testing.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace std::string_literals;
using blynk::testing::FakeHost;
using blynk::testing::PluginUnderTest;
using blynk::testing::Setting;

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

TEST(TestModules, NoEntryPluginHasNoEntrySymbol) {
    std::string error;
    EXPECT_EQ(blynk::testing::find_entry(BLYNK_PLUGIN_MODULE_NO_ENTRY_PLUGIN, &error), nullptr);
    EXPECT_NE(error.find("has no entry symbol 'blynk_plugin_entry'"), std::string::npos) << error;
}

TEST(TestModules, WrongAbiPluginAnswersTheNextMajor) {
    FakeHost host(".");
    PluginUnderTest plugin(host);
    EXPECT_FALSE(plugin.load_module(BLYNK_PLUGIN_MODULE_WRONG_ABI_PLUGIN));
    const blynk_plugin_v1* p = plugin.table();
    ASSERT_NE(p, nullptr) << plugin.error();
    EXPECT_EQ(p->size, sizeof(blynk_plugin_v1));
    EXPECT_EQ(p->abi_major, BLYNK_ABI_MAJOR + 1);
    EXPECT_EQ(plugin.name(), "wrong-abi-plugin");
    // Refused the way blynkd refuses it, naming both versions.
    std::string both = "built for plugin ABI " + std::to_string(BLYNK_ABI_MAJOR + 1) + ".0, but this host speaks ABI " +
                       std::to_string(BLYNK_ABI_MAJOR) + "." + std::to_string(BLYNK_ABI_MINOR);
    EXPECT_NE(plugin.error().find(both), std::string::npos) << plugin.error();
}

class PinLogger : public ::testing::Test {
protected:
    // One host and one plugin for the process: pin-logger is created once.
    struct Loaded {
        blynk::testing::TempDir dir{"blynk-abi-test"};
        FakeHost host{dir.path()};
        PluginUnderTest plugin{host};
        Loaded() { plugin.load_module(BLYNK_PIN_LOGGER_PLUGIN); }
    };
    static Loaded& loaded() {
        static Loaded* l = new Loaded;
        return *l;
    }
    void SetUp() override { ASSERT_TRUE(plugin().loaded()) << plugin().error(); }
    // The host outlives the tests (pin-logger keeps its table); its files do not.
    static void TearDownTestSuite() {
        std::error_code ec;
        std::filesystem::remove_all(dir(), ec);
    }
    static PluginUnderTest& plugin() { return loaded().plugin; }
    static const std::string& dir() { return loaded().dir.path(); }
    void write(const char* email, int dash, int device, char type, uint8_t pin, std::string_view value, int64_t at) {
        EXPECT_TRUE(plugin().pin_written({email, dash, device, type, pin, value, at}));
    }
};

TEST_F(PinLogger, AnswersTheHostsAbiAndSubscribesToPinWritesOnly) {
    const blynk_plugin_v1* p = plugin().table();
    EXPECT_EQ(p->size, sizeof(blynk_plugin_v1));
    EXPECT_EQ(p->abi_major, BLYNK_ABI_MAJOR);
    EXPECT_EQ(plugin().name(), "pin-logger");
    EXPECT_EQ(p->storage, nullptr);
    ASSERT_NE(p->events, nullptr);
    EXPECT_NE(p->events->pin_written, nullptr);
    EXPECT_EQ(p->events->device_online, nullptr);
    EXPECT_EQ(p->events->device_offline, nullptr);
    EXPECT_EQ(p->events->login, nullptr);
}

TEST_F(PinLogger, RefusesAnUnknownKeyByName) {
    auto r = plugin().init({{"flie", "x"}});
    EXPECT_EQ(r.status, BLYNK_ERROR);
    EXPECT_NE(r.message.find("'flie'"), std::string::npos) << r.message;
}

TEST_F(PinLogger, RefusesANonStringFile) {
    auto r = plugin().init({{"file", "3", BLYNK_SETTING_INTEGER}});
    EXPECT_EQ(r.status, BLYNK_ERROR);
    EXPECT_NE(r.message.find("'file'"), std::string::npos) << r.message;
}

TEST_F(PinLogger, NamesAFileItCannotOpen) {
    std::string v = dir() + "/no/such/dir/log.txt";
    auto r = plugin().init({{"file", v}});
    EXPECT_EQ(r.status, BLYNK_ERROR);
    EXPECT_NE(r.message.find(v), std::string::npos) << r.message;
}

TEST_F(PinLogger, DefaultsToPinLogInTheDataDir) {
    auto r = plugin().init({});
    ASSERT_EQ(r.status, BLYNK_OK) << r.message;
    write("a@b.c", 1, 0, 'v', 5, "42", 1000);
    EXPECT_EQ(read_file(dir() + "/pin-log.txt"), "1000 a@b.c 1-0 v5 42\n");
}

TEST_F(PinLogger, AppendsOneFlushedLinePerWrite) {
    std::string v = dir() + "/custom.log";
    auto r = plugin().init({{"file", v}});
    ASSERT_EQ(r.status, BLYNK_OK) << r.message;
    write("alice@example.com", 3, 7, 'd', 13, "1", 1700000000000);
    EXPECT_EQ(read_file(v), "1700000000000 alice@example.com 3-7 d13 1\n");  // readable before shutdown
    write("alice@example.com", 3, 7, 'v', 255,
          "1\0"s
          "2\0"s
          "three",
          1700000000001);
    write("", 1, 0, 'a', 0, "bad\nline", 1700000000002);
    write("x@y.z", 1, 0, 'v', 1, "", 1700000000003);
    EXPECT_EQ(read_file(v),
              "1700000000000 alice@example.com 3-7 d13 1\n"
              "1700000000001 alice@example.com 3-7 v255 1 2 three\n"
              "1700000000002 - 1-0 a0 bad?line\n"
              "1700000000003 x@y.z 1-0 v1 \n");
    plugin().shutdown();
    write("late@x.y", 1, 0, 'v', 1, "ignored", 1700000000004);  // after shutdown: dropped, no crash
    EXPECT_EQ(read_file(v).find("late@"), std::string::npos);
}

}  // namespace
