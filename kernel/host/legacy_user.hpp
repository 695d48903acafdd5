// One account of a legacy (Java) server's data folder, read whole into the
// model before anything is written (server-behaviour §4, §5): the account,
// its dashboards with widgets, tags and share tokens, its devices with their
// tokens, and pin values and properties from both pinsStorage forms and from
// single-pin widgets' values. The CLI's import-legacy and the operator API's
// profile import share it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/model.hpp"

namespace blynk::host {

struct LegacyUser {
    // email (lower case), name, is_admin (isSuperAdmin), energy, settings_json,
    // dashboards, and devices with their pins and properties. No pass_hash:
    // that is made from client_hash when the account is written.
    std::unique_ptr<core::User> user;
    // The legacy "pass": the app's client hash (protocol §10.1), which the
    // legacy server stored as it came. Empty for an account without one.
    std::string client_hash;
    size_t pins = 0;          // pin values and properties
    size_t pins_dropped = 0;  // pinsStorage entries of devices the file does not have, or unreadable keys
};

// The largest legacy profile read (the legacy default limit is 256 KB; a
// folder may hold ones raised by an operator).
constexpr size_t kMaxLegacyUserBytes = 16u << 20;

// Reads the content of a legacy `.user` file. `email_hint` is used when the
// file has no "email" (the older `u_<email>.user` form names it in the file
// name); a file whose email differs from a non-empty hint is refused.
// False with the reason in `err` when it is not a legacy user object (syntax,
// a wrong type, no valid email, a dashboard, widget or device that does not
// parse, two devices with one token).
bool parse_legacy_user(std::string_view json, std::string_view email_hint, LegacyUser& out, std::string& err);

// What must match for an import to count as "unchanged": the account's fields,
// dashboards (widgets, tags, flags, settings, share tokens) and devices with
// their tokens; not pin values, energy or what devices reported since (they
// change while the server runs).
std::string import_fingerprint(const core::User& u);

}  // namespace blynk::host
