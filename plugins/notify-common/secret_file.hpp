// Reading a secret (an API key, a service account's private key) from a file
// named in the plugin's settings, refusing one other local users may read.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#pragma once

#include <string>

namespace notify {

// The whole file. Throws blynk::SettingsError naming `key` and the path when
// it cannot be read or (POSIX) when others may read or write it; the message
// never contains the file's content.
std::string read_secret_file(const std::string& key, const std::string& path);

// The first line of such a file, blanks trimmed; an error if it is empty.
std::string read_secret_line(const std::string& key, const std::string& path);

}  // namespace notify
