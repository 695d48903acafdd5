// Unit tests of the storage-sqlite plugin. The built module is loaded the way
// the kernel loads it, by the SDK's fake host (blynk/plugin_testing.hpp), and
// driven only through the C tables of plugin.h.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include <blynk/plugin_testing.hpp>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#ifndef BLYNK_PLUGIN_MODULE
#error "BLYNK_PLUGIN_MODULE must name the built module (blynk_add_plugin_test ... PLUGIN storage-sqlite)"
#endif

namespace fs = std::filesystem;
using namespace std::string_literals;
using blynk::testing::Setting;
using Loaded = blynk::testing::RecordingSink;

namespace {

// ------------------------------------------------------------------ harness

// One host and one plugin for the process: the plugin is created once.
struct Module {
    blynk::testing::TempDir tmp_dir{"storage-sqlite-test"};
    fs::path tmp = tmp_dir.path();
    // Deliberately missing: the plugin must create the folder of its default path.
    std::string data_dir = (tmp / "data" / "nested").string();
    blynk::testing::FakeHost host{data_dir, "test"};
    blynk::testing::PluginUnderTest plugin{host};
    Module() { plugin.load_module(BLYNK_PLUGIN_MODULE); }
};

Module& mod() {
    static Module* m = new Module;
    return *m;
}

const blynk_plugin_v1* P() {
    return mod().plugin.table();
}
blynk::testing::PluginUnderTest& plugin() {
    return mod().plugin;
}

// Keeps the status, puts the message in *msg.
int status(const blynk::testing::Result& r, std::string* msg) {
    if (msg) *msg = r.message;
    return r.status;
}

int init(const std::vector<Setting>& settings, std::string* msg = nullptr) {
    return status(plugin().init(settings), msg);
}

// Opens a fresh database file named after the test; returns its path.
std::string open_fresh(int busy_ms = -1) {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::string path = (mod().tmp / (name + ".db")).string();
    std::vector<Setting> s{{"path", path, BLYNK_SETTING_STRING}};
    if (busy_ms >= 0) s.push_back({"busy_timeout_ms", std::to_string(busy_ms), BLYNK_SETTING_INTEGER});
    std::string msg;
    EXPECT_EQ(init(s, &msg), BLYNK_OK) << msg;
    return path;
}

// Checks the sink order rule: every record comes after its parent.
void expect_parents_first(const Loaded& l) {
    // With the plugin's order (all users, dashboards, devices, pins) the
    // call sequence must be U* D* V* P*.
    std::string sorted = l.order;
    std::stable_sort(sorted.begin(), sorted.end(), [](char a, char b) {
        auto rank = [](char c) { return c == 'U' ? 0 : c == 'D' ? 1 : c == 'V' ? 2 : 3; };
        return rank(a) < rank(b);
    });
    EXPECT_EQ(l.order, sorted);
}

int load_all(Loaded& out, std::string* msg = nullptr) {
    return status(plugin().load_all(out), msg);
}
int load_user(const std::string& email, Loaded& out) {
    return plugin().load_user(email, out).status;
}
int load_by_token(const std::string& token, Loaded& out) {
    return plugin().load_by_token(token, out).status;
}
int put_user(const blynk::User& u, bool create, std::string* msg = nullptr) {
    return status(plugin().put_user(u, create), msg);
}
int remove_user(const std::string& email, std::string* msg = nullptr) {
    return status(plugin().remove_user(email), msg);
}
int put_dash(const blynk::Dash& d, std::string* msg = nullptr) {
    return status(plugin().put_dash(d), msg);
}
int put_device(const blynk::Device& d, std::string* msg = nullptr) {
    return status(plugin().put_device(d), msg);
}
int remove_device(const std::string& email, int32_t dash, int32_t dev, std::string* msg = nullptr) {
    return status(plugin().remove_device(email, dash, dev), msg);
}
int put_pins(const std::vector<blynk::Pin>& pins, std::string* msg = nullptr) {
    return status(plugin().put_pins(pins), msg);
}

blynk::User user(const std::string& email) {
    blynk::User u;
    u.email = email;
    u.name = "Name of " + email;
    u.pass_hash = "hash\0with nul"s;
    u.created_at_ms = 1700000000000;
    return u;
}
blynk::Dash dash(const std::string& email, int32_t id) {
    blynk::Dash d;
    d.email = email;
    d.dash_id = id;
    d.name = "Dash " + std::to_string(id);
    d.is_active = true;
    d.created_at_ms = 1700000000001;
    return d;
}
blynk::Device device(const std::string& email, int32_t dash_id, int32_t id, const std::string& token) {
    blynk::Device d;
    d.email = email;
    d.dash_id = dash_id;
    d.device_id = id;
    d.name = "Device " + std::to_string(id);
    d.token = token;
    d.board_type = "ESP32";
    d.created_at_ms = 1700000000002;
    d.last_ip = "10.0.0.7";
    return d;
}
blynk::Pin pin(const std::string& email, int32_t dash_id, int32_t dev, char type, uint8_t n, std::string value,
               std::string prop = "") {
    blynk::Pin p;
    p.email = email;
    p.dash_id = dash_id;
    p.device_id = dev;
    p.pin_type = type;
    p.pin = n;
    p.property = std::move(prop);
    p.value = std::move(value);
    p.updated_at_ms = 1700000000003;
    return p;
}

// A direct connection to a database file, as the CLI process would have.
struct Direct {
    sqlite3* db = nullptr;
    explicit Direct(const std::string& path) {
        EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
        exec("PRAGMA foreign_keys=ON");
    }
    ~Direct() { sqlite3_close(db); }
    int exec(const std::string& sql) { return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr); }
    int64_t integer(const std::string& sql) {
        sqlite3_stmt* s = nullptr;
        EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
        int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
        sqlite3_finalize(s);
        return v;
    }
    std::string text(const std::string& sql) {
        sqlite3_stmt* s = nullptr;
        EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
        std::string v;
        if (sqlite3_step(s) == SQLITE_ROW)
            v.assign(static_cast<const char*>(sqlite3_column_blob(s, 0)), size_t(sqlite3_column_bytes(s, 0)));
        sqlite3_finalize(s);
        return v;
    }
};

