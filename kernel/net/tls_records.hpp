// A TLS 1.3 record layer (RFC 8446 §5) that continues a server connection
// after OpenSSL has done its handshake, so that an idle connection keeps a few
// hundred bytes (traffic secrets, keys, sequence numbers) instead of an
// OpenSSL SSL object (~15 KB). TLS 1.2 connections, and any connection it
// cannot take over, stay with OpenSSL.
//
// Use, on a server SSL_CTX / SSL:
//   tls_records_prepare_context(ctx);            // once per SSL_CTX
//   tls_records_prepare(ssl);                    // per SSL, before its handshake
//   ... SSL_do_handshake(ssl) until it returns 1 ...
//   if (auto rec = TlsRecords::take_over(ssl)) { SSL_free(ssl); /* use rec */ }
//   else tls_records_release(ssl);               // stays with OpenSSL
//
// The capture uses the SSL_CTX's keylog callback and each prepared SSL's
// message callback (until take_over or tls_records_release), so neither can serve
// another purpose. No secret is ever logged or put in an error text.
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
// per-connection capture state (~100 bytes), a message callback counting the
// records OpenSSL writes under the server's application key, and turns
// read-ahead off so that OpenSSL reads no byte past the client's Finished.
void tls_records_prepare(ssl_st* ssl);

// When take_over() returned nullptr (TLS 1.2, ...) and OpenSSL keeps the
// connection: wipes and drops the capture state, removes the message callback
// and restores the SSL_CTX's read-ahead setting. Harmless if called twice or
// on an SSL never prepared.
void tls_records_release(ssl_st* ssl);

// The record layer of one TLS 1.3 server connection. Not thread-safe (one
// connection, one thread at a time); the AEAD contexts are per thread and
// shared by every connection of the thread, so an idle connection owns none.
class TlsRecords {
public:
    enum class Suite : uint8_t { Aes128GcmSha256, Aes256GcmSha384, Chacha20Poly1305Sha256 };
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

    // Largest plaintext of a record, and largest record on the wire (header,
    // ciphertext, content type, tag and padding: 5 + 2^14 + 256).
    static constexpr size_t kMaxPlain = 16384;
    static constexpr size_t kMaxRecord = 5 + kMaxPlain + 256;
    // Records we seal under one key before we send a KeyUpdate (RFC 8446 §5.5).
    static constexpr uint64_t kWriteRecordLimit = uint64_t(1) << 24;

    // Right after SSL_do_handshake() returned 1 on a server SSL prepared with
    // tls_records_prepare(): the record layer that continues this connection, or
    // nullptr when it cannot (not TLS 1.3, a suite not implemented here, secrets
    // not captured, early data, a key update seen, OpenSSL holds unread bytes).
    // On success the capture state is wiped and dropped, the SSL is marked shut
    // down (so freeing it keeps its session valid for resumption), and the
    // caller frees the SSL and talks to the socket itself; bytes OpenSSL had
    // written (session tickets) must have been sent before the first seal().
    // On nullptr nothing is changed: call tls_records_release().
    static std::unique_ptr<TlsRecords> take_over(ssl_st* ssl);

    // For tests and the fuzzer: a record layer keyed directly. `read_secret` is
    // the peer's application traffic secret, `write_secret` ours (each of the
    // suite's hash length: 32, or 48 for AES-256-GCM-SHA384; otherwise
    // nullptr). A peer for it is for_test(suite, write_secret, read_secret).
    static std::unique_ptr<TlsRecords> for_test(Suite suite, std::string_view read_secret,
                                                std::string_view write_secret);

    ~TlsRecords();  // wipes secrets, keys and any buffered bytes
    TlsRecords(const TlsRecords&) = delete;
    TlsRecords& operator=(const TlsRecords&) = delete;

