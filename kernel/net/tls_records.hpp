// The record layer of TLS 1.3 (RFC 8446 §5) and of TLS 1.2 with AEAD suites
// (RFC 5246 §6.2, RFC 5288, RFC 7905) that continues a server connection
// after OpenSSL has done its handshake, so that an idle connection keeps a few
// hundred bytes (keys, sequence numbers) instead of an OpenSSL SSL object
// (~15 KB). Any connection it cannot take over stays with OpenSSL.
//
// Use, on a server SSL_CTX / SSL:
//   tls_records_prepare_context(ctx);            // once per SSL_CTX
//   tls_records_prepare(ssl);                    // per SSL, before its handshake
//   ... SSL_do_handshake(ssl) until it returns 1 ...
//   if (auto rec = TlsRecords::take_over(ssl)) { SSL_free(ssl); /* use rec */ }
//   else tls_records_release(ssl);               // stays with OpenSSL
//
// The capture uses the SSL_CTX's keylog callback and each prepared SSL's
// message callback (until take_over or tls_records_release), so neither can
// serve another purpose. TLS 1.3 keys come from the traffic secrets of the
// keylog; TLS 1.2 keys from the session's master secret and the two randoms
// (the key expansion of RFC 5246 §6.3) at take_over. No secret is ever logged
// or put in an error text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

struct ssl_st;
struct ssl_ctx_st;

namespace blynk::net {

// Once on a server SSL_CTX, before its first connection: installs the keylog
// callback that captures the TLS 1.3 application traffic secrets of prepared
// SSLs (SSLs without capture state are ignored; TLS 1.2 lines are ignored).
void tls_records_prepare_context(ssl_ctx_st* ctx);

// On each new server SSL of such a context, before its handshake: attaches the
// per-connection capture state (~110 bytes), a message callback counting the
// records OpenSSL writes under the server's application key (TLS 1.3) or
// reads and writes after each direction's ChangeCipherSpec (TLS 1.2: the
// sequence numbers), and turns read-ahead off so that OpenSSL reads no byte
// past the client's Finished.
void tls_records_prepare(ssl_st* ssl);

// Test hook (tls_takeover_selftest_test.cpp, BLYNKD_TEST_TLS_SELFTEST_SKEW):
// from now on take_over() adds `skew` to the sequence numbers it counted (the
// write sequence; in TLS 1.2 the read sequence too), as if OpenSSL had changed
// how many records its callbacks report. 0 (the default) turns it off.
void tls_records_set_sequence_skew_for_test(int skew);

// When take_over() returned nullptr (a CCM suite, ...) and OpenSSL keeps the
// connection: wipes and drops the capture state, removes the message callback
// and restores the SSL_CTX's read-ahead setting. Harmless if called twice or
// on an SSL never prepared.
void tls_records_release(ssl_st* ssl);

// The record layer of one TLS 1.3 or TLS 1.2 server connection. Not thread-safe (one
// connection, one thread at a time); the AEAD contexts are per thread and
// shared by every connection of the thread, so an idle connection owns none.
class TlsRecords {
public:
    // The AEAD and hash of the suite: TLS_AES_128_GCM_SHA256 or
    // ECDHE_*_WITH_AES_128_GCM_SHA256, ..._AES_256_GCM_SHA384, ..._CHACHA20_POLY1305_SHA256.
    enum class Suite : uint8_t { Aes128GcmSha256, Aes256GcmSha384, Chacha20Poly1305Sha256 };
    enum class Version : uint8_t { Tls13, Tls12 };
    enum class Status : uint8_t {
        Ok,      // everything given was processed (a partial record may be held)
        Closed,  // the peer sent close_notify; bytes after it are ignored
        Failed,  // a protocol error or a fatal alert from the peer; see error()
    };

    // A non-owning reference to a callable `void(const char* data, size_t n)`
    // (no allocation); the callable must outlive the call it is passed to.
    class Sink {
    public:
        template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, Sink>>>
        Sink(F&& f)  // NOLINT(google-explicit-constructor): meant to take lambdas
            : obj_(const_cast<void*>(static_cast<const void*>(&f))),
              call_([](void* o, const char* p, size_t n) { (*static_cast<std::remove_reference_t<F>*>(o))(p, n); }) {}
        void operator()(const char* p, size_t n) const { call_(obj_, p, n); }

