#include "net/tls_records.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cstring>

namespace blynk::net {

namespace {

// Alert levels and descriptions (RFC 8446 §6, RFC 5246 §7.2).
constexpr uint8_t kWarning = 1, kFatal = 2;
constexpr uint8_t kCloseNotify = 0, kUnexpectedMessage = 10, kBadRecordMac = 20, kRecordOverflow = 22,
                  kIllegalParameter = 47, kDecodeError = 50, kProtocolVersion = 70, kUserCanceled = 90,
                  kNoRenegotiation = 100;
// Content types and the handshake messages accepted after the handshake
// (TLS 1.3: KeyUpdate; TLS 1.2: a ClientHello, refused).
constexpr uint8_t kChangeCipherSpec = 20, kAlert = 21, kHandshake = 22, kApplicationData = 23, kKeyUpdate = 24,
                  kClientHello = 1;
constexpr size_t kTag = 16, kIv = 12, kHeader = 5, kExplicitNonce = 8;

// ---- what OpenSSL tells us during the handshake -----------------------------

struct Capture {
    uint8_t client[48];
    uint8_t server[48];
    uint8_t client_len = 0;
    uint8_t server_len = 0;
    bool server_logged = false;  // SERVER_TRAFFIC_SECRET_0 was derived
    bool key_update = false;     // a KeyUpdate went through OpenSSL (either way)
    uint32_t records = 0;        // records written since SERVER_TRAFFIC_SECRET_0
    // TLS 1.2: ChangeCipherSpec records read and written, and the records
    // read and written after the last one of each direction (its Finished,
    // so 1 each after a handshake): the sequence numbers to continue with.
    uint8_t ccs_read = 0;
    uint8_t ccs_written = 0;
    uint32_t read_after_ccs = 0;
    uint32_t written_after_ccs = 0;
};

void wipe_capture(Capture* c) {
    if (!c) return;
    OPENSSL_cleanse(c, sizeof *c);
    delete c;
}

void free_capture(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
    wipe_capture(static_cast<Capture*>(ptr));
}

int capture_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_capture);
    return index;
}

Capture* capture_of(const SSL* ssl) {
    int index = capture_index();
    return index < 0 ? nullptr : static_cast<Capture*>(SSL_get_ex_data(ssl, index));
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// "LABEL <client random hex> <secret hex>": the secret into `dst` (0 length if malformed).
uint8_t parse_secret(std::string_view line, uint8_t* dst) {
    size_t sp = line.rfind(' ');
    if (sp == std::string_view::npos) return 0;
    std::string_view hex = line.substr(sp + 1);
    if (hex.empty() || hex.size() % 2 || hex.size() > 2 * 48) return 0;
    for (size_t i = 0; i < hex.size() / 2; ++i) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            OPENSSL_cleanse(dst, 48);
            return 0;
        }
        dst[i] = uint8_t(hi << 4 | lo);
    }
    return uint8_t(hex.size() / 2);
}

void keylog(const SSL* ssl, const char* line) {
    Capture* c = capture_of(ssl);
    if (!c || !line) return;
    std::string_view l(line);
    constexpr std::string_view kServer = "SERVER_TRAFFIC_SECRET_0 ", kClient = "CLIENT_TRAFFIC_SECRET_0 ";
    if (l.substr(0, kServer.size()) == kServer) {
        c->server_len = parse_secret(l, c->server);
        c->server_logged = true;
        c->records = 0;
    } else if (l.substr(0, kClient.size()) == kClient) {
        c->client_len = parse_secret(l, c->client);
    }
}

void message(int write_p, int, int content_type, const void* buf, size_t len, SSL*, void* arg) {
    auto* c = static_cast<Capture*>(arg);
    if (!c) return;
    // Record headers, either way (TLS 1.2 counts from a ChangeCipherSpec
    // record's header: OpenSSL 3.0 reports the content of a CCS it writes,
    // not of one it reads).
    if (content_type == SSL3_RT_HEADER && len >= 1) {
        if (write_p && c->server_logged) ++c->records;
        bool ccs = static_cast<const uint8_t*>(buf)[0] == SSL3_RT_CHANGE_CIPHER_SPEC;
        uint8_t& ccs_count = write_p ? c->ccs_written : c->ccs_read;
        uint32_t& after = write_p ? c->written_after_ccs : c->read_after_ccs;
        if (ccs) {
            ccs_count = uint8_t(std::min(ccs_count + 1, 255));
            after = 0;
        } else if (ccs_count) {
            ++after;
        }
    }
    if (content_type == SSL3_RT_HANDSHAKE && len > 0 && static_cast<const uint8_t*>(buf)[0] == kKeyUpdate)
        c->key_update = true;
}

