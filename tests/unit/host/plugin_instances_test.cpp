// SDK 1.2 in the plugin host (kernel/host/plugin_host.cpp, host_table.cpp):
// one plugin file loaded as two instances with their own settings, events
// that carry the device's token, the bounded pool behind submit_work, and
// plugins' access control as the router sees it. Real plugin files from the
// build: instance-probe (tests/sdk/instance-probe), storage-sqlite, and the
// ABI 1.0 abi10-plugin.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "core/model.hpp"
#include "host/plugin_host.hpp"
#include "temp_dir.hpp"

namespace blynk::host {
namespace {

namespace fs = std::filesystem;

const std::string kProbe = BLYNK_TEST_PLUGIN_DIR "/instance-probe-plugin" BLYNK_PLUGIN_SUFFIX;
const std::string kAbi10 = BLYNK_TEST_PLUGIN_DIR "/abi10-plugin" BLYNK_PLUGIN_SUFFIX;
const std::string kSqlite = BLYNK_PLUGIN_DIR "/storage-sqlite" BLYNK_PLUGIN_SUFFIX;
const std::string kToken = "0123456789abcdef0123456789abcdef";

std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

blynk::Settings settings(std::initializer_list<std::pair<std::string, std::string>> kv) {
    blynk::Settings s;
    for (auto& [k, v] : kv)
        s.set(k, v, BLYNK_SETTING_STRING);
    return s;
}

class PluginInstances : public ::testing::Test {
protected:
    void SetUp() override {
        setup_.enabled = {kSqlite};
        setup_.settings["storage-sqlite"] = settings({{"path", (dir_ / "blynk.db").string()}});
        user_.email = "me@example.com";
        device_.user = &user_;
        device_.token = kToken;
        device_.name = "esp32";
    }
    // Enables the probe file as instance `name` with these settings.
    void probe(const std::string& name, blynk::Settings s) {
        s.set(PluginSetup::kPluginFileKey, kProbe, BLYNK_SETTING_STRING);
        setup_.enabled.push_back(name);
        setup_.settings[name] = std::move(s);
    }
    std::string load_error() {
        PluginHost h(setup_, dir_.string());
        try {
            h.load_all();
        } catch (const PluginError& e) {
            return e.what();
        }
        return "";
    }

