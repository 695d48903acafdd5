// The storage suite's backends (see storage_backend.hpp).
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include "storage_backend.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>

#ifndef BLYNK_PLUGIN_MODULE_STORAGE_SQLITE
#error "build with blynk_add_plugin_test(... PLUGIN storage-sqlite storage-postgres)"
#endif

namespace storage_suite {

namespace {

using blynk::testing::Setting;

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

// The output of a shell command, or "" when it failed.
std::string run(const std::string& cmd) {
    std::string out;
    FILE* f = popen(cmd.c_str(), "r");
    if (!f) return out;
    char buf[512];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        out.append(buf, n);
    return pclose(f) == 0 ? out : std::string();
}

void load(Backend& b, std::unique_ptr<blynk::testing::TempDir>& tmp, std::unique_ptr<blynk::testing::FakeHost>& host,
          std::unique_ptr<blynk::testing::PluginUnderTest>& plugin, const char* module) {
    tmp = std::make_unique<blynk::testing::TempDir>("storage-suite-" + b.name());
    host = std::make_unique<blynk::testing::FakeHost>(tmp->path(), "test");
    plugin = std::make_unique<blynk::testing::PluginUnderTest>(*host);
    if (!plugin->load_module(module)) throw std::runtime_error(plugin->error());
}

class SqliteBackend : public Backend {
public:
    SqliteBackend() { load(*this, tmp_, host_, plugin_, BLYNK_PLUGIN_MODULE_STORAGE_SQLITE); }
    std::string name() const override { return "sqlite"; }
    blynk::testing::Result open_fresh(const std::string& test) override {
        plugin_->shutdown();
        return plugin_->init({{"path", tmp_->path() + "/" + test + ".db", BLYNK_SETTING_STRING}});
    }
};

class PostgresBackend : public Backend {
public:
    PostgresBackend() {
        admin_url_ = env("BLYNK_TEST_PG_URL");
        if (admin_url_.empty()) start_own_cluster();
        if (admin_url_.empty()) return;
        load(*this, tmp_, host_, plugin_, BLYNK_PLUGIN_MODULE_STORAGE_POSTGRES);
    }
    ~PostgresBackend() override { stop(); }
    std::string name() const override { return "postgres"; }
    std::string unavailable() const override { return why_; }

    blynk::testing::Result open_fresh(const std::string& test) override {
        plugin_->shutdown();
        drop_previous();
        db_ = "suite_" + test;
        for (auto& c : db_)
            c = std::isalnum(static_cast<unsigned char>(c)) ? char(std::tolower(static_cast<unsigned char>(c))) : '_';
        {
            pqxx::connection c(admin_url_);
            pqxx::nontransaction n(c);
            n.exec("DROP DATABASE IF EXISTS " + db_ + " WITH (FORCE)");
            n.exec("CREATE DATABASE " + db_);
        }
        return plugin_->init({{"url", url(), BLYNK_SETTING_STRING}});
    }
    // The URL of the current test's database.
    std::string url() const { return admin_url_.substr(0, admin_url_.rfind('/') + 1) + db_; }
    const std::string& admin_url() const { return admin_url_; }

    void stop() {
        if (plugin_) plugin_->shutdown();
        drop_previous();
        if (!cluster_dir_.empty()) run(std::string(BLYNK_PG_CLUSTER_SCRIPT) + " stop " + cluster_dir_);
        cluster_dir_.clear();
    }

private:
    // No cluster given (a single test run by hand): start one for this process.
    void start_own_cluster() {
        std::string out = run(std::string(BLYNK_PG_CLUSTER_SCRIPT) + " start 2>&1");
        // export BLYNK_TEST_PG_DIR=... BLYNK_TEST_PG_BIN=... BLYNK_TEST_PG_URL=...
        auto field = [&](const std::string& key) {
            size_t p = out.find(key + "=");
            if (p == std::string::npos) return std::string();
            p += key.size() + 1;
            size_t e = out.find_first_of(" \n", p);
            return out.substr(p, e == std::string::npos ? std::string::npos : e - p);
        };
        admin_url_ = field("BLYNK_TEST_PG_URL");
        cluster_dir_ = field("BLYNK_TEST_PG_DIR");
        if (admin_url_.empty())
            why_ =
                "no PostgreSQL: BLYNK_TEST_PG_URL is not set and tests/pg/cluster.sh could not start a cluster "
                "(Debian: apt-get install postgresql; scripts/deps.sh --test)";
    }
    void drop_previous() {
        if (db_.empty() || admin_url_.empty()) return;
        try {
            pqxx::connection c(admin_url_);
            pqxx::nontransaction n(c);
            n.exec("DROP DATABASE IF EXISTS " + db_ + " WITH (FORCE)");
        } catch (const std::exception&) {
            // The cluster is gone already; nothing to clean.
        }
        db_.clear();
    }

    std::string admin_url_, cluster_dir_, db_, why_;
};

std::map<std::string, std::unique_ptr<Backend>>& backends() {
    static auto* m = new std::map<std::string, std::unique_ptr<Backend>>;
    return *m;
}

}  // namespace

Backend& backend(const std::string& name) {
    auto& b = backends()[name];
    if (!b) {
        if (name == "sqlite")
            b = std::make_unique<SqliteBackend>();
        else
            b = std::make_unique<PostgresBackend>();
    }
    return *b;
}

std::string postgres_url() {
    auto* pg = dynamic_cast<PostgresBackend*>(&backend("postgres"));
    return pg ? pg->url() : std::string();
}
std::string postgres_admin_url() {
    auto* pg = dynamic_cast<PostgresBackend*>(&backend("postgres"));
    return pg ? pg->admin_url() : std::string();
}

void stop_backends() {
    for (auto& [name, b] : backends())
        if (auto* pg = dynamic_cast<PostgresBackend*>(b.get())) pg->stop();
}

}  // namespace storage_suite

namespace {
// Stops a cluster the suite started itself once every test has run.
class StopBackends : public ::testing::Environment {
public:
    void TearDown() override { storage_suite::stop_backends(); }
};
const auto* const kStopBackends = ::testing::AddGlobalTestEnvironment(new StopBackends);
}  // namespace

// LeakSanitizer (the ASan build): libpq 15 / libpqxx 6.4 leave the error
// result of a connection the server terminated (pg_terminate_backend, a
// restart) unfreed, about 2 KiB per broken connection, inside libpq; the
// BrokenConnections case makes one. Third-party code only.
extern "C" const char* __lsan_default_suppressions();
extern "C" const char* __lsan_default_suppressions() {
    return "leak:PQmakeEmptyPGresult\n";
}
