// RESET_PASSWORD (81) before login: `start\0email\0appName` mails the account
// a one-time token (core/reset_tokens.hpp) through the notifier's mail
// channel, `verify\0token` says whether it is still good, and
// `reset\0token\0passHash` sets the new client hash (protocol §10.1) through
// the same slow-hash and storage path as REGISTER.
//
// The answers are the legacy server's: an unknown account is ILLEGAL_COMMAND
// at start (the legacy server told it apart, and so does its HTTP page), an
// account with a live token NOT_ALLOWED, a mail that could not be sent
// SERVER_ERROR; unknown, expired or used tokens NOT_ALLOWED. Beyond legacy:
// each address may ask kPerAddressHourly times an hour (NOT_ALLOWED past it),
// so the command cannot be used to mail-bomb accounts; a token whose mail
// failed is dropped so the user can retry at once. Like the legacy server, a
// reset does not close the account's other app sessions.
#include <blynk/plugin.h>

#include "codec/protocol.hpp"
#include "core/app_hub.hpp"
#include "core/password_reset_mail.hpp"
#include "core/secrets.hpp"
#include "core/throttle.hpp"

namespace blynk::core {

using codec::Command;
using codec::Status;
using codec::trim;

void AppHub::reset_password(AppRoute& s, const codec::Frame& f) {
    Fields fl = split_body(f.body, 3);
    if (fl.empty()) return status(s, f.msg_id, Status::IllegalCommand);
    if (fl[0] == "start") return reset_start(s, f, fl);
    if (fl[0] == "verify") {
        if (fl.size() < 2) return status(s, f.msg_id, Status::IllegalCommand);
        bool good = router_.reset_tokens().find(fl[1], now_()) != nullptr;
        return status(s, f.msg_id, good ? Status::Ok : Status::NotAllowed);
    }
    if (fl[0] == "reset") {
        if (fl.size() < 3 || fl[2].empty() || fl[2].size() > 128) return status(s, f.msg_id, Status::IllegalCommand);
        std::string email = router_.reset_tokens().take(fl[1], now_());
        if (email.empty()) return status(s, f.msg_id, Status::NotAllowed);
        uint64_t id = s.id;
        uint16_t msg_id = f.msg_id;
        s.pending = true;
        set_reset_password(email, std::string(fl[2]), [this, id, msg_id](Status st) {
            if (AppRoute* live = session(id)) {
                live->pending = false;
                status(*live, msg_id, st);
                live->out->resume();
            }
        });
        return;
    }
    status(s, f.msg_id, Status::IllegalCommand);
}

void AppHub::reset_start(AppRoute& s, const codec::Frame& f, const std::vector<std::string_view>& fl) {
    if (fl.size() < 3) return status(s, f.msg_id, Status::IllegalCommand);
    std::string email = lower(trim(fl[1]));
    if (!valid_email(email) || email.size() > 255) return status(s, f.msg_id, Status::IllegalCommand);
    if (!router_.reset_tokens().allow_address(std::string(peer_address(s.out->peer())), now_())) {
        if (settings_.warn) settings_.warn("password reset requests from " + s.out->peer() + " over the hourly limit");
        return status(s, f.msg_id, Status::NotAllowed);
    }
    std::string host = settings_.server_host.empty() ? s.out->local_host() : settings_.server_host;
    uint64_t id = s.id;
    uint16_t msg_id = f.msg_id;
    s.pending = true;
    start_password_reset(
        email, [host, email](const std::string& token) { return app_reset_link(host, token, email); },
        [this, id, msg_id](ResetStart r) {
            AppRoute* live = session(id);
            if (!live) return;
            live->pending = false;
            Status st = Status::Ok;
            switch (r) {
                case ResetStart::Sent:
                    st = Status::Ok;
                    break;
                case ResetStart::InvalidEmail:
                case ResetStart::NoAccount:
                    st = Status::IllegalCommand;
                    break;
                case ResetStart::Pending:
                    st = Status::NotAllowed;
                    break;
                case ResetStart::Failed:
                    st = Status::ServerError;
                    break;
            }
            status(*live, msg_id, st);
            live->out->resume();
        });
}

void AppHub::start_password_reset(const std::string& email, std::function<std::string(const std::string&)> link_of,
                                  std::function<void(ResetStart)> done) {
    auto issue = [this, email, link_of, done]() {
        if (!model_.find_user(email)) return done(ResetStart::NoAccount);
        Notifier* notifier = router_.notifier();
        if (!notifier) return done(ResetStart::Failed);
        std::string token;
        switch (router_.reset_tokens().issue(email, now_(), token)) {
            case ResetTokens::Issue::Pending:
                return done(ResetStart::Pending);
            case ResetTokens::Issue::Full:
                return done(ResetStart::Failed);
            case ResetTokens::Issue::Issued:
                break;
        }
        notifier->send(reset_mail(email, link_of(token), token), [this, email, done](NotifyOutcome o) {
            if (o == NotifyOutcome::Sent) return done(ResetStart::Sent);
            router_.reset_tokens().forget_email(email);
            done(ResetStart::Failed);
        });
    };
    if (model_.find_user(email)) return issue();
    bool queued = backend_.load_user(email, [issue, done](LoadResult r) {
        if (r == LoadResult::Failed) return done(ResetStart::Failed);
        issue();
    });
    if (!queued) done(ResetStart::Failed);
}

void AppHub::set_reset_password(const std::string& email, std::string client_hash, std::function<void(Status)> done) {
    auto store = [this, email, done](std::string slow) {
        User* u = model_.find_user(email);
        if (!u) return done(Status::ServerError);  // the account went meanwhile (legacy: SERVER_ERROR)
        // save_user takes its snapshot during the call: the model keeps the old
        // hash until storage has the new one.
        std::string old = u->pass_hash;
        u->pass_hash = slow;
        bool queued = backend_.save_user(*u, false, [this, email, hash = slow, done](int rc) {
            if (rc != BLYNK_OK) return done(Status::ServerError);
            // Stored first, then the model: a login now needs the new password.
            User* now = model_.find_user(email);
            if (!now) return done(Status::ServerError);
            now->pass_hash = hash;
            if (Notifier* n = router_.notifier()) n->send(reset_done_mail(email), [](NotifyOutcome) {});
            done(Status::Ok);
        });
        u->pass_hash = std::move(old);
        if (!queued) done(Status::ServerError);
    };
    auto hash = [this, client_hash, store, done]() {
        if (!backend_.hash_password(client_hash, store)) done(Status::ServerError);
    };
    if (model_.find_user(email)) return hash();
    bool queued = backend_.load_user(email, [hash, done](LoadResult r) {
        if (r != LoadResult::Found) return done(Status::ServerError);
        hash();
    });
    if (!queued) done(Status::ServerError);
}

}  // namespace blynk::core