    private:
        void* obj_;
        void (*call_)(void*, const char*, size_t);
    };

    // Largest plaintext of a record (smaller when the client negotiated a
    // max_fragment_length, RFC 6066: then both ways), and largest record on
    // the wire: TLS 1.3: header, ciphertext, content type, tag and padding,
    // 5 + 2^14 + 256; TLS 1.2: header and ciphertext, 5 + 2^14 + 2048.
    static constexpr size_t kMaxPlain = 16384;
    static constexpr size_t kMaxRecord = 5 + kMaxPlain + 256;
    static constexpr size_t kMaxRecord12 = 5 + kMaxPlain + 2048;
    // Records we seal under one key (RFC 8446 §5.5: AES-GCM is safe to about
    // 2^24.5 full records). TLS 1.3: then we send a KeyUpdate and switch keys.
    // TLS 1.2 with AES-GCM cannot rekey (renegotiation is refused): seal()
    // refuses the record after the limit and the connection ends. TLS 1.2
    // ChaCha20-Poly1305 has no such limit. (GCM's explicit nonce is our
    // sequence number, so it is never reused under a key either way.)
    static constexpr uint64_t kWriteRecordLimit = uint64_t(1) << 24;
    // Longest ClientHello skipped in a refused renegotiation (OpenSSL's bound).
    static constexpr uint32_t kMaxClientHello = 131396;
    // Records of each kind that carry no application data and that a peer may
    // send in a row (the count of each starts again at a non-empty
    // application-data record): one more is `unexpected_message`. Each costs
    // us a decryption (and a key derivation) for bytes that bring nothing.
    // KeyUpdates and empty records: 32; warning alerts: 4 (BoringSSL's
    // kMaxKeyUpdates, kMaxEmptyRecords and kMaxWarningAlerts; rustls allows
    // the same numbers of KeyUpdate requests and warning alerts).
    static constexpr uint8_t kMaxControlInARow = 32;
    static constexpr uint8_t kMaxWarningAlertsInARow = 4;

    // Right after SSL_do_handshake() returned 1 on a server SSL prepared with
    // tls_records_prepare(): the record layer that continues this connection, or
    // nullptr when it cannot (neither TLS 1.3 nor 1.2, a suite not implemented
    // here, secrets not captured, early data, a key update seen, a TLS 1.2
    // ChangeCipherSpec count other than one each way (renegotiation), OpenSSL
    // holds unread bytes).
    // On success the capture state is wiped and dropped, the SSL is marked shut
    // down (so freeing it keeps its session valid for resumption), and the
    // caller frees the SSL and talks to the socket itself; bytes OpenSSL had
    // written (session tickets) must have been sent before the first seal().
    // On nullptr nothing is changed: call tls_records_release().
    static std::unique_ptr<TlsRecords> take_over(ssl_st* ssl);

    // For tests and the fuzzer: a record layer keyed directly, with sequence
    // numbers 0. TLS 1.3: `read_secret` is the peer's application traffic
    // secret, `write_secret` ours (each of the suite's hash length: 32, or 48
    // for AES-256-GCM-SHA384). TLS 1.2: each is that direction's write key
    // followed by its IV (16 + 4, 32 + 4 or 32 + 12 bytes). Other lengths:
    // nullptr. A peer for it is for_test(suite, write_secret, read_secret, version).
    static std::unique_ptr<TlsRecords> for_test(Suite suite, std::string_view read_secret,
                                                std::string_view write_secret, Version version = Version::Tls13);

    // Wipes secrets, keys and any buffered bytes, and the calling thread's
    // cipher contexts this connection used last (they hold its key schedule).
    ~TlsRecords();
    TlsRecords(const TlsRecords&) = delete;
    TlsRecords& operator=(const TlsRecords&) = delete;

