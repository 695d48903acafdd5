// sms-nexmo: the SMS channel of the notification widget (Blynk.sms) through
// the Nexmo/Vonage SMS API. Runs on the kernel's notifier threads; each SMS
// is one POST to {base_url}/sms/json, retried with backoff while the
// provider says "later" (HTTP 5xx/429, throttled), all within `timeout_s`.
// See README.md.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include <blynk/plugin.hpp>

#include <chrono>
#include <filesystem>
#include <memory>

#include "../notify-common/provider_https.hpp"
#include "../notify-common/secret_file.hpp"
#include "nexmo_sms.hpp"

namespace {

constexpr const char* kVonage = "https://rest.nexmo.com";

// `key` or `key_file` (exactly one), the secret itself in either case.
std::string secret_setting(const blynk::Settings& s, const std::string& key) {
    std::string inline_value = s.get_string(key, "");
    std::string file = s.get_string(key + "_file", "");
    if (!inline_value.empty() && !file.empty())
        throw blynk::SettingsError("give '" + key + "' or '" + key + "_file', not both");
    if (!file.empty()) return notify::read_secret_line(key + "_file", file);
    if (inline_value.empty())
        throw blynk::SettingsError("'" + key + "' (or '" + key + "_file') is required: see the Vonage dashboard");
    return inline_value;
}

class NexmoPlugin final : public blynk::Plugin, public blynk::Notifier {
public:
    ~NexmoPlugin() override { shutdown(); }

    blynk::Notifier* notifier() override { return this; }
    unsigned channels() const override { return blynk::kSmsChannel; }

    void init(const blynk::Settings& s) override {
        s.reject_unknown({"api_key", "api_key_file", "api_secret", "api_secret_file", "from", "base_url", "timeout_s",
                          "retries", "ca_file"});
        api_key_ = secret_setting(s, "api_key");
        api_secret_ = secret_setting(s, "api_secret");
        // A name, as the legacy server's SMS carried; a country that refuses
        // sender names needs a number of the account here.
        from_ = s.get_string("from", "Blynk");
        if (from_.empty() || from_.size() > 15)
            throw blynk::SettingsError(
                "'from' must be the sender: a number of the Vonage account (digits) or up to 11 letters");
        std::string base = s.get_string("base_url", kVonage);
        if (base.rfind("https://", 0) != 0)
            throw blynk::SettingsError("'base_url' must be an https:// URL (got \"" + base + "\")");
        while (!base.empty() && base.back() == '/')
            base.pop_back();
        // The endpoint itself is taken as it is (blynkd migrate-config writes the
        // legacy server's full URL); otherwise it is the API's base.
        const std::string endpoint = "/sms/json";
        bool full = base.size() >= endpoint.size() &&
                    base.compare(base.size() - endpoint.size(), endpoint.size(), endpoint) == 0;
        url_ = full ? base : base + endpoint;
        timeout_ = std::chrono::seconds(s.get_int("timeout_s", 10, 1, 120));
        retries_ = int(s.get_int("retries", 2, 0, 10));
        std::string ca_file = s.get_string("ca_file", "");
        if (!ca_file.empty() && !std::filesystem::exists(ca_file))
            throw blynk::SettingsError("'ca_file' = \"" + ca_file + "\": no such file");
        https_ = std::make_unique<notify::ProviderHttps>(ca_file, "blynkd-sms-nexmo/" + host().server_version());
        host().info("SMS through " + url_ + " from " + from_ + ", timeout " + std::to_string(timeout_.count()) + " s");
    }

    void shutdown() override {
        if (https_) https_->stop();
    }

    void send_sms(const blynk::Sms& sms) override {
        if (!https_) throw blynk::NotifyError("sms-nexmo is not initialised");
        std::string to = nexmo::normalize_number(sms.to);
        if (to.empty())
            throw blynk::NotifyError(
                "the widget's number is not a phone number in international form (+<country><number>)");
        if (sms.body.empty()) throw blynk::NotifyError("the SMS has no text");
        const std::string body = nexmo::form_body({api_key_, api_secret_, from_, to, sms.body});
        const auto deadline = notify::SteadyClock::now() + timeout_;
        static const std::vector<std::string> headers = {"Content-Type: application/x-www-form-urlencoded",
                                                         "Accept: application/json"};
        for (int attempt = 0;; ++attempt) {
            std::string why, retry_after;
            try {
                notify::HttpReply reply = https_->post(url_, headers, body, deadline, "POST " + url_);
                nexmo::Outcome o = nexmo::read_answer(reply.status, reply.body);
                if (o.kind == nexmo::Outcome::Accepted) return;
                if (o.kind == nexmo::Outcome::Permanent) throw blynk::NotifyError(o.reason);
                why = o.reason;
                retry_after = reply.header("retry-after");
            } catch (const notify::TransportError& e) {
                if (!e.retryable) throw blynk::NotifyError(e.what());
                why = e.what();
            }
            if (attempt >= retries_)
                throw blynk::NotifyError(why + "; gave up after " + std::to_string(attempt + 1) + " attempts");
            if (!https_->pause(notify::backoff_delay(attempt, retry_after), deadline))
                throw blynk::NotifyError(why + "; no time left for another attempt within " +
                                         std::to_string(timeout_.count()) + " s");
        }
    }

private:
    std::string api_key_, api_secret_, from_, url_;
    std::chrono::seconds timeout_{10};
    int retries_ = 2;
    std::unique_ptr<notify::ProviderHttps> https_;
};

}  // namespace

BLYNK_PLUGIN(NexmoPlugin, "sms-nexmo", "1.0.0")
