// How fast a storage plugin takes history points, loaded the way blynkd
// loads it (the SDK's fake host) and fed put_points batches the way the
// kernel's history pipeline does. Prints points per second; the wrapper
// (bench/storage_pg.sh) measures the disk they take.
//
//   storage_points MODULE.so KEY=VALUE... [--points N] [--batch B] [--series S] [--no-raw]
//
// KEY=VALUE are the plugin's settings (url=postgresql://... or path=/tmp/x.db).
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include <blynk/plugin_testing.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr,
                     "usage: storage_points MODULE.so KEY=VALUE... [--points N] [--batch B] [--series S] "
                     "[--no-raw]\n");
        return 2;
    }
    std::string module = argv[1];
    std::vector<blynk::testing::Setting> settings;
    long points = 1000000, batch = 1000, series = 1000;
    bool raw = true;
    for (int i = 2; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&] { return i + 1 < argc ? std::atol(argv[++i]) : 0L; };
        if (a == "--points")
            points = next();
        else if (a == "--batch")
            batch = next();
        else if (a == "--series")
            series = next();
        else if (a == "--no-raw")
            raw = false;
        else if (a.find('=') != std::string::npos)
            settings.push_back({a.substr(0, a.find('=')), a.substr(a.find('=') + 1), BLYNK_SETTING_STRING});
    }
    if (points <= 0 || batch <= 0 || series <= 0) {
        std::fprintf(stderr, "storage_points: --points, --batch and --series must be positive\n");
        return 2;
    }
    blynk::testing::TempDir tmp("storage-points");
    blynk::testing::FakeHost host(tmp.path(), "bench");
    blynk::testing::PluginUnderTest plugin(host);
    if (!plugin.load_module(module)) {
        std::fprintf(stderr, "storage_points: %s\n", plugin.error().c_str());
        return 1;
    }
    auto init = plugin.init(settings);
    if (!init.ok()) {
        std::fprintf(stderr, "storage_points: init: %s\n", init.message.c_str());
        return 1;
    }
    const blynk_storage_v1* s = plugin.storage();
    if (!s || !BLYNK_HAS_FIELD(s, import_history) || !s->put_points) {
        std::fprintf(stderr, "storage_points: %s keeps no history\n", plugin.name().c_str());
        return 1;
    }
    // Series are (device, pin) pairs of one account: 10 pins per device, one
    // value a second each, so buckets fill as a real install's would.
    const std::string email = "bench@example.com";
    const int64_t t0 = 1767225600000;  // 2026-01-01 UTC
    std::vector<blynk_point_rec> recs;
    std::vector<std::string> texts;
    auto started = std::chrono::steady_clock::now();
    long done = 0;
    while (done < points) {
        recs.clear();
        texts.clear();
        long n = std::min(batch, points - done);
        texts.reserve(size_t(n));
        for (long k = 0; k < n; ++k) {
            long i = done + k;
            long ser = i % series;
            double v = 20.0 + double(i % 1000) / 100.0;
            texts.push_back(std::to_string(v).substr(0, 5));
            blynk_point_rec r{};
            r.size = sizeof r;
            r.email = blynk::slice(email);
            r.dash_id = 1;
            r.device_id = int32_t(ser / 10);
            r.pin_type = 'v';
            r.pin = uint8_t(ser % 10);
            r.at_ms = t0 + (i / series) * 1000;
            r.numeric = 1;
            r.value = v;
            recs.push_back(r);
        }
        for (size_t k = 0; k < recs.size(); ++k)
            recs[k].raw = blynk::slice(texts[k]);
        blynk_error e{};
        int rc = s->put_points(plugin.table()->self, recs.data(), recs.size(),
                               raw ? uint32_t(BLYNK_POINTS_KEEP_RAW) : 0u, &e);
        if (rc != BLYNK_OK) {
            std::fprintf(stderr, "storage_points: put_points: %s\n", e.message);
            return 1;
        }
        done += n;
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("plugin %s: %ld points (%s), batches of %ld, %ld series: %.1f s, %.0f points/s\n",
                plugin.name().c_str(), points, raw ? "raw kept" : "buckets only", batch, series, secs,
                double(points) / secs);
    plugin.shutdown();
    return 0;
}
