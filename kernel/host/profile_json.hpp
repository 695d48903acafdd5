// The legacy JSON of a user's dashboards, as plugins get it through the host
// table (project_json, profile_json) and the app protocol will send it.
#pragma once

#include <cstdint>
#include <string>

namespace blynk::core {
struct User;
}

namespace blynk::host {

// One dashboard as core::dashboard_json writes it: the owner's view with
// tokens, the public view without. A dashboard with devices but no stored
// record is "My Dashboard", active (as the legacy server showed it).
std::string dashboard_json(const core::User& u, int32_t dash_id, bool with_tokens);
// {"dashBoards":[...]}: every dashboard of the user, by id.
std::string profile_json(const core::User& u, bool with_tokens);
// Whether the user has this dashboard (a record, or devices on it).
bool has_dashboard(const core::User& u, int32_t dash_id);

}  // namespace blynk::host
