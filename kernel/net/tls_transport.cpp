// TLS through OpenSSL, over the same readiness model as plain TCP: OpenSSL
// does the handshake, reading and writing the non-blocking socket itself. A
// TLS 1.3 or 1.2 AEAD connection then continues on our record layer
// (net/tls_record_transport.cpp) and the SSL object is freed. Others (CCM
// suites) stay here: decrypted bytes land in the loop's shared read area and
// OpenSSL's buffers are released while idle. (Asio's ssl::stream would add
// ~70 KB of buffers per connection.)
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>

#include "net/connection.hpp"
#include "net/server_context.hpp"
#include "net/tls.hpp"
#include "net/tls_records.hpp"
#include "net/transport.hpp"
#include "platform/readiness.hpp"

namespace blynk::net {

namespace {

std::string ssl_error() {
    unsigned long code = ERR_get_error();
    if (!code) return "connection reset";
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    return buf;
}

class TlsTransport final : public Transport {
public:
    TlsTransport(Connection& conn, SSL_CTX* ctx) : conn_(conn), ctx_(ctx) {}
    ~TlsTransport() override {
        if (ssl_) SSL_free(ssl_);
    }

    void start(Connection&) override {
        ssl_ = SSL_new(ctx_);
        if (!ssl_ || SSL_set_fd(ssl_, conn_.fd()) != 1) {
            spdlog::error("{}: cannot set up TLS: {}", conn_.peer(), ssl_error());
            conn_.close("TLS setup failed");
            return;
        }
        SSL_set_accept_state(ssl_);
        // The record layer does its own socket I/O after the handshake; it
        // takes over only after a start-up self-test passed on this OpenSSL
        // (tls_takeover.hpp).
        if (conn_.ctx().takeover.enabled()) tls_records_prepare(ssl_);
        handshake();
    }

    void flush(Connection&) override { flush(); }
    void flush() {
        std::string& out = conn_.out();
        if (conn_.writing || conn_.is_closed() || out.empty() || !ready_) return;
        while (!out.empty()) {
            // After a WANT_* the retry must repeat the same length.
            int len = retry_len_ ? retry_len_ : int(std::min<size_t>(out.size(), 1 << 20));
            ERR_clear_error();
            int n = SSL_write(ssl_, out.data(), len);
            if (n > 0) {
                retry_len_ = 0;
                out.erase(0, size_t(n));
                continue;
            }
            int e = SSL_get_error(ssl_, n);
            if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
                retry_len_ = len;
                conn_.writing = true;
                if (e == SSL_ERROR_WANT_READ) {
                    write_waits_read_ = true;  // the read path resumes the write
                    return;
                }
                update_interest();
                return;
            }
            conn_.close("TLS write failed: " + ssl_error());
            return;
        }
        conn_.drained();
        if (!conn_.is_closed()) update_interest();
    }

    void on_event(Connection&, bool readable, bool writable) override {
        if (!ready_) {
            handshake();
            return;
        }
        if (writable) {
            if (conn_.writing && !write_waits_read_) {
                conn_.writing = false;
                flush();
                if (conn_.is_closed()) return;
            }
            if (read_waits_write_) {
                read_waits_write_ = false;
                readable = true;
            }
        }
        if (readable && !read_waits_write_ && !conn_.read_paused) on_readable();
        if (!conn_.is_closed()) update_interest();
    }

    void resume_read(Connection&) override {
        update_interest();
        on_readable();  // OpenSSL may hold records the socket no longer reports
    }

    void goodbye(Connection&) override { goodbye(); }
    void goodbye() {
        if (ssl_ && ready_) {
            ERR_clear_error();
            SSL_shutdown(ssl_);  // best effort close_notify; never waits
        }
    }
    void shutdown_send(Connection&) override {
        goodbye();
        if (conn_.fd() >= 0) platform::socket_shutdown_send(conn_.fd());
    }

private:
    // Read interest unless a read waits for writability; write interest
    // while a write or a read waits for it.
    void update_interest() {
        conn_.set_interest(!read_waits_write_ && !conn_.read_paused,
                           (conn_.writing && !write_waits_read_) || read_waits_write_);
    }

