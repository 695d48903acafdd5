// The CLI's way to a running server: the operator API over HTTPS on
// loopback, authenticated with the per-install operator token, so a change
// takes effect in the running server at once.
#pragma once

#include <optional>
#include <string>

namespace blynk::app {

struct ApiReply {
    unsigned status = 0;
    std::string body;
};

class OperatorClient {
public:
    // Finds a running server of this data folder (its run file and a port that
    // answers); nullopt when none runs. cert_file is [tls] cert (or the
    // generated certificate): call() talks only to a server presenting its
    // first certificate, the leaf, exactly, or the leaf the server wrote to
    // <data_dir>/tls/served.pem when a plugin (acme) installed a certificate.
    static std::optional<OperatorClient> find(const std::string& data_dir, const std::string& cert_file);
    // Throws std::runtime_error when the server cannot be reached, presents
    // another certificate (naming both SHA-256 fingerprints; nothing is sent
    // then) or answers nonsense.
    ApiReply call(const std::string& method, const std::string& target, const std::string& json_body) const;

private:
    std::string token_, cert_, served_;
    unsigned short port_ = 0;
};

// `s` as one path segment of an operator API URL (an email, a token).
std::string path_escape(const std::string& s);

// Written by the server once it listens, removed when it stops.
void write_run_file(const std::string& data_dir, unsigned short tls_port);
void remove_run_file(const std::string& data_dir);

}  // namespace blynk::app
