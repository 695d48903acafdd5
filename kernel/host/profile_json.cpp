#include "host/profile_json.hpp"

#include "core/app_json.hpp"
#include "core/model.hpp"

namespace blynk::host {

// Plugins see the legacy JSON the app protocol sends (core/app_json.cpp):
// with tokens, the owner's view; without, the public one.
std::string dashboard_json(const core::User& u, int32_t dash_id, bool with_tokens) {
    return core::dashboard_json(u, dash_id, with_tokens ? core::JsonView::Owner : core::JsonView::Public);
}

std::string profile_json(const core::User& u, bool with_tokens) {
    return core::profile_json(u, with_tokens ? core::JsonView::Owner : core::JsonView::Public);
}

bool has_dashboard(const core::User& u, int32_t dash_id) {
    return core::has_dashboard(u, dash_id);
}

}  // namespace blynk::host
