// The little that differs between operating systems, behind one interface.
#pragma once

#include <cstdio>
#include <optional>
#include <string>

namespace blynk::platform {

// Creates (or truncates) a file readable and writable by its owner only.
std::FILE* open_private_file(const std::string& path);
// From now on, files and folders this process creates are for its owner only:
// POSIX umask 077, so a file opened with mode 0644 gets 0600 and a folder 0700
// (SQLite's database, and its -wal/-shm, which copy the database's mode, too).
// A no-op on Windows, where a new file inherits its folder's access list.
void restrict_new_files();
// The permission bits of path itself (e.g. 0644; a symbolic link is not
// followed), or nullopt when it does not exist, is a symbolic link, or the
// system has no such bits (Windows).
std::optional<unsigned> posix_mode(const std::string& path);
// Sets the permission bits of path; false with the reason in `error` if not.
bool set_posix_mode(const std::string& path, unsigned mode, std::string& error);
// Whether standard output is a terminal (someone watching it), not a pipe, a
// file or a service manager's journal.
bool stdout_is_terminal();
// The same for standard error (where the CLI draws progress).
bool stderr_is_terminal();
// The folder holding the running executable.
std::string executable_dir();
// Raises the soft limit of open files to the hard limit; returns the new soft
// limit (0 where there is no such limit).
size_t raise_file_limit();
// A write to a socket the peer closed must be an error, not a signal that
// ends the process (OpenSSL writes with plain send()).
void ignore_broken_pipe();
// Returns freed heap memory to the system where the allocator keeps it
// (glibc keeps per-thread arenas); a no-op elsewhere.
void trim_heap();
// Lowers the calling thread's scheduling priority (Linux: nice +10), for a
// background thread whose work may wait while the event loop's may not; a
// no-op where threads have no priority of their own.
void lower_thread_priority();
// Resident set size of this process in bytes (/metrics, the start-up line):
// Linux from /proc/self/statm, macOS from the task's basic info (not built in
// this project's CI); 0 elsewhere (Windows: not implemented, so /metrics says 0).
size_t resident_bytes();
// Who besides the owner may change `path` (a file or folder): "group",
// "others", "group and others", or "" when no one else may (or the system has
// no such mode bits, as on Windows, where this is a no-op). A code file others
// may write is code others may run in this process. `error` is set when
// `path` cannot be examined.
std::string writable_by_others(const std::string& path, std::string& error);

}  // namespace blynk::platform
