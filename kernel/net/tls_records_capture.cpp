// What OpenSSL tells us during a server handshake (the keylog and message
// callbacks), and the take-over of the connection by the record layer once the
// handshake is done: see tls_records.hpp.
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "net/tls_records.hpp"
#include "net/tls_records_crypto.hpp"

namespace blynk::net {

namespace {

using namespace tls_records_crypto;

constexpr uint8_t kKeyUpdate = 24;  // a KeyUpdate handshake message seen by OpenSSL

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

// Set before the first connection (start-up or a test), read at each take-over.
std::atomic<int> g_sequence_skew{0};

void drop_capture(SSL* ssl) {
    int index = capture_index();
    if (index < 0) return;
    wipe_capture(static_cast<Capture*>(SSL_get_ex_data(ssl, index)));
    SSL_set_ex_data(ssl, index, nullptr);
    SSL_set_msg_callback(ssl, nullptr);
    SSL_set_msg_callback_arg(ssl, nullptr);
}

}  // namespace

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

void tls_records_set_sequence_skew_for_test(int skew) {
    g_sequence_skew.store(skew, std::memory_order_relaxed);
}

void tls_records_release(SSL* ssl) {
    drop_capture(ssl);
    SSL_set_read_ahead(ssl, SSL_CTX_get_read_ahead(SSL_get_SSL_CTX(ssl)));
}

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
        r->write_.seq = c->records + int64_t(g_sequence_skew.load(std::memory_order_relaxed));
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
            int64_t skew = g_sequence_skew.load(std::memory_order_relaxed);
            r->read_.seq = c->read_after_ccs + skew;
            r->write_.seq = c->written_after_ccs + skew;
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

}  // namespace blynk::net
