// The records of a connection after its handshake: see tls_records.hpp (the
// take-over: tls_records_capture.cpp; the cryptography: tls_records_crypto.cpp).
#include "net/tls_records.hpp"

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cstring>

#include "net/tls_records_crypto.hpp"

namespace blynk::net {

namespace {

using namespace tls_records_crypto;

// Alert levels and descriptions (RFC 8446 §6, RFC 5246 §7.2).
constexpr uint8_t kWarning = 1, kFatal = 2;
constexpr uint8_t kCloseNotify = 0, kUnexpectedMessage = 10, kBadRecordMac = 20, kRecordOverflow = 22,
                  kIllegalParameter = 47, kDecodeError = 50, kProtocolVersion = 70, kUserCanceled = 90,
                  kNoRenegotiation = 100;
// Content types and the handshake messages accepted after the handshake
// (TLS 1.3: KeyUpdate; TLS 1.2: a ClientHello, refused).
constexpr uint8_t kChangeCipherSpec = 20, kAlert = 21, kHandshake = 22, kApplicationData = 23, kKeyUpdate = 24,
                  kClientHello = 1;
constexpr size_t kHeader = 5, kExplicitNonce = 8;

std::string alert_text(const char* prefix, uint8_t alert) {
    return std::string(prefix) + SSL_alert_desc_string_long(alert) + " (" + std::to_string(alert) + ")";
}

}  // namespace

std::unique_ptr<TlsRecords> TlsRecords::for_test(Suite suite, std::string_view read_secret,
                                                 std::string_view write_secret, Version version) {
    if (!cipher_of(suite)) return nullptr;
    std::unique_ptr<TlsRecords> r(new TlsRecords(suite, version));
    auto* rd = reinterpret_cast<const uint8_t*>(read_secret.data());
    auto* wr = reinterpret_cast<const uint8_t*>(write_secret.data());
    if (version == Version::Tls13) {
        size_t hash_len = suite == Suite::Aes256GcmSha384 ? 48 : 32;
        if (read_secret.size() != hash_len || write_secret.size() != hash_len) return nullptr;
        r->key13(rd, wr);
    } else {
        size_t len = key_len_of(suite) + iv_len12(suite);
        if (read_secret.size() != len || write_secret.size() != len) return nullptr;
        r->key12(rd, wr);
    }
    if (r->status_ != Status::Ok) return nullptr;
    return r;
}

TlsRecords::TlsRecords(Suite suite, Version version)
    : write_limit_(version == Version::Tls12 && suite == Suite::Chacha20Poly1305Sha256 ? UINT64_MAX
                                                                                       : kWriteRecordLimit),
      suite_(suite),
      version_(version),
      hash_len_(suite == Suite::Aes256GcmSha384 ? 48 : 32),
      key_len_(uint8_t(key_len_of(suite))),
      iv_len_(uint8_t(version == Version::Tls13 ? kIv : iv_len12(suite))) {}

void TlsRecords::key13(const uint8_t* read_secret, const uint8_t* write_secret) {
    std::memcpy(read_.secret, read_secret, hash_len_);
    std::memcpy(write_.secret, write_secret, hash_len_);
    derive(read_);
    derive(write_);
}

void TlsRecords::key12(const uint8_t* read_key_iv, const uint8_t* write_key_iv) {
    std::memcpy(read_.key, read_key_iv, key_len_);
    std::memcpy(read_.iv, read_key_iv + key_len_, iv_len_);
    std::memcpy(write_.key, write_key_iv, key_len_);
    std::memcpy(write_.iv, write_key_iv + key_len_, iv_len_);
}

size_t TlsRecords::explicit_nonce() const {
    return version_ == Version::Tls12 && suite_ != Suite::Chacha20Poly1305Sha256 ? kExplicitNonce : 0;
}

TlsRecords::~TlsRecords() {
    forget_thread_keys(suite_, this);
    drop_partial();
    OPENSSL_cleanse(&read_, sizeof read_);
    OPENSSL_cleanse(&write_, sizeof write_);
    OPENSSL_cleanse(hs_, sizeof hs_);
}

void TlsRecords::derive(Direction& d) {
    d.seq = 0;
    if (!expand_label(suite_, d.secret, hash_len_, "key", d.key, key_len_) ||
        !expand_label(suite_, d.secret, hash_len_, "iv", d.iv, kIv)) {
        status_ = Status::Failed;
        error_ = "internal error: key derivation failed";
    }
}

void TlsRecords::update(Direction& d) {
    uint8_t next[48];
    if (!expand_label(suite_, d.secret, hash_len_, "traffic upd", next, hash_len_)) {
        status_ = Status::Failed;
        error_ = "internal error: key update failed";
        return;
    }
    std::memcpy(d.secret, next, hash_len_);
    OPENSSL_cleanse(next, sizeof next);
    derive(d);
}

size_t TlsRecords::buffered() const {
    return size_t(hdr_have_) + body_have_;
}

void TlsRecords::drop_partial() {
    if (body_) OPENSSL_cleanse(body_.get(), body_len_);
    body_.reset();
    body_len_ = body_have_ = body_cap_ = 0;
    hdr_have_ = 0;
}

// One record, as is; false (status Failed, nothing appended) if it cannot be sealed.
bool TlsRecords::seal_raw(uint8_t type, const char* data, size_t n, size_t padding, std::string& out) {
    bool v12 = version_ == Version::Tls12;
    if (v12) padding = 0;
    size_t ex = explicit_nonce();
    size_t inner = v12 ? n : n + 1 + padding;  // what is encrypted
    size_t body = ex + inner + kTag;
    size_t at = out.size();
    out.resize(at + kHeader + body);
    auto* p = reinterpret_cast<uint8_t*>(&out[at]);
    p[0] = v12 ? type : kApplicationData;
    p[1] = 3;
    p[2] = 3;
    p[3] = uint8_t(body >> 8);
    p[4] = uint8_t(body);
    uint8_t* text = p + kHeader + ex;
    if (n) std::memcpy(text, data, n);
    if (!v12) {
        text[n] = type;
        std::memset(text + n + 1, 0, padding);
    }
    uint8_t nonce[kIv], aad12[13];
    if (ex) {  // TLS 1.2 AES-GCM: salt || explicit nonce, our sequence number (sent)
        std::memcpy(nonce, write_.iv, 4);
        put_u64(nonce + 4, write_.seq);
        std::memcpy(p + kHeader, nonce + 4, kExplicitNonce);
    } else {
        make_nonce(write_.iv, write_.seq, nonce);
    }
    if (v12) make_aad12(write_.seq, type, n, aad12);
    bool sealed = !fail_next_seal_ && aead(this, true, suite_, write_.key, key_len_, nonce, v12 ? aad12 : p,
                                           v12 ? sizeof aad12 : kHeader, text, inner, text + inner);
    if (!sealed) {
        fail_next_seal_ = false;
        OPENSSL_cleanse(p, kHeader + body);
        out.resize(at);
        status_ = Status::Failed;
        if (error_.empty()) error_ = "internal error: encryption failed";
        return false;
    }
    ++write_.seq;
    return true;
}

// Our KeyUpdate; the write key switches only once it is sealed under the old one.
bool TlsRecords::send_key_update(bool request, std::string& out) {
    const char msg[5] = {char(kKeyUpdate), 0, 0, 1, char(request ? 1 : 0)};
    if (!seal_raw(kHandshake, msg, sizeof msg, 0, out)) return false;
    key_update_due_ = false;
    update(write_);
    return status_ != Status::Failed;
}

// Before a record of ours once a KeyUpdate is due (the peer's request, or our
// write limit): TLS 1.3 sends it; TLS 1.2 AES-GCM cannot rekey and refuses
// the record at its limit.
bool TlsRecords::before_write_limit(std::string& out) {
    if (version_ == Version::Tls13) return send_key_update(false, out);
    if (write_.seq < write_limit_) return true;
    status_ = Status::Failed;
    error_ = "the TLS 1.2 AES-GCM write key has sealed its limit of records (TLS 1.2 cannot rekey)";
    return false;
}

bool TlsRecords::seal(const char* data, size_t n, std::string& out) {
    if (status_ == Status::Failed) return false;
    while (n > 0) {
        size_t chunk = std::min<size_t>(n, max_plain_);
        // (one test per record on the common path: both are rare)
        if ((key_update_due_ || write_.seq + 1 >= write_limit_) && !before_write_limit(out)) return false;
        if (!seal_raw(kApplicationData, data, chunk, 0, out)) return false;
        data += chunk;
        n -= chunk;
    }
    return true;
}

bool TlsRecords::close_notify(std::string& out) {
    if (status_ == Status::Failed) return false;
    if ((key_update_due_ || write_.seq + 1 >= write_limit_) && !before_write_limit(out)) return false;
    const char alert[2] = {char(kWarning), char(kCloseNotify)};
    return seal_raw(kAlert, alert, sizeof alert, 0, out);
}

void TlsRecords::seal_record_for_test(uint8_t type, const char* data, size_t n, size_t padding, std::string& out) {
    if (!seal_raw(type, data, n, padding, out)) return;
    if (version_ == Version::Tls13 && type == kHandshake && n == 5 && uint8_t(data[0]) == kKeyUpdate) update(write_);
}

int TlsRecords::keyed_thread_contexts_for_test() {
    return keyed_thread_contexts();
}

void TlsRecords::set_write_record_limit_for_test(uint64_t limit) {
    if (write_limit_ != UINT64_MAX) write_limit_ = std::max<uint64_t>(limit, 2);
}

// One more KeyUpdate, empty record or warning alert in a row: fatal past the cap.
bool TlsRecords::control_in_a_row(uint8_t& count, uint8_t limit, const char* why, std::string& out) {
    if (count >= limit) return fail(kUnexpectedMessage, why, out);
    ++count;
    return true;
}

bool TlsRecords::fail(uint8_t alert, const char* why, std::string& out) {
    if (status_ != Status::Ok) return false;
    status_ = Status::Failed;
    error_ = why;
    drop_partial();
    OPENSSL_cleanse(hs_, sizeof hs_);
    hs_have_ = 0;
    hs_skip_ = 0;
    const char msg[2] = {char(kFatal), char(alert)};
    seal_raw(kAlert, msg, sizeof msg, 0, out);
    status_ = Status::Failed;
    return false;
}

// The record's ciphertext length from its header, or 0 after a failure.
size_t TlsRecords::check_header(const uint8_t* h, std::string& out) {
    bool v12 = version_ == Version::Tls12;
    if (h[0] == kChangeCipherSpec) {
        fail(kUnexpectedMessage, "unexpected_message: a change_cipher_spec record after the handshake", out);
        return 0;
    }
    if (v12 ? h[0] != kAlert && h[0] != kHandshake && h[0] != kApplicationData : h[0] != kApplicationData) {
        fail(kUnexpectedMessage,
             v12 ? "unexpected_message: a record of unknown content type"
                 : "unexpected_message: a record of outer type other than application_data",
             out);
        return 0;
    }
    if (h[1] != 3 || h[2] != 3) {
        fail(kProtocolVersion, "protocol_version: a record version other than 0x0303", out);
        return 0;
    }
    size_t len = size_t(h[3]) << 8 | h[4];
    if (len > (v12 ? kMaxRecord12 : kMaxRecord) - kHeader) {
        fail(kRecordOverflow,
             v12 ? "record_overflow: a record longer than 2^14 + 2048 bytes"
                 : "record_overflow: a record longer than 2^14 + 256 bytes",
             out);
        return 0;
    }
    if (len < explicit_nonce() + kTag) {
        fail(kBadRecordMac, "bad_record_mac: a record shorter than its nonce and tag", out);
        return 0;
    }
    return len;
}

TlsRecords::Status TlsRecords::open(char* data, size_t n, Sink deliver, std::string& out) {
    // The buffer of a partial record completed in this call: reused if another
    // partial record starts before the call ends (a stream read in pieces that
    // end mid-record allocates once), freed at the end of the call.
    std::unique_ptr<char[]> spare;
    size_t spare_cap = 0;
    auto start_body = [&](size_t len) {
        if (spare && spare_cap >= len) {
            body_ = std::move(spare);
            body_cap_ = uint16_t(spare_cap);
        } else {
            body_.reset(new char[len]);
            body_cap_ = uint16_t(len);
        }
        body_len_ = uint16_t(len);
    };

    while (n > 0 && status_ == Status::Ok) {
        if (hdr_have_ > 0 || (n < kHeader && !body_)) {
            if (hdr_have_ < kHeader) {  // completing a header
                size_t take = std::min(kHeader - hdr_have_, n);
                std::memcpy(hdr_ + hdr_have_, data, take);
                hdr_have_ = uint8_t(hdr_have_ + take);
                data += take;
                n -= take;
                if (hdr_have_ < kHeader) break;
                size_t len = check_header(hdr_, out);
                if (!len) break;
                start_body(len);
                body_have_ = 0;
                continue;
            }
            size_t take = std::min<size_t>(body_len_ - body_have_, n);  // completing a body
            std::memcpy(body_.get() + body_have_, data, take);
            body_have_ = uint16_t(body_have_ + take);
            data += take;
            n -= take;
            if (body_have_ < body_len_) break;
            uint8_t header[kHeader];
            std::memcpy(header, hdr_, kHeader);
            spare = std::move(body_);
            spare_cap = body_cap_;
            size_t len = body_len_;
            body_len_ = body_have_ = body_cap_ = 0;
            hdr_have_ = 0;
            record(header, spare.get(), len, deliver, out);
            OPENSSL_cleanse(spare.get(), len);
            continue;
        }
        // A record starting in `data`: opened in place if it is all there.
        auto* h = reinterpret_cast<const uint8_t*>(data);
        size_t len = check_header(h, out);
        if (!len) break;
        if (n < kHeader + len) {
            std::memcpy(hdr_, h, kHeader);
            hdr_have_ = kHeader;
            start_body(len);
            body_have_ = uint16_t(n - kHeader);
            std::memcpy(body_.get(), data + kHeader, body_have_);
            break;
        }
        uint8_t header[kHeader];
        std::memcpy(header, h, kHeader);
        record(header, data + kHeader, len, deliver, out);
        data += kHeader + len;
        n -= kHeader + len;
    }
    // One KeyUpdate answers every request of this call (RFC 8446 §4.6.3).
    if (key_update_due_ && status_ == Status::Ok) send_key_update(false, out);
    return status_;
}

bool TlsRecords::record(const uint8_t* header, char* body, size_t len, Sink& deliver, std::string& out) {
    if (version_ == Version::Tls12) return record12(header, body, len, deliver, out);
    auto* p = reinterpret_cast<uint8_t*>(body);
    size_t clen = len - kTag;
    uint8_t nonce[kIv];
    make_nonce(read_.iv, read_.seq, nonce);
    if (!aead(this, false, suite_, read_.key, key_len_, nonce, header, kHeader, p, clen, p + clen))
        return fail(kBadRecordMac, "bad_record_mac: a record failed authentication", out);
    if (++read_.seq == 0) return fail(kUnexpectedMessage, "unexpected_message: read sequence number wrapped", out);
    // The inner plaintext with its type and padding (RFC 8446 §5.4).
    if (clen > size_t(max_plain_) + 1)
        return fail(kRecordOverflow, "record_overflow: an inner plaintext (content, type, padding) too long", out);
    size_t i = clen;
    while (i > 0 && p[i - 1] == 0)
        --i;
    if (i == 0) return fail(kUnexpectedMessage, "unexpected_message: a record without content type", out);
    uint8_t type = p[i - 1];
    size_t m = i - 1;
    if (hs_have_ && type != kHandshake)
        return fail(kUnexpectedMessage, "unexpected_message: a record inside a split handshake message", out);
    switch (type) {
        case kApplicationData:
            if (m == 0)
                return control_in_a_row(empty_records_in_a_row_, kMaxControlInARow,
                                        "unexpected_message: too many empty records in a row", out);
            key_updates_in_a_row_ = empty_records_in_a_row_ = warning_alerts_in_a_row_ = 0;
            deliver(body, m);
            return true;
        case kAlert:
            if (m == 0) return fail(kUnexpectedMessage, "unexpected_message: an empty alert record", out);
            if (m != 2) return fail(kDecodeError, "decode_error: an alert record not of 2 bytes", out);
            if (p[1] == kUserCanceled)
                return control_in_a_row(warning_alerts_in_a_row_, kMaxWarningAlertsInARow,
                                        "unexpected_message: too many warning alerts in a row", out);
            status_ = p[1] == kCloseNotify ? Status::Closed : Status::Failed;
            error_ = alert_text("peer sent alert: ", p[1]);
            drop_partial();
            return false;
        case kHandshake:
            return handshake(body, m, out);
        default:
            return fail(kUnexpectedMessage, "unexpected_message: an unknown inner content type", out);
    }
}

bool TlsRecords::handshake(const char* p, size_t n, std::string& out) {
    if (n == 0) return fail(kUnexpectedMessage, "unexpected_message: an empty handshake record", out);
    while (n > 0) {
        hs_[hs_have_++] = uint8_t(*p++);
        --n;
        if (hs_have_ == 1 && hs_[0] != kKeyUpdate)
            return fail(kUnexpectedMessage, "unexpected_message: a handshake message other than KeyUpdate", out);
        if (hs_have_ == 4 && (hs_[1] || hs_[2] || hs_[3] != 1))
            return fail(kDecodeError, "decode_error: a KeyUpdate not of length 1", out);
        if (hs_have_ < 5) continue;
        bool requested = hs_[4] == 1;
        if (hs_[4] > 1) return fail(kIllegalParameter, "illegal_parameter: KeyUpdate request_update not 0 or 1", out);
        if (n > 0) return fail(kUnexpectedMessage, "unexpected_message: a KeyUpdate not at the end of its record", out);
        if (!control_in_a_row(key_updates_in_a_row_, kMaxControlInARow,
                              "unexpected_message: too many KeyUpdates in a row", out))
            return false;
        hs_have_ = 0;
        update(read_);
        // Answered once at the end of open() (or before our next record),
        // however many requests come meanwhile.
        if (requested) key_update_due_ = true;
        return status_ == Status::Ok;
    }
    return true;  // a KeyUpdate split across records: the rest comes next
}

bool TlsRecords::record12(const uint8_t* header, char* body, size_t len, Sink& deliver, std::string& out) {
    auto* p = reinterpret_cast<uint8_t*>(body);
    size_t ex = explicit_nonce();
    size_t m = len - ex - kTag;
    uint8_t nonce[kIv], aad[13];
    if (ex) {  // salt || the explicit nonce the peer sent
        std::memcpy(nonce, read_.iv, 4);
        std::memcpy(nonce + 4, p, kExplicitNonce);
    } else {
        make_nonce(read_.iv, read_.seq, nonce);
    }
    make_aad12(read_.seq, header[0], m, aad);
    uint8_t* text = p + ex;
    if (!aead(this, false, suite_, read_.key, key_len_, nonce, aad, sizeof aad, text, m, text + m))
        return fail(kBadRecordMac, "bad_record_mac: a record failed authentication", out);
    if (++read_.seq == 0) return fail(kUnexpectedMessage, "unexpected_message: read sequence number wrapped", out);
    if (m > max_plain_) return fail(kRecordOverflow, "record_overflow: a plaintext longer than allowed", out);
    uint8_t type = header[0];
    if (hs_have_ && type != kHandshake)
        return fail(kUnexpectedMessage, "unexpected_message: a record inside a split handshake message", out);
    switch (type) {
        case kApplicationData:
            if (m == 0)
                return control_in_a_row(empty_records_in_a_row_, kMaxControlInARow,
                                        "unexpected_message: too many empty records in a row", out);
            key_updates_in_a_row_ = empty_records_in_a_row_ = warning_alerts_in_a_row_ = 0;
            deliver(reinterpret_cast<char*>(text), m);
            return true;
        case kAlert:
            if (m == 0) return fail(kUnexpectedMessage, "unexpected_message: an empty alert record", out);
            if (m != 2) return fail(kDecodeError, "decode_error: an alert record not of 2 bytes", out);
            if (text[0] == kWarning && text[1] != kCloseNotify)  // as OpenSSL: ignored (a few)
                return control_in_a_row(warning_alerts_in_a_row_, kMaxWarningAlertsInARow,
                                        "unexpected_message: too many warning alerts in a row", out);
            if (text[0] != kWarning && text[0] != kFatal)
                return fail(kIllegalParameter, "illegal_parameter: an alert of unknown level", out);
            status_ = text[0] == kWarning ? Status::Closed : Status::Failed;
            error_ = alert_text("peer sent alert: ", text[1]);
            if (refused_renegotiation_ && status_ == Status::Failed)
                error_ += " after we refused its renegotiation (no_renegotiation)";
            drop_partial();
            return false;
        default:  // kHandshake (check_header let no other type through)
            return handshake12(reinterpret_cast<char*>(text), m, out);
    }
}

// A client's ClientHello after the handshake is a renegotiation. The first is
// skipped and answered with a warning no_renegotiation, as OpenSSL does with
// SSL_OP_NO_RENEGOTIATION (RFC 5246 §7.2.2; the client decides what next); a
// second one is fatal, as in rustls: a client that asks again after a refusal
// only makes us seal alerts (and OpenSSL answers each one, without end).
bool TlsRecords::handshake12(const char* p, size_t n, std::string& out) {
    if (n == 0) return fail(kUnexpectedMessage, "unexpected_message: an empty handshake record", out);
    while (n > 0) {
        if (hs_have_ < 4) {
            hs_[hs_have_++] = uint8_t(*p++);
            --n;
            if (hs_have_ == 1 && hs_[0] != kClientHello)
                return fail(kUnexpectedMessage, "unexpected_message: a handshake message other than ClientHello", out);
            if (hs_have_ == 1 && refused_renegotiation_)
                return fail(kNoRenegotiation, "no_renegotiation: a second renegotiation after we refused one", out);
            if (hs_have_ < 4) continue;
            hs_skip_ = uint32_t(hs_[1]) << 16 | uint32_t(hs_[2]) << 8 | hs_[3];
            if (hs_skip_ > kMaxClientHello)
                return fail(kIllegalParameter, "illegal_parameter: a renegotiation ClientHello too long", out);
        } else {
            size_t take = std::min<size_t>(hs_skip_, n);
            hs_skip_ -= uint32_t(take);
            p += take;
            n -= take;
        }
        if (hs_skip_ > 0) continue;
        hs_have_ = 0;
        OPENSSL_cleanse(hs_, sizeof hs_);
        refused_renegotiation_ = true;
        const char alert[2] = {char(kWarning), char(kNoRenegotiation)};
        if (!seal_raw(kAlert, alert, sizeof alert, 0, out)) return false;
    }
    return true;
}

}  // namespace blynk::net
