// Clone codes: a dashboard's public JSON kept under a random 32-character
// code, as files `<data_dir>/http-api/clones/<code>.json` (the folder the
// http-api plugin's /{token}/qr and /{code}/clone use, so a code made by an
// app opens over HTTP and the other way round). Blocking file I/O: call off
// the loop thread.
#pragma once

#include <optional>
#include <string>

namespace blynk::host {

std::string clone_folder(const std::string& data_dir);
// Stores `json` under a new code; returns the code, or "" on an I/O error.
std::string save_clone(const std::string& data_dir, const std::string& json);
// The JSON stored under `code`; nullopt if none (or the code is malformed).
std::optional<std::string> load_clone(const std::string& data_dir, const std::string& code);

}  // namespace blynk::host
