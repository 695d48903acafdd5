#include "net/tls_takeover_selftest.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <memory>
#include <string_view>

#include "net/memory_bio.hpp"
#include "net/tls_records.hpp"

namespace blynk::net {

namespace {

// A handshake in memory takes 2-3 flights; more rounds mean it is stuck.
constexpr int kMaxRounds = 16;

// What each side sends after the take-over: distinct, and longer than a
// block so that a wrong key stream could not pass by chance.
constexpr std::string_view kClientFirst = "blynkd take-over self-test: the client's first record, with its Finished";
constexpr std::string_view kServerFirst = "blynkd take-over self-test: the server's first record after the take-over";
constexpr std::string_view kClientNext = "blynkd take-over self-test: the client's next record, after the server's";

struct CtxFree {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SessionFree {
    void operator()(SSL_SESSION* s) const { SSL_SESSION_free(s); }
};
using ClientCtx = std::unique_ptr<SSL_CTX, CtxFree>;
using Session = std::unique_ptr<SSL_SESSION, SessionFree>;

enum class How { Full, FullNoTicket, ResumedByTicket, ResumedById };

std::string describe(int version, const SSL_CIPHER* cipher, How how) {
    static const char* const kHow[] = {"full handshake", "full handshake without ticket", "resumed by ticket",
                                       "resumed by session ID"};
    std::string s = version == TLS1_3_VERSION ? "TLS 1.3 " : "TLS 1.2 ";
    s += SSL_CIPHER_get_name(cipher);
    s += ", ";
    if (version == TLS1_3_VERSION && how == How::ResumedByTicket)
        s += "resumed";
    else
        s += kHow[int(how)];
    return s;
}

// The reason of OpenSSL's last error, or `fallback` (never key material).
std::string openssl_reason(const char* fallback) {
    unsigned long e = ERR_peek_last_error();
    const char* r = e ? ERR_reason_error_string(e) : nullptr;
    return r ? r : fallback;
}

void move(BIO* from, BIO* to) {
    std::string s = drain_bio(from);
    if (!s.empty()) BIO_write(to, s.data(), int(s.size()));
}

// An OpenSSL client context: tickets on unless `no_ticket`, no certificate
// check (it talks to us). Each client SSL then offers one version and suite.
ClientCtx client_context(bool no_ticket) {
    ClientCtx c(SSL_CTX_new(TLS_client_method()));
    if (!c) return nullptr;
    SSL_CTX_set_verify(c.get(), SSL_VERIFY_NONE, nullptr);
    if (no_ticket) SSL_CTX_set_options(c.get(), SSL_OP_NO_TICKET);
    return c;
}

bool offer_only(SSL* client, int version, const SSL_CIPHER* cipher) {
    bool ok = SSL_set_min_proto_version(client, version) == 1 && SSL_set_max_proto_version(client, version) == 1;
    if (version == TLS1_3_VERSION) return ok && SSL_set_ciphersuites(client, SSL_CIPHER_get_name(cipher)) == 1;
    return ok && SSL_set_cipher_list(client, SSL_CIPHER_get_name(cipher)) == 1;
}

// One connection in memory: an OpenSSL client and a server SSL of the
// server's context, prepared for the take-over as the device port does.
class Loopback {
public:
    Loopback(SSL_CTX* server_ctx, SSL_CTX* client_ctx, int version, const SSL_CIPHER* cipher, SSL_SESSION* resume) {
        server_ = SSL_new(server_ctx);
        client_ = client_ctx ? SSL_new(client_ctx) : nullptr;
        if (!server_ || !client_ || !offer_only(client_, version, cipher)) return;
        s_in_ = BIO_new(BIO_s_mem());
        BIO* s_out = BIO_new(BIO_s_mem());
        c_in_ = BIO_new(BIO_s_mem());
        BIO* c_out = BIO_new(BIO_s_mem());
        SSL_set_bio(server_, s_in_, s_out);
        SSL_set_bio(client_, c_in_, c_out);
        if (!s_in_ || !s_out || !c_in_ || !c_out) return;
        s_out_ = s_out;
        c_out_ = c_out;
        BIO_set_mem_eof_return(s_in_, -1);
        BIO_set_mem_eof_return(c_in_, -1);
        SSL_set_accept_state(server_);
        SSL_set_connect_state(client_);
        if (resume) SSL_set_session(client_, resume);
        tls_records_prepare(server_);
        ready_ = true;
    }
    ~Loopback() {
        // Freed without this, the client would make its session unresumable
        // (as after an unclean close) before the resumed handshake uses it.
        if (client_) SSL_set_shutdown(client_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        SSL_free(client_);
        SSL_free(server_);
    }
    Loopback(const Loopback&) = delete;
    Loopback& operator=(const Loopback&) = delete;

    // Both handshakes; the client writes kClientFirst as soon as its own is
    // done, as a device sends its login, so that it arrives with (TLS 1.3,
    // resumed 1.2) or right after its Finished. "" or why it failed.
    std::string handshake() {
        if (!ready_) return "cannot set up a connection in memory";
        bool c_done = false, s_done = false;
        for (int i = 0; i < kMaxRounds && !(c_done && s_done); ++i) {
            if (!c_done) {
                int r = SSL_do_handshake(client_);
                if (r == 1) {
                    c_done = true;
                    if (SSL_write(client_, kClientFirst.data(), int(kClientFirst.size())) != int(kClientFirst.size()))
                        return "the client cannot write: " + openssl_reason("unknown error");
                } else if (SSL_get_error(client_, r) != SSL_ERROR_WANT_READ) {
                    return "the client's handshake failed: " + openssl_reason("unknown error");
                }
            }
            move(c_out_, s_in_);
            if (!s_done) {
                int r = SSL_do_handshake(server_);
                if (r == 1)
                    s_done = true;
                else if (SSL_get_error(server_, r) != SSL_ERROR_WANT_READ)
                    return "the server's handshake failed: " + openssl_reason("unknown error");
            }
            // Everything OpenSSL wrote (TLS 1.3: its session tickets too)
            // reaches the client before our first record, as on a socket.
            move(s_out_, c_in_);
        }
        move(c_out_, s_in_);
        return c_done && s_done ? "" : "the handshake did not finish";
    }

    bool resumed() const { return SSL_session_reused(server_) == 1; }
    SSL* server() const { return server_; }

    // After handshake(): the take-over, then records both ways. Sets
    // `taken_over`; returns "" or why a record did not pass.
    std::string exchange(bool& taken_over) {
        records_ = TlsRecords::take_over(server_);
        taken_over = records_ != nullptr;
        if (!records_) return "";
        // What OpenSSL left unread: the client's first record.
        std::string wire = drain_bio(s_in_);
        std::string got, out;
        auto status = records_->open(
            wire.data(), wire.size(), [&](const char* p, size_t n) { got.append(p, n); }, out);
        if (status != TlsRecords::Status::Ok)
            return "we could not open the client's first record (" + records_->error() + ")";
        if (got != kClientFirst) return "the client's first record opened to other bytes than it sent";

        out.clear();
        records_->seal(kServerFirst.data(), kServerFirst.size(), out);
        BIO_write(c_in_, out.data(), int(out.size()));
        std::string read;
        char buf[256];
        while (read.size() < kServerFirst.size()) {
            int n = SSL_read(client_, buf, sizeof buf);
            if (n <= 0) {
                int e = SSL_get_error(client_, n);
                return e == SSL_ERROR_WANT_READ ? "the OpenSSL client did not get our first record"
                                                : "the OpenSSL client could not decrypt our first record (" +
                                                      openssl_reason("unknown error") + ")";
            }
            read.append(buf, size_t(n));
        }
        if (read != kServerFirst) return "the OpenSSL client decrypted our first record to other bytes than we sealed";

        if (SSL_write(client_, kClientNext.data(), int(kClientNext.size())) != int(kClientNext.size()))
            return "the client cannot write its next record: " + openssl_reason("unknown error");
        wire = drain_bio(c_out_);
        got.clear();
        out.clear();
        status = records_->open(
            wire.data(), wire.size(), [&](const char* p, size_t n) { got.append(p, n); }, out);
        if (status != TlsRecords::Status::Ok)
            return "we could not open the client's next record (" + records_->error() + ")";
        if (got != kClientNext) return "the client's next record opened to other bytes than it sent";
        return "";
    }

    // The client's session to resume (TLS 1.3: from a ticket it has read), or null.
    Session client_session() const {
        Session s(SSL_get1_session(client_));
        if (s && SSL_SESSION_is_resumable(s.get()) != 1) s.reset();
        return s;
    }

private:
    SSL* server_ = nullptr;
    SSL* client_ = nullptr;
    BIO* s_in_ = nullptr;  // owned by server_, as the three others
    BIO* s_out_ = nullptr;
    BIO* c_in_ = nullptr;
    BIO* c_out_ = nullptr;
    bool ready_ = false;
    std::unique_ptr<TlsRecords> records_;
};

class Run {
public:
    Run(SSL_CTX* ctx, TakeoverSelfTest& result)
        : ctx_(ctx), result_(result), with_tickets_(client_context(false)), without_(client_context(true)) {}
    ~Run() {
        // The sessions of the self-test leave the server's cache (a no-op for
        // stateless TLS 1.3 tickets): no device can resume them.
        for (auto& s : server_sessions_)
            SSL_CTX_remove_session(ctx_, s.get());
    }

