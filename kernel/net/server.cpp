#include "net/server.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <unordered_map>
#include <vector>

#include "codec/frame.hpp"
#include "codec/protocol.hpp"
#include "codec/websocket.hpp"
#include "host/plugin_host.hpp"
#include "host/storage_client.hpp"
#include "host/work_queue.hpp"
#include "host/worker_pool.hpp"
#include "net/http_wire.hpp"
#include "net/operator_api.hpp"
#include "net/static_stream.hpp"
#include "net/tls.hpp"
#include "net/tls_records.hpp"
#include "net/tls_takeover.hpp"
#include "platform/platform.hpp"
#include "platform/readiness.hpp"

namespace blynk::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using executor = asio::io_context::executor_type;
using socket_t = asio::basic_stream_socket<tcp, executor>;
using acceptor_t = asio::basic_socket_acceptor<tcp, executor>;
using timer_t =
    asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, executor>;
using error_code = boost::system::error_code;

namespace {

// Output a device does not read is bounded: past this the connection is closed.
constexpr size_t kMaxPendingOutput = 1 << 20;
// Buffers above this are released once drained, so idle connections hold none.
constexpr size_t kKeepCapacity = 1024;
// One shared read area per loop: sessions keep only a partial frame.
constexpr size_t kReadArea = 64 * 1024;
constexpr int kReadRounds = 1;  // reads of one plain session per loop turn, at most
constexpr size_t kMaxPendingLoads = 1024;
// A readiness turn with this many ready sessions posts the next turn instead
// of re-arming the wait (more are likely ready by then).
constexpr size_t kBusyTurn = 8;
// A websocket message carries hardware frames: at most one maximal frame.
constexpr size_t kWsMaxPayload = 65535 + 5;
// How long a connection that was answered and is closing keeps draining input.
constexpr uint32_t kLingerMs = 2000;
// A storage call running this long is reported as hanging.
constexpr int64_t kStorageStallMs = 5000;
// Devices whose changes one loop turn copies for storage (a few µs each):
// a flush of many devices is spread over turns, so traffic waits ~0.5 ms at
// most instead of the whole copy (40 ms for 10,000 devices on a slow VM).
constexpr size_t kFlushSlice = 128;
// A big batch leaves freed memory in the storage thread's heap arena; it is
// given back (malloc_trim) at most this often, not after every big batch.
constexpr int64_t kTrimIntervalMs = 30000;

int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}
// The storage watchdog compares WorkQueue::Running::since_ms with now_mono:
// one clock for both.
int64_t mono_ms() {
    return host::WorkQueue::steady_ms();
}

std::string endpoint_text(const tcp::endpoint& ep) {
    auto addr = ep.address();
    if (addr.is_v6() && addr.to_v6().is_v4_mapped())
        addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
    if (addr.is_v6()) return "[" + addr.to_string() + "]:" + std::to_string(ep.port());
    return addr.to_string() + ":" + std::to_string(ep.port());
}

}  // namespace

class Session;

namespace {
blynk_str bs(std::string_view s) {
    return blynk_str{s.data(), s.size()};
}

// A run of storage errors: one log line per new error, then at most one a
// minute while the same error repeats; counts the ones held back.
struct RepeatedError {
    bool active = false;
    std::string last;
    std::chrono::steady_clock::time_point logged{};
    uint64_t held = 0;

    // Whether `error` is to be logged now; if so, `held_back` is how many were
    // not logged since the last line.
    bool admit(const std::string& error, uint64_t& held_back) {
        auto now = std::chrono::steady_clock::now();
        if (active && error == last && now - logged < std::chrono::minutes(1)) {
            ++held;
            return false;
        }
        held_back = held;
        active = true;
        last = error;
        logged = now;
        held = 0;
        return true;
    }
    // Ends the run; returns how many were held back since the last line.
    uint64_t reset() {
        uint64_t h = held;
        active = false;
        last.clear();
        held = 0;
        return h;
    }
};

// A failed token lookup (storage thread only).
void log_lookup_failure(const std::string& error) {
    static RepeatedError repeated;
    uint64_t held = 0;
    if (repeated.admit(error, held))
        spdlog::error("storage: token lookup failed: {}{}", error,
                      held ? " (" + std::to_string(held) + " more since the last report)" : "");
}
}  // namespace

// An HTTP answer handed over from a handler (possibly another thread).
struct HttpAnswer {
    unsigned status = 200;
    std::string content_type, body;
    std::vector<std::pair<std::string, std::string>> headers;
};

struct FlushBacklog;  // pin values and device states storage has not taken yet (see flush_pins)
struct FlushBatch;    // a flush being copied from the model, a slice per loop turn

struct Server::Impl : core::TokenLoader, host::KernelServices, OperatorBackend {
    ServerOptions opt;
    core::Model& model_ref;
    host::PluginHost& plugins;
    host::StorageClient& storage;
    host::WorkQueue& storage_queue;
    asio::io_context ioc{1};  // one thread: the scheduler needs no locks
    core::Router router;
    std::unique_ptr<asio::ssl::context> tls;
    TlsTakeover takeover;  // which TLS connections continue with our record layer (decided in listen())
    std::vector<std::unique_ptr<acceptor_t>> plain_acceptors, tls_acceptors;
    asio::signal_set signals{ioc, SIGINT, SIGTERM};
    timer_t sweep_timer{ioc.get_executor()};
    timer_t flush_timer{ioc.get_executor()};
    timer_t accept_retry{ioc.get_executor()};
    std::array<char, kReadArea> read_area{};
    std::string seal_area, tls_answer;  // TLS records being made (reused: no allocation per flush)
    Session* sessions = nullptr;        // intrusive list of every live session
    size_t session_count = 0;
    std::vector<Session*> dirty, flushing;
    bool flush_posted = false;
    bool in_ready_turn = false;                       // output marked now is flushed at the turn's end
    uint64_t stalled_job = 0;                         // the storage job last reported as hanging; 0: none
    int64_t stall_since_ms = 0, stall_warned_ms = 0;  // when it started; when it was last reported
    std::atomic<bool> stopping{false};                // read by post() from plugin threads
    size_t pending_loads = 0;
    int64_t now_wall = wall_ms();
    int64_t now_mono = mono_ms();
    std::vector<core::Device*> dirty_devices;
    std::unique_ptr<FlushBatch> flush_batch;  // being copied; null when none
    // Work that waits for the next loop turn, so that what is ready meanwhile
    // runs first (see next_turn).
    std::vector<std::function<void()>> after_turn;
    std::shared_ptr<FlushBacklog> flush_backlog;
    // Requests waiting for a handler's answer, by id (the responder handle a
    // plugin holds); an answer for an id no longer here is dropped.
    std::unordered_map<uint64_t, Session*> pending_http;
    uint64_t next_http_id = 1;
    // While a plugin's HTTP handler runs: the request's peer ("ip:port").
    std::string http_peer;
    // Session sockets wait in one level-triggered readiness set (where the
    // platform has one): no re-registration per message. Where the set can
    // watch Asio's own reactor (Linux), the loop blocks in the set's wait and
    // polls Asio only when its reactor or the notifier (work posted by other
    // threads) is ready: one wait per wake-up, as a bare forwarder. Otherwise
    // (or with BLYNKD_SET_IN_ASIO=1) the set is waited on through Asio once
    // per loop turn. Without a set (or with BLYNKD_ASIO_WAITS=1) every session
    // waits through Asio itself.
    std::unique_ptr<platform::ReadinessSet> ready_set;
#if defined(BOOST_ASIO_HAS_POSIX_STREAM_DESCRIPTOR)
    std::unique_ptr<asio::posix::basic_stream_descriptor<executor>> ready_wait;
#endif
    std::vector<platform::ReadinessSet::Event> ready_events;
    // The set's loop (see above). Written before other threads can see it.
    std::atomic<bool> set_loop{false};
    std::atomic<std::thread::id> loop_thread{};
    // Work queued on Asio from the loop's thread outside Asio (a turn):
    // Asio is polled at the turn's end (its reactor is not woken for it).
    bool asio_pending = false;
    // Tags of the set's members that are not sessions.
    static inline char asio_tag = 0, notify_tag = 0;
    // Password hashes of the operator API (see WorkerPool::hashing_threads):
    // at most 4 waiting per thread, more are answered 503 at once. Declared
    // after ioc, so it stops (and its threads stop posting) before ioc goes.
    host::WorkerPool hash_pool{"password-hash", host::WorkerPool::hashing_threads(), 4,
                               host::WorkerPool::hashing_priority()};

    Impl(ServerOptions o, core::Model& m, core::RouterSettings rs, host::PluginHost& p, host::StorageClient& s,
         host::WorkQueue& q)
        : opt(std::move(o)), model_ref(m), plugins(p), storage(s), storage_queue(q), router(m, rs, [this] {
              return now_wall;
          }) {
        router.set_events(&plugins);
        router.set_access(plugins.access_policy());
        router.set_loader(this);
    }
    ~Impl();  // defined where FlushBatch is complete

    void tick_clock() {
        now_wall = wall_ms();
        now_mono = mono_ms();
    }

    void bind(std::vector<std::unique_ptr<acceptor_t>>& out, uint16_t port, const char* kind);
    void accept(acceptor_t& a, bool tls_port);
    void open_ready_set();
    void arm_ready();
    void ready_turn();
    void run_set_loop();
    size_t on_ready(size_t n);
    void schedule_sweep();
    void sweep();
    void check_storage_stall();
    void schedule_flush();
    void flush_pins(bool final_flush);
    void flush_slice(bool all);
    void next_turn(std::function<void()> fn);
    void flush_all();
    void mark_dirty(Session* s);
    void close_all();
    void evict(const blynk::Device& gone);
    bool load(std::string token, core::HwConn& conn, std::function<void(core::LoadResult)> done) override;

