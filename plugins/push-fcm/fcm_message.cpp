#include "fcm_message.hpp"

#include <boost/json.hpp>

namespace fcm {

std::string message_body(const std::string& token, bool ios, const std::string& title, const std::string& body,
                         bool high_priority) {
    boost::json::object m{{"token", token}};
    if (ios) {
        boost::json::object aps{{"alert", {{"title", title}, {"body", body}}}, {"sound", "default"}};
        m["apns"] = {{"headers", {{"apns-priority", high_priority ? "10" : "5"}}}, {"payload", {{"aps", aps}}}};
    } else {
        // A data message: the app shows it itself, as the legacy app did.
        m["data"] = {{"title", title}, {"message", body}};
        m["android"] = {{"priority", high_priority ? "HIGH" : "NORMAL"}};
    }
    return boost::json::serialize(boost::json::object{{"message", m}});
}

SendOutcome read_send_answer(long http_status, const std::string& body) {
    if (http_status == 200) return {SendOutcome::Delivered, "delivered"};
    // {"error": {"code": 404, "status": "NOT_FOUND", "message": "...",
    //   "details": [{"@type": "...FcmError", "errorCode": "UNREGISTERED"}]}}
    std::string status, code;
    boost::system::error_code ec;
    boost::json::value doc = boost::json::parse(body, ec);
    if (!ec && doc.is_object())
        if (auto* e = doc.as_object().if_contains("error"); e && e->is_object()) {
            if (auto* s = e->as_object().if_contains("status"); s && s->is_string())
                status = std::string(s->get_string()).substr(0, 64);
            if (auto* d = e->as_object().if_contains("details"); d && d->is_array())
                for (auto& item : d->get_array())
                    if (item.is_object())
                        if (auto* c = item.as_object().if_contains("errorCode"); c && c->is_string())
                            code = std::string(c->get_string()).substr(0, 64);
        }
    std::string what = code.empty() ? status : code;
    std::string reason = "FCM answered HTTP " + std::to_string(http_status) + (what.empty() ? "" : " " + what);
    if (code == "UNREGISTERED" || code == "INVALID_ARGUMENT" || (code.empty() && status == "INVALID_ARGUMENT"))
        return {SendOutcome::InvalidToken, reason};
    if (http_status == 401) return {SendOutcome::Unauthorized, reason};
    if (http_status == 429 || http_status >= 500 || code == "UNAVAILABLE" || code == "INTERNAL" ||
        code == "QUOTA_EXCEEDED")
        return {SendOutcome::Temporary, reason};
    if (code == "SENDER_ID_MISMATCH")
        reason +=
            ": the token belongs to another Firebase project (an app built for this server's project "
            "must register it; see the push-fcm README)";
    return {SendOutcome::Permanent, reason};
}

}  // namespace fcm