// The host outlives the tests (the plugin keeps its table); the files do not.
class Cleanup : public ::testing::Environment {
public:
    void TearDown() override {
        plugin().shutdown();
        std::error_code ec;
        fs::remove_all(mod().tmp, ec);
    }
};
const auto* const g_env = ::testing::AddGlobalTestEnvironment(new Cleanup);

// -------------------------------------------------------------------- tests

TEST(StorageSqlite, EntryDescribesAThreadSafeStoragePlugin) {
    ASSERT_TRUE(plugin().loaded()) << plugin().error();
    EXPECT_EQ(P()->size, sizeof(blynk_plugin_v1));
    EXPECT_EQ(P()->abi_major, BLYNK_ABI_MAJOR);
    EXPECT_EQ(blynk::view(P()->name), "storage-sqlite");
    EXPECT_EQ(blynk::view(P()->version), "0.1.0");
    EXPECT_TRUE(P()->flags & BLYNK_PLUGIN_THREAD_SAFE);
    ASSERT_NE(plugin().storage(), nullptr);
    EXPECT_EQ(plugin().storage()->size, sizeof(blynk_storage_v1));
    EXPECT_EQ(P()->events, nullptr);
}

TEST(StorageSqlite, DefaultPathIsInDataDirAndParentIsCreated) {
    ASSERT_FALSE(fs::exists(mod().data_dir));
    std::string msg;
    ASSERT_EQ(init({}, &msg), BLYNK_OK) << msg;
    std::string path = mod().data_dir + "/blynk.db";
    ASSERT_TRUE(fs::exists(path));
    Direct d(path);
    EXPECT_EQ(d.text("PRAGMA journal_mode"), "wal");
    EXPECT_EQ(d.integer("PRAGMA user_version"), 3);
    EXPECT_EQ(d.integer("PRAGMA application_id"), 0x426C796E);
    for (const char* t : {"users", "dashboards", "devices", "pins"})
        EXPECT_EQ(d.integer("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='"s + t + "'"), 1) << t;
}

