// Tokens, passwords and password hashes, all from OpenSSL's CSPRNG.
#pragma once

#include <string>
#include <string_view>

namespace blynk::core {

// 32 characters [A-Za-z0-9_-]: 24 random bytes, URL-safe Base64 (as the legacy server).
std::string generate_token();
// A random password of `length` characters, easy to type.
std::string generate_password(size_t length = 20);
// The legacy client-side hash: Base64(SHA-256(password || SHA-256(lower(email)))).
std::string legacy_pass_hash(std::string_view email, std::string_view password);
// A slow salted hash for storage: "pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>".
std::string slow_hash(std::string_view secret);
bool verify_slow_hash(std::string_view secret, std::string_view stored);
std::string lower(std::string_view s);
// A plausible e-mail address (one @, something on both sides, no spaces or control characters).
bool valid_email(std::string_view s);

}  // namespace blynk::core
