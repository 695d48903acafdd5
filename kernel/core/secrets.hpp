// Tokens, passwords and password hashes, all from OpenSSL's CSPRNG.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace blynk::core {

// 32 characters [A-Za-z0-9_-]: 24 random bytes, URL-safe Base64 (as the legacy server).
std::string generate_token();
// A random password of `length` characters, easy to type.
std::string generate_password(size_t length = 20);
// The legacy client-side hash: Base64(SHA-256(password || SHA-256(lower(email)))).
std::string legacy_pass_hash(std::string_view email, std::string_view password);
// PBKDF2-HMAC-SHA256 iterations of new password hashes: OWASP's 2023 advice
// (docs/security.md says why PBKDF2 and what it costs on a Raspberry Pi).
// [security] password_hash_iterations may change it, never below the floor.
constexpr uint32_t kSlowHashIterations = 600000;
constexpr uint32_t kMinSlowHashIterations = 100000;
// A slow salted hash for storage: "pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>".
// The hash carries its parameters, so hashes made with another count still verify.
std::string slow_hash(std::string_view secret, uint32_t iterations = kSlowHashIterations);
bool verify_slow_hash(std::string_view secret, std::string_view stored);
// The iteration count a stored hash was made with; 0 if it is not one of ours.
uint32_t slow_hash_iterations(std::string_view stored);
// A well-formed stored hash no secret matches: verifying against it costs what
// verifying a real hash of `iterations` costs (for accounts that do not exist).
std::string unmatchable_slow_hash(uint32_t iterations);
// The server generated this password (the first administrator's): it was shown
// on a terminal or written to a file, so the account must choose its own before
// the admin web UI lets it do anything else. The mark travels inside the stored
// hash (which storage keeps opaque), so no storage schema changes; a marked hash
// verifies like the unmarked one, and setting a new password drops the mark.
std::string mark_must_change(std::string_view stored);
bool must_change(std::string_view stored);
std::string lower(std::string_view s);
// SHA-256 of `in` as 64 lower-case hex digits (keys of secrets kept only hashed).
std::string sha256_hex(std::string_view in);
// A plausible e-mail address (one @, something on both sides, no spaces or control characters).
bool valid_email(std::string_view s);

}  // namespace blynk::core
