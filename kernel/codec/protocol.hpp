// Every command and status code of the Blynk wire protocols, named in one place.
// Codes and names as the legacy server and libraries use them; behaviour in docs/protocol.md.
#pragma once

#include <cstdint>
#include <string_view>

namespace blynk::codec {

enum class Command : uint8_t {
    Response = 0,
    Register = 1,
    Login = 2,
    Redeem = 3,
    HardwareConnected = 4,
    Ping = 6,
    ActivateDashboard = 7,
    DeactivateDashboard = 8,
    RefreshToken = 9,
    Tweet = 12,
    Email = 13,
    PushNotification = 14,
    Bridge = 15,
    HardwareSync = 16,
    BlynkInternal = 17,
    Sms = 18,
    SetWidgetProperty = 19,
    Hardware = 20,
    CreateDash = 21,  // libraries 1.x: GROUP (ignored from hardware)
    UpdateDash = 22,
    DeleteDash = 23,
    LoadProfileGzipped = 24,
    AppSync = 25,
    Sharing = 26,
    AddPushToken = 27,
    ExportGraphData = 28,
    HardwareLogin = 29,
    GetShareToken = 30,
    RefreshShareToken = 31,
    ShareLogin = 32,
    CreateWidget = 33,
    UpdateWidget = 34,
    DeleteWidget = 35,
    GetEnergy = 36,
    AddEnergy = 37,
    UpdateProjectSettings = 38,
    AssignToken = 39,
    GetServer = 40,
    ConnectRedirect = 41,
    CreateDevice = 42,
    UpdateDevice = 43,
    DeleteDevice = 44,
    GetDevices = 45,
    CreateTag = 46,
    UpdateTag = 47,
    DeleteTag = 48,
    GetTags = 49,
    MobileGetDevice = 50,
    UpdateFace = 51,
    WebSockets = 52,
    Eventor = 53,
    WebHooks = 54,
    CreateApp = 55,  // libraries: DEBUG_PRINT (server to hardware)
    UpdateApp = 56,
    DeleteApp = 57,
    GetProjectByToken = 58,
    EmailQr = 59,
    GetEnhancedGraphData = 60,
    DeleteEnhancedGraphData = 61,
    GetCloneCode = 62,
    GetProjectByCloneCode = 63,
    HardwareLogEvent = 64,
    HardwareResendFromBluetooth = 65,  // libraries 1.x: EVENT_CLEAR
    Logout = 66,
    CreateTileTemplate = 67,
    UpdateTileTemplate = 68,
    DeleteTileTemplate = 69,
    GetWidget = 70,
    DeviceOffline = 71,
    OutdatedAppNotification = 72,
    TrackDevice = 73,
    GetProvisionToken = 74,
    ResolveEvent = 75,
    DeleteDeviceData = 76,
    CreateReport = 77,
    UpdateReport = 78,
    DeleteReport = 79,
    ExportReport = 80,
    ResetPassword = 81,
    // 82..94 are the legacy server's HTTP statistics counters, never on the wire.
    HttpIsHardwareConnected = 82,
    HttpIsAppConnected = 83,
    HttpGetPinData = 84,
    HttpUpdatePinData = 85,
    HttpNotify = 86,
    HttpEmail = 87,
    HttpGetProject = 88,
    HttpQr = 89,
    HttpGetHistoryData = 90,
    HttpStartOta = 91,
    HttpStopOta = 92,
    HttpClone = 93,
    HttpTotal = 94,
};

// Commands at or above this value are refused by the decoder (connection closed).
inline constexpr uint8_t kLastCommandIndex = 100;

enum class Status : uint16_t {
    Ok = 200,
    QuotaLimit = 1,
    IllegalCommand = 2,
    UserNotRegistered = 3,
    UserAlreadyRegistered = 4,
    UserNotAuthenticated = 5,
    NotAllowed = 6,
    DeviceNotInNetwork = 7,
    NoActiveDashboard = 8,
    InvalidToken = 9,
    IllegalCommandBody = 11,
    NotificationInvalidBody = 13,
    NotificationNotAuthorized = 14,
    NotificationError = 15,
    NoData = 17,
    ServerError = 19,
    EnergyLimit = 21,
    FacebookUserLoginWithPass = 22,
};

// The wire values of a command and a status.
constexpr uint8_t cmd(Command c) {
    return uint8_t(c);
}
constexpr uint16_t st(Status s) {
    return uint16_t(s);
}

// Server-originated message ids (the legacy server's constants).
namespace msgid {
inline constexpr uint16_t kPinModes = 1;    // `pm` after login
inline constexpr uint16_t kHttpApi = 111;   // HTTP API writes forwarded
inline constexpr uint16_t kEventor = 888;   // eventor / webhook
inline constexpr uint16_t kAppSync = 1111;  // APP_SYNC to apps
inline constexpr uint16_t kTimer = 7777;    // timers, acon/adis, ota
inline constexpr uint16_t kReadingWidget = 7778;
}  // namespace msgid

// Name of a command code ("HARDWARE", ...), or nullptr if the code is unassigned.
const char* command_name(uint8_t code);
// Name of a status code ("OK", "INVALID_TOKEN", ...), or nullptr if unknown.
const char* status_name(uint16_t code);

}  // namespace blynk::codec
