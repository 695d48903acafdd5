#include "net/tls_certificates.hpp"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "net/server_context.hpp"

namespace blynk::net {

namespace {

// A PEM file larger than this is not a certificate or a key (a chain of ten
// RSA 4096 certificates is ~20 KB); refused rather than read into memory.
constexpr std::streamoff kMaxPemFile = 1 << 20;

std::string read_pem(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path + ": cannot be read");
    in.seekg(0, std::ios::end);
    std::streamoff size = in.tellg();
    if (size < 0 || size > kMaxPemFile) throw std::runtime_error(path + ": not a PEM file (over 1 MiB)");
    in.seekg(0);
    std::string text(size_t(size), '\0');
    if (!in.read(text.data(), size)) throw std::runtime_error(path + ": cannot be read");
    return text;
}

}  // namespace

TlsCertificates::TlsCertificates(ServerContext& ctx, Options opt) : ctx_(ctx), opt_(std::move(opt)) {}

TlsCertificates::~TlsCertificates() {
    stop();
}

TlsCertificates::Built TlsCertificates::build(std::string_view chain_pem, std::string_view key_pem,
                                              bool refuse_expired) {
    std::lock_guard<std::mutex> lock(build_mutex_);
    Built b;
    b.ctx = make_server_context(chain_pem, key_pem, opt_.min_version, refuse_expired);
    // Which connections the record layer may continue depends on the suites
    // the new key can serve (ECDSA or RSA), so the decision is made again
    // for this context, as at start.
    b.takeover.decide(b.ctx.get(), opt_.record_layer);
    b.about = describe_certificate(b.ctx.get());
    return b;
}

void TlsCertificates::load(const TlsFiles& files) {
    cert_path_ = files.cert;
    key_path_ = files.key;
    cert_stamp_ = platform::file_stamp(cert_path_);
    key_stamp_ = platform::file_stamp(key_path_);
    Built b;
    try {
        // An expired configured certificate still starts the server, as before
        // hot swaps existed; only a replacement must be better than that.
        b = build(read_pem(cert_path_), read_pem(key_path_), false);
    } catch (const std::exception& e) {
        throw std::runtime_error("TLS certificate (" + cert_path_ + ", " + key_path_ + "): " + e.what());
    }
    write_served_copy(nullptr);
    served_ = std::move(b.ctx);
    ctx_.tls = served_.get();
    ctx_.takeover = std::move(b.takeover);
    spdlog::info("TLS certificate served: {} (from {})", b.about, cert_path_);
}

// On the building thread (file I/O stays off the loop), through a temporary
// file and a rename, so a reader sees the old leaf or the new one, whole.
// Only a plugin's certificate is copied: while the [tls] files are served
// (ctx null), the copy is removed and the CLI pins tls.cert alone, as before.
void TlsCertificates::write_served_copy(SSL_CTX* ctx) {
    if (opt_.served_copy.empty()) return;
    std::error_code ec;
    if (!ctx) {
        std::filesystem::remove(opt_.served_copy, ec);
        return;
    }
    X509* leaf = SSL_CTX_get0_certificate(ctx);
    std::filesystem::create_directories(std::filesystem::path(opt_.served_copy).parent_path(), ec);
    std::string tmp = opt_.served_copy + ".new";
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    bool ok = f && leaf && PEM_write_X509(f, leaf) == 1;
    if (f) ok = std::fclose(f) == 0 && ok;
    if (ok) std::filesystem::rename(tmp, opt_.served_copy, ec);
    if (!ok || ec)
        spdlog::warn("cannot write {} (the CLI pins the served certificate with it): {}", opt_.served_copy,
                     ec ? ec.message() : std::string("write failed"));
}

void TlsCertificates::swap_in(Built built, const std::string& origin, bool from_plugin) {
    write_served_copy(from_plugin ? built.ctx.get() : nullptr);
    // The Built moves into a shared box: std::function needs a copyable callable.
    auto box = std::make_shared<Built>(std::move(built));
    ctx_.defer([this, box, origin] {
        if (ctx_.stopping) return;
        // Connections made from now on use the new context; the old one is
        // released here and freed by OpenSSL when its last SSL goes.
        served_ = std::move(box->ctx);
        ctx_.tls = served_.get();
        ctx_.takeover = std::move(box->takeover);
        spdlog::info("TLS certificate now served: {} (from {}); live connections keep the one they began with",
                     box->about, origin);
    });
}

bool TlsCertificates::install(std::string_view chain_pem, std::string_view key_pem, const std::string& origin,
                              std::string& error) {
    if (ctx_.stopping) {
        error = "the server is stopping";
        return false;
    }
    try {
        swap_in(build(chain_pem, key_pem, true), origin, true);
        return true;
    } catch (const std::exception& e) {
        error = e.what();
        spdlog::error("TLS certificate from {} refused: {}; still serving the previous one", origin, error);
        return false;
    }
}

void TlsCertificates::load_files(const char* why) {
    try {
        swap_in(build(read_pem(cert_path_), read_pem(key_path_), true), std::string(cert_path_) + ", " + why, false);
    } catch (const std::exception& e) {
        spdlog::error("TLS certificate ({}) refused ({}): {}; still serving the previous one", cert_path_, why,
                      e.what());
    }
}

void TlsCertificates::start_watching() {
    if (watcher_.joinable()) return;
    watcher_ = std::thread([this] { watch(); });
}

void TlsCertificates::reload() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        reload_ = true;
    }
    wake_.notify_one();
}

void TlsCertificates::stop() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    if (watcher_.joinable()) watcher_.join();
}

// The watcher's thread: file I/O stays off the loop thread. It wakes every
// watch_interval_s (or only for reload() when that is 0).
void TlsCertificates::watch() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        auto woken = [this] { return stopping_ || reload_; };
        if (opt_.watch_interval_s)
            wake_.wait_for(lock, std::chrono::seconds(opt_.watch_interval_s), woken);
        else
            wake_.wait(lock, woken);
        if (stopping_) return;
        bool forced = reload_;
        reload_ = false;
        lock.unlock();
        platform::FileStamp cert = platform::file_stamp(cert_path_), key = platform::file_stamp(key_path_);
        bool changed = cert != cert_stamp_ || key != key_stamp_;
        // A renewal replaces the two files one after the other; a pair caught
        // between them is refused now and loads when the second one lands.
        if (forced || (changed && cert.exists && key.exists)) load_files(forced ? "SIGHUP" : "the files changed");
        cert_stamp_ = cert;
        key_stamp_ = key;
        lock.lock();
    }
}

}  // namespace blynk::net
