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
    PlainTransport() : Transport(true) {}

    void start(Connection&) override {}

    void flush(Connection& c) override {
        std::string& out = c.out();
        if (c.writing || c.is_closed() || out.empty()) return;
        size_t n = c.send_socket(out.data(), out.size());
        if (c.is_closed()) return;
        out.erase(0, n);
        if (out.empty()) {
            c.drained();
            return;
        }
        c.writing = true;
        c.set_interest(!c.read_paused, true);  // until the peer reads
    }

    // One read per event: readiness is level-triggered, so what is left is
    // reported again next turn.
    void on_event(Connection& c, bool readable, bool writable) override {
        if (writable && c.writing) {
            c.writing = false;
            flush(c);
            if (c.is_closed()) return;
            if (!c.writing) c.set_interest(!c.read_paused, false);
        }
        if (!readable || c.is_closed()) return;
        size_t n = c.read_socket();
        if (n == 0) return;
        c.process(c.ctx().read_area.data(), n);
        // Over its message quota: no read interest until the next sweep.
        if (!c.is_closed() && c.pause_for_quota()) c.set_interest(false, c.writing);
    }

    void resume_read(Connection& c) override {
        c.set_interest(true, c.writing);  // level-triggered: what waits is reported next turn
    }
    void goodbye(Connection&) override {}
    void shutdown_send(Connection& c) override {
        if (c.fd() >= 0) platform::socket_shutdown_send(c.fd());
    }
};

}  // namespace

TransportPtr plain_transport() {
    static PlainTransport shared;
    return TransportPtr(&shared);
}

}  // namespace blynk::net
