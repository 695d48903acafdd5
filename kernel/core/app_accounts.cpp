// Before login (REGISTER, LOGIN, SHARE_LOGIN, GET_SERVER, RESET_PASSWORD) and
// LOGOUT. Passwords: the app sends the legacy client hash (protocol §10.1);
// the account keeps a slow hash of it (core/secrets.hpp), checked on the
// hashing pool. A session that proved the password once is remembered by a
// keyed digest, so an app reconnecting does not cost a slow hash each time.
#include <blynk/plugin.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <cstring>

#include "codec/protocol.hpp"
#include "core/app_hub.hpp"
#include "core/secrets.hpp"

namespace blynk::core {

using codec::cmd;
using codec::Command;
using codec::Status;
using codec::trim;

namespace {

// Logins proven with the slow hash: digest(key, stored hash, client hash) per
// e-mail. The key is random per process, so the digests mean nothing outside
// it; a changed stored hash (a new password) no longer matches.
class ProvenLogins {
public:
    ProvenLogins() { RAND_bytes(key_.data(), int(key_.size())); }
    bool proven(const std::string& email, std::string_view stored, std::string_view client) const {
        auto it = digests_.find(email);
        return it != digests_.end() && it->second == digest(stored, client);
    }
    void remember(const std::string& email, std::string_view stored, std::string_view client) {
        if (digests_.size() >= kMax) digests_.clear();  // bounded; the slow path stays correct
        digests_[email] = digest(stored, client);
    }

private:
    static constexpr size_t kMax = 100000;
    using Digest = std::array<unsigned char, 32>;
    Digest digest(std::string_view stored, std::string_view client) const {
        Digest out{};
        unsigned int len = 0;
        EVP_MD_CTX* ctx = EVP_MD_CTX_new();
        EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
        EVP_DigestUpdate(ctx, key_.data(), key_.size());
        uint64_t n = stored.size();
        EVP_DigestUpdate(ctx, &n, sizeof n);
        EVP_DigestUpdate(ctx, stored.data(), stored.size());
        EVP_DigestUpdate(ctx, client.data(), client.size());
        EVP_DigestFinal_ex(ctx, out.data(), &len);
        EVP_MD_CTX_free(ctx);
        return out;
    }
    std::array<unsigned char, 32> key_{};
    std::unordered_map<std::string, Digest> digests_;
};

ProvenLogins& proven_logins() {
    static ProvenLogins p;  // loop thread only
    return p;
}

}  // namespace

void AppHub::pre_login(AppRoute& s, const codec::Frame& f) {
    switch (Command(f.command)) {
        case Command::GetServer:
            return get_server(s, f);
        case Command::Login:
            return login(s, f);
        case Command::Register:
            if (!s.out->websocket()) return register_user(s, f);
            // /dashws takes no registrations (legacy): refused, and the connection goes.
            status(s, f.msg_id, Status::NotAllowed);
            s.out->close("REGISTER on /dashws");
            return;
        case Command::ShareLogin:
            if (!s.out->websocket()) return share_login(s, f);
            break;
        case Command::ResetPassword:
            if (!s.out->websocket()) return reset_password(s, f);
            break;
        default:
            break;
    }
    s.out->reject("command " + std::to_string(f.command) + " before login");
}

bool AppHub::registrations_left() {
    int64_t now = now_();
    while (!registrations_.empty() && now - registrations_.front() >= 3600 * 1000)
        registrations_.pop_front();
    return registrations_.size() < settings_.registrations_per_hour;
}

void AppHub::register_user(AppRoute& s, const codec::Frame& f) {
    Fields fl = split_body(f.body, 3);
    if (!registrations_left() && !s.registered) {
        if (settings_.warn && registrations_.size() == settings_.registrations_per_hour)
            settings_.warn("app registrations reached app.registrations_per_hour (" +
                           std::to_string(settings_.registrations_per_hour) + "); refusing more this hour");
        return status(s, f.msg_id, Status::NotAllowed);
    }
    if (s.registered) {
        // One account per connection, as the legacy server allowed.
        status(s, f.msg_id, Status::NotAllowed);
        s.out->close("a second registration on one connection");
        return;
    }
    if (fl.size() < 3 || fl[1].empty() || fl[1].size() > 128 || fl[2].empty() || fl[2].size() > 100)
        return status(s, f.msg_id, Status::IllegalCommand);
    std::string email = lower(trim(fl[0]));
    if (!valid_email(email) || email.size() > 255 || email.find('?') != std::string::npos)
        return status(s, f.msg_id, Status::IllegalCommand);
    if (!settings_.allow_registration) return status(s, f.msg_id, Status::NotAllowed);
    if (model_.find_user(email)) return status(s, f.msg_id, Status::UserAlreadyRegistered);
    std::string app_name(fl[2]);
    uint64_t id = s.id;
    uint16_t msg_id = f.msg_id;
    std::string client_hash(fl[1]);
    s.pending = true;
    auto fail = [this, id, msg_id](Status st) {
        if (AppRoute* live = session(id)) {
            live->pending = false;
            status(*live, msg_id, st);
            live->out->resume();
        }
    };
    auto store = [this, id, msg_id, email, app_name, fail](std::string slow) {
        if (!session(id)) return;
        auto u = std::make_unique<User>();
        u->email = email;
        u->name = email.substr(0, email.find('@'));
        u->pass_hash = std::move(slow);
        u->created_ms = now_();
        u->energy = settings_.initial_energy;
        if (app_name != "Blynk") u->settings_json = boost::json::serialize(boost::json::object{{"appName", app_name}});
        const User& snapshot = *u;
        auto owned = std::make_shared<std::unique_ptr<User>>(std::move(u));
        bool queued = backend_.save_user(snapshot, true, [this, id, msg_id, owned, fail](int rc) {
            if (rc == BLYNK_CONFLICT) return fail(Status::UserAlreadyRegistered);
            if (rc != BLYNK_OK) return fail(Status::ServerError);
            registrations_.push_back(now_());
            if (!model_.find_user((*owned)->email)) {
                LoadedData data;
                data.users.push_back(std::move(*owned));
                model_.merge(std::move(data));
            }
            if (AppRoute* live = session(id)) {
                live->pending = false;
                live->registered = true;
                ok(*live, msg_id);
                live->out->resume();
            }
        });
        if (!queued) fail(Status::ServerError);
    };
    bool queued = backend_.load_user(email, [this, id, email, client_hash, store, fail](LoadResult r) {
        if (!session(id)) return;
        if (r == LoadResult::Failed) return fail(Status::ServerError);
        if (r == LoadResult::Found || model_.find_user(email)) return fail(Status::UserAlreadyRegistered);
        if (!backend_.hash_password(client_hash, store)) fail(Status::ServerError);
    });
    if (!queued) fail(Status::ServerError);
}

void AppHub::login(AppRoute& s, const codec::Frame& f) {
    Fields fl = split_body(f.body, 5);
    if (fl.size() < 2) return status(s, f.msg_id, Status::IllegalCommand);
    std::string peer = s.out->peer();
    if (router_.peer_blocked(peer)) {
        status(s, f.msg_id, Status::UserNotAuthenticated);
        s.out->close("app login from a blocked address");
        return;
    }
    std::string email = lower(fl[0]);
    std::string client_hash(fl[1]);
    if (fl.size() > 2) s.os = std::string(fl[2].substr(0, 16));
    if (fl.size() > 3) s.version = std::string(fl[3].substr(0, 16));
    if (fl.size() > 4 && fl[4] == "facebook") {
        // Facebook logins went through Facebook's Graph API with the legacy
        // app's own app id: a self-hosted server cannot check them.
        return status(s, f.msg_id, Status::NotAllowed);
    }
    uint64_t id = s.id;
    uint16_t msg_id = f.msg_id;
    s.pending = true;
    auto fail = [this, id, msg_id, peer](Status st) {
        if (st == Status::UserNotAuthenticated || st == Status::UserNotRegistered) router_.token_refused(peer);
        if (AppRoute* live = session(id)) {
            live->pending = false;
            status(*live, msg_id, st);
            live->out->resume();
        }
    };
    auto check = [this, id, msg_id, email, client_hash, fail]() {
        User* u = model_.find_user(email);
        if (!u) return fail(Status::UserNotRegistered);
        if (u->pass_hash.empty()) return fail(Status::UserNotAuthenticated);
        if (proven_logins().proven(email, u->pass_hash, client_hash)) {
            if (AppRoute* live = session(id)) finish_login(*live, msg_id, *u, -1);
            return;
        }
        std::string stored = u->pass_hash;
        bool queued = backend_.verify_password(client_hash, stored,
                                               [this, id, msg_id, email, client_hash, stored, fail](bool match) {
                                                   if (!match) return fail(Status::UserNotAuthenticated);
                                                   User* now = model_.find_user(email);
                                                   if (!now || now->pass_hash != stored)
                                                       return fail(Status::UserNotAuthenticated);  // changed meanwhile
                                                   proven_logins().remember(email, stored, client_hash);
                                                   if (AppRoute* live = session(id))
                                                       finish_login(*live, msg_id, *now, -1);
                                               });
        if (!queued) fail(Status::ServerError);
    };
    if (model_.find_user(email)) return check();
    bool queued = backend_.load_user(email, [this, id, check, fail](LoadResult r) {
        if (!session(id)) return;
        if (r == LoadResult::Failed) return fail(Status::ServerError);
        check();
    });
    if (!queued) fail(Status::ServerError);
}

void AppHub::share_login(AppRoute& s, const codec::Frame& f) {
    Fields fl = split_body(f.body, 4);
    if (fl.size() < 2 || fl[1].empty()) return status(s, f.msg_id, Status::IllegalCommand);
    std::string peer = s.out->peer();
    if (router_.peer_blocked(peer)) {
        status(s, f.msg_id, Status::NotAllowed);
        s.out->close("share login from a blocked address");
        return;
    }
    std::string email = lower(fl[0]);
    std::string token(fl[1]);
    if (fl.size() > 2) s.os = std::string(fl[2].substr(0, 16));
    if (fl.size() > 3) s.version = std::string(fl[3].substr(0, 16));
    uint64_t id = s.id;
    uint16_t msg_id = f.msg_id;
    s.pending = true;
    auto check = [this, id, msg_id, email, token, peer]() {
        AppRoute* live = session(id);
        if (!live) return;
        live->pending = false;
        if (User* u = model_.find_user(email))
            for (auto& dash : u->dashboards)
                if (dash.shared && !dash.share_token.empty() && dash.share_token == token) {
                    finish_login(*live, msg_id, *u, dash.id);
                    return;
                }
        router_.token_refused(peer);
        status(*live, msg_id, Status::NotAllowed);
        live->out->resume();
    };
    if (model_.find_user(email)) return check();
    bool queued = backend_.load_user(email, [check](LoadResult) { check(); });
    if (!queued) {
        s.pending = false;
        status(s, f.msg_id, Status::ServerError);
    }
}

void AppHub::finish_login(AppRoute& s, uint16_t msg_id, User& u, int32_t shared_dash) {
    s.pending = false;
    s.shared_dash = shared_dash;
    ok(s, msg_id);
    join_user(s, u);
    s.out->resume();
}

void AppHub::get_server(AppRoute& s, const codec::Frame& f) {
    Fields fl = split_body(f.body, 2);
    if (fl.size() < 2 || fl[1].empty() || fl[1].size() > 100) return status(s, f.msg_id, Status::IllegalCommand);
    if (!valid_email(lower(fl[0]))) return status(s, f.msg_id, Status::IllegalCommandBody);
    // One server holds every account: the answer is this server.
    std::string host = settings_.server_host.empty() ? s.out->local_host() : settings_.server_host;
    s.out->send(cmd(Command::GetServer), f.msg_id, host);
}

void AppHub::logout(AppRoute& s, const codec::Frame& f) {
    ok(s, f.msg_id);
    s.out->close("logout");
}

}  // namespace blynk::core
