#include "net/http_handler.hpp"

#include <spdlog/spdlog.h>

#include "host/http_routes.hpp"
#include "host/plugin_host.hpp"
#include "net/app_handler.hpp"
#include "net/connection.hpp"
#include "net/hardware_handler.hpp"
#include "net/metrics_endpoint.hpp"
#include "net/static_stream.hpp"

namespace blynk::net {

namespace {
blynk_str bs(std::string_view s) {
    return blynk_str{s.data(), s.size()};
}

// The status of the answer whose head starts at `at` in `out` ("HTTP/1.1 200 ...").
unsigned status_at(const std::string& out, size_t at) {
    unsigned status = 0;
    for (size_t i = at + 9; i < at + 12 && i < out.size() && out[i] >= '0' && out[i] <= '9'; ++i)
        status = status * 10 + unsigned(out[i] - '0');
    return status;
}
}  // namespace

HttpHandler::HttpHandler(Connection& conn)
    : ProtocolHandler(conn), reader_(conn.ctx().opt.http_header_limit, conn.ctx().opt.http_max_body) {
    request_start_ms_ = uint32_t(conn.ctx().now_mono);
}

HttpHandler::~HttpHandler() = default;

std::unique_ptr<ProtocolHandler> make_http_handler(Connection& conn) {
    return std::make_unique<HttpHandler>(conn);
}

size_t HttpHandler::hold_limit() const {
    const ServerOptions& o = conn_.ctx().opt;
    return o.http_max_body + o.http_header_limit;
}

size_t HttpHandler::consume(std::string_view in) {
    if (stream_id_) return in.size();  // an event stream's peer has nothing more to ask
    size_t off = 0;
    while (!conn_.is_closed() && !awaiting_ && !static_body_ && !conn_.closing_after_flush() && off < in.size()) {
        if (!reader_.in_progress()) request_start_ms_ = uint32_t(conn_.ctx().now_mono);
        HttpReader::State st;
        unsigned status = 0;
        std::string reason;
        off += reader_.feed(in.substr(off), st, status, reason);
        if (st == HttpReader::State::NeedMore) break;
        if (st == HttpReader::State::Error) {
            spdlog::info("{}: HTTP {}: {}", conn_.peer(), status, reason);
            respond(status, "text/plain;charset=utf-8", reason, {}, false);
            return in.size();
        }
        dispatch();
        if (upgraded_) break;  // the websocket handler goes on with the rest
        reader_.next();
    }
    return off;
}

void HttpHandler::check_timeouts(uint32_t now) {
    ServerContext& ctx = conn_.ctx();
    const ServerOptions& o = ctx.opt;
    if (stream_id_) return;  // a live feed is quiet between events; the output limit bounds it
    if (awaiting_ && now - awaiting_since_ms_ > o.http_request_timeout_s * 1000) {
        ctx.pending_http.erase(awaiting_);
        spdlog::warn("{}: a handler did not answer within {} s", conn_.peer(), o.http_request_timeout_s);
        keep_alive_ = false;
        deliver({504, "text/plain;charset=utf-8", "The request took too long.", {}});
    } else if (!awaiting_ && reader_.in_progress() && now - request_start_ms_ > o.http_header_timeout_s * 1000) {
        spdlog::info("{}: request not complete within {} s; closing", conn_.peer(), o.http_header_timeout_s);
        respond(408, "text/plain;charset=utf-8", "Request timeout.", {}, false);
    } else if (!awaiting_ && now - conn_.last_read_ms() > o.http_idle_timeout_s * 1000) {
        conn_.close("idle HTTP connection");
    }
}

void HttpHandler::on_close(std::string_view reason) {
    ProtocolHandler::on_close(reason);
    if (awaiting_) conn_.ctx().pending_http.erase(awaiting_);
    if (stream_id_) conn_.ctx().event_streams.erase(stream_id_);
}

void HttpHandler::start_event_stream(uint64_t id, const std::vector<std::pair<std::string, std::string>>& headers) {
    if (conn_.is_closed()) return;
    awaiting_ = 0;
    stream_id_ = id;
    conn_.ctx().event_streams[id] = this;
    conn_.out() += http_stream_head("text/event-stream;charset=utf-8", headers);
    conn_.queued();
    conn_.resume();  // drops what the peer sent meanwhile
}

bool HttpHandler::send_event(std::string_view text) {
    if (conn_.is_closed() || conn_.closing_after_flush()) return false;
    conn_.out() += text;
    conn_.queued();  // closes a peer that does not read
    return !conn_.is_closed();
}

void HttpHandler::close_stream(std::string_view reason) {
    spdlog::debug("{}: live feed closed: {}", conn_.peer(), reason);
    conn_.close_after_flush();
    conn_.queued();
}

// The sent chunk of a static file is followed by the next (net/static_stream.hpp);
// false once the body is complete.
bool HttpHandler::on_drained() {
    if (!static_body_) return false;
    std::string error;
    switch (static_body_->append_next(conn_.out(), error)) {
        case StaticStream::Step::Appended:
            conn_.touch();  // a download going on is not an idle connection
            conn_.ctx().mark_dirty(&conn_);
            return true;
        case StaticStream::Step::Failed:
            conn_.reject(error);
            return true;
        case StaticStream::Step::Finished:
            break;
    }
    static_body_.reset();
    conn_.resume_later();  // requests that came meanwhile
    return false;
}

void HttpHandler::deliver(const HttpAnswer& a) {
    if (conn_.is_closed()) return;
    awaiting_ = 0;
    respond(a.status, a.content_type, a.body, a.headers, keep_alive_);
    cross_origin_ = true;
    if (!conn_.is_closed()) conn_.resume();
}

void HttpHandler::respond(unsigned status, std::string_view type, std::string_view body,
                          const std::vector<std::pair<std::string, std::string>>& headers, bool keep_alive) {
    conn_.out() += http_response(status, type, body, headers, keep_alive, cross_origin_);
    conn_.ctx().counters.http_answered(route_class_, status);
    route_class_ = RouteClass::Other;
    if (!keep_alive) conn_.close_after_flush();
    conn_.queued();
}

void HttpHandler::dispatch() {
    ServerContext& ctx = conn_.ctx();
    HttpReader& r = reader_;
    keep_alive_ = r.keep_alive();
    cross_origin_ = true;
    std::string_view target = r.target();
    size_t q = target.find('?');
    std::string_view raw_path = target.substr(0, q);
    std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
    route_class_ = RouteClass::Other;
    if (r.websocket_upgrade()) {
        route_class_ = RouteClass::Websocket;
        // The legacy server meant every /websocket* path for hardware (and
        // served only /websockets); both work here.
        std::string_view key = r.header("Sec-WebSocket-Key");
        // /dashws: the app protocol, on the TLS port only (as the legacy server).
        bool app = raw_path == "/dashws" && conn_.tls() && ctx.apps;
        if (r.method() != "GET" || (!app && raw_path.rfind("/websocket", 0) != 0)) {
            respond(404, {}, {}, {}, false);
        } else if (key.empty() || r.header("Sec-WebSocket-Version") != "13") {
            respond(400, "text/plain;charset=utf-8", "A websocket handshake needs Sec-WebSocket-Key and version 13.",
                    {}, false);
        } else {
            conn_.out() += websocket_accept(key);
            ctx.counters.http_answered(RouteClass::Websocket, 101);
            conn_.queued();
            upgraded_ = true;
            // This handler is retired after consume().
            conn_.install(app ? make_app_websocket(conn_) : make_hardware_websocket(conn_));
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
        size_t head = conn_.out().size();
        static_body_ =
            StaticStream::start(ctx.opt.static_dir, raw_path == "/favicon.ico" ? "/static/favicon.ico" : raw_path,
                                r.method() == "HEAD", keep_alive_, conn_.out());
        ctx.counters.http_answered(RouteClass::Static, status_at(conn_.out(), head));
        if (!keep_alive_) conn_.close_after_flush();
        conn_.queued();
        return;
    }
    auto fields = r.headers();
    std::vector<blynk_http_header> headers;
    headers.reserve(fields.size());
    for (auto& [k, v] : fields)
        headers.push_back({bs(k), bs(v)});
    std::string who = conn_.peer();
    blynk_http_request req{};
    req.size = sizeof req;
    req.method = bs(r.method());
    req.path = bs(path);
    req.query = bs(query);
    req.headers = headers.data();
    req.header_count = headers.size();
    req.body = bs(r.body());
    req.peer = bs(who);
    req.tls = conn_.tls() ? 1 : 0;
    const host::HttpRoutes::GateFn* gate = ctx.plugins.routes().gate_for(raw_path);
    if (gate) {
        cross_origin_ = false;
        std::string message;
        if (unsigned status = (*gate)(req, message)) {
            respond(status, "application/json;charset=utf-8", message, {}, keep_alive_);
            return;
        }
    }
    host::HttpRoutes::Match m;
    if (!ctx.plugins.routes().match(r.method(), raw_path, m)) {
        respond(404, {}, {}, {}, keep_alive_);
        return;
    }
    cross_origin_ = m.cross_origin && !gate;
    route_class_ = route_class_of(*m.owner);
    operator_ = operator_ || route_class_ == RouteClass::Operator;
    std::vector<blynk_str> params;
    for (auto& p : m.params)
        params.push_back(bs(p));
    req.params = params.data();
    req.param_count = params.size();
    uint64_t id = ctx.next_http_id++;
    ctx.pending_http[id] = this;
    awaiting_ = id;
    awaiting_since_ms_ = uint32_t(ctx.now_mono);
    ctx.http_peer = who;  // tokens the handler has the kernel look up count for this address
    try {
        (*m.fn)(req, reinterpret_cast<blynk_http_responder*>(uintptr_t(id)));
        ctx.http_peer.clear();
    } catch (const std::exception& e) {
        ctx.http_peer.clear();
        spdlog::error("{}: HTTP handler for {} {} failed: {}", who, r.method(), *m.pattern, e.what());  // no token
        ctx.plugins.error_counts.count(host::PluginErrorCounts::kHttpHandler);
        ctx.pending_http.erase(id);
        awaiting_ = 0;
        respond(500, "text/plain;charset=utf-8", "Internal error.", {}, keep_alive_);
    }
}

}  // namespace blynk::net
