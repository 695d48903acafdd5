// What the kernel offers plugins through the host table (SDK 1.1, 1.2): the
// device model and HTTP answers. Implemented by the server; every function
// but post() and respond() runs on the kernel thread only.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <blynk/plugin.hpp>

namespace blynk::core {
struct Device;
struct NotificationSettings;
struct User;
}  // namespace blynk::core

namespace blynk::host {

class KernelServices {
public:
    virtual ~KernelServices() = default;
    virtual bool on_kernel_thread() const = 0;
    virtual bool post(std::function<void()> fn) = 0;
    virtual void respond(blynk_http_responder* responder, const blynk_http_response& response) = 0;
    // done(BLYNK_OK), done(BLYNK_NOT_FOUND), or done(BLYNK_ERROR) when storage
    // cannot answer now (failing, or too many lookups queued).
    virtual void resolve_token(std::string token, std::function<void(int status)> done) = 0;
    virtual core::Device* device(std::string_view token) = 0;
    // A user in memory by email (lower case), or nullptr.
    virtual core::User* user(std::string_view email) = 0;
    virtual bool app_connected(const core::Device& d) = 0;
    // A write as the HTTP API makes it (core::WriteSource::Api): stored, sent
    // to the device with message id 111. Returns 0 or the router's status:
    // NotAllowed when an access hook refuses it, IllegalCommand for a bad pin
    // type, an empty value or one too long for a hardware frame.
    virtual uint16_t pin_write(core::Device& d, char type, uint8_t pin, std::string_view value) = 0;
    virtual void pin_property(core::Device& d, uint8_t pin, std::string_view property, std::string_view value) = 0;
    // SDK 1.4: the history of one pin of d (q's email, dash and device are
    // replaced by d's), read on the storage thread; done(status, rows) on the
    // kernel thread. This default keeps none: BLYNK_ERROR at once.
    virtual void read_history(const core::Device& d, blynk::HistoryQuery q,
                              std::function<void(int, std::vector<blynk::HistoryRow>)> done) {
        (void)d, (void)q;
        done(BLYNK_ERROR, {});
    }
    // Any thread (SDK 1.3): a new certificate for the TLS port, from the
    // plugin `origin` names; false with the reason in `error` when refused.
    virtual bool install_certificate(std::string_view chain_pem, std::string_view key_pem, const std::string& origin,
                                     std::string& error) {
        (void)chain_pem, (void)key_pem, (void)origin;
        error = "this server offers no certificate hand-over";
        return false;
    }
    // The rules' settings for the HTTP API's notifications (SDK 1.4 notify);
    // nullptr: notifications are not served.
    virtual const core::NotificationSettings* notification_settings() const { return nullptr; }
};

}  // namespace blynk::host
