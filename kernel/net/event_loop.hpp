// The one interface through which connections wait for their sockets, after
// Mosquitto's mux.h: a member joins with its descriptor, says what it waits
// for (read, write), is told when the socket is ready, and leaves before the
// descriptor is closed. Readiness is level-triggered in every implementation:
// what a member leaves unread is reported again. Two implementations, chosen
// per platform (server.event_loop in the config):
//   - the readiness set (net/readiness_loop.cpp): one epoll set on Linux, not
//     re-armed per message, that the loop blocks in directly with Asio's own
//     reactor inside it, or (a variant) that is waited on through Asio;
//   - Asio (net/asio_loop.cpp): a wait per socket through Asio's reactor, the
//     portable one (every platform without such a set).
// Connection code never asks which one runs. Asio's io_context stays the
// home of listeners, timers, signals and work posted by other threads.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace blynk::net {

// What waits in the loop (a connection).
class LoopMember {
public:
    // Its socket is ready: readable (also on hang-up or error: the next read
    // reports them) and/or writable.
    virtual void on_event(bool readable, bool writable) = 0;

protected:
    ~LoopMember() = default;
};

class EventLoop {
public:
    enum class Kind {
        Auto,             // the readiness set where the platform has one, else Asio
        Readiness,        // the set's own loop, Asio's reactor inside it (else as Auto)
        ReadinessInAsio,  // the set waited on through Asio (else Asio)
        Asio,             // a wait per socket through Asio
    };
    // Parses server.event_loop ("auto", "readiness", "readiness-in-asio", "asio").
    static bool parse_kind(const std::string& text, Kind& out);

    // A loop on `ioc` (run on one thread). `asio_members` are descriptors Asio
    // already watches (the listeners): through them the readiness set finds
    // Asio's reactor, so that one wait covers both.
    static std::unique_ptr<EventLoop> open(boost::asio::io_context& ioc, Kind kind,
                                           const std::vector<int>& asio_members);
    virtual ~EventLoop() = default;

    // What it is, for the log line "event loop: ...".
    virtual const char* description() const = 0;

    // `fd` joins, watched for reading. False on failure (the caller closes it).
    virtual bool add(int fd, LoopMember* member) = 0;
    // Changes what `fd` is watched for. False on failure.
    virtual bool watch(int fd, LoopMember* member, bool read, bool write) = 0;
    // `fd` leaves (before the caller closes it). Events already taken from the
    // system may still name its member in this turn: a member stays allocated
    // until work posted now has run.
    virtual void remove(int fd) = 0;

    // Queues `fn` on the loop's thread (any thread may call it).
    virtual void post(std::function<void()> fn) = 0;
    // Loop thread: runs `fn` after what is ready now.
    virtual void next_turn(std::function<void()> fn) = 0;
    virtual bool on_loop_thread() const = 0;

    // Called before a batch of events (the server ticks its clock) and after
    // it (output marked during the batch is flushed there, in one go).
    void set_turn_hooks(std::function<void()> begin, std::function<void()> end) {
        turn_begin_ = std::move(begin);
        turn_end_ = std::move(end);
    }
    // Whether events of a batch are being handled now (output is flushed at
    // the batch's end, no separate flush needs posting).
    bool in_turn() const { return in_turn_; }

    // Serves until stop() and until the io_context has no more work.
    virtual void run() = 0;
    // Loop thread: stops waiting for members (the io_context finishes what it has).
    virtual void stop() = 0;

protected:
    std::function<void()> turn_begin_, turn_end_;
    bool in_turn_ = false;
};

}  // namespace blynk::net
