#include "net/tls.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <boost/asio/ssl/context.hpp>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "net/tls_records.hpp"
#include "platform/platform.hpp"

namespace blynk::net {

namespace fs = std::filesystem;

namespace {

template <class T, void (*F)(T*)>
struct Deleter {
    void operator()(T* p) const { F(p); }
};
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;

void fail(const std::string& what) {
    throw std::runtime_error("TLS certificate: " + what);
}

void generate(const std::string& cert_path, const std::string& key_path, const std::string& host) {
    PKey key(EVP_RSA_gen(2048));
    if (!key) fail("cannot generate an RSA key");
    Cert x(X509_new());
    X509_set_version(x.get(), 2);
    unsigned char serial[16];
    RAND_bytes(serial, sizeof serial);
    serial[0] &= 0x7F;
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get()));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(x.get()), -24 * 3600);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), 10L * 365 * 24 * 3600);
    X509_set_pubkey(x.get(), key.get());
    X509_NAME* name = X509_get_subject_name(x.get());
    std::string cn = host.empty() ? "blynkd" : host;
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("blynkd self-signed"),
                               -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(x.get(), name);
    std::string san = "DNS:localhost,IP:127.0.0.1,IP:::1";
    if (!host.empty()) {
        bool ip = host.find_first_not_of("0123456789.:abcdefABCDEF") == std::string::npos &&
                  host.find_first_of(".:") != std::string::npos && host.find_first_of("0123456789") == 0;
        san += (ip ? ",IP:" : ",DNS:") + host;
    }
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x.get(), x.get(), nullptr, nullptr, 0);
    const std::pair<int, const char*> exts[] = {{NID_subject_alt_name, san.c_str()},
                                                {NID_basic_constraints, "critical,CA:FALSE"},
                                                {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
                                                {NID_ext_key_usage, "serverAuth"}};
    for (auto& [nid, value] : exts) {
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
        if (!ext) fail("cannot build certificate extension " + std::string(value));
        X509_add_ext(x.get(), ext, -1);
        X509_EXTENSION_free(ext);
    }
    if (!X509_sign(x.get(), key.get(), EVP_sha256())) fail("cannot sign the certificate");

    // The key is written owner-only before any byte of it reaches the disk.
    FILE* kf = platform::open_private_file(key_path);
    if (!kf) fail("cannot write " + key_path);
    bool ok = PEM_write_PrivateKey(kf, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
    ok = (std::fclose(kf) == 0) && ok;
    if (!ok) fail("cannot write " + key_path);
    FILE* cf = std::fopen(cert_path.c_str(), "wb");
    if (!cf) fail("cannot write " + cert_path);
    ok = PEM_write_X509(cf, x.get()) == 1;
    ok = (std::fclose(cf) == 0) && ok;
    if (!ok) fail("cannot write " + cert_path);
}

}  // namespace

TlsFiles ensure_certificate(const std::string& cert, const std::string& key, const std::string& data_dir,
                            const std::string& host) {
    TlsFiles f;
    if (!cert.empty()) {
        f.cert = cert;
        f.key = key;
        if (!fs::exists(cert)) fail("tls.cert = " + cert + ": no such file");
        if (!fs::exists(key)) fail("tls.key = " + key + ": no such file");
        return f;
    }
    fs::path dir = fs::path(data_dir) / "tls";
    f.cert = (dir / "cert.pem").string();
    f.key = (dir / "key.pem").string();
    if (fs::exists(f.cert) && fs::exists(f.key)) return f;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) fail("cannot create " + dir.string() + ": " + ec.message());
    generate(f.cert, f.key, host);
    f.generated = true;
    return f;
}

