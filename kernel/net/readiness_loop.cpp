#include "net/readiness_loop.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <thread>

#include "platform/readiness.hpp"

namespace blynk::net {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

namespace {

// A readiness turn with this many ready members posts the next turn instead
// of re-arming the wait through Asio (more are likely ready by then).
constexpr size_t kBusyTurn = 8;

// Sockets wait in one level-triggered readiness set: no re-registration per
// message. Where the set can watch Asio's own reactor (Linux), the loop
// blocks in the set's wait and polls Asio only when its reactor or the
// notifier (work posted by other threads) is ready: one wait per wake-up, as
// a bare forwarder. Otherwise the set is waited on through Asio once per turn.
class ReadinessLoop final : public EventLoop {
public:
    ReadinessLoop(asio::io_context& ioc, std::unique_ptr<platform::ReadinessSet> set)
        : ioc_(ioc), set_(std::move(set)), events_(256) {}
    ~ReadinessLoop() override {
#if defined(BOOST_ASIO_HAS_POSIX_STREAM_DESCRIPTOR)
        if (wait_) wait_->release();  // the set closes its own descriptor
#endif
    }

    // False if the set cannot be waited on at all here.
    bool start(bool in_asio, const std::vector<int>& asio_members) {
        // Asio's reactor is the set that watches a listener (Asio registers a
        // socket with its reactor when it opens it).
        int reactor = -1;
        if (!in_asio)
            for (int fd : asio_members)
                if (reactor < 0) reactor = set_->find_set_watching(fd);
        if (reactor >= 0 && set_->add(reactor, &asio_tag_)) {
            if (set_->add_notifier(&notify_tag_)) {
                loop_thread_.store(std::this_thread::get_id(), std::memory_order_relaxed);
                own_loop_.store(true, std::memory_order_release);
                return true;
            }
            set_->remove(reactor);
        }
#if defined(BOOST_ASIO_HAS_POSIX_STREAM_DESCRIPTOR)
        wait_ = std::make_unique<asio::posix::stream_descriptor>(ioc_, set_->handle());
        arm();
        return true;
#else
        return false;
#endif
    }

    const char* description() const override {
        return own_loop_.load(std::memory_order_relaxed) || !wait_
                   ? "sockets wait in one readiness set, Asio's reactor inside it"
                   : "sockets wait in one readiness set, waited on through Asio";
    }

    bool add(int fd, LoopMember* m) override {
        return set_->add(fd, m);
    }
    bool watch(int fd, LoopMember* m, bool read, bool write) override {
        return set_->watch(fd, m, read, write);
    }
    void remove(int fd) override {
        set_->remove(fd);
    }

    // Everything the kernel posts goes through here, so the set's loop learns of it.
    void post(std::function<void()> fn) override {
        asio::post(ioc_, std::move(fn));
        if (!own_loop_.load(std::memory_order_acquire)) return;
        if (std::this_thread::get_id() == loop_thread_.load(std::memory_order_relaxed))
            asio_pending_ = true;
        else
            set_->notify();
    }
    // In the set's loop, at the end of its next turn; otherwise behind the
    // handlers Asio has queued.
    void next_turn(std::function<void()> fn) override {
        if (own_loop_.load(std::memory_order_relaxed))
            after_turn_.push_back(std::move(fn));
        else
            post(std::move(fn));
    }
    bool on_loop_thread() const override {
        return ioc_.get_executor().running_in_this_thread() ||
               std::this_thread::get_id() == loop_thread_.load(std::memory_order_relaxed);
    }

    void run() override {
        if (own_loop_) run_own_loop();
        ioc_.run();
    }
    void stop() override {
        stopping_ = true;
#if defined(BOOST_ASIO_HAS_POSIX_STREAM_DESCRIPTOR)
        error_code ec;
        if (wait_) wait_->cancel(ec);
#endif
    }

private:
    // One wait for every member, re-armed only when a turn found the set
    // idle: while members keep it busy, the next turn is posted (behind this
    // turn's output flush), which costs no re-registration and no extra
    // wake-up; Asio still polls its own reactor (accept, timers) between turns.
    void arm() {
#if defined(BOOST_ASIO_HAS_POSIX_STREAM_DESCRIPTOR)
        wait_->async_wait(asio::posix::descriptor_base::wait_read, [this](const error_code& e) {
            if (e || stopping_) return;
            asio_turn();
        });
#endif
    }

