#include "net/reset_password_pages.hpp"

#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <string_view>

#include "codec/protocol.hpp"
#include "core/app_hub.hpp"
#include "core/password_reset_mail.hpp"
#include "core/secrets.hpp"
#include "core/throttle.hpp"
#include "host/http_routes.hpp"
#include "host/kernel_services.hpp"
#include "host/plugin_host.hpp"
#include "net/server_context.hpp"

namespace blynk::net {

namespace {

constexpr const char* kOwner = "kernel password reset";

blynk_str bs(std::string_view s) {
    return blynk_str{s.data(), s.size()};
}
std::string_view sv(blynk_str s) {
    return s.data ? std::string_view(s.data, s.size) : std::string_view();
}

bool hex64(std::string_view t) {
    return t.size() == 64 && t.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// The landing page: the new password is hashed in the browser as the apps
// do (protocol §10.1), so the server only ever sees the client hash.
std::string landing_page(const std::string& email, const std::string& token) {
    // Both are safe in HTML as they are: the e-mail passed valid_email, the token is hex.
    return R"(<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>New password</title></head>
<body><h1>Choose a new password</h1><p>Account: <b id="email">)" +
           email + R"(</b></p>
<form id="f" method="post" action="/updatePassword">
<input type="hidden" name="token" value=")" +
           token + R"(">
<input type="hidden" name="password" id="hash">
<p><label>New password <input type="password" id="pw" required minlength="1"></label></p>
<p><label>Again <input type="password" id="pw2" required></label></p>
<p><button type="submit">Save</button> <span id="msg"></span></p></form>
<script>
const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)));
document.getElementById('f').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const pw = document.getElementById('pw').value, msg = document.getElementById('msg');
  if (pw !== document.getElementById('pw2').value) { msg.textContent = 'The passwords differ.'; return; }
  if (!window.crypto || !crypto.subtle) { msg.textContent = 'Open this page over https to set a password.'; return; }
  const enc = new TextEncoder();
  const salt = await crypto.subtle.digest('SHA-256', enc.encode(document.getElementById('email').textContent.toLowerCase()));
  const pwb = enc.encode(pw), all = new Uint8Array(pwb.length + 32);
  all.set(pwb); all.set(new Uint8Array(salt), pwb.length);
  document.getElementById('hash').value = b64(await crypto.subtle.digest('SHA-256', all));
  ev.target.submit();
});
</script></body></html>
)";
}

class ResetPages : public std::enable_shared_from_this<ResetPages> {
public:
    explicit ResetPages(ServerContext& ctx) : ctx_(ctx) {}

    void reset_password(const blynk_http_request& req, blynk_http_responder* r) {
        std::string raw = host::query_field(sv(req.body), "email");
        std::string email = core::lower(codec::trim(raw));
        if (!core::valid_email(email) || email.size() > 255)
            return answer(r, 400, raw.substr(0, 255) + " email has not valid format.");
        if (!ctx_.apps) return answer(r, 400, "Error sending reset email.");
        std::string peer(sv(req.peer));
        if (!ctx_.router.reset_tokens().allow_address(std::string(core::peer_address(peer)), ctx_.now_wall)) {
            spdlog::warn("password reset requests from {} over the hourly limit", peer);
            return answer(r, 400, "Too many reset requests from this address. Please try again later.");
        }
        std::string host = ctx_.opt.host.empty() ? "localhost" : ctx_.opt.host;
        auto self = shared_from_this();
        ctx_.apps->start_password_reset(
            email, [host](const std::string& token) { return core::web_reset_link(host, token); },
            [self, r](core::AppHub::ResetStart st) {
                switch (st) {
                    case core::AppHub::ResetStart::Sent:
                        return self->answer(r, 200, "Email was sent.");
                    case core::AppHub::ResetStart::NoAccount:
                        return self->answer(r, 400, "Sorry, this account does not exist.");
                    case core::AppHub::ResetStart::Pending:
                        return self->answer(r, 400, "A reset email was sent already. It stays valid for 45 minutes.");
                    default:
                        return self->answer(r, 400, "Error sending reset email.");
                }
            });
    }

    void landing(const blynk_http_request& req, blynk_http_responder* r) {
        std::string token = host::query_field(sv(req.query), "token");
        if (!hex64(token)) return answer(r, 400, "Invalid request parameters.");
        const std::string* email = ctx_.router.reset_tokens().find(token, ctx_.now_wall);
        if (!email) return answer(r, 400, "Your token was not found or it is outdated. Please try again.");
        answer(r, 200, landing_page(*email, token), "text/html; charset=utf-8");
    }

    void update_password(const blynk_http_request& req, blynk_http_responder* r) {
        std::string token = host::query_field(sv(req.body), "token");
        std::string hash = host::query_field(sv(req.body), "password");
        std::string email = hex64(token) ? ctx_.router.reset_tokens().take(token, ctx_.now_wall) : std::string();
        if (email.empty() || !ctx_.apps) return answer(r, 400, "Invalid token. Please repeat all steps.");
        if (hash.empty() || hash.size() > 128) return answer(r, 400, "Invalid request parameters.");
        auto self = shared_from_this();
        ctx_.apps->set_reset_password(email, std::move(hash), [self, r, email](codec::Status st) {
            if (st == codec::Status::Ok) {
                spdlog::info("the password of {} was reset over HTTP", email);
                return self->answer(r, 200, "Password was successfully reset.");
            }
            self->answer(r, 500, "The new password could not be stored. Please repeat all steps.");
        });
    }

private:
    void answer(blynk_http_responder* r, unsigned status, const std::string& body,
                std::string_view type = "text/plain; charset=utf-8") {
        // The token is in the landing page's address: keep it out of caches and referrers.
        static const blynk_http_header headers[] = {{bs("Cache-Control"), bs("no-store")},
                                                    {bs("Referrer-Policy"), bs("no-referrer")}};
        blynk_http_response res{};
        res.size = sizeof res;
        res.status = status;
        res.content_type = bs(type);
        res.body = bs(body);
        res.headers = headers;
        res.header_count = 2;
        if (host::KernelServices* s = ctx_.plugins.services()) s->respond(r, res);
    }

    ServerContext& ctx_;
};

}  // namespace

void register_reset_password_pages(host::HttpRoutes& routes, ServerContext& ctx) {
    auto pages = std::make_shared<ResetPages>(ctx);
    routes.add(
        "POST", "/resetPassword", kOwner,
        [pages](const blynk_http_request& q, blynk_http_responder* r) { pages->reset_password(q, r); }, false);
    routes.add(
        "GET", "/landing", kOwner,
        [pages](const blynk_http_request& q, blynk_http_responder* r) { pages->landing(q, r); }, false);
    // The app's reset mail links /restore?token=...&email=... (the legacy app
    // caught that link itself; that app is retired, so a browser opening it
    // gets the same page as /landing: the token alone names the account).
    routes.add(
        "GET", "/restore", kOwner,
        [pages](const blynk_http_request& q, blynk_http_responder* r) { pages->landing(q, r); }, false);
    routes.add(
        "POST", "/updatePassword", kOwner,
        [pages](const blynk_http_request& q, blynk_http_responder* r) { pages->update_password(q, r); }, false);
}

}  // namespace blynk::net