namespace {

// The options every server context of the device port gets, whichever way its
// certificate arrives (files at start, PEM text at a swap).
void apply_server_options(SSL_CTX* native, const std::string& min_version) {
    SSL_CTX_set_min_proto_version(native, min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
    SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    // TLS 1.2: forward secrecy and AEAD only (no CBC, static RSA, anonymous or NULL suites);
    // TLS 1.3 suites are all AEAD. Checked by tests/integration/test/tls-defaults.test.js.
    SSL_CTX_set_cipher_list(native, "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL");
    SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
    // One socket read takes every record that arrived, not a header and then
    // a body per record; the TLS transport drains what OpenSSL buffered
    // (SSL_has_pending) before it waits for the socket again.
    SSL_CTX_set_read_ahead(native, 1);
    // TLS 1.3 and TLS 1.2 (AEAD) connections may continue with our record
    // layer after the handshake (tls_transport.cpp, tls_takeover.hpp): it captures their
    // keys. Renegotiation stays refused there too (a warning no_renegotiation).
    tls_records_prepare_context(native);
}

// The reason OpenSSL queued last, without the queue (and never any input).
std::string openssl_reason() {
    unsigned long code = ERR_peek_last_error();
    ERR_clear_error();
    if (!code) return "unknown error";
    const char* reason = ERR_reason_error_string(code);
    return reason ? reason : "unknown error";
}

using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

Bio memory_bio(std::string_view text) {
    Bio b(BIO_new_mem_buf(text.data(), int(text.size())));
    if (!b) fail("out of memory");
    return b;
}

std::string asn1_time_text(const ASN1_TIME* t) {
    struct tm tm {};
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return "?";
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

std::string name_text(const X509_NAME* name) {
    if (!name) return "?";
    Bio b(BIO_new(BIO_s_mem()));
    if (!b || X509_NAME_print_ex(b.get(), name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) < 0) return "?";
    char* data = nullptr;
    long n = BIO_get_mem_data(b.get(), &data);
    return n > 0 ? std::string(data, size_t(n)) : std::string();
}

}  // namespace

std::string served_certificate_file(const std::string& data_dir) {
    return (fs::path(data_dir) / "tls" / "served.pem").string();
}

void configure_context(boost::asio::ssl::context& ctx, const TlsFiles& files, const std::string& min_version) {
    SSL_CTX* native = ctx.native_handle();
    apply_server_options(native, min_version);
    boost::system::error_code ec;
    ctx.use_certificate_chain_file(files.cert, ec);
    if (ec) fail(files.cert + ": " + ec.message());
    ctx.use_private_key_file(files.key, boost::asio::ssl::context::pem, ec);
    if (ec) fail(files.key + ": " + ec.message());
    if (SSL_CTX_check_private_key(native) != 1) fail(files.key + " does not match " + files.cert);
}

void SslCtxFree::operator()(SSL_CTX* ctx) const {
    SSL_CTX_free(ctx);
}

SslCtxPtr make_server_context(std::string_view chain_pem, std::string_view key_pem, const std::string& min_version,
                              bool refuse_expired) {
    ERR_clear_error();
    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) fail("cannot make a TLS context: " + openssl_reason());
    apply_server_options(ctx.get(), min_version);

    Bio chain = memory_bio(chain_pem);
    Cert leaf(PEM_read_bio_X509_AUX(chain.get(), nullptr, nullptr, nullptr));
    if (!leaf) fail("the certificate chain holds no PEM certificate (" + openssl_reason() + ")");
    if (refuse_expired && X509_cmp_current_time(X509_get0_notAfter(leaf.get())) <= 0)
        fail("the certificate expired on " + asn1_time_text(X509_get0_notAfter(leaf.get())));
    if (SSL_CTX_use_certificate(ctx.get(), leaf.get()) != 1) fail("the certificate is refused: " + openssl_reason());
    // The rest of the chain: certificates until the text ends. Anything else
    // there (a truncated or corrupt block) refuses the whole chain.
    for (int n = 1;; ++n) {
        Cert next(PEM_read_bio_X509(chain.get(), nullptr, nullptr, nullptr));
        if (!next) {
            unsigned long e = ERR_peek_last_error();
            if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
                ERR_clear_error();
                break;
            }
            fail("certificate " + std::to_string(n + 1) + " of the chain does not parse (" + openssl_reason() + ")");
        }
        if (SSL_CTX_add0_chain_cert(ctx.get(), next.get()) != 1)
            fail("certificate " + std::to_string(n + 1) + " of the chain is refused: " + openssl_reason());
        next.release();  // the context owns it now
    }

    Bio key_bio = memory_bio(key_pem);
    // No passphrase callback: an encrypted key is refused, not prompted for.
    PKey key(PEM_read_bio_PrivateKey(
        key_bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr));
    if (!key) fail("the private key does not parse (" + openssl_reason() + ")");
    if (SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1 || SSL_CTX_check_private_key(ctx.get()) != 1) {
        ERR_clear_error();
        fail("the private key does not match the certificate");
    }
    return ctx;
}

std::string describe_certificate(SSL_CTX* ctx) {
    X509* x = ctx ? SSL_CTX_get0_certificate(ctx) : nullptr;
    if (!x) return "no certificate";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    std::string fp;
    if (X509_digest(x, EVP_sha256(), md, &len) == 1) {
        static const char hex[] = "0123456789ABCDEF";
        for (unsigned i = 0; i < len; ++i) {
            if (i) fp += ':';
            fp += hex[md[i] >> 4];
            fp += hex[md[i] & 15];
        }
    }
    return "subject \"" + name_text(X509_get_subject_name(x)) + "\", issuer \"" + name_text(X509_get_issuer_name(x)) +
           "\", expires " + asn1_time_text(X509_get0_notAfter(x)) + ", SHA-256 " + fp;
}

}  // namespace blynk::net
