#include "net/asio_loop.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

#include <unordered_map>

#include "platform/readiness.hpp"

namespace blynk::net {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

namespace {

// A wait per socket through Asio's reactor. Asio completes a wait on an edge
// (new data, new room), so after every event the socket's state is asked
// once more (socket_poll): still ready means the event is delivered again
// behind the work queued meanwhile, as a level-triggered set would report it.
class AsioLoop final : public EventLoop {
public:
    explicit AsioLoop(asio::io_context& ioc) : ioc_(ioc) {}
    ~AsioLoop() override {
        for (auto& [fd, m] : members_)
            release(*m);
    }

    const char* description() const override { return "every socket waits through Asio"; }

    bool add(int fd, LoopMember* member) override {
        auto m = std::make_shared<Member>(ioc_, fd, member);
        error_code ec;
        // The protocol only names the descriptor's family to Asio; waits do not depend on it.
        m->sock.assign(asio::ip::tcp::v6(), asio::ip::tcp::socket::native_handle_type(fd), ec);
        if (ec) return false;
        members_[fd] = m;
        m->read = true;
        arm(m);
        return true;
    }
    bool watch(int fd, LoopMember*, bool read, bool write) override {
        auto it = members_.find(fd);
        if (it == members_.end()) return false;
        auto& m = it->second;
        m->read = read;
        m->write = write;
        arm(m);
        return true;
    }
    void remove(int fd) override {
        auto it = members_.find(fd);
        if (it == members_.end()) return;
        release(*it->second);
        members_.erase(it);
    }

    void post(std::function<void()> fn) override { asio::post(ioc_, std::move(fn)); }
    void next_turn(std::function<void()> fn) override { asio::post(ioc_, std::move(fn)); }
    bool on_loop_thread() const override { return ioc_.get_executor().running_in_this_thread(); }
    void run() override { ioc_.run(); }
    void stop() override {
        for (auto& [fd, m] : members_)
            release(*m);
        members_.clear();
    }

private:
    struct Member {
        Member(asio::io_context& ioc, int f, LoopMember* t) : sock(ioc), fd(f), target(t) {}
        asio::ip::tcp::socket sock;  // the descriptor is the caller's: released, never closed here
        int fd;
        LoopMember* target;
        bool read = false, write = false;              // what the member waits for
        bool read_armed = false, write_armed = false;  // a wait (or a re-delivery) is queued
        bool gone = false;
    };

    // Leaves Asio's reactor without closing the descriptor; queued waits end
    // (operation_aborted) and see `gone`.
    static void release(Member& m) {
        m.gone = true;
        error_code ec;
        m.sock.cancel(ec);
        m.sock.release(ec);
    }

    void arm(const std::shared_ptr<Member>& m) {
        if (m->read && !m->read_armed) {
            m->read_armed = true;
            m->sock.async_wait(asio::socket_base::wait_read, [this, m](const error_code& e) {
                m->read_armed = false;
                if (!e) ready(m, true, false);
            });
        }
        if (m->write && !m->write_armed) {
            m->write_armed = true;
            m->sock.async_wait(asio::socket_base::wait_write, [this, m](const error_code& e) {
                m->write_armed = false;
                if (!e) ready(m, false, true);
            });
        }
    }

    void ready(const std::shared_ptr<Member>& m, bool readable, bool writable) {
        if (m->gone) return;
        readable = readable && m->read;
        writable = writable && m->write;
        if (!readable && !writable) return;
        if (turn_begin_) turn_begin_();
        m->target->on_event(readable, writable);
        if (m->gone) return;
        // Still ready for what it waits for: deliver again after what is queued.
        bool still_readable = false, still_writable = false;
        if ((m->read && !m->read_armed) || (m->write && !m->write_armed))
            platform::socket_poll(m->fd, still_readable, still_writable);
        still_readable = still_readable && m->read && !m->read_armed;
        still_writable = still_writable && m->write && !m->write_armed;
        if (still_readable) m->read_armed = true;
        if (still_writable) m->write_armed = true;
        if (still_readable || still_writable)
            asio::post(ioc_, [this, m, still_readable, still_writable] {
                if (still_readable) m->read_armed = false;
                if (still_writable) m->write_armed = false;
                ready(m, still_readable, still_writable);
                if (!m->gone) arm(m);
            });
        arm(m);
    }

    asio::io_context& ioc_;
    std::unordered_map<int, std::shared_ptr<Member>> members_;
};

}  // namespace

std::unique_ptr<EventLoop> open_asio_loop(asio::io_context& ioc) {
    return std::make_unique<AsioLoop>(ioc);
}

}  // namespace blynk::net
