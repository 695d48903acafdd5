// What every connection of the server shares, owned by the server and used on
// the loop thread: the options, the router, the event loop, the read area all
// connections read into, the list of live connections and of those with
// output to flush, the cached clock, and HTTP requests waiting for a plugin's
// answer. Asio appears here only as the io_context the loop runs.
#pragma once

#include <boost/asio/io_context.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/router.hpp"
#include "host/token_loads.hpp"
#include "net/event_loop.hpp"
#include "net/net_counters.hpp"
#include "net/server.hpp"
#include "net/tls_takeover.hpp"
#include "net/transport.hpp"

typedef struct ssl_ctx_st SSL_CTX;

namespace blynk::net {

class Connection;
class HttpHandler;
class TlsCertificates;
class ProtocolHandler;

// One shared read area per loop: connections keep only a partial unit.
constexpr size_t kReadArea = 64 * 1024;
// Output a peer does not read is bounded: past this the connection is closed.
constexpr size_t kMaxPendingOutput = 1 << 20;
// Buffers above this are released once drained, so idle connections hold none.
constexpr size_t kKeepCapacity = 1024;

// An HTTP answer handed over from a plugin's handler (possibly another thread).
struct HttpAnswer {
    unsigned status = 200;
    std::string content_type, body;
    std::vector<std::pair<std::string, std::string>> headers;
};

int64_t wall_ms();
// The storage watchdog compares WorkQueue::Running::since_ms with this: one clock for both.
int64_t mono_ms();

struct ServerContext {
    ServerContext(ServerOptions o, core::Model& m, core::RouterSettings rs, host::PluginHost& p, host::StorageClient& s,
                  host::WorkQueue& q);
    ~ServerContext();

    ServerOptions opt;
    core::Model& model;
    host::PluginHost& plugins;
    host::StorageClient& storage;
    host::WorkQueue& storage_queue;
    boost::asio::io_context ioc{1};  // one thread: the scheduler needs no locks
    core::Router router;
    SSL_CTX* tls = nullptr;  // the TLS port's context for new connections (owned by `certificates`)
    // Swaps `tls`; set by the server in listen(), read by plugins' threads.
    std::atomic<TlsCertificates*> certificates{nullptr};
    TlsTakeover takeover;  // which TLS connections continue with our record layer (decided in listen())
    std::array<char, kReadArea> read_area{};
    std::string seal_area, tls_answer;  // TLS records being made (reused: no allocation per flush)
    Connection* connections = nullptr;  // intrusive list of every live connection
    size_t connection_count = 0;
    std::vector<Connection*> dirty, flushing;
    bool flush_posted = false;
    std::atomic<bool> stopping{false};  // read by post() from plugin threads
    int64_t now_wall = wall_ms();
    int64_t now_mono = mono_ms();
    host::TokenLoads token_loads;
    core::AppHub* apps = nullptr;  // the app side; null when [app] enabled = false
    NetCounters counters;          // for /metrics; loop thread only
    // Requests waiting for a handler's answer, by id (the responder handle a
    // plugin holds); an answer for an id no longer here is dropped.
    std::unordered_map<uint64_t, HttpHandler*> pending_http;
    uint64_t next_http_id = 1;
    // Answers that became streams of server-sent events (the admin web UI's
    // live feed), by the id their request had; a handler leaves when its
    // connection closes.
    std::unordered_map<uint64_t, HttpHandler*> event_streams;
    // While a plugin's HTTP handler runs: the request's peer ("ip:port").
    std::string http_peer;
    // Where connections wait for their sockets; set once by the server
    // before any connection exists, read by post() from other threads.
    std::atomic<EventLoop*> loop{nullptr};
    // A transport or protocol handler replaced while it was running (the
    // TLS handshake's end, the sniffer's choice, an HTTP upgrade): freed once
    // the event or the read that replaced it is done. One loop thread: one slot each.
    TransportPtr retired_transport;
    std::unique_ptr<ProtocolHandler> retired_handler;

    void tick_clock() {
        now_wall = wall_ms();
        now_mono = mono_ms();
    }
    EventLoop& event_loop() { return *loop.load(std::memory_order_relaxed); }
    // Queues `fn` on the loop (any thread): everything the kernel posts goes
    // through here, so the event loop learns of it. Before the loop is made
    // (plugins starting) it goes to Asio, which the loop runs first.
    void defer(std::function<void()> fn);
    // `c` has output: flushed at the end of the loop's turn.
    void mark_dirty(Connection* c);
    void flush_all();
    void close_all();
};

}  // namespace blynk::net
