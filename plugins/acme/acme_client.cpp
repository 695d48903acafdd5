#include "acme_client.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace acme {

namespace json = boost::json;

namespace {

// How long the CA may keep a challenge or an order "pending"/"processing".
constexpr int kMaxPolls = 60;
constexpr auto kPollPause = std::chrono::milliseconds(1000);

json::object parse_object(const std::string& body, const char* what) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) throw Error(std::string("the CA's ") + what + " is not a JSON object");
    return v.as_object();
}

std::string str(const json::object& o, const char* key) {
    const json::value* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::string required(const json::object& o, const char* key, const char* what) {
    std::string v = str(o, key);
    if (v.empty()) throw Error(std::string("the CA's ") + what + " has no \"" + key + "\"");
    return v;
}

// The problem document (RFC 7807) of an error answer, as one line.
std::string problem(long status, const std::string& body) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    std::string text = "HTTP " + std::to_string(status);
    if (!ec && v.is_object()) {
        std::string type = str(v.as_object(), "type"), detail = str(v.as_object(), "detail");
        if (!type.empty()) text += " " + type;
        if (!detail.empty()) text += ": " + detail;
    }
    return text;
}

std::string quote(const std::string& s) {
    return json::serialize(json::value(s));
}

}  // namespace

void ChallengeBoard::put(const std::string& token, const std::string& key_authorization) {
    std::lock_guard<std::mutex> lock(mutex_);
    answers_[token] = key_authorization;
}

void ChallengeBoard::remove(const std::string& token) {
    std::lock_guard<std::mutex> lock(mutex_);
    answers_.erase(token);
}

bool ChallengeBoard::find(const std::string& token, std::string& key_authorization) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = answers_.find(token);
    if (it == answers_.end()) return false;
    key_authorization = it->second;
    return true;
}

Client::Client(const Https& https, EVP_PKEY* account_key, Wait wait, Log info)
    : https_(https), key_(account_key), wait_(std::move(wait)), info_(std::move(info)) {}

void Client::open(const std::string& directory_url) {
    HttpReply r = https_.get(directory_url);
    if (r.status != 200) throw Error("directory " + directory_url + ": " + problem(r.status, r.body));
    json::object dir = parse_object(r.body, "directory");
    new_nonce_ = required(dir, "newNonce", "directory");
    new_account_ = required(dir, "newAccount", "directory");
    new_order_ = required(dir, "newOrder", "directory");
    nonce_.clear();
}

std::string Client::nonce() {
    if (!nonce_.empty()) return std::exchange(nonce_, std::string());
    HttpReply r = https_.head(new_nonce_);
    std::string n = r.header("replay-nonce");
    if (n.empty()) throw Error("newNonce: no Replay-Nonce in the answer (HTTP " + std::to_string(r.status) + ")");
    return n;
}

Client::Reply Client::post(const std::string& url, const std::string& payload) {
    // A nonce the CA refuses (it forgot it, or rejects some on purpose, as
    // pebble does) is answered with a fresh one: try again, a few times.
    for (int attempt = 0;; ++attempt) {
        std::string header = R"({"alg":")" + jws_alg(key_) + R"(","nonce":)" + quote(nonce()) + R"(,"url":)" +
                             quote(url) + (kid_.empty() ? R"(,"jwk":)" + jwk_json(key_) : R"(,"kid":)" + quote(kid_)) +
                             "}";
        std::string protected64 = base64url(header), payload64 = base64url(payload);
        std::string signature = base64url(jws_sign(key_, protected64 + "." + payload64));
        std::string body = R"({"protected":")" + protected64 + R"(","payload":")" + payload64 + R"(","signature":")" +
                           signature + R"("})";
        HttpReply r = https_.post_jose(url, body);
        nonce_ = r.header("replay-nonce");
        if (r.status >= 400) {
            bool bad_nonce = r.body.find("urn:ietf:params:acme:error:badNonce") != std::string::npos;
            if (bad_nonce && attempt < 3) continue;
            throw Error("POST " + url + ": " + problem(r.status, r.body));
        }
        return {r.status, std::move(r.body), r.header("location")};
    }
}

