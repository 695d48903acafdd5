// The app's EMAIL command (13): a dashboard's device tokens mailed to the
// account owner, through the notifier hub's mail channel, as the legacy
// server did. `dashId` mails every device's token (one device: that one),
// `dashId\0deviceId` one device's. OK once the mail went out,
// NOTIFICATION_ERROR when it could not; an unknown dashboard is
// ILLEGAL_COMMAND and an unknown device ILLEGAL_COMMAND_BODY (legacy). The
// mail goes to the account's own address only, never to one the app names.
// The legacy "template" variant (device tiles) has no tiles here to name:
// ILLEGAL_COMMAND_BODY.
#include <vector>

#include "codec/protocol.hpp"
#include "core/app_hub.hpp"

namespace blynk::core {

using codec::Status;

namespace {

const char* kTokenMailTail =
    "\nPut the token in your sketch (Blynk.begin(auth, ...)) or give it to the HTTP API.\n"
    "Keep it secret: anyone who has it can act as the device.\n";

std::string name_or(const std::string& name, const char* fallback) {
    return name.empty() ? fallback : name;
}

}  // namespace

void AppHub::email_tokens(AppRoute& s, const codec::Frame& f) {
    Fields fl = split_body(f.body, 2);
    int32_t dash_id = 0;
    if (fl.empty() || !parse_i32(fl[0], dash_id)) return status(s, f.msg_id, Status::IllegalCommandBody);
    User& u = *s.user;
    Dashboard* dash = u.find_dash(dash_id);
    if (!dash) return status(s, f.msg_id, Status::IllegalCommand);
    std::vector<const Device*> devices;
    if (fl.size() == 2) {
        int32_t device_id = 0;
        const Device* d = parse_i32(fl[1], device_id) ? u.find_device(dash_id, device_id) : nullptr;
        if (!d || d->token.empty()) return status(s, f.msg_id, Status::IllegalCommandBody);
        devices.push_back(d);
    } else {
        for (const auto& d : u.devices)
            if (d->dash_id == dash_id && !d->token.empty()) devices.push_back(d.get());
    }
    if (devices.empty()) return status(s, f.msg_id, Status::IllegalCommandBody);
    Notifier* notifier = router_.notifier();
    if (!notifier) return status(s, f.msg_id, Status::NotificationError);

    std::string dash_name = name_or(dash->name, "New Project");
    NotifyRequest mail;
    mail.channel = NotifyChannel::Mail;
    mail.to = u.email;
    mail.user_email = u.email;
    mail.dash_id = dash_id;
    if (devices.size() == 1) {
        mail.subject = "Auth Token for " + dash_name + " project and device " + name_or(devices[0]->name, "New Device");
        mail.body = "Auth Token : " + devices[0]->token + "\n";
    } else {
        mail.subject = "Auth Tokens for " + dash_name + " project and " + std::to_string(devices.size()) + " devices";
        for (const Device* d : devices)
            mail.body += "Auth Token for device '" + name_or(d->name, "New Device") + "' : " + d->token + "\n";
    }
    mail.body += kTokenMailTail;
    uint64_t id = s.id;
    uint16_t msg_id = f.msg_id;
    notifier->send(std::move(mail), [this, id, msg_id](NotifyOutcome o) {
        if (AppRoute* live = session(id))
            status(*live, msg_id, o == NotifyOutcome::Sent ? Status::Ok : Status::NotificationError);
    });
}

}  // namespace blynk::core
