#include "app/import_legacy.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <thread>
#include <vector>

#include "app/import_progress.hpp"
#include "app/legacy_folder.hpp"
#include "host/clone_codes.hpp"
#include "host/legacy_import.hpp"
#include "platform/platform.hpp"

namespace blynk::app {

namespace json = boost::json;

namespace {

struct FileResult {
    std::string name;
    bool failed = false;  // not read, not valid, or storage refused: skipped
    host::ImportOutcome outcome = host::ImportOutcome::Imported;
    std::string reason;
    size_t dashboards = 0, devices = 0, pins = 0;
};

bool skipped(const FileResult& r) {
    return r.failed || r.outcome == host::ImportOutcome::Exists || r.outcome == host::ImportOutcome::TokenTaken;
}

// Runs fn(i) for i in [0, n) on `threads` threads; each item exactly once.
void for_each_parallel(size_t n, unsigned threads, const std::function<void(size_t)>& fn) {
    std::atomic<size_t> next{0};
    auto work = [&] {
        for (size_t i; (i = next.fetch_add(1)) < n;)
            fn(i);
    };
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t)
        pool.emplace_back(work);
    work();
    for (auto& t : pool)
        t.join();
}

// One account with the server stopped: everything here, in this process.
void import_local(const host::StorageClient& st, const ImportOptions& o, const host::LegacyUser& lu, FileResult& r) {
    try {
        host::ImportDecision d = host::import_user(st, lu, o.overwrite, o.hash_iterations);
        r.outcome = d.outcome;
        r.reason = d.reason;
    } catch (const std::exception& e) {
        r.failed = true;
        r.reason = std::string("storage refused it: ") + e.what();
    }
}

// One account through the running server. A busy server (503: its hashing
// pool or storage queue is full) is asked again, a bounded number of times.
void import_remote(const OperatorClient& api, const ImportOptions& o, const host::LegacyUser& lu,
                   const std::string& content, FileResult& r) {
    std::string target =
        "/api/v1/users/" + path_escape(lu.user->email) + "/profile" + (o.overwrite ? "?overwrite=1" : "");
    ApiReply reply;
    for (int attempt = 0;; ++attempt) {
        try {
            reply = api.call("PUT", target, content);
        } catch (const std::exception& e) {
            r.failed = true;
            r.reason = std::string("the running server could not be asked: ") + e.what();
            return;
        }
        if (reply.status != 503 || attempt >= 100) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50 + 10 * attempt));
    }
    boost::system::error_code ec;
    json::value v = json::parse(reply.body, ec);
    const json::object* answer = !ec && v.is_object() ? &v.as_object() : nullptr;
    auto text = [&](const char* key) {
        const json::value* f = answer ? answer->if_contains(key) : nullptr;
        return f && f->is_string() ? std::string(f->as_string()) : std::string();
    };
    std::string result = text("result");
    for (auto out : {host::ImportOutcome::Imported, host::ImportOutcome::Replaced, host::ImportOutcome::Unchanged,
                     host::ImportOutcome::Exists, host::ImportOutcome::TokenTaken})
        if (result == host::outcome_name(out)) {
            r.outcome = out;
            r.reason = text("error");
            return;
        }
    r.failed = true;
    r.reason = "the running server answered HTTP " + std::to_string(reply.status) +
               (text("error").empty() ? std::string() : ": " + text("error"));
}

FileResult import_file(const LegacyFile& f, const ImportOptions& o, const host::StorageClient& st,
                       const OperatorClient* running) {
    FileResult r;
    r.name = f.name;
    std::string content, err;
    host::LegacyUser lu;
    // The whole account is read and checked before anything is written.
    if (!read_limited(f.path, host::kMaxLegacyUserBytes, content, err) ||
        !host::parse_legacy_user(content, f.email_hint, lu, err)) {
        r.failed = true;
        r.reason = err;
        return r;
    }
    r.dashboards = lu.user->dashboards.size();
    r.devices = lu.user->devices.size();
    r.pins = lu.pins;
    if (running)
        import_remote(*running, o, lu, content, r);
    else
        import_local(st, o, lu, r);
    return r;
}

