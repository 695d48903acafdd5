// The admin web UI's files (assets/), embedded at build time
// (embed_assets.cmake writes the definition).
#pragma once

#include <map>
#include <string_view>

namespace admin_ui {

// Every file by its name ("index.html", "admin.js", ...).
const std::map<std::string_view, std::string_view>& assets();

}  // namespace admin_ui