TEST(StorageSqlite, UnknownSettingIsAnErrorNamingTheKey) {
    std::string msg;
    EXPECT_EQ(init({{"paht", "x.db", BLYNK_SETTING_STRING}}, &msg), BLYNK_ERROR);
    EXPECT_NE(msg.find("'paht'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("busy_timeout_ms"), std::string::npos) << msg;  // lists the known keys
}

TEST(StorageSqlite, BusyTimeoutOutOfRangeOrWrongTypeIsAnError) {
    std::string msg;
    EXPECT_EQ(init({{"busy_timeout_ms", "600001", BLYNK_SETTING_INTEGER}}, &msg), BLYNK_ERROR);
    EXPECT_NE(msg.find("busy_timeout_ms"), std::string::npos) << msg;
    EXPECT_EQ(init({{"busy_timeout_ms", "fast", BLYNK_SETTING_STRING}}, &msg), BLYNK_ERROR);
    EXPECT_NE(msg.find("busy_timeout_ms"), std::string::npos) << msg;
    EXPECT_EQ(init({{"path", "5", BLYNK_SETTING_INTEGER}}, &msg), BLYNK_ERROR);
    EXPECT_NE(msg.find("path"), std::string::npos) << msg;
}

TEST(StorageSqlite, CallsAfterAFailedInitAreErrorsNotCrashes) {
    std::string msg;
    ASSERT_EQ(init({{"bogus", "1", BLYNK_SETTING_INTEGER}}, &msg), BLYNK_ERROR);
    EXPECT_EQ(put_user(user("a@x"), true, &msg), BLYNK_ERROR);
    EXPECT_NE(msg.find("not open"), std::string::npos) << msg;
}

TEST(StorageSqlite, NonDatabaseFileGivesAClearErrorAndIsLeftAlone) {
    std::string path = (mod().tmp / "notes.txt").string();
    std::string content;
    for (int i = 0; i < 200; ++i)
        content += "these are my notes, not a database\n";
    std::ofstream(path) << content;
    std::string msg;
    EXPECT_EQ(init({{"path", path, BLYNK_SETTING_STRING}}, &msg), BLYNK_ERROR);
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("not a SQLite database"), std::string::npos) << msg;
    EXPECT_NE(msg.find("move this one away"), std::string::npos) << msg;
    std::ifstream in(path);
    std::string after((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(after, content);
    EXPECT_FALSE(fs::exists(path + "-wal"));
}

TEST(StorageSqlite, PathThatIsAFolderGivesAClearError) {
    std::string path = (mod().tmp / "a-folder").string();
    fs::create_directories(path);
    std::string msg;
    EXPECT_EQ(init({{"path", path, BLYNK_SETTING_STRING}}, &msg), BLYNK_ERROR);
    EXPECT_NE(msg.find("cannot open the database '" + path + "'"), std::string::npos) << msg;
}

TEST(StorageSqlite, ForeignSqliteDatabaseIsRefusedAndNotModified) {
    std::string path = (mod().tmp / "other-app.db").string();
    {
        Direct d(path);
        ASSERT_EQ(d.exec("CREATE TABLE recipes(name TEXT)"), SQLITE_OK);
    }
    std::string msg;
    EXPECT_EQ(init({{"path", path, BLYNK_SETTING_STRING}}, &msg), BLYNK_ERROR);
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("not a blynkd one"), std::string::npos) << msg;
    Direct d(path);
    EXPECT_EQ(d.text("PRAGMA journal_mode"), "delete");  // not switched to WAL
    EXPECT_EQ(d.integer("SELECT count(*) FROM sqlite_master"), 1);
}

TEST(StorageSqlite, NewerSchemaVersionIsRefused) {
    std::string path = open_fresh();
    plugin().shutdown();
    {
        Direct d(path);
        ASSERT_EQ(d.exec("PRAGMA user_version=99"), SQLITE_OK);
    }
    std::string msg;
    EXPECT_EQ(init({{"path", path, BLYNK_SETTING_STRING}}, &msg), BLYNK_ERROR);
    EXPECT_NE(msg.find("schema version 99"), std::string::npos) << msg;
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
}

TEST(StorageSqlite, CreateUserThenDuplicateIsAConflictAndUpdateUpserts) {
    open_fresh();
    std::string msg;
    ASSERT_EQ(put_user(user("a@x"), true, &msg), BLYNK_OK) << msg;
    EXPECT_EQ(put_user(user("a@x"), true, &msg), BLYNK_CONFLICT);
    EXPECT_EQ(msg, "user a@x already exists");
    auto u = user("a@x");
    u.name = "Renamed";
    u.is_admin = true;
    EXPECT_EQ(put_user(u, false, &msg), BLYNK_OK) << msg;
    EXPECT_EQ(put_user(user("b@x"), false, &msg), BLYNK_OK) << msg;  // upsert inserts too

    Loaded l;
    ASSERT_EQ(load_all(l, &msg), BLYNK_OK) << msg;
    ASSERT_EQ(l.users.size(), 2u);
    EXPECT_EQ(l.users[0].email, "a@x");
    EXPECT_EQ(l.users[0].name, "Renamed");
    EXPECT_TRUE(l.users[0].is_admin);
    EXPECT_EQ(l.users[0].pass_hash, "hash\0with nul"s);
    EXPECT_EQ(l.users[0].created_at_ms, 1700000000000);
    EXPECT_EQ(put_user(user(""), true, &msg), BLYNK_ERROR);
}

TEST(StorageSqlite, UpdatingAUserKeepsItsDashboardsAndDevices) {
    open_fresh();
    ASSERT_EQ(put_user(user("a@x"), true), BLYNK_OK);
    ASSERT_EQ(put_device(device("a@x", 1, 1, "tok")), BLYNK_OK);
    ASSERT_EQ(put_user(user("a@x"), false), BLYNK_OK);  // must not be a delete + insert
    Loaded l;
    ASSERT_EQ(load_user("a@x", l), BLYNK_OK);
    EXPECT_EQ(l.devices.size(), 1u);
}

TEST(StorageSqlite, DashboardsAndDevicesNeedTheirUser) {
    open_fresh();
    std::string msg;
    EXPECT_EQ(put_dash(dash("ghost@x", 1), &msg), BLYNK_NOT_FOUND);
    EXPECT_NE(msg.find("ghost@x"), std::string::npos) << msg;
    EXPECT_EQ(put_device(device("ghost@x", 1, 1, "t"), &msg), BLYNK_NOT_FOUND);
    EXPECT_NE(msg.find("ghost@x"), std::string::npos) << msg;
}

TEST(StorageSqlite, DeviceTokenConflictAndImplicitDashboard) {
    open_fresh();
    std::string msg;
    ASSERT_EQ(put_user(user("a@x"), true), BLYNK_OK);
    ASSERT_EQ(put_user(user("b@x"), true), BLYNK_OK);
    // No dashboard 7 yet: it is created as "My Dashboard".
    ASSERT_EQ(put_device(device("a@x", 7, 1, "token-1"), &msg), BLYNK_OK) << msg;
    // Same device again: an update, not a conflict with itself.
    auto d = device("a@x", 7, 1, "token-1");
    d.name = "Kitchen";
    d.hardware_info =
        "ver\0"s
        "0.6.1\0"s
        "h-beat\0"s
        "10\0"s;
    d.connect_time_ms = 5;
    ASSERT_EQ(put_device(d, &msg), BLYNK_OK) << msg;
    // Another device (same user or another) with that token: conflict.
    EXPECT_EQ(put_device(device("a@x", 7, 2, "token-1"), &msg), BLYNK_CONFLICT);
    EXPECT_NE(msg.find("already used"), std::string::npos) << msg;
    EXPECT_EQ(put_device(device("b@x", 1, 1, "token-1"), &msg), BLYNK_CONFLICT);
    // Devices without a token do not conflict with each other.
    EXPECT_EQ(put_device(device("a@x", 7, 3, ""), &msg), BLYNK_OK) << msg;
    EXPECT_EQ(put_device(device("a@x", 7, 4, ""), &msg), BLYNK_OK) << msg;
    // Changing a device's token frees the old one.
    ASSERT_EQ(put_device(device("a@x", 7, 1, "token-2"), &msg), BLYNK_OK) << msg;
    EXPECT_EQ(put_device(device("b@x", 1, 1, "token-1"), &msg), BLYNK_OK) << msg;

    Loaded l;
    ASSERT_EQ(load_user("a@x", l), BLYNK_OK);
    ASSERT_EQ(l.dashes.size(), 1u);
    EXPECT_EQ(l.dashes[0].dash_id, 7);
    EXPECT_EQ(l.dashes[0].name, "My Dashboard");
    ASSERT_EQ(l.devices.size(), 3u);
    EXPECT_EQ(l.devices[0].token, "token-2");
    EXPECT_EQ(l.devices[1].token, "");
    // An explicit put_dash updates the implicit dashboard.
    ASSERT_EQ(put_dash(dash("a@x", 7)), BLYNK_OK);
    Loaded l2;
    ASSERT_EQ(load_user("a@x", l2), BLYNK_OK);
    EXPECT_EQ(l2.dashes[0].name, "Dash 7");
    EXPECT_EQ(l2.devices.size(), 3u);
}

TEST(StorageSqlite, LoadByTokenReturnsTheWholeOwningUser) {
    open_fresh();
    std::string msg;
    for (std::string e : {"a@x", "b@x"}) {
        ASSERT_EQ(put_user(user(e), true), BLYNK_OK);
        ASSERT_EQ(put_dash(dash(e, 1)), BLYNK_OK);
        ASSERT_EQ(put_dash(dash(e, 2)), BLYNK_OK);
        ASSERT_EQ(put_device(device(e, 1, 10, e + "-t10")), BLYNK_OK);
        ASSERT_EQ(put_device(device(e, 2, 20, e + "-t20")), BLYNK_OK);
        ASSERT_EQ(put_pins({pin(e, 1, 10, 'v', 1, e + "-v1"), pin(e, 2, 20, 'd', 5, "1"),
                            pin(e, 2, 20, 'v', 1, "red", "color")},
                           &msg),
                  BLYNK_OK)
            << msg;
    }
    Loaded l;
    ASSERT_EQ(load_by_token("b@x-t20", l), BLYNK_OK);
    ASSERT_EQ(l.users.size(), 1u);
    EXPECT_EQ(l.users[0].email, "b@x");
    EXPECT_EQ(l.dashes.size(), 2u);
    EXPECT_EQ(l.devices.size(), 2u);  // both devices, not only the token's
    ASSERT_EQ(l.pins.size(), 3u);
    for (auto& x : l.dashes)
        EXPECT_EQ(x.email, "b@x");
    for (auto& x : l.devices)
        EXPECT_EQ(x.email, "b@x");
    for (auto& x : l.pins)
        EXPECT_EQ(x.email, "b@x");
    ASSERT_NE(l.find_pin(10, 'v', 1), nullptr);
    EXPECT_EQ(l.find_pin(10, 'v', 1)->value, "b@x-v1");
    ASSERT_NE(l.find_pin(20, 'v', 1, "color"), nullptr);
    EXPECT_EQ(l.find_pin(20, 'v', 1, "color")->value, "red");
    EXPECT_EQ(l.find_pin(20, 'v', 1, "color")->updated_at_ms, 1700000000003);
    expect_parents_first(l);

    Loaded none;
    EXPECT_EQ(load_by_token("no-such-token", none), BLYNK_NOT_FOUND);
    EXPECT_EQ(load_by_token("", none), BLYNK_NOT_FOUND);
    EXPECT_EQ(load_user("nobody@x", none), BLYNK_NOT_FOUND);
    EXPECT_TRUE(none.order.empty());

    Loaded all;
    ASSERT_EQ(load_all(all), BLYNK_OK);
    EXPECT_EQ(all.users.size(), 2u);
    EXPECT_EQ(all.dashes.size(), 4u);
    EXPECT_EQ(all.devices.size(), 4u);
    EXPECT_EQ(all.pins.size(), 6u);
    expect_parents_first(all);
}

TEST(StorageSqlite, NulBytesRoundTrip) {
    open_fresh();
    ASSERT_EQ(put_user(user("a@x"), true), BLYNK_OK);
    auto d = device("a@x", 1, 1, "tok");
    d.hardware_info =
        "ver\0"s
        "0.6.1\0"s
        "dev\0"s
        "esp32\0"s;
    ASSERT_EQ(put_device(d), BLYNK_OK);
    std::string multi =
        "1\0"
        "2.5\0"
        "\0"
        "end"s;
    std::string all_bytes;
    for (int i = 0; i < 256; ++i)
        all_bytes.push_back(char(i));
    ASSERT_EQ(put_pins({pin("a@x", 1, 1, 'v', 0, multi), pin("a@x", 1, 1, 'v', 1, all_bytes),
                        pin("a@x", 1, 1, 'v', 2, ""), pin("a@x", 1, 1, 'v', 2, "a\0b"s, "labels")}),
              BLYNK_OK);
    Loaded l;
    ASSERT_EQ(load_user("a@x", l), BLYNK_OK);
    ASSERT_EQ(l.devices.size(), 1u);
    EXPECT_EQ(l.devices[0].hardware_info, d.hardware_info);
    EXPECT_EQ(l.devices[0].hardware_info.size(), 20u);
    ASSERT_EQ(l.pins.size(), 4u);
    EXPECT_EQ(l.find_pin(1, 'v', 0)->value, multi);
    EXPECT_EQ(l.find_pin(1, 'v', 1)->value, all_bytes);
    EXPECT_EQ(l.find_pin(1, 'v', 2)->value, "");
    EXPECT_EQ(l.find_pin(1, 'v', 2, "labels")->value, "a\0b"s);
}

TEST(StorageSqlite, PutPinsBatchOf10kInOneCallAndUpdate) {
    std::string path = open_fresh();
    ASSERT_EQ(put_user(user("a@x"), true), BLYNK_OK);
    for (int dev = 0; dev < 40; ++dev)
        ASSERT_EQ(put_device(device("a@x", 1, dev, "t" + std::to_string(dev))), BLYNK_OK);
    std::vector<blynk::Pin> batch;
    for (int dev = 0; dev < 40; ++dev)
        for (int n = 0; n < 250; ++n)
            batch.push_back(pin("a@x", 1, dev, 'v', uint8_t(n), std::to_string(n)));
    ASSERT_EQ(batch.size(), 10000u);
    std::string msg;
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(put_pins(batch, &msg), BLYNK_OK) << msg;
    auto ms1 = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    for (auto& p : batch)
        p.value += "\0x"s, p.updated_at_ms = 42;
    t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(put_pins(batch, &msg), BLYNK_OK) << msg;
    auto ms2 = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    std::printf("10k pins: insert %lld ms, update %lld ms\n", static_cast<long long>(ms1), static_cast<long long>(ms2));

    Loaded l;
    ASSERT_EQ(load_user("a@x", l), BLYNK_OK);
    ASSERT_EQ(l.pins.size(), 10000u);
    for (auto& p : l.pins) {
        ASSERT_EQ(p.value, std::to_string(p.pin) + "\0x"s);
        ASSERT_EQ(p.updated_at_ms, 42);
    }
    Direct d(path);
    EXPECT_EQ(d.integer("SELECT count(*) FROM pins"), 10000);
    // An empty batch is fine; an invalid pin type rejects the batch.
    EXPECT_EQ(put_pins({}, &msg), BLYNK_OK) << msg;
    EXPECT_EQ(put_pins({pin("a@x", 1, 0, 'v', 1, "keep"), pin("a@x", 1, 0, 'x', 1, "bad")}, &msg), BLYNK_ERROR);
    EXPECT_EQ(d.text("SELECT value FROM pins WHERE device_id=0 AND pin=1"), "1\0x"s);
}

TEST(StorageSqlite, PinsOfADeviceRemovedByAnotherProcessAreSkipped) {
    std::string path = open_fresh();
    ASSERT_EQ(put_user(user("a@x"), true), BLYNK_OK);
    ASSERT_EQ(put_device(device("a@x", 1, 1, "t1")), BLYNK_OK);
    ASSERT_EQ(put_device(device("a@x", 1, 2, "t2")), BLYNK_OK);
    {
        Direct cli(path);  // the CLI removes device 2 while the server runs
        ASSERT_EQ(cli.exec("DELETE FROM devices WHERE device_id=2"), SQLITE_OK);
    }
    std::string msg;
    ASSERT_EQ(put_pins({pin("a@x", 1, 1, 'v', 1, "kept"), pin("a@x", 1, 2, 'v', 1, "dropped"),
                        pin("nobody@x", 1, 1, 'v', 1, "dropped")},
                       &msg),
              BLYNK_OK)
        << msg;
    Loaded l;
    ASSERT_EQ(load_all(l), BLYNK_OK);
    ASSERT_EQ(l.pins.size(), 1u);
    EXPECT_EQ(l.pins[0].value, "kept");
}

TEST(StorageSqlite, UpdateDevicesNeverRecreatesARemovedDevice) {
    std::string path = open_fresh();
    ASSERT_EQ(put_user(user("a@x"), true), BLYNK_OK);
    ASSERT_EQ(put_device(device("a@x", 1, 1, "t1")), BLYNK_OK);
    ASSERT_EQ(put_device(device("a@x", 1, 2, "t2")), BLYNK_OK);
    {
        Direct cli(path);  // the CLI removes device 2 while the server runs
        ASSERT_EQ(cli.exec("DELETE FROM devices WHERE device_id=2"), SQLITE_OK);
    }
    std::vector<blynk::Device> states{device("a@x", 1, 1, "t1"), device("a@x", 1, 2, "t2"),
                                      device("a@x", 1, 1, "stale-token")};
    for (auto& d : states) {
        d.connect_time_ms = 1234;
        d.last_ip = "192.0.2.1";
        d.hardware_info =
            "ver\0"
            "1.0"s;
    }
    std::vector<uint8_t> missing(states.size(), 9);  // every entry must be written
    auto r = plugin().update_devices(states, missing);
    ASSERT_EQ(r.status, BLYNK_OK) << r.message;
    EXPECT_EQ(missing, (std::vector<uint8_t>{0, 1, 1}));
    Loaded l;
    ASSERT_EQ(load_all(l), BLYNK_OK);
    ASSERT_EQ(l.devices.size(), 1u) << "the removed device stays removed";
    EXPECT_EQ(l.devices[0].connect_time_ms, 1234);
    EXPECT_EQ(l.devices[0].last_ip, "192.0.2.1");
    EXPECT_EQ(l.devices[0].hardware_info,
              "ver\0"
              "1.0"s);
}

TEST(StorageSqlite, RemoveCascades) {
    std::string path = open_fresh();
    std::string msg;
    ASSERT_EQ(put_user(user("a@x"), true), BLYNK_OK);
    ASSERT_EQ(put_user(user("b@x"), true), BLYNK_OK);
    ASSERT_EQ(put_device(device("a@x", 1, 1, "a1")), BLYNK_OK);
    ASSERT_EQ(put_device(device("a@x", 1, 2, "a2")), BLYNK_OK);
    ASSERT_EQ(put_device(device("b@x", 1, 1, "b1")), BLYNK_OK);
    ASSERT_EQ(put_pins({pin("a@x", 1, 1, 'v', 1, "x"), pin("a@x", 1, 2, 'v', 1, "y"), pin("b@x", 1, 1, 'v', 1, "z")}),
              BLYNK_OK);

    ASSERT_EQ(remove_device("a@x", 1, 1, &msg), BLYNK_OK) << msg;
    EXPECT_EQ(remove_device("a@x", 1, 1, &msg), BLYNK_NOT_FOUND);
    EXPECT_NE(msg.find("not found"), std::string::npos) << msg;
    Direct d(path);
    EXPECT_EQ(d.integer("SELECT count(*) FROM pins WHERE email='a@x'"), 1);
    EXPECT_EQ(d.integer("SELECT count(*) FROM dashboards WHERE email='a@x'"), 1);  // the dashboard stays

    ASSERT_EQ(remove_user("a@x", &msg), BLYNK_OK) << msg;
    EXPECT_EQ(remove_user("a@x", &msg), BLYNK_NOT_FOUND);
    EXPECT_EQ(msg, "user a@x not found");
    for (const char* t : {"users", "dashboards", "devices", "pins"})
        EXPECT_EQ(d.integer("SELECT count(*) FROM "s + t + " WHERE email='a@x'"), 0) << t;
    EXPECT_EQ(d.integer("SELECT count(*) FROM pins"), 1);  // b@x untouched
    Loaded none;
    EXPECT_EQ(load_by_token("a2", none), BLYNK_NOT_FOUND);
    // The removed user's token is free again.
    ASSERT_EQ(put_device(device("b@x", 1, 2, "a2"), &msg), BLYNK_OK) << msg;
}

TEST(StorageSqlite, DataPersistsAcrossShutdownAndReopen) {
    std::string path = open_fresh();
    ASSERT_EQ(put_user(user("a@x"), true), BLYNK_OK);
    ASSERT_EQ(put_device(device("a@x", 1, 1, "tok")), BLYNK_OK);
    ASSERT_EQ(put_pins({pin("a@x", 1, 1, 'v', 3, "v\0al"s)}), BLYNK_OK);
    {
        // Durable when the call returned: another connection sees it already.
        Direct d(path);
        EXPECT_EQ(d.integer("SELECT count(*) FROM pins"), 1);
    }
    plugin().shutdown();
    // After shutdown the WAL is checkpointed away and calls fail cleanly.
    EXPECT_FALSE(fs::exists(path + "-wal") && fs::file_size(path + "-wal") > 0);
    std::string msg;
    EXPECT_EQ(put_user(user("b@x"), true, &msg), BLYNK_ERROR);
    {
        Direct d(path);
        EXPECT_EQ(d.text("SELECT token FROM devices"), "tok");
        EXPECT_EQ(d.text("SELECT value FROM pins"), "v\0al"s);
    }
    // Reopen the same file in the same plugin instance.
    ASSERT_EQ(init({{"path", path, BLYNK_SETTING_STRING}}, &msg), BLYNK_OK) << msg;
    Loaded l;
    ASSERT_EQ(load_all(l), BLYNK_OK);
    ASSERT_EQ(l.users.size(), 1u);
    ASSERT_EQ(l.pins.size(), 1u);
    EXPECT_EQ(l.pins[0].value, "v\0al"s);
}

TEST(StorageSqlite, WaitsForAnotherProcessUpToBusyTimeout) {
    // busy_timeout_ms = 0: a held write lock fails at once, with a clear message.
    std::string path = open_fresh(0);
    std::string msg;
    Direct cli(path);
    ASSERT_EQ(cli.exec("BEGIN IMMEDIATE"), SQLITE_OK);
    EXPECT_EQ(put_user(user("a@x"), true, &msg), BLYNK_ERROR);
    EXPECT_NE(msg.find("locked by another process"), std::string::npos) << msg;
    EXPECT_NE(msg.find("busy_timeout_ms"), std::string::npos) << msg;
    // Reads are not blocked by a writer (WAL).
    Loaded l;
    EXPECT_EQ(load_all(l, &msg), BLYNK_OK) << msg;
    ASSERT_EQ(cli.exec("ROLLBACK"), SQLITE_OK);

    // With a timeout the write waits for the other process to finish.
    ASSERT_EQ(init({{"path", path, BLYNK_SETTING_STRING}, {"busy_timeout_ms", "5000", BLYNK_SETTING_INTEGER}}, &msg),
              BLYNK_OK)
        << msg;
    ASSERT_EQ(cli.exec("BEGIN IMMEDIATE"), SQLITE_OK);
    std::thread release([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        cli.exec("COMMIT");
    });
    EXPECT_EQ(put_user(user("a@x"), true, &msg), BLYNK_OK) << msg;
    release.join();
}

TEST(StorageSqlite, ConcurrentCallsAreSerialised) {
    open_fresh();
    ASSERT_EQ(put_user(user("a@x"), true), BLYNK_OK);
    for (int dev = 0; dev < 4; ++dev)
        ASSERT_EQ(put_device(device("a@x", 1, dev, "t" + std::to_string(dev))), BLYNK_OK);
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int dev = 0; dev < 4; ++dev)
        threads.emplace_back([&, dev] {
            for (int round = 0; round < 20; ++round) {
                std::vector<blynk::Pin> b;
                for (int n = 0; n < 50; ++n)
                    b.push_back(pin("a@x", 1, dev, 'v', uint8_t(n), std::to_string(round)));
                if (put_pins(b) != BLYNK_OK) ++failures;
                Loaded l;
                if (load_by_token("t" + std::to_string(dev), l) != BLYNK_OK) ++failures;
            }
        });
    for (auto& t : threads)
        t.join();
    EXPECT_EQ(failures.load(), 0);
    Loaded l;
    ASSERT_EQ(load_all(l), BLYNK_OK);
    EXPECT_EQ(l.pins.size(), 200u);
    for (auto& p : l.pins)
        EXPECT_EQ(p.value, "19");
}

}  // namespace
