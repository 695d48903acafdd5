// The acme plugin's files in <data_dir>/acme/: the account key (made once),
// the certificate chain and its key. Keys are owner-only (0600) from their
// first byte; every file is replaced by rename, so a reader (or a crash)
// never sees half of one.
#pragma once

#include <optional>
#include <string>

namespace acme {

// Creates the folder (0700 on POSIX) if needed; throws acme::Error.
void ensure_folder(const std::string& path);
// The file's text, or nullopt when it does not exist; throws acme::Error if it
// exists but cannot be read or is over 1 MiB.
std::optional<std::string> read_file(const std::string& path);
// Writes `text` to path (via path + ".new"); `private_key`: mode 0600 on POSIX
// (on Windows the file inherits the data folder's access list).
void write_file(const std::string& path, const std::string& text, bool private_key);

}  // namespace acme
