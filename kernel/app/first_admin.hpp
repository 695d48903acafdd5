// The administrator account created at the first start, and where its
// generated password goes: to the terminal when a person watches stdout;
// otherwise (systemd, Docker, a pipe: stdout ends up in a journal) into an
// owner-only file in the data folder, and the log says where.
#pragma once

#include <string>

#include "app/config.hpp"
#include "core/model.hpp"
#include "host/storage_client.hpp"

namespace blynk::app {

// <data_dir>/initial-admin-password.txt
std::string admin_password_file(const std::string& data_dir);

// Creates the administrator ([admin] email) when the store has none. Also
// looks after a password file left by an earlier first start: it stays while
// its password still opens that administrator account (with a warning at each
// start, as it is a secret lying on disk), and is removed once it does not
// (the account was removed or given another password): it would only mislead.
// Throws std::runtime_error when the password file cannot be written (then no
// account is created, so the next start tries again).
void ensure_admin(const Config& cfg, const std::string& data_dir, core::Model& model, const host::StorageClient& st);

}  // namespace blynk::app
