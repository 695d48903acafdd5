#include "app/operator_client.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <vector>

#include "codec/percent_encoding.hpp"
#include "platform/platform.hpp"

namespace blynk::app {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace fs = std::filesystem;

namespace {
std::string run_file(const std::string& data_dir) {
    return (fs::path(data_dir) / "blynkd.run").string();
}

using Der = std::vector<unsigned char>;

Der der_of(X509* x) {
    int n = i2d_X509(x, nullptr);
    if (n <= 0) return {};
    Der out(static_cast<size_t>(n));
    unsigned char* p = out.data();
    i2d_X509(x, &p);
    return out;
}

// The first certificate of a PEM file: the leaf a server with this [tls] cert
// presents (the chain after it, if any, plays no part in the pinning).
Der leaf_of_file(const std::string& file) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(file.c_str(), "r"), BIO_free);
    if (!bio) throw std::runtime_error("cannot read the server certificate " + file);
    std::unique_ptr<X509, decltype(&X509_free)> x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
    Der der = x ? der_of(x.get()) : Der();
    if (der.empty()) throw std::runtime_error("no PEM certificate in " + file);
    return der;
}

// "AB:CD:...", as `openssl x509 -fingerprint -sha256` prints it.
std::string sha256_fingerprint(const Der& der) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(der.data(), der.size(), md, &len, EVP_sha256(), nullptr);
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        if (i) out.push_back(':');
        out.push_back(hex[md[i] >> 4]);
        out.push_back(hex[md[i] & 15]);
    }
    return out;
}

// Whether `presented` is the leaf in `served_file` (absent or unreadable: no).
bool is_served_leaf(const Der& presented, const std::string& served_file) {
    std::error_code ec;
    if (presented.empty() || !fs::exists(served_file, ec)) return false;
    try {
        return presented == leaf_of_file(served_file);
    } catch (const std::exception&) {
        return false;
    }
}

Der peer_leaf(SSL* ssl) {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    std::unique_ptr<X509, decltype(&X509_free)> x(SSL_get1_peer_certificate(ssl), X509_free);
#else
    std::unique_ptr<X509, decltype(&X509_free)> x(SSL_get_peer_certificate(ssl), X509_free);
#endif
    return x ? der_of(x.get()) : Der();
}
}  // namespace

void write_run_file(const std::string& data_dir, unsigned short tls_port) {
    std::FILE* f = platform::open_private_file(run_file(data_dir));
    if (!f) return;
    std::fprintf(f, "tls_port=%u\n", unsigned(tls_port));
    std::fclose(f);
}

void remove_run_file(const std::string& data_dir) {
    std::error_code ec;
    fs::remove(run_file(data_dir), ec);
}

std::optional<OperatorClient> OperatorClient::find(const std::string& data_dir, const std::string& cert_file) {
    std::ifstream run(run_file(data_dir)), tok((fs::path(data_dir) / "operator.token").string());
    if (!run || !tok) return std::nullopt;
    std::string line, token;
    unsigned port = 0;
    while (std::getline(run, line))
        if (line.rfind("tls_port=", 0) == 0) port = unsigned(std::strtoul(line.c_str() + 9, nullptr, 10));
    std::getline(tok, token);
    if (!port || port > 65535 || token.size() != 32) return std::nullopt;
    // A run file left by a server that died: nobody answers on its port.
    asio::io_context ioc;
    asio::ip::tcp::socket probe(ioc);
    boost::system::error_code ec;
    probe.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)}, ec);
    if (ec) return std::nullopt;
    OperatorClient c;
    c.token_ = token;
    c.cert_ = cert_file;
    c.served_ = (fs::path(data_dir) / "tls" / "served.pem").string();
    c.port_ = static_cast<unsigned short>(port);
    return c;
}

ApiReply OperatorClient::call(const std::string& method, const std::string& target, const std::string& body) const {
    // The server is this install's only if it presents exactly the leaf of its
    // [tls] cert (or the generated certificate). A chain check would accept any
    // certificate issued under the same CA, and the operator token would go to
    // whoever holds one; so no certificate is trusted as a root, and the peer's
    // leaf is compared byte for byte before a byte of the request is sent.
    Der pinned = leaf_of_file(cert_);
    asio::io_context ioc;
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    ctx.set_verify_mode(asio::ssl::verify_none);
    asio::ssl::stream<asio::ip::tcp::socket> stream(ioc, ctx);
    stream.next_layer().connect({asio::ip::make_address("127.0.0.1"), port_});
    stream.handshake(asio::ssl::stream_base::client);
    Der presented = peer_leaf(stream.native_handle());
    // The server writes the leaf it serves after a swap into its own data
    // folder (owner-only), which only this install's owner can write.
    if (presented != pinned && !is_served_leaf(presented, served_)) {
        boost::system::error_code ignored;
        stream.next_layer().close(ignored);
        throw std::runtime_error(
            "the server on 127.0.0.1:" + std::to_string(port_) + " presents the certificate SHA-256 " +
            (presented.empty() ? std::string("(none)") : sha256_fingerprint(presented)) + ", but " + cert_ +
            " (the first certificate of tls.cert, or the generated one) is SHA-256 " + sha256_fingerprint(pinned) +
            "; the operator token was not sent. Point tls.cert at the certificate that server serves, leaf first.");
    }
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "localhost");
    req.set(http::field::authorization, "Bearer " + token_);
    req.set(http::field::connection, "close");
    if (!body.empty()) {
        req.set(http::field::content_type, "application/json");
        req.body() = body;
    }
    req.prepare_payload();
    http::write(stream, req);
    boost::beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(stream, buf, res);
    boost::system::error_code ec;
    stream.shutdown(ec);
    return {res.result_int(), res.body()};
}

std::string path_escape(const std::string& s) {
    return codec::percent_encode(s, "@");  // '@' is allowed in a path segment, and e-mails read better
}

}  // namespace blynk::app
