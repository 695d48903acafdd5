// The device port's certificate, replaced while the server runs: by a plugin
// (the SDK's install_certificate, e.g. the acme plugin), on the reload signal
// (SIGHUP: the [tls] cert/key files are read again), and when those files
// change (polled every [tls] watch_interval_s: a certbot renewal replaces them
// by rename). A new context is built and checked off the loop thread, then
// swapped in on it: new TLS connections use it at once; live ones keep the
// context they started with (SSL_new holds a reference), which OpenSSL frees
// with the last of them. A certificate that does not build is refused with a
// log line and the served one stays.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "net/tls.hpp"
#include "net/tls_takeover.hpp"
#include "platform/file_stamp.hpp"

namespace blynk::net {

struct ServerContext;

class TlsCertificates {
public:
    struct Options {
        std::string min_version = "1.2";      // [tls] min_version
        std::string record_layer = "kernel";  // [tls] record_layer
        uint32_t watch_interval_s = 5;        // [tls] watch_interval_s; 0: the files are not polled
        // Where a plugin's certificate is copied (its leaf, PEM: public) before
        // it is swapped in, so that the CLI still knows this server's
        // certificate; removed while the [tls] files are served. "": none.
        std::string served_copy;
    };
    TlsCertificates(ServerContext& ctx, Options opt);
    ~TlsCertificates();
    TlsCertificates(const TlsCertificates&) = delete;
    TlsCertificates& operator=(const TlsCertificates&) = delete;

    // At start, before the first connection: the files' context is served
    // (ServerContext::tls, ::takeover). Throws std::runtime_error naming them.
    void load(const TlsFiles& files);
    // Starts the thread that polls the files and serves reload().
    void start_watching();
    // The reload signal (any thread): the files are read again now, and a
    // refusal is logged even when they did not change.
    void reload();
    // A plugin's certificate (any thread; the caller's thread does the
    // building: ~10-30 ms of CPU with the record layer's self-test). True
    // once it is checked and on its way to the loop; false with the reason.
    // `origin` names who sent it in the log ("plugin acme").
    bool install(std::string_view chain_pem, std::string_view key_pem, const std::string& origin, std::string& error);
    // Stops the watcher (the server stops).
    void stop();

private:
    struct Built {
        SslCtxPtr ctx;
        TlsTakeover takeover;
        std::string about;  // describe_certificate
    };
    Built build(std::string_view chain_pem, std::string_view key_pem, bool refuse_expired);
    // Posts the swap to the loop; `from_plugin`: not the [tls] files (write_served_copy).
    void swap_in(Built built, const std::string& origin, bool from_plugin);
    void write_served_copy(ssl_ctx_st* ctx);
    void watch();
    // Reads and builds the files; logs a refusal. `why`: "SIGHUP", "files changed".
    void load_files(const char* why);

    ServerContext& ctx_;
    Options opt_;
    std::string cert_path_, key_path_;
    SslCtxPtr served_;                            // loop thread (and load() before it runs)
    std::mutex build_mutex_;                      // one build at a time (the self-test's hooks are per process)
    platform::FileStamp cert_stamp_, key_stamp_;  // watcher thread
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false, reload_ = false;  // under mutex_
    std::thread watcher_;
};

}  // namespace blynk::net
