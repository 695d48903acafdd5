// acme: gets the TLS port's certificate from an RFC 8555 CA (Let's Encrypt by
// default) for [server] host, answers the HTTP-01 challenge on the device
// ports' /.well-known/acme-challenge/, hands the certificate to the kernel
// (SDK 1.3 install_certificate) and renews it at two thirds of its lifetime.
// See README.md.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include <blynk/plugin.hpp>

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <thread>

#include "acme_client.hpp"
#include "acme_crypto.hpp"
#include "acme_files.hpp"
#include "acme_http.hpp"

namespace {

using Clock = std::chrono::system_clock;
constexpr const char* kLetsEncrypt = "https://acme-v02.api.letsencrypt.org/directory";

// An address is not a name a CA can issue for over HTTP-01 (Let's Encrypt
// issues for DNS names only); a name never contains ':' and never is all
// digits and dots.
bool is_ip_address(const std::string& host) {
    if (host.find(':') != std::string::npos) return true;
    return std::all_of(host.begin(), host.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

std::string format_time(std::time_t t) {
    char buf[32];
    struct tm tm {};
#if defined(_WIN32)
    gmtime_s(&tm, &t);
#else
    gmtime_r(&t, &tm);
#endif
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

std::string format_duration(std::chrono::seconds s) {
    long long n = s.count();
    if (n < 120) return std::to_string(n) + " s";
    if (n < 7200) return std::to_string(n / 60) + " min";
    return std::to_string(n / 3600) + " h";
}

class AcmePlugin final : public blynk::Plugin {
public:
    AcmePlugin() {
        route("GET", "/.well-known/acme-challenge/{token}",
              [this](const blynk::HttpRequest& q, const blynk::Responder& r) {
                  std::string answer;
                  if (q.params.size() == 1 && board_.find(std::string(q.params[0]), answer))
                      r.respond(200, "application/octet-stream", answer);
                  else
                      r.text(404, "No such challenge.");
              });
    }
    ~AcmePlugin() override { shutdown(); }

    void init(const blynk::Settings& s) override {
        host_ = host().server_host();
        if (host_.empty())
            throw blynk::SettingsError(
                "[server] host is empty: the acme plugin needs the DNS name devices reach this server by "
                "(a CA certifies names, and proves control of one over HTTP on port 80)");
        if (is_ip_address(host_))
            throw blynk::SettingsError("[server] host = \"" + host_ +
                                       "\" is an IP address: the acme plugin needs a DNS name (CAs such as Let's "
                                       "Encrypt issue HTTP-01 certificates for names only)");
        directory_url_ = s.get_string("directory_url", kLetsEncrypt);
        if (directory_url_.rfind("https://", 0) != 0)
            throw blynk::SettingsError("'directory_url' must be an https:// URL (got \"" + directory_url_ + "\")");
        contact_email_ = s.get_string("contact_email", "");
        if (contact_email_.empty() || contact_email_.find('@') == std::string::npos ||
            contact_email_.find_first_of(" \t\r\n\",<>") != std::string::npos)
            throw blynk::SettingsError(
                "'contact_email' must be an e-mail address (the CA writes to it about the account and "
                "expiring certificates)");
        ca_file_ = s.get_string("ca_file", "");
        if (!ca_file_.empty() && !std::filesystem::exists(ca_file_))
            throw blynk::SettingsError("'ca_file' = \"" + ca_file_ + "\": no such file");
        std::string key_type = s.get_string("key_type", "rsa");
        if (key_type != "rsa" && key_type != "ec")
            throw blynk::SettingsError("'key_type' must be \"rsa\" (RSA 2048) or \"ec\" (P-256)");
        key_type_ = key_type == "ec" ? acme::KeyType::EcP256 : acme::KeyType::Rsa2048;
        retry_min_ = std::chrono::seconds(s.get_int("retry_min_s", 60, 1, 86400));
        retry_max_ = std::chrono::seconds(s.get_int("retry_max_s", 6 * 3600, 1, 7 * 86400));
        if (retry_max_ < retry_min_) throw blynk::SettingsError("'retry_max_s' must not be below 'retry_min_s'");
        folder_ = (std::filesystem::path(host().data_dir()) / "acme").string();
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw blynk::SettingsError("libcurl failed to start");
        curl_ready_ = true;
        thread_ = std::thread([this] { run(); });
    }

    void shutdown() override {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stop_ = true;
        }
        wake_.notify_all();
        if (thread_.joinable()) thread_.join();
        if (curl_ready_) curl_global_cleanup();
        curl_ready_ = false;
    }

private:
    // Waits `d` or until shutdown; false when stopping.
    bool wait_for(std::chrono::milliseconds d) {
        std::unique_lock<std::mutex> lock(mutex_);
        return !wake_.wait_for(lock, d, [this] { return stop_.load(); });
    }
    bool wait_until(Clock::time_point t) {
        std::unique_lock<std::mutex> lock(mutex_);
        return !wake_.wait_until(lock, t, [this] { return stop_.load(); });
    }

    // The kernel runs posted jobs only once the server serves, so the first
    // that runs says the TLS port exists. A CLI run of blynkd loads plugins
    // without a server: this then waits until shutdown and nothing is fetched.
    bool wait_for_server() {
        auto ran = std::make_shared<std::atomic<bool>>(false);
        while (!stop_) {
            if (kernel().post([this, ran] {
                    ran->store(true);
                    std::lock_guard<std::mutex> lock(mutex_);
                    wake_.notify_all();
                })) {
                std::unique_lock<std::mutex> lock(mutex_);
                wake_.wait(lock, [&] { return stop_.load() || ran->load(); });
                return !stop_;
            }
            // No server yet (plugins start before it): look again shortly.
            if (!wait_for(std::chrono::milliseconds(200))) return false;
        }
        return false;
    }

    std::string cert_path() const { return folder_ + "/cert.pem"; }
    std::string key_path() const { return folder_ + "/key.pem"; }

    // Renewal at two thirds of the lifetime (Let's Encrypt's 90 days: day 60).
    static Clock::time_point renew_at(const acme::CertInfo& c) {
        return Clock::from_time_t(c.not_before + (c.not_after - c.not_before) * 2 / 3);
    }
    // Warned about from here on: 7 days before expiry, or the last tenth of a shorter lifetime.
    static Clock::time_point warn_at(const acme::CertInfo& c) {
        std::time_t tenth = (c.not_after - c.not_before) / 10;
        return Clock::from_time_t(c.not_after - std::min<std::time_t>(7 * 86400, tenth));
    }

    // The certificate stored by an earlier run, installed if it still names
    // the host and has not expired; returns when to renew it (now: none).
    Clock::time_point install_stored() {
        try {
            auto chain = acme::read_file(cert_path());
            auto key = acme::read_file(key_path());
            if (!chain || !key) return Clock::now();
            acme::CertInfo c = acme::cert_info(*chain, host_);
            if (!c.names_host || Clock::from_time_t(c.not_after) <= Clock::now()) return Clock::now();
            std::string error;
            if (!host().install_certificate(*chain, *key, &error)) {
                host().warn("the stored certificate " + cert_path() + " was refused: " + error +
                            "; ordering a new one");
                return Clock::now();
            }
            current_ = c;
            host().info("installed the stored certificate for " + host_ + " (expires " + format_time(c.not_after) +
                        "; renewal from " + format_time(Clock::to_time_t(renew_at(c))) + ")");
            return renew_at(c);
        } catch (const std::exception& e) {
            host().warn(std::string("the stored certificate cannot be used: ") + e.what() + "; ordering a new one");
            return Clock::now();
        }
    }

    acme::PKey account_key() {
        std::string path = folder_ + "/account.key";
        if (auto pem = acme::read_file(path)) return acme::key_from_pem(*pem);
        // Made once and kept: the account is found again by its key.
        acme::PKey key = acme::generate_key(acme::KeyType::EcP256);
        acme::write_file(path, acme::key_to_pem(key.get()), true);
        host().info("made the ACME account key " + path);
        return key;
    }

    // One whole issuance; throws acme::Error saying which step failed.
    acme::CertInfo obtain() {
        acme::ensure_folder(folder_);
        acme::PKey key = account_key();
        acme::Https https(ca_file_, "blynkd-acme/" + host().server_version(), stop_);
        acme::Client client(
            https, key.get(), [this](std::chrono::milliseconds d) { return wait_for(d); },
            [this](const std::string& m) { host().info(m); });
        client.open(directory_url_);
        client.account(contact_email_);
        host().info("ordering a certificate for " + host_ + " from " + directory_url_);
        acme::Issued issued = client.issue(host_, key_type_, board_);
        acme::CertInfo c = acme::cert_info(issued.chain_pem, host_);
        // Stored before it is installed: a restart finds it either way.
        acme::write_file(key_path(), issued.key_pem, true);
        acme::write_file(cert_path(), issued.chain_pem, false);
        std::string error;
        if (!host().install_certificate(issued.chain_pem, issued.key_pem, &error))
            throw acme::Error("the server refused the new certificate: " + error);
        return c;
    }

    void run() {
        if (!wait_for_server()) return;
        Clock::time_point next = install_stored();
        std::chrono::seconds backoff{0};
        while (wait_until(next)) {
            try {
                acme::CertInfo c = obtain();
                current_ = c;
                backoff = std::chrono::seconds(0);
                next = renew_at(c);
                host().info("certificate for " + host_ + " issued and installed (valid " + format_time(c.not_before) +
                            " to " + format_time(c.not_after) + "); renewal from " +
                            format_time(Clock::to_time_t(next)));
            } catch (const std::exception& e) {
                if (stop_) return;
                backoff = backoff.count() ? std::min(backoff * 2, retry_max_) : retry_min_;
                next = Clock::now() + backoff;
                host().warn(std::string("certificate for ") + host_ + " not obtained: " + e.what() + "; retrying in " +
                            format_duration(backoff));
                if (current_ && Clock::now() >= warn_at(*current_))
                    host().warn("the certificate for " + host_ + " expires " + format_time(current_->not_after) +
                                " and is not renewed yet; clients will refuse it after that");
            }
        }
    }

    acme::ChallengeBoard board_;
    std::string host_, directory_url_, contact_email_, ca_file_, folder_;
    acme::KeyType key_type_ = acme::KeyType::Rsa2048;
    std::chrono::seconds retry_min_{60}, retry_max_{6 * 3600};
    std::optional<acme::CertInfo> current_;  // the plugin's thread only
    bool curl_ready_ = false;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace

BLYNK_PLUGIN(AcmePlugin, "acme", "1.0.0")
