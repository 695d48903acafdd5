// The app side of the kernel: every app connection's commands (accounts,
// dashboards, widgets, devices, tags, sharing, live pin traffic) and the
// hardware activity apps must see (core::AppFanout). Like the router it runs
// on the loop thread only and takes no lock; what must leave the loop
// (storage, password hashes) goes through core::AppBackend and comes back as
// a callback naming the session by id, so a connection that closed meanwhile
// is simply not answered.
//
// The commands are split by subject: app_hub.cpp (sessions, dispatch, what
// apps are told), app_accounts.cpp (before login, logout), app_dashboards.cpp
// (dashboards and widgets, activation, sync), app_devices.cpp (devices,
// tokens, tags), app_live.cpp (pin writes from apps, sharing, energy and the
// commands of features this server answers without).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "codec/frame.hpp"
#include "core/app_json.hpp"
#include "core/app_session.hpp"
#include "core/model.hpp"
#include "core/router.hpp"

namespace blynk::core {

struct AppSettings {
    bool allow_registration = true;
    uint32_t registrations_per_hour = 1000;  // every account made by REGISTER, server-wide
    uint32_t message_quota = 100;            // msgs/s per connection; 0 = off
    uint32_t max_dashboards = 100;           // per user (QUOTA_LIMIT past it)
    uint32_t max_devices = 50;               // per dashboard (NOT_ALLOWED past it)
    uint32_t max_widgets = 200;              // per dashboard (NOT_ALLOWED past it)
    uint32_t max_tags = 100;                 // per dashboard
    uint32_t max_widget_bytes = 20 * 1024;   // one widget's (or settings') JSON
    uint32_t max_dash_bytes = 256 * 1024;    // one dashboard's JSON (user.profile.max.size)
    int64_t initial_energy = 100000;         // of new accounts; the legacy app shows it
    std::string server_host;                 // what GET_SERVER answers
    // Where the hub's warnings go (a refused registration flood...); none if unset.
    std::function<void(const std::string&)> warn;
};

class AppHub final : public AppFanout {
public:
    AppHub(Model& model, Router& router, AppBackend& backend, AppSettings settings, std::function<int64_t()> now);

    const AppSettings& settings() const { return settings_; }
    // A new app connection: its state, until release.
    AppRoute& open(AppOutput& out);
    // One complete app message.
    void on_frame(AppRoute& s, const codec::Frame& f);
    // The connection is gone: it leaves its user (devices of active dashboards
    // with isAppConnectedOn hear `adis` when the user's last app goes).
    void on_close(AppRoute& s);
    void release(AppRoute& s);
    size_t session_count() const { return sessions_.size(); }
    // A push provider said these apps' tokens (by uid) are gone: they leave
    // the dashboard's notification widget, which is stored again.
    void remove_push_tokens(std::string_view email, int32_t dash_id, const std::vector<std::string>& uids);
    // Closes every app session of `u` (the account was removed).
    void close_user(User& u, std::string_view why);
    // Whether any app session of the device's user sees the device's dashboard.
    bool app_connected(const Device& d) const;

    // Password reset, shared by RESET_PASSWORD and the HTTP reset pages
    // (app_password_reset.cpp). Loop thread; `done` runs later, on it.
    enum class ResetStart { Sent, InvalidEmail, NoAccount, Pending, Failed };
    // Issues a token for `email` (lower-cased, valid) and mails it with the link `link_of(token)`.
    void start_password_reset(const std::string& email, std::function<std::string(const std::string&)> link_of,
                              std::function<void(ResetStart)> done);
    // Stores the new client hash of the account a taken token belonged to:
    // Ok once stored, ServerError otherwise.
    void set_reset_password(const std::string& email, std::string client_hash, std::function<void(codec::Status)> done);

    // AppFanout
    void hardware_connected(Device& d, HwRoute& conn, uint16_t msg_id) override;
    void hardware_disconnected(Device& d) override;
    void hardware_write(Device& d, uint16_t msg_id, std::string_view body) override;
    void widget_property(Device& d, uint16_t msg_id, std::string_view body) override;

private:
    using Fields = std::vector<std::string_view>;
    // Named replies (codec::Status) and data.
    static void status(AppRoute& s, uint16_t msg_id, codec::Status st) { s.out->send_status(msg_id, uint32_t(st)); }
    static void ok(AppRoute& s, uint16_t msg_id) { status(s, msg_id, codec::Status::Ok); }
    // A callback of a session that may have closed meanwhile: nullptr then.
    AppRoute* session(uint64_t id) const;
    // Answers a durable change once the backend says how it went.
    std::function<void(int)> reply_when_stored(AppRoute& s, uint16_t msg_id, std::string data_reply = {},
                                               uint8_t data_command = 0);

    // --- app_hub.cpp: dispatch and what apps are told
    void owner_command(AppRoute& s, const codec::Frame& f);
    void shared_command(AppRoute& s, const codec::Frame& f);
    // `dashId-deviceId\0` + body to every session of `u` that sees `dash_id`
    // but `except`.
    void to_apps(User& u, int32_t dash_id, uint8_t command, uint16_t msg_id, std::string_view body,
                 const AppRoute* except = nullptr);
    void to_apps_prefixed(Device& d, uint8_t command, uint16_t msg_id, std::string_view body,
                          const AppRoute* except = nullptr);
    void join_user(AppRoute& s, User& u);
    // acon/adis to the devices of the user's active dashboards with isAppConnectedOn.
    void app_presence(User& u, bool connected);
    void send_to_device(Device& d, uint8_t command, uint16_t msg_id, std::string_view body);

