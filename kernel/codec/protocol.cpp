#include "codec/protocol.hpp"

namespace blynk::codec {

const char* command_name(uint8_t code) {
    switch (Command(code)) {
#define C(NAME, TEXT) case Command::NAME: return TEXT;
        C(Response, "RESPONSE") C(Register, "REGISTER") C(Login, "LOGIN") C(Redeem, "REDEEM")
        C(HardwareConnected, "HARDWARE_CONNECTED") C(Ping, "PING") C(ActivateDashboard, "ACTIVATE_DASHBOARD")
        C(DeactivateDashboard, "DEACTIVATE_DASHBOARD") C(RefreshToken, "REFRESH_TOKEN") C(Tweet, "TWEET")
        C(Email, "EMAIL") C(PushNotification, "PUSH_NOTIFICATION") C(Bridge, "BRIDGE")
        C(HardwareSync, "HARDWARE_SYNC") C(BlynkInternal, "BLYNK_INTERNAL") C(Sms, "SMS")
        C(SetWidgetProperty, "SET_WIDGET_PROPERTY") C(Hardware, "HARDWARE") C(CreateDash, "CREATE_DASH")
        C(UpdateDash, "UPDATE_DASH") C(DeleteDash, "DELETE_DASH") C(LoadProfileGzipped, "LOAD_PROFILE_GZIPPED")
        C(AppSync, "APP_SYNC") C(Sharing, "SHARING") C(AddPushToken, "ADD_PUSH_TOKEN")
        C(ExportGraphData, "EXPORT_GRAPH_DATA") C(HardwareLogin, "HARDWARE_LOGIN") C(GetShareToken, "GET_SHARE_TOKEN")
        C(RefreshShareToken, "REFRESH_SHARE_TOKEN") C(ShareLogin, "SHARE_LOGIN") C(CreateWidget, "CREATE_WIDGET")
        C(UpdateWidget, "UPDATE_WIDGET") C(DeleteWidget, "DELETE_WIDGET") C(GetEnergy, "GET_ENERGY")
        C(AddEnergy, "ADD_ENERGY") C(UpdateProjectSettings, "UPDATE_PROJECT_SETTINGS") C(AssignToken, "ASSIGN_TOKEN")
        C(GetServer, "GET_SERVER") C(ConnectRedirect, "CONNECT_REDIRECT") C(CreateDevice, "CREATE_DEVICE")
        C(UpdateDevice, "UPDATE_DEVICE") C(DeleteDevice, "DELETE_DEVICE") C(GetDevices, "GET_DEVICES")
        C(CreateTag, "CREATE_TAG") C(UpdateTag, "UPDATE_TAG") C(DeleteTag, "DELETE_TAG") C(GetTags, "GET_TAGS")
        C(MobileGetDevice, "MOBILE_GET_DEVICE") C(UpdateFace, "UPDATE_FACE") C(WebSockets, "WEB_SOCKETS")
        C(Eventor, "EVENTOR") C(WebHooks, "WEB_HOOKS") C(CreateApp, "CREATE_APP") C(UpdateApp, "UPDATE_APP")
        C(DeleteApp, "DELETE_APP") C(GetProjectByToken, "GET_PROJECT_BY_TOKEN") C(EmailQr, "EMAIL_QR")
        C(GetEnhancedGraphData, "GET_ENHANCED_GRAPH_DATA") C(DeleteEnhancedGraphData, "DELETE_ENHANCED_GRAPH_DATA")
        C(GetCloneCode, "GET_CLONE_CODE") C(GetProjectByCloneCode, "GET_PROJECT_BY_CLONE_CODE")
        C(HardwareLogEvent, "HARDWARE_LOG_EVENT") C(HardwareResendFromBluetooth, "HARDWARE_RESEND_FROM_BLUETOOTH")
        C(Logout, "LOGOUT") C(CreateTileTemplate, "CREATE_TILE_TEMPLATE") C(UpdateTileTemplate, "UPDATE_TILE_TEMPLATE")
        C(DeleteTileTemplate, "DELETE_TILE_TEMPLATE") C(GetWidget, "GET_WIDGET") C(DeviceOffline, "DEVICE_OFFLINE")
        C(OutdatedAppNotification, "OUTDATED_APP_NOTIFICATION") C(TrackDevice, "TRACK_DEVICE")
        C(GetProvisionToken, "GET_PROVISION_TOKEN") C(ResolveEvent, "RESOLVE_EVENT")
        C(DeleteDeviceData, "DELETE_DEVICE_DATA") C(CreateReport, "CREATE_REPORT") C(UpdateReport, "UPDATE_REPORT")
        C(DeleteReport, "DELETE_REPORT") C(ExportReport, "EXPORT_REPORT") C(ResetPassword, "RESET_PASSWORD")
        C(HttpIsHardwareConnected, "HTTP_IS_HARDWARE_CONNECTED") C(HttpIsAppConnected, "HTTP_IS_APP_CONNECTED")
        C(HttpGetPinData, "HTTP_GET_PIN_DATA") C(HttpUpdatePinData, "HTTP_UPDATE_PIN_DATA") C(HttpNotify, "HTTP_NOTIFY")
        C(HttpEmail, "HTTP_EMAIL") C(HttpGetProject, "HTTP_GET_PROJECT") C(HttpQr, "HTTP_QR")
        C(HttpGetHistoryData, "HTTP_GET_HISTORY_DATA") C(HttpStartOta, "HTTP_START_OTA")
        C(HttpStopOta, "HTTP_STOP_OTA") C(HttpClone, "HTTP_CLONE") C(HttpTotal, "HTTP_TOTAL")
#undef C
    }
    return nullptr;
}

const char* status_name(uint16_t code) {
    switch (Status(code)) {
        case Status::Ok: return "OK";
        case Status::QuotaLimit: return "QUOTA_LIMIT";
        case Status::IllegalCommand: return "ILLEGAL_COMMAND";
        case Status::UserNotRegistered: return "USER_NOT_REGISTERED";
        case Status::UserAlreadyRegistered: return "USER_ALREADY_REGISTERED";
        case Status::UserNotAuthenticated: return "USER_NOT_AUTHENTICATED";
        case Status::NotAllowed: return "NOT_ALLOWED";
        case Status::DeviceNotInNetwork: return "DEVICE_NOT_IN_NETWORK";
        case Status::NoActiveDashboard: return "NO_ACTIVE_DASHBOARD";
        case Status::InvalidToken: return "INVALID_TOKEN";
        case Status::IllegalCommandBody: return "ILLEGAL_COMMAND_BODY";
        case Status::NotificationInvalidBody: return "NOTIFICATION_INVALID_BODY";
        case Status::NotificationNotAuthorized: return "NOTIFICATION_NOT_AUTHORIZED";
        case Status::NotificationError: return "NOTIFICATION_ERROR";
        case Status::NoData: return "NO_DATA";
        case Status::ServerError: return "SERVER_ERROR";
        case Status::EnergyLimit: return "ENERGY_LIMIT";
        case Status::FacebookUserLoginWithPass: return "FACEBOOK_USER_LOGIN_WITH_PASS";
    }
    return nullptr;
}

}  // namespace blynk::codec