    // One suite of one version: a full handshake with tickets; for the first
    // suite of a version also its resumption (TLS 1.2: and a full handshake
    // without ticket, resumed by session ID). The records OpenSSL writes and
    // reads around a handshake do not depend on the suite, only the keys and
    // nonces do: so each suite is proven once, each resumption once per
    // version. False after a failure (the self-test stops there).
    bool suite(int version, const SSL_CIPHER* cipher, bool first_of_version) {
        Session session;
        if (!one(version, cipher, How::Full, nullptr, first_of_version ? &session : nullptr)) return false;
        if (!first_of_version) return true;
        if (!resume(version, cipher, How::ResumedByTicket, session)) return false;
        if (version == TLS1_3_VERSION) return true;
        session.reset();
        return one(version, cipher, How::FullNoTicket, nullptr, &session) &&
               resume(version, cipher, How::ResumedById, session);
    }

private:
    bool resume(int version, const SSL_CIPHER* cipher, How how, const Session& session) {
        if (session) return one(version, cipher, how, session.get(), nullptr);
        result_.skipped.push_back(describe(version, cipher, how) + ": no session to resume" +
                                  (version == TLS1_3_VERSION ? " (no ticket sent)" : ""));
        return true;
    }

    // One connection; `session` (if given) receives the client's session
    // after a take-over that passed.
    bool one(int version, const SSL_CIPHER* cipher, How how, SSL_SESSION* resume, Session* session) {
        std::string what = describe(version, cipher, how);
        bool no_ticket = how == How::FullNoTicket || how == How::ResumedById;
        Loopback c(ctx_, (no_ticket ? without_ : with_tickets_).get(), version, cipher, resume);
        ++result_.handshakes;
        std::string why = c.handshake();
        if (c.server()) {
            if (SSL_SESSION* s = SSL_get1_session(c.server())) server_sessions_.emplace_back(s);
        }
        if (!why.empty()) {
            result_.skipped.push_back(what + ": " + why);
            return true;
        }
        if (c.resumed() != (resume != nullptr)) {
            result_.skipped.push_back(what + (resume ? ": the session was not resumed" : ": unexpectedly resumed"));
            return true;
        }
        const SSL_CIPHER* negotiated = SSL_get_current_cipher(c.server());
        if (!negotiated || SSL_CIPHER_get_protocol_id(negotiated) != SSL_CIPHER_get_protocol_id(cipher) ||
            SSL_version(c.server()) != version) {
            result_.skipped.push_back(what + ": another version or suite was negotiated");
            return true;
        }
        bool taken_over = false;
        why = c.exchange(taken_over);
        if (!why.empty()) {
            result_.failure = what + ": " + why;
            return false;
        }
        if (!taken_over) {
            result_.skipped.push_back(what + ": take-over refused");
            return true;
        }
        TakeoverVariant v{version, SSL_CIPHER_get_protocol_id(cipher), resume != nullptr};
        bool known = false;
        for (auto& k : result_.verified)
            known = known || k == v;
        if (!known) result_.verified.push_back(v);
        if (session) *session = c.client_session();
        return true;
    }