    void handshake() {
        ERR_clear_error();
        int r = SSL_do_handshake(ssl_);
        if (r == 1) {
            ready_ = true;
            ++conn_.ctx().counters.tls_handshakes_ok;
            if (spdlog::should_log(spdlog::level::debug))
                spdlog::debug("{}: {} handshake done ({}, {})", conn_.peer(), SSL_get_version(ssl_),
                              SSL_CIPHER_get_name(SSL_get_current_cipher(ssl_)),
                              SSL_session_reused(ssl_) == 1 ? "resumed" : "full");
            // OpenSSL has written everything of the handshake (its session
            // tickets too) and read nothing past the client's Finished.
            std::unique_ptr<TlsRecords> records;
            if (conn_.ctx().takeover.allows(ssl_)) records = TlsRecords::take_over(ssl_);
            spdlog::debug("{}: TLS record layer: {}", conn_.peer(), records ? "kernel" : "OpenSSL");
            if (records) {
                ++conn_.ctx().counters.tls_takeovers;
                // This transport is retired (freed with its SSL object after
                // this event): nothing below may touch it.
                conn_.switch_transport(make_tls_record_transport(conn_, std::move(records))).start(conn_);
                return;
            }
            tls_records_release(ssl_);
            on_readable();  // the client may have sent its login with the handshake
            if (!conn_.is_closed()) update_interest();
            return;
        }
        int e = SSL_get_error(ssl_, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            conn_.set_interest(e == SSL_ERROR_WANT_READ, e == SSL_ERROR_WANT_WRITE);
        } else {
            ++conn_.ctx().counters.tls_handshakes_failed;
            spdlog::info("{}: TLS handshake failed: {}", conn_.peer(), ssl_error());
            conn_.close("TLS handshake failed");
        }
    }

    void on_readable() {
        ServerContext& ctx = conn_.ctx();
        ctx.tick_clock();
        auto& area = ctx.read_area;
        for (int round = 0; round < 16; ++round) {
            ERR_clear_error();
            int n = SSL_read(ssl_, area.data(), int(area.size()));
            if (n > 0) {
                conn_.process(area.data(), size_t(n));
                if (conn_.is_closed()) return;
                if (conn_.pause_for_quota()) {
                    resume_write();
                    if (!conn_.is_closed()) update_interest();  // no read interest until the sweep
                    return;
                }
                // What the socket still holds is reported next turn; only
                // what OpenSSL already buffered must be read now.
                if (!SSL_has_pending(ssl_)) {
                    resume_write();
                    return;
                }
                continue;
            }
            int e = SSL_get_error(ssl_, n);
            if (e == SSL_ERROR_WANT_READ) {
                resume_write();
                return;
            }
            if (e == SSL_ERROR_WANT_WRITE) {
                read_waits_write_ = true;
                update_interest();
                return;
            }
            if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
                // The peer's end may arrive with its last records: answer them first.
                flush();
                conn_.close("closed by peer");
                return;
            }
            conn_.close("TLS read failed: " + ssl_error());
            return;
        }
        // A busy peer: let other connections run, then continue with what
        // OpenSSL already holds (the loop would not report it).
        resume_write();
        Connection* c = &conn_;  // keeps this transport too: it is replaced only during the handshake
        c->begin_op();
        ctx.defer([this, c] {
            if (!c->is_closed()) on_readable();
            c->done_op();
        });
    }

    void resume_write() {
        if (!write_waits_read_) return;
        write_waits_read_ = false;
        conn_.writing = false;
        flush();
    }

    Connection& conn_;
    SSL_CTX* ctx_;
    SSL* ssl_ = nullptr;
    int retry_len_ = 0;
    bool ready_ = false;
    bool read_waits_write_ = false;
    bool write_waits_read_ = false;
};

}  // namespace

TransportPtr make_tls_transport(Connection& conn, SSL_CTX* ctx) {
    return TransportPtr(new TlsTransport(conn, ctx));
}

}  // namespace blynk::net
