// Fuzzes config loading (kernel/app/config.hpp): the input is written to a
// temporary file and read with app::load_config, as `blynkd --config FILE`
// does. Only ConfigError may come out (a clear message naming the file); a
// file that loads gives values inside the documented ranges.
//
// The target compiles kernel/app/config.cpp with toml++ in header-only mode
// (see CMakeLists.txt), so the TOML parser is instrumented too.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <typeinfo>

#include "app/config.hpp"
#include "fuzz_util.hpp"

using namespace blynk;

namespace {

std::string g_path;
void cleanup() {
    if (!g_path.empty()) std::remove(g_path.c_str());
}

const std::string& path() {
    static const std::string p = [] {
        const char* tmp = std::getenv("TMPDIR");
        std::string p =
            std::string(tmp && *tmp ? tmp : "/tmp") + "/blynk-fuzz-config-" + std::to_string(getpid()) + ".toml";
        g_path = p;
        std::atexit(cleanup);
        return p;
    }();
    return p;
}

// toml++ 3.3.0 (Debian 12's libtomlplusplus) reaches TOML_UNREACHABLE
// (__builtin_unreachable: undefined behaviour) in
// impl::is_non_ascii_horizontal_whitespace for the code points below, met
// where whitespace may stand (upstream marzer/tomlplusplus#190 and #295, fixed
// by #305). Inputs holding one are skipped so the fuzzer can go on past it;
// BLYNK_FUZZ_TOML_GUARD=0 turns the guard off to reproduce
// (regressions/fuzz_config/tomlpp-unreachable-*, listed in known-crashes.txt).
// Remove the guard once the toml++ blynkd builds with is fixed.
bool hits_tomlpp_unreachable(const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        uint32_t cp;
        if ((p[i] & 0xE0) == 0xC0 && i + 1 < n && (p[i + 1] & 0xC0) == 0x80) {
            cp = (uint32_t(p[i] & 0x1F) << 6) | (p[i + 1] & 0x3F);
        } else if ((p[i] & 0xF0) == 0xE0 && i + 2 < n && (p[i + 1] & 0xC0) == 0x80 && (p[i + 2] & 0xC0) == 0x80) {
            cp = (uint32_t(p[i] & 0x0F) << 12) | (uint32_t(p[i + 1] & 0x3F) << 6) | (p[i + 2] & 0x3F);
        } else {
            continue;
        }
        if ((cp >= 0xA1 && cp <= 0x499) || (cp >= 0x2C5E && cp <= 0x3057 && cp != 0x3000) ||
            (cp >= 0xFB26 && cp <= 0xFEFE))
            return true;
    }
    return false;
}

const bool g_guard = [] {
    const char* v = std::getenv("BLYNK_FUZZ_TOML_GUARD");
    return !(v && std::string(v) == "0");
}();

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (g_guard && hits_tomlpp_unreachable(data, size)) return -1;  // -1: not kept in the corpus
    const std::string& file = path();
    FILE* f = std::fopen(file.c_str(), "wb");
    FUZZ_CHECK(f != nullptr);
    FUZZ_CHECK(std::fwrite(data, 1, size, f) == size);
    FUZZ_CHECK(std::fclose(f) == 0);

    try {
        app::Config c = app::load_config(file);
        FUZZ_CHECK(c.file == file);
        FUZZ_CHECK(!c.data_dir.empty());
        FUZZ_CHECK(c.admin_email.find('@') != std::string::npos);
        FUZZ_CHECK(c.tls_cert.empty() == c.tls_key.empty());
        FUZZ_CHECK(c.tls_min_version == "1.2" || c.tls_min_version == "1.3");
        FUZZ_CHECK(c.max_body >= 32 && c.max_body <= 65535);
        FUZZ_CHECK(c.login_timeout >= 1 && c.login_timeout <= 3600);
        FUZZ_CHECK(c.http_max_body >= 1024 && c.http_header_limit >= 1024);
        FUZZ_CHECK(c.pin_flush_interval_ms >= 10 && c.pin_flush_interval_ms <= 60000);
        for (auto& p : c.plugins_enabled)
            FUZZ_CHECK(!p.empty());
    } catch (const app::ConfigError& e) {
        // The message names the file.
        FUZZ_CHECK(std::string(e.what()).rfind(file, 0) == 0);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "load_config let %s escape: %s\n", typeid(e).name(), e.what());
        std::abort();
    } catch (...) {
        std::fprintf(stderr, "load_config let a non-std exception escape\n");
        std::abort();
    }
    return 0;
}