    SSL_CTX* ctx_;
    TakeoverSelfTest& result_;
    ClientCtx with_tickets_, without_;
    std::vector<Session> server_sessions_;
};

bool version_allowed(SSL_CTX* ctx, int version) {
    long min = SSL_CTX_get_min_proto_version(ctx), max = SSL_CTX_get_max_proto_version(ctx);
    return (min == 0 || min <= version) && (max == 0 || max >= version);
}

// The TLS 1.2 suites a certificate can serve: RSA keys the ECDHE-RSA ones,
// EC and EdDSA keys the ECDHE-ECDSA ones.
int auth_of_key(SSL_CTX* ctx) {
    EVP_PKEY* key = SSL_CTX_get0_privatekey(ctx);
    if (!key) return NID_undef;
    return EVP_PKEY_is_a(key, "RSA") ? NID_auth_rsa : NID_auth_ecdsa;
}

}  // namespace

// The configured context, not an ephemeral one: what decides the records
// around a handshake (ticket count, options, versions, suites, certificate
// type) is its configuration, so that is what must be proven; it costs no key
// generation at start, and the server always has a certificate (generated at
// first start when none is configured).
TakeoverSelfTest run_takeover_selftest(SSL_CTX* server_ctx) {
    TakeoverSelfTest result;
    ERR_clear_error();
    tls_records_prepare_context(server_ctx);
    {
        Run run(server_ctx, result);
        STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(server_ctx);
        int auth = auth_of_key(server_ctx);
        bool ok = true;
        for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
            if (!version_allowed(server_ctx, version)) continue;
            bool first = true;
            for (int i = 0; ok && i < sk_SSL_CIPHER_num(ciphers); ++i) {
                const SSL_CIPHER* c = sk_SSL_CIPHER_value(ciphers, i);
                // A TLS 1.3 suite is of TLS 1.3 only; any other runs on 1.2.
                bool is13 = std::string_view(SSL_CIPHER_get_version(c)) == "TLSv1.3";
                if (version == TLS1_3_VERSION ? !is13 : is13 || SSL_CIPHER_get_auth_nid(c) != auth) continue;
                size_t proven = result.verified.size();
                ok = run.suite(version, c, first);
                if (result.verified.size() > proven) first = false;
            }
        }
        result.passed = ok;
    }
    if (result.passed && result.verified.empty()) {
        result.passed = false;
        result.failure = "no connection could be taken over";
        if (!result.skipped.empty()) result.failure += " (" + result.skipped.front() + ")";
    }
    if (!result.passed) result.verified.clear();
    ERR_clear_error();
    return result;
}

}  // namespace blynk::net
