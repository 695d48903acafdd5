// The storage suite, what only storage-postgres has: its schema migrations
// (an older database, two servers at once), its connections breaking, and
// its URL's password kept out of messages.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include "storage_fixture.hpp"

#include <pqxx/pqxx>

#include <chrono>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

namespace storage_suite {
namespace {

std::string read_file(const char* path) {
    std::ifstream f(path);
    std::stringstream text;
    text << f.rdbuf();
    if (text.str().empty()) ADD_FAILURE() << "cannot read " << path;
    return text.str();
}

class Postgres : public StorageSuite {
protected:
    pqxx::connection db() { return pqxx::connection(postgres_url()); }
    std::string all_logs() {
        std::string s;
        for (auto& l : host().logs())
            s += l.message + "\n";
        return s;
    }
    // A fresh, empty database for a second init of the plugin.
    std::string empty_database(const std::string& name) {
        pqxx::connection c(postgres_admin_url());
        pqxx::nontransaction n(c);
        n.exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
        n.exec("CREATE DATABASE " + name);
        std::string admin = postgres_admin_url();
        return admin.substr(0, admin.rfind('/') + 1) + name;
    }
};
INSTANTIATE_TEST_SUITE_P(Plugins, Postgres, ::testing::Values("postgres"), backend_name);

TEST_P(Postgres, ADatabaseAtSchemaVersion1IsMigratedAndKeepsItsData) {
    std::string url = empty_database("suite_v1");
    {
        pqxx::connection c(url);
        pqxx::work t(c);
        t.exec(read_file(BLYNK_PG_SCHEMA_V1));
        t.exec("INSERT INTO users(email, name) VALUES ('old@x', 'Old')");
        t.commit();
    }
    P().shutdown();
    host().clear_logs();
    auto r = P().init({{"url", url, BLYNK_SETTING_STRING}});
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_NE(all_logs().find("from version 1 to 2"), std::string::npos) << all_logs();
    Loaded l;
    ASSERT_TRUE(P().load_user("old@x", l).ok());
    EXPECT_EQ(l.users.at(0).name, "Old");
    pqxx::connection c(url);
    pqxx::work t(c);
    EXPECT_EQ(t.exec("SELECT version FROM schema_version")[0][0].as<int>(), 2);
    EXPECT_EQ(t.exec("SELECT count(*) FROM reporting_average_minute")[0][0].as<int>(), 0);  // the legacy view is there
}

TEST_P(Postgres, MigrationWaitsForAnotherServersMigrationAndRunsOnce) {
    std::string url = empty_database("suite_lock");
    // The other server (an older blynkd) holds the migration lock while it
    // creates its schema, version 1.
    pqxx::connection other(url);
    pqxx::work hold(other);
    hold.exec("SELECT pg_advisory_xact_lock(" + std::to_string(0x426C796E6B64LL) + ")");
    hold.exec(read_file(BLYNK_PG_SCHEMA_V1));

    P().shutdown();
    host().clear_logs();
    auto init = std::async(std::launch::async, [&] { return P().init({{"url", url, BLYNK_SETTING_STRING}}); });
    // The plugin must be waiting on the lock (seen from the server), not migrating.
    pqxx::connection watch(postgres_admin_url());
    bool waiting = false;
    for (int i = 0; i < 200 && !waiting; ++i) {
        pqxx::nontransaction n(watch);
        waiting = n.exec("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").size() > 0;
        if (!waiting) std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling, bounded: 10 s
    }
    ASSERT_TRUE(waiting) << "the plugin did not wait for the migration lock";
    ASSERT_EQ(init.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
    hold.commit();  // the other server is done: the plugin finds version 1 and only adds what is new
    auto r = init.get();
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_NE(all_logs().find("from version 1 to 2"), std::string::npos) << all_logs();
    pqxx::work t(other);
    EXPECT_EQ(t.exec("SELECT count(*) FROM schema_version")[0][0].as<int>(), 1);
}

TEST_P(Postgres, AForeignDatabaseIsRefusedUntouched) {
    std::string url = empty_database("suite_foreign");
    {
        pqxx::connection c(url);
        pqxx::work t(c);
        t.exec("CREATE TABLE users(email text, appName text)");  // the legacy server's table
        t.commit();
    }
    P().shutdown();
    auto r = P().init({{"url", url, BLYNK_SETTING_STRING}});
    EXPECT_NE(r.status, BLYNK_OK);
    EXPECT_NE(r.message.find("not a blynkd database"), std::string::npos) << r.message;
    pqxx::connection c(url);
    pqxx::work t(c);
    EXPECT_TRUE(t.exec("SELECT to_regclass('schema_version')")[0][0].is_null());
}

TEST_P(Postgres, ThePasswordNeverAppearsInMessagesOrLogs) {
    std::string url = postgres_url();
    std::string with_password =
        url.substr(0, url.find("postgres@")) + "postgres:s3cr3t-pw@" + url.substr(url.find("postgres@") + 9);
    P().shutdown();
    host().clear_logs();
    auto ok = P().init({{"url", with_password, BLYNK_SETTING_STRING}});  // trust auth ignores it
    ASSERT_TRUE(ok.ok()) << ok.message;
    // A closed port: the error names the server but not the password.
    std::string closed = "postgresql://postgres:s3cr3t-pw@127.0.0.1:1/x";
    P().shutdown();
    auto bad = P().init({{"url", closed, BLYNK_SETTING_STRING}, {"connect_timeout_s", "2", BLYNK_SETTING_INTEGER}});
    EXPECT_NE(bad.status, BLYNK_OK);
    EXPECT_EQ(bad.message.find("s3cr3t"), std::string::npos) << bad.message;
    EXPECT_NE(bad.message.find("127.0.0.1:1"), std::string::npos) << bad.message;
    EXPECT_EQ(all_logs().find("s3cr3t"), std::string::npos) << all_logs();
}

TEST_P(Postgres, BrokenConnectionsAreReplacedAndSaidOnce) {
    seed("a@x", "t");
    {
        pqxx::connection admin(postgres_admin_url());
        pqxx::nontransaction n(admin);
        auto killed =
            n.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'blynkd'");
        ASSERT_GE(killed.size(), 1u);
    }
    // The first call finds its connection dead and says the database is unreachable;
    // a later one reconnects (bounded: the backoff is at most 5 s by default).
    auto first = P().put_pins({pin("a@x", 1, 0, 'v', 1, "1")});
    if (!first.ok()) {
        EXPECT_NE(first.message.find("unreachable"), std::string::npos) << first.message;
    }
    blynk::testing::Result later;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    do {
        later = P().put_pins({pin("a@x", 1, 0, 'v', 1, "2")});
        if (!later.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the backoff's wait
    } while (!later.ok() && std::chrono::steady_clock::now() < deadline);
    ASSERT_TRUE(later.ok()) << later.message;
    Loaded l;
    ASSERT_TRUE(P().load_user("a@x", l).ok());
    EXPECT_EQ(l.find_pin(0, 'v', 1)->value, "2");
}

}  // namespace
}  // namespace storage_suite