    // Ciphertext from the socket, any amount (it may end mid-record: the
    // partial record is kept in a buffer of the record's size, reused for the
    // next partial record of the same call, freed when the call ends with no
    // partial record). `data` is writable: complete records are decrypted
    // in place. Every record given is processed; the plaintext of each
    // non-empty application-data record is passed to `deliver` (pointing into
    // `data` or the partial-record buffer, valid during the call only).
    // Records to send in answer (our KeyUpdate when the peer requested one, the
    // fatal alert of a failure) are appended to `out`. Checks: outer type 23,
    // version 0x0303, ciphertext ≤ 2^14+256 (record_overflow), the AEAD tag
    // (bad_record_mac), inner plaintext ≤ 2^14 with a non-zero content type;
    // alerts: close_notify → Closed, user_canceled ignored, any other → Failed;
    // handshake: only KeyUpdate (it may be split across records but must end
    // its record; no other record type in between); anything else → Failed
    // with unexpected_message. After Closed or Failed, returns that status
    // again and ignores `data`; after Failed, send `out` and close the socket.
    // `deliver` may call seal() and close_notify() on this object (their
    // records come before anything open() appends to `out` afterwards), never
    // open().
    Status open(char* data, size_t n, Sink deliver, std::string& out);

    // Appends application-data records carrying `data` (≤ 2^14 plaintext bytes
    // each; nothing for n == 0) to `out`. After 2^24 records under one key, a
    // KeyUpdate(update_not_requested) is sent first and the write key changes.
    void seal(const char* data, size_t n, std::string& out);

    // Appends an encrypted close_notify alert to `out`.
    void close_notify(std::string& out);

    // Why open() returned Failed or Closed, for a log line (never key material).
    const std::string& error() const { return error_; }

    // Bytes of a partial record held (0 when idle).
    size_t buffered() const;

    // For tests and the fuzzer: seals one record of inner content type `type`
    // carrying `data` with `padding` zero bytes, as is (no splitting, no
    // checks). Sealing a KeyUpdate (type 22, message 24) this way switches the
    // write key after the record, as a peer does.
    void seal_record_for_test(uint8_t type, const char* data, size_t n, size_t padding, std::string& out);
    // For tests: the number of records sealed under one key before our own
    // KeyUpdate (kWriteRecordLimit by default; at least 2).
    void set_write_record_limit_for_test(uint64_t limit);
    // Sequence numbers of the next record read and written under the current keys.
    uint64_t read_sequence() const { return read_.seq; }
    uint64_t write_sequence() const { return write_.seq; }

private:
    struct Direction {
        uint8_t secret[48];
        uint8_t key[32];
        uint8_t iv[12];
        uint64_t seq;
    };

    TlsRecords(Suite suite, const uint8_t* read_secret, const uint8_t* write_secret);
    void derive(Direction& d);
    void update(Direction& d);
    void seal_raw(uint8_t type, const char* data, size_t n, size_t padding, std::string& out);
    void send_key_update(bool request, std::string& out);
    bool record(const uint8_t* header, char* body, size_t len, Sink& deliver, std::string& out);
    bool handshake(const char* p, size_t n, std::string& out);
    bool fail(uint8_t alert, const char* why, std::string& out);
    void drop_partial();

    Direction read_{}, write_{};
    uint64_t write_limit_ = kWriteRecordLimit;
    Suite suite_;
    Status status_ = Status::Ok;
    uint8_t hash_len_;
    uint8_t key_len_;
    // A partial record: its header (hdr_have_ of 5 bytes), then its body in
    // body_ (body_cap_ ≥ the length the header announced, body_len_).
    uint8_t hdr_[5]{};
    uint8_t hdr_have_ = 0;
    // A handshake message split across records (a KeyUpdate is 5 bytes).
    uint8_t hs_[5]{};
    uint8_t hs_have_ = 0;
    uint16_t body_len_ = 0;
    uint16_t body_have_ = 0;
    uint16_t body_cap_ = 0;
    std::unique_ptr<char[]> body_;
    std::string error_;
};

}  // namespace blynk::net
