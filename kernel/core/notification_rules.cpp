#include "core/notification_rules.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <vector>

#include "codec/protocol.hpp"
#include "core/json_fields.hpp"

namespace blynk::core {

using codec::st;
using codec::Status;

namespace {

constexpr int64_t kDayMs = 24LL * 3600 * 1000;
constexpr size_t kPushMax = 255, kSmsMax = 160, kTweetMax = 140;

// The first widget of `type` on the dashboard, parsed; false if none (or
// its JSON is not an object, which the app side never stores).
bool find_widget(const Dashboard* dash, std::string_view type, boost::json::object& out) {
    if (!dash) return false;
    for (auto& w : dash->widgets) {
        if (w.type != type) continue;
        boost::system::error_code ec;
        boost::json::value v = boost::json::parse(boost::json::string_view(w.json.data(), w.json.size()), ec);
        if (ec || !v.is_object()) return false;
        out = std::move(v.as_object());
        return true;
    }
    return false;
}

std::string string_field(const boost::json::object& o, std::string_view key) {
    std::string s;
    if (!json_string(o, key, s)) s.clear();
    return s;
}

void replace_all(std::string& s, std::string_view what, std::string_view with) {
    for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + with.size()))
        s.replace(at, what.size(), with);
}

void add_tokens(const boost::json::object& widget, std::string_view field, bool ios,
                std::vector<NotifyPushTarget>& out) {
    const boost::json::value* m = widget.if_contains(field);
    if (!m || !m->is_object()) return;
    for (auto& kv : m->as_object())
        if (kv.value().is_string() && !kv.value().as_string().empty())
            out.push_back({std::string(kv.key()), std::string(kv.value().as_string()), ios});
}

// The notification widget's push targets, its priority and the title.
bool push_request(const boost::json::object& widget, const Device& d, std::string body, const std::string& title,
                  NotifyRequest& out) {
    out = NotifyRequest{};
    out.channel = NotifyChannel::Push;
    add_tokens(widget, "androidTokens", false, out.targets);
    add_tokens(widget, "iOSTokens", true, out.targets);
    if (out.targets.empty()) return false;
    out.high_priority = string_field(widget, "priority") == "high";
    out.subject = title;
    out.body = std::move(body);
    out.user_email = d.user->email;
    out.dash_id = d.dash_id;
    return true;
}

std::string mail_content_type(const boost::json::object& widget) {
    // The legacy mail widget's default is HTML; TEXT_PLAIN selects plain text.
    return string_field(widget, "contentType") == "TEXT_PLAIN" ? "text/plain" : "text/html";
}

bool frequency_allows(int64_t now_ms, int64_t& last_sent_ms, const NotificationSettings& s) {
    if (last_sent_ms != 0 && now_ms - last_sent_ms < int64_t(s.frequency_ms)) return false;
    last_sent_ms = now_ms;
    return true;
}

bool bad_text(std::string_view body, size_t max) {
    return body.empty() || utf8_length(body) > max;
}