void Client::account(const std::string& contact_email) {
    kid_.clear();
    std::string payload = R"({"termsOfServiceAgreed":true)";
    if (!contact_email.empty()) payload += R"(,"contact":[)" + quote("mailto:" + contact_email) + "]";
    payload += "}";
    Reply r = post(new_account_, payload);
    if (r.location.empty()) throw Error("newAccount: no Location (the account's URL) in the answer");
    kid_ = r.location;
    if (r.status == 201) info_("ACME account created: " + kid_);
}

std::string Client::poll_status(const std::string& url, const char* what, std::string& body) {
    for (int i = 0; i < kMaxPolls; ++i) {
        Reply r = post(url, "");
        json::object o = parse_object(r.body, what);
        std::string status = str(o, "status");
        if (status != "pending" && status != "processing") {
            body = std::move(r.body);
            return status;
        }
        if (!wait_(kPollPause)) throw Error("stopped");
    }
    throw Error(std::string("the ") + what + " stayed pending for " + std::to_string(kMaxPolls) + " polls");
}

Issued Client::issue(const std::string& host, KeyType type, ChallengeBoard& board) {
    Reply order = post(new_order_, R"({"identifiers":[{"type":"dns","value":)" + quote(host) + "}]}");
    if (order.location.empty()) throw Error("newOrder: no Location (the order's URL) in the answer");
    json::object o = parse_object(order.body, "order");
    const json::value* authzs = o.if_contains("authorizations");
    if (!authzs || !authzs->is_array() || authzs->as_array().empty())
        throw Error("the CA's order has no authorizations");
    std::string finalize = required(o, "finalize", "order");

    for (const json::value& a : authzs->as_array()) {
        if (!a.is_string()) throw Error("the CA's order has a malformed authorization");
        std::string authz_url(a.as_string());
        json::object authz = parse_object(post(authz_url, "").body, "authorization");
        if (str(authz, "status") == "valid") continue;  // proven recently: the CA reuses it
        std::string token, challenge_url;
        if (const json::value* cs = authz.if_contains("challenges"); cs && cs->is_array())
            for (const json::value& c : cs->as_array())
                if (c.is_object() && str(c.as_object(), "type") == "http-01") {
                    token = str(c.as_object(), "token");
                    challenge_url = str(c.as_object(), "url");
                }
        if (token.empty() || challenge_url.empty()) throw Error("the CA offers no http-01 challenge for " + host);
        // The token becomes a path segment: only base64url characters (RFC 8555 §8.3).
        if (!std::all_of(token.begin(), token.end(), [](char ch) {
                return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_';
            }))
            throw Error("the CA's challenge token is not base64url");
        board.put(token, token + "." + jwk_thumbprint(key_));
        struct Unpost {
            ChallengeBoard& b;
            std::string t;
            ~Unpost() { b.remove(t); }
        } unpost{board, token};
        post(challenge_url, "{}");
        std::string body;
        std::string status = poll_status(authz_url, "authorization", body);
        if (status != "valid") {
            std::string why;
            json::object done = parse_object(body, "authorization");
            if (const json::value* cs = done.if_contains("challenges"); cs && cs->is_array())
                for (const json::value& c : cs->as_array())
                    if (c.is_object())
                        if (const json::value* e = c.as_object().if_contains("error"); e && e->is_object())
                            why = str(e->as_object(), "detail");
            throw Error("the http-01 challenge for " + host + " failed (authorization " + status + ")" +
                        (why.empty() ? "" : ": " + why));
        }
        info_("ACME challenge for " + host + " passed");
    }

    // A new key for every certificate: a key that leaked with an old
    // certificate is no use against the new one.
    PKey domain_key = generate_key(type);
    post(finalize, R"({"csr":")" + base64url(make_csr_der(domain_key.get(), host)) + R"("})");
    std::string body;
    std::string status = poll_status(order.location, "order", body);
    if (status != "valid") throw Error("the order for " + host + " ended " + status + ", not valid");
    std::string cert_url = required(parse_object(body, "order"), "certificate", "order");
    Reply chain = post(cert_url, "");
    if (chain.body.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
        throw Error("the CA's certificate download holds no PEM certificate");
    return {std::move(chain.body), key_to_pem(domain_key.get())};
}

}  // namespace acme
