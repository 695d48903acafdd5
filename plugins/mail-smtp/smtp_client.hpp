// Sending one message over SMTP with libcurl: STARTTLS, implicit TLS or
// plain; certificate and host name checks on unless switched off; AUTH when
// a user name is set. Handles are kept between sends (each keeps its
// connection open, so a run of mails reuses one session); one handle per
// concurrent sender.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mail_smtp {

enum class TlsMode { StartTls, Implicit, None };

struct SmtpSettings {
    std::string host;
    int port = 587;
    TlsMode tls = TlsMode::StartTls;
    bool verify = true;    // the server's certificate chain and name
    std::string ca_file;   // trust these CAs (PEM) instead of the system's
    std::string username;  // empty: no AUTH
    std::string password;  // never logged
};

// How one attempt went: `code` is the server's last SMTP reply (0 when it
// never answered: refused, timed out, TLS failed).
struct SmtpResult {
    bool ok = false;
    long code = 0;
    std::string error;  // why, for the log (no secrets)
    // 4xx, or no answer at all: trying again later may succeed.
    bool temporary() const { return !ok && (code == 0 || (code >= 400 && code < 500)); }
};

class SmtpClient {
public:
    explicit SmtpClient(SmtpSettings s);
    ~SmtpClient();
    SmtpResult send(const std::string& from, const std::string& to, const std::string& message,
                    std::chrono::milliseconds timeout);

private:
    struct Handle;
    std::unique_ptr<Handle> take();
    void give_back(std::unique_ptr<Handle> h);

    SmtpSettings s_;
    std::string url_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<Handle>> idle_;
};

}  // namespace mail_smtp
