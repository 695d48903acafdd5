// mail-smtp: the mail channel (blynk_notifier_v1.send_mail) over any SMTP
// server, see README.md. The kernel calls send_mail on its notifier threads;
// a send blocks up to `timeout_s` in all, retries included: temporary
// failures (4xx replies, no answer) are tried again after a growing pause,
// permanent ones (5xx) are not.
#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <blynk/plugin.hpp>

#include "mime_message.hpp"
#include "smtp_client.hpp"

namespace {

using namespace std::chrono;
using mail_smtp::TlsMode;

std::string read_secret_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw blynk::SettingsError("'password_file' = \"" + path + "\": cannot be read");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
        s.pop_back();
    return s;
}

class MailSmtp final : public blynk::Plugin, public blynk::Notifier {
public:
    ~MailSmtp() override { shutdown(); }

    void init(const blynk::Settings& s) override {
        static const std::set<std::string> known = {"host",      "port",     "tls",           "verify", "ca_file",
                                                    "username",  "password", "password_file", "from",   "from_name",
                                                    "timeout_s", "retries",  "retry_delay_ms"};
        for (auto& [k, v] : s.all())
            if (!known.count(k))
                throw blynk::SettingsError("unknown key '" + k +
                                           "'; known: host, port, tls, verify, ca_file, username, password, "
                                           "password_file, from, from_name, timeout_s, retries, retry_delay_ms");
        mail_smtp::SmtpSettings c;
        c.host = s.get_string("host", "");
        if (c.host.empty() || c.host.find_first_of(" /\r\n") != std::string::npos)
            throw blynk::SettingsError("'host' must be the SMTP server's name or address (e.g. \"smtp.example.com\")");
        std::string tls = s.get_string("tls", "starttls");
        if (tls == "starttls")
            c.tls = TlsMode::StartTls;
        else if (tls == "implicit")
            c.tls = TlsMode::Implicit;
        else if (tls == "none")
            c.tls = TlsMode::None;
        else
            throw blynk::SettingsError("'tls' is \"" + tls + "\"; allowed: \"starttls\", \"implicit\", \"none\"");
        int default_port = c.tls == TlsMode::Implicit ? 465 : c.tls == TlsMode::StartTls ? 587 : 25;
        c.port = int(s.get_int("port", default_port, 1, 65535));
        c.verify = s.get_bool("verify", true);
        c.ca_file = s.get_string("ca_file", "");
        if (!c.ca_file.empty() && !std::filesystem::exists(c.ca_file))
            throw blynk::SettingsError("'ca_file' = \"" + c.ca_file + "\": no such file");
        c.username = s.get_string("username", "");
        std::string password_file = s.get_string("password_file", "");
        if (s.has("password") && !password_file.empty())
            throw blynk::SettingsError("set 'password' or 'password_file', not both");
        c.password = password_file.empty() ? s.get_string("password", "") : read_secret_file(password_file);
        if (!c.password.empty() && c.username.empty())
            throw blynk::SettingsError("a password is set but 'username' is empty");
        if (!c.username.empty() && c.tls == TlsMode::None)
            host().warn("mail-smtp: tls = \"none\" with a username: the password crosses the network in clear");
        from_ = s.get_string("from", "");
        if (!mail_smtp::plain_address(from_))
            throw blynk::SettingsError("'from' must be the sender's address, such as \"blynk@example.com\"");
        from_name_ = s.get_string("from_name", "Blynk");
        timeout_ = seconds(s.get_int("timeout_s", 30, 1, 600));
        retries_ = int(s.get_int("retries", 2, 0, 10));
        retry_delay_ = milliseconds(s.get_int("retry_delay_ms", 1000, 0, 60000));
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw blynk::SettingsError("libcurl failed to start");
        curl_ready_ = true;
        client_ = std::make_unique<mail_smtp::SmtpClient>(std::move(c));
        domain_ = from_.substr(from_.find('@') + 1);
        std::random_device rd;
        id_seed_ = (uint64_t(rd()) << 32) ^ rd();
    }

    void shutdown() override {
        client_.reset();
        if (curl_ready_) curl_global_cleanup();
        curl_ready_ = false;
    }

    blynk::Notifier* notifier() override { return this; }
    unsigned channels() const override { return blynk::kMailChannel; }

    void send_mail(const blynk::Mail& m) override {
        if (!client_) throw blynk::NotifyError("mail-smtp is not set up");
        if (!mail_smtp::plain_address(m.to)) throw blynk::NotifyError("the recipient is not a plain address");
        mail_smtp::MimeParts p;
        p.from_address = from_;
        p.from_name = from_name_;
        p.to = m.to;
        p.subject = m.subject;
        p.body = m.body;
        p.content_type = m.content_type;
        p.unix_time = duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
        p.message_id = message_id(p.unix_time);
        std::string message = mail_smtp::build_message(p);

        auto deadline = steady_clock::now() + timeout_;
        milliseconds pause = retry_delay_;
        mail_smtp::SmtpResult r;
        for (int attempt = 0;; ++attempt) {
            auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
            if (left <= milliseconds(0)) {
                r.error = "no time left for the send (timeout_s) after: " + r.error;
                break;
            }
            r = client_->send(from_, m.to, message, left);
            if (r.ok) return;
            if (!r.temporary() || attempt >= retries_) break;
            if (steady_clock::now() + pause >= deadline) break;
            std::this_thread::sleep_for(pause);
            pause *= 2;
        }
        throw blynk::NotifyError(r.error);
    }

private:
    std::string message_id(int64_t t) {
        uint64_t n = id_seed_ ^ (uint64_t(t) << 20) ^ (counter_.fetch_add(1) * 0x9E3779B97F4A7C15ull);
        char buf[40];
        std::snprintf(buf, sizeof buf, "%016llx.%llx", static_cast<unsigned long long>(n),
                      static_cast<unsigned long long>(t));
        return std::string(buf) + "@" + domain_;
    }

    std::unique_ptr<mail_smtp::SmtpClient> client_;
    std::string from_, from_name_, domain_;
    seconds timeout_{30};
    int retries_ = 2;
    milliseconds retry_delay_{1000};
    bool curl_ready_ = false;
    uint64_t id_seed_ = 0;
    std::atomic<uint64_t> counter_{0};
};

}  // namespace

BLYNK_PLUGIN(MailSmtp, "mail-smtp", "1.0.0")