    void asio_turn() {
        // The turn's output goes out at its end, in this handler: a posted flush
        // would cost the loop another (non-blocking) poll of the reactor per turn.
        size_t n = deliver(set_->poll(events_.data(), events_.size()));
        if (n < kBusyTurn) {
            arm();
            return;
        }
        post([this] {
            if (!stopping_) asio_turn();
        });
    }

    // The set's own loop: one blocking wait per wake-up; Asio runs (accept,
    // timers, signals, posted work) when its reactor or the notifier is among
    // the ready members, or when this turn queued work on it. Work queued in a
    // way that reaches neither still runs by the next timer (the server's
    // sweep, every 250 ms). Ends when the loop stops; Asio then finishes on its own.
    void run_own_loop() {
        asio_pending_ = true;  // what was queued before the loop started
        while (!stopping_) {
            bool more = asio_pending_ || !after_turn_.empty();
            size_t n = set_->wait(events_.data(), events_.size(), more ? 0 : -1);
            deliver(n, true);
            if (asio_pending_) {
                ioc_.poll();
                asio_pending_ = false;  // the poll ran what its handlers queued
                if (ioc_.stopped()) break;
            }
        }
        own_loop_.store(false, std::memory_order_release);
    }

    // Every ready member of this turn, one event each, then (own loop) the
    // work waiting for the turn's end, then the turn's end hook (the flush).
    // A member closed by an earlier event of the same batch is still allocated
    // (its deletion is posted, so it runs after this turn); a closed member's
    // socket has left the set, so no later batch names it.
    size_t deliver(size_t n, bool run_after_turn = false) {
        in_turn_ = true;
        if (n && turn_begin_) turn_begin_();
#if defined(__GNUC__)
        // With many connections each member is a cache miss: start the loads
        // of all of them before the first is served.
        for (size_t i = 0; i < n; ++i)
            __builtin_prefetch(events_[i].tag);
#endif
        for (size_t i = 0; i < n; ++i) {
            auto& ev = events_[i];
            if (ev.tag == &asio_tag_ || ev.tag == &notify_tag_) {
                if (ev.tag == &notify_tag_) set_->drain_notifier();
                asio_pending_ = true;
                continue;
            }
            static_cast<LoopMember*>(ev.tag)->on_event(ev.readable, ev.writable);
        }
        if (run_after_turn && !after_turn_.empty()) {
            auto work = std::move(after_turn_);
            after_turn_.clear();
            for (auto& fn : work)
                fn();
        }
        in_turn_ = false;
        if (turn_end_) turn_end_();
        return n;
    }

    asio::io_context& ioc_;
    std::unique_ptr<platform::ReadinessSet> set_;
    std::vector<platform::ReadinessSet::Event> events_;
#if defined(BOOST_ASIO_HAS_POSIX_STREAM_DESCRIPTOR)
    std::unique_ptr<asio::posix::stream_descriptor> wait_;
#else
    std::unique_ptr<int> wait_;  // never set: there is no way to wait on the set through Asio
#endif
    // Written before other threads can see the loop.
    std::atomic<bool> own_loop_{false};
    std::atomic<std::thread::id> loop_thread_{};
    // Work queued on Asio from the loop's thread outside Asio (a turn): Asio
    // is polled at the turn's end (its reactor is not woken for it).
    bool asio_pending_ = false;
    bool stopping_ = false;
    // Work that waits for the next turn, so that what is ready meanwhile runs first.
    std::vector<std::function<void()>> after_turn_;
    // Tags of the set's members that are not connections.
    static inline char asio_tag_ = 0, notify_tag_ = 0;
};

}  // namespace

std::unique_ptr<EventLoop> open_readiness_loop(asio::io_context& ioc, bool in_asio,
                                               const std::vector<int>& asio_members) {
    auto set = platform::ReadinessSet::open();
    if (!set) return nullptr;
    auto loop = std::make_unique<ReadinessLoop>(ioc, std::move(set));
    if (!loop->start(in_asio, asio_members)) return nullptr;
    return loop;
}

}  // namespace blynk::net
