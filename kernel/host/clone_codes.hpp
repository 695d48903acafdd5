// Clone codes: a code names a copy of a dashboard's JSON (the app's
// GET_CLONE_CODE / GET_PROJECT_BY_CLONE_CODE, the HTTP /{code}/clone and QR
// codes). Each is a file `<data folder>/http-api/clones/<code>.json`: the
// folder the http-api plugin's QR clones already use, so `/{code}/clone`
// serves every code, whoever made it. Files, not storage records, because a
// clone is a copy made once and read by code, never changed or listed, and a
// file per code needs no lock between the server and the CLI (written to a
// temporary file, then renamed).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace blynk::host {

// 1 to 64 characters of [A-Za-z0-9_-] (legacy and our codes are 32).
bool valid_clone_code(std::string_view code);
std::string clone_code_dir(const std::string& data_dir);

// The dashboard JSON of a code; nullopt for an unknown or malformed code.
// Throws std::runtime_error when the file exists but cannot be read.
std::optional<std::string> load_clone_code(const std::string& data_dir, std::string_view code);

enum class CloneStore { Stored, Unchanged, Exists };
// Keeps `json` under `code`: Unchanged when the same is stored, Exists when
// another is (replaced only with overwrite). Throws std::runtime_error (an
// invalid code, a write that failed).
CloneStore store_clone_code(const std::string& data_dir, std::string_view code, std::string_view json, bool overwrite);

}  // namespace blynk::host
