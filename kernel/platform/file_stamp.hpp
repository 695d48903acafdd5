// What tells that a file was replaced or rewritten, for watchers that poll
// (the TLS certificate files): portable, no inotify/kqueue needed, and a
// replacement by rename (how certbot renews) changes the inode even when the
// size and the modification time happen to be the same.
#pragma once

#include <cstdint>
#include <string>

namespace blynk::platform {

struct FileStamp {
    bool exists = false;
    int64_t mtime_ns = 0;
    uint64_t size = 0;
    uint64_t inode = 0;  // 0 where the system has none (Windows)
    bool operator==(const FileStamp& o) const {
        return exists == o.exists && mtime_ns == o.mtime_ns && size == o.size && inode == o.inode;
    }
    bool operator!=(const FileStamp& o) const { return !(*this == o); }
};

// The stamp of `path`, following symbolic links (certbot's live/ folder links
// into archive/); exists = false when it cannot be examined.
FileStamp file_stamp(const std::string& path);

// The signal an operator sends to make the server re-read its certificate
// files: SIGHUP on POSIX; 0 on Windows, which has no such signal (there the
// files are still watched).
int reload_signal();

}  // namespace blynk::platform
