// PUT /api/v1/users/{email}/profile: one legacy account (the legacy `.user`
// JSON, host/legacy_user.hpp) imported into the running server, as
// `blynkd import-legacy` does with the server stopped: parsed and hashed on
// the hashing pool, read and written on the storage thread, then merged into
// the live model so its devices log in at once.
#pragma once

#include <functional>
#include <string>

#include "net/operator_api.hpp"

namespace blynk::net {

// `accounts_changed` runs on the kernel thread after an account was written
// (the operator login forgets what it cached).
void import_profile(OperatorBackend& b, uint32_t hash_iterations, blynk_http_responder* r, const std::string& email,
                    std::string body, bool overwrite, std::function<void()> accounts_changed);

}  // namespace blynk::net
