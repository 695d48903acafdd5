// The app model in storage (plugin ABI 1.3): host::StorageClient with the
// real storage-sqlite plugin keeps a user's settings and energy, dashboards
// with their widgets, tags, flags and share token, and devices' settings, so
// a profile stored and loaded back is the same profile; remove_dash; a
// database of schema version 1 is migrated at start and keeps its data; an
// older plugin without remove_dash gets a clear error.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstddef>
#include <filesystem>
#include <string>

#include "core/app_json.hpp"
#include "core/model.hpp"
#include "host/plugin_host.hpp"
#include "host/storage_client.hpp"
#include "temp_dir.hpp"

namespace blynk::host {
namespace {

namespace fs = std::filesystem;

const std::string kSqlite = BLYNK_PLUGIN_DIR "/storage-sqlite" BLYNK_PLUGIN_SUFFIX;
const std::string kEmail = "ann@example.com";

// A dashboard as the legacy app and data files write it: widgets of several
// kinds (single pin, multi-pin, a display, one with fields the server does not
// know), tags, flags, a share token and settings.
const char* kDashJson = R"({"id":7,"name":"Greenhouse","createdAt":1500000000000,"updatedAt":1500000001000,
 "isActive":true,"isShared":true,"isAppConnectedOn":true,"isNotificationsOff":false,
 "sharedToken":"share-0123456789abcdef","theme":"BlynkLight","keepScreenOn":true,"color":-1,
 "widgets":[
  {"type":"BUTTON","id":1,"x":0,"y":0,"width":2,"height":2,"deviceId":0,"pinType":"DIGITAL","pin":5,"pwmMode":false,"value":"1","label":"Pump"},
  {"type":"SLIDER","id":2,"deviceId":0,"pinType":"VIRTUAL","pin":3,"min":0,"max":255,"value":"128"},
  {"type":"RGB","id":3,"deviceId":1,"splitMode":false,"pins":[{"pin":10,"pinType":"VIRTUAL","min":0,"max":255},{"pin":11,"pinType":"VIRTUAL"},{"pin":12,"pinType":"VIRTUAL"}]},
  {"type":"LCD","id":4,"deviceId":1,"advancedMode":true,"pins":[{"pin":20,"pinType":"VIRTUAL"},{"pin":21,"pinType":"VIRTUAL"}],"textLight":false},
  {"type":"ENHANCED_GRAPH","id":5,"dataStreams":[{"title":"t","pin":{"pin":1,"pinType":"VIRTUAL"}}],"period":"DAY","future":{"nested":[1,2,{"x":null}]}}],
 "tags":[{"id":100000,"name":"all","deviceIds":[0,1]}],
 "devices":[
  {"id":0,"name":"esp","boardType":"ESP8266","token":"tok-aaaaaaaaaaaaaaaaaaaaaaaaaaaa00","vendor":"Espressif","connectionType":"WI_FI","iconName":"esp"},
  {"id":1,"name":"uno","boardType":"Arduino UNO","token":"tok-aaaaaaaaaaaaaaaaaaaaaaaaaaaa01","connectionType":"ETHERNET"}]})";

class StorageAppModel : public ::testing::Test {
protected:
    void SetUp() override { start(); }

    void start() {
        PluginSetup setup;
        setup.enabled = {kSqlite};
        blynk::Settings s;
        s.set("path", db_.string(), BLYNK_SETTING_STRING);
        setup.settings["storage-sqlite"] = std::move(s);
        host_ = std::make_unique<PluginHost>(setup, dir_.string());
        host_->load_all();
        st_ = std::make_unique<StorageClient>(host_->storage(), host_->storage_self());
    }
    void stop() {
        st_.reset();
        host_->shutdown();
        host_.reset();
    }

    // The user the tests store: account fields, one dashboard from kDashJson
    // with its devices, pin values and a property.
    std::unique_ptr<core::User> make_user() {
        auto u = std::make_unique<core::User>();
        u->email = kEmail;
        u->name = "Ann";
        u->pass_hash = "pbkdf2-sha256$100000$c2FsdA$aGFzaA";
        u->created_ms = 1400000000000;
        u->energy = 7800;
        u->settings_json = R"({"appName":"Blynk","region":"fra1"})";
        core::Dashboard dash;
        std::vector<core::DeviceJson> devices;
        std::string err;
        EXPECT_TRUE(core::parse_dashboard(kDashJson, dash, &devices, err)) << err;
        u->dashboards.push_back(std::move(dash));
        for (auto& dj : devices) {
            auto d = std::make_unique<core::Device>();
            d->user = u.get();
            d->dash_id = 7;
            d->id = dj.id;
            d->name = dj.name;
            d->board_type = dj.board_type;
            d->token = dj.token;
            d->settings_json = dj.settings_json;
            d->created_ms = 1500000000000;
            u->devices.push_back(std::move(d));
        }
        u->devices[0]->pin(core::pin_key('d', 5)).value = "1";
        u->devices[0]->pin(core::pin_key('v', 3)).value = "128";
        u->devices[1]->pin(core::pin_key('v', 10)).value = std::string("1\0002\0003", 5);
        u->devices[1]->set_property(core::pin_key('v', 20), "label", "Temp");
        return u;
    }

