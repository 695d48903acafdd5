// HTTP/1.1 on the device ports (as the legacy server): static files under
// /static/, the routes plugins register (the legacy REST API), and the
// upgrade of /websocket* to a hardware websocket. A plugin's handler may
// answer later or from another thread (ServerContext::pending_http); the
// connection reads nothing more until it has.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/http_wire.hpp"
#include "net/protocol_handler.hpp"

namespace blynk::net {

struct HttpAnswer;
class StaticStream;

class HttpHandler final : public ProtocolHandler {
public:
    explicit HttpHandler(Connection& conn);
    ~HttpHandler() override;

    size_t consume(std::string_view in) override;
    size_t hold_limit() const override;
    void check_timeouts(uint32_t now) override;
    void on_close(std::string_view reason) override;
    bool on_drained() override;
    // A connection that called the operator API counts as an operator connection.
    ConnectionKind kind() const override { return operator_ ? ConnectionKind::Operator : ConnectionKind::Http; }

    // A plugin handler's answer to the request this connection waits for.
    void deliver(const HttpAnswer& a);
    // Instead of an answer: a 200 whose body is a stream of server-sent
    // events, `id` (the request's) naming it in ServerContext::event_streams
    // until the connection closes. Nothing more is read from the peer; what
    // it does not read counts toward the connection's output limit.
    void start_event_stream(uint64_t id, const std::vector<std::pair<std::string, std::string>>& headers);
    // Appends to the stream; false once the connection is closed or closing.
    bool send_event(std::string_view text);
    // Ends the stream once what is queued is sent.
    void close_stream(std::string_view reason);

private:
    void dispatch();
    void respond(unsigned status, std::string_view type, std::string_view body,
                 const std::vector<std::pair<std::string, std::string>>& headers, bool keep_alive);

    HttpReader reader_;
    uint64_t awaiting_ = 0;  // id of the request a handler has not answered yet
    uint32_t awaiting_since_ms_ = 0;
    uint32_t request_start_ms_ = 0;
    bool keep_alive_ = true;
    bool upgraded_ = false;     // a websocket handler took over
    uint64_t stream_id_ = 0;    // the answer is an event stream (start_event_stream)
    bool cross_origin_ = true;  // the answer to the current request may carry Access-Control-Allow-Origin
    bool operator_ = false;     // a request went to the operator API
    // What the request being answered asked for (/metrics counts answers by it); Other between requests.
    RouteClass route_class_ = RouteClass::Other;
    // A static file whose body is being sent; later requests on the connection wait for its end.
    std::unique_ptr<StaticStream> static_body_;
};

std::unique_ptr<ProtocolHandler> make_http_handler(Connection& conn);

}  // namespace blynk::net
