// FCM's OAuth 2.0 side: the service account's key file, and the RS256-signed
// JWT (RFC 7523 bearer grant) exchanged at its token URL for an access token.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

struct evp_pkey_st;

namespace fcm {

constexpr const char* kMessagingScope = "https://www.googleapis.com/auth/firebase.messaging";
constexpr const char* kGoogleTokenUrl = "https://oauth2.googleapis.com/token";

struct KeyDeleter {
    void operator()(evp_pkey_st* k) const;
};
using PrivateKey = std::unique_ptr<evp_pkey_st, KeyDeleter>;

struct ServiceAccount {
    std::string client_email, token_uri, project_id, private_key_id;
    PrivateKey key;  // RSA
};

// Reads the JSON key file's content; throws std::runtime_error saying which
// field is missing or wrong (never quoting the key).
ServiceAccount parse_service_account(const std::string& json);

// base64url without padding (RFC 7515 §2).
std::string base64url(const std::string& bytes);

// The signed assertion: header {alg RS256, typ JWT, kid}, claims iss (the
// account's e-mail), scope (FCM's), aud (the token URL), iat, exp = iat + 3600.
std::string signed_jwt(const ServiceAccount& sa, const std::string& audience, int64_t now_unix);

struct AccessToken {
    std::string value;  // a secret: never log it
    int64_t expires_in_s = 0;
};
// The token endpoint's JSON answer; throws std::runtime_error with the
// endpoint's error code (e.g. invalid_grant) when there is none.
AccessToken read_token_answer(long http_status, const std::string& body);

// The token request's form body (grant_type jwt-bearer and the assertion).
std::string token_request_body(const std::string& jwt);

}  // namespace fcm