    void store(const core::User& u) {
        st_->put_user(StorageClient::snapshot(u), true);
        for (auto& dash : u.dashboards)
            st_->put_dash(StorageClient::snapshot(u, dash));
        std::vector<blynk::Pin> pins;
        for (auto& d : u.devices) {
            st_->put_device(StorageClient::snapshot(*d));
            for (auto& p : d->pins)
                pins.push_back(
                    {u.email, d->dash_id, d->id, core::key_type(p.key), core::key_pin(p.key), "", p.value, 1});
            for (auto& p : d->properties)
                pins.push_back(
                    {u.email, d->dash_id, d->id, core::key_type(p.key), core::key_pin(p.key), p.name, p.value, 1});
        }
        st_->put_pins(pins);
    }

    std::unique_ptr<core::User> load(const std::string& email = kEmail) {
        core::LoadedData data;
        if (!st_->load_user(email, data) || data.users.empty()) return nullptr;
        return std::move(data.users.front());
    }

    blynk::testing::TempDir tmp_{"blynk-app-model"};
    const fs::path dir_ = tmp_.path;
    const fs::path db_ = dir_ / "blynk.db";
    std::unique_ptr<PluginHost> host_;
    std::unique_ptr<StorageClient> st_;
};

TEST_F(StorageAppModel, AProfileStoredAndLoadedBackIsTheSameProfile) {
    auto before = make_user();
    store(*before);
    // Through a restart, so nothing comes from a cache.
    stop();
    start();
    auto after = load();
    ASSERT_TRUE(after);
    EXPECT_EQ(core::profile_json(*after, core::JsonView::Owner), core::profile_json(*before, core::JsonView::Owner));
    EXPECT_EQ(after->name, "Ann");
    EXPECT_EQ(after->energy, 7800);
    EXPECT_EQ(after->settings_json, before->settings_json);
    EXPECT_EQ(after->pass_hash, before->pass_hash);
    ASSERT_EQ(after->dashboards.size(), 1u);
    const core::Dashboard& d = after->dashboards[0];
    EXPECT_EQ(d.share_token, "share-0123456789abcdef");
    EXPECT_TRUE(d.shared);
    EXPECT_TRUE(d.app_connected_on);
    ASSERT_EQ(d.widgets.size(), 5u);
    EXPECT_EQ(d.widgets[2].pins.size(), 3u);  // the RGB's three pins
    EXPECT_EQ(d.widgets[0].pin_key, core::pin_key('d', 5));
    ASSERT_EQ(d.tags.size(), 1u);
    EXPECT_EQ(d.tags[0].device_ids, (std::vector<int32_t>{0, 1}));
    ASSERT_EQ(after->devices.size(), 2u);
    EXPECT_EQ(after->devices[0]->settings_json, before->devices[0]->settings_json);
    EXPECT_NE(after->devices[0]->settings_json.find("Espressif"), std::string::npos);
    const core::PinValue* rgb = after->devices[1]->find_pin(core::pin_key('v', 10));
    ASSERT_TRUE(rgb);
    EXPECT_EQ(rgb->value, std::string("1\0002\0003", 5));
    ASSERT_EQ(after->devices[1]->properties.size(), 1u);
    EXPECT_EQ(after->devices[1]->properties[0].value, "Temp");
    // The unknown widget fields came back as sent.
    EXPECT_NE(core::profile_json(*after, core::JsonView::Owner).find(R"("future":{"nested":[1,2,{"x":null}]})"),
              std::string::npos);
}

