// The cryptography of the TLS record layer (tls_records.hpp), shared by the
// take-over (tls_records_capture.cpp) and the records (tls_records.cpp):
// the suites' AEAD through per-thread OpenSSL contexts, TLS 1.3's
// HKDF-Expand-Label, TLS 1.2's key expansion, nonces and AAD. Internal to
// blynk_tls_records.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "net/tls_records.hpp"

namespace blynk::net::tls_records_crypto {

using Suite = TlsRecords::Suite;

constexpr size_t kTag = 16, kIv = 12;

// The suite's cipher, fetched once: an implicit fetch at every EVP_CipherInit
// is slow in OpenSSL 3.0 (nullptr if this OpenSSL lacks it).
const EVP_CIPHER* cipher_of(Suite s);

// Encrypts buf[0, len) in place and writes the tag; or (decrypt) checks `tag`
// and decrypts in place, for connection `owner`. The AAD is the record header
// (TLS 1.3) or seq_num || type || version || length (TLS 1.2). The contexts
// are the calling thread's: one per suite and direction, re-keyed when the key
// differs from the last record's (a burst of one connection only sets nonces).
bool aead(const void* owner, bool encrypt, Suite s, const uint8_t* key, size_t key_len, const uint8_t* nonce,
          const uint8_t* aad, size_t aad_len, uint8_t* buf, size_t len, uint8_t* tag);

// Connection `owner` ends: the calling thread's contexts it was the last to
// key are re-keyed with zeros (its key schedule does not outlive it).
void forget_thread_keys(Suite s, const void* owner);

// The calling thread's contexts that hold a connection's key (for tests).
int keyed_thread_contexts();

// HKDF-Expand-Label(secret, label, "", out_len) for out_len ≤ the hash length
// (one HMAC block: T(1) = HMAC(secret, HkdfLabel || 0x01)).
bool expand_label(Suite s, const uint8_t* secret, size_t secret_len, std::string_view label, uint8_t* out,
                  size_t out_len);

// TLS 1.2's PRF, fetched once, as the ciphers.
EVP_KDF* tls1_prf();

// The TLS 1.2 key block (RFC 5246 §6.3): PRF(master_secret, "key expansion",
// server_random || client_random) with the suite's hash.
bool key_block12(Suite s, const uint8_t* master, size_t master_len, const uint8_t* client_random,
                 const uint8_t* server_random, uint8_t* out, size_t out_len);

size_t key_len_of(Suite s);
// TLS 1.2: the implicit IV of a direction (GCM salt, or ChaCha20's full IV).
size_t iv_len12(Suite s);

inline void make_nonce(const uint8_t* iv, uint64_t seq, uint8_t* nonce) {
    std::memcpy(nonce, iv, kIv);
    for (int i = 0; i < 8; ++i)
        nonce[4 + i] ^= uint8_t(seq >> (56 - 8 * i));
}

inline void put_u64(uint8_t* p, uint64_t v) {
    for (int i = 0; i < 8; ++i)
        p[i] = uint8_t(v >> (56 - 8 * i));
}

// TLS 1.2 AAD (RFC 5246 §6.2.3.3): seq_num || type || version || length.
inline void make_aad12(uint64_t seq, uint8_t type, size_t len, uint8_t* aad) {
    put_u64(aad, seq);
    aad[8] = type;
    aad[9] = 3;
    aad[10] = 3;
    aad[11] = uint8_t(len >> 8);
    aad[12] = uint8_t(len);
}

}  // namespace blynk::net::tls_records_crypto