void drop_capture(SSL* ssl) {
    int index = capture_index();
    if (index < 0) return;
    wipe_capture(static_cast<Capture*>(SSL_get_ex_data(ssl, index)));
    SSL_set_ex_data(ssl, index, nullptr);
    SSL_set_msg_callback(ssl, nullptr);
    SSL_set_msg_callback_arg(ssl, nullptr);
}

// ---- crypto ------------------------------------------------------------------

using Suite = TlsRecords::Suite;

// Fetched once: an implicit fetch at every EVP_CipherInit is slow in OpenSSL 3.0.
const EVP_CIPHER* cipher_of(Suite s) {
    static EVP_CIPHER* const ciphers[3] = {EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr),
                                           EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr),
                                           EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr)};
    return ciphers[int(s)];
}

// One AEAD context per suite, direction and thread, re-keyed for each record,
// so that connections own none. A context remembers the last key it was given
// and the connection that gave it: consecutive records under one key (a burst
// on one connection) only set the nonce, as OpenSSL's own TLS 1.3 record layer
// does per record; the connection's end wipes the key it left (forget()).
struct ThreadContexts {
    struct Slot {
        EVP_CIPHER_CTX* ctx = nullptr;
        const void* owner = nullptr;  // the TlsRecords whose key this is (when keyed)
        bool keyed = false;
        uint8_t key[32];
    };
    Slot slot[3][2];
    ~ThreadContexts() {
        for (auto& by_suite : slot)
            for (auto& s : by_suite) {
                EVP_CIPHER_CTX_free(s.ctx);
                OPENSSL_cleanse(s.key, sizeof s.key);
            }
    }
    // A connection ends: its key leaves the contexts it was the last to use
    // (re-keyed with zeros, which overwrites the key schedule; no free, so the
    // next connection allocates nothing).
    void forget(Suite s, const void* owner) {
        static const uint8_t zeros[32] = {};
        for (int dir = 0; dir < 2; ++dir) {
            Slot& slot = this->slot[int(s)][dir];
            if (!slot.keyed || slot.owner != owner) continue;
            slot.keyed = false;
            slot.owner = nullptr;
            OPENSSL_cleanse(slot.key, sizeof slot.key);
            if (EVP_CipherInit_ex2(slot.ctx, nullptr, zeros, nullptr, dir, nullptr) != 1) {
                EVP_CIPHER_CTX_free(slot.ctx);  // frees (and wipes) it instead
                slot.ctx = nullptr;
            }
        }
    }
};

ThreadContexts& thread_contexts() {
    thread_local ThreadContexts t;
    return t;
}

// Encrypts buf[0, len) in place and writes the tag; or (decrypt) checks `tag`
// and decrypts in place, for connection `owner`. The AAD is the record header
// (TLS 1.3) or seq_num || type || version || length (TLS 1.2).
bool aead(const void* owner, bool encrypt, Suite s, const uint8_t* key, size_t key_len, const uint8_t* nonce,
          const uint8_t* aad, size_t aad_len, uint8_t* buf, size_t len, uint8_t* tag) {
    ThreadContexts::Slot& slot = thread_contexts().slot[int(s)][encrypt ? 1 : 0];
    if (!slot.ctx) {
        const EVP_CIPHER* cipher = cipher_of(s);
        slot.ctx = cipher ? EVP_CIPHER_CTX_new() : nullptr;
        if (!slot.ctx) return false;
        if (EVP_CipherInit_ex2(slot.ctx, cipher, nullptr, nullptr, encrypt ? 1 : 0, nullptr) != 1) {
            EVP_CIPHER_CTX_free(slot.ctx);
            slot.ctx = nullptr;
            return false;
        }
    }
    EVP_CIPHER_CTX* c = slot.ctx;
    bool same_key = slot.keyed && CRYPTO_memcmp(slot.key, key, key_len) == 0;
    int outl = 0;
    if (EVP_CipherInit_ex2(c, nullptr, same_key ? nullptr : key, nonce, encrypt ? 1 : 0, nullptr) != 1) {
        slot.keyed = false;
        return false;
    }
    if (!same_key) {
        std::memcpy(slot.key, key, key_len);
        slot.keyed = true;
    }
    slot.owner = owner;
    if (EVP_CipherUpdate(c, nullptr, &outl, aad, int(aad_len)) != 1) return false;
    if (len && EVP_CipherUpdate(c, buf, &outl, buf, int(len)) != 1) return false;
    if (!encrypt && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, int(kTag), tag) != 1) return false;
    if (EVP_CipherFinal_ex(c, buf + len, &outl) != 1) return false;
    return !encrypt || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, int(kTag), tag) == 1;
}