TEST_F(StorageAppModel, ChangingThePasswordKeepsTheAppSettingsAndEnergy) {
    store(*make_user());
    // set_pass_hash rewrites the user record: nothing else of it may be lost.
    core::LoadedData data;
    ASSERT_TRUE(st_->load_user(kEmail, data));
    blynk::User rec = StorageClient::snapshot(*data.users.front());
    rec.pass_hash = "new";
    st_->put_user(rec, false);
    auto after = load();
    ASSERT_TRUE(after);
    EXPECT_EQ(after->pass_hash, "new");
    EXPECT_EQ(after->energy, 7800);
    EXPECT_EQ(after->settings_json, R"({"appName":"Blynk","region":"fra1"})");
}

TEST_F(StorageAppModel, RemoveDashRemovesItsDevicesAndPinsOnly) {
    auto u = make_user();
    core::Dashboard other;
    other.id = 8;
    other.name = "Other";
    u->dashboards.push_back(other);
    auto d = std::make_unique<core::Device>();
    d->user = u.get();
    d->dash_id = 8;
    d->id = 0;
    d->token = "tok-bbbbbbbbbbbbbbbbbbbbbbbbbbbb00";
    d->pin(core::pin_key('v', 1)).value = "x";
    u->devices.push_back(std::move(d));
    store(*u);

    st_->remove_dash(kEmail, 7);
    auto after = load();
    ASSERT_TRUE(after);
    ASSERT_EQ(after->dashboards.size(), 1u);
    EXPECT_EQ(after->dashboards[0].id, 8);
    ASSERT_EQ(after->devices.size(), 1u);
    EXPECT_EQ(after->devices[0]->dash_id, 8);
    EXPECT_TRUE(after->devices[0]->find_pin(core::pin_key('v', 1)));
    // The removed devices' tokens no longer find anything.
    core::LoadedData by_token;
    EXPECT_FALSE(st_->load_by_token("tok-aaaaaaaaaaaaaaaaaaaaaaaaaaaa00", by_token));

    try {
        st_->remove_dash(kEmail, 7);
        FAIL() << "removing a removed dashboard must fail";
    } catch (const StorageFailure& e) {
        EXPECT_EQ(e.status, BLYNK_NOT_FOUND);
    }
}

TEST_F(StorageAppModel, ADashboardWhoseJsonDoesNotParseKeepsItsRecord) {
    store(*make_user());
    blynk::Dash rec;
    rec.email = kEmail;
    rec.dash_id = 9;
    rec.name = "Damaged";
    rec.is_active = true;
    rec.json = R"({"widgets":[{"id":1},)";  // cut off
    st_->put_dash(rec);
    auto after = load();
    ASSERT_TRUE(after);
    core::Dashboard* d = after->find_dash(9);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->name, "Damaged");
    EXPECT_TRUE(d->active);
    EXPECT_TRUE(d->widgets.empty());
    // The others are whole.
    ASSERT_TRUE(after->find_dash(7));
    EXPECT_EQ(after->find_dash(7)->widgets.size(), 5u);
}

