// push-fcm: the push channel of the notification widget (Blynk.notify, HTTP
// /notify, offline notifications) through Firebase Cloud Messaging's HTTP v1
// API, authorised by a service account's key: an RS256 JWT exchanged for an
// access token, cached until shortly before it expires. One request per
// target token; tokens FCM no longer knows are reported to the kernel, which
// removes them from the widget. See README.md.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include <blynk/plugin.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <memory>
#include <mutex>

#include "../notify-common/provider_https.hpp"
#include "../notify-common/secret_file.hpp"
#include "fcm_auth.hpp"
#include "fcm_message.hpp"

namespace {

using notify::SteadyClock;

constexpr const char* kFcmBase = "https://fcm.googleapis.com";
// A cached access token is renewed this long before its stated expiry, so a
// request never carries one that expires on the way.
constexpr std::chrono::seconds kRenewBefore{120};

std::string https_setting(const blynk::Settings& s, const std::string& key, const std::string& def) {
    std::string url = s.get_string(key, def);
    if (url.rfind("https://", 0) != 0)
        throw blynk::SettingsError("'" + key + "' must be an https:// URL (got \"" + url + "\")");
    while (url.back() == '/')
        url.pop_back();
    return url;
}

class FcmPlugin final : public blynk::Plugin, public blynk::Notifier {
public:
    ~FcmPlugin() override { shutdown(); }

    blynk::Notifier* notifier() override { return this; }
    unsigned channels() const override { return blynk::kPushChannel; }

    void init(const blynk::Settings& s) override {
        s.reject_unknown(
            {"service_account_file", "project_id", "token_url", "fcm_base_url", "timeout_s", "retries", "ca_file"});
        std::string file = s.get_string("service_account_file", "");
        if (file.empty())
            throw blynk::SettingsError(
                "'service_account_file' is required: the JSON key of a service account of "
                "your Firebase project (see the push-fcm README)");
        try {
            account_ = fcm::parse_service_account(notify::read_secret_file("service_account_file", file));
        } catch (const blynk::SettingsError&) {
            throw;
        } catch (const std::exception& e) {
            throw blynk::SettingsError("'service_account_file' = \"" + file + "\": " + e.what());
        }
        std::string project = s.get_string("project_id", account_.project_id);
        if (project.empty() || project.find_first_of("/?#% ") != std::string::npos)
            throw blynk::SettingsError(
                "'project_id' is required (the key file names none) and must be a Firebase "
                "project ID such as \"my-blynk-123\"");
        token_url_ =
            https_setting(s, "token_url", account_.token_uri.empty() ? fcm::kGoogleTokenUrl : account_.token_uri);
        send_url_ = https_setting(s, "fcm_base_url", kFcmBase) + "/v1/projects/" + project + "/messages:send";
        timeout_ = std::chrono::seconds(s.get_int("timeout_s", 10, 1, 120));
        retries_ = int(s.get_int("retries", 2, 0, 10));
        std::string ca_file = s.get_string("ca_file", "");
        if (!ca_file.empty() && !std::filesystem::exists(ca_file))
            throw blynk::SettingsError("'ca_file' = \"" + ca_file + "\": no such file");
        https_ = std::make_unique<notify::ProviderHttps>(ca_file, "blynkd-push-fcm/" + host().server_version());
        host().info("push through FCM project " + project + " as " + account_.client_email + ", timeout " +
                    std::to_string(timeout_.count()) + " s");
    }

    void shutdown() override {
        if (https_) https_->stop();
    }