uint16_t check_mail(Device& d, Dashboard* dash, std::string_view body, int64_t now_ms, int64_t& last_sent_ms,
                    const NotificationSettings& s, NotifyRequest& out) {
    boost::json::object widget;
    if (!find_widget(dash, "EMAIL", widget) || !dash->active) return st(Status::NotAllowed);
    if (body.empty()) return st(Status::IllegalCommand);
    User& u = *d.user;
    if (s.mail_daily_quota != 0 && now_ms - u.mail_window_ms < kDayMs && u.mails_in_window >= s.mail_daily_quota)
        return st(Status::QuotaLimit);
    // `to\0subject\0body` or `subject\0body`; trailing empty fields do not count.
    std::vector<std::string_view> parts;
    for (size_t at = 0;;) {
        size_t z = body.find('\0', at);
        parts.push_back(body.substr(at, z == std::string_view::npos ? std::string_view::npos : z - at));
        if (z == std::string_view::npos) break;
        at = z + 1;
    }
    while (!parts.empty() && parts.back().empty())
        parts.pop_back();
    if (parts.size() < 2) return st(Status::IllegalCommand);
    std::string widget_to = string_field(widget, "to");
    std::string to, subject, text;
    if (parts.size() == 3) {
        // The widget's address, when set, wins over the device's.
        to = widget_to.empty() ? std::string(parts[0]) : widget_to;
        subject = std::string(parts[1]);
        text = std::string(parts[2]);
    } else {
        to = widget_to.empty() ? u.email : widget_to;
        subject = std::string(parts[0]);
        text = std::string(parts[1]);
    }
    replace_all(to, "{VENDOR_EMAIL}", s.vendor_email);
    replace_all(to, "{DEVICE_OWNER_EMAIL}", u.email);
    if (!frequency_allows(now_ms, last_sent_ms, s)) return st(Status::QuotaLimit);
    if (!valid_mail_address(to)) return st(Status::IllegalCommand);
    for (std::string* t : {&subject, &text}) {
        replace_all(*t, "{DEVICE_NAME}", d.name);
        replace_all(*t, "{VENDOR_EMAIL}", s.vendor_email);
        replace_all(*t, "{DEVICE_OWNER_EMAIL}", u.email);
    }
    out = NotifyRequest{};
    out.channel = NotifyChannel::Mail;
    out.to = std::move(to);
    out.subject = std::move(subject);
    out.body = std::move(text);
    out.content_type = mail_content_type(widget);
    out.user_email = u.email;
    out.dash_id = d.dash_id;
    return 0;
}

uint16_t check_push(Device& d, Dashboard* dash, std::string_view body, int64_t now_ms, int64_t& last_sent_ms,
                    const NotificationSettings& s, NotifyRequest& out) {
    if (bad_text(body, kPushMax)) return st(Status::NotificationInvalidBody);
    if (dash && !dash->active) return st(Status::NoActiveDashboard);
    boost::json::object widget;
    if (!find_widget(dash, "NOTIFICATION", widget)) return st(Status::NotificationNotAuthorized);
    std::string text(body);
    replace_all(text, "{DEVICE_NAME}", d.name);
    if (!push_request(widget, d, std::move(text), s.push_title, out)) return st(Status::NotificationNotAuthorized);
    if (!frequency_allows(now_ms, last_sent_ms, s)) return st(Status::QuotaLimit);
    if (bad_text(out.body, kPushMax)) return st(Status::NotificationInvalidBody);
    return 0;
}

uint16_t check_sms(Device& d, Dashboard* dash, std::string_view body, int64_t now_ms, int64_t& last_sent_ms,
                   const NotificationSettings& s, NotifyRequest& out) {
    if (bad_text(body, kSmsMax)) return st(Status::NotificationInvalidBody);
    boost::json::object widget;
    std::string to;
    if (find_widget(dash, "SMS", widget)) to = string_field(widget, "to");
    if (to.empty() || !dash->active) return st(Status::NotificationNotAuthorized);
    if (!frequency_allows(now_ms, last_sent_ms, s)) return st(Status::QuotaLimit);
    out = NotifyRequest{};
    out.channel = NotifyChannel::Sms;
    out.to = std::move(to);
    out.body = std::string(body);
    out.user_email = d.user->email;
    out.dash_id = d.dash_id;
    return 0;
}

uint16_t check_tweet(Dashboard* dash, std::string_view body, int64_t now_ms, int64_t& last_sent_ms,
                     const NotificationSettings& s) {
    if (bad_text(body, kTweetMax)) return st(Status::NotificationInvalidBody);
    boost::json::object widget;
    if (!find_widget(dash, "TWITTER", widget) || string_field(widget, "token").empty() ||
        string_field(widget, "secret").empty() || !dash->active)
        return st(Status::NotificationNotAuthorized);
    if (!frequency_allows(now_ms, last_sent_ms, s)) return st(Status::QuotaLimit);
    // Twitter closed the API the legacy server posted through: nothing can
    // send it, which the device hears as a failed send.
    return st(Status::NotificationError);
}

}  // namespace

const char* channel_name(NotifyChannel c) {
    switch (c) {
        case NotifyChannel::Mail:
            return "mail";
        case NotifyChannel::Sms:
            return "sms";
        case NotifyChannel::Push:
            return "push";
    }
    return "?";
}

size_t utf8_length(std::string_view s) {
    size_t n = 0;
    for (unsigned char ch : s)
        n += (ch & 0xC0) != 0x80;
    return n;
}

