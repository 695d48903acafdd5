// blynkd plugin SDK, C++ layer: notifiers (SDK 1.4), the channels that reach
// people (mail, SMS, push). Part of blynk/plugin.hpp (include that one);
// header-only, compiled into the plugin.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#ifndef BLYNK_CPP_NOTIFIER_HPP
#define BLYNK_CPP_NOTIFIER_HPP

#include <blynk/cpp/base.hpp>

namespace blynk {

struct Mail {
    std::string to, subject, body;
    std::string content_type = "text/plain";
};
struct Sms {
    std::string to, body;
};
struct PushTarget {
    std::string token;  // a secret: never log it
    bool ios = false;
};
struct Push {
    std::vector<PushTarget> targets;
    std::string title, body;
    bool high_priority = false;
};

// Thrown by a notifier when the provider did not take the message; the
// message says why (never a secret). The kernel logs and counts it.
struct NotifyError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Thrown by send_push when no target got the message; `invalid` says, per
// target, which tokens the provider reported as no longer valid, so the
// kernel still removes them although the send failed (SDK 1.4).
struct PushError : NotifyError {
    std::vector<bool> invalid;
    PushError(const std::string& what, std::vector<bool> gone) : NotifyError(what), invalid(std::move(gone)) {}
};

enum NotifierChannel : unsigned { kMailChannel = 1u, kSmsChannel = 2u, kPushChannel = 4u };

// The notifier extension point in C++. Each send runs on the kernel's notifier
// threads and may block up to the plugin's own timeout; throw to fail.
class Notifier {
public:
    virtual ~Notifier() = default;
    // Which channels this plugin serves (a mask of NotifierChannel).
    virtual unsigned channels() const = 0;
    virtual void send_mail(const Mail&) { throw NotifyError("this plugin does not send mail"); }
    virtual void send_sms(const Sms&) { throw NotifyError("this plugin does not send SMS"); }
    // Returns, per target, whether the provider said its token is no longer
    // valid. Throw when no target got the message.
    virtual std::vector<bool> send_push(const Push&) { throw NotifyError("this plugin does not send push"); }
};

inline Mail from_c(const blynk_mail* m) {
    Mail r;
    if (BLYNK_HAS_FIELD(m, to)) r.to = std::string(view(m->to));
    if (BLYNK_HAS_FIELD(m, subject)) r.subject = std::string(view(m->subject));
    if (BLYNK_HAS_FIELD(m, body)) r.body = std::string(view(m->body));
    if (BLYNK_HAS_FIELD(m, content_type) && m->content_type.size) r.content_type = std::string(view(m->content_type));
    return r;
}
inline blynk_mail to_c(const Mail& m) {
    blynk_mail r{};
    r.size = sizeof r;
    r.to = slice(m.to);
    r.subject = slice(m.subject);
    r.body = slice(m.body);
    r.content_type = slice(m.content_type);
    return r;
}
inline Sms from_c(const blynk_sms* m) {
    Sms r;
    if (BLYNK_HAS_FIELD(m, to)) r.to = std::string(view(m->to));
    if (BLYNK_HAS_FIELD(m, body)) r.body = std::string(view(m->body));
    return r;
}
inline blynk_sms to_c(const Sms& m) {
    blynk_sms r{};
    r.size = sizeof r;
    r.to = slice(m.to);
    r.body = slice(m.body);
    return r;
}
inline Push from_c(const blynk_push* m) {
    Push r;
    if (BLYNK_HAS_FIELD(m, target_count) && m->targets)
        for (size_t i = 0; i < m->target_count; ++i)
            r.targets.push_back({std::string(view(m->targets[i].token)), m->targets[i].platform == BLYNK_PUSH_IOS});
    if (BLYNK_HAS_FIELD(m, title)) r.title = std::string(view(m->title));
    if (BLYNK_HAS_FIELD(m, body)) r.body = std::string(view(m->body));
    if (BLYNK_HAS_FIELD(m, priority)) r.high_priority = m->priority == BLYNK_PUSH_HIGH;
    return r;
}
// The C view of a Push; `targets` must outlive the returned struct's use.
inline blynk_push to_c(const Push& m, std::vector<blynk_push_target>& targets) {
    targets.clear();
    for (auto& t : m.targets)
        targets.push_back({slice(t.token), t.ios ? uint32_t(BLYNK_PUSH_IOS) : uint32_t(BLYNK_PUSH_ANDROID)});
    blynk_push r{};
    r.size = sizeof r;
    r.targets = targets.data();
    r.target_count = targets.size();
    r.title = slice(m.title);
    r.body = slice(m.body);
    r.priority = m.high_priority ? BLYNK_PUSH_HIGH : BLYNK_PUSH_NORMAL;
    return r;
}

}  // namespace blynk

#endif  // BLYNK_CPP_NOTIFIER_HPP