    // Ciphertext from the socket, any amount (it may end mid-record: the
    // partial record is kept in a buffer of the record's size, reused for the
    // next partial record of the same call, freed when the call ends with no
    // partial record). `data` is writable: complete records are decrypted
    // in place. Every record given is processed; the plaintext of each
    // non-empty application-data record is passed to `deliver` (pointing into
    // `data` or the partial-record buffer, valid during the call only).
    // Records to send in answer are appended to `out`, at most two per call
    // whatever the input: TLS 1.3, one KeyUpdate answering every KeyUpdate
    // request of the call (RFC 8446 §4.6.3 lets them be coalesced) or the
    // fatal alert of a failure; TLS 1.2, our one no_renegotiation warning of
    // the connection and the fatal alert of a failure.
    // Checks, TLS 1.3: outer type 23, version 0x0303, ciphertext ≤ 2^14+256
    // (record_overflow), the AEAD tag (bad_record_mac), inner plaintext
    // (content, type and padding) ≤ 2^14+1, or the max_fragment_length + 1
    // (record_overflow), a non-zero content type; alerts: empty →
    // unexpected_message, not 2 bytes → decode_error, close_notify → Closed,
    // user_canceled ignored, any other → Failed; handshake: only KeyUpdate
    // (it may be split across records but must end its record; no other
    // record type in between); anything else → Failed with unexpected_message.
    // TLS 1.2: type 21, 22 or 23 (change_cipher_spec and others:
    // unexpected_message), version 0x0303, ciphertext ≤ 2^14+2048
    // (record_overflow), the AEAD tag over seq || type || version || length
    // (bad_record_mac), plaintext ≤ 2^14 (record_overflow); alerts: empty →
    // unexpected_message, not 2 bytes → decode_error, close_notify (warning)
    // → Closed, other warnings ignored, fatal → Failed, an unknown level →
    // illegal_parameter; handshake: only a ClientHello (a renegotiation,
    // possibly split across records, no other record type in between, ≤
    // kMaxClientHello). The first is skipped and answered with a warning
    // no_renegotiation alert, as OpenSSL does with SSL_OP_NO_RENEGOTIATION
    // (the connection goes on; an OpenSSL client then gives up with a fatal
    // handshake_failure, which fails the connection with an error text saying
    // so); a second one is Failed with a fatal no_renegotiation, as rustls
    // does. An empty handshake record → unexpected_message. Either version:
    // more than kMaxControlInARow KeyUpdates or empty records, or more than
    // kMaxWarningAlertsInARow warning alerts, in a row → unexpected_message.
    // After Closed or Failed, returns that status again and ignores `data`;
    // after Failed, send `out` and close the socket: nothing more is sealed.
    // `deliver` may call seal() and close_notify() on this object (their
    // records come before anything open() appends to `out` afterwards), never
    // open().
    Status open(char* data, size_t n, Sink deliver, std::string& out);

    // Appends application-data records carrying `data` (≤ 2^14 plaintext bytes
    // each, or the negotiated max_fragment_length; nothing for n == 0) to
    // `out`. TLS 1.3: a KeyUpdate(update_not_requested) goes first when the
    // peer asked for one and we have not answered yet, or after 2^24 records
    // under one key (then the write key changes). False, with error() set and
    // nothing more appended, when the record layer has failed (a fatal alert
    // either way, a record that could not be sealed, TLS 1.2 AES-GCM at its
    // write limit): close the connection. The keys never switch after a record
    // that could not be sealed.
    bool seal(const char* data, size_t n, std::string& out);

    // Appends an encrypted close_notify alert to `out`; nothing (false) when
    // the record layer has failed: a connection that sent or received a fatal
    // alert ends without a close_notify.
    bool close_notify(std::string& out);

    // Why open() returned Failed or Closed, for a log line (never key material).
    const std::string& error() const { return error_; }

    // Bytes of a partial record held (0 when idle).
    size_t buffered() const;

