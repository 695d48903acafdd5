#include "app/operator_client.hpp"

#include <openssl/x509_vfy.h>
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
#include <stdexcept>

#include "platform/platform.hpp"

namespace blynk::app {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace fs = std::filesystem;

namespace {
std::string run_file(const std::string& data_dir) {
    return (fs::path(data_dir) / "blynkd.run").string();
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
    c.port_ = static_cast<unsigned short>(port);
    return c;
}

ApiReply OperatorClient::call(const std::string& method, const std::string& target, const std::string& body) const {
    asio::io_context ioc;
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    // Trust exactly this install's certificate (self-signed or the configured chain's leaf).
    boost::system::error_code ec;
    ctx.load_verify_file(cert_, ec);
    if (ec) throw std::runtime_error("cannot read the server certificate " + cert_ + ": " + ec.message());
    X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx.native_handle()), X509_V_FLAG_PARTIAL_CHAIN);
    ctx.set_verify_mode(asio::ssl::verify_peer);
    asio::ssl::stream<asio::ip::tcp::socket> stream(ioc, ctx);
    stream.next_layer().connect({asio::ip::make_address("127.0.0.1"), port_});
    stream.handshake(asio::ssl::stream_base::client);
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
    stream.shutdown(ec);
    return {res.result_int(), res.body()};
}

}  // namespace blynk::app
