// Router::notification: a device's EMAIL, PUSH_NOTIFICATION, SMS and TWEET
// checked by the legacy rules (core/notification_rules.cpp), then handed to
// the notifier; the device hears OK once the provider took it, or the
// legacy status of what went wrong (protocol.md §7.4).
#include "codec/protocol.hpp"
#include "core/router.hpp"

namespace blynk::core {

using codec::Command;
using codec::st;
using codec::Status;

namespace {

HwNotifyKind kind_of(uint8_t command) {
    switch (Command(command)) {
        case Command::Email:
            return HwNotifyKind::Mail;
        case Command::PushNotification:
            return HwNotifyKind::Push;
        case Command::Sms:
            return HwNotifyKind::Sms;
        default:
            return HwNotifyKind::Tweet;
    }
}

uint16_t status_of(NotifyOutcome o) {
    switch (o) {
        case NotifyOutcome::Sent:
            return st(Status::Ok);
        case NotifyOutcome::Busy:
            // The send queue is full: like the frequency limit, "later".
            return st(Status::QuotaLimit);
        case NotifyOutcome::Failed:
        case NotifyOutcome::NoProvider:
            break;
    }
    return st(Status::NotificationError);
}

}  // namespace

void Router::notification(HwRoute& c, const codec::Frame& f) {
    HwNotifyKind kind = kind_of(f.command);
    Device& d = *c.device;
    NotifyRequest request;
    uint16_t status = check_hardware_notification(kind, d, f.body, now_(), c.last_notify_ms[size_t(kind)],
                                                  settings_.notifications, request);
    if (status != 0) {
        c.out->send_status(f.msg_id, status);
        return;
    }
    if (!notifier_) {
        c.out->send_status(f.msg_id, st(Status::NotificationError));
        return;
    }
    // Counted when queued, as the legacy server counted it: a failing
    // provider does not give a device more mails.
    if (kind == HwNotifyKind::Mail) count_mail(*d.user, now_());
    HwOutput* out = c.out;
    uint16_t msg_id = f.msg_id;
    out->hold();
    notifier_->send(std::move(request), [out, msg_id](NotifyOutcome outcome) {
        if (!out->is_closed()) out->send_status(msg_id, status_of(outcome));
        out->unhold();
    });
}

}  // namespace blynk::core
