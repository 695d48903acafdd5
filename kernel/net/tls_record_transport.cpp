// TLS on our record layer (TlsRecords): what a TLS 1.3 or 1.2 AEAD connection
// continues with once OpenSSL's handshake is done and its SSL object freed, so
// an idle connection keeps a few hundred bytes of keys instead of ~15 KB.
// The connection's output holds records ready to send (its first sealed_
// bytes), then the plaintext queued since, sealed when flushed.
#include <spdlog/spdlog.h>

#include "net/connection.hpp"
#include "net/tls_records.hpp"
#include "net/transport.hpp"
#include "platform/readiness.hpp"

namespace blynk::net {

namespace {

class TlsRecordTransport final : public Transport {
public:
    TlsRecordTransport(Connection& conn, std::unique_ptr<TlsRecords> records)
        : conn_(conn), records_(std::move(records)) {}

    // Continues the handshake's connection: the client may have sent its
    // login with its Finished.
    void start(Connection&) override {
        read_records();
        if (!conn_.is_closed()) update_interest();
    }

    void on_event(Connection&, bool readable, bool writable) override {
        if (writable && conn_.writing) {
            conn_.writing = false;
            flush();
            if (conn_.is_closed()) return;
        }
        // Back-pressure: while our records wait for the socket, the peer's
        // input waits in TCP, not in our memory (see update_interest).
        if (readable && !conn_.read_paused && !conn_.writing) read_records();
        if (!conn_.is_closed()) update_interest();
    }

    void flush(Connection&) override { flush(); }
    void flush() {
        std::string& out = conn_.out();
        if (conn_.writing || conn_.is_closed() || out.empty()) return;
        if (!seal_pending()) {
            end_records();
            return;
        }
        size_t n = conn_.send_socket(out.data(), out.size());
        if (conn_.is_closed()) return;
        out.erase(0, n);
        sealed_ -= n;
        if (out.empty()) {
            conn_.drained();
            if (!conn_.is_closed()) update_interest();
            return;
        }
        conn_.writing = true;
        update_interest();  // until the peer reads
    }

    void resume_read(Connection&) override {
        update_interest();
        read_records();
    }

    void goodbye(Connection&) override { goodbye(); }
    void goodbye() { send_close_notify(); }
    void shutdown_send(Connection&) override {
        send_close_notify();
        if (conn_.fd() >= 0) platform::socket_shutdown_send(conn_.fd());
    }

private:
    // Read interest unless reading is paused or records wait for the socket
    // to take them: a peer that does not read cannot make us read on and
    // answer into memory. Write interest while records wait.
    void update_interest() { conn_.set_interest(!conn_.read_paused && !conn_.writing, conn_.writing); }

    // One socket read per event, as a plain connection.
    void read_records() {
        size_t n = conn_.read_socket();
        if (n == 0) return;
        ServerContext& ctx = conn_.ctx();
        std::string& answer = ctx.tls_answer;
        answer.clear();
        auto status = records_->open(
            ctx.read_area.data(), n,
            [this](const char* p, size_t len) {
                if (!conn_.is_closed()) conn_.process(p, len);
            },
            answer);
        if (conn_.is_closed()) return;
        if (!answer.empty()) {
            // Sealed under the key of before this read (a KeyUpdate answer, an
            // alert): ahead of the plaintext queued meanwhile, which the next
            // seal puts under the new key. Counted in the pending-output limit
            // like everything else we queue.
            conn_.out().insert(sealed_, answer);
            sealed_ += answer.size();
            conn_.queued();
            if (conn_.is_closed()) return;
        }
        if (status == TlsRecords::Status::Closed) {
            flush();
            conn_.close("closed by peer");
            return;
        }
        if (status != TlsRecords::Status::Ok) {
            end_records();
            return;
        }
        if (conn_.pause_for_quota()) update_interest();  // no read interest until the sweep
    }

    // Seals the plaintext queued since the last seal. False when the record
    // layer refuses (it has failed): the plaintext it did not seal is
    // dropped, so the output never holds plaintext that could reach the socket.
    bool seal_pending() {
        std::string& out = conn_.out();
        if (sealed_ == out.size()) return true;
        std::string& sealed = conn_.ctx().seal_area;
        sealed.clear();
        bool ok = records_->seal(out.data() + sealed_, out.size() - sealed_, sealed);
        out.resize(sealed_);
        out += sealed;
        sealed_ = out.size();
        if (sealed.capacity() > kMaxPendingOutput) std::string().swap(sealed);
        return ok;
    }

    // The record layer has failed (a bad record, a fatal alert, a record it
    // would not seal): close; what it sealed (its fatal alert) goes out if the
    // socket takes it, and no close_notify follows.
    void end_records() {
        seal_pending();
        spdlog::info("{}: TLS: {}; closing", conn_.peer(), records_->error());
        conn_.close("TLS error: " + records_->error());
    }

    // Best effort, never waits: behind what is queued, if the socket takes it.
    // After a failure only what was sealed before (its fatal alert) goes.
    void send_close_notify() {
        std::string& out = conn_.out();
        if (seal_pending()) records_->close_notify(out);
        sealed_ = out.size();
        if (conn_.fd() < 0) return;
        int err = 0;
        long r = platform::socket_send(conn_.fd(), out.data(), out.size(), err);
        if (r > 0) {
            out.erase(0, size_t(r));
            sealed_ -= size_t(r);
        }
    }

    Connection& conn_;
    std::unique_ptr<TlsRecords> records_;
    size_t sealed_ = 0;
};

}  // namespace

TransportPtr make_tls_record_transport(Connection& conn, std::unique_ptr<TlsRecords> records) {
    return TransportPtr(new TlsRecordTransport(conn, std::move(records)));
}

}  // namespace blynk::net
