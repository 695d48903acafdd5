// The legacy JSON of the app protocol (docs/reference: server-behaviour §5):
// what apps send (dashboards, widgets, devices, tags) read into the model,
// and the model written back as apps, plugins and storage get it. Fields the
// server does not know are kept as sent, so a profile saved and loaded again
// is the same profile.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/model.hpp"

namespace blynk::core {

// A device as JSON describes it (an app's CREATE_DEVICE/UPDATE_DEVICE, a
// dashboard's "devices", a legacy data file).
struct DeviceJson {
    int32_t id = 0;
    std::string name, board_type;
    std::string token;          // only read from trusted sources (a legacy file)
    std::string settings_json;  // the other public fields (vendor, connectionType, iconName...)
};

// Each parse_* returns false with a reason in `err` for JSON that is not the
// object it must be (syntax, a wrong type for a known field, a missing id).
bool parse_widget(std::string_view json, Widget& out, std::string& err);
bool parse_tag(std::string_view json, Tag& out, std::string& err);
bool parse_device(std::string_view json, DeviceJson& out, std::string& err);
// A dashboard: its fields, widgets and tags into `out`; the devices it lists
// into `devices` (when not null; a legacy file's devices carry tokens).
bool parse_dashboard(std::string_view json, Dashboard& out, std::vector<DeviceJson>* devices, std::string& err);
// A JSON object of app settings for UPDATE_PROJECT_SETTINGS: applied to `dash`.
bool apply_project_settings(std::string_view json, Dashboard& dash, std::string& err);

// Storage keeps a dashboard as its record (id, name, active, created) plus
// this blob: everything else (flags, widgets, tags, settings).
std::string dashboard_blob(const Dashboard& dash);
// Fills `dash` from a blob (tolerant: what does not parse is left out, and
// false says so).
bool load_dashboard_blob(std::string_view blob, Dashboard& dash);

// Who a JSON is for: the owner sees everything (tokens, the share token);
// a shared app and the legacy /project answer see the public view; a clone
// also has its widgets' values erased.
enum class JsonView { Owner, Public, Clone };

std::string widget_json(const User& u, const Dashboard& dash, const Widget& w);
std::string tag_json(const Tag& t);
std::string device_json(const Device& d, JsonView view);
// GET_DEVICES: an array of every device of the dashboard with its status.
std::string devices_json(const User& u, int32_t dash_id);
std::string tags_json(const Dashboard& dash);
// One dashboard with its devices; a dashboard with devices but no record is
// "My Dashboard", active (devices provisioned without an app).
std::string dashboard_json(const User& u, int32_t dash_id, JsonView view);
// {"dashBoards":[...]}: every dashboard of the user, by id.
std::string profile_json(const User& u, JsonView view);
// Whether the user has this dashboard (a record, or devices on it).
bool has_dashboard(const User& u, int32_t dash_id);
// The dashboard, made from its devices if it has no record yet (returns
// nullptr if it has neither).
Dashboard* dashboard_of(User& u, int32_t dash_id);

// `pm\0pin\0mode...` for the device's digital and analog pins that widgets of
// `dash` drive or show; empty when there are none.
std::string pin_modes(const Dashboard& dash, int32_t device_id);

}  // namespace blynk::core
