#include "net/tls.hpp"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <boost/asio/ssl/context.hpp>

#include <cstdio>
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

void configure_context(boost::asio::ssl::context& ctx, const TlsFiles& files, const std::string& min_version) {
    SSL_CTX* native = ctx.native_handle();
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
    boost::system::error_code ec;
    ctx.use_certificate_chain_file(files.cert, ec);
    if (ec) fail(files.cert + ": " + ec.message());
    ctx.use_private_key_file(files.key, boost::asio::ssl::context::pem, ec);
    if (ec) fail(files.key + ": " + ec.message());
    if (SSL_CTX_check_private_key(native) != 1) fail(files.key + " does not match " + files.cert);
}

}  // namespace blynk::net
