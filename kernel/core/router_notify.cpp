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

static_assert(Counters::kNotifyKinds == kHwNotifyKinds, "counted by HwNotifyKind");

// Which /metrics refusal a status the rules answered is (core/counters.hpp).
Counters::NotifyRefusal refusal_of(uint16_t status) {
    switch (Status(status)) {
        case Status::QuotaLimit:
            return Counters::kNotifyQuota;
        case Status::NotAllowed:
        case Status::NotificationNotAuthorized:
        case Status::NoActiveDashboard:
            return Counters::kNotifyNoWidget;
        case Status::NotificationError:
            return Counters::kNotifyNoProvider;
        default:
            return Counters::kNotifyInvalid;
    }
}

}  // namespace

void Router::notification(HwRoute& c, const codec::Frame& f) {
    HwNotifyKind kind = kind_of(f.command);
    Device& d = *c.device;
    NotifyRequest request;
    uint16_t status = check_hardware_notification(kind, d, f.body, now_(), c.last_notify_ms[size_t(kind)],
                                                  settings_.notifications, request);
    if (status != 0) {
        ++counters.notify_refused[size_t(kind)][refusal_of(status)];
        c.out->send_status(f.msg_id, status);
        return;
    }
    if (!notifier_) {
        ++counters.notify_refused[size_t(kind)][Counters::kNotifyNoProvider];
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

void Router::device_went_offline(Device& d, int64_t now) {
    if (!notifier_) return;
    NotifyRequest request;
    int64_t delay_ms = 0;
    if (!offline_push(d, settings_.notifications, request, delay_ms)) return;
    if (delay_ms == 0) {
        notifier_->send(std::move(request), [](NotifyOutcome) {});
        return;
    }
    // A quick reconnect within the ignore period sends nothing (tick checks).
    // One entry a device: a flapping one restarts its period, not a list.
    for (auto& p : pending_offline_)
        if (p.device == &d) {
            p = {&d, now + delay_ms, d.disconnect_ms, std::move(request)};
            return;
        }
    pending_offline_.push_back({&d, now + delay_ms, d.disconnect_ms, std::move(request)});
}

void Router::tick() {
    if (pending_offline_.empty()) return;
    int64_t now = now_();
    size_t kept = 0;
    for (size_t i = 0; i < pending_offline_.size(); ++i) {
        PendingOffline& p = pending_offline_[i];
        if (p.due_ms > now) {
            if (kept != i) pending_offline_[kept] = std::move(p);
            ++kept;
            continue;
        }
        Device& d = *p.device;
        bool still_offline = d.online_count == 0 && !d.removed && d.disconnect_ms == p.disconnect_ms;
        if (still_offline && notifier_) notifier_->send(std::move(p.request), [](NotifyOutcome) {});
    }
    pending_offline_.erase(pending_offline_.begin() + ptrdiff_t(kept), pending_offline_.end());
}

}  // namespace blynk::core
