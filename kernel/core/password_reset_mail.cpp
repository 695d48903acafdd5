#include "core/password_reset_mail.hpp"

#include <utility>

#include "codec/percent_encoding.hpp"

namespace blynk::core {

std::string app_reset_link(const std::string& host, const std::string& token, const std::string& email) {
    return "http://" + host + "/restore?token=" + token + "&email=" + codec::percent_encode(email);
}

std::string web_reset_link(const std::string& host, const std::string& token) {
    return "http://" + host + "/landing?token=" + token;
}

namespace {

// A mail to the account's own address, counted against that account.
NotifyRequest mail_to_owner(const std::string& email, std::string subject, std::string body) {
    NotifyRequest r;
    r.channel = NotifyChannel::Mail;
    r.to = email;
    r.user_email = email;
    r.subject = std::move(subject);
    r.body = std::move(body);
    return r;
}

}  // namespace

NotifyRequest reset_mail(const std::string& email, const std::string& link, const std::string& token) {
    return mail_to_owner(email, "Password reset for your Blynk account",
                         "Someone, hopefully you, asked to reset the password of the Blynk account " + email +
                             ".\n\nTo choose a new password, open this link:\n" + link +
                             "\n\nor enter this reset code in the app:\n" + token +
                             "\n\nThe code works once, for 45 minutes. If you did not ask for it, ignore this mail: "
                             "your password stays as it is.\n");
}

NotifyRequest reset_done_mail(const std::string& email) {
    return mail_to_owner(email, "Your Blynk password was changed",
                         "The password of the Blynk account " + email +
                             " was just changed with a reset code.\nIf that was not you, reset it again at once.\n");
}

}  // namespace blynk::core
