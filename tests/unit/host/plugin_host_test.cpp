// Where the plugin host looks for a plugin (kernel/host/plugin_host.cpp), and
// the refusal of a plugin file or folder others may write.
#include "host/plugin_host.hpp"

#include <gtest/gtest.h>
#if !defined(_WIN32)
#include <sys/stat.h>
#include <unistd.h>
#endif

#include <boost/dll/shared_library.hpp>
#include <filesystem>
#include <fstream>

#include "platform/platform.hpp"
#include "temp_dir.hpp"

namespace blynk::host {
namespace {

namespace fs = std::filesystem;

const std::string kSuffix = boost::dll::shared_library::suffix().string();

TEST(PluginHostCandidates, ANameIsLookedUpOnlyInThePluginFolders) {
    PluginSetup c;
    c.search_dirs = PluginHost::default_search_dirs("/opt/acme/plugins", "/usr/local/bin");
    PluginHost h(c, "/var/lib/blynkd");
    const std::vector<std::string> want = {"/opt/acme/plugins/x" + kSuffix, "/usr/local/bin/plugins/x" + kSuffix,
                                           "/usr/local/lib/blynkd/plugins/x" + kSuffix};
    EXPECT_EQ(h.candidates("x"), want);
    // With the suffix already there it is still a name, never a file for the loader to search.
    EXPECT_EQ(h.candidates("x" + kSuffix), want);
}

TEST(PluginHostCandidates, APathIsUsedAsGivenButMadeAbsolute) {
    PluginSetup c;
    c.search_dirs = PluginHost::default_search_dirs("", "/usr/local/bin");
    PluginHost h(c, "/var/lib/blynkd");
    EXPECT_EQ(h.candidates("/opt/x" + kSuffix), std::vector<std::string>{"/opt/x" + kSuffix});
    auto rel = h.candidates("sub/../lib/x" + kSuffix);
    ASSERT_EQ(rel.size(), 1u);
    EXPECT_EQ(rel[0], (fs::current_path() / ("lib/x" + kSuffix)).string());
}

#if !defined(_WIN32)  // POSIX mode bits; the check is a no-op on Windows
class PluginWriteAccess : public ::testing::Test {
protected:
    void SetUp() override {
        file_ = (dir_ / ("p" + kSuffix)).string();
        std::ofstream(file_) << "not loaded: refused before";
        ::chmod(file_.c_str(), 0755);
    }
    void TearDown() override { ::chmod(dir_.c_str(), 0700); }  // so that TempDir can remove it
    // The error load_all gives for the file as the only enabled plugin.
    std::string load_error() {
        PluginSetup c;
        c.enabled = {file_};
        PluginHost h(c, "/nonexistent");
        try {
            h.load_all();
        } catch (const PluginError& e) {
            return e.what();
        }
        return "";
    }
    // load_all refuses the file before loading it, for the reason `why`.
    void expect_refused(const std::string& why) {
        std::string e = load_error();
        EXPECT_NE(e.find("refused: " + why), std::string::npos) << e;
    }
    blynk::testing::TempDir tmp_{"blynk-plugin-perm"};
    const fs::path dir_ = tmp_.path;
    std::string file_;
};

TEST_F(PluginWriteAccess, ModeBitsOfGroupAndOthersAreNamed) {
    std::string error;
    EXPECT_EQ(platform::writable_by_others(file_, error), "");
    ::chmod(file_.c_str(), 0646);
    EXPECT_EQ(platform::writable_by_others(file_, error), "others");
    ::chmod(file_.c_str(), 0664);
    EXPECT_EQ(platform::writable_by_others(file_, error), "group");
    ::chmod(file_.c_str(), 0666);
    EXPECT_EQ(platform::writable_by_others(file_, error), "group and others");
    EXPECT_EQ(error, "");
    EXPECT_EQ(platform::writable_by_others((dir_ / "missing").string(), error), "");
    EXPECT_NE(error, "");
}

TEST_F(PluginWriteAccess, AFileOthersMayWriteIsRefusedBeforeItIsLoaded) {
    ::chmod(file_.c_str(), 0646);
    expect_refused("the file " + fs::canonical(file_).string() + " is writable by others");
}

TEST_F(PluginWriteAccess, AFolderOthersMayWriteIsRefused) {
    ::chmod(dir_.c_str(), 0777);
    expect_refused("its folder " + fs::canonical(dir_).string() + " is writable by group and others");
}

TEST_F(PluginWriteAccess, ALinkInAFolderOthersMayWriteIsRefused) {
    fs::path links = dir_ / "links";
    fs::create_directory(links);
    ::chmod(links.c_str(), 0777);
    fs::create_symlink(file_, links / ("p" + kSuffix));
    file_ = (links / ("p" + kSuffix)).string();
    expect_refused("the folder of its link " + fs::canonical(links).string() + " is writable by group and others");
}

TEST_F(PluginWriteAccess, AnOwnerOnlyFileGetsAsFarAsTheLoader) {
    std::string e = load_error();
    EXPECT_EQ(e.find("refused"), std::string::npos) << e;
    EXPECT_NE(e.find("cannot be loaded"), std::string::npos) << e;  // it is not a library
}

#endif

}  // namespace
}  // namespace blynk::host
