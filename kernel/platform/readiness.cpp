#include "platform/readiness.hpp"

#if defined(__linux__)
#include <sys/epoll.h>
#endif
#if !defined(_WIN32)
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#endif

namespace blynk::platform {

#if defined(__linux__)

std::unique_ptr<ReadinessSet> ReadinessSet::open() {
    int fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) return nullptr;
    return std::unique_ptr<ReadinessSet>(new ReadinessSet(fd));
}

ReadinessSet::~ReadinessSet() {
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

size_t ReadinessSet::poll(Event* out, size_t max) {
    constexpr size_t kChunk = 256;
    epoll_event evs[kChunk];
    int n;
    do {
        n = ::epoll_wait(fd_, evs, int(max < kChunk ? max : kChunk), 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return 0;
    for (int i = 0; i < n; ++i) {
        uint32_t e = evs[i].events;
        out[i].tag = evs[i].data.ptr;
        out[i].readable = (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
        out[i].writable = (e & (EPOLLOUT | EPOLLERR)) != 0;
    }
    return size_t(n);
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
size_t ReadinessSet::poll(Event*, size_t) {
    return 0;
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

const char* socket_error_text(int error) {
    return std::strerror(error);
}

#else

long socket_recv(int, char*, size_t, int& error) {
    error = 0;
    return -2;
}
long socket_send(int, const char*, size_t, int& error) {
    error = 0;
    return -2;
}
void socket_shutdown_send(int) {}
void socket_close(int) {}
bool socket_peer(int, void*, size_t&) {
    return false;
}
const char* socket_error_text(int) {
    return "unsupported";
}

#endif

}  // namespace blynk::platform