    // host::KernelServices
    bool on_kernel_thread() const override {
        return const_cast<asio::io_context&>(ioc).get_executor().running_in_this_thread() ||
               std::this_thread::get_id() == loop_thread.load(std::memory_order_relaxed);
    }
    bool post(std::function<void()> fn) override {
        if (stopping) return false;
        defer(std::move(fn));
        return true;
    }
    // Queues `fn` on the loop (any thread): everything the kernel posts goes
    // through here, so the set's loop learns of it.
    template <class F>
    void defer(F&& fn) {
        asio::post(ioc, std::forward<F>(fn));
        if (!set_loop.load(std::memory_order_acquire)) return;
        if (std::this_thread::get_id() == loop_thread.load(std::memory_order_relaxed))
            asio_pending = true;
        else
            ready_set->notify();
    }
    void respond(blynk_http_responder* responder, const blynk_http_response& response) override;
    void resolve_token(std::string token, std::function<void(int)> done) override;
    core::Device* device(std::string_view token) override {
        return model_ref.find_token(token);
    }
    // No app sessions yet.
    bool app_connected(const core::Device&) override {
        return false;
    }
    bool pin_write(core::Device& d, char type, uint8_t pin, std::string_view value) override;
    void pin_property(core::Device& d, uint8_t pin, std::string_view property, std::string_view value) override {
        router.api_property(d, pin, property, value);
    }
    core::User* user(std::string_view email) override {
        return model_ref.find_user(email);
    }

    // OperatorBackend
    core::Model& model() override {
        return model_ref;
    }
    bool storage_job(std::function<void(const host::StorageClient&)> job, std::function<void()> then) override {
        auto* st = &storage;
        return storage_queue.post([this, st, job = std::move(job), then = std::move(then)] {
            job(*st);
            defer(then);
        });
    }
    bool hash_job(std::function<void()> job, std::function<void()> then) override {
        return hash_pool.post([this, job = std::move(job), then = std::move(then)] {
            if (stopping) return;  // nobody waits for the answer: do not delay the stop by a hash
            job();
            defer(then);
        });
    }
    bool login_blocked(std::string_view peer) override {
        return router.peer_blocked(peer);
    }
    void login_refused(std::string_view peer) override {
        router.token_refused(peer);
    }
    void close_device(core::Device& d, std::string_view why) override {
        while (d.online)
            d.online->close(why);
    }
    void answer(blynk_http_responder* r, unsigned status, std::string body,
                std::vector<std::pair<std::string, std::string>> headers) override {
        std::vector<blynk_http_header> h;
        for (auto& [k, v] : headers)
            h.push_back({bs(k), bs(v)});
        blynk_http_response res{};
        res.size = sizeof res;
        res.status = status;
        res.content_type = bs("application/json;charset=utf-8");
        res.headers = h.data();
        res.header_count = h.size();
        res.body = bs(body);
        respond(r, res);
    }
};

// What a connection speaks, decided by its first bytes (as the legacy server).
enum class Mode : uint8_t { Sniff, Hardware, Http, WebSocket };

// State that exists only for HTTP and websocket connections.
struct HttpState {
    HttpState(size_t header_limit, size_t body_limit) : reader(header_limit, body_limit) {}
    HttpReader reader;
    uint64_t awaiting = 0;  // id of the request a handler has not answered yet
    uint32_t awaiting_since_ms = 0;
    uint32_t request_start_ms = 0;
    std::string ws_stream;  // websocket: the hardware byte stream carried by binary frames
    size_t ws_message = 0;  // bytes of the current (possibly fragmented) message
    bool ws_text = false;   // the current message is text: its continuations are ignored too
    // A static file whose body is being sent; later requests on the connection wait for its end.
    std::unique_ptr<StaticStream> static_body;
    bool cross_origin = true;  // the answer to the current request may carry Access-Control-Allow-Origin
};

// One device connection. Lives on the heap, owned by the server's list; it is
// deleted only when it is closed and no asynchronous operation still refers to it.
class Session : public core::HwConn {
public:
    Session(Server::Impl& srv, bool tls) : srv_(srv), tls_(tls) {
        created_ms_ = last_read_ms_ = uint32_t(srv.now_mono);
        next_ = srv.sessions;
        if (next_) next_->prev_ = this;
        srv.sessions = this;
        ++srv.session_count;
    }
    ~Session() override {
        if (in_dirty_)
            for (auto& s : srv_.dirty)
                if (s == this) s = nullptr;
    }

    virtual void start() = 0;
    virtual void flush() = 0;
    // The readiness set reported this session's socket (set mode only).
    virtual void on_event(bool readable, bool writable) = 0;

    void send(uint8_t command, uint16_t msg_id, std::string_view body) override {
        if (closed_) return;
        if (msg_id == 0) msg_id = 1;  // libraries drop the connection on message id 0
        if (body.size() > 0xFFFF) return;
        // Over a websocket each hardware frame travels as one binary message.
        if (mode_ == Mode::WebSocket)
            codec::encode_ws_header(out_, codec::WsOpcode::Binary, codec::kHardwareHeader + body.size());
        size_t at = out_.size();
        out_.resize(at + codec::kHardwareHeader);
        codec::write_hardware_header(&out_[at], command, msg_id, uint16_t(body.size()));
        out_.append(body.data(), body.size());
        queued();
    }
    void send_status(uint16_t msg_id, uint16_t status) override {
        if (closed_) return;
        if (msg_id == 0) msg_id = 1;
        if (mode_ == Mode::WebSocket) codec::encode_ws_header(out_, codec::WsOpcode::Binary, codec::kHardwareHeader);
        size_t at = out_.size();
        out_.resize(at + codec::kHardwareHeader);
        codec::write_hardware_header(&out_[at], 0, msg_id, status);
        queued();
    }
    void close(std::string_view reason) override {
        if (closed_) return;
        closed_ = true;
        if (spdlog::should_log(spdlog::level::debug)) {
            if (device)
                spdlog::debug("{}: device {} {}-{} disconnected: {}", peer(), device->user->email, device->dash_id,
                              device->id, reason);
            else
                spdlog::debug("{}: connection closed: {}", peer(), reason);
        }
        if (http_ && http_->awaiting) srv_.pending_http.erase(http_->awaiting);
        srv_.router.on_close(*this);
        shutdown_socket();
        if (prev_)
            prev_->next_ = next_;
        else
            srv_.sessions = next_;
        if (next_) next_->prev_ = prev_;
        prev_ = next_ = nullptr;
        --srv_.session_count;
        ++pending_;
        srv_.defer([this] { done_op(); });
    }
    void reject(std::string_view reason) override {
        if (closed_) return;
        spdlog::warn("{}: {}; closing", peer(), reason);
        close(reason);
    }
    bool is_closed() const override { return closed_; }
    // Asked of the socket when needed (logs, login), not stored per connection.
    // The peer's address, as seen at accept (a reset socket no longer knows it).
    std::string peer() const override {
        if (peer_.port() != 0) return endpoint_text(peer_);
        error_code ec;
        tcp::endpoint ep = remote(ec);
        return ec ? std::string("unknown peer") : endpoint_text(ep);
    }

    // An asynchronous operation that referred to this session has finished.
    void done_op() {
        if (--pending_ == 0 && closed_) delete this;
    }
    void begin_op() { ++pending_; }

    // What waited (a pending login's or request's later bytes) may go on.
    void resume() {
        if (closed_ || partial_.empty()) return;
        std::string held;
        held.swap(partial_);
        process(held.data(), held.size());
    }

    // A handler's answer to the request this connection waits for.
    void deliver(const HttpAnswer& a) {
        if (closed_ || !http_) return;
        http_->awaiting = 0;
        respond(a.status, a.content_type, a.body, a.headers, keep_alive_);
        if (http_) http_->cross_origin = true;
        if (!closed_) resume();
    }

    // Periodic checks (one sweep for every connection; no timer per connection).
    void check_timeouts(uint32_t now) {
        const ServerOptions& o = srv_.opt;
        if (read_paused_) {
            // Over its message quota: read again once a sweep (what comes is
            // dropped anyway; meanwhile TCP holds the flood back, not the loop).
            // It has just read: the other checks wait for the next sweep
            // (`now` is older than what the read stamped).
            read_paused_ = false;
            over_quota = false;
            resume_read();
            return;
        }
        if (lingering_) {
            if (now - linger_since_ms_ > kLingerMs) close("answered; closing");
            return;
        }
        if (mode_ == Mode::Http) {
            if (http_->awaiting && now - http_->awaiting_since_ms > o.http_request_timeout_s * 1000) {
                srv_.pending_http.erase(http_->awaiting);
                spdlog::warn("{}: a handler did not answer within {} s", peer(), o.http_request_timeout_s);
                keep_alive_ = false;
                deliver({504, "text/plain;charset=utf-8", "The request took too long.", {}});
            } else if (!http_->awaiting && http_->reader.in_progress() &&
                       now - http_->request_start_ms > o.http_header_timeout_s * 1000) {
                spdlog::info("{}: request not complete within {} s; closing", peer(), o.http_header_timeout_s);
                respond(408, "text/plain;charset=utf-8", "Request timeout.", {}, false);
            } else if (!http_->awaiting && now - last_read_ms_ > o.http_idle_timeout_s * 1000) {
                close("idle HTTP connection");
            }
            return;
        }
        if (!device) {
            if (!login_pending && now - created_ms_ > o.login_timeout_s * 1000) {
                spdlog::info("{}: no login within {} s; closing", peer(), o.login_timeout_s);
                close("login timeout");
            }
        } else if (idle_timeout_ms && now - last_read_ms_ > idle_timeout_ms) {
            spdlog::info("{}: nothing received for {} ms; closing", peer(), idle_timeout_ms);
            close("idle timeout");
        }
    }

