// `blynkd notify test`: one message through the configured notifier plugin
// of a channel, sent from the command line, so an operator sees at once
// whether the set-up works (and if not, the provider's reason).
#pragma once

#include <ostream>
#include <string>

namespace blynk::host {
class NotifierHub;
}

namespace blynk::app {

struct NotifyTestOptions {
    std::string channel;  // "mail", "sms" or "push"
    std::string to;       // mail: an address; sms: a number; push: a device push token
    std::string subject = "blynkd test message";
    std::string body = "This message was sent by `blynkd notify test`: notifications work.";
};

// Sends it on the calling thread; prints what happened to `out`/`err`.
// Returns the exit code: 0 sent, 1 refused or failed, 2 a usage error.
int run_notify_test(host::NotifierHub& hub, const NotifyTestOptions& o, std::ostream& out, std::ostream& err);

// The notifier line of `config check`: which plugin sends each channel.
std::string notifier_summary(const host::NotifierHub& hub);

}  // namespace blynk::app
