// The operator API's routes for the admin web UI (plugins/admin-ui): a login
// with e-mail and password that answers a session cookie, the session itself,
// logout, the change of the account's own password (the only thing a session
// of a server-generated password may do), the server at a glance and the live
// feed of server-sent events. Who may call them is operator_auth's job.
#include "net/operator_auth.hpp"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "core/model.hpp"
#include "core/secrets.hpp"
#include "host/accounts.hpp"
#include "host/http_routes.hpp"
#include "net/operator_json.hpp"

namespace blynk::net {

namespace json = boost::json;

namespace {

constexpr size_t kMinPassword = 10, kMaxPassword = 128;
const char* const kBusy = "The server is busy; try again.";

std::string session_cookie(const std::string& value) {
    // __Host-: the browser keeps it only with Secure, Path=/ and no Domain.
    // SameSite=Strict: no other site's page or link sends it. HttpOnly: no
    // script (an injected one included) reads it.
    return std::string(AdminSessions::kCookie) + "=" + value + "; Path=/; Secure; HttpOnly; SameSite=Strict";
}

bool parse_object(OperatorBackend& b, blynk_http_responder* r, const std::string& body, json::object& out) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) {
        b.answer(r, 400, error_json("The body must be a JSON object."));
        return false;
    }
    out = std::move(v.as_object());
    return true;
}

std::string str(const json::object& o, const char* key) {
    auto it = o.find(key);
    return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : std::string();
}

using Headers = std::vector<std::pair<std::string, std::string>>;
const Headers& no_store() {
    static const Headers h{{"Cache-Control", "no-store"}};
    return h;
}

class SessionApi : public std::enable_shared_from_this<SessionApi> {
public:
    SessionApi(OperatorBackend& b, std::shared_ptr<OperatorAuth> auth) : b_(b), auth_(std::move(auth)) {}

    // POST /api/v1/session {"email", "password"}: the throttle, then the hash
    // on the pool (as HTTP Basic), then a new session.
    void login(const KeptRequest& q, blynk_http_responder* r) {
        json::object in;
        if (!parse_object(b_, r, q.body, in)) return;
        std::string email = core::lower(str(in, "email")), password = str(in, "password");
        if (b_.login_blocked(q.peer)) {
            spdlog::info("{}: operator API login refused: too many failed logins from this address", q.peer);
            return b_.answer(r, 429, error_json("Too many failed logins from this address; try again later."));
        }
        if (email.empty() || password.empty() || password.size() > kMaxPassword || email.size() > 254) {
            b_.login_refused(q.peer);
            return b_.answer(r, 401, error_json("Wrong administrator e-mail or password."));
        }
        auto self = shared_from_this();
        std::string peer = q.peer;
        auth_->check_password(
            peer, email, password, r,
            [self, r, peer](const Caller& c) {
                auto opened =
                    self->auth_->sessions().open(c.email, c.must_change_password, std::chrono::steady_clock::now());
                spdlog::info("{}: administrator {} logged in to the admin web UI{}", peer, c.email,
                             c.must_change_password ? " (must choose a new password)" : "");
                Headers h = no_store();
                h.emplace_back("Set-Cookie", session_cookie(opened.cookie));
                self->b_.answer(r, 200, self->session_json(c.email, opened.csrf, c.must_change_password), h);
            },
            /*fresh=*/true);
    }

    // GET /api/v1/session: who is logged in, and the CSRF token for a page
    // that was reloaded.
    void show(const Caller& c, blynk_http_responder* r) {
        if (c.kind != Caller::Kind::Session)
            return b_.answer(r, 200, json::serialize(json::object{{"email", c.email}}), no_store());
        const AdminSessions::Session* s = auth_->sessions().by_key(c.session_key);
        if (!s) return b_.answer(r, 401, error_json("Your session has ended; log in again."));
        b_.answer(r, 200, session_json(c.email, s->csrf, s->must_change_password), no_store());
    }