    // For tests and the fuzzer: seals one record of inner content type `type`
    // carrying `data` with `padding` zero bytes, as is (no splitting, no
    // checks). Sealing a KeyUpdate (type 22, message 24) this way switches the
    // write key after the record, as a peer does. TLS 1.2: `type` is the
    // record's type; `padding` is ignored and nothing switches keys.
    void seal_record_for_test(uint8_t type, const char* data, size_t n, size_t padding, std::string& out);
    // For tests: the number of records sealed under one key before our own
    // KeyUpdate (TLS 1.3) or before seal() refuses (TLS 1.2 AES-GCM)
    // (kWriteRecordLimit by default; at least 2; no effect on TLS 1.2 ChaCha20).
    void set_write_record_limit_for_test(uint64_t limit);
    // For tests: the next record we seal fails as if the cipher had failed.
    void fail_next_seal_for_test() { fail_next_seal_ = true; }
    // For tests: as if the client had negotiated this max_fragment_length.
    void set_max_plain_for_test(uint16_t n) { max_plain_ = n; }
    // For tests: the calling thread's cipher contexts that hold a connection's key.
    static int keyed_thread_contexts_for_test();
    // Sequence numbers of the next record read and written under the current keys.
    uint64_t read_sequence() const { return read_.seq; }
    uint64_t write_sequence() const { return write_.seq; }
    Version version() const { return version_; }
    // The largest plaintext of a record either way (kMaxPlain, or the max_fragment_length).
    size_t max_plain() const { return max_plain_; }

private:
    struct Direction {
        uint8_t secret[48];  // TLS 1.3 only
        uint8_t key[32];
        uint8_t iv[12];  // TLS 1.2 AES-GCM: the 4-byte salt
        uint64_t seq;
    };

    TlsRecords(Suite suite, Version version);
    void key13(const uint8_t* read_secret, const uint8_t* write_secret);
    void key12(const uint8_t* read_key_iv, const uint8_t* write_key_iv);
    size_t explicit_nonce() const;
    void derive(Direction& d);
    void update(Direction& d);
    bool seal_raw(uint8_t type, const char* data, size_t n, size_t padding, std::string& out);
    bool send_key_update(bool request, std::string& out);
    bool before_write_limit(std::string& out);
    bool control_in_a_row(uint8_t& count, uint8_t limit, const char* why, std::string& out);
    size_t check_header(const uint8_t* h, std::string& out);
    bool record(const uint8_t* header, char* body, size_t len, Sink& deliver, std::string& out);
    bool record12(const uint8_t* header, char* body, size_t len, Sink& deliver, std::string& out);
    bool handshake(const char* p, size_t n, std::string& out);
    bool handshake12(const char* p, size_t n, std::string& out);
    bool fail(uint8_t alert, const char* why, std::string& out);
    void drop_partial();

    Direction read_{}, write_{};
    uint64_t write_limit_ = kWriteRecordLimit;
    Suite suite_;
    Version version_;
    Status status_ = Status::Ok;
    uint8_t hash_len_;
    uint8_t key_len_;
    uint8_t iv_len_;
    bool refused_renegotiation_ = false;  // TLS 1.2: we sent no_renegotiation
    bool key_update_due_ = false;         // TLS 1.3: the peer asked for a KeyUpdate we have not sent yet
    bool fail_next_seal_ = false;         // fail_next_seal_for_test()
    // KeyUpdates, empty records and warning alerts since the last non-empty
    // application-data record (each ≤ kMaxControlInARow).
    uint8_t key_updates_in_a_row_ = 0;
    uint8_t empty_records_in_a_row_ = 0;
    uint8_t warning_alerts_in_a_row_ = 0;
    uint16_t max_plain_ = kMaxPlain;
    // A partial record: its header (hdr_have_ of 5 bytes), then its body in
    // body_ (body_cap_ ≥ the length the header announced, body_len_).
    uint8_t hdr_[5]{};
    uint8_t hdr_have_ = 0;
    // A handshake message split across records (a KeyUpdate is 5 bytes; TLS
    // 1.2: the 4-byte header of a ClientHello, then hs_skip_ bytes to skip).
    uint8_t hs_[5]{};
    uint8_t hs_have_ = 0;
    uint32_t hs_skip_ = 0;
    uint16_t body_len_ = 0;
    uint16_t body_have_ = 0;
    uint16_t body_cap_ = 0;
    std::unique_ptr<char[]> body_;
    std::string error_;
};

}  // namespace blynk::net
