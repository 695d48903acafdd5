// blynkd plugin SDK, C++ layer: events and access-control requests
// Part of blynk/plugin.hpp (include that one); header-only, compiled into the
// plugin.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#ifndef BLYNK_CPP_EVENTS_HPP
#define BLYNK_CPP_EVENTS_HPP

#include <blynk/cpp/base.hpp>

namespace blynk {
// `token` (SDK 1.2) is the device's token, what Kernel's functions take to
// act on the device (from the kernel thread: Kernel::post); empty from a
// host older than 1.2 and in a refused login. A secret: never log it.
struct DeviceEvent {
    std::string_view email;
    int32_t dash_id, device_id;
    std::string_view device_name, peer;
    int64_t at_ms;
    std::string_view token = {};  // defaulted: older aggregate initialisers still compile warning-free
};
struct PinEvent {
    std::string_view email;
    int32_t dash_id, device_id;
    char pin_type;
    uint8_t pin;
    std::string_view value;
    int64_t at_ms;
    std::string_view token = {};  // defaulted: older aggregate initialisers still compile warning-free
};
struct LoginEvent {
    uint32_t kind;
    bool success;
    std::string_view email;
    int32_t dash_id, device_id;
    std::string_view peer;
    int64_t at_ms;
    std::string_view token = {};  // defaulted: older aggregate initialisers still compile warning-free
};

// What the access-control hooks (SDK 1.2) are asked about; see blynk_auth_v1.
struct AuthLogin {
    std::string_view token, email;
    int32_t dash_id, device_id;
    std::string_view peer;
};
struct AuthWrite {
    std::string_view token, email;
    int32_t dash_id, device_id;
    char pin_type;
    uint8_t pin;
    std::string_view value;
    uint32_t source;  // enum blynk_write_source
};

enum Subscription : unsigned {
    kDeviceOnline = 1u << 0,
    kDeviceOffline = 1u << 1,
    kPinWritten = 1u << 2,
    kLogin = 1u << 3,
};

// Which access-control hooks a plugin provides (Plugin::auth_hooks()).
enum AuthHook : unsigned {
    kAuthLogin = 1u << 0,
    kAuthPinWrite = 1u << 1,
};

}  // namespace blynk

#endif  // BLYNK_CPP_EVENTS_HPP
