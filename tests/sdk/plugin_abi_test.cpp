// Loads the SDK's test modules and the out-of-tree pin-logger through the C
// ABI alone, with a fake host: checks what a kernel will rely on (the entry
// symbol, the answered ABI version, the tables) without needing the kernel.
#include <blynk/plugin.h>

#include <gtest/gtest.h>

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace std::string_literals;

struct FakeHost {
    std::vector<std::string> logs;
    std::string data_dir;
    blynk_host_v1 table{};

    explicit FakeHost(std::string dir) : data_dir(std::move(dir)) {
        table.size = sizeof table;
        table.abi_major = BLYNK_ABI_MAJOR;
        table.abi_minor = BLYNK_ABI_MINOR;
        table.ctx = this;
        table.log = [](void* ctx, int, blynk_str m) { static_cast<FakeHost*>(ctx)->logs.emplace_back(m.data, m.size); };
        table.server_version = {"0.0.0-test", 10};
        table.data_dir = {data_dir.data(), data_dir.size()};
        table.submit_work = nullptr;
    }
};

void* open_module(const char* path) {
    void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) ADD_FAILURE() << "dlopen " << path << ": " << dlerror();
    return h;
}

blynk_plugin_entry_fn entry_of(void* module) {
    return reinterpret_cast<blynk_plugin_entry_fn>(dlsym(module, BLYNK_PLUGIN_ENTRY_NAME));
}

blynk_setting text_setting(const std::string& key, const std::string& value) {
    return blynk_setting{{key.data(), key.size()}, {value.data(), value.size()}, BLYNK_SETTING_STRING};
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string temp_dir() {
    std::string tmpl = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/blynk-abi-test.XXXXXX"s;
    if (!mkdtemp(tmpl.data())) ADD_FAILURE() << "mkdtemp failed";
    return tmpl;
}

TEST(TestModules, NoEntryPluginHasNoEntrySymbol) {
    void* m = open_module(BLYNK_NO_ENTRY_PLUGIN);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(entry_of(m), nullptr);
}

TEST(TestModules, WrongAbiPluginAnswersTheNextMajor) {
    void* m = open_module(BLYNK_WRONG_ABI_PLUGIN);
    ASSERT_NE(m, nullptr);
    auto entry = entry_of(m);
    ASSERT_NE(entry, nullptr);
    FakeHost host(".");
    const blynk_plugin_v1* p = entry(&host.table);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->size, sizeof(blynk_plugin_v1));
    EXPECT_EQ(p->abi_major, BLYNK_ABI_MAJOR + 1);
    EXPECT_EQ(std::string_view(p->name.data, p->name.size), "wrong-abi-plugin");
}

class PinLogger : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        module_ = open_module(BLYNK_PIN_LOGGER_PLUGIN);
        if (!module_) return;
        auto entry = entry_of(module_);
        if (!entry) return;
        dir_ = new std::string(temp_dir());
        host_ = new FakeHost(*dir_);
        plugin_ = entry(&host_->table);
    }
    static void TearDownTestSuite() {
        if (dir_) {
            std::error_code ec;
            std::filesystem::remove_all(*dir_, ec);
        }
    }
    void SetUp() override {
        if (!plugin_) GTEST_SKIP() << "pin-logger did not load (see the first failure)";
    }
    int init(const std::vector<blynk_setting>& settings, blynk_error& err) {
        err.message[0] = '\0';
        return plugin_->init(plugin_->self, settings.data(), settings.size(), &err);
    }
    void write(const char* email, int dash, int device, char type, uint8_t pin, std::string_view value, int64_t at) {
        blynk_pin_event ev{};
        ev.size = sizeof ev;
        ev.email = {email, std::strlen(email)};
        ev.dash_id = dash;
        ev.device_id = device;
        ev.pin_type = type;
        ev.pin = pin;
        ev.value = {value.data(), value.size()};
        ev.at_ms = at;
        plugin_->events->pin_written(plugin_->self, &ev);
    }

    static inline void* module_ = nullptr;
    static inline std::string* dir_ = nullptr;
    static inline FakeHost* host_ = nullptr;
    static inline const blynk_plugin_v1* plugin_ = nullptr;
};

TEST_F(PinLogger, AnswersTheHostsAbiAndSubscribesToPinWritesOnly) {
    EXPECT_EQ(plugin_->size, sizeof(blynk_plugin_v1));
    EXPECT_EQ(plugin_->abi_major, BLYNK_ABI_MAJOR);
    EXPECT_EQ(std::string_view(plugin_->name.data, plugin_->name.size), "pin-logger");
    EXPECT_EQ(plugin_->storage, nullptr);
    ASSERT_NE(plugin_->events, nullptr);
    EXPECT_NE(plugin_->events->pin_written, nullptr);
    EXPECT_EQ(plugin_->events->device_online, nullptr);
    EXPECT_EQ(plugin_->events->device_offline, nullptr);
    EXPECT_EQ(plugin_->events->login, nullptr);
}

TEST_F(PinLogger, RefusesAnUnknownKeyByName) {
    blynk_error err;
    std::string k = "flie", v = "x";
    EXPECT_EQ(init({text_setting(k, v)}, err), BLYNK_ERROR);
    EXPECT_NE(std::string(err.message).find("'flie'"), std::string::npos) << err.message;
}

TEST_F(PinLogger, RefusesANonStringFile) {
    blynk_error err;
    std::string k = "file", v = "3";
    blynk_setting s = text_setting(k, v);
    s.type = BLYNK_SETTING_INTEGER;
    EXPECT_EQ(init({s}, err), BLYNK_ERROR);
    EXPECT_NE(std::string(err.message).find("'file'"), std::string::npos) << err.message;
}

TEST_F(PinLogger, NamesAFileItCannotOpen) {
    blynk_error err;
    std::string k = "file", v = *dir_ + "/no/such/dir/log.txt";
    EXPECT_EQ(init({text_setting(k, v)}, err), BLYNK_ERROR);
    EXPECT_NE(std::string(err.message).find(v), std::string::npos) << err.message;
}

TEST_F(PinLogger, DefaultsToPinLogInTheDataDir) {
    blynk_error err;
    ASSERT_EQ(init({}, err), BLYNK_OK) << err.message;
    write("a@b.c", 1, 0, 'v', 5, "42", 1000);
    EXPECT_EQ(read_file(*dir_ + "/pin-log.txt"), "1000 a@b.c 1-0 v5 42\n");
}

TEST_F(PinLogger, AppendsOneFlushedLinePerWrite) {
    blynk_error err;
    std::string k = "file", v = *dir_ + "/custom.log";
    ASSERT_EQ(init({text_setting(k, v)}, err), BLYNK_OK) << err.message;
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
    plugin_->shutdown(plugin_->self);
    write("late@x.y", 1, 0, 'v', 1, "ignored", 1700000000004);  // after shutdown: dropped, no crash
    EXPECT_EQ(read_file(v).find("late@"), std::string::npos);
}

}  // namespace
