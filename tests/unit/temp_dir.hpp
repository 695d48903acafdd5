// A temporary folder for one test (or a fixture), removed with everything in
// it when it goes: tests never write outside their own folder.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace blynk::testing {

struct TempDir {
    std::filesystem::path path;
    // `prefix` names the folder after the test, so a leftover says whose it is.
    explicit TempDir(const std::string& prefix) {
        std::string templ = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
        if (!mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed for " + templ);
        path = templ;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

}  // namespace blynk::testing
