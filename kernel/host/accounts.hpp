// Account and device changes, the same for the CLI and the operator API.
// Every function talks to storage and may block: call them off the I/O thread.
#pragma once

#include <optional>
#include <string>

#include "host/storage_client.hpp"

namespace blynk::host {

// An account ready to store: its password (generated when none was given,
// to show once) and the slow hash of its legacy client hash.
struct NewAccount {
    blynk::User user;
    std::string password;
};
// Pure CPU (the slow hash, `iterations` rounds): the server runs it on its
// hashing pool, never on the storage thread.
NewAccount prepare_account(const std::string& email, const std::string& name, std::string password, bool admin,
                           uint32_t iterations);
// Stores it. Throws StorageFailure (BLYNK_CONFLICT if it exists).
void store_account(const StorageClient& st, const NewAccount& account);
// Both at once (for the CLI, which has no server to keep responsive). Returns the password.
std::string create_user(const StorageClient& st, const std::string& email, const std::string& name,
                        std::string password, bool admin, uint32_t iterations);

struct NewDevice {
    std::string token;
    int32_t dash_id = 1, device_id = 0;
    std::string user_password;  // set when the account was created for it
};
// Adds a device to the user's dashboard. A missing user is created from
// `if_missing` (prepared by prepare_account); without one, a missing user is
// a StorageFailure (BLYNK_NOT_FOUND).
NewDevice add_device(const StorageClient& st, const std::string& email, const std::string& name,
                     const std::string& board, int32_t dash_id, const NewAccount* if_missing);
// Whether the account exists in storage.
bool user_exists(const StorageClient& st, const std::string& email);
// Replaces the stored password hash of an account (a hash upgraded at login).
void set_pass_hash(const StorageClient& st, const std::string& email, const std::string& pass_hash);

// The stored device with this token (its user's email in .email), if any.
std::optional<blynk::Device> find_device(const StorageClient& st, const std::string& token);
// Removes the device with this token; returns what was removed, or nullopt.
std::optional<blynk::Device> remove_device(const StorageClient& st, const std::string& token);
// Gives the device a new token; returns the device with it, or nullopt.
std::optional<blynk::Device> rotate_token(const StorageClient& st, const std::string& token);

int64_t now_ms();

}  // namespace blynk::host
