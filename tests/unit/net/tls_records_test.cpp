// The TLS record layer (kernel/net/tls_records.hpp) against a real OpenSSL
// client: a client SSL and a server SSL joined by memory BIOs, the server
// handshake by OpenSSL (prepared with tls_records_prepare), then take_over;
// the client then talks to our record layer. TLS 1.3 (every suite) and TLS
// 1.2 (every suite the server allows, EC and RSA certificates; full
// handshake, session-ID and ticket resumption, a refused renegotiation).
// Also records crafted by a second TlsRecords keyed with the swapped secrets
// or keys (for_test).
#include "net/tls_records.hpp"
#include "net/memory_bio.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <tuple>
#include <vector>

#include "tls_test_support.hpp"

namespace {

using blynk::net::TlsRecords;
using Status = TlsRecords::Status;
using Suite = TlsRecords::Suite;
using Version = TlsRecords::Version;

// A self-signed EC P-256 (or RSA 2048) certificate, made once.
struct Identity {
    EVP_PKEY* key = nullptr;
    X509* cert = nullptr;
    explicit Identity(bool rsa = false) {
        key = rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
        cert = blynk::net::test::self_signed_cert(key);
    }
    ~Identity() {
        X509_free(cert);
        EVP_PKEY_free(key);
    }
};

const Identity& identity(bool rsa = false) {
    static Identity ec;
    if (!rsa) return ec;
    static Identity r(true);
    return r;
}

// The client's view of the traffic secrets (its own keylog), to check that no
// error text holds them.
std::vector<std::string> g_client_keylog;

void client_keylog(const SSL*, const char* line) {
    g_client_keylog.emplace_back(line);
}

struct Options {
    const char* suite = nullptr;    // client TLS 1.3 ciphersuites, or the default list
    int tickets = -1;               // server SSL_CTX_set_num_tickets, or OpenSSL's default (2)
    int client_max = 0;             // client max protocol version
    const char* cipher = nullptr;   // client TLS 1.2 cipher list (then TLS 1.2 at most)
    bool rsa = false;               // the server's certificate is RSA, not EC
    bool client_no_ticket = false;  // the client asks for no ticket (TLS 1.2: session-ID resumption)
    uint8_t mfl = 0;                // the client's max_fragment_length (TLSEXT_max_fragment_length_*)
};

// The record layer's unit tests read BIOs as the take-over self-test does.
using blynk::net::drain_bio;
std::string drain(BIO* b) {
    return drain_bio(b);
}

// A client SSL and a server SSL over memory BIOs; after handshake(), either
// `records` continues the server side or (TLS 1.2) the server SSL does.
struct Pair {
    SSL_CTX* sctx = nullptr;
    SSL_CTX* cctx = nullptr;
    SSL* server = nullptr;
    SSL* client = nullptr;
    BIO* s_in = nullptr;   // what the server reads (owned by server)
    BIO* s_out = nullptr;  // what the server wrote
    BIO* c_in = nullptr;
    BIO* c_out = nullptr;
    std::unique_ptr<TlsRecords> records;
    std::string early;  // bytes the server SSL left in its input after the handshake

    explicit Pair(const Options& o = {}) {
        make_contexts(o);
        make_ssls();
    }
    // A second connection on the contexts of `first`, resuming `session` (if any).
    Pair(const Pair& first, SSL_SESSION* session) {
        g_client_keylog.clear();
        sctx = first.sctx;
        cctx = first.cctx;
        SSL_CTX_up_ref(sctx);
        SSL_CTX_up_ref(cctx);
        make_ssls();
        if (session) SSL_set_session(client, session);
    }
    void make_contexts(const Options& o) {
        g_client_keylog.clear();
        sctx = SSL_CTX_new(TLS_server_method());
        // As kernel/net/tls.cpp configure_context does.
        SSL_CTX_set_min_proto_version(sctx, TLS1_2_VERSION);
        SSL_CTX_set_options(sctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
        SSL_CTX_set_cipher_list(sctx, "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL");
        SSL_CTX_set_mode(sctx, SSL_MODE_RELEASE_BUFFERS);
        SSL_CTX_set_read_ahead(sctx, 1);
        SSL_CTX_use_certificate(sctx, identity(o.rsa).cert);
        SSL_CTX_use_PrivateKey(sctx, identity(o.rsa).key);
        if (o.tickets >= 0) SSL_CTX_set_num_tickets(sctx, size_t(o.tickets));
        blynk::net::tls_records_prepare_context(sctx);

        cctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, nullptr);
        SSL_CTX_set_keylog_callback(cctx, client_keylog);
        if (o.suite) SSL_CTX_set_ciphersuites(cctx, o.suite);
        if (o.client_max) SSL_CTX_set_max_proto_version(cctx, o.client_max);
        if (o.cipher) {
            SSL_CTX_set_max_proto_version(cctx, TLS1_2_VERSION);
            SSL_CTX_set_cipher_list(cctx, o.cipher);
        }
        if (o.client_no_ticket) SSL_CTX_set_options(cctx, SSL_OP_NO_TICKET);
        if (o.mfl) SSL_CTX_set_tlsext_max_fragment_length(cctx, o.mfl);
    }
    void make_ssls() {
        server = SSL_new(sctx);
        client = SSL_new(cctx);
        s_in = BIO_new(BIO_s_mem());
        s_out = BIO_new(BIO_s_mem());
        c_in = BIO_new(BIO_s_mem());
        c_out = BIO_new(BIO_s_mem());
        BIO_set_mem_eof_return(s_in, -1);
        BIO_set_mem_eof_return(c_in, -1);
        SSL_set_bio(server, s_in, s_out);
        SSL_set_bio(client, c_in, c_out);
        SSL_set_accept_state(server);
        SSL_set_connect_state(client);
        blynk::net::tls_records_prepare(server);
    }
    ~Pair() {
        SSL_free(client);
        if (server) SSL_free(server);
        SSL_CTX_free(cctx);
        SSL_CTX_free(sctx);
    }

    // Moves everything between the SSLs until both handshakes are done.
    // `client_first` is written by the client as soon as its handshake is done
    // (before the server read its Finished): it must stay unread by OpenSSL.
    void handshake(const std::string& client_first = "") {
        bool c_done = false, s_done = false;
        for (int i = 0; i < 20 && !(c_done && s_done); ++i) {
            if (!c_done && SSL_do_handshake(client) == 1) {
                c_done = true;
                if (!client_first.empty()) {
                    ASSERT_EQ(SSL_write(client, client_first.data(), int(client_first.size())),
                              int(client_first.size()));
                }
            }
            std::string c2s = drain(c_out);
            BIO_write(s_in, c2s.data(), int(c2s.size()));
            if (!s_done && SSL_do_handshake(server) == 1) s_done = true;
            std::string s2c = drain(s_out);
            if (!s_done || SSL_version(server) != TLS1_3_VERSION)
                BIO_write(c_in, s2c.data(), int(s2c.size()));
            else
                to_client_ = s2c;  // tickets: sent once we know who continues
        }
        ASSERT_TRUE(c_done && s_done);
    }
    // handshake(), then take_over; on success the server SSL is freed and its
    // pending output (session tickets) goes to the client.
    void take_over(const std::string& client_first = "") {
        handshake(client_first);
        records = TlsRecords::take_over(server);
        BIO_write(c_in, to_client_.data(), int(to_client_.size()));
        to_client_.clear();
        if (records) {
            early = drain(s_in);
            SSL_free(server);
            server = nullptr;
        }
    }