    // --- app_accounts.cpp
    void pre_login(AppRoute& s, const codec::Frame& f);
    void register_user(AppRoute& s, const codec::Frame& f);
    void login(AppRoute& s, const codec::Frame& f);
    void share_login(AppRoute& s, const codec::Frame& f);
    void finish_login(AppRoute& s, uint16_t msg_id, User& u, int32_t shared_dash);
    void get_server(AppRoute& s, const codec::Frame& f);
    void reset_password(AppRoute& s, const codec::Frame& f);
    void reset_start(AppRoute& s, const codec::Frame& f, const std::vector<std::string_view>& fl);
    void logout(AppRoute& s, const codec::Frame& f);
    bool registrations_left();

    // --- app_dashboards.cpp
    void create_dash(AppRoute& s, const codec::Frame& f);
    void update_dash(AppRoute& s, const codec::Frame& f);
    void delete_dash(AppRoute& s, const codec::Frame& f);
    void activate(AppRoute& s, const codec::Frame& f);
    void deactivate(AppRoute& s, const codec::Frame& f);
    void project_settings(AppRoute& s, const codec::Frame& f);
    void create_widget(AppRoute& s, const codec::Frame& f);
    void update_widget(AppRoute& s, const codec::Frame& f);
    void delete_widget(AppRoute& s, const codec::Frame& f);
    void get_widget(AppRoute& s, const codec::Frame& f);
    // `dashId\0widgetId`: the widget (and its dashboard), or nullptr once answered.
    Widget* widget_request(AppRoute& s, const codec::Frame& f, Dashboard*& dash);
    void load_profile(AppRoute& s, const codec::Frame& f);
    void app_sync(AppRoute& s, const codec::Frame& f);
    void set_widget_property(AppRoute& s, const codec::Frame& f);
    // Every stored value (and widget property) of the dashboard's devices
    // (or one device) as APP_SYNC frames to `s`.
    void sync_state(AppRoute& s, int32_t dash_id, int32_t device_id = -1);
    void save_dash(AppRoute& s, uint16_t msg_id, Dashboard& dash);

    // --- app_devices.cpp
    void create_device(AppRoute& s, const codec::Frame& f);
    void update_device(AppRoute& s, const codec::Frame& f);
    void delete_device(AppRoute& s, const codec::Frame& f);
    void get_devices(AppRoute& s, const codec::Frame& f);
    void get_device(AppRoute& s, const codec::Frame& f);
    void refresh_token(AppRoute& s, const codec::Frame& f);
    void create_tag(AppRoute& s, const codec::Frame& f);
    void update_tag(AppRoute& s, const codec::Frame& f);
    void delete_tag(AppRoute& s, const codec::Frame& f);
    void get_tags(AppRoute& s, const codec::Frame& f);
    // `dashId\0tagJSON` read into `tag`: its dashboard, or nullptr once answered.
    Dashboard* tag_request(AppRoute& s, const codec::Frame& f, Tag& tag);
    void delete_device_data(AppRoute& s, const codec::Frame& f);
    // A new device with a fresh token, in the model (not yet stored).
    Device& new_device(User& u, int32_t dash_id, DeviceJson&& spec);
    // One made for an app: stored before the app hears of it.
    void add_device(AppRoute& s, uint16_t msg_id, int32_t dash_id, DeviceJson&& spec);

    // --- app_graph.cpp
    void get_graph_data(AppRoute& s, const codec::Frame& f);
    void delete_graph_data(AppRoute& s, const codec::Frame& f);

    // --- app_mail.cpp: EMAIL, the dashboard's device tokens to the owner
    void email_tokens(AppRoute& s, const codec::Frame& f);

    // --- app_live.cpp
    void hardware(AppRoute& s, const codec::Frame& f);
    void resend_from_bluetooth(AppRoute& s, const codec::Frame& f);
    void sharing(AppRoute& s, const codec::Frame& f);
    void get_share_token(AppRoute& s, const codec::Frame& f);
    void refresh_share_token(AppRoute& s, const codec::Frame& f);
    void get_energy(AppRoute& s, const codec::Frame& f);
    void add_push_token(AppRoute& s, const codec::Frame& f);
    void get_clone_code(AppRoute& s, const codec::Frame& f);
    void project_by_clone_code(AppRoute& s, const codec::Frame& f);
    void add_energy(AppRoute& s, const codec::Frame& f);
    void unavailable(AppRoute& s, const codec::Frame& f);
    // The devices an app's target id names on a dashboard: a device, a tag's
    // devices, or a device selector's selected device.
    std::vector<Device*> targets(User& u, Dashboard& dash, int32_t target_id);

    Model& model_;
    Router& router_;
    AppBackend& backend_;
    AppSettings settings_;
    std::function<int64_t()> now_;
    std::unordered_map<uint64_t, AppRoute*> sessions_;
    uint64_t next_id_ = 1;
    std::deque<int64_t> registrations_;  // times of this hour's registrations
    std::string scratch_;
};

// `dashId` or `dashId-targetId` (the app's addressing); false if malformed.
bool parse_dash_target(std::string_view s, int32_t& dash_id, int32_t& target_id);
// A decimal int32 (optionally negative); false for anything else.
bool parse_i32(std::string_view s, int32_t& out);
// A decimal int64 (optionally negative, leading zeros allowed); false for anything else,
// and for a number that does not fit.
bool parse_i64(std::string_view s, int64_t& out);
// Splits a body at `\0` into at most `max` fields (the last keeps the rest).
std::vector<std::string_view> split_body(std::string_view body, size_t max);

}  // namespace blynk::core
