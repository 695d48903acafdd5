// Writing one legacy account (host/legacy_user.hpp) to storage, the same for
// the CLI with the server stopped and for the operator API while it runs: in
// three steps so the server can run each where it belongs (storage calls on
// its storage thread, the slow password hash on its hashing pool).
#pragma once

#include <memory>
#include <string>

#include "host/legacy_user.hpp"
#include "host/storage_client.hpp"

namespace blynk::host {

enum class ImportOutcome {
    Imported,   // a new account
    Replaced,   // an existing, different account replaced (--overwrite)
    Unchanged,  // the same account is stored already: nothing written
    Exists,     // a different account has this email: skipped
    TokenTaken  // a device token belongs to another account: skipped
};
const char* outcome_name(ImportOutcome o);

// 1 (storage): what the store holds of the account and of the tokens it brings.
struct ImportState {
    std::unique_ptr<core::User> existing;  // null: no account with this email
    std::string token_owner;               // another account that holds one of the tokens
    std::string token_device;              // which device of the import ("dashboard 1, device 0")
};
ImportState read_import_state(const StorageClient& st, const LegacyUser& lu);

// 2 (CPU: the slow hash or its check). The legacy "pass" is the app's client
// hash; it is stored as core::slow_hash of it, exactly as
// host::prepare_account stores a new account's, so the app login and the
// operator login verify it the same way.
struct ImportDecision {
    ImportOutcome outcome = ImportOutcome::Imported;
    std::string reason;     // for Exists and TokenTaken
    std::string pass_hash;  // for Imported and Replaced
};
ImportDecision decide_import(const LegacyUser& lu, const ImportState& state, bool overwrite, uint32_t iterations);

// 3 (storage): writes an Imported or Replaced account whole. A failure part
// way removes what was written of it (Replaced: the old account was removed
// first, so it is then gone: the caller reports it). Throws StorageFailure.
void write_import(const StorageClient& st, const LegacyUser& lu, const ImportDecision& d);

// All three at once (the CLI).
ImportDecision import_user(const StorageClient& st, const LegacyUser& lu, bool overwrite, uint32_t iterations);

}  // namespace blynk::host
