// app::load_config: the security-relevant defaults and bounds of findings 3 and 4.
#include "app/config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using blynk::app::Config;
using blynk::app::ConfigError;
using blynk::app::load_config;

namespace {
std::string write_toml(const std::string& name, const std::string& text) {
    auto path = std::filesystem::temp_directory_path() / ("blynkd-config-test-" + name + ".toml");
    std::ofstream(path) << text;
    return path.string();
}
}  // namespace

TEST(Config, OperatorApiIsLoopbackOnlyByDefault) {
    // Behind Docker or NAT, internet clients arrive from private addresses.
    Config c = load_config(write_toml("defaults", "[server]\ndata_dir = \"./data\"\n"));
    EXPECT_EQ(c.admin_allowed_ips, (std::vector<std::string>{"127.0.0.0/8", "::1/128"}));
    EXPECT_EQ(c.password_hash_iterations, 600000u);
}

TEST(Config, PasswordHashIterationsHasAFloor) {
    Config c = load_config(write_toml("iter-ok", "[security]\npassword_hash_iterations = 100000\n"));
    EXPECT_EQ(c.password_hash_iterations, 100000u);
    try {
        load_config(write_toml("iter-low", "[security]\npassword_hash_iterations = 99999\n"));
        FAIL() << "99999 was accepted";
    } catch (const ConfigError& e) {
        EXPECT_NE(
            std::string(e.what()).find("security.password_hash_iterations: is 99999; allowed: 100000 to 10000000"),
            std::string::npos)
            << e.what();
    }
}

TEST(Config, AdminSessionIdleMinutesDefaultsTo30AndIsBounded) {
    Config c = load_config(write_toml("idle-default", "[server]\ndata_dir = \"./data\"\n"));
    EXPECT_EQ(c.admin_session_idle_minutes, 30u);
    EXPECT_EQ(load_config(write_toml("idle-5", "[admin]\nsession_idle_minutes = 5\n")).admin_session_idle_minutes, 5u);
    for (const char* bad : {"0", "1441", "\"30\""}) {
        try {
            load_config(write_toml("idle-bad", std::string("[admin]\nsession_idle_minutes = ") + bad + "\n"));
            FAIL() << bad << " was accepted";
        } catch (const ConfigError& e) {
            EXPECT_NE(std::string(e.what()).find("admin.session_idle_minutes"), std::string::npos) << e.what();
        }
    }
}

TEST(Config, MetricsAreOnAndLoopbackOnlyByDefaultWithNoToken) {
    // 127.0.0.1 and ::1 only: not all of 127/8 (another local address stands in for a remote one in the tests).
    Config c = load_config(write_toml("metrics-defaults", "[server]\ndata_dir = \"./data\"\n"));
    EXPECT_TRUE(c.metrics_enabled);
    EXPECT_EQ(c.metrics_allowed_ips, (std::vector<std::string>{"127.0.0.1/32", "::1/128"}));
    EXPECT_EQ(c.metrics_token_file, "");
    Config off = load_config(write_toml("metrics-off", "[metrics]\nenabled = false\nallowed_ips = []\n"));
    EXPECT_FALSE(off.metrics_enabled);
    EXPECT_TRUE(off.metrics_allowed_ips.empty());
}

// Installed binaries find their install's configuration without --config.
TEST(Config, InstalledConfigPathFollowsTheBinary) {
    EXPECT_EQ(blynk::app::installed_config_path("/usr/bin"), "/etc/blynkd/blynk.toml");
    EXPECT_EQ(blynk::app::installed_config_path("/opt/blynkd/bin"), "/opt/blynkd/etc/blynkd/blynk.toml");
    EXPECT_EQ(blynk::app::installed_config_path("/usr/local/bin"), "/usr/local/etc/blynkd/blynk.toml");
}

TEST(Config, WithoutConfigTheInstalledFileIsReadWhenNoneIsInTheWorkingFolder) {
    namespace fs = std::filesystem;
    auto root = fs::temp_directory_path() / "blynkd-config-test-installed";
    fs::remove_all(root);
    fs::create_directories(root / "etc" / "blynkd");
    fs::create_directories(root / "cwd");
    std::ofstream(root / "etc" / "blynkd" / "blynk.toml") << "[server]\nhardware_port = 1234\n";
    auto old = fs::current_path();
    fs::current_path(root / "cwd");
    Config installed = load_config("", blynk::app::installed_config_path((root / "bin").string()));
    Config none = load_config("", (root / "nowhere.toml").string());
    fs::create_directories(root / "cwd" / "config");
    std::ofstream(root / "cwd" / "config" / "blynk.toml") << "[server]\nhardware_port = 4321\n";
    Config local = load_config("", blynk::app::installed_config_path((root / "bin").string()));
    fs::current_path(old);
    fs::remove_all(root);
    EXPECT_EQ(installed.hardware_port, 1234);
    EXPECT_EQ(installed.file, (root / "etc" / "blynkd" / "blynk.toml").string());
    EXPECT_EQ(none.hardware_port, 8080);
    EXPECT_EQ(none.file, "");
    EXPECT_EQ(local.hardware_port, 4321);  // the working folder's config/blynk.toml comes first
}
