// The in-memory model, as in the legacy server: a user owns dashboards; a
// dashboard holds devices, each with its token; pin values belong to a
// (dashboard, device) pair. Only the loop thread touches it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace blynk::core {

struct User;
struct HwRoute;
struct AppRoute;

// A pin key packs the type letter and the number: ('v' << 8) | 5 for V5.
inline uint16_t pin_key(char type, uint8_t pin) {
    return uint16_t((uint16_t(uint8_t(type)) << 8) | pin);
}
inline char key_type(uint16_t key) {
    return char(key >> 8);
}
inline uint8_t key_pin(uint16_t key) {
    return uint8_t(key & 0xFF);
}

struct PinValue {
    uint16_t key = 0;
    bool dirty = false;  // waiting for the next storage batch
    int64_t updated_ms = 0;
    std::string value;  // multi-values are `\0`-separated
};

struct PinProperty {
    uint16_t key = 0;
    std::string name, value;
};

struct Device {
    // What routing a message to this device reads, together at the front
    // (one cache line): with thousands of devices each is a cache miss.
    User* user = nullptr;
    HwRoute* online = nullptr;   // intrusive list of this device's hardware connections
    std::vector<PinValue> pins;  // sorted by key
    int32_t dash_id = 1;
    int32_t id = 0;
    uint32_t online_count = 0;
    bool state_dirty = false;  // connect/disconnect/info waiting for the next batch
    bool removed = false;      // gone from storage; kept only while something may point at it
    bool dirty_pins_listed = false;

    std::string name, token, board_type;
    int64_t created_ms = 0, connect_ms = 0, disconnect_ms = 0, data_received_ms = 0;
    std::string last_ip;
    std::string hardware_info;  // `key\0value\0...` from the info packet
    std::vector<PinProperty> properties;
    // What the app sets on a device beyond its name and board (vendor,
    // connection type, icon...): the legacy device JSON's other fields, kept
    // as the app sent them so that nothing is lost; nothing on the routing
    // path reads it.
    std::string settings_json;

    // Returns the stored value or nullptr.
    const PinValue* find_pin(uint16_t key) const;
    // Finds or inserts the entry for key.
    PinValue& pin(uint16_t key);
    void set_property(uint16_t key, std::string_view name, std::string_view value);
};

// One data stream of a chart (an ENHANCED_GRAPH's dataStreams[]): the device,
// tag or device selector it reads (targetId), its pin, and how a tag's
// devices merge per point (functionType: AVG, MIN, MAX, SUM, MED).
struct GraphStream {
    int32_t target_id = 0;
    uint16_t pin_key = 0;
    std::string function = "AVG";
};

// A widget of a dashboard: what the server itself reads of it (its id, type,
// the target and pins it shows or drives, for pin modes, device selectors,
// tags, notifications and history) and the whole legacy widget JSON as the
// app sent it, so that fields the server does not know round-trip untouched
// (core/app_json.cpp reads and writes it).
struct Widget {
    int64_t id = 0;
    std::string type;                  // the legacy type name: "BUTTON", "SLIDER", ...
    int32_t device_id = 0;             // its target: a device (< 100000), a tag or a device selector
    uint16_t pin_key = 0;              // pin_key(type, pin) of a single-pin widget; 0 = none
    bool output = false;               // drives its pins (a control: `pm ... out`), else shows them
    bool pwm = false;                  // pwmMode: its analog pin is reported as `aw`
    std::vector<uint16_t> pins;        // a multi-pin widget's pins (RGB, joystick...); empty otherwise
    std::vector<GraphStream> streams;  // a chart's data streams (history); empty otherwise
    std::string json;                  // the whole widget JSON object as the app sent it
};

// A tag: a named group of a dashboard's devices an app can write to at once.
struct Tag {
    int32_t id = 0;  // >= kFirstTagId
    std::string name;
    std::vector<int32_t> device_ids;
};

// App target ids: below kFirstTagId a device, then tags, then device selectors.
constexpr int32_t kFirstTagId = 100000;
constexpr int32_t kFirstSelectorId = 200000;

struct Dashboard {
    int32_t id = 1;
    std::string name;
    bool active = true;
    bool shared = false;             // isShared: share logins are accepted
    bool app_connected_on = false;   // isAppConnectedOn: devices hear acon/adis
    bool notifications_off = false;  // isNotificationsOff: no DEVICE_OFFLINE/NOT_IN_NETWORK
    int64_t created_ms = 0;
    int64_t updated_ms = 0;
    std::vector<Widget> widgets;
    std::vector<Tag> tags;
    std::string share_token;    // empty: never shared
    std::string settings_json;  // the dashboard's other legacy fields (theme, ...) as a JSON object

    Widget* find_widget(int64_t widget_id);
    Tag* find_tag(int32_t tag_id);
};

struct User {
    std::string email, name, pass_hash;
    bool is_admin = false;
    int64_t created_ms = 0;
    int64_t energy = 0;
    AppRoute* apps = nullptr;   // intrusive list of this user's app sessions (owner and shared)
    std::string settings_json;  // the account's other legacy fields (appName, region, ...) as a JSON object
    // Mails its devices sent in the 24 hours since mail_window_ms (the daily
    // mail quota, core/notification_rules.cpp); memory only, as in legacy.
    uint32_t mails_in_window = 0;
    int64_t mail_window_ms = 0;
    std::vector<Dashboard> dashboards;
    std::vector<std::unique_ptr<Device>> devices;

    Device* find_device(int32_t dash_id, int32_t device_id) const;
    Dashboard* find_dash(int32_t dash_id);
};

// Everything a storage load yields, in plain C++ (built off the I/O thread,
// merged on it).
struct LoadedData {
    std::vector<std::unique_ptr<User>> users;
};

class Model {
public:
    Device* find_token(std::string_view token) const;
    User* find_user(std::string_view email) const;
    // Adds what is not yet in memory; what is in memory is newer and wins.
    void merge(LoadedData&& data);
    // The device was removed from storage: its token stops working at once.
    // The object stays (bridges and queues may still point at it) but is inert.
    void evict(Device& d);
    // A new device of `u` (made by an app): indexed by its token.
    Device& add_device(User& u, std::unique_ptr<Device> d);
    // The device's token changed in storage: the old one stops working.
    void retoken(Device& d, std::string token);
    // The user was removed from storage: its devices are evicted and the user
    // leaves the index (kept alive, inert, for anything still pointing at it).
    void remove_user(std::string_view email);
    size_t user_count() const { return users_.size(); }
    size_t device_count() const { return tokens_.size(); }
    template <class F>
    void for_each_user(F&& f) const {
        for (auto& kv : users_)
            f(*kv.second);
    }

private:
    std::unordered_map<std::string, std::unique_ptr<User>> users_;
    std::unordered_map<std::string_view, Device*> tokens_;  // views into Device::token
    std::vector<std::unique_ptr<User>> removed_users_;
};

}  // namespace blynk::core
