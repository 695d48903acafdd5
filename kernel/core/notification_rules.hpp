// The legacy server's rules for notifications, applied on the loop thread
// before anything is queued for a plugin (protocol.md §7.4, http-api.md
// /notify and /email): body limits, the widget each channel needs on the
// device's dashboard, the per-connection frequency limit and the per-user
// daily mail quota. Pure: no I/O, no clock of its own (tests drive `now`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/model.hpp"
#include "core/notify.hpp"

namespace blynk::core {

struct NotificationSettings {
    // One notification of a kind per hardware connection in this many
    // milliseconds (legacy notifications.frequency.user.quota.limit).
    uint32_t frequency_ms = 5000;
    // Mails a user's devices may send in 24 hours; 0 = no limit.
    uint32_t mail_daily_quota = 100;
    // The push title (legacy notification.title).
    std::string push_title = "Blynk Notification";
    // What {VENDOR_EMAIL} becomes in a device's mail.
    std::string vendor_email;
    // The push sent when a device goes offline (legacy notification.body).
    std::string offline_body = "Your {DEVICE_NAME} went offline.";
};

// A device's last connection closed: the push its dashboard's notification
// widget asks for (notifyWhenOffline on an active dashboard, with tokens),
// and after how many milliseconds (notifyWhenOfflineIgnorePeriod; 0 = now).
// False when none is due.
bool offline_push(const Device& d, const NotificationSettings& settings, NotifyRequest& out, int64_t& delay_ms);

// The four hardware notification commands, in the order HwRoute keeps their
// last send time.
enum class HwNotifyKind : uint8_t { Mail = 0, Push = 1, Sms = 2, Tweet = 3 };
constexpr size_t kHwNotifyKinds = 4;

// A device's notification command checked: 0 and `out` filled when it is to
// be sent, else the status the device gets. `last_sent_ms` is the
// connection's last accepted send of that kind (updated when this one
// passes the frequency limit). A Tweet never yields a request (Twitter's API
// is closed): it passes the legacy checks and gets NotificationError.
uint16_t check_hardware_notification(HwNotifyKind kind, Device& d, std::string_view body, int64_t now_ms,
                                     int64_t& last_sent_ms, const NotificationSettings& settings, NotifyRequest& out);

// Counts a mail queued for the user against the daily quota.
void count_mail(User& u, int64_t now_ms);

// The HTTP API's /notify (push) and /email (mail) checked: nullptr and `out`
// filled, else the legacy error text (answered 400). HTTP has no frequency
// limit and no quota, as in the legacy server.
const char* check_http_push(Device& d, std::string_view body, const NotificationSettings& settings, NotifyRequest& out);
const char* check_http_mail(Device& d, std::string_view to, std::string_view subject, std::string_view body,
                            NotifyRequest& out);

// An address a mail may go to: one `local@domain.tld`, no spaces, no control
// characters or angle brackets (so it cannot inject SMTP headers), at most
// 254 bytes.
bool valid_mail_address(std::string_view address);
// Characters (UTF-8 code points) in `s`: the legacy limits count characters.
size_t utf8_length(std::string_view s);

}  // namespace blynk::core