    Session* next_ = nullptr;
    Session* prev_ = nullptr;
    uint32_t created_ms_ = 0, last_read_ms_ = 0;  // low 32 bits of the monotonic clock; compared by difference
    bool in_dirty_ = false;

protected:
    virtual void shutdown_socket() = 0;
    virtual void resume_read() = 0;
    // After processing a read: true if reading should pause until the next sweep.
    bool pause_for_quota() {
        if (!over_quota) return false;
        over_quota = false;
        read_paused_ = true;
        return true;
    }
    bool read_paused_ = false;
    virtual void shutdown_send() = 0;
    virtual tcp::endpoint remote(error_code& ec) const = 0;

    // Moves the socket out of Asio into the loop's readiness set, watched for
    // reading. False when there is no set (the session waits through Asio).
    bool join_set(socket_t& sock) {
        if (!srv_.ready_set) return false;
        error_code ec;
        auto fd = sock.release(ec);
        if (ec) return false;
        fd_ = int(fd);
        interest_ = kWatchRead;
        if (!srv_.ready_set->add(fd_, this)) {
            platform::socket_close(fd_);
            fd_ = -1;
            close("cannot watch the socket");
        }
        return true;
    }
    // One read of the set's socket into the loop's read area: the bytes read,
    // or 0 when there is nothing to process (it would block, or the
    // connection ended and is closed, after what came before was answered).
    size_t read_set_socket() {
        auto& area = srv_.read_area;
        int err = 0;
        long n = platform::socket_recv(fd_, area.data(), area.size(), err);
        if (n == -1) return 0;
        if (n == 0) {
            flush();  // what the peer sent before its end is still answered
            close("closed by peer");
            return 0;
        }
        if (n < 0) {
            close(platform::socket_error_text(err));
            return 0;
        }
        return size_t(n);
    }
    // One send of out_ on the set's socket: the bytes it took (0 when none,
    // or on an error, which closed the session). The caller erases them.
    size_t send_set_socket() {
        int err = 0;
        long r = platform::socket_send(fd_, out_.data(), out_.size(), err);
        if (r == -2) {
            close(platform::socket_error_text(err));
            return 0;
        }
        return r > 0 ? size_t(r) : 0;
    }
    // What the set watches the socket for; changed only when it differs.
    void set_interest(bool read, bool write) {
        uint8_t want = uint8_t((read ? kWatchRead : 0) | (write ? kWatchWrite : 0));
        if (fd_ < 0 || want == interest_) return;
        if (!srv_.ready_set->watch(fd_, this, read, write)) {
            close("cannot watch the socket");
            return;
        }
        interest_ = want;
    }
    // Leaves the set and closes the socket. Events of this batch that still
    // name the session find it closed (it is deleted by a posted handler).
    void leave_set() {
        if (fd_ < 0) return;
        srv_.ready_set->remove(fd_);
        platform::socket_close(fd_);
        fd_ = -1;
    }
    tcp::endpoint fd_peer(error_code& ec) const {
        tcp::endpoint ep;
        size_t len = ep.capacity();
        if (fd_ < 0 || !platform::socket_peer(fd_, ep.data(), len)) {
            ec = asio::error::not_connected;
            return {};
        }
        ep.resize(len);
        return ep;
    }
    static constexpr uint8_t kWatchRead = 1, kWatchWrite = 2;

    void queued() {
        if (out_.size() > kMaxPendingOutput) {
            reject("the peer does not read (" + std::to_string(out_.size()) + " bytes pending)");
            return;
        }
        srv_.mark_dirty(this);
    }

    // Consumes every complete unit (frame, request) in `data`; keeps the rest.
    void process(const char* data, size_t n) {
        last_read_ms_ = uint32_t(srv_.now_mono);
        if (close_after_flush_) return;  // answered and closing: what still arrives is dropped
        std::string_view in;
        bool from_partial = !partial_.empty();
        if (from_partial) {
            partial_.append(data, n);
            in = partial_;
        } else {
            in = std::string_view(data, n);
        }
        size_t off = 0;
        for (;;) {
            Mode before = mode_;
            off += consume(in.substr(off));
            if (closed_) return;
            if (mode_ == before || off >= in.size()) break;  // a switch goes on with the rest
        }
        size_t held = in.size() - off;
        if (held > hold_limit()) {
            reject(std::to_string(held) + " bytes sent before the previous message was answered");
            return;
        }
        if (from_partial) {
            partial_.erase(0, off);
            if (partial_.empty() && partial_.capacity() > kKeepCapacity) std::string().swap(partial_);
        } else if (off < n) {
            partial_.assign(in.data() + off, n - off);
        }
    }

    size_t hold_limit() const {
        switch (mode_) {
            case Mode::Http:
                return srv_.opt.http_max_body + srv_.opt.http_header_limit;
            case Mode::WebSocket:
                return kWsMaxPayload + 14;
            default:
                return srv_.opt.max_body + codec::kHardwareHeader;
        }
    }

    size_t consume(std::string_view in) {
        switch (mode_) {
            case Mode::Sniff:
                return sniff(in);
            case Mode::Hardware:
                return consume_hardware(in);
            case Mode::Http:
                return consume_http(in);
            case Mode::WebSocket:
                return consume_ws(in);
        }
        return 0;
    }

    size_t sniff(std::string_view in) {
        bool need_more = false;
        if (looks_like_http(in, need_more)) {
            mode_ = Mode::Http;
            http_ = std::make_unique<HttpState>(srv_.opt.http_header_limit, srv_.opt.http_max_body);
            http_->request_start_ms = uint32_t(srv_.now_mono);
        } else if (!need_more) {
            // The legacy rule: anything else is the Blynk hardware protocol
            // (the app protocol will be told apart here on the TLS port).
            mode_ = Mode::Hardware;
        }
        return 0;
    }

    size_t consume_hardware(std::string_view in) {
        size_t off = 0;
        // While a login waits for storage, later frames wait for its answer.
        while (!closed_ && !login_pending) {
            codec::Frame f;
            size_t used = 0;
            auto r = codec::parse_hardware(in.substr(off), srv_.opt.max_body, f, used);
            if (r == codec::Parse::NeedMore) break;
            if (r == codec::Parse::TooLarge) {
                reject("frame of " + std::to_string(f.length) + " bytes (command " + std::to_string(f.command) +
                       ") exceeds the limit of " + std::to_string(srv_.opt.max_body) + " bytes");
                return off;
            }
            if (f.command >= codec::kLastCommandIndex) {
                reject("unknown command " + std::to_string(f.command));
                return off;
            }
            srv_.router.on_frame(*this, f);
            off += used;
        }
        return off;
    }

    size_t consume_http(std::string_view in) {
        size_t off = 0;
        while (!closed_ && mode_ == Mode::Http && !http_->awaiting && !http_->static_body && !close_after_flush_ &&
               off < in.size()) {
            if (!http_->reader.in_progress()) http_->request_start_ms = uint32_t(srv_.now_mono);
            HttpReader::State st;
            unsigned status = 0;
            std::string reason;
            off += http_->reader.feed(in.substr(off), st, status, reason);
            if (st == HttpReader::State::NeedMore) break;
            if (st == HttpReader::State::Error) {
                spdlog::info("{}: HTTP {}: {}", peer(), status, reason);
                respond(status, "text/plain;charset=utf-8", reason, {}, false);
                return in.size();
            }
            dispatch();
            if (mode_ == Mode::Http && http_) http_->reader.next();
        }
        return off;
    }

    void dispatch();  // defined after Server::Impl's HTTP parts

    void respond(unsigned status, std::string_view type, std::string_view body,
                 const std::vector<std::pair<std::string, std::string>>& headers, bool keep_alive) {
        out_ += http_response(status, type, body, headers, keep_alive, !http_ || http_->cross_origin);
        if (!keep_alive) close_after_flush_ = true;
        queued();
    }

    size_t consume_ws(std::string_view in) {
        size_t off = 0;
        while (!closed_ && !close_after_flush_) {
            codec::WsFrame f;
            size_t used = 0;
            auto r = codec::parse_ws(in.substr(off), kWsMaxPayload, f, used);
            if (r == codec::WsParse::NeedMore) break;
            if (r != codec::WsParse::Ok || !f.masked) {
                reject(r == codec::WsParse::TooLarge ? "websocket message too large" : "malformed websocket frame");
                return off;
            }
            off += used;
            auto op = codec::WsOpcode(f.opcode);
            if (op == codec::WsOpcode::Binary || op == codec::WsOpcode::Text) {
                http_->ws_message = 0;
                http_->ws_text = op == codec::WsOpcode::Text;
            }
            if (op == codec::WsOpcode::Binary || op == codec::WsOpcode::Text || op == codec::WsOpcode::Continuation) {
                http_->ws_message += f.payload.size();
                if (http_->ws_message > kWsMaxPayload) {
                    reject("websocket message too large");
                    return off;
                }
                if (http_->ws_text) continue;  // text means nothing to the hardware protocol
            }
            switch (op) {
                case codec::WsOpcode::Binary:
                case codec::WsOpcode::Continuation: {
                    std::string& stream = http_->ws_stream;
                    codec::append_unmasked(f, stream);
                    size_t done = consume_hardware(stream);
                    if (closed_) return off;
                    stream.erase(0, done);
                    if (stream.size() > hold_limit()) {
                        reject("websocket stream holds an oversize frame");
                        return off;
                    }
                    break;
                }
                case codec::WsOpcode::Ping: {
                    std::string payload;
                    codec::append_unmasked(f, payload);
                    codec::encode_ws(out_, codec::WsOpcode::Pong, payload);
                    queued();
                    break;
                }
                case codec::WsOpcode::Close:
                    codec::encode_ws(out_, codec::WsOpcode::Close, {});
                    close_after_flush_ = true;
                    queued();
                    return in.size();
                default:
                    break;  // pongs mean nothing here
            }
        }
        return off;
    }

