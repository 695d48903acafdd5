// Plain TCP: read when the loop reports the socket readable, one read per
// event into the loop's shared area; write without waiting while the socket
// accepts it, and wait for writability only when it does not.
#include "net/connection.hpp"
#include "net/transport.hpp"
#include "platform/readiness.hpp"

namespace blynk::net {

namespace {

class PlainTransport final : public Transport {
public:
    explicit PlainTransport(Connection& conn) : Transport(conn) {}

    void start() override {}

    void flush() override {
        std::string& out = conn_.out();
        if (conn_.writing || conn_.is_closed() || out.empty()) return;
        size_t n = conn_.send_socket(out.data(), out.size());
        if (conn_.is_closed()) return;
        out.erase(0, n);
        if (out.empty()) {
            conn_.drained();
            return;
        }
        conn_.writing = true;
        conn_.set_interest(!conn_.read_paused, true);  // until the peer reads
    }

    // One read per event: readiness is level-triggered, so what is left is
    // reported again next turn.
    void on_event(bool readable, bool writable) override {
        if (writable && conn_.writing) {
            conn_.writing = false;
            flush();
            if (conn_.is_closed()) return;
            if (!conn_.writing) conn_.set_interest(!conn_.read_paused, false);
        }
        if (!readable || conn_.is_closed()) return;
        size_t n = conn_.read_socket();
        if (n == 0) return;
        conn_.process(conn_.ctx().read_area.data(), n);
        // Over its message quota: no read interest until the next sweep.
        if (!conn_.is_closed() && conn_.pause_for_quota()) conn_.set_interest(false, conn_.writing);
    }

    void resume_read() override {
        conn_.set_interest(true, conn_.writing);  // level-triggered: what waits is reported next turn
    }
    void goodbye() override {}
    void shutdown_send() override {
        if (conn_.fd() >= 0) platform::socket_shutdown_send(conn_.fd());
    }
};

}  // namespace

std::unique_ptr<Transport> make_plain_transport(Connection& conn) {
    return std::make_unique<PlainTransport>(conn);
}

}  // namespace blynk::net