bool valid_mail_address(std::string_view a) {
    if (a.empty() || a.size() > 254) return false;
    size_t at = a.find('@');
    if (at == 0 || at == std::string_view::npos || a.find('@', at + 1) != std::string_view::npos) return false;
    std::string_view domain = a.substr(at + 1);
    size_t dot = domain.find('.');
    if (domain.empty() || dot == 0 || dot == std::string_view::npos || domain.back() == '.') return false;
    for (unsigned char ch : a)
        if (ch <= ' ' || ch == 0x7F || ch == '<' || ch == '>' || ch == ',' || ch == ';' || ch == '"' || ch == '\\')
            return false;
    return true;
}

uint16_t check_hardware_notification(HwNotifyKind kind, Device& d, std::string_view body, int64_t now_ms,
                                     int64_t& last_sent_ms, const NotificationSettings& s, NotifyRequest& out) {
    Dashboard* dash = d.user ? d.user->find_dash(d.dash_id) : nullptr;
    switch (kind) {
        case HwNotifyKind::Mail:
            return check_mail(d, dash, body, now_ms, last_sent_ms, s, out);
        case HwNotifyKind::Push:
            return check_push(d, dash, body, now_ms, last_sent_ms, s, out);
        case HwNotifyKind::Sms:
            return check_sms(d, dash, body, now_ms, last_sent_ms, s, out);
        case HwNotifyKind::Tweet:
            return check_tweet(dash, body, now_ms, last_sent_ms, s);
    }
    return st(Status::IllegalCommand);
}

void count_mail(User& u, int64_t now_ms) {
    if (now_ms - u.mail_window_ms >= kDayMs) {
        u.mail_window_ms = now_ms;
        u.mails_in_window = 0;
    }
    ++u.mails_in_window;
}

bool offline_push(const Device& d, const NotificationSettings& s, NotifyRequest& out, int64_t& delay_ms) {
    Dashboard* dash = d.user ? d.user->find_dash(d.dash_id) : nullptr;
    boost::json::object widget;
    if (!dash || !dash->active || !find_widget(dash, "NOTIFICATION", widget)) return false;
    bool enabled = false;
    if (!json_bool(widget, "notifyWhenOffline", enabled) || !enabled) return false;
    delay_ms = 0;
    if (!json_int(widget, "notifyWhenOfflineIgnorePeriod", delay_ms) || delay_ms < 0) delay_ms = 0;
    std::string text = s.offline_body;
    replace_all(text, "{DEVICE_NAME}", d.name.empty() ? std::string("device") : d.name);
    return push_request(widget, d, std::move(text), s.push_title, out);
}

const char* check_http_push(Device& d, std::string_view body, const NotificationSettings& s, NotifyRequest& out) {
    if (bad_text(body, kPushMax)) return "Body is empty or larger than 255 chars.";
    Dashboard* dash = d.user ? d.user->find_dash(d.dash_id) : nullptr;
    if (dash && !dash->active) return "Project is not active.";
    boost::json::object widget;
    if (!find_widget(dash, "NOTIFICATION", widget)) return "No notification widget.";
    if (!push_request(widget, d, std::string(body), s.push_title, out)) return "Notification widget not initialized.";
    return nullptr;
}

const char* check_http_mail(Device& d, std::string_view to, std::string_view subject, std::string_view body,
                            NotifyRequest& out) {
    Dashboard* dash = d.user ? d.user->find_dash(d.dash_id) : nullptr;
    if (!dash || !dash->active) return "Project is not active.";
    boost::json::object widget;
    if (!find_widget(dash, "EMAIL", widget)) return "No email widget.";
    if (to.empty() || subject.empty()) return "Email body is wrong. Missing or empty fields 'to', 'subj'.";
    if (!valid_mail_address(to)) return "Invalid mail receiver.";
    out = NotifyRequest{};
    out.channel = NotifyChannel::Mail;
    out.to = std::string(to);
    out.subject = std::string(subject);
    out.body = std::string(body);
    out.content_type = "text/plain";  // the legacy HTTP mail was always plain text
    out.user_email = d.user->email;
    out.dash_id = d.dash_id;
    return nullptr;
}

}  // namespace blynk::core