    void drained() {
        if (http_ && http_->static_body && next_static_chunk()) return;
        if (out_.capacity() > kKeepCapacity) std::string().swap(out_);
        if (!close_after_flush_ || lingering_) return;
        // Close gracefully: stop sending, then read and drop what the client
        // still sends (a body being refused, say) until it closes or the
        // sweep gives up, so the answer is not lost to a reset.
        lingering_ = true;
        linger_since_ms_ = uint32_t(srv_.now_mono);
        shutdown_send();
    }

    // The sent chunk of a static file is followed by the next (net/static_stream.hpp);
    // false once the body is complete.
    bool next_static_chunk() {
        std::string error;
        switch (http_->static_body->append_next(out_, error)) {
            case StaticStream::Step::Appended:
                last_read_ms_ = uint32_t(srv_.now_mono);  // a download going on is not an idle connection
                srv_.mark_dirty(this);
                return true;
            case StaticStream::Step::Failed:
                reject(error);
                return true;
            case StaticStream::Step::Finished:
                break;
        }
        http_->static_body.reset();
        if (!partial_.empty()) {  // requests that came meanwhile
            begin_op();
            srv_.defer([this] {
                resume();
                done_op();
            });
        }
        return false;
    }

    Server::Impl& srv_;
    std::unique_ptr<HttpState> http_;
    std::string partial_;
    std::string out_;
    uint32_t pending_ = 0;
    int fd_ = -1;         // in the readiness set (-1: Asio waits, or closed)
    tcp::endpoint peer_;  // port 0: unknown
    uint8_t interest_ = 0;
    bool tls_ = false;
    Mode mode_ = Mode::Sniff;
    bool lingering_ = false;
    uint32_t linger_since_ms_ = 0;
    bool closed_ = false;
    bool writing_ = false;
    bool keep_alive_ = true;
    bool close_after_flush_ = false;
};

// Plain TCP: wait for readability (in the loop's readiness set, or through
// Asio), read into the loop's shared area, write without waiting when the
// socket accepts it.
class PlainSession final : public Session {
public:
    PlainSession(Server::Impl& srv, socket_t sock) : Session(srv, false), sock_(std::move(sock)) {}

    void start() override {
        error_code ec;
        peer_ = sock_.remote_endpoint(ec);
        sock_.non_blocking(true, ec);
        sock_.set_option(tcp::no_delay(true), ec);
        if (join_set(sock_)) return;
        arm_read();
    }

    void flush() override {
        if (writing_ || closed_ || out_.empty()) return;
        size_t n = 0;
        if (fd_ >= 0) {
            n = send_set_socket();
            if (closed_) return;
        } else {
            error_code ec;
            n = sock_.write_some(asio::buffer(out_), ec);
            if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
                close(ec.message());
                return;
            }
        }
        out_.erase(0, n);
        if (out_.empty()) {
            drained();
            return;
        }
        writing_ = true;
        if (fd_ >= 0) {
            set_interest(!read_paused_, true);  // until the peer reads
            return;
        }
        begin_op();
        sock_.async_wait(socket_t::wait_write, [this](const error_code& e) {
            writing_ = false;
            if (!closed_) {
                if (e)
                    close(e.message());
                else
                    flush();
            }
            done_op();
        });
    }

    // One read per ready turn: the set is level-triggered, so what is left
    // is reported again next turn.
    void on_event(bool readable, bool writable) override {
        if (writable && writing_) {
            writing_ = false;
            flush();
            if (closed_) return;
            if (!writing_) set_interest(!read_paused_, false);
        }
        if (!readable || closed_) return;
        size_t n = read_set_socket();
        if (n == 0) return;
        process(srv_.read_area.data(), n);
        // Over its message quota: no read interest until the next sweep.
        if (!closed_ && pause_for_quota()) set_interest(false, writing_);
    }

private:
    void arm_read() {
        begin_op();
        sock_.async_wait(socket_t::wait_read, [this](const error_code& e) {
            if (!closed_) {
                if (e)
                    close(e.message());
                else
                    on_readable();
            }
            done_op();
        });
    }

    void on_readable() {
        srv_.tick_clock();
        auto& area = srv_.read_area;
        for (int round = 0;; ++round) {
            if (round == kReadRounds) {
                // A peer that keeps the socket full (a flood): let the other
                // sessions run, then go on reading.
                begin_op();
                srv_.defer([this] {
                    if (!closed_) on_readable();
                    done_op();
                });
                return;
            }
            error_code ec;
            size_t n = sock_.read_some(asio::buffer(area.data(), area.size()), ec);
            if (ec == asio::error::would_block || ec == asio::error::try_again) break;
            if (ec == asio::error::eof) {
                flush();  // what the peer sent before its end is still answered
                close("closed by peer");
                return;
            }
            if (ec) {
                close(ec.message());
                return;
            }
            process(area.data(), n);
            if (closed_ || pause_for_quota()) return;
            if (n < area.size()) break;
        }
        arm_read();
    }
    void resume_read() override {
        if (fd_ >= 0) {
            set_interest(true, writing_);  // level-triggered: what waits is reported next turn
            return;
        }
        on_readable();
    }

    void shutdown_socket() override {
        if (fd_ >= 0) {
            leave_set();
            return;
        }
        error_code ec;
        sock_.close(ec);
    }
    void shutdown_send() override {
        if (fd_ >= 0) {
            platform::socket_shutdown_send(fd_);
            return;
        }
        error_code ec;
        sock_.shutdown(tcp::socket::shutdown_send, ec);
    }

    tcp::endpoint remote(error_code& ec) const override { return fd_ >= 0 ? fd_peer(ec) : sock_.remote_endpoint(ec); }

    socket_t sock_;
};

// TLS over the same readiness model as plain TCP. OpenSSL does the handshake,
// reading and writing the non-blocking socket itself. A TLS 1.3 or 1.2 connection in
// the readiness set then continues with our own record layer (TlsRecords)
// and the SSL object is freed: an idle connection keeps a few hundred bytes
// of keys instead of OpenSSL's ~15 KB. Others (CCM suites, Asio waits) stay
// with OpenSSL: decrypted bytes land in the loop's shared read area and
// OpenSSL's buffers are released while idle. Asio's ssl::stream would add
// ~70 KB of buffers per connection.
class TlsSession final : public Session {
public:
    TlsSession(Server::Impl& srv, socket_t sock) : Session(srv, true), sock_(std::move(sock)) {}
    ~TlsSession() override {
        if (ssl_) SSL_free(ssl_);
    }

    void start() override {
        error_code ec;
        peer_ = sock_.remote_endpoint(ec);
        sock_.non_blocking(true, ec);
        sock_.set_option(tcp::no_delay(true), ec);
        bool in_set = join_set(sock_);
        if (closed_) return;
        ssl_ = SSL_new(srv_.tls->native_handle());
        if (!ssl_ || SSL_set_fd(ssl_, in_set ? fd_ : int(sock_.native_handle())) != 1) {
            spdlog::error("{}: cannot set up TLS: {}", peer(), ssl_error());
            close("TLS setup failed");
            return;
        }
        SSL_set_accept_state(ssl_);
        // The record layer needs the set (it does its own socket I/O) and a
        // start-up self-test that passed on this OpenSSL (tls_takeover.hpp).
        if (in_set && srv_.takeover.enabled()) tls_records_prepare(ssl_);
        handshake();
    }

    void flush() override {
        if (records_) {
            flush_records();
            return;
        }
        if (writing_ || closed_ || out_.empty() || !ready_) return;
        while (!out_.empty()) {
            // After a WANT_* the retry must repeat the same length.
            int len = retry_len_ ? retry_len_ : int(std::min<size_t>(out_.size(), 1 << 20));
            ERR_clear_error();
            int n = SSL_write(ssl_, out_.data(), len);
            if (n > 0) {
                retry_len_ = 0;
                out_.erase(0, size_t(n));
                continue;
            }
            int e = SSL_get_error(ssl_, n);
            if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
                retry_len_ = len;
                writing_ = true;
                if (e == SSL_ERROR_WANT_READ) {
                    write_waits_read_ = true;  // the read path resumes the write
                    return;
                }
                if (fd_ >= 0) {
                    update_interest();
                    return;
                }
                wait(socket_t::wait_write, [this] {
                    writing_ = false;
                    flush();
                    if (read_waits_write_) {
                        read_waits_write_ = false;
                        on_readable();
                    }
                });
                return;
            }
            close("TLS write failed: " + ssl_error());
            return;
        }
        drained();
        if (fd_ >= 0 && !closed_) update_interest();
    }

    void on_event(bool readable, bool writable) override {
        if (!ready_) {
            handshake();
            return;
        }
        if (records_) {
            if (writable && writing_) {
                writing_ = false;
                flush_records();
                if (closed_) return;
            }
            // Back-pressure: while our records wait for the socket, the peer's
            // input waits in TCP, not in our memory (see update_interest).
            if (readable && !read_paused_ && !writing_) read_records();
            if (!closed_) update_interest();
            return;
        }
        if (writable) {
            if (writing_ && !write_waits_read_) {
                writing_ = false;
                flush();
                if (closed_) return;
            }
            if (read_waits_write_) {
                read_waits_write_ = false;
                readable = true;
            }
        }
        if (readable && !read_waits_write_ && !read_paused_) on_readable();
        if (!closed_) update_interest();
    }