    blynk::testing::TempDir tmp_{"blynk-instances"};
    const fs::path dir_ = tmp_.path;
    PluginSetup setup_;
    core::User user_;
    core::Device device_;
};

TEST_F(PluginInstances, OneFileRunsAsTwoInstancesEachWithItsOwnSettingsAndEventsCarryTheToken) {
    probe("probe-a", settings({{"label", "a"}, {"file", (dir_ / "a.txt").string()}}));
    probe("probe-b", settings({{"label", "b"}, {"file", (dir_ / "b.txt").string()}}));
    PluginHost h(setup_, dir_.string());
    h.load_all();
    EXPECT_EQ(h.loaded_names(), (std::vector<std::string>{"storage-sqlite", "probe-a", "probe-b"}));
    HttpRoutes::Match m;
    EXPECT_TRUE(h.routes().match("GET", "/probe/a", m));
    EXPECT_TRUE(h.routes().match("GET", "/probe/b", m));
    // Two instances, two host tables (each instance's log lines carry its own name).
    ASSERT_NE(h.host_table("probe-a"), nullptr);
    EXPECT_NE(h.host_table("probe-a"), h.host_table("probe-b"));

    h.start_threads();
    h.login(true, &device_, "10.0.0.1:5000", 1000);
    h.device_online(device_, "10.0.0.1:5000", 1000);
    h.pin_written(device_, core::pin_key('v', 5), "42", 1001);
    h.login(false, nullptr, "10.0.0.2:5000", 1002);
    h.shutdown();  // delivers what is queued first
    const std::string want = "login 1 me@example.com " + kToken + "\nonline me@example.com " + kToken +
                             "\npin me@example.com " + kToken + " v5 42\nlogin 0  \n";
    EXPECT_EQ(read_file(dir_ / "a.txt"), want);
    EXPECT_EQ(read_file(dir_ / "b.txt"), want);
}

TEST_F(PluginInstances, TwoInstancesClaimingOneRouteAreTheRouteClashError) {
    probe("probe-a", settings({{"label", "same"}}));
    probe("probe-b", settings({{"label", "same"}}));
    std::string e = load_error();
    EXPECT_NE(e.find("plugin 'probe-b'"), std::string::npos) << e;
    EXPECT_NE(e.find("/probe/same"), std::string::npos) << e;
}

TEST_F(PluginInstances, TheSameFileTwiceWithoutInstanceNamesIsRefusedWithTheWayToDoIt) {
    setup_.enabled = {kSqlite, kProbe, kProbe};
    std::string e = load_error();
    EXPECT_NE(e.find("is enabled twice"), std::string::npos) << e;
    EXPECT_NE(e.find("plugin_file"), std::string::npos) << e;
}

TEST_F(PluginInstances, APluginBuiltBeforeSdk12CannotRunTwiceAndSaysSo) {
    setup_.enabled = {kSqlite, "old-a", "old-b"};
    setup_.settings["old-a"] = settings({{"plugin_file", kAbi10}, {"file", (dir_ / "a.txt").string()}});
    setup_.settings["old-b"] = settings({{"plugin_file", kAbi10}, {"file", (dir_ / "b.txt").string()}});
    std::string e = load_error();
    EXPECT_NE(e.find("plugin 'old-b'"), std::string::npos) << e;
    EXPECT_NE(e.find("already loaded as 'old-a'"), std::string::npos) << e;
    EXPECT_NE(e.find("cannot run twice"), std::string::npos) << e;
}

TEST_F(PluginInstances, APluginFileThatIsNotAStringIsRefused) {
    setup_.enabled.push_back("probe-a");
    setup_.settings["probe-a"].set("plugin_file", "3", BLYNK_SETTING_INTEGER);
    std::string e = load_error();
    EXPECT_NE(e.find("[plugins.probe-a] plugin_file must be the name or path of a plugin file"), std::string::npos)
        << e;
}

// What two blocking jobs see: both running at once, then released.
struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    int running = 0;
    bool open = false;
    static void job(void* arg) {
        auto* g = static_cast<Gate*>(arg);
        std::unique_lock<std::mutex> lock(g->mu);
        ++g->running;
        g->cv.notify_all();
        g->cv.wait_for(lock, std::chrono::seconds(10), [g] { return g->open; });
    }
    static void nothing(void*) {}
};

TEST_F(PluginInstances, SubmitWorkRunsOnAPoolOfTheConfiguredSizeAndAFullQueueAnswersError) {
    probe("probe-a", {});
    setup_.worker_threads = 2;
    setup_.worker_queue = 2;  // one waiting job per thread
    PluginHost h(setup_, dir_.string());
    h.load_all();
    const blynk_host_v1* t = h.host_table("probe-a");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->submit_work(t->ctx, Gate::nothing, nullptr), BLYNK_ERROR) << "no pool before start_threads";
    h.start_threads();
    Gate g;
    ASSERT_EQ(t->submit_work(t->ctx, Gate::job, &g), BLYNK_OK);
    {
        // Wait for the first job to run, so the second goes to the other (idle) thread.
        std::unique_lock<std::mutex> lock(g.mu);
        ASSERT_TRUE(g.cv.wait_for(lock, std::chrono::seconds(10), [&] { return g.running == 1; }));
    }
    ASSERT_EQ(t->submit_work(t->ctx, Gate::job, &g), BLYNK_OK);
    {
        std::unique_lock<std::mutex> lock(g.mu);
        EXPECT_TRUE(g.cv.wait_for(lock, std::chrono::seconds(10), [&] { return g.running == 2; }))
            << "the second blocking job did not start while the first ran";
    }
    EXPECT_EQ(t->submit_work(t->ctx, Gate::nothing, nullptr), BLYNK_OK);
    EXPECT_EQ(t->submit_work(t->ctx, Gate::nothing, nullptr), BLYNK_OK);
    EXPECT_EQ(t->submit_work(t->ctx, Gate::nothing, nullptr), BLYNK_ERROR) << "the queue bound is 2";
    {
        std::lock_guard<std::mutex> lock(g.mu);
        g.open = true;
    }
    g.cv.notify_all();
    h.shutdown();
}

TEST_F(PluginInstances, WithoutAnAccessHookTheRouterGetsNoPolicy) {
    PluginHost h(setup_, dir_.string());
    h.load_all();
    EXPECT_EQ(h.access_policy(), nullptr);
}

TEST_F(PluginInstances, AnAccessHookDeniesTheLoginAndThePinItsSettingsName) {
    probe("probe-a", settings({{"deny_token", kToken}, {"deny_pin", "v7"}}));
    PluginHost h(setup_, dir_.string());
    h.load_all();
    core::AccessPolicy* policy = h.access_policy();
    ASSERT_NE(policy, nullptr);
    EXPECT_FALSE(policy->allow_login(device_, "10.0.0.1:1"));
    core::Device other = device_;
    other.token = std::string(32, 'f');
    EXPECT_TRUE(policy->allow_login(other, "10.0.0.1:1"));
    EXPECT_FALSE(policy->allow_write(other, core::pin_key('v', 7), "1", core::WriteSource::Hardware));
    EXPECT_TRUE(policy->allow_write(other, core::pin_key('v', 8), "1", core::WriteSource::Api));
}

}  // namespace
}  // namespace blynk::host
