#include "platform/platform.hpp"

#include <boost/dll/runtime_symbol_info.hpp>

#if defined(_WIN32)
#include <io.h>
#include <stdio.h>
#else
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#endif
#include <cerrno>
#include <cstring>
#include <fstream>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__linux__)
#include <sys/syscall.h>
#endif
#if defined(__APPLE__)
#include <mach/mach.h>
#endif

namespace blynk::platform {

std::FILE* open_private_file(const std::string& path) {
#if defined(_WIN32)
    return std::fopen(path.c_str(), "wb");
#else
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return nullptr;
    ::fchmod(fd, 0600);
    std::FILE* f = ::fdopen(fd, "wb");
    if (!f) ::close(fd);
    return f;
#endif
}

void restrict_new_files() {
#if !defined(_WIN32)
    ::umask(077);
#endif
}

std::optional<unsigned> posix_mode(const std::string& path) {
#if defined(_WIN32)
    (void)path;
    return std::nullopt;
#else
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || S_ISLNK(st.st_mode)) return std::nullopt;
    return unsigned(st.st_mode & 07777);
#endif
}

bool set_posix_mode(const std::string& path, unsigned mode, std::string& error) {
#if defined(_WIN32)
    (void)path;
    (void)mode;
    error = "no POSIX permissions on this system";
    return false;
#else
    if (::chmod(path.c_str(), mode_t(mode)) == 0) return true;
    error = std::strerror(errno);
    return false;
#endif
}

bool stdout_is_terminal() {
#if defined(_WIN32)
    return ::_isatty(::_fileno(stdout)) != 0;
#else
    return ::isatty(STDOUT_FILENO) == 1;
#endif
}

bool stderr_is_terminal() {
#if defined(_WIN32)
    return ::_isatty(::_fileno(stderr)) != 0;
#else
    return ::isatty(STDERR_FILENO) == 1;
#endif
}

std::string executable_dir() {
    boost::system::error_code ec;
    auto p = boost::dll::program_location(ec);
    if (ec) return ".";
    return p.parent_path().string();
}

size_t raise_file_limit() {
#if defined(_WIN32)
    return 0;
#else
    struct rlimit rl {};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t want = rl.rlim_max;
#if defined(__APPLE__)
        if (want > rlim_t(OPEN_MAX)) want = OPEN_MAX;
#endif
        rlimit raised{want, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl.rlim_cur = want;
    }
    return rl.rlim_cur == RLIM_INFINITY ? size_t(-1) : size_t(rl.rlim_cur);
#endif
}

void ignore_broken_pipe() {
#if !defined(_WIN32)
    ::signal(SIGPIPE, SIG_IGN);
#endif
}

void lower_thread_priority() {
#if defined(__linux__)
    // On Linux a nice value belongs to a thread (the task id), not the process.
    id_t tid = id_t(::syscall(SYS_gettid));
    int nice = ::getpriority(PRIO_PROCESS, tid);
    ::setpriority(PRIO_PROCESS, tid, nice + 10 > 19 ? 19 : nice + 10);
#endif
}

void trim_heap() {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

size_t resident_bytes() {
#if defined(__linux__)
    std::ifstream in("/proc/self/statm");
    size_t pages = 0, resident = 0;
    if (in >> pages >> resident) return resident * size_t(sysconf(_SC_PAGESIZE));
#elif defined(__APPLE__)
    mach_task_basic_info_data_t info{};
    mach_msg_type_number_t count = MACH_TASK_BASIC_INFO_COUNT;
    if (task_info(mach_task_self(), MACH_TASK_BASIC_INFO, reinterpret_cast<task_info_t>(&info), &count) == KERN_SUCCESS)
        return size_t(info.resident_size);
#endif
    return 0;
}

std::string writable_by_others(const std::string& path, std::string& error) {
    error.clear();
#if defined(_WIN32)
    (void)path;
    return {};
#else
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        error = std::strerror(errno);
        return {};
    }
    bool group = (st.st_mode & S_IWGRP) != 0, others = (st.st_mode & S_IWOTH) != 0;
    return group && others ? "group and others" : group ? "group" : others ? "others" : "";
#endif
}

}  // namespace blynk::platform