    // The client sends `data`; returns its ciphertext.
    std::string client_write(const std::string& data) {
        if (!data.empty()) {
            EXPECT_EQ(SSL_write(client, data.data(), int(data.size())), int(data.size()));
        }
        return drain(c_out);
    }
    // Feeds ciphertext to our record layer in pieces of `piece` bytes (0: all at
    // once); the plaintext delivered is appended to `plain`, replies go to the client.
    Status server_open(std::string wire, std::string& plain, size_t piece = 0) {
        std::string out;
        Status st = Status::Ok;
        auto sink = [&](const char* p, size_t n) { plain.append(p, n); };
        if (!piece) piece = wire.size() ? wire.size() : 1;
        for (size_t at = 0; at < wire.size(); at += piece) {
            size_t n = std::min(piece, wire.size() - at);
            st = records->open(&wire[at], n, sink, out);
        }
        if (wire.empty()) st = records->open(nullptr, 0, sink, out);
        BIO_write(c_in, out.data(), int(out.size()));
        return st;
    }
    // Our record layer sends `data` (seal) to the client.
    void server_send(const std::string& data) {
        std::string out;
        records->seal(data.data(), data.size(), out);
        BIO_write(c_in, out.data(), int(out.size()));
    }
    // What the client reads until it would block: the bytes, and the last
    // SSL_read result / SSL_get_error.
    std::string client_read(int* last = nullptr, int* err = nullptr) {
        std::string s;
        char buf[16384];
        for (;;) {
            int n = SSL_read(client, buf, sizeof buf);
            if (n > 0) {
                s.append(buf, size_t(n));
                continue;
            }
            if (last) *last = n;
            if (err) *err = SSL_get_error(client, n);
            break;
        }
        return s;
    }

private:
    std::string to_client_;
};

std::string pattern(size_t n, unsigned seed = 1) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i)
        s[i] = char((i * 31 + seed * 7 + (i >> 8)) & 0xFF);
    return s;
}

// No secret of the client's keylog (hex), nor its bytes, in `text`.
void expect_no_secret(const std::string& text) {
    ASSERT_FALSE(g_client_keylog.empty());
    for (auto& line : g_client_keylog) {
        std::string hex = line.substr(line.rfind(' ') + 1);
        EXPECT_EQ(text.find(hex), std::string::npos);
        std::string bytes;
        for (size_t i = 0; i + 1 < hex.size(); i += 2)
            bytes += char(std::stoi(hex.substr(i, 2), nullptr, 16));
        EXPECT_EQ(text.find(bytes.substr(0, 8)), std::string::npos);
    }
}

// ---- over a real handshake: TLS 1.3 (every suite, with and without tickets) and
// TLS 1.2 (every suite the server allows, EC and RSA certificates) -------------------

struct Param {
    int version;        // TLS1_3_VERSION or TLS1_2_VERSION
    const char* suite;  // what the client asks for: a TLS 1.3 ciphersuite or a TLS 1.2 cipher
    int tickets;        // TLS 1.3: server SSL_CTX_set_num_tickets, or OpenSSL's default (2)
    bool rsa;           // TLS 1.2: the server's certificate is RSA, not EC
};