    // DELETE /api/v1/session: the session ends, the browser forgets the cookie.
    void logout(const Caller& c, blynk_http_responder* r) {
        if (c.kind == Caller::Kind::Session) auth_->sessions().close(c.session_key);
        Headers h = no_store();
        h.emplace_back("Set-Cookie",
                       std::string(AdminSessions::kCookie) + "=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
        b_.answer(r, 200, json::serialize(json::object{{"loggedOut", true}}), h);
    }

    // POST /api/v1/session/password {"password", "newPassword"}: the caller's
    // own password. The current one is checked as a login is (throttle,
    // pool); the new one is hashed on the pool and stored. Other sessions of
    // the account end; this one goes on without the forced-change mark.
    void change_password(const Caller& c, const KeptRequest& q, blynk_http_responder* r) {
        if (c.kind == Caller::Kind::Token)
            return b_.answer(r, 400, error_json("The operator token has no password; log in as an administrator."));
        json::object in;
        if (!parse_object(b_, r, q.body, in)) return;
        std::string current = str(in, "password"), next = str(in, "newPassword");
        if (next.size() < kMinPassword || next.size() > kMaxPassword)
            return b_.answer(r, 400, error_json("'newPassword' must be 10 to 128 characters."));
        if (next == current) return b_.answer(r, 400, error_json("'newPassword' must differ from the current one."));
        if (b_.login_blocked(q.peer))
            return b_.answer(r, 429, error_json("Too many failed logins from this address; try again later."));
        auto self = shared_from_this();
        Caller who = c;
        uint32_t iterations = auth_->options().hash_iterations;
        auth_->check_password(
            q.peer, c.email, current, r,
            [self, who, next, iterations, r](const Caller&) {
                auto hash = std::make_shared<std::string>();
                std::string email = who.email;
                bool queued = self->b_.hash_job(
                    [hash, email, next, iterations] {
                        *hash = core::slow_hash(core::legacy_pass_hash(email, next), iterations);
                    },
                    [self, who, hash, r] { self->store_password(who, *hash, r); });
                if (!queued) self->b_.answer(r, 503, error_json(kBusy));
            },
            /*fresh=*/true);
    }

    void status(blynk_http_responder* r) { b_.answer(r, 200, b_.status_json(), no_store()); }

    // GET /api/v1/events: the live feed, for as long as the session lasts.
    void events(const Caller& c, blynk_http_responder* r) {
        std::function<bool()> allowed = [] { return true; };
        if (c.kind == Caller::Kind::Session) {
            std::weak_ptr<OperatorAuth> weak = auth_;
            std::string key = c.session_key;
            allowed = [weak, key] {
                auto auth = weak.lock();
                return auth && auth->sessions().alive(key, std::chrono::steady_clock::now());
            };
        }
        if (!b_.open_live(r, std::move(allowed)))
            b_.answer(r, 503, error_json("Too many live views are open; close one and reload."));
    }

private:
    std::string session_json(const std::string& email, const std::string& csrf, bool must_change) const {
        return json::serialize(json::object{{"email", email},
                                            {"csrf", csrf},
                                            {"mustChangePassword", must_change},
                                            {"idleMinutes", auth_->sessions().idle().count()}});
    }

    void store_password(const Caller& who, const std::string& hash, blynk_http_responder* r) {
        auto self = shared_from_this();
        auto failed = std::make_shared<std::string>();
        std::string email = who.email;
        bool queued = b_.storage_job(
            [email, hash, failed](const host::StorageClient& st) {
                try {
                    host::set_pass_hash(st, email, hash);
                } catch (const std::exception& e) {
                    *failed = e.what();
                }
            },
            [self, who, hash, failed, r] {
                if (!failed->empty()) {
                    spdlog::error("operator API: the new password of {} was not stored: {}", who.email, *failed);
                    return self->b_.answer(r, 500, error_json("The new password could not be stored: " + *failed));
                }
                if (core::User* u = self->b_.model().find_user(who.email)) u->pass_hash = hash;
                self->auth_->forget();
                self->auth_->sessions().close_user(who.email, who.session_key);
                if (auto* s = self->auth_->sessions().by_key(who.session_key)) s->must_change_password = false;
                spdlog::info("administrator {} changed the password", who.email);
                self->b_.answer(r, 200, json::serialize(json::object{{"changed", true}}), no_store());
            });
        if (!queued) b_.answer(r, 503, error_json(kBusy));
    }

    OperatorBackend& b_;
    std::shared_ptr<OperatorAuth> auth_;
};

}  // namespace

void register_session_routes(host::HttpRoutes& routes, OperatorBackend& backend, std::shared_ptr<OperatorAuth> auth) {
    auto api = std::make_shared<SessionApi>(backend, auth);
    const std::string owner = kOperatorApiOwner;
    // `password_change`: a session whose password the server generated may call it.
    auto add = [&](const char* method, const char* pattern, bool password_change,
                   std::function<void(const Caller&, const KeptRequest&, blynk_http_responder*)> fn) {
        routes.add(
            method, pattern, owner,
            [auth, fn, password_change](const blynk_http_request& req, blynk_http_responder* r) {
                auto kept = KeptRequest::of(req);
                auth->authorize(
                    req, r, [fn, kept, r](const Caller& c) { fn(c, *kept, r); }, password_change);
            },
            /*cross_origin=*/false);
    };
    routes.add(
        "POST", "/api/v1/session", owner,
        [api, auth, &backend](const blynk_http_request& req, blynk_http_responder* r) {
            std::string refusal;
            if (unsigned status = auth->check_origin(req, refusal)) return backend.answer(r, status, refusal);
            api->login(*KeptRequest::of(req), r);
        },
        /*cross_origin=*/false);
    add("GET", "/api/v1/session", true,
        [api](const Caller& c, const KeptRequest&, blynk_http_responder* r) { api->show(c, r); });
    add("DELETE", "/api/v1/session", true,
        [api](const Caller& c, const KeptRequest&, blynk_http_responder* r) { api->logout(c, r); });
    add("POST", "/api/v1/session/password", true,
        [api](const Caller& c, const KeptRequest& q, blynk_http_responder* r) { api->change_password(c, q, r); });
    add("GET", "/api/v1/status", false,
        [api](const Caller&, const KeptRequest&, blynk_http_responder* r) { api->status(r); });
    add("GET", "/api/v1/events", false,
        [api](const Caller& c, const KeptRequest&, blynk_http_responder* r) { api->events(c, r); });
}

}  // namespace blynk::net
