#include "fcm_auth.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/json.hpp>

namespace fcm {

void KeyDeleter::operator()(evp_pkey_st* k) const {
    EVP_PKEY_free(k);
}

namespace {

std::string field(const boost::json::object& o, const char* name, bool required) {
    const boost::json::value* v = o.if_contains(name);
    if (v && v->is_string()) return std::string(v->get_string());
    if (required) throw std::runtime_error(std::string("the key file has no \"") + name + "\" text");
    return {};
}

}  // namespace

ServiceAccount parse_service_account(const std::string& json) {
    boost::system::error_code ec;
    boost::json::value doc = boost::json::parse(json, ec);
    if (ec || !doc.is_object())
        throw std::runtime_error(
            "the key file is not JSON (download it from the Firebase console: Project settings, "
            "Service accounts, Generate new private key)");
    const auto& o = doc.as_object();
    std::string type = field(o, "type", false);
    if (!type.empty() && type != "service_account")
        throw std::runtime_error("the key file is of type \"" + type + "\", not a service account's");
    ServiceAccount sa;
    sa.client_email = field(o, "client_email", true);
    sa.token_uri = field(o, "token_uri", false);
    sa.project_id = field(o, "project_id", false);
    sa.private_key_id = field(o, "private_key_id", false);
    std::string pem = field(o, "private_key", true);
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), int(pem.size())), BIO_free);
    sa.key.reset(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!sa.key) throw std::runtime_error("the key file's \"private_key\" is not a PEM private key");
    if (EVP_PKEY_base_id(sa.key.get()) != EVP_PKEY_RSA)
        throw std::runtime_error("the key file's \"private_key\" is not an RSA key (RS256 needs one)");
    return sa;
}

std::string base64url(const std::string& bytes) {
    static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        uint32_t n = uint32_t(uint8_t(bytes[i])) << 16 | uint32_t(uint8_t(bytes[i + 1])) << 8 | uint8_t(bytes[i + 2]);
        out += a[n >> 18];
        out += a[(n >> 12) & 63];
        out += a[(n >> 6) & 63];
        out += a[n & 63];
    }
    if (i + 1 == bytes.size()) {
        uint32_t n = uint32_t(uint8_t(bytes[i])) << 16;
        out += a[n >> 18];
        out += a[(n >> 12) & 63];
    } else if (i + 2 == bytes.size()) {
        uint32_t n = uint32_t(uint8_t(bytes[i])) << 16 | uint32_t(uint8_t(bytes[i + 1])) << 8;
        out += a[n >> 18];
        out += a[(n >> 12) & 63];
        out += a[(n >> 6) & 63];
    }
    return out;
}

std::string signed_jwt(const ServiceAccount& sa, const std::string& audience, int64_t now_unix) {
    boost::json::object header{{"alg", "RS256"}, {"typ", "JWT"}};
    if (!sa.private_key_id.empty()) header["kid"] = sa.private_key_id;
    boost::json::object claims{{"iss", sa.client_email},
                               {"scope", kMessagingScope},
                               {"aud", audience},
                               {"iat", now_unix},
                               {"exp", now_unix + 3600}};  // the longest Google accepts
    std::string input = base64url(boost::json::serialize(header)) + "." + base64url(boost::json::serialize(claims));
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    size_t len = 0;
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, sa.key.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size()) !=
            1)
        throw std::runtime_error("cannot sign the token request (OpenSSL EVP_DigestSign)");
    std::string sig(len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(&sig[0]), &len,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
        throw std::runtime_error("cannot sign the token request (OpenSSL EVP_DigestSign)");
    sig.resize(len);
    return input + "." + base64url(sig);
}

std::string token_request_body(const std::string& jwt) {
    // The JWT is base64url and dots: nothing in it needs form escaping.
    return "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + jwt;
}

AccessToken read_token_answer(long http_status, const std::string& body) {
    boost::system::error_code ec;
    boost::json::value doc = boost::json::parse(body, ec);
    const boost::json::object* o = !ec && doc.is_object() ? &doc.as_object() : nullptr;
    if (http_status == 200 && o) {
        const boost::json::value* tok = o->if_contains("access_token");
        const boost::json::value* exp = o->if_contains("expires_in");
        if (tok && tok->is_string() && !tok->get_string().empty()) {
            AccessToken t;
            t.value = std::string(tok->get_string());
            t.expires_in_s = exp && exp->is_int64() ? exp->get_int64() : 3600;
            return t;
        }
    }
    // OAuth's error answer: {"error": "invalid_grant", "error_description": "..."}; its
    // description says what is wrong with the account or the clock, never a secret.
    std::string reason = "HTTP " + std::to_string(http_status);
    if (o) {
        if (auto* e = o->if_contains("error"); e && e->is_string()) reason += ", " + std::string(e->get_string());
        if (auto* d = o->if_contains("error_description"); d && d->is_string())
            reason += ": " + std::string(d->get_string()).substr(0, 200);
    }
    throw std::runtime_error("the token endpoint gave no access token (" + reason + ")");
}

}  // namespace fcm