// HKDF-Expand-Label(secret, label, "", out_len) for out_len ≤ the hash length
// (one HMAC block: T(1) = HMAC(secret, HkdfLabel || 0x01)).
bool expand_label(Suite s, const uint8_t* secret, size_t secret_len, std::string_view label, uint8_t* out,
                  size_t out_len) {
    uint8_t info[2 + 1 + 6 + 16 + 1 + 1];
    if (label.size() > 16) return false;
    size_t n = 0;
    info[n++] = uint8_t(out_len >> 8);
    info[n++] = uint8_t(out_len);
    info[n++] = uint8_t(6 + label.size());
    std::memcpy(info + n, "tls13 ", 6);
    n += 6;
    std::memcpy(info + n, label.data(), label.size());
    n += label.size();
    info[n++] = 0;  // empty context
    info[n++] = 1;  // HKDF-Expand block counter
    uint8_t t[EVP_MAX_MD_SIZE];
    unsigned int t_len = 0;
    const EVP_MD* md = s == Suite::Aes256GcmSha384 ? EVP_sha384() : EVP_sha256();
    bool ok = HMAC(md, secret, int(secret_len), info, n, t, &t_len) != nullptr && t_len >= out_len;
    if (ok) std::memcpy(out, t, out_len);
    OPENSSL_cleanse(t, sizeof t);
    return ok;
}

void make_nonce(const uint8_t* iv, uint64_t seq, uint8_t* nonce) {
    std::memcpy(nonce, iv, kIv);
    for (int i = 0; i < 8; ++i)
        nonce[4 + i] ^= uint8_t(seq >> (56 - 8 * i));
}

void put_u64(uint8_t* p, uint64_t v) {
    for (int i = 0; i < 8; ++i)
        p[i] = uint8_t(v >> (56 - 8 * i));
}

// TLS 1.2 AAD (RFC 5246 §6.2.3.3): seq_num || type || version || length.
void make_aad12(uint64_t seq, uint8_t type, size_t len, uint8_t* aad) {
    put_u64(aad, seq);
    aad[8] = type;
    aad[9] = 3;
    aad[10] = 3;
    aad[11] = uint8_t(len >> 8);
    aad[12] = uint8_t(len);
}

// Fetched once, as the ciphers.
EVP_KDF* tls1_prf() {
    static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, "TLS1-PRF", nullptr);
    return kdf;
}

// The TLS 1.2 key block (RFC 5246 §6.3): PRF(master_secret, "key expansion",
// server_random || client_random) with the suite's hash.
bool key_block12(Suite s, const uint8_t* master, size_t master_len, const uint8_t* client_random,
                 const uint8_t* server_random, uint8_t* out, size_t out_len) {
    EVP_KDF* kdf = tls1_prf();
    if (!kdf) return false;
    EVP_KDF_CTX* k = EVP_KDF_CTX_new(kdf);
    if (!k) return false;
    uint8_t seed[13 + 32 + 32];
    std::memcpy(seed, "key expansion", 13);
    std::memcpy(seed + 13, server_random, 32);
    std::memcpy(seed + 45, client_random, 32);
    char digest[8];
    std::memcpy(digest, s == Suite::Aes256GcmSha384 ? "SHA384" : "SHA256", 7);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, const_cast<uint8_t*>(master), master_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed, sizeof seed),
        OSSL_PARAM_construct_end(),
    };
    bool ok = EVP_KDF_derive(k, out, out_len, params) == 1;
    EVP_KDF_CTX_free(k);
    return ok;
}

size_t key_len_of(Suite s) {
    return s == Suite::Aes128GcmSha256 ? 16 : 32;
}

// TLS 1.2: the implicit IV of a direction (GCM salt, or ChaCha20's full IV).
size_t iv_len12(Suite s) {
    return s == Suite::Chacha20Poly1305Sha256 ? 12 : 4;
}

