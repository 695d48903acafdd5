#include "core/password_reset_mail.hpp"

namespace blynk::core {

namespace {

// Percent-encodes what is not unreserved (RFC 3986), for the e-mail in a query.
std::string query_escape(const std::string& s) {
    static const char* digits = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(char(c));
        } else {
            out.push_back('%');
            out.push_back(digits[c >> 4]);
            out.push_back(digits[c & 15]);
        }
    }
    return out;
}

}  // namespace

std::string app_reset_link(const std::string& host, const std::string& token, const std::string& email) {
    return "http://" + host + "/restore?token=" + token + "&email=" + query_escape(email);
}

std::string web_reset_link(const std::string& host, const std::string& token) {
    return "http://" + host + "/landing?token=" + token;
}

NotifyRequest reset_mail(const std::string& email, const std::string& link, const std::string& token) {
    NotifyRequest r;
    r.channel = NotifyChannel::Mail;
    r.to = email;
    r.user_email = email;
    r.subject = "Password reset for your Blynk account";
    r.body = "Someone, hopefully you, asked to reset the password of the Blynk account " + email +
             ".\n\nTo choose a new password, open this link:\n" + link + "\n\nor enter this reset code in the app:\n" +
             token +
             "\n\nThe code works once, for 45 minutes. If you did not ask for it, ignore this mail: "
             "your password stays as it is.\n";
    return r;
}

NotifyRequest reset_done_mail(const std::string& email) {
    NotifyRequest r;
    r.channel = NotifyChannel::Mail;
    r.to = email;
    r.user_email = email;
    r.subject = "Your Blynk password was changed";
    r.body = "The password of the Blynk account " + email +
             " was just changed with a reset code.\nIf that was not you, reset it again at once.\n";
    return r;
}

}  // namespace blynk::core
