// Issue 13's storage figures for storage-sqlite: points per second through
// put_points and bytes on disk per raw point. Loads the built plugin the way
// blynkd does (the SDK's fake host) and drives only its C table.
//
//   history_store [--points 1000000] [--devices 10] [--pins 10] [--batch 1000] [--raw 1] [--dir DIR]
//
// Devices write once a second each, round robin over devices and pins (so
// series interleave as they do on a server), values like "21.3". Prints a
// `RESULT key=value` line.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include <blynk/plugin_testing.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace fs = std::filesystem;

int main(int argc, char** argv) {
    long points = 1'000'000, devices = 10, pins = 10, batch = 1000, raw = 1;
    std::string dir;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i];
        const char* v = argv[i + 1];
        if (k == "--points")
            points = std::atol(v);
        else if (k == "--devices")
            devices = std::atol(v);
        else if (k == "--pins")
            pins = std::atol(v);
        else if (k == "--batch")
            batch = std::atol(v);
        else if (k == "--raw")
            raw = std::atol(v);
        else if (k == "--dir")
            dir = v;
        else {
            std::fprintf(stderr, "unknown option %s\n", k.c_str());
            return 2;
        }
    }
    if (points <= 0 || devices <= 0 || pins <= 0 || pins > 255 || batch <= 0) {
        std::fprintf(stderr, "--points, --devices, --batch > 0; 0 < --pins < 256\n");
        return 2;
    }
    static blynk::testing::TempDir tmp("history-bench");
    fs::path folder = dir.empty() ? fs::path(tmp.path()) : fs::path(dir);
    fs::path db = folder / "history-bench.db";
    for (const char* suffix : {"", "-wal", "-shm"})
        fs::remove(db.string() + suffix);
    static blynk::testing::FakeHost host(folder.string(), "bench");
    static blynk::testing::PluginUnderTest plugin(host);
    if (!plugin.load_module(BLYNK_PLUGIN_MODULE)) {
        std::fprintf(stderr, "cannot load %s: %s\n", BLYNK_PLUGIN_MODULE, plugin.error().c_str());
        return 1;
    }
    auto check = [](const blynk::testing::Result& r, const char* what) {
        if (!r.ok()) {
            std::fprintf(stderr, "%s: %s\n", what, r.message.c_str());
            std::exit(1);
        }
    };
    check(plugin.init({{"path", db.string(), BLYNK_SETTING_STRING}}), "init");
    blynk::User u;
    u.email = "bench@example.com";
    check(plugin.put_user(u, true), "put_user");
    for (long d = 0; d < devices; ++d) {
        blynk::Device dev;
        dev.email = u.email;
        dev.dash_id = 1;
        dev.device_id = int32_t(d);
        dev.token = "bench-token-" + std::to_string(d);
        check(plugin.put_device(dev), "put_device");
    }
    // What the accounts take; the figure is what history adds to it.
    size_t base_bytes = fs::file_size(db);

    const int64_t t0 = 1'700'000'000'000;
    std::vector<blynk::Point> chunk;
    chunk.reserve(size_t(batch));
    auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < points; ++i) {
        long writer = i % (devices * pins);
        blynk::Point p;
        p.email = u.email;
        p.dash_id = 1;
        p.device_id = int32_t(writer / pins);
        p.pin_type = 'v';
        p.pin = uint8_t(writer % pins);
        p.at_ms = t0 + (i / (devices * pins)) * 1000 + writer;  // each writer once a second
        int tenths = 200 + int((i * 7) % 100);
        char buf[16];
        std::snprintf(buf, sizeof buf, "%d.%d", tenths / 10, tenths % 10);
        p.raw = buf;
        p.numeric = true;
        p.value = std::strtod(buf, nullptr);
        chunk.push_back(std::move(p));
        if (long(chunk.size()) == batch || i + 1 == points) {
            check(plugin.put_points(chunk, raw != 0), "put_points");
            chunk.clear();
        }
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    plugin.shutdown();  // checkpoints the WAL into the file
    size_t bytes = fs::file_size(db);
    double per_point = double(bytes - base_bytes) / double(points);
    std::printf(
        "storage-sqlite: %ld points (%ld devices x %ld pins, batches of %ld, raw %s) in %.2f s: %.0f points/s\n",
        points, devices, pins, batch, raw ? "on" : "off", secs, double(points) / secs);
    std::printf("file: %zu bytes, %.1f bytes per point (%.1f MB per million points)\n", bytes, per_point, per_point);
    std::printf("RESULT points=%ld points_per_s=%.0f bytes=%zu bytes_per_point=%.1f\n", points, double(points) / secs,
                bytes, per_point);
    return 0;
}