    std::vector<bool> send_push(const blynk::Push& push) override {
        if (!https_) throw blynk::NotifyError("push-fcm is not initialised");
        const auto deadline = SteadyClock::now() + timeout_;
        std::vector<bool> invalid(push.targets.size(), false);
        size_t delivered = 0;
        std::string failure;
        for (size_t i = 0; i < push.targets.size(); ++i) {
            const blynk::PushTarget& t = push.targets[i];
            try {
                std::string body = fcm::message_body(t.token, t.ios, push.title, push.body, push.high_priority);
                if (send_one(body, deadline) == fcm::SendOutcome::Delivered)
                    ++delivered;
                else
                    invalid[i] = true;
            } catch (const blynk::NotifyError& e) {
                failure = e.what();
            }
        }
        if (delivered == 0) {
            size_t gone = size_t(std::count(invalid.begin(), invalid.end(), true));
            std::string why = push.targets.empty() ? "no push tokens to send to"
                              : failure.empty() ? std::to_string(gone) + " of " + std::to_string(push.targets.size()) +
                                                      " tokens are no longer registered with FCM"
                                                : failure;
            throw blynk::PushError(why, invalid);
        }
        return invalid;
    }

private:
    // Delivered or InvalidToken; throws NotifyError for everything else.
    fcm::SendOutcome::Kind send_one(const std::string& body, SteadyClock::time_point deadline) {
        bool renewed = false;
        for (int attempt = 0;;) {
            std::string bearer = access_token(deadline);
            std::string why, retry_after;
            try {
                notify::HttpReply reply =
                    https_->post(send_url_, {"Authorization: Bearer " + bearer, "Content-Type: application/json"}, body,
                                 deadline, "FCM messages:send");
                fcm::SendOutcome o = fcm::read_send_answer(reply.status, reply.body);
                switch (o.kind) {
                    case fcm::SendOutcome::Delivered:
                    case fcm::SendOutcome::InvalidToken:
                        return o.kind;
                    case fcm::SendOutcome::Unauthorized:
                        // Revoked or expired early: one new token, then it is the account's fault.
                        if (renewed)
                            throw blynk::NotifyError(o.reason + " with a fresh access token: check the account");
                        forget_token(bearer);
                        renewed = true;
                        continue;
                    case fcm::SendOutcome::Permanent:
                        throw blynk::NotifyError(o.reason);
                    case fcm::SendOutcome::Temporary:
                        why = o.reason;
                        retry_after = reply.header("retry-after");
                        break;
                }
            } catch (const notify::TransportError& e) {
                if (!e.retryable) throw blynk::NotifyError(e.what());
                why = e.what();
            }
            if (attempt >= retries_)
                throw blynk::NotifyError(why + "; gave up after " + std::to_string(attempt + 1) + " attempts");
            if (!https_->pause(notify::backoff_delay(attempt, retry_after), deadline))
                throw blynk::NotifyError(why + "; no time left for another attempt within " +
                                         std::to_string(timeout_.count()) + " s");
            ++attempt;
        }
    }

    // The cached access token, or a new one. Under the lock: concurrent sends
    // wait for one token request instead of each making their own.
    std::string access_token(SteadyClock::time_point deadline) {
        // Timed: a send never waits past its own deadline for another's token request.
        std::unique_lock<std::timed_mutex> lock(token_mutex_, deadline);
        if (!lock.owns_lock())
            throw blynk::NotifyError("no FCM access token within the timeout (another send is still fetching one)");
        if (!token_.empty() && SteadyClock::now() < token_renew_at_) return token_;
        std::string jwt = fcm::signed_jwt(account_, token_url_, int64_t(std::time(nullptr)));
        try {
            notify::HttpReply reply = https_->post(
                token_url_, {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"},
                fcm::token_request_body(jwt), deadline, "POST " + token_url_);
            fcm::AccessToken t = fcm::read_token_answer(reply.status, reply.body);
            auto life = std::chrono::seconds(t.expires_in_s);
            token_ = t.value;
            token_renew_at_ = SteadyClock::now() + (life > 2 * kRenewBefore ? life - kRenewBefore : life / 2);
            return token_;
        } catch (const std::exception& e) {
            throw blynk::NotifyError(std::string("no FCM access token: ") + e.what());
        }
    }

    void forget_token(const std::string& value) {
        std::lock_guard<std::timed_mutex> lock(token_mutex_);
        if (token_ == value) token_.clear();
    }

    fcm::ServiceAccount account_;
    std::string token_url_, send_url_;
    std::chrono::seconds timeout_{10};
    int retries_ = 2;
    std::unique_ptr<notify::ProviderHttps> https_;
    std::timed_mutex token_mutex_;
    std::string token_;  // a secret: never logged
    SteadyClock::time_point token_renew_at_;
};

}  // namespace

BLYNK_PLUGIN(FcmPlugin, "push-fcm", "1.0.0")