struct CloneCounts {
    size_t stored = 0, unchanged = 0;
};

void import_clones(const LegacyFolder& folder, const ImportOptions& o, CloneCounts& counts,
                   std::vector<Skipped>& skips) {
    for (auto& c : folder.clones) {
        std::string content, err;
        if (!read_limited(c.path, host::kMaxLegacyUserBytes, content, err)) {
            skips.push_back({c.name, err});
            continue;
        }
        boost::system::error_code ec;
        json::value v = json::parse(content, ec);
        if (ec || !v.is_object()) {
            skips.push_back({c.name, "not a dashboard's JSON object"});
            continue;
        }
        try {
            switch (host::store_clone_code(o.data_dir, c.email_hint, content, o.overwrite)) {
                case host::CloneStore::Stored:
                    ++counts.stored;
                    break;
                case host::CloneStore::Unchanged:
                    ++counts.unchanged;
                    break;
                case host::CloneStore::Exists:
                    skips.push_back({c.name, "another dashboard has this clone code here; --overwrite replaces it"});
                    break;
            }
        } catch (const std::exception& e) {
            skips.push_back({c.name, e.what()});
        }
    }
}

}  // namespace

int run_import_legacy(const ImportOptions& o, const host::StorageClient& st, const OperatorClient* running) {
    LegacyFolder folder = scan_legacy_folder(o.folder);
    std::vector<FileResult> results(folder.users.size());
    unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    // With the server stopped the slow password hash is the cost: one per
    // core. A running server hashes on its own pool: a few requests at a time.
    unsigned threads = std::min(running ? 4u : cores, 32u);
    auto started = std::chrono::steady_clock::now();
    {
        ImportProgress progress(results.size(), platform::stderr_is_terminal());
        for_each_parallel(results.size(), threads, [&](size_t i) {
            results[i] = import_file(folder.users[i], o, st, running);
            progress.step();
        });
    }
    CloneCounts clones;
    std::vector<Skipped> skips = folder.skipped;
    import_clones(folder, o, clones, skips);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    size_t counts[5] = {}, failed = 0, dashboards = 0, devices = 0, pins = 0;
    for (auto& r : results) {
        if (r.failed) {
            ++failed;
        } else {
            ++counts[int(r.outcome)];
            if (r.outcome == host::ImportOutcome::Imported || r.outcome == host::ImportOutcome::Replaced) {
                dashboards += r.dashboards;
                devices += r.devices;
                pins += r.pins;
            }
        }
        if (skipped(r)) skips.push_back({r.name, r.reason});
    }
    size_t skipped_users =
        failed + counts[int(host::ImportOutcome::Exists)] + counts[int(host::ImportOutcome::TokenTaken)];
    std::printf("import-legacy from %s%s: %zu user file(s) in %.1f s\n", o.folder.c_str(),
                running ? " (through the running server)" : "", results.size(), seconds);
    std::printf("users: %zu imported, %zu replaced, %zu unchanged, %zu skipped\n",
                counts[int(host::ImportOutcome::Imported)], counts[int(host::ImportOutcome::Replaced)],
                counts[int(host::ImportOutcome::Unchanged)], skipped_users);
    std::printf("written: %zu dashboard(s), %zu device(s), %zu pin value(s) and propert(ies)\n", dashboards, devices,
                pins);
    std::printf("clone codes: %zu stored, %zu unchanged\n", clones.stored, clones.unchanged);
    if (!skips.empty()) {
        std::printf("skipped (%zu):\n", skips.size());
        for (auto& s : skips)
            std::printf("  %s: %s\n", s.name.c_str(), s.reason.c_str());
    }
    std::fflush(stdout);
    return skips.empty() ? 0 : 1;
}

}  // namespace blynk::app
