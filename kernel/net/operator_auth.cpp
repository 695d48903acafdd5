#include "net/operator_auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "core/model.hpp"
#include "core/secrets.hpp"
#include "core/throttle.hpp"
#include "host/accounts.hpp"

namespace blynk::net {

namespace {

std::string error_json(std::string_view message) {
    return boost::json::serialize(boost::json::object{{"error", message}});
}

std::string_view view(blynk_str s) {
    return s.data ? std::string_view(s.data, s.size) : std::string_view();
}

bool same_text(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t k = 0; k < a.size(); ++k)
        if ((a[k] | 0x20) != (b[k] | 0x20)) return false;
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

// "host:443" and "host" are the same HTTPS origin.
std::string_view without_default_port(std::string_view host) {
    if (host.size() > 4 && host.substr(host.size() - 4) == ":443") host.remove_suffix(4);
    return host;
}

std::string sha256_hex(std::string_view in) {
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(in.data()), in.size(), d);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned char c : d) {
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 15]);
    }
    return out;
}

const char* const kNoCredentials = "Administrator credentials required (HTTP Basic, or the operator token).";
const char* const kWrongAdmin = "Wrong administrator e-mail or password.";
const char* const kBusy = "The server is busy; try again.";

}  // namespace

std::string request_header(const blynk_http_request& req, std::string_view name) {
    for (size_t i = 0; i < req.header_count; ++i)
        if (same_text(view(req.headers[i].name), name)) return std::string(view(req.headers[i].value));
    return {};
}

Refusal browser_refusal(const blynk_http_request& req) {
    // A page on another site can make the admin's browser send requests here
    // (with cached credentials, or from inside the allowed network). Browsers
    // say where a request comes from; scripts and the CLI send neither header.
    std::string site = request_header(req, "Sec-Fetch-Site");
    if (!site.empty() && !same_text(trim(site), "same-origin") && !same_text(trim(site), "none"))
        return {403, "Cross-site requests to the operator API are refused (Sec-Fetch-Site: " +
                         std::string(trim(site)).substr(0, 32) + ")."};
    std::string origin = request_header(req, "Origin");
    if (!origin.empty()) {
        std::string host = request_header(req, "Host");
        std::string_view o = trim(origin);
        bool own = o.size() > 8 && same_text(o.substr(0, 8), "https://") && !host.empty() &&
                   same_text(without_default_port(o.substr(8)), without_default_port(trim(host)));
        if (!own) return {403, "Cross-site requests to the operator API are refused (Origin is not this server)."};
    }
    // A form or a fetch without preflight can only send text/plain,
    // application/x-www-form-urlencoded or multipart/form-data: a JSON
    // Content-Type proves the sender is not such a page.
    std::string type = request_header(req, "Content-Type");
    if (!view(req.body).empty() || !type.empty()) {
        std::string_view media = trim(std::string_view(type).substr(0, type.find(';')));
        if (!same_text(media, "application/json"))
            return {415, "The operator API takes JSON bodies only (Content-Type: application/json)."};
    }
    return {};
}

void OperatorAuth::authorize(const blynk_http_request& req, blynk_http_responder* r, std::function<void()> then) {
    std::string peer(view(req.peer));
    if (!req.tls) {
        b_.answer(r, 403, error_json("The operator API is served over HTTPS only (the TLS port)."));
        return;
    }
    if (!address_allowed(peer, o_.allowed)) {
        spdlog::warn("{}: operator API refused: address not in [admin] allowed_ips", peer);
        b_.answer(r, 403, error_json("This address may not use the operator API (see [admin] allowed_ips)."));
        return;
    }
    if (Refusal no = browser_refusal(req); no.status) {
        spdlog::warn("{}: operator API refused: {}", peer, no.message);
        b_.answer(r, no.status, error_json(no.message));
        return;
    }
    std::string auth = request_header(req, "Authorization");
    // The operator token (the CLI's) is 192 random bits, compared in constant
    // time and never hashed: the right one is honoured even from a blocked
    // address, so misbehaving devices behind the same address (a proxy, NAT,
    // the host itself) do not lock the operator out. Wrong ones count.
    bool bearer = auth.rfind("Bearer ", 0) == 0;
    if (bearer && !o_.operator_token.empty() && auth.size() - 7 == o_.operator_token.size() &&
        CRYPTO_memcmp(auth.data() + 7, o_.operator_token.data(), o_.operator_token.size()) == 0) {
        then();
        return;
    }
    // Before any password is hashed: a blocked address costs nothing.
    if (b_.login_blocked(peer)) {
        spdlog::info("{}: operator API refused: too many failed logins from this address", peer);
        b_.answer(r, 429, error_json("Too many failed logins from this address; try again later."));
        return;
    }
    if (auth.empty()) return refuse(peer, r, false, kNoCredentials);
    if (bearer) return refuse(peer, r, true, kNoCredentials);
    if (auth.rfind("Basic ", 0) != 0) return refuse(peer, r, true, kNoCredentials);
    std::string b64 = auth.substr(6);
    std::string raw(b64.size(), '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(&raw[0]),
                            reinterpret_cast<const unsigned char*>(b64.data()), int(b64.size()));
    if (n < 0) return refuse(peer, r, true, kNoCredentials);
    raw.resize(size_t(n));
    while (!raw.empty() && raw.back() == '\0')
        raw.pop_back();  // Base64 padding
    size_t colon = raw.find(':');
    if (colon == std::string::npos) return refuse(peer, r, true, kNoCredentials);
    check_password(peer, core::lower(raw.substr(0, colon)), raw.substr(colon + 1), r, std::move(then));
}

