#include "app/notify_test.hpp"

#include <chrono>

#include "core/notification_rules.hpp"
#include "host/notifier_hub.hpp"

namespace blynk::app {

using core::NotifyChannel;

int run_notify_test(host::NotifierHub& hub, const NotifyTestOptions& o, std::ostream& out, std::ostream& err) {
    core::NotifyRequest r;
    if (o.channel == "mail")
        r.channel = NotifyChannel::Mail;
    else if (o.channel == "sms")
        r.channel = NotifyChannel::Sms;
    else if (o.channel == "push")
        r.channel = NotifyChannel::Push;
    else {
        err << "blynkd: notify test: --channel must be mail, sms or push\n";
        return 2;
    }
    if (o.to.empty()) {
        err << "blynkd: notify test: --to is needed (an address, a phone number or a push token)\n";
        return 2;
    }
    if (r.channel == NotifyChannel::Mail && !core::valid_mail_address(o.to)) {
        err << "blynkd: notify test: --to \"" << o.to << "\" is not an e-mail address\n";
        return 2;
    }
    if (!hub.serves(r.channel)) {
        err << "blynkd: no enabled plugin sends " << o.channel
            << "; enable one in plugins.enabled (e.g. \"mail-smtp\") and configure it\n";
        return 1;
    }
    r.subject = o.subject;
    r.body = o.body;
    if (r.channel == NotifyChannel::Push)
        r.targets.push_back({"cli", o.to, false});
    else
        r.to = o.to;
    out << "sending " << o.channel << " through plugin " << hub.plugin_of(r.channel) << "...\n";
    auto start = std::chrono::steady_clock::now();
    std::string error;
    std::vector<std::string> invalid;
    core::NotifyOutcome outcome = hub.send_now(r, error, &invalid);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    if (outcome == core::NotifyOutcome::Sent) {
        out << "sent in " << ms << " ms: the provider accepted it"
            << (r.channel == NotifyChannel::Mail ? " (check the recipient's mailbox and spam folder)" : "") << "\n";
        return 0;
    }
    err << "blynkd: not sent after " << ms << " ms: " << error << "\n";
    if (!invalid.empty()) err << "the provider says this push token is no longer valid\n";
    return 1;
}

std::string notifier_summary(const host::NotifierHub& hub) {
    std::string s;
    for (size_t i = 0; i < core::kNotifyChannels; ++i) {
        NotifyChannel c = NotifyChannel(i);
        s += std::string(s.empty() ? "" : ", ") + core::channel_name(c) + " " +
             (hub.serves(c) ? "via " + hub.plugin_of(c) : std::string("off"));
    }
    return s;
}

}  // namespace blynk::app
