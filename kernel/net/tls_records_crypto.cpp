// The cryptography of the TLS record layer: see tls_records_crypto.hpp.
#include "net/tls_records_crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>

#include <cstring>

namespace blynk::net::tls_records_crypto {

namespace {

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

}  // namespace

const EVP_CIPHER* cipher_of(Suite s) {
    static EVP_CIPHER* const ciphers[3] = {EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr),
                                           EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr),
                                           EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr)};
    return ciphers[int(s)];
}

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

EVP_KDF* tls1_prf() {
    static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, "TLS1-PRF", nullptr);
    return kdf;
}

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

size_t iv_len12(Suite s) {
    return s == Suite::Chacha20Poly1305Sha256 ? 12 : 4;
}

void forget_thread_keys(Suite s, const void* owner) {
    thread_contexts().forget(s, owner);
}

int keyed_thread_contexts() {
    int n = 0;
    for (auto& by_suite : thread_contexts().slot)
        for (auto& slot : by_suite)
            n += slot.keyed ? 1 : 0;
    return n;
}

}  // namespace blynk::net::tls_records_crypto