private:
    // Set mode: read interest unless a read waits for writability, or (our
    // record layer) records wait for the socket to take them: a peer that
    // does not read cannot make us read on and answer into memory; write
    // interest while a write or a read waits for it.
    void update_interest() {
        bool read = !read_waits_write_ && !read_paused_ && !(records_ && writing_);
        set_interest(read, (writing_ && !write_waits_read_) || read_waits_write_);
    }

    template <class F>
    void wait(socket_t::wait_type type, F&& then) {
        begin_op();
        sock_.async_wait(type, [this, then = std::forward<F>(then)](const error_code& e) {
            if (!closed_) {
                if (e)
                    close(e.message());
                else
                    then();
            }
            done_op();
        });
    }

    void handshake() {
        ERR_clear_error();
        int r = SSL_do_handshake(ssl_);
        if (r == 1) {
            ready_ = true;
            if (spdlog::should_log(spdlog::level::debug))
                spdlog::debug("{}: {} handshake done ({}, {})", peer(), SSL_get_version(ssl_),
                              SSL_CIPHER_get_name(SSL_get_current_cipher(ssl_)),
                              SSL_session_reused(ssl_) == 1 ? "resumed" : "full");
            if (fd_ >= 0) {
                // OpenSSL has written everything of the handshake (its session
                // tickets too) and read nothing past the client's Finished.
                if (srv_.takeover.allows(ssl_)) records_ = TlsRecords::take_over(ssl_);
                if (records_) {
                    SSL_free(ssl_);
                    ssl_ = nullptr;
                } else {
                    tls_records_release(ssl_);
                }
            }
            spdlog::debug("{}: TLS record layer: {}", peer(), records_ ? "kernel" : "OpenSSL");
            on_readable();  // the client may have sent its login with the handshake
            if (fd_ >= 0 && !closed_) update_interest();
            return;
        }
        int e = SSL_get_error(ssl_, r);
        if (fd_ >= 0 && (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE))
            set_interest(e == SSL_ERROR_WANT_READ, e == SSL_ERROR_WANT_WRITE);
        else if (e == SSL_ERROR_WANT_READ)
            wait(socket_t::wait_read, [this] { handshake(); });
        else if (e == SSL_ERROR_WANT_WRITE)
            wait(socket_t::wait_write, [this] { handshake(); });
        else {
            spdlog::info("{}: TLS handshake failed: {}", peer(), ssl_error());
            close("TLS handshake failed");
        }
    }

    void on_readable() {
        if (records_) {
            read_records();
            return;
        }
        srv_.tick_clock();
        auto& area = srv_.read_area;
        for (int round = 0; round < 16; ++round) {
            ERR_clear_error();
            int n = SSL_read(ssl_, area.data(), int(area.size()));
            if (n > 0) {
                process(area.data(), size_t(n));
                if (closed_) return;
                if (pause_for_quota()) {
                    resume_write();
                    if (fd_ >= 0 && !closed_) update_interest();  // no read interest until the sweep
                    return;
                }
                // Set mode: what the socket still holds is reported next turn;
                // only what OpenSSL already buffered must be read now.
                if (fd_ >= 0 && !SSL_has_pending(ssl_)) {
                    resume_write();
                    return;
                }
                continue;
            }
            int e = SSL_get_error(ssl_, n);
            if (e == SSL_ERROR_WANT_READ) {
                resume_write();
                if (fd_ < 0) wait(socket_t::wait_read, [this] { on_readable(); });
                return;
            }
            if (e == SSL_ERROR_WANT_WRITE) {
                read_waits_write_ = true;
                if (fd_ >= 0) {
                    update_interest();
                    return;
                }
                if (!writing_) {
                    writing_ = true;
                    wait(socket_t::wait_write, [this] {
                        writing_ = false;
                        read_waits_write_ = false;
                        on_readable();
                        flush();
                    });
                }
                return;
            }
            if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
                // The peer's end may arrive with its last records: answer them first.
                flush();
                close("closed by peer");
                return;
            }
            close("TLS read failed: " + ssl_error());
            return;
        }
        // A busy peer: let other sessions run, then continue with what
        // OpenSSL already holds (epoll would not report it).
        resume_write();
        begin_op();
        srv_.defer([this] {
            if (!closed_) on_readable();
            done_op();
        });
    }

    void resume_read() override {
        if (fd_ >= 0) update_interest();
        on_readable();  // OpenSSL may hold records the socket no longer reports
    }

    void resume_write() {
        if (!write_waits_read_) return;
        write_waits_read_ = false;
        writing_ = false;
        flush();
    }

    void shutdown_socket() override {
        if (ssl_ && ready_ && !lingering_) {
            ERR_clear_error();
            SSL_shutdown(ssl_);  // best effort close_notify; never waits
        }
        if (records_ && !lingering_) send_close_notify();
        if (fd_ >= 0) {
            leave_set();
            return;
        }
        error_code ec;
        sock_.close(ec);
    }
    void shutdown_send() override {
        if (ssl_ && ready_) {
            ERR_clear_error();
            SSL_shutdown(ssl_);
        }
        if (records_) send_close_notify();
        if (fd_ >= 0) {
            platform::socket_shutdown_send(fd_);
            return;
        }
        error_code ec;
        sock_.shutdown(tcp::socket::shutdown_send, ec);
    }

    static std::string ssl_error() {
        unsigned long code = ERR_get_error();
        if (!code) return "connection reset";
        char buf[256];
        ERR_error_string_n(code, buf, sizeof buf);
        return buf;
    }

    tcp::endpoint remote(error_code& ec) const override { return fd_ >= 0 ? fd_peer(ec) : sock_.remote_endpoint(ec); }

    // ---- after a take-over (records_ set, ssl_ gone; set mode only)
    // out_ holds records ready to send (its first sealed_ bytes), then the
    // plaintext queued since, sealed when flushed.

    // One socket read per ready turn, as a plain session.
    void read_records() {
        size_t n = read_set_socket();
        if (n == 0) return;
        std::string& answer = srv_.tls_answer;
        answer.clear();
        auto status = records_->open(
            srv_.read_area.data(), n,
            [this](const char* p, size_t len) {
                if (!closed_) process(p, len);
            },
            answer);
        if (closed_) return;
        if (!answer.empty()) {
            // Sealed under the key of before this read (a KeyUpdate answer, an
            // alert): ahead of the plaintext queued meanwhile, which the next
            // seal puts under the new key. Counted in the pending-output limit
            // like everything else we queue.
            out_.insert(sealed_, answer);
            sealed_ += answer.size();
            queued();
            if (closed_) return;
        }
        if (status == TlsRecords::Status::Closed) {
            flush_records();
            close("closed by peer");
            return;
        }
        if (status != TlsRecords::Status::Ok) {
            end_records();
            return;
        }
        if (pause_for_quota()) update_interest();  // no read interest until the sweep
    }

    // Seals the plaintext queued since the last seal. False when the record
    // layer refuses (it has failed): the plaintext it did not seal is
    // dropped, so out_ never holds plaintext that could reach the socket.
    bool seal_pending() {
        if (sealed_ == out_.size()) return true;
        std::string& sealed = srv_.seal_area;
        sealed.clear();
        bool ok = records_->seal(out_.data() + sealed_, out_.size() - sealed_, sealed);
        out_.resize(sealed_);
        out_ += sealed;
        sealed_ = out_.size();
        if (sealed.capacity() > kMaxPendingOutput) std::string().swap(sealed);
        return ok;
    }

    // The record layer has failed (a bad record, a fatal alert, a record it
    // would not seal): close; what it sealed (its fatal alert) goes out if the
    // socket takes it, and no close_notify follows.
    void end_records() {
        seal_pending();
        spdlog::info("{}: TLS: {}; closing", peer(), records_->error());
        close("TLS error: " + records_->error());
    }

    void flush_records() {
        if (writing_ || closed_ || out_.empty()) return;
        if (!seal_pending()) {
            end_records();
            return;
        }
        size_t n = send_set_socket();
        if (closed_) return;
        out_.erase(0, n);
        sealed_ -= n;
        if (out_.empty()) {
            drained();
            if (!closed_) update_interest();
            return;
        }
        writing_ = true;
        update_interest();  // until the peer reads
    }

    // Best effort, never waits: behind what is queued, if the socket takes it.
    // After a failure only what was sealed before (its fatal alert) goes.
    void send_close_notify() {
        if (seal_pending()) records_->close_notify(out_);
        sealed_ = out_.size();
        int err = 0;
        long r = platform::socket_send(fd_, out_.data(), out_.size(), err);
        if (r > 0) {
            out_.erase(0, size_t(r));
            sealed_ -= size_t(r);
        }
    }

    socket_t sock_;
    SSL* ssl_ = nullptr;
    std::unique_ptr<TlsRecords> records_;
    size_t sealed_ = 0;
    int retry_len_ = 0;
    bool ready_ = false;
    bool read_waits_write_ = false;
    bool write_waits_read_ = false;
};

// ------------------------------------------------------------------ http

namespace {}  // namespace

