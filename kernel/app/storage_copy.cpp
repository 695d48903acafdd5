#include "app/storage_copy.hpp"

#include <blynk/plugin.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <ostream>
#include <stdexcept>
#include <vector>

#include "app/import_progress.hpp"
#include "platform/platform.hpp"

namespace blynk::app {

namespace {

// Rows per write: one transaction each on the target.
constexpr size_t kPinBatch = 1000;
constexpr size_t kHistoryBatch = 5000;

struct Records {
    std::vector<blynk::User> users;
    std::vector<blynk::Dash> dashes;
    std::vector<blynk::Device> devices;
    std::vector<blynk::Pin> pins;
};

void check(int rc, const blynk_error& e, const StorageEnd& end, const std::string& what) {
    if (rc == BLYNK_OK) return;
    std::string msg = e.message[0] ? e.message : "failed (status " + std::to_string(rc) + ")";
    throw std::runtime_error("cannot " + what + " in " + end.name + " (" + end.where + "): " + msg);
}

bool keeps_history(const StorageEnd& s) {
    return BLYNK_HAS_FIELD(s.table, import_history) && s.table->put_points && s.table->dump_history &&
           s.table->import_history;
}

Records load_all(const StorageEnd& s) {
    Records r;
    blynk_storage_sink sink{};
    sink.size = sizeof sink;
    sink.ctx = &r;
    sink.user = [](void* c, const blynk_user_rec* u) { static_cast<Records*>(c)->users.push_back(blynk::from_c(u)); };
    sink.dash = [](void* c, const blynk_dash_rec* d) { static_cast<Records*>(c)->dashes.push_back(blynk::from_c(d)); };
    sink.device = [](void* c, const blynk_device_rec* d) {
        static_cast<Records*>(c)->devices.push_back(blynk::from_c(d));
    };
    sink.pin = [](void* c, const blynk_pin_rec* p) { static_cast<Records*>(c)->pins.push_back(blynk::from_c(p)); };
    blynk_error e{};
    check(s.table->load_all(s.self, &sink, &e), e, s, "load everything");
    return r;
}

// Where the bar is not drawn (a pipe, a log), one plain line per finished part.
void plain_line(bool show_progress, const char* what, uint64_t n) {
    if (!show_progress) std::fprintf(stderr, "copied %llu %s\n", static_cast<unsigned long long>(n), what);
}

}  // namespace

CopyCounts copy_storage(const StorageEnd& from, const StorageEnd& to, bool force, bool show_progress,
                        std::ostream& out) {
    auto start = std::chrono::steady_clock::now();
    bool history = keeps_history(from);
    if (history && !keeps_history(to)) {
        // Only an empty history may be left behind.
        uint64_t rows = 0;
        blynk_history_sink counter{};
        counter.size = sizeof counter;
        counter.ctx = &rows;
        counter.row = [](void* c, const blynk_history_rec*) { ++*static_cast<uint64_t*>(c); };
        blynk_error e{};
        check(from.table->dump_history(from.self, &counter, &e), e, from, "read history");
        if (rows > 0)
            throw std::runtime_error("the source holds " + std::to_string(rows) + " history rows but the target " +
                                     to.name + " (" + to.where + ") keeps no history; nothing was copied");
        history = false;
    }
    Records there = load_all(to);
    if (!there.users.empty() && !force)
        throw std::runtime_error("the target store " + to.name + " (" + to.where + ") already holds " +
                                 std::to_string(there.users.size()) +
                                 " account(s); copy into an empty one, or give --force to replace what has the "
                                 "same keys and keep the rest");
    Records r = load_all(from);
    CopyCounts n;
    {
        ImportProgress bar(r.users.size() + r.dashes.size() + r.devices.size() + r.pins.size(), show_progress,
                           "records");
        blynk_error e{};
        for (const auto& u : r.users) {
            auto c = blynk::to_c(u);
            check(to.table->put_user(to.self, &c, force ? 0u : 1u, &e), e, to, "save user " + u.email);
            ++n.users;
            bar.step();
        }
        for (const auto& d : r.dashes) {
            auto c = blynk::to_c(d);
            check(to.table->put_dash(to.self, &c, &e), e, to, "save a dashboard of " + d.email);
            ++n.dashes;
            bar.step();
        }
        for (const auto& d : r.devices) {
            auto c = blynk::to_c(d);
            check(to.table->put_device(to.self, &c, &e), e, to, "save a device of " + d.email);
            ++n.devices;
            bar.step();
        }
        std::vector<blynk_pin_rec> batch;
        for (size_t i = 0; i < r.pins.size(); i += kPinBatch) {
            batch.clear();
            for (size_t j = i; j < r.pins.size() && j < i + kPinBatch; ++j)
                batch.push_back(blynk::to_c(r.pins[j]));
            check(to.table->put_pins(to.self, batch.data(), batch.size(), &e), e, to, "save pin values");
            n.pins += batch.size();
            for (size_t k = 0; k < batch.size(); ++k)
                bar.step();
        }
        bar.finish();
    }
    plain_line(show_progress, "users", n.users);
    plain_line(show_progress, "dashboards", n.dashes);
    plain_line(show_progress, "devices", n.devices);
    plain_line(show_progress, "pin values", n.pins);

    if (history) {
        // Streamed: each batch is written while the source is still being read.
        struct Pump {
            const StorageEnd* to;
            std::vector<blynk::HistoryRow> rows;
            uint64_t copied = 0;
            std::string error;
            void flush() {
                if (rows.empty() || !error.empty()) return;
                std::vector<blynk_history_rec> recs;
                recs.reserve(rows.size());
                for (const auto& h : rows)
                    recs.push_back(blynk::to_c(h));
                blynk_error e{};
                int rc = to->table->import_history(to->self, recs.data(), recs.size(), &e);
                if (rc != BLYNK_OK)
                    error = e.message[0] ? e.message : "failed (status " + std::to_string(rc) + ")";
                else
                    copied += rows.size();
                rows.clear();
            }
        } pump{&to, {}, 0, {}};
        blynk_history_sink sink{};
        sink.size = sizeof sink;
        sink.ctx = &pump;
        sink.row = [](void* c, const blynk_history_rec* h) {
            auto* p = static_cast<Pump*>(c);
            if (!p->error.empty()) return;  // the source cannot be told to stop: skip the rest
            p->rows.push_back(blynk::from_c(h));
            if (p->rows.size() >= kHistoryBatch) p->flush();
        };
        blynk_error e{};
        check(from.table->dump_history(from.self, &sink, &e), e, from, "read history");
        pump.flush();
        if (!pump.error.empty())
            throw std::runtime_error("cannot write history in " + to.name + " (" + to.where + "): " + pump.error);
        n.history = pump.copied;
        plain_line(show_progress, "history rows", n.history);
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f", s);
    out << "copied " << n.users << " users, " << n.dashes << " dashboards, " << n.devices << " devices, " << n.pins
        << " pin values and " << (history ? std::to_string(n.history) : std::string("no")) << " history rows from "
        << from.name << " (" << from.where << ") to " << to.name << " (" << to.where << ") in " << secs << " s\n";
    return n;
}

int run_storage_copy(const std::string& other, bool force, const Config& cfg, host::PluginHost& plugins,
                     const std::function<host::PluginSetup(const Config&)>& setup_of) {
    namespace fs = std::filesystem;
    Config target;
    try {
        target = load_config(other);
    } catch (const ConfigError& e) {
        std::cerr << "blynkd: --to " << other << ": " << e.what() << "\n";
        return 2;
    }
    std::error_code ec;
    if (!cfg.file.empty() && fs::equivalent(other, cfg.file, ec)) {
        std::cerr << "blynkd: --to names this configuration itself; give the other store's configuration\n";
        return 2;
    }
    fs::create_directories(target.data_dir, ec);
    // The other configuration's plugins, beside this one's, for its store.
    host::PluginHost to_plugins(setup_of(target), fs::absolute(target.data_dir).lexically_normal().string());
    to_plugins.load_all();
    StorageEnd from{plugins.storage(), plugins.storage_self(), plugins.storage_plugin_name(),
                    cfg.file.empty() ? "built-in defaults" : cfg.file};
    StorageEnd to{to_plugins.storage(), to_plugins.storage_self(), to_plugins.storage_plugin_name(), other};
    int rc = 0;
    try {
        copy_storage(from, to, force, platform::stderr_is_terminal(), std::cout);
    } catch (const std::exception& e) {
        std::cerr << "blynkd: " << e.what() << "\n";
        rc = 1;
    }
    to_plugins.shutdown();
    return rc;
}

}  // namespace blynk::app