// A storage table as plugins built before ABI 1.3 hand it over: it ends
// before remove_dash.
TEST(StorageAppModelOlderPlugin, RemoveDashOnAPluginWithoutItIsAClearFailure) {
    blynk_storage_v1 table{};
    table.size = uint32_t(offsetof(blynk_storage_v1, remove_dash));
    // Garbage beyond the given size must not be read.
    table.remove_dash = reinterpret_cast<int (*)(void*, blynk_str, int32_t, blynk_error*)>(uintptr_t(1));
    StorageClient st(&table, nullptr);
    try {
        st.remove_dash(kEmail, 1);
        FAIL() << "expected a StorageFailure";
    } catch (const StorageFailure& e) {
        EXPECT_EQ(e.status, BLYNK_ERROR);
        EXPECT_NE(std::string(e.what()).find("remove_dash"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("1.3"), std::string::npos) << e.what();
    }
}

// The schema storage-sqlite 0.1 wrote (version 1), frozen here: a database
// made by that version must open, migrate and keep its data.
const char* kVersion1Schema = R"sql(
CREATE TABLE users(email TEXT NOT NULL PRIMARY KEY, name TEXT NOT NULL DEFAULT '', pass_hash BLOB NOT NULL DEFAULT x'',
  is_admin INTEGER NOT NULL DEFAULT 0, created_at_ms INTEGER NOT NULL DEFAULT 0);
CREATE TABLE dashboards(email TEXT NOT NULL REFERENCES users(email) ON DELETE CASCADE, dash_id INTEGER NOT NULL,
  name TEXT NOT NULL DEFAULT '', is_active INTEGER NOT NULL DEFAULT 0, created_at_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(email, dash_id));
CREATE TABLE devices(email TEXT NOT NULL, dash_id INTEGER NOT NULL, device_id INTEGER NOT NULL,
  name TEXT NOT NULL DEFAULT '', token TEXT UNIQUE, board_type TEXT NOT NULL DEFAULT '',
  created_at_ms INTEGER NOT NULL DEFAULT 0, connect_time_ms INTEGER NOT NULL DEFAULT 0,
  disconnect_time_ms INTEGER NOT NULL DEFAULT 0, data_received_ms INTEGER NOT NULL DEFAULT 0,
  last_ip TEXT NOT NULL DEFAULT '', hardware_info BLOB NOT NULL DEFAULT x'',
  PRIMARY KEY(email, dash_id, device_id),
  FOREIGN KEY(email, dash_id) REFERENCES dashboards(email, dash_id) ON DELETE CASCADE);
CREATE TABLE pins(email TEXT NOT NULL, dash_id INTEGER NOT NULL, device_id INTEGER NOT NULL, pin_type TEXT NOT NULL,
  pin INTEGER NOT NULL, property TEXT NOT NULL DEFAULT '', value BLOB NOT NULL DEFAULT x'',
  updated_at_ms INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(email, dash_id, device_id, pin_type, pin, property),
  FOREIGN KEY(email, dash_id, device_id) REFERENCES devices(email, dash_id, device_id) ON DELETE CASCADE) WITHOUT ROWID;
INSERT INTO users VALUES('old@example.com', 'Old', 'pbkdf2-sha256$1$x$y', 1, 1300000000000);
INSERT INTO dashboards VALUES('old@example.com', 1, 'My Dashboard', 1, 1300000000001);
INSERT INTO devices VALUES('old@example.com', 1, 0, 'board', 'tok-cccccccccccccccccccccccccccc00', 'ESP32',
  1300000000002, 5, 6, 7, '10.0.0.1', x'');
INSERT INTO pins VALUES('old@example.com', 1, 0, 'v', 4, '', '42', 1300000000003);
PRAGMA application_id = 1114405230;
PRAGMA user_version = 1;
)sql";

int64_t pragma(const fs::path& db, const char* sql) {
    sqlite3* h = nullptr;
    EXPECT_EQ(sqlite3_open(db.string().c_str(), &h), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    int64_t v = -1;
    if (sqlite3_prepare_v2(h, sql, -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(h);
    return v;
}

TEST_F(StorageAppModel, AVersion1DatabaseIsMigratedAtStartAndKeepsItsData) {
    stop();
    for (const char* suffix : {"", "-wal", "-shm"})
        fs::remove(db_.string() + suffix);
    {
        sqlite3* h = nullptr;
        ASSERT_EQ(sqlite3_open(db_.string().c_str(), &h), SQLITE_OK);
        char* msg = nullptr;
        ASSERT_EQ(sqlite3_exec(h, kVersion1Schema, nullptr, nullptr, &msg), SQLITE_OK) << (msg ? msg : "");
        sqlite3_close(h);
    }
    ASSERT_EQ(pragma(db_, "PRAGMA user_version"), 1);

    start();
    EXPECT_EQ(pragma(db_, "PRAGMA user_version"), 3);  // every step up to the newest
    auto old = load("old@example.com");
    ASSERT_TRUE(old);
    EXPECT_EQ(old->name, "Old");
    EXPECT_TRUE(old->is_admin);
    EXPECT_EQ(old->pass_hash, "pbkdf2-sha256$1$x$y");
    EXPECT_EQ(old->energy, 0);
    EXPECT_TRUE(old->settings_json.empty());
    ASSERT_EQ(old->dashboards.size(), 1u);
    EXPECT_EQ(old->dashboards[0].name, "My Dashboard");
    EXPECT_TRUE(old->dashboards[0].widgets.empty());
    ASSERT_EQ(old->devices.size(), 1u);
    EXPECT_EQ(old->devices[0]->token, "tok-cccccccccccccccccccccccccccc00");
    EXPECT_EQ(old->devices[0]->last_ip, "10.0.0.1");
    const core::PinValue* v4 = old->devices[0]->find_pin(core::pin_key('v', 4));
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->value, "42");

    // The migrated file takes the new fields.
    auto u = make_user();
    store(*u);
    auto after = load();
    ASSERT_TRUE(after);
    EXPECT_EQ(core::profile_json(*after, core::JsonView::Owner), core::profile_json(*u, core::JsonView::Owner));
}

}  // namespace
}  // namespace blynk::host
