// The mails of a password reset (app RESET_PASSWORD and the HTTP reset
// pages): the one carrying the token, and the confirmation after the change.
// The texts are this project's own; what they carry follows the legacy
// server (the token, a link with it, the 45-minute lifetime).
#pragma once

#include <string>

#include "core/notify.hpp"

namespace blynk::core {

// `link` is where the token works: the app's restore link or the HTTP landing page.
NotifyRequest reset_mail(const std::string& email, const std::string& link, const std::string& token);
NotifyRequest reset_done_mail(const std::string& email);
// The links: http://host/restore?token=..&email=.. (the app) and http://host/landing?token=.. (the browser).
std::string app_reset_link(const std::string& host, const std::string& token, const std::string& email);
std::string web_reset_link(const std::string& host, const std::string& token);

}  // namespace blynk::core
