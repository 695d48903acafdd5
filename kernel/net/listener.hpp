// A listening port (after Beast's flex server): binds it, accepts, and hands
// each accepted socket to a new Connection with the port's transport (plain,
// or TLS through OpenSSL); the sniffer then decides the protocol.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace blynk::net {

struct ServerContext;

class Listener {
public:
    // `kind` names the port in logs and errors ("hardware-plain", "hardware-tls").
    Listener(ServerContext& ctx, const char* kind, bool tls);
    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    // Binds server.listen_address (every interface when empty) at `port`
    // (0: a free one). Throws std::runtime_error naming the address.
    void bind(uint16_t port);
    void start();
    void close();
    // The port bound (after bind()).
    uint16_t port() const;
    // The listening descriptors (Asio watches them).
    std::vector<int> descriptors() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace blynk::net
