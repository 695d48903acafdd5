// Account and device changes, the same for the CLI and the operator API.
// Every function talks to storage and may block: call them off the I/O thread.
#pragma once

#include <optional>
#include <string>

#include "host/storage_client.hpp"

namespace blynk::host {

// Creates an account; a password is generated when none is given. Returns
// the password (to show once). Throws StorageFailure (BLYNK_CONFLICT if it exists).
std::string create_user(const StorageClient& st, const std::string& email, const std::string& name,
                        std::string password, bool admin);

struct NewDevice {
    std::string token;
    int32_t dash_id = 1, device_id = 0;
    std::string user_password;  // set when the account was created for it
};
// Adds a device to the user's dashboard (created with the user if needed).
NewDevice add_device(const StorageClient& st, const std::string& email, const std::string& name,
                     const std::string& board, int32_t dash_id);

// The stored device with this token (its user's email in .email), if any.
std::optional<blynk::Device> find_device(const StorageClient& st, const std::string& token);
// Removes the device with this token; returns what was removed, or nullopt.
std::optional<blynk::Device> remove_device(const StorageClient& st, const std::string& token);
// Gives the device a new token; returns the device with it, or nullopt.
std::optional<blynk::Device> rotate_token(const StorageClient& st, const std::string& token);

int64_t now_ms();

}  // namespace blynk::host
