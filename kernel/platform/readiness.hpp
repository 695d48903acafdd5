// A readiness source for many sockets that does not re-register per wait:
// a level-triggered set (epoll on Linux) that sockets join once and leave once,
// with write interest only while output is pending. The set's own descriptor
// becomes readable while any member is ready, so one wait on it (through the
// event loop) covers every member. Where no such set exists, open() returns
// nullptr and callers keep waiting per socket through the event loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace blynk::platform {

class ReadinessSet {
public:
    struct Event {
        void* tag;
        bool readable;  // also set on hang-up and error: the next read reports them
        bool writable;
    };

    // A new set, or nullptr where the platform has none.
    static std::unique_ptr<ReadinessSet> open();
    ~ReadinessSet();
    ReadinessSet(const ReadinessSet&) = delete;
    ReadinessSet& operator=(const ReadinessSet&) = delete;

    // Readable while any member is ready.
    int handle() const { return fd_; }
    // Adds `fd` with read interest; events carry `tag`. False on failure.
    bool add(int fd, void* tag);
    // Changes what `fd` is watched for. False on failure.
    bool watch(int fd, void* tag, bool read, bool write);
    // Removes `fd` (before it is closed); events already returned may still name its tag.
    void remove(int fd);
    // The members ready now, without blocking; at most `max` of them.
    size_t poll(Event* out, size_t max) { return wait(out, max, 0); }
    // Waits up to `timeout_ms` (-1: without limit) until a member is ready;
    // returns the members ready (0 on timeout or interruption by a signal).
    size_t wait(Event* out, size_t max, int timeout_ms);

    // A member that other threads can make ready (notify), for work they hand
    // to the thread that waits. Its events carry `tag`; drain_notifier()
    // makes it quiet again. False where it cannot be made.
    bool add_notifier(void* tag);
    void notify();  // any thread
    void drain_notifier();

    // The descriptor of another readiness set of this process that watches
    // `member`, or -1. Lets this set wait on the event loop's own set (Asio's
    // epoll): then one wait covers both.
    int find_set_watching(int member) const;

private:
    explicit ReadinessSet(int fd) : fd_(fd) {}
    int fd_;
    int notify_fd_ = -1;
};

// Non-blocking socket calls on a raw descriptor (POSIX; winsock on Windows):
// every connection reads and writes through these, whichever event loop runs.
// recv/send return the byte count, 0 for end of stream (recv), -1 for "would
// block" and -2 for an error, whose text goes to `error`.
long socket_recv(int fd, char* buf, size_t n, int& error);
long socket_send(int fd, const char* buf, size_t n, int& error);
void socket_shutdown_send(int fd);
void socket_close(int fd);
// The peer's address into `addr` (capacity `len`, set to the length used).
bool socket_peer(int fd, void* addr, size_t& len);
// The socket's own address, the same way.
bool socket_local(int fd, void* addr, size_t& len);
// Text of an error number from socket_recv/socket_send.
const char* socket_error_text(int error);
// Whether `fd` is readable (or hung up) and writable now, without waiting.
// False if it cannot be asked.
bool socket_poll(int fd, bool& readable, bool& writable);

}  // namespace blynk::platform