std::string alert_text(const char* prefix, uint8_t alert) {
    return std::string(prefix) + SSL_alert_desc_string_long(alert) + " (" + std::to_string(alert) + ")";
}

}  // namespace

// ---- capture -------------------------------------------------------------------

void tls_records_prepare_context(SSL_CTX* ctx) {
    capture_index();
    cipher_of(Suite::Aes128GcmSha256);
    tls1_prf();
    SSL_CTX_set_keylog_callback(ctx, keylog);
}

void tls_records_prepare(SSL* ssl) {
    int index = capture_index();
    if (index < 0) return;
    drop_capture(ssl);
    auto* c = new Capture();
    if (SSL_set_ex_data(ssl, index, c) != 1) {
        wipe_capture(c);
        return;
    }
    SSL_set_msg_callback(ssl, message);
    SSL_set_msg_callback_arg(ssl, c);
    SSL_set_read_ahead(ssl, 0);
}

void tls_records_release(SSL* ssl) {
    drop_capture(ssl);
    SSL_set_read_ahead(ssl, SSL_CTX_get_read_ahead(SSL_get_SSL_CTX(ssl)));
}

// ---- the record layer -------------------------------------------------------------

std::unique_ptr<TlsRecords> TlsRecords::take_over(SSL* ssl) {
    Capture* c = capture_of(ssl);
    if (!c || !SSL_is_server(ssl) || !SSL_is_init_finished(ssl)) return nullptr;
    int version = SSL_version(ssl);
    if (version != TLS1_3_VERSION && version != TLS1_2_VERSION) return nullptr;
    // OpenSSL must hold no byte we would have to decrypt, and the keys must be
    // the first application keys with the sequence numbers we counted.
    if (SSL_has_pending(ssl) || SSL_pending(ssl) > 0 || SSL_get_shutdown(ssl) != 0) return nullptr;
    const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
    if (!cipher) return nullptr;
    Suite suite;
    uint16_t id = SSL_CIPHER_get_protocol_id(cipher);
    if (version == TLS1_3_VERSION) {
        if (c->key_update || SSL_get_key_update_type(ssl) != SSL_KEY_UPDATE_NONE) return nullptr;
        if (SSL_get_early_data_status(ssl) == SSL_EARLY_DATA_ACCEPTED) return nullptr;
        switch (id) {
            case 0x1301:
                suite = Suite::Aes128GcmSha256;
                break;
            case 0x1302:
                suite = Suite::Aes256GcmSha384;
                break;
            case 0x1303:
                suite = Suite::Chacha20Poly1305Sha256;
                break;
            default:
                return nullptr;  // CCM suites
        }
    } else {
        // One ChangeCipherSpec each way (none of a renegotiation), its
        // Finished after it at least, no renegotiation under way.
        if (c->ccs_read != 1 || c->ccs_written != 1 || c->read_after_ccs == 0 || c->written_after_ccs == 0)
            return nullptr;
        if (SSL_renegotiate_pending(ssl)) return nullptr;
        switch (id) {
            case 0xC02B:  // ECDHE-ECDSA-AES128-GCM-SHA256
            case 0xC02F:  // ECDHE-RSA-AES128-GCM-SHA256
                suite = Suite::Aes128GcmSha256;
                break;
            case 0xC02C:  // ECDHE-ECDSA-AES256-GCM-SHA384
            case 0xC030:  // ECDHE-RSA-AES256-GCM-SHA384
                suite = Suite::Aes256GcmSha384;
                break;
            case 0xCCA8:  // ECDHE-RSA-CHACHA20-POLY1305
            case 0xCCA9:  // ECDHE-ECDSA-CHACHA20-POLY1305
                suite = Suite::Chacha20Poly1305Sha256;
                break;
            default:
                return nullptr;  // CBC, CCM, DHE or static-RSA suites: not configured here
        }
    }
    if (!cipher_of(suite)) return nullptr;
    SSL_SESSION* session = SSL_get_session(ssl);
    if (!session) return nullptr;
    std::unique_ptr<TlsRecords> r;
    if (version == TLS1_3_VERSION) {
        size_t hash_len = suite == Suite::Aes256GcmSha384 ? 48 : 32;
        if (!c->server_logged || c->server_len != hash_len || c->client_len != hash_len) return nullptr;
        r.reset(new TlsRecords(suite, Version::Tls13));
        r->key13(c->client, c->server);
        r->write_.seq = c->records;
    } else {
        uint8_t master[48], client_random[32], server_random[32];
        size_t key_len = key_len_of(suite), iv_len = iv_len12(suite);
        uint8_t block[2 * 32 + 2 * 12];
        size_t block_len = 2 * key_len + 2 * iv_len;
        bool ok = SSL_SESSION_get_master_key(session, master, sizeof master) == sizeof master &&
                  SSL_get_client_random(ssl, client_random, sizeof client_random) == sizeof client_random &&
                  SSL_get_server_random(ssl, server_random, sizeof server_random) == sizeof server_random &&
                  key_block12(suite, master, sizeof master, client_random, server_random, block, block_len);
        if (ok) {
            // client_write_key, server_write_key, client_write_IV, server_write_IV
            uint8_t client[44], server[44];
            std::memcpy(client, block, key_len);
            std::memcpy(server, block + key_len, key_len);
            std::memcpy(client + key_len, block + 2 * key_len, iv_len);
            std::memcpy(server + key_len, block + 2 * key_len + iv_len, iv_len);
            r.reset(new TlsRecords(suite, Version::Tls12));
            r->key12(client, server);
            r->read_.seq = c->read_after_ccs;
            r->write_.seq = c->written_after_ccs;
            OPENSSL_cleanse(client, sizeof client);
            OPENSSL_cleanse(server, sizeof server);
        }
        OPENSSL_cleanse(master, sizeof master);
        OPENSSL_cleanse(block, sizeof block);
        if (!ok) return nullptr;
    }
    if (r->status_ != Status::Ok) return nullptr;
    // A max_fragment_length the client asked for (RFC 6066) holds both ways.
    uint8_t mfl = SSL_SESSION_get_max_fragment_length(session);
    if (mfl >= TLSEXT_max_fragment_length_512 && mfl <= TLSEXT_max_fragment_length_4096)
        r->max_plain_ = uint16_t(512u << (mfl - TLSEXT_max_fragment_length_512));
    drop_capture(ssl);
    // Freed without a close_notify, OpenSSL would drop the session from its cache.
    SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    return r;
}

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
    thread_contexts().forget(suite_, this);
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
    int n = 0;
    for (auto& by_suite : thread_contexts().slot)
        for (auto& slot : by_suite)
            n += slot.keyed ? 1 : 0;
    return n;
}

