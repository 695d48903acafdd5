#include "platform/readiness.hpp"

#if defined(__linux__)
#include <dirent.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <cstdio>
#include <cstdlib>
#endif
#if !defined(_WIN32)
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#else
#include <winsock2.h>

#include <climits>
#include <cstdio>
#endif

namespace blynk::platform {

#if defined(__linux__)

std::unique_ptr<ReadinessSet> ReadinessSet::open() {
    int fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) return nullptr;
    return std::unique_ptr<ReadinessSet>(new ReadinessSet(fd));
}

ReadinessSet::~ReadinessSet() {
    if (notify_fd_ >= 0) ::close(notify_fd_);
    ::close(fd_);
}

bool ReadinessSet::add(int fd, void* tag) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = tag;
    return ::epoll_ctl(fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool ReadinessSet::watch(int fd, void* tag, bool read, bool write) {
    epoll_event ev{};
    ev.events = (read ? EPOLLIN | EPOLLRDHUP : 0u) | (write ? EPOLLOUT : 0u);
    ev.data.ptr = tag;
    return ::epoll_ctl(fd_, EPOLL_CTL_MOD, fd, &ev) == 0;
}

void ReadinessSet::remove(int fd) {
    epoll_event ev{};
    ::epoll_ctl(fd_, EPOLL_CTL_DEL, fd, &ev);
}

size_t ReadinessSet::wait(Event* out, size_t max, int timeout_ms) {
    constexpr size_t kChunk = 256;
    epoll_event evs[kChunk];
    int n = ::epoll_wait(fd_, evs, int(max < kChunk ? max : kChunk), timeout_ms);
    if (n <= 0) return 0;  // EINTR included: the caller waits again
    for (int i = 0; i < n; ++i) {
        uint32_t e = evs[i].events;
        out[i].tag = evs[i].data.ptr;
        out[i].readable = (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
        out[i].writable = (e & (EPOLLOUT | EPOLLERR)) != 0;
    }
    return size_t(n);
}

bool ReadinessSet::add_notifier(void* tag) {
    if (notify_fd_ >= 0) return false;
    notify_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (notify_fd_ < 0) return false;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = tag;
    if (::epoll_ctl(fd_, EPOLL_CTL_ADD, notify_fd_, &ev) == 0) return true;
    ::close(notify_fd_);
    notify_fd_ = -1;
    return false;
}

void ReadinessSet::notify() {
    uint64_t one = 1;
    // Fails only when the counter is full: then it is readable anyway.
    [[maybe_unused]] ssize_t r = ::write(notify_fd_, &one, sizeof one);
}

void ReadinessSet::drain_notifier() {
    uint64_t count;
    [[maybe_unused]] ssize_t r = ::read(notify_fd_, &count, sizeof count);
}

// Every epoll instance lists what it watches in /proc/self/fdinfo/<fd>, one
// "tfd: <descriptor> events: ..." line per member.
int ReadinessSet::find_set_watching(int member) const {
    DIR* dir = ::opendir("/proc/self/fd");
    if (!dir) return -1;
    int found = -1;
    char path[64], link[64], line[256];
    while (dirent* e = ::readdir(dir)) {
        char* end = nullptr;
        long fd = std::strtol(e->d_name, &end, 10);
        if (end == e->d_name || *end || fd == ::dirfd(dir) || fd == fd_) continue;
        std::snprintf(path, sizeof path, "/proc/self/fd/%ld", fd);
        ssize_t len = ::readlink(path, link, sizeof link - 1);
        if (len <= 0) continue;
        link[len] = 0;
        if (std::strcmp(link, "anon_inode:[eventpoll]") != 0) continue;
        std::snprintf(path, sizeof path, "/proc/self/fdinfo/%ld", fd);
        FILE* f = std::fopen(path, "re");
        if (!f) continue;
        while (found < 0 && std::fgets(line, sizeof line, f)) {
            int tfd = -1;
            if (std::sscanf(line, "tfd: %d", &tfd) == 1 && tfd == member) found = int(fd);
        }
        std::fclose(f);
        if (found >= 0) break;
    }
    ::closedir(dir);
    return found;
}

#else

std::unique_ptr<ReadinessSet> ReadinessSet::open() {
    return nullptr;
}
ReadinessSet::~ReadinessSet() = default;
bool ReadinessSet::add(int, void*) {
    return false;
}
bool ReadinessSet::watch(int, void*, bool, bool) {
    return false;
}
void ReadinessSet::remove(int) {}
size_t ReadinessSet::wait(Event*, size_t, int) {
    return 0;
}
bool ReadinessSet::add_notifier(void*) {
    return false;
}
void ReadinessSet::notify() {}
void ReadinessSet::drain_notifier() {}
int ReadinessSet::find_set_watching(int) const {
    return -1;
}

#endif

#if !defined(_WIN32)

#if defined(MSG_NOSIGNAL)
constexpr int kSendFlags = MSG_NOSIGNAL;
#else
constexpr int kSendFlags = 0;
#endif

long socket_recv(int fd, char* buf, size_t n, int& error) {
    for (;;) {
        ssize_t r = ::recv(fd, buf, n, 0);
        if (r >= 0) return long(r);
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return -1;
        error = errno;
        return -2;
    }
}

long socket_send(int fd, const char* buf, size_t n, int& error) {
    for (;;) {
        ssize_t r = ::send(fd, buf, n, kSendFlags);
        if (r >= 0) return long(r);
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return -1;
        error = errno;
        return -2;
    }
}

void socket_shutdown_send(int fd) {
    ::shutdown(fd, SHUT_WR);
}

void socket_close(int fd) {
    ::close(fd);
}

bool socket_peer(int fd, void* addr, size_t& len) {
    socklen_t l = socklen_t(len);
    if (::getpeername(fd, static_cast<sockaddr*>(addr), &l) != 0) return false;
    len = size_t(l);
    return true;
}

bool socket_local(int fd, void* addr, size_t& len) {
    socklen_t l = socklen_t(len);
    if (::getsockname(fd, static_cast<sockaddr*>(addr), &l) != 0) return false;
    len = size_t(l);
    return true;
}

const char* socket_error_text(int error) {
    return std::strerror(error);
}

bool socket_poll(int fd, bool& readable, bool& writable) {
    pollfd p{fd, short(POLLIN | POLLOUT), 0};
    int r;
    do
        r = ::poll(&p, 1, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0) return false;
    readable = (p.revents & (POLLIN | POLLHUP | POLLERR)) != 0;
    writable = (p.revents & (POLLOUT | POLLERR)) != 0;
    return true;
}

#else

// Windows: winsock under the same contract. Socket handles are passed as int
// (they fit: Windows keeps them below 2^24 in practice, as Asio's users rely on).
long socket_recv(int fd, char* buf, size_t n, int& error) {
    int r = ::recv(SOCKET(fd), buf, int(n > INT_MAX ? INT_MAX : n), 0);
    if (r >= 0) return long(r);
    int e = ::WSAGetLastError();
    if (e == WSAEWOULDBLOCK) return -1;
    error = e;
    return -2;
}
long socket_send(int fd, const char* buf, size_t n, int& error) {
    int r = ::send(SOCKET(fd), buf, int(n > INT_MAX ? INT_MAX : n), 0);
    if (r >= 0) return long(r);
    int e = ::WSAGetLastError();
    if (e == WSAEWOULDBLOCK) return -1;
    error = e;
    return -2;
}
void socket_shutdown_send(int fd) {
    ::shutdown(SOCKET(fd), SD_SEND);
}
void socket_close(int fd) {
    ::closesocket(SOCKET(fd));
}
bool socket_peer(int fd, void* addr, size_t& len) {
    int l = int(len);
    if (::getpeername(SOCKET(fd), static_cast<sockaddr*>(addr), &l) != 0) return false;
    len = size_t(l);
    return true;
}
bool socket_local(int fd, void* addr, size_t& len) {
    int l = int(len);
    if (::getsockname(SOCKET(fd), static_cast<sockaddr*>(addr), &l) != 0) return false;
    len = size_t(l);
    return true;
}
const char* socket_error_text(int error) {
    static thread_local char text[64];
    std::snprintf(text, sizeof text, "socket error %d", error);
    return text;
}
bool socket_poll(int fd, bool& readable, bool& writable) {
    WSAPOLLFD p{SOCKET(fd), short(POLLRDNORM | POLLWRNORM), 0};
    if (::WSAPoll(&p, 1, 0) < 0) return false;
    readable = (p.revents & (POLLRDNORM | POLLHUP | POLLERR)) != 0;
    writable = (p.revents & (POLLWRNORM | POLLERR)) != 0;
    return true;
}

#endif

}  // namespace blynk::platform