const Param kTls13Params[] = {
    {TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", -1, false},
    {TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", 0, false},
    {TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384", -1, false},
    {TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384", 0, false},
    {TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256", -1, false},
    {TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256", 0, false},
};
const Param kTls12Params[] = {
    {TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256", -1, false},
    {TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384", -1, false},
    {TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305", -1, false},
    {TLS1_2_VERSION, "ECDHE-RSA-AES128-GCM-SHA256", -1, true},
    {TLS1_2_VERSION, "ECDHE-RSA-AES256-GCM-SHA384", -1, true},
    {TLS1_2_VERSION, "ECDHE-RSA-CHACHA20-POLY1305", -1, true},
};

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
    std::string s = info.param.suite;
    if (info.param.version == TLS1_3_VERSION) s = s.substr(4);  // "TLS_"
    for (auto& c : s)
        if (c == '_' || c == '-') c = 'x';
    if (info.param.version == TLS1_3_VERSION) s += info.param.tickets < 0 ? "_tickets" : "_notickets";
    return s;
}

// What a connection of one version and suite looks like once taken over.
class TlsFixture : public ::testing::TestWithParam<Param> {
protected:
    bool tls13() const { return GetParam().version == TLS1_3_VERSION; }
    Options opts() const {
        Options o;
        if (tls13()) {
            o.suite = GetParam().suite;
            o.tickets = GetParam().tickets;
        } else {
            o.cipher = GetParam().suite;
            o.rsa = GetParam().rsa;
        }
        return o;
    }
    // Bytes a record adds to its plaintext besides the header: TLS 1.3 the
    // content type and the tag; TLS 1.2 the explicit nonce (GCM) and the tag.
    size_t tag_and_nonce() const {
        if (tls13()) return 1 + 16;
        return 16 + (std::string(GetParam().suite).find("CHACHA") != std::string::npos ? 0 : 8);
    }
    size_t overhead() const { return 5 + tag_and_nonce(); }
    // The longest record a header may announce (TLS 1.3: 2^14 + 256; TLS 1.2: 2^14 + 2048).
    size_t max_record() const { return 16384 + (tls13() ? 256 : 2048); }
    // Sequence numbers right after the take-over: TLS 1.2, each direction's
    // Finished was its first record under the new keys; TLS 1.3, OpenSSL wrote
    // one record under the server's application key per ticket.
    uint64_t first_read_seq() const { return tls13() ? 0 : 1; }
    uint64_t first_write_seq() const {
        if (!tls13()) return 1;
        return GetParam().tickets < 0 ? 2 : uint64_t(GetParam().tickets);
    }
    // A connection taken over, with the version and suite asked for.
    void connect(Pair& p, const std::string& client_first = "") {
        p.take_over(client_first);
        ASSERT_NE(p.records, nullptr);
        EXPECT_EQ(SSL_version(p.client), GetParam().version);
        EXPECT_STREQ(SSL_CIPHER_get_name(SSL_get_current_cipher(p.client)), GetParam().suite);
        EXPECT_EQ(p.records->version(), tls13() ? Version::Tls13 : Version::Tls12);
    }
    // Full handshake, then a resumed one (TLS 1.2: abbreviated, the server's
    // CCS and Finished come first, after its NewSessionTicket when tickets are
    // used); the client writes with its Finished.
    void resume(const Options& o, bool expect_ticket) {
        Pair first(o);
        ASSERT_NO_FATAL_FAILURE(connect(first));
        first.server_send("first");
        EXPECT_EQ(first.client_read(), "first");  // the client also takes the tickets
        SSL_SESSION* session = SSL_get1_session(first.client);
        ASSERT_NE(session, nullptr);
        ASSERT_EQ(SSL_SESSION_is_resumable(session), 1);
        EXPECT_EQ(SSL_SESSION_has_ticket(session), expect_ticket ? 1 : 0);
        // the first server SSL was freed without a close_notify: its session must stay usable
        Pair second(first, session);
        SSL_SESSION_free(session);
        second.take_over("sent with the client's Finished");
        EXPECT_EQ(SSL_session_reused(second.client), 1);
        ASSERT_NE(second.records, nullptr);
        EXPECT_EQ(second.records->read_sequence(), first_read_seq());
        if (!tls13()) {
            EXPECT_EQ(second.records->write_sequence(), 1u);
        }
        // the client finished first: OpenSSL (read-ahead off) left its data to us
        ASSERT_FALSE(second.early.empty());
        std::string plain;
        EXPECT_EQ(second.server_open(second.early, plain), Status::Ok);
        EXPECT_EQ(plain, "sent with the client's Finished");
        second.server_send("second");
        EXPECT_EQ(second.client_read(), "second");
        plain.clear();
        EXPECT_EQ(second.server_open(second.client_write("up"), plain), Status::Ok);
        EXPECT_EQ(plain, "up");
    }
};

// The client reads our fatal alert (`reason`: its SSL_R_* code).
void expect_client_reads_alert(Pair& p, int reason) {
    ERR_clear_error();
    int last = 1, err = 0;
    p.client_read(&last, &err);
    EXPECT_EQ(err, SSL_ERROR_SSL);
    EXPECT_EQ(ERR_GET_REASON(ERR_peek_error()), reason);
    ERR_clear_error();
}

// Our close_notify ends the client's stream (after `expect`).
void expect_close_notify_ends_stream(Pair& p, const std::string& expect) {
    std::string out;
    p.records->close_notify(out);
    BIO_write(p.c_in, out.data(), int(out.size()));
    int last = 1, err = 0;
    EXPECT_EQ(p.client_read(&last, &err), expect);
    EXPECT_EQ(last, 0);
    EXPECT_EQ(err, SSL_ERROR_ZERO_RETURN);
}

// ---- both versions ----------------------------------------------------------------

class TlsHandshake : public TlsFixture {};

TEST_P(TlsHandshake, TakesOverWithTheRightSequenceNumbers) {
    Pair p(opts());
    ASSERT_NO_FATAL_FAILURE(connect(p));
    EXPECT_EQ(p.records->read_sequence(), first_read_seq());
    EXPECT_EQ(p.records->write_sequence(), first_write_seq());
    EXPECT_EQ(p.records->buffered(), 0u);
    EXPECT_EQ(p.records->max_plain(), 16384u);
    EXPECT_TRUE(p.early.empty());
}

TEST_P(TlsHandshake, DataBothWays) {
    Pair p(opts());
    ASSERT_NO_FATAL_FAILURE(connect(p));
    unsigned seed = 0;
    for (size_t n : {size_t(0), size_t(1), size_t(16384), size_t(16385), size_t(100000)}) {
        SCOPED_TRACE(n);
        std::string down = pattern(n, ++seed);
        std::string out;
        p.records->seal(down.data(), down.size(), out);
        size_t records = (n + 16383) / 16384;
        EXPECT_EQ(out.size(), n + records * overhead());
        BIO_write(p.c_in, out.data(), int(out.size()));
        int last = 0, err = 0;
        EXPECT_EQ(p.client_read(&last, &err), down);
        EXPECT_EQ(err, SSL_ERROR_WANT_READ);

        std::string up = pattern(n, ++seed), plain;
        EXPECT_EQ(p.server_open(p.client_write(up), plain), Status::Ok);
        EXPECT_EQ(plain, up);
        EXPECT_EQ(p.records->buffered(), 0u);
    }
    EXPECT_EQ(p.records->read_sequence(), first_read_seq() + 0 + 1 + 1 + 2 + 7);
    EXPECT_EQ(p.records->write_sequence(), first_write_seq() + 0 + 1 + 1 + 2 + 7);
}

// Every byte alone (a partial record is held, nothing after the end), pieces
// of 7, pieces of 1000 (whole records opened in place between partial ones),
// all in one chunk.
TEST_P(TlsHandshake, InputSplitEveryByteEverySevenEveryThousandAndWhole) {
    Pair p(opts());
    ASSERT_NO_FATAL_FAILURE(connect(p));
    const std::vector<size_t> sizes = {1, 100, 16384, 5000, 3, 16384, 0, 20000};
    for (size_t piece : {size_t(1), size_t(7), size_t(1000), size_t(0)}) {
        SCOPED_TRACE(piece);
        std::string wire, expect, plain;
        for (size_t n : sizes) {
            std::string m = pattern(n, unsigned(n + piece));
            wire += p.client_write(m);
            expect += m;
        }
        size_t max_buffered = 0;
        std::string out;
        auto sink = [&](const char* d, size_t n) {
            EXPECT_GT(n, 0u);
            plain.append(d, n);
        };
        size_t step = piece ? piece : wire.size();
        for (size_t at = 0; at < wire.size(); at += step) {
            ASSERT_EQ(p.records->open(&wire[at], std::min(step, wire.size() - at), sink, out), Status::Ok);
            max_buffered = std::max(max_buffered, p.records->buffered());
        }
        EXPECT_EQ(plain, expect);
        EXPECT_EQ(p.records->buffered(), 0u);
        EXPECT_TRUE(out.empty());
        if (piece == 1) {
            EXPECT_GT(max_buffered, 16384u);
        }
    }
}

TEST_P(TlsHandshake, FlippedCiphertextByteIsBadRecordMac) {
    Pair p(opts());
    ASSERT_NO_FATAL_FAILURE(connect(p));
    std::string plain;
    ASSERT_EQ(p.server_open(p.client_write("first"), plain), Status::Ok);
    // GCM's explicit nonce or the text, the text, the tag's last byte
    for (size_t at : {size_t(6), size_t(8), size_t(14), size_t(20), std::string::npos}) {
        SCOPED_TRACE(at);
        Pair q(opts());
        ASSERT_NO_FATAL_FAILURE(connect(q));
        std::string wire = q.client_write("hello world, hello world"), got;
        wire[std::min(at, wire.size() - 1)] ^= 1;
        EXPECT_EQ(q.server_open(wire, got), Status::Failed);
        EXPECT_TRUE(got.empty());
        EXPECT_NE(q.records->error().find("bad_record_mac"), std::string::npos) << q.records->error();
        expect_no_secret(q.records->error());
        expect_client_reads_alert(q, SSL_R_SSLV3_ALERT_BAD_RECORD_MAC);
        // and further input is ignored
        std::string out, more = "anything";
        auto sink = [&](const char* d, size_t n) { got.append(d, n); };
        EXPECT_EQ(q.records->open(more.data(), more.size(), sink, out), Status::Failed);
        EXPECT_TRUE(out.empty());
    }
}

TEST_P(TlsHandshake, OversizedRecordIsRecordOverflow) {
    Pair p(opts());
    ASSERT_NO_FATAL_FAILURE(connect(p));
    std::string plain;
    // one byte more than a record may have announced: refused from the header alone
    std::string wire = {23, 3, 3, char((max_record() + 1) >> 8), char((max_record() + 1) & 0xFF)};
    EXPECT_EQ(p.server_open(wire, plain), Status::Failed);
    EXPECT_NE(p.records->error().find("record_overflow"), std::string::npos) << p.records->error();
    expect_no_secret(p.records->error());
    EXPECT_EQ(p.records->buffered(), 0u);
    expect_client_reads_alert(p, SSL_R_TLSV1_ALERT_RECORD_OVERFLOW);
    // the longest is a length the header may announce (then its tag is checked)
    Pair q(opts());
    ASSERT_NO_FATAL_FAILURE(connect(q));
    std::string big(5 + max_record(), 'z');
    big[0] = 23;
    big[1] = big[2] = 3;
    big[3] = char(max_record() >> 8);
    big[4] = char(max_record() & 0xFF);
    EXPECT_EQ(q.server_open(big, plain, 1000), Status::Failed);
    EXPECT_NE(q.records->error().find("bad_record_mac"), std::string::npos) << q.records->error();
}

TEST_P(TlsHandshake, ChangeCipherSpecAfterTheHandshakeFails) {
    Pair p(opts());
    ASSERT_NO_FATAL_FAILURE(connect(p));
    std::string plain;
    std::string wire = {20, 3, 3, 0, 1, 1};
    EXPECT_EQ(p.server_open(wire, plain), Status::Failed);
    EXPECT_NE(p.records->error().find("unexpected_message"), std::string::npos);
    expect_client_reads_alert(p, SSL_R_SSLV3_ALERT_UNEXPECTED_MESSAGE);
}

TEST_P(TlsHandshake, ClientCloseNotifyIsClosed) {
    for (size_t piece : {size_t(0), size_t(3)}) {  // in one chunk, in pieces of 3
        SCOPED_TRACE(piece);
        Pair p(opts());
        ASSERT_NO_FATAL_FAILURE(connect(p));
        std::string plain;
        std::string wire = p.client_write("last words");
        SSL_shutdown(p.client);
        wire += drain(p.c_out);
        wire += "trailing garbage after close_notify";
        EXPECT_EQ(p.server_open(wire, plain, piece), Status::Closed);
        EXPECT_EQ(plain, "last words");
        EXPECT_NE(p.records->error().find("close"), std::string::npos) << p.records->error();
        expect_no_secret(p.records->error());
        std::string out;
        std::string more = p.client_write("");
        auto sink = [&](const char* d, size_t n) { plain.append(d, n); };
        EXPECT_EQ(p.records->open(more.data(), more.size(), sink, out), Status::Closed);
    }
}

TEST_P(TlsHandshake, OurCloseNotifyEndsTheClientsStream) {
    Pair p(opts());
    ASSERT_NO_FATAL_FAILURE(connect(p));
    p.server_send("bye");
    expect_close_notify_ends_stream(p, "bye");
}

TEST_P(TlsHandshake, ClientDataRightAfterItsFinishedIsLeftToUs) {
    Pair p(opts());
    ASSERT_NO_FATAL_FAILURE(connect(p, "sent with the client's Finished"));
    EXPECT_FALSE(p.early.empty());  // OpenSSL (read-ahead off) did not read it
    std::string plain;
    EXPECT_EQ(p.server_open(p.early, plain), Status::Ok);
    EXPECT_EQ(plain, "sent with the client's Finished");
}

TEST_P(TlsHandshake, MaxFragmentLengthIsHonouredBothWays) {
    for (auto [mfl, len, size] : {std::tuple<uint8_t, size_t, size_t>{TLSEXT_max_fragment_length_512, 512, 2000},
                                  {TLSEXT_max_fragment_length_1024, 1024, 3000}}) {
        SCOPED_TRACE(len);
        Options o = opts();
        o.mfl = mfl;
        Pair p(o);
        ASSERT_NO_FATAL_FAILURE(connect(p));
        EXPECT_EQ(p.records->max_plain(), len);
        std::string down = pattern(size), out;
        p.records->seal(down.data(), down.size(), out);
        EXPECT_EQ(out.size(), size + (size + len - 1) / len * overhead());  // records of at most `len` bytes
        BIO_write(p.c_in, out.data(), int(out.size()));
        EXPECT_EQ(p.client_read(), down);
        std::string plain;
        EXPECT_EQ(p.server_open(p.client_write(pattern(3000)), plain), Status::Ok);
        EXPECT_EQ(plain, pattern(3000));
    }
}

INSTANTIATE_TEST_SUITE_P(Tls13, TlsHandshake, ::testing::ValuesIn(kTls13Params), param_name);
INSTANTIATE_TEST_SUITE_P(Tls12, TlsHandshake, ::testing::ValuesIn(kTls12Params), param_name);

// ---- TLS 1.3 only: KeyUpdate, ticket resumption -----------------------------------

class Tls13Handshake : public TlsFixture {};

TEST_P(Tls13Handshake, ClientKeyUpdateNotRequested) {
    Pair p(opts());
    ASSERT_NO_FATAL_FAILURE(connect(p));
    std::string plain;
    ASSERT_EQ(p.server_open(p.client_write("before"), plain), Status::Ok);
    ASSERT_EQ(SSL_key_update(p.client, SSL_KEY_UPDATE_NOT_REQUESTED), 1);
    std::string out;
    std::string wire = p.client_write("after");
    auto sink = [&](const char* d, size_t n) { plain.append(d, n); };
    ASSERT_EQ(p.records->open(wire.data(), wire.size(), sink, out), Status::Ok);
    EXPECT_EQ(plain, "beforeafter");
    EXPECT_TRUE(out.empty());  // nothing to answer
    EXPECT_EQ(p.records->read_sequence(), 1u);
    p.server_send("reply");
    EXPECT_EQ(p.client_read(), "reply");
}

TEST_P(Tls13Handshake, ClientKeyUpdateRequestedIsAnswered) {
    Pair p(opts());
    ASSERT_NO_FATAL_FAILURE(connect(p));
    std::string plain;
    ASSERT_EQ(SSL_key_update(p.client, SSL_KEY_UPDATE_REQUESTED), 1);
    uint64_t wseq = p.records->write_sequence();
    std::string out;
    std::string wire = p.client_write("x");
    auto sink = [&](const char* d, size_t n) { plain.append(d, n); };
    ASSERT_EQ(p.records->open(wire.data(), wire.size(), sink, out), Status::Ok);
    EXPECT_EQ(plain, "x");
    EXPECT_EQ(out.size(), 5u + 5 + 1 + 16);  // our KeyUpdate(update_not_requested)
    EXPECT_EQ(p.records->write_sequence(), 0u);
    EXPECT_NE(wseq, p.records->write_sequence() + 1);
    BIO_write(p.c_in, out.data(), int(out.size()));
    p.server_send("under the new key");
    EXPECT_EQ(p.client_read(), "under the new key");
    // and the client keeps writing under its new key
    plain.clear();
    EXPECT_EQ(p.server_open(p.client_write("more"), plain), Status::Ok);
    EXPECT_EQ(plain, "more");
}

TEST_P(Tls13Handshake, OurOwnKeyUpdateAfterTheRecordLimit) {
    Pair p(opts());
    ASSERT_NO_FATAL_FAILURE(connect(p));
    p.records->set_write_record_limit_for_test(4);
    std::string expect;
    for (int i = 0; i < 12; ++i) {
        std::string m = "message " + std::to_string(i);
        p.server_send(m);
        expect += m;
        EXPECT_LT(p.records->write_sequence(), 4u);
    }
    EXPECT_EQ(p.client_read(), expect);
    std::string plain;
    EXPECT_EQ(p.server_open(p.client_write("still fine"), plain), Status::Ok);
    EXPECT_EQ(plain, "still fine");
    // close_notify at the limit too
    expect_close_notify_ends_stream(p, "");
}

TEST_P(Tls13Handshake, ResumedSessionIsTakenOverToo) {
    if (GetParam().tickets == 0) GTEST_SKIP() << "no ticket, no resumption";
    resume(opts(), true);
}

INSTANTIATE_TEST_SUITE_P(Suites, Tls13Handshake, ::testing::ValuesIn(kTls13Params), param_name);

// ---- TLS 1.2 only: session-ID and ticket resumption, renegotiation --------------------

class Tls12Handshake : public TlsFixture {};

TEST_P(Tls12Handshake, SessionIdResumption) {
    Options o = opts();
    o.client_no_ticket = true;
    resume(o, false);
}

TEST_P(Tls12Handshake, TicketResumption) {
    resume(opts(), true);
}

// A client's renegotiation is refused as OpenSSL refuses it with
// SSL_OP_NO_RENEGOTIATION: a warning no_renegotiation; an OpenSSL client then
// gives up with a fatal handshake_failure, which fails the connection.
TEST_P(Tls12Handshake, ClientRenegotiationIsRefused) {
    Pair p(opts());
    ASSERT_NO_FATAL_FAILURE(connect(p));
    ASSERT_EQ(SSL_renegotiate(p.client), 1);
    EXPECT_LE(SSL_do_handshake(p.client), 0);  // its ClientHello goes out
    std::string hello = drain(p.c_out), plain, out;
    ASSERT_FALSE(hello.empty());
    auto sink = [&](const char* d, size_t n) { plain.append(d, n); };
    EXPECT_EQ(p.records->open(hello.data(), hello.size(), sink, out), Status::Ok);
    ASSERT_EQ(out.size(), 5 + 2 + tag_and_nonce());  // one alert record
    EXPECT_EQ(out[0], 21);
    BIO_write(p.c_in, out.data(), int(out.size()));
    ERR_clear_error();
    EXPECT_LE(SSL_do_handshake(p.client), 0);
    EXPECT_EQ(ERR_GET_REASON(ERR_peek_error()), SSL_R_NO_RENEGOTIATION);
    ERR_clear_error();
    std::string fatal = drain(p.c_out);
    ASSERT_FALSE(fatal.empty());
    EXPECT_EQ(p.records->open(fatal.data(), fatal.size(), sink, out), Status::Failed);
    EXPECT_NE(p.records->error().find("handshake failure"), std::string::npos) << p.records->error();
    EXPECT_NE(p.records->error().find("renegotiation"), std::string::npos) << p.records->error();
    expect_no_secret(p.records->error());
    EXPECT_TRUE(plain.empty());
}

// The same ClientHello fed a byte at a time: one warning, then the connection goes on.
TEST_P(Tls12Handshake, RenegotiationClientHelloSplitAnyhow) {
    Pair p(opts());
    ASSERT_NO_FATAL_FAILURE(connect(p));
    ASSERT_EQ(SSL_renegotiate(p.client), 1);
    SSL_do_handshake(p.client);
    std::string hello = drain(p.c_out), plain, out;
    auto sink = [&](const char* d, size_t n) { plain.append(d, n); };
    for (size_t i = 0; i < hello.size(); ++i)
        ASSERT_EQ(p.records->open(&hello[i], 1, sink, out), Status::Ok);
    EXPECT_EQ(out.size(), 5 + 2 + tag_and_nonce());
    // our own data still reaches the (now refused) client's record layer
    p.server_send("still here");
}

INSTANTIATE_TEST_SUITE_P(Suites, Tls12Handshake, ::testing::ValuesIn(kTls12Params), param_name);

// As the server uses it: the server SSL on a non-blocking socket (SSL_set_fd),
// the client on the other end of a socketpair; after take_over our record
// layer reads and writes the socket itself.
TEST(Tls13Socket, TakeOverOnANonBlockingSocket) {
    Pair ctxs;  // (its contexts; its own SSLs stay unused)
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    for (int fd : fds)
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    SSL* server = SSL_new(ctxs.sctx);
    SSL* client = SSL_new(ctxs.cctx);
    SSL_set_fd(server, fds[0]);
    SSL_set_fd(client, fds[1]);
    SSL_set_accept_state(server);
    SSL_set_connect_state(client);
    blynk::net::tls_records_prepare(server);
    bool c_done = false, s_done = false;
    const std::string first = "with the client's Finished";
    for (int i = 0; i < 50 && !s_done; ++i) {
        if (!c_done && SSL_do_handshake(client) == 1) {
            c_done = true;
            ASSERT_EQ(SSL_write(client, first.data(), int(first.size())), int(first.size()));
        }
        if (SSL_do_handshake(server) == 1) s_done = true;
    }
    ASSERT_TRUE(c_done && s_done);
    auto records = TlsRecords::take_over(server);
    ASSERT_NE(records, nullptr);
    SSL_free(server);
    EXPECT_EQ(records->write_sequence(), 2u);

    std::string plain, out;
    auto sink = [&](const char* d, size_t n) { plain.append(d, n); };
    auto read_socket = [&] {
        char buf[65536];
        ssize_t n;
        while ((n = read(fds[0], buf, sizeof buf)) > 0) {
            EXPECT_EQ(records->open(buf, size_t(n), sink, out), Status::Ok);
        }
    };
    read_socket();
    EXPECT_EQ(plain, first);
    std::string up = pattern(50000);
    ASSERT_EQ(SSL_write(client, up.data(), int(up.size())), int(up.size()));
    plain.clear();
    read_socket();
    EXPECT_EQ(plain, up);

    std::string down = pattern(30000, 5);
    records->seal(down.data(), down.size(), out);
    ASSERT_EQ(write(fds[0], out.data(), out.size()), ssize_t(out.size()));
    std::string got;
    char buf[16384];
    int n;
    while ((n = SSL_read(client, buf, sizeof buf)) > 0)
        got.append(buf, size_t(n));
    EXPECT_EQ(SSL_get_error(client, n), SSL_ERROR_WANT_READ);
    EXPECT_EQ(got, down);
    SSL_free(client);
    close(fds[0]);
    close(fds[1]);
}

// ---- what is not taken over ------------------------------------------------------------

// A TLS 1.2 suite the record layer does not implement (CBC with
// encrypt-then-MAC; the server of blynkd allows none) stays with OpenSSL.
TEST(Tls12TakeOver, CbcSuiteStaysWithOpenSsl) {
    Pair p(Options{nullptr, -1, 0, "ECDHE-ECDSA-AES128-SHA256"});
    SSL_set_cipher_list(p.server, "ECDHE-ECDSA-AES128-SHA256");
    p.take_over();
    EXPECT_EQ(p.records, nullptr);
    ASSERT_NE(p.server, nullptr);
    EXPECT_EQ(SSL_version(p.server), TLS1_2_VERSION);
    blynk::net::tls_records_release(p.server);
    EXPECT_EQ(SSL_get_read_ahead(p.server), 1);
    blynk::net::tls_records_release(p.server);  // twice is harmless
    // OpenSSL carries on both ways.
    std::string up = pattern(40000);
    std::string wire = p.client_write(up);
    BIO_write(p.s_in, wire.data(), int(wire.size()));
    std::string got;
    char buf[16384];
    int n;
    while ((n = SSL_read(p.server, buf, sizeof buf)) > 0)
        got.append(buf, size_t(n));
    EXPECT_EQ(got, up);
    ASSERT_EQ(SSL_write(p.server, "down", 4), 4);
    std::string s2c = drain(p.s_out);
    BIO_write(p.c_in, s2c.data(), int(s2c.size()));
    EXPECT_EQ(p.client_read(), "down");
}

TEST(Tls13TakeOver, CcmSuiteStaysWithOpenSsl) {
    Pair p(Options{"TLS_AES_128_CCM_SHA256", -1, 0});
    SSL_CTX_set_ciphersuites(p.sctx, "TLS_AES_128_CCM_SHA256:TLS_AES_128_GCM_SHA256");
    SSL_set_ciphersuites(p.server, "TLS_AES_128_CCM_SHA256:TLS_AES_128_GCM_SHA256");
    p.take_over();
    ASSERT_EQ(p.records, nullptr);
    blynk::net::tls_records_release(p.server);
    ASSERT_EQ(SSL_write(p.server, "ccm", 3), 3);
    std::string s2c = drain(p.s_out);
    BIO_write(p.c_in, s2c.data(), int(s2c.size()));
    EXPECT_EQ(p.client_read(), "ccm");
}

TEST(Tls13TakeOver, UnpreparedSslIsNotTakenOver) {
    Pair p;
    blynk::net::tls_records_release(p.server);  // drops the capture state
    p.take_over();
    EXPECT_EQ(p.records, nullptr);
}

// ---- crafted records (a peer keyed with the swapped secrets) ----------------------------

using blynk::net::test::Peers;

const std::string kKeyUpdateNotRequested = {24, 0, 0, 1, 0};
const std::string kKeyUpdateRequested = {24, 0, 0, 1, 1};

TEST(Tls13Crafted, ForTestChecksSecretLengths) {
    EXPECT_EQ(TlsRecords::for_test(Suite::Aes128GcmSha256, std::string(48, 'a'), std::string(48, 'b')), nullptr);
    EXPECT_EQ(TlsRecords::for_test(Suite::Aes256GcmSha384, std::string(32, 'a'), std::string(32, 'b')), nullptr);
    EXPECT_NE(TlsRecords::for_test(Suite::Aes256GcmSha384, std::string(48, 'a'), std::string(48, 'b')), nullptr);
}

TEST(Tls13Crafted, EmptyApplicationDataAndPadding) {
    Peers t;
    EXPECT_EQ(t.feed(t.craft(23, "")), Status::Ok);
    EXPECT_EQ(t.feed(t.craft(23, "padded", 200)), Status::Ok);
    // the largest inner plaintext: 2^14 content and its type (padding counts too:
    // tls_records_limits_test.cpp)
    EXPECT_EQ(t.feed(t.craft(23, std::string(16384, 'm'))), Status::Ok);
    EXPECT_TRUE(t.plain == "padded" + std::string(16384, 'm'));
    EXPECT_EQ(t.us->read_sequence(), 3u);
}

TEST(Tls13Crafted, AllZeroPlaintextIsUnexpectedMessage) {
    Peers t;
    EXPECT_EQ(t.feed(t.craft(0, "", 10)), Status::Failed);
    EXPECT_NE(t.us->error().find("unexpected_message"), std::string::npos);
    std::string got;
    EXPECT_EQ(t.peer_reads(got), Status::Failed);  // our alert
    EXPECT_NE(t.peer->error().find("unexpected"), std::string::npos) << t.peer->error();
}

TEST(Tls13Crafted, PlaintextOver16384IsRecordOverflow) {
    Peers t;
    EXPECT_EQ(t.feed(t.craft(23, std::string(16385, 'x'))), Status::Failed);
    EXPECT_NE(t.us->error().find("record_overflow"), std::string::npos);
    EXPECT_TRUE(t.plain.empty());
}

TEST(Tls13Crafted, Alerts) {
    Peers t;
    EXPECT_EQ(t.feed(t.craft(21, std::string{1, 90})), Status::Ok);  // user_canceled: ignored
    EXPECT_EQ(t.feed(t.craft(23, "x")), Status::Ok);
    Peers f;
    EXPECT_EQ(f.feed(f.craft(21, std::string{2, 40})), Status::Failed);
    EXPECT_NE(f.us->error().find("handshake failure"), std::string::npos) << f.us->error();
    EXPECT_TRUE(f.out.empty());  // no alert in answer to an alert
    Peers d;
    EXPECT_EQ(d.feed(d.craft(21, std::string{1, 0, 0})), Status::Failed);
    EXPECT_NE(d.us->error().find("decode_error"), std::string::npos);
}

TEST(Tls13Crafted, OtherHandshakeMessagesAreUnexpected) {
    Peers t;
    EXPECT_EQ(t.feed(t.craft(22, std::string{4, 0, 0, 2, 0, 0})), Status::Failed);  // NewSessionTicket
    EXPECT_NE(t.us->error().find("unexpected_message"), std::string::npos);
    Peers e;
    EXPECT_EQ(e.feed(e.craft(22, "")), Status::Failed);
    Peers u;
    EXPECT_EQ(u.feed(u.craft(99, "x")), Status::Failed);  // unknown content type
}

TEST(Tls13Crafted, KeyUpdateChecks) {
    Peers bad;
    EXPECT_EQ(bad.feed(bad.craft(22, std::string{24, 0, 0, 1, 2})), Status::Failed);
    EXPECT_NE(bad.us->error().find("illegal_parameter"), std::string::npos);
    Peers len;
    EXPECT_EQ(len.feed(len.craft(22, std::string{24, 0, 0, 2, 0, 0})), Status::Failed);
    EXPECT_NE(len.us->error().find("decode_error"), std::string::npos);
    Peers trailing;  // KeyUpdate followed by another message in the same record
    EXPECT_EQ(trailing.feed(trailing.craft(22, kKeyUpdateNotRequested + kKeyUpdateNotRequested)), Status::Failed);
    EXPECT_NE(trailing.us->error().find("unexpected_message"), std::string::npos);
}

TEST(Tls13Crafted, KeyUpdateSplitAcrossRecords) {
    Peers t;
    EXPECT_EQ(t.feed(t.craft(23, "a")), Status::Ok);
    EXPECT_EQ(t.feed(t.craft(22, std::string{24, 0})), Status::Ok);
    EXPECT_EQ(t.feed(t.craft(22, std::string{0, 1, 0})), Status::Ok);
    EXPECT_EQ(t.us->read_sequence(), 0u);  // the read key changed
    EXPECT_TRUE(t.out.empty());
    // (crafted in two pieces, the peer did not switch: its next record is refused)
    EXPECT_EQ(t.feed(t.craft(23, "b")), Status::Failed);
    EXPECT_NE(t.us->error().find("bad_record_mac"), std::string::npos);
    EXPECT_EQ(t.plain, "a");

    Peers s;
    EXPECT_EQ(s.feed(s.craft(22, std::string{24, 0})), Status::Ok);
    // application data inside a split handshake message
    EXPECT_EQ(s.feed(s.craft(23, "x")), Status::Failed);
    EXPECT_NE(s.us->error().find("split handshake"), std::string::npos);
}

TEST(Tls13Crafted, KeyUpdateBothWays) {
    Peers t;
    std::string w;
    t.peer->seal_record_for_test(22, kKeyUpdateRequested.data(), 5, 0, w);
    t.peer->seal("new key", 7, w);
    EXPECT_EQ(t.feed(w), Status::Ok);
    EXPECT_EQ(t.plain, "new key");
    EXPECT_EQ(t.us->read_sequence(), 1u);
    ASSERT_FALSE(t.out.empty());  // our KeyUpdate answer
    t.us->seal("reply", 5, t.out);
    std::string got;
    EXPECT_EQ(t.peer_reads(got), Status::Ok);  // the peer follows our KeyUpdate
    EXPECT_EQ(got, "reply");
    EXPECT_EQ(t.peer->read_sequence(), 1u);
}

TEST(Tls13Crafted, EverySuiteRoundTrips) {
    for (Suite s : {Suite::Aes128GcmSha256, Suite::Aes256GcmSha384, Suite::Chacha20Poly1305Sha256}) {
        Peers t(s);
        std::string w, big = pattern(70000);
        t.peer->seal(big.data(), big.size(), w);
        EXPECT_EQ(t.feed(w), Status::Ok);
        EXPECT_EQ(t.plain, big);
    }
}

TEST(Tls13Crafted, WrongVersionAndShortRecord) {
    Peers t;
    std::string w = t.craft(23, "x");
    w[2] = 1;
    EXPECT_EQ(t.feed(w), Status::Failed);
    EXPECT_NE(t.us->error().find("protocol_version"), std::string::npos);
    Peers s;
    EXPECT_EQ(s.feed(std::string{23, 3, 3, 0, 15}), Status::Failed);
    EXPECT_NE(s.us->error().find("bad_record_mac"), std::string::npos);
}

// ---- TLS 1.2 crafted records ----------------------------------------------------------------

constexpr Suite kSuites[] = {Suite::Aes128GcmSha256, Suite::Aes256GcmSha384, Suite::Chacha20Poly1305Sha256};

TEST(Tls12Crafted, ForTestChecksKeyLengths) {
    EXPECT_EQ(TlsRecords::for_test(Suite::Aes128GcmSha256, std::string(32, 'a'), std::string(32, 'b'), Version::Tls12),
              nullptr);
    EXPECT_NE(TlsRecords::for_test(Suite::Aes128GcmSha256, std::string(20, 'a'), std::string(20, 'b'), Version::Tls12),
              nullptr);
    EXPECT_NE(TlsRecords::for_test(Suite::Aes256GcmSha384, std::string(36, 'a'), std::string(36, 'b'), Version::Tls12),
              nullptr);
    EXPECT_NE(
        TlsRecords::for_test(Suite::Chacha20Poly1305Sha256, std::string(44, 'a'), std::string(44, 'b'), Version::Tls12),
        nullptr);
}

TEST(Tls12Crafted, EveryTypeAndSizeRoundTrips) {
    for (Suite s : kSuites) {
        Peers t(s, Version::Tls12);
        EXPECT_EQ(t.feed(t.craft(23, "")), Status::Ok);  // empty application data: allowed
        std::string w, big = pattern(70000);
        t.peer->seal(big.data(), big.size(), w);
        EXPECT_EQ(t.feed(w), Status::Ok);
        EXPECT_EQ(t.plain, big);
        EXPECT_EQ(t.us->read_sequence(), 1u + 5);
        EXPECT_EQ(t.feed(t.craft(23, std::string(16384, 'm'))), Status::Ok);
        EXPECT_EQ(t.feed(t.craft(23, std::string(16385, 'm'))), Status::Failed);
        EXPECT_NE(t.us->error().find("record_overflow"), std::string::npos);
        std::string got;
        EXPECT_EQ(t.peer_reads(got), Status::Failed);  // our fatal alert, a TLS 1.2 record
        EXPECT_NE(t.peer->error().find("record overflow"), std::string::npos) << t.peer->error();
    }
}

TEST(Tls12Crafted, Alerts) {
    Peers t(Suite::Aes256GcmSha384, Version::Tls12);
    EXPECT_EQ(t.feed(t.craft(21, std::string{1, 90})), Status::Ok);   // user_canceled warning: ignored
    EXPECT_EQ(t.feed(t.craft(21, std::string{1, 100})), Status::Ok);  // no_renegotiation warning: ignored
    EXPECT_EQ(t.feed(t.craft(23, "x")), Status::Ok);
    EXPECT_EQ(t.feed(t.craft(21, std::string{1, 0})), Status::Closed);
    EXPECT_EQ(t.plain, "x");
    Peers f(Suite::Aes128GcmSha256, Version::Tls12);
    EXPECT_EQ(f.feed(f.craft(21, std::string{2, 40})), Status::Failed);
    EXPECT_NE(f.us->error().find("handshake failure"), std::string::npos) << f.us->error();
    EXPECT_EQ(f.us->error().find("renegotiation"), std::string::npos) << f.us->error();
    EXPECT_TRUE(f.out.empty());  // no alert in answer to an alert
    Peers fc(Suite::Aes128GcmSha256, Version::Tls12);
    EXPECT_EQ(fc.feed(fc.craft(21, std::string{2, 0})), Status::Failed);  // a fatal close_notify
    Peers l(Suite::Chacha20Poly1305Sha256, Version::Tls12);
    EXPECT_EQ(l.feed(l.craft(21, std::string{3, 0})), Status::Failed);
    EXPECT_NE(l.us->error().find("illegal_parameter"), std::string::npos);
    for (std::string bad : {std::string{1}, std::string{1, 0, 0}}) {  // (empty: unexpected_message)
        Peers d(Suite::Aes128GcmSha256, Version::Tls12);
        EXPECT_EQ(d.feed(d.craft(21, bad)), Status::Failed);
        EXPECT_NE(d.us->error().find("decode_error"), std::string::npos);
    }
}

TEST(Tls12Crafted, HandshakeMessages) {
    Peers e(Suite::Aes128GcmSha256, Version::Tls12);
    EXPECT_EQ(e.feed(e.craft(22, "")), Status::Failed);
    EXPECT_NE(e.us->error().find("empty handshake"), std::string::npos);
    for (uint8_t type : {0, 2, 4, 11, 16, 20, 24}) {  // HelloRequest, ServerHello, ..., Finished, KeyUpdate
        Peers t(Suite::Aes128GcmSha256, Version::Tls12);
        EXPECT_EQ(t.feed(t.craft(22, std::string{char(type), 0, 0, 0})), Status::Failed);
        EXPECT_NE(t.us->error().find("other than ClientHello"), std::string::npos);
    }
    // a ClientHello split across three records (and one empty), then data: one warning
    Peers c(Suite::Chacha20Poly1305Sha256, Version::Tls12);
    std::string hello = std::string{1, 0, 0, 40} + std::string(40, 'h');
    EXPECT_EQ(c.feed(c.craft(22, hello.substr(0, 2))), Status::Ok);
    EXPECT_EQ(c.feed(c.craft(22, hello.substr(2, 20))), Status::Ok);
    EXPECT_TRUE(c.out.empty());
    std::string last = c.craft(22, hello.substr(22));
    last += c.craft(23, "after");
    EXPECT_EQ(c.feed(last), Status::Ok);
    EXPECT_EQ(c.plain, "after");
    std::string got;
    EXPECT_EQ(c.peer_reads(got), Status::Ok);  // a warning: the peer goes on
    // a second ClientHello: fatal no_renegotiation (tls_records_limits_test.cpp)
    EXPECT_EQ(c.feed(c.craft(22, hello)), Status::Failed);
    EXPECT_NE(c.us->error().find("no_renegotiation"), std::string::npos);
    // application data inside a split ClientHello
    Peers s(Suite::Aes128GcmSha256, Version::Tls12);
    EXPECT_EQ(s.feed(s.craft(22, hello.substr(0, 10))), Status::Ok);
    EXPECT_EQ(s.feed(s.craft(23, "x")), Status::Failed);
    EXPECT_NE(s.us->error().find("split handshake"), std::string::npos);
    // a ClientHello longer than OpenSSL accepts
    Peers l(Suite::Aes128GcmSha256, Version::Tls12);
    EXPECT_EQ(l.feed(l.craft(22, std::string{1, 3, 0, 0})), Status::Failed);
    EXPECT_NE(l.us->error().find("illegal_parameter"), std::string::npos);
}

TEST(Tls12Crafted, RecordTypesVersionAndLength) {
    for (uint8_t type : {0, 20, 24, 99}) {
        Peers t(Suite::Aes128GcmSha256, Version::Tls12);
        EXPECT_EQ(t.feed(t.craft(type, "x")), Status::Failed);
        EXPECT_NE(t.us->error().find("unexpected_message"), std::string::npos);
    }
    Peers v(Suite::Aes128GcmSha256, Version::Tls12);
    std::string w = v.craft(23, "x");
    w[2] = 1;
    EXPECT_EQ(v.feed(w), Status::Failed);
    EXPECT_NE(v.us->error().find("protocol_version"), std::string::npos);
    // GCM: explicit nonce and tag at least; ChaCha20: the tag
    Peers g(Suite::Aes128GcmSha256, Version::Tls12);
    EXPECT_EQ(g.feed(std::string{23, 3, 3, 0, 23} + std::string(23, 'x')), Status::Failed);
    EXPECT_NE(g.us->error().find("shorter"), std::string::npos);
    Peers c(Suite::Chacha20Poly1305Sha256, Version::Tls12);
    EXPECT_EQ(c.feed(std::string{23, 3, 3, 0, 15} + std::string(15, 'x')), Status::Failed);
    EXPECT_NE(c.us->error().find("shorter"), std::string::npos);
    // a record replayed (the sequence number is in the AAD)
    Peers r(Suite::Chacha20Poly1305Sha256, Version::Tls12);
    std::string once = r.craft(23, "once");
    EXPECT_EQ(r.feed(once), Status::Ok);
    EXPECT_EQ(r.feed(once), Status::Failed);
    EXPECT_NE(r.us->error().find("bad_record_mac"), std::string::npos);
}

// GCM's explicit nonce is our write sequence number (unique under the key).
TEST(Tls12Crafted, GcmExplicitNonceIsTheSequenceNumber) {
    Peers t(Suite::Aes256GcmSha384, Version::Tls12);
    std::string out;
    for (int i = 0; i < 3; ++i)
        t.us->seal("abc", 3, out);
    ASSERT_EQ(out.size(), 3 * (5 + 8 + 3 + 16u));
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(out.substr(i * 32 + 5, 8), std::string(7, '\0') + char(i));
    // and no KeyUpdate after the TLS 1.3 limit (ChaCha20: no limit; AES-GCM
    // refuses: tls_records_limits_test.cpp)
    Peers c(Suite::Chacha20Poly1305Sha256, Version::Tls12);
    c.us->set_write_record_limit_for_test(2);
    out.clear();
    for (int i = 0; i < 5; ++i)
        c.us->seal("abc", 3, out);
    EXPECT_EQ(out.size(), 5 * (5 + 3 + 16u));
    EXPECT_EQ(c.us->write_sequence(), 5u);
}

// ---- size and cost --------------------------------------------------------------

// An idle connection's record layer is one heap block: no cipher context, no
// buffer (the error text is empty, a partial header is held inside the object).
TEST(Tls13Cost, IdleObjectIsSmall) {
    const std::string a(48, 'a'), b(48, 'b');
    auto r = TlsRecords::for_test(Suite::Aes256GcmSha384, a, b);
    std::string out;
    r->seal("x", 1, out);
    std::string in = "a partial record";
    auto sink = [](const char*, size_t) {};
    ASSERT_EQ(r->open(&in[0], 3, sink, out), Status::Ok);
    EXPECT_EQ(r->buffered(), 3u);
    EXPECT_TRUE(r->error().empty());
    std::printf("[ info ] sizeof(TlsRecords) = %zu bytes, its heap block: malloc_usable_size = %zu bytes\n",
                sizeof(TlsRecords), malloc_usable_size(r.get()));
    EXPECT_LE(sizeof(TlsRecords), 320u);
}

// Prints what a small record costs (not a pass/fail check): a burst of records of
// one connection (the per-thread context keeps its key), and records of two
// connections taken in turn (every record re-keys the context).
TEST(Tls13Cost, NanosecondsPerSmallRecord) {
    using Clock = std::chrono::steady_clock;
    auto per = [](Clock::time_point a, Clock::time_point b, int n) {
        return std::chrono::duration<double, std::nano>(b - a).count() / n;
    };
    for (Suite s : {Suite::Aes128GcmSha256, Suite::Aes256GcmSha384, Suite::Chacha20Poly1305Sha256}) {
        const int kRecords = 20000;
        const std::string msg(64, 'm');
        Peers one(s);
        std::string w1;
        // (touched before timing: page faults are not the record layer's cost)
        w1.resize(kRecords * 100);
        w1.clear();
        // burst: one connection
        auto t0 = Clock::now();
        for (int i = 0; i < kRecords; ++i)
            one.peer->seal(msg.data(), msg.size(), w1);
        auto t1 = Clock::now();
        size_t delivered = 0;
        auto sink = [&](const char*, size_t n) { delivered += n; };
        EXPECT_EQ(one.us->open(w1.data(), w1.size(), sink, one.out), Status::Ok);
        auto t2 = Clock::now();
        // in turn: two connections with different keys
        std::string c1(s == Suite::Aes256GcmSha384 ? 48 : 32, '1'), c2(c1.size(), '2'), sv(c1.size(), 's');
        auto a = TlsRecords::for_test(s, c1, sv), a_peer = TlsRecords::for_test(s, sv, c1);
        auto b = TlsRecords::for_test(s, c2, sv), b_peer = TlsRecords::for_test(s, sv, c2);
        std::string wa, wb, outa, outb;
        wa.resize(kRecords * 50);
        wa.clear();
        wb.resize(kRecords * 50);
        wb.clear();
        auto t3 = Clock::now();
        for (int i = 0; i < kRecords / 2; ++i) {
            a_peer->seal(msg.data(), msg.size(), wa);
            b_peer->seal(msg.data(), msg.size(), wb);
        }
        auto t4 = Clock::now();
        const size_t rec = 64 + 22;
        for (int i = 0; i < kRecords / 2; ++i) {
            a->open(&wa[i * rec], rec, sink, outa);
            b->open(&wb[i * rec], rec, sink, outb);
        }
        auto t5 = Clock::now();
        EXPECT_EQ(delivered, size_t(kRecords) * 2 * 64);
        std::printf(
            "[ info ] suite %d, 64-byte records: one connection: seal %.0f ns, open %.0f ns; two in turn: "
            "seal %.0f ns, open %.0f ns per record\n",
            int(s), per(t0, t1, kRecords), per(t1, t2, kRecords), per(t3, t4, kRecords), per(t4, t5, kRecords));
    }
}

}  // namespace