void OperatorAuth::check_password(const std::string& peer, const std::string& email, const std::string& password,
                                  blynk_http_responder* r, std::function<void()> then) {
    std::string key = sha256_hex(email + '\n' + password);
    if (auto it = verified_.find(key); it != verified_.end() && it->second > std::chrono::steady_clock::now()) {
        then();
        return;
    }
    // The account comes from storage (its thread); the slow hash runs on the
    // hashing pool, never on the storage or the I/O thread. An unknown account
    // is hashed too, at the configured cost: the time taken does not tell
    // which accounts exist.
    struct Check {
        bool failed = false, found = false, admin = false, ok = false;
        std::string stored, upgraded;
    };
    auto c = std::make_shared<Check>();
    auto self = shared_from_this();
    uint32_t iterations = o_.hash_iterations;
    auto hash = [email, password, c, iterations] {
        std::string secret = core::legacy_pass_hash(email, password);
        c->ok = core::verify_slow_hash(secret, c->found ? c->stored : core::unmatchable_slow_hash(iterations)) &&
                c->found && c->admin;
        // A hash made with fewer rounds than configured is replaced now that
        // the password is known (it is never stored in the clear).
        try {
            if (c->ok && core::slow_hash_iterations(c->stored) < iterations)
                c->upgraded = core::slow_hash(secret, iterations);
        } catch (const std::exception& e) {
            spdlog::error("operator API: a password hash upgrade failed: {}", e.what());  // the next login retries
        }
    };
    auto decided = [self, c, key, email, peer, r, then] {
        if (!c->ok) return self->refuse(peer, r, true, kWrongAdmin);
        if (self->verified_.size() > 1000) self->verified_.clear();
        self->verified_[key] = std::chrono::steady_clock::now() + std::chrono::minutes(5);
        if (!c->upgraded.empty()) {
            std::string upgraded = c->upgraded;
            bool queued = self->b_.storage_job(
                [email, upgraded](const host::StorageClient& st) { host::set_pass_hash(st, email, upgraded); },
                [email, iterations = core::slow_hash_iterations(upgraded)] {
                    spdlog::info("password hash of {} upgraded to {} PBKDF2 rounds", email, iterations);
                });
            if (!queued) spdlog::warn("password hash of {} not upgraded: storage is busy (next login)", email);
        }
        then();
    };
    bool queued = b_.storage_job(
        [email, c](const host::StorageClient& st) {
            core::LoadedData data;
            try {
                if (!st.load_user(email, data) || data.users.empty()) return;
            } catch (const std::exception& e) {
                spdlog::error("operator API: storage could not load an account: {}", e.what());
                c->failed = true;  // says nothing about the password: no throttle count
                return;
            }
            const core::User& u = *data.users.front();
            c->found = true;
            c->admin = u.is_admin;
            c->stored = u.pass_hash;
        },
        [self, c, hash, decided, r] {
            if (c->failed) return self->b_.answer(r, 503, error_json("Storage could not be read; try again."));
            if (!self->b_.hash_job(hash, decided)) self->b_.answer(r, 503, error_json(kBusy));
        });
    if (!queued) b_.answer(r, 503, error_json(kBusy));
}

void OperatorAuth::refuse(const std::string& peer, blynk_http_responder* r, bool counted, std::string_view message) {
    spdlog::warn("{}: operator API: {}", peer,
                 message == kWrongAdmin ? "wrong administrator credentials" : "missing or wrong credentials");
    if (counted) b_.login_refused(peer);
    // No WWW-Authenticate: a browser would prompt for credentials and then
    // send them with every request a page makes to this origin.
    b_.answer(r, 401, error_json(message));
}

}  // namespace blynk::net