void TlsRecords::set_write_record_limit_for_test(uint64_t limit) {
    if (write_limit_ != UINT64_MAX) write_limit_ = std::max<uint64_t>(limit, 2);
}

// One more KeyUpdate, empty record or warning alert in a row: fatal past the cap.
bool TlsRecords::control_in_a_row(uint8_t& count, const char* why, std::string& out) {
    if (count >= kMaxControlInARow) return fail(kUnexpectedMessage, why, out);
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
                return control_in_a_row(empty_records_in_a_row_, "unexpected_message: too many empty records in a row",
                                        out);
            key_updates_in_a_row_ = empty_records_in_a_row_ = warning_alerts_in_a_row_ = 0;
            deliver(body, m);
            return true;
        case kAlert:
            if (m == 0) return fail(kUnexpectedMessage, "unexpected_message: an empty alert record", out);
            if (m != 2) return fail(kDecodeError, "decode_error: an alert record not of 2 bytes", out);
            if (p[1] == kUserCanceled)
                return control_in_a_row(warning_alerts_in_a_row_,
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
        if (!control_in_a_row(key_updates_in_a_row_, "unexpected_message: too many KeyUpdates in a row", out))
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
                return control_in_a_row(empty_records_in_a_row_, "unexpected_message: too many empty records in a row",
                                        out);
            key_updates_in_a_row_ = empty_records_in_a_row_ = warning_alerts_in_a_row_ = 0;
            deliver(reinterpret_cast<char*>(text), m);
            return true;
        case kAlert:
            if (m == 0) return fail(kUnexpectedMessage, "unexpected_message: an empty alert record", out);
            if (m != 2) return fail(kDecodeError, "decode_error: an alert record not of 2 bytes", out);
            if (text[0] == kWarning && text[1] != kCloseNotify)  // as OpenSSL: ignored (a few)
                return control_in_a_row(warning_alerts_in_a_row_,
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