void Session::dispatch() {
    HttpReader& r = http_->reader;
    keep_alive_ = r.keep_alive();
    http_->cross_origin = true;
    std::string_view target = r.target();
    size_t q = target.find('?');
    std::string_view raw_path = target.substr(0, q);
    std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
    if (r.websocket_upgrade()) {
        // The legacy server meant every /websocket* path for hardware (and
        // served only /websockets); both work here.
        std::string_view key = r.header("Sec-WebSocket-Key");
        if (r.method() != "GET" || raw_path.rfind("/websocket", 0) != 0) {
            respond(404, {}, {}, {}, false);
        } else if (key.empty() || r.header("Sec-WebSocket-Version") != "13") {
            respond(400, "text/plain;charset=utf-8", "A websocket handshake needs Sec-WebSocket-Key and version 13.",
                    {}, false);
        } else {
            out_ += websocket_accept(key);
            queued();
            mode_ = Mode::WebSocket;
            created_ms_ = uint32_t(srv_.now_mono);  // the login timeout starts now
        }
        return;
    }
    std::string path;
    if (!host::percent_decode(raw_path, path, false) || path.empty() || path[0] != '/') {
        respond(400, "text/plain;charset=utf-8", "Malformed request path.", {}, keep_alive_);
        return;
    }
    if ((r.method() == "GET" || r.method() == "HEAD") &&
        (raw_path.rfind("/static/", 0) == 0 || raw_path == "/favicon.ico")) {
        http_->static_body =
            StaticStream::start(srv_.opt.static_dir, raw_path == "/favicon.ico" ? "/static/favicon.ico" : raw_path,
                                r.method() == "HEAD", keep_alive_, out_);
        if (!keep_alive_) close_after_flush_ = true;
        queued();
        return;
    }
    host::HttpRoutes::Match m;
    if (!srv_.plugins.routes().match(r.method(), raw_path, m)) {
        respond(404, {}, {}, {}, keep_alive_);
        return;
    }
    http_->cross_origin = m.cross_origin;
    auto fields = r.headers();
    std::vector<blynk_http_header> headers;
    headers.reserve(fields.size());
    for (auto& [k, v] : fields)
        headers.push_back({bs(k), bs(v)});
    std::vector<blynk_str> params;
    for (auto& p : m.params)
        params.push_back(bs(p));
    std::string who = peer();
    blynk_http_request req{};
    req.size = sizeof req;
    req.method = bs(r.method());
    req.path = bs(path);
    req.query = bs(query);
    req.headers = headers.data();
    req.header_count = headers.size();
    req.body = bs(r.body());
    req.params = params.data();
    req.param_count = params.size();
    req.peer = bs(who);
    req.tls = tls_ ? 1 : 0;
    uint64_t id = srv_.next_http_id++;
    srv_.pending_http[id] = this;
    http_->awaiting = id;
    http_->awaiting_since_ms = uint32_t(srv_.now_mono);
    srv_.http_peer = who;  // tokens the handler has the kernel look up count for this address
    try {
        (*m.fn)(req, reinterpret_cast<blynk_http_responder*>(uintptr_t(id)));
        srv_.http_peer.clear();
    } catch (const std::exception& e) {
        srv_.http_peer.clear();
        spdlog::error("{}: HTTP handler for {} {} failed: {}", who, r.method(), *m.pattern, e.what());  // no token
        srv_.pending_http.erase(id);
        http_->awaiting = 0;
        respond(500, "text/plain;charset=utf-8", "Internal error.", {}, keep_alive_);
    }
}

void Server::Impl::respond(blynk_http_responder* responder, const blynk_http_response& res) {
    auto str = [](blynk_str s) { return s.data ? std::string(s.data, s.size) : std::string(); };
    HttpAnswer a;
    a.status = res.status >= 100 && res.status <= 999 ? res.status : 500;
    a.content_type = str(res.content_type);
    a.body = str(res.body);
    for (size_t i = 0; res.headers && i < res.header_count; ++i) {
        std::string k = str(res.headers[i].name), v = str(res.headers[i].value);
        // Framing and CR/LF stay the kernel's: no header may smuggle another.
        if (k.find_first_of("\r\n:") != std::string::npos || v.find_first_of("\r\n") != std::string::npos) continue;
        a.headers.emplace_back(std::move(k), std::move(v));
    }
    uint64_t id = uint64_t(reinterpret_cast<uintptr_t>(responder));
    defer([this, id, a = std::move(a)] {
        auto it = pending_http.find(id);
        if (it == pending_http.end()) return;  // answered already, timed out, or the client left
        Session* s = it->second;
        pending_http.erase(it);
        s->deliver(a);
    });
}

void Server::Impl::resolve_token(std::string token, std::function<void(int)> answer) {
    // Called from an HTTP handler: the login throttle applies to its address
    // (blocked: refused without a lookup; an unknown token counts).
    std::string peer = http_peer;
    if (!peer.empty() && router.peer_blocked(peer)) return answer(BLYNK_NOT_FOUND);
    // `failed`: storage could not answer, which says nothing about the token
    // (BLYNK_ERROR; no throttle count).
    auto done = [this, peer, answer](bool found, bool failed = false) {
        if (found) return answer(BLYNK_OK);
        if (failed) return answer(BLYNK_ERROR);
        if (!peer.empty()) router.token_refused(peer);
        answer(BLYNK_NOT_FOUND);
    };
    if (model_ref.find_token(token)) return done(true);
    if (token.size() != 32) return done(false);
    if (pending_loads >= kMaxPendingLoads) return answer(BLYNK_ERROR);
    auto data = std::make_shared<core::LoadedData>();
    auto* st = &storage;
    bool queued = storage_queue.post([this, st, token, data, done] {
        bool failed = false;
        try {
            st->load_by_token(token, *data);
        } catch (const std::exception& e) {
            log_lookup_failure(e.what());
            failed = true;
        }
        defer([this, token, data, done, failed] {
            --pending_loads;
            model_ref.merge(std::move(*data));
            done(model_ref.find_token(token) != nullptr, failed);
        });
    });
    if (!queued) return answer(BLYNK_ERROR);
    ++pending_loads;
}

bool Server::Impl::pin_write(core::Device& d, char type, uint8_t pin, std::string_view value) {
    std::string body;
    body.push_back(type);
    body += 'w';
    body.push_back('\0');
    body += std::to_string(pin);
    body.push_back('\0');
    body.append(value.data(), value.size());
    return router.api_write(d, body) == 0;
}

// ------------------------------------------------------------------ server

void Server::Impl::mark_dirty(Session* s) {
    if (s->in_dirty_) return;
    s->in_dirty_ = true;
    dirty.push_back(s);
    if (!flush_posted && !in_ready_turn) {
        flush_posted = true;
        defer([this] { flush_all(); });
    }
}

void Server::Impl::flush_all() {
    flush_posted = false;
    flushing.swap(dirty);
    for (Session* s : flushing) {
        if (!s) continue;
        s->in_dirty_ = false;
        s->flush();
    }
    flushing.clear();
}

void Server::Impl::bind(std::vector<std::unique_ptr<acceptor_t>>& out, uint16_t port, const char* kind) {
    std::vector<tcp::endpoint> eps;
    if (opt.listen_address.empty()) {
        eps.emplace_back(tcp::v6(), port);
    } else {
        error_code ec;
        auto addr = asio::ip::make_address(opt.listen_address, ec);
        if (ec)
            throw std::runtime_error("server.listen_address = \"" + opt.listen_address +
                                     "\" is not an IP address (use \"\" for every interface)");
        eps.emplace_back(addr, port);
    }
    for (auto& ep : eps) {
        auto a = std::make_unique<acceptor_t>(ioc.get_executor());
        error_code ec;
        a->open(ep.protocol(), ec);
        if (ec && opt.listen_address.empty()) {  // no IPv6 on this host
            ep = tcp::endpoint(tcp::v4(), port);
            a->open(ep.protocol(), ec);
        }
        if (!ec && ep.address().is_v6()) a->set_option(asio::ip::v6_only(false), ec);
        if (!ec) a->set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec) a->bind(ep, ec);
        if (!ec) a->listen(asio::socket_base::max_listen_connections, ec);
        if (ec)
            throw std::runtime_error(std::string("cannot listen for ") + kind + " on " + endpoint_text(ep) + ": " +
                                     ec.message() + " (is another server using the port? see server." +
                                     (std::string(kind) == "hardware-tls" ? "tls_port" : "hardware_port") + ")");
        spdlog::info("listening {} {}", kind, endpoint_text(a->local_endpoint()));
        out.push_back(std::move(a));
    }
}

void Server::Impl::accept(acceptor_t& a, bool tls_port) {
    a.async_accept([this, &a, tls_port](const error_code& ec, socket_t sock) {
        if (stopping) return;
        if (ec) {
            if (ec == asio::error::operation_aborted) return;
            // Out of descriptors or similar: log, pause briefly, keep serving.
            spdlog::warn("accept failed: {}; retrying in 100 ms", ec.message());
            accept_retry.expires_after(std::chrono::milliseconds(100));
            accept_retry.async_wait([this, &a, tls_port](const error_code& e) {
                if (!e && !stopping) accept(a, tls_port);
            });
            return;
        }
        tick_clock();
        Session* s = tls_port ? static_cast<Session*>(new TlsSession(*this, std::move(sock)))
                              : static_cast<Session*>(new PlainSession(*this, std::move(sock)));
        s->start();
        accept(a, tls_port);
    });
}

namespace {
bool env_flag(const char* name) {
    const char* v = std::getenv(name);
    return v && *v && std::string_view(v) != "0";
}
}  // namespace

void Server::Impl::open_ready_set() {
#if defined(BOOST_ASIO_HAS_POSIX_STREAM_DESCRIPTOR)
    if (env_flag("BLYNKD_ASIO_WAITS")) {
        spdlog::info("event loop: every socket waits through Asio (BLYNKD_ASIO_WAITS)");
        return;
    }
    ready_set = platform::ReadinessSet::open();
    if (!ready_set) return;
    ready_events.resize(256);
    // Asio's reactor is the set that watches a listener (Asio registers a
    // socket with its reactor when it opens it).
    int reactor = -1;
    if (!env_flag("BLYNKD_SET_IN_ASIO"))
        for (auto* list : {&plain_acceptors, &tls_acceptors})
            for (auto& a : *list)
                if (reactor < 0) reactor = ready_set->find_set_watching(int(a->native_handle()));
    if (reactor >= 0 && ready_set->add(reactor, &asio_tag)) {
        if (ready_set->add_notifier(&notify_tag)) {
            loop_thread.store(std::this_thread::get_id(), std::memory_order_relaxed);
            set_loop.store(true, std::memory_order_release);
            spdlog::info("event loop: sockets wait in one readiness set, Asio's reactor inside it");
            return;
        }
        ready_set->remove(reactor);
    }
    spdlog::info("event loop: sockets wait in one readiness set, waited on through Asio");
    ready_wait =
        std::make_unique<asio::posix::basic_stream_descriptor<executor>>(ioc.get_executor(), ready_set->handle());
    arm_ready();
#endif
}

