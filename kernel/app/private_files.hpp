// The data folder holds every device token, the operator token and the
// database: nothing in it is for other local users (docs/security.md, "Files").
#pragma once

#include <string>

namespace blynk::app {

// Tightens an install made before files were created owner-only: the data
// folder and what blynkd keeps in it (the default SQLite store with its -wal,
// -shm and -journal, operator.token, blynkd.run, the admin password file, tls/
// and tls/key.pem) lose their group and other permission bits (0755 -> 0700,
// 0644 -> 0600), with one warning per changed path naming the old and new
// modes. Other files there, and symbolic links (what they point to may be the
// operator's, elsewhere), are left alone. Does nothing where files have no
// POSIX modes (Windows).
void tighten_data_folder(const std::string& data_dir);

// Warns, changing nothing, when a configured private key (tls.key, which may
// live anywhere the operator chose) can be read by its group or others.
void warn_if_key_exposed(const std::string& key_path);

}  // namespace blynk::app
