#include "platform/file_stamp.hpp"

#include <csignal>

#if defined(_WIN32)
#include <sys/stat.h>
#include <sys/types.h>
#else
#include <sys/stat.h>
#endif

namespace blynk::platform {

FileStamp file_stamp(const std::string& path) {
    FileStamp s;
#if defined(_WIN32)
    struct _stat64 st {};
    if (_stat64(path.c_str(), &st) != 0) return s;
    s.mtime_ns = int64_t(st.st_mtime) * 1000000000;
#else
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return s;
#if defined(__APPLE__)
    s.mtime_ns = int64_t(st.st_mtimespec.tv_sec) * 1000000000 + st.st_mtimespec.tv_nsec;
#else
    s.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
#endif
    s.inode = uint64_t(st.st_ino);
#endif
    s.exists = true;
    s.size = uint64_t(st.st_size);
    return s;
}

int reload_signal() {
#if defined(SIGHUP)
    return SIGHUP;
#else
    return 0;
#endif
}

}  // namespace blynk::platform