// One wait for every session socket, re-armed only when a turn found the set
// idle: while sessions keep it busy, the next turn is posted (behind this
// turn's output flush), which costs no re-registration and no extra wake-up;
// Asio still polls its own reactor (accept, timers) between the turns.
void Server::Impl::arm_ready() {
#if defined(BOOST_ASIO_HAS_POSIX_STREAM_DESCRIPTOR)
    ready_wait->async_wait(asio::posix::descriptor_base::wait_read, [this](const error_code& e) {
        if (e || stopping) return;
        ready_turn();
    });
#endif
}

void Server::Impl::ready_turn() {
    // The turn's output goes out at its end, in this handler: a posted flush
    // would cost the loop another (non-blocking) poll of the reactor per turn.
    in_ready_turn = true;
    size_t n = on_ready(ready_set->poll(ready_events.data(), ready_events.size()));
    in_ready_turn = false;
    if (!dirty.empty()) flush_all();
    if (n < kBusyTurn) {
        arm_ready();
        return;
    }
    defer([this] {
        if (!stopping) ready_turn();
    });
}

// The set's own loop: one blocking wait per wake-up; Asio runs (accept,
// timers, signals, posted work) when its reactor or the notifier is among
// the ready members, or when this turn queued work on it. Work queued in a
// way that reaches neither still runs by the next timer (the sweep, every
// 250 ms). Ends when the server stops; Asio then finishes on its own.
void Server::Impl::run_set_loop() {
    asio_pending = true;  // what was queued before the loop started
    while (!stopping) {
        bool more = asio_pending || !after_turn.empty();
        size_t n = ready_set->wait(ready_events.data(), ready_events.size(), more ? 0 : -1);
        in_ready_turn = true;
        on_ready(n);
        if (!after_turn.empty()) {
            auto work = std::move(after_turn);
            after_turn.clear();
            for (auto& fn : work)
                fn();
        }
        in_ready_turn = false;
        if (!dirty.empty()) flush_all();
        if (asio_pending) {
            ioc.poll();
            asio_pending = false;  // the poll ran what its handlers queued
            if (ioc.stopped()) break;
        }
    }
    set_loop.store(false, std::memory_order_release);
}

// Every ready session of this turn, one event each. A session closed by an
// earlier event of the same batch is still allocated (deletion is posted to
// the loop, so it runs after this turn) and is skipped; a closed session's
// socket has left the set, so no later batch names it.
size_t Server::Impl::on_ready(size_t n) {
    if (n) tick_clock();
#if defined(__GNUC__)
    // With many connections each session is a cache miss: start the loads of
    // all of them before the first is served.
    for (size_t i = 0; i < n; ++i)
        __builtin_prefetch(ready_events[i].tag);
#endif
    for (size_t i = 0; i < n; ++i) {
        auto& ev = ready_events[i];
        if (ev.tag == &asio_tag || ev.tag == &notify_tag) {
            if (ev.tag == &notify_tag) ready_set->drain_notifier();
            asio_pending = true;
            continue;
        }
        auto* s = static_cast<Session*>(ev.tag);
        if (!s->is_closed()) s->on_event(ev.readable, ev.writable);
    }
    return n;
}

void Server::Impl::schedule_sweep() {
    sweep_timer.expires_after(std::chrono::milliseconds(250));
    sweep_timer.async_wait([this](const error_code& e) {
        if (e || stopping) return;
        sweep();
        schedule_sweep();
    });
}

// Idle, login and HTTP timeouts by one periodic walk: no timer per connection.
void Server::Impl::sweep() {
    tick_clock();
    uint32_t now = uint32_t(now_mono);
    for (Session* s = sessions; s;) {
        Session* next = s->next_;
        s->check_timeouts(now);
        s = next;
    }
    check_storage_stall();
}

// A storage call that does not return (a frozen file system, a hung network
// disk) is no error anyone would see: say so, once per call and then once a
// minute, and again when it returns. Meanwhile devices keep working from
// memory; logins of tokens not in memory and account changes wait.
void Server::Impl::check_storage_stall() {
    host::WorkQueue::Running r = storage_queue.running();
    int64_t now = now_mono;  // ticked by the sweep
    if (r.job && now - r.since_ms >= kStorageStallMs) {
        if (r.job != stalled_job || now - stall_warned_ms >= 60000) {
            spdlog::warn(
                "storage: a call has been running for {} s and has not returned (a frozen or very slow "
                "disk?); devices keep working from memory, logins of devices not in memory and account "
                "changes wait; {} more storage jobs queued",
                (now - r.since_ms) / 1000, storage_queue.size());
            if (r.job != stalled_job) stall_since_ms = r.since_ms;
            stalled_job = r.job;
            stall_warned_ms = now;
        }
    } else if (stalled_job && r.job != stalled_job) {
        spdlog::warn("storage: the call that hung returned after about {} s", (now - stall_since_ms) / 1000);
        stalled_job = 0;
    }
}

void Server::Impl::schedule_flush() {
    flush_timer.expires_after(std::chrono::milliseconds(opt.pin_flush_interval_ms));
    flush_timer.async_wait([this](const error_code& e) {
        if (e || stopping) return;
        flush_pins(false);
        schedule_flush();
    });
}

// What storage has not taken yet. The vectors belong to the storage thread;
// `pending` tells the I/O thread to retry even when nothing new was written.
struct FlushBacklog {
    std::vector<blynk::Pin> pins;
    std::vector<blynk::Device> states;
    std::atomic<bool> pending{false};
    std::atomic<bool> retry_queued{false};
    // Failure logging (storage thread).
    RepeatedError errors;
    bool final_logged = false;
    // Heap trimming after big batches (storage thread).
    bool trim_owed = false;
    int64_t trimmed_ms = 0;
};

struct FlushBatch {
    std::vector<core::Device*> devices;  // devices stay allocated while the model may point at them
    size_t next = 0;                     // the first not copied yet
    bool final_flush = false;
    std::shared_ptr<std::vector<blynk::Pin>> pins = std::make_shared<std::vector<blynk::Pin>>();
    std::shared_ptr<std::vector<blynk::Device>> states = std::make_shared<std::vector<blynk::Device>>();
};

Server::Impl::~Impl() {
#if defined(BOOST_ASIO_HAS_POSIX_STREAM_DESCRIPTOR)
    if (ready_wait) ready_wait->release();  // the set closes its own descriptor
#endif
}

// After what is ready now: in the set's loop, at the end of its next turn;
// otherwise behind the handlers Asio has queued.
void Server::Impl::next_turn(std::function<void()> fn) {
    if (set_loop.load(std::memory_order_relaxed))
        after_turn.push_back(std::move(fn));
    else
        defer(std::move(fn));
}

namespace {

// Keeps only the latest entry per key (entries are oldest first): a backlog
// holds at most one value per (device, pin, property), however long the
// outage, so nothing is dropped to bound it.
template <class T, class KeyFn>
void keep_latest(std::vector<T>& v, KeyFn key) {
    if (v.size() < 2) return;
    std::unordered_map<std::string, size_t> last;
    std::vector<std::string> keys;
    keys.reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
        keys.push_back(key(v[i]));
        last[keys.back()] = i;
    }
    if (last.size() == v.size()) return;
    std::vector<T> out;
    out.reserve(last.size());
    for (size_t i = 0; i < v.size(); ++i)
        if (last[keys[i]] == i) out.push_back(std::move(v[i]));
    v = std::move(out);
}

std::string device_key(const std::string& email, int32_t dash_id, int32_t device_id) {
    std::string k = email;
    k += '\0';
    k += std::to_string(dash_id);
    k += '\0';
    k += std::to_string(device_id);
    return k;
}

std::string backlog_pin_key(const blynk::Pin& p) {
    std::string k = device_key(p.email, p.dash_id, p.device_id);
    k += '\0';
    k += p.pin_type;
    k += std::to_string(p.pin);
    k += '\0';
    k += p.property;
    return k;
}

// Logs a failed store unless the same error was logged less than a minute ago.
void log_store_failure(FlushBacklog& b, const std::string& error, size_t pins, size_t states, int64_t interval_ms,
                       bool final_flush) {
    if (final_flush) {
        if (b.final_logged) return;
        b.final_logged = true;
        spdlog::error("storage: {} pin values and the state of {} devices could not be stored before shutdown: {}",
                      pins, states, error);
        return;
    }
    uint64_t held = 0;
    if (!b.errors.admit(error, held)) return;
    spdlog::error(
        "storage: {} pin values and the state of {} devices not stored yet: {}; kept in memory, retrying "
        "every {} ms{}",
        pins, states, error, interval_ms,
        held ? " (failed " + std::to_string(held) + " more times since the last report)" : "");
}

}  // namespace

// Hands every changed pin value and device state to the storage thread as one
// batch, copied from the model kFlushSlice devices per loop turn. A batch
// storage refuses stays in memory (newest value per pin) and is retried every
// pin_flush_interval_ms, with new values or without.
void Server::Impl::flush_pins(bool final_flush) {
    if (!flush_backlog) flush_backlog = std::make_shared<FlushBacklog>();
    if (flush_batch) {
        if (!final_flush) return;  // the last one is still being copied; the timer comes back
        flush_slice(true);         // shutting down: finish it now
    }
    router.take_dirty(dirty_devices);
    if (dirty_devices.empty()) {
        // Nothing new: retry the backlog, once at a time.
        if (!flush_backlog->pending.load() || flush_backlog->retry_queued.exchange(true)) return;
    }
    flush_batch = std::make_unique<FlushBatch>();
    flush_batch->devices.swap(dirty_devices);
    flush_batch->final_flush = final_flush;
    flush_slice(final_flush);
}

