// Notifications as the core sees them: what a device or the HTTP API asked to
// send (after the legacy rules passed, core/notification_rules.hpp), and the
// seam the kernel hands it through to the notifier plugins
// (host::NotifierHub), which send it off the loop thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace blynk::core {

enum class NotifyChannel : uint8_t { Mail = 0, Sms = 1, Push = 2 };
constexpr size_t kNotifyChannels = 3;
const char* channel_name(NotifyChannel c);

struct NotifyPushTarget {
    std::string uid;    // the app's id for the token (the widget's map key)
    std::string token;  // a secret: never logged
    bool ios = false;
};

// One message, ready for a plugin.
struct NotifyRequest {
    NotifyChannel channel = NotifyChannel::Mail;
    std::string to;       // mail: one address; SMS: the number
    std::string subject;  // mail: the subject; push: the title
    std::string body;
    std::string content_type = "text/plain";  // mail only
    std::vector<NotifyPushTarget> targets;    // push only
    bool high_priority = false;               // push only
    // Whose it is (push: where invalid tokens are removed from).
    std::string user_email;
    int32_t dash_id = 0;
};

// What became of a request.
enum class NotifyOutcome : uint8_t {
    Sent,        // the provider took it
    Failed,      // the provider refused it or could not be reached (logged, counted)
    Busy,        // the send queue is full: nothing was tried
    NoProvider,  // no enabled plugin serves the channel
};

// Where the router and the HTTP side hand requests to. Loop thread only; the
// answer comes back on the loop thread, later (never inside send).
class Notifier {
public:
    virtual ~Notifier() = default;
    using Done = std::function<void(NotifyOutcome)>;
    virtual void send(NotifyRequest request, Done done) = 0;
};

}  // namespace blynk::core
