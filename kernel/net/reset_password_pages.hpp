// The legacy HTTP password reset on the device ports (http-api.md §3):
// POST /resetPassword (form `email`) mails a link to GET /landing?token=,
// a small page whose form posts the new password's client hash (protocol
// §10.1) and the token to POST /updatePassword. They live in the kernel, not
// the http-api plugin: the tokens, the accounts and the mail channel are the
// kernel's (core::ResetTokens, core::AppHub, the notifier hub) and the SDK
// gives plugins none of them.
#pragma once

namespace blynk::host {
class HttpRoutes;
}

namespace blynk::net {

struct ServerContext;

void register_reset_password_pages(host::HttpRoutes& routes, ServerContext& ctx);

}  // namespace blynk::net