// Copies the batch's next slice (all of it for `all`); once it is copied,
// hands it to the storage thread.
void Server::Impl::flush_slice(bool all) {
    FlushBatch& batch = *flush_batch;
    auto& out = *batch.pins;
    size_t end = all ? batch.devices.size() : std::min(batch.devices.size(), batch.next + kFlushSlice);
    for (; batch.next < end; ++batch.next) {
        core::Device* d = batch.devices[batch.next];
        d->dirty_pins_listed = false;
        if (d->removed) continue;
        for (auto& p : d->pins) {
            if (!p.dirty) continue;
            p.dirty = false;
            blynk::Pin rec;
            rec.email = d->user->email;
            rec.dash_id = d->dash_id;
            rec.device_id = d->id;
            rec.pin_type = core::key_type(p.key);
            rec.pin = core::key_pin(p.key);
            rec.value = p.value;
            rec.updated_at_ms = p.updated_ms;
            out.push_back(std::move(rec));
        }
        if (d->state_dirty) {
            for (auto& prop : d->properties) {
                blynk::Pin rec;
                rec.email = d->user->email;
                rec.dash_id = d->dash_id;
                rec.device_id = d->id;
                rec.pin_type = core::key_type(prop.key);
                rec.pin = core::key_pin(prop.key);
                rec.property = prop.name;
                rec.value = prop.value;
                rec.updated_at_ms = now_wall;
                out.push_back(std::move(rec));
            }
        }
        // Last-seen and reported info travel with the values.
        d->state_dirty = false;
        batch.states->push_back(host::StorageClient::snapshot(*d));
    }
    if (batch.next < batch.devices.size()) {
        next_turn([this] {
            if (flush_batch) flush_slice(false);
        });
        return;
    }
    auto pins = std::move(batch.pins);
    auto states = std::move(batch.states);
    bool final_flush = batch.final_flush;
    batch.devices.clear();
    dirty_devices.swap(batch.devices);  // keeps its capacity for the next flush
    flush_batch.reset();
    auto* st = &storage;
    auto backlog = flush_backlog;
    int64_t interval_ms = opt.pin_flush_interval_ms;
    auto job = [this, st, pins, states, final_flush, backlog, interval_ms] {
        FlushBacklog& b = *backlog;
        b.retry_queued = false;
        // The backlog is older than this batch: it goes first, and only the
        // newest value per pin (and state per device) is kept.
        if (!b.pins.empty()) {
            pins->insert(pins->begin(), std::make_move_iterator(b.pins.begin()), std::make_move_iterator(b.pins.end()));
            b.pins.clear();
            keep_latest(*pins, backlog_pin_key);
        }
        if (!b.states.empty()) {
            states->insert(states->begin(), std::make_move_iterator(b.states.begin()),
                           std::make_move_iterator(b.states.end()));
            b.states.clear();
            keep_latest(*states, [](const blynk::Device& d) { return device_key(d.email, d.dash_id, d.device_id); });
        }
        size_t n_pins = pins->size(), n_states = states->size();
        std::string error;
        try {
            st->put_pins(*pins);
        } catch (const std::exception& e) {
            error = e.what();
            b.pins = std::move(*pins);
        }
        try {
            if (!error.empty()) throw std::runtime_error(error);  // keep the order: states after their values
            std::vector<bool> gone = st->update_devices(*states);
            // Devices removed from storage meanwhile (CLI): their tokens stop
            // working and their connections close.
            auto removed = std::make_shared<std::vector<blynk::Device>>();
            for (size_t i = 0; i < gone.size(); ++i)
                if (gone[i]) removed->push_back((*states)[i]);
            if (!removed->empty() && !final_flush)
                defer([this, removed] {
                    for (auto& r : *removed)
                        evict(r);
                });
        } catch (const std::exception& e) {
            if (error.empty()) error = e.what();
            b.states = std::move(*states);
        }
        b.pending = !b.pins.empty() || !b.states.empty();
        if (!error.empty()) {
            log_store_failure(b, error, n_pins, n_states, interval_ms, final_flush);
        } else if (b.errors.active) {
            uint64_t held = b.errors.reset();
            spdlog::info("storage: works again; stored {} pin values and the state of {} devices kept in memory{}",
                         n_pins, n_states,
                         held ? " (" + std::to_string(held) + " more failed attempts since the last report)" : "");
        }
        // A big batch (many devices at once) leaves freed memory in this
        // thread's heap arena: give it back instead of holding it at rest,
        // once the batches are small again (or every kTrimIntervalMs while
        // they stay big: trimming after each would only fault it back in).
        bool big = n_pins + n_states >= 1000;
        b.trim_owed = b.trim_owed || big;
        int64_t now = host::WorkQueue::steady_ms();
        if (b.trim_owed && (!big || now - b.trimmed_ms >= kTrimIntervalMs)) {
            pins->clear();
            pins->shrink_to_fit();
            states->clear();
            states->shrink_to_fit();
            platform::trim_heap();
            b.trim_owed = false;
            b.trimmed_ms = now;
        }
    };
    // After shutdown the storage thread is gone: store on this thread.
    if (!storage_queue.post_always(job)) job();
}

bool Server::Impl::load(std::string token, core::HwConn& conn, std::function<void(core::LoadResult)> done) {
    if (pending_loads >= kMaxPendingLoads) return false;
    auto* s = static_cast<Session*>(&conn);
    auto data = std::make_shared<core::LoadedData>();
    auto* st = &storage;
    bool queued = storage_queue.post([this, st, token, data, s, done] {
        auto result = core::LoadResult::Unknown;
        try {
            if (st->load_by_token(token, *data)) result = core::LoadResult::Found;
        } catch (const std::exception& e) {
            log_lookup_failure(e.what());
            result = core::LoadResult::Failed;
        }
        defer([this, s, data, result, done] {
            --pending_loads;
            model_ref.merge(std::move(*data));
            if (!s->is_closed()) {
                done(result);
                s->resume();
            }
            s->done_op();
        });
    });
    if (!queued) return false;
    ++pending_loads;
    s->begin_op();
    return true;
}

void Server::Impl::evict(const blynk::Device& gone) {
    core::User* u = model_ref.find_user(gone.email);
    core::Device* d = u ? u->find_device(gone.dash_id, gone.device_id) : nullptr;
    if (!d || d->token != gone.token || d->removed) return;
    spdlog::info("device {}-{} of {} was removed from storage; its token no longer works", d->dash_id, d->id,
                 gone.email);
    model_ref.evict(*d);
    while (d->online)
        d->online->close("device removed");
}

void Server::Impl::close_all() {
    while (sessions)
        sessions->close("server shutting down");
}

// ------------------------------------------------------------------ facade

Server::Server(ServerOptions options, core::Model& model, core::RouterSettings router, host::PluginHost& plugins,
               host::StorageClient& storage, host::WorkQueue& storage_queue)
    : impl_(std::make_unique<Impl>(std::move(options), model, router, plugins, storage, storage_queue)) {
    plugins.set_services(impl_.get());
    OperatorOptions op;
    for (auto& c : impl_->opt.operator_allowed)
        op.allowed.push_back(parse_cidr(c));
    op.operator_token = impl_->opt.operator_token;
    op.hash_iterations = impl_->opt.password_hash_iterations;
    register_operator_api(plugins.routes(), *impl_, std::move(op));
}

Server::~Server() {
    impl_->plugins.set_services(nullptr);
}

void Server::listen() {
    auto& s = *impl_;
    auto files = ensure_certificate(s.opt.tls_cert, s.opt.tls_key, s.opt.data_dir, s.opt.host);
    if (files.generated) spdlog::info("generated a self-signed TLS certificate: {}", files.cert);
    s.tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    configure_context(*s.tls, files, s.opt.tls_min_version);
    s.takeover.decide(s.tls->native_handle(), s.opt.tls_record_layer);
    s.bind(s.plain_acceptors, s.opt.hardware_port, "hardware-plain");
    s.bind(s.tls_acceptors, s.opt.tls_port, "hardware-tls");
}

uint16_t Server::tls_port() const {
    error_code ec;
    return impl_->tls_acceptors.empty() ? 0 : impl_->tls_acceptors.front()->local_endpoint(ec).port();
}

void Server::run() {
    auto& s = *impl_;
    for (auto& a : s.plain_acceptors)
        s.accept(*a, false);
    for (auto& a : s.tls_acceptors)
        s.accept(*a, true);
    s.open_ready_set();
    s.schedule_sweep();
    s.schedule_flush();
    s.signals.async_wait([&s](const error_code& e, int sig) {
        if (e) return;
        spdlog::info("signal {} received; shutting down", sig);
        s.stopping = true;
        error_code ec;
        for (auto& a : s.plain_acceptors)
            a->close(ec);
        for (auto& a : s.tls_acceptors)
            a->close(ec);
        s.sweep_timer.cancel();
        s.flush_timer.cancel();
        s.accept_retry.cancel();
#if defined(BOOST_ASIO_HAS_POSIX_STREAM_DESCRIPTOR)
        if (s.ready_wait) s.ready_wait->cancel(ec);
#endif
        s.close_all();
        s.flush_pins(true);
    });
    spdlog::info("server ready ({} users, {} devices in memory; RSS {} KiB)", s.model_ref.user_count(),
                 s.model_ref.device_count(), platform::resident_bytes() / 1024);
    if (s.set_loop) s.run_set_loop();
    s.ioc.run();
    // Token lookups still queued for storage post their results back here.
    s.storage_queue.stop();
    s.ioc.restart();
    s.ioc.run();
    s.flush_pins(true);  // anything the last lookups changed
}

}  // namespace blynk::net
