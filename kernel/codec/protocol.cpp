#include "codec/protocol.hpp"

namespace blynk::codec {

namespace {

// Every assigned command code with its name (unassigned codes have none).
struct Named {
    Command code;
    const char* name;
};
constexpr Named kCommands[] = {
    {Command::Response, "RESPONSE"},
    {Command::Register, "REGISTER"},
    {Command::Login, "LOGIN"},
    {Command::Redeem, "REDEEM"},
    {Command::HardwareConnected, "HARDWARE_CONNECTED"},
    {Command::Ping, "PING"},
    {Command::ActivateDashboard, "ACTIVATE_DASHBOARD"},
    {Command::DeactivateDashboard, "DEACTIVATE_DASHBOARD"},
    {Command::RefreshToken, "REFRESH_TOKEN"},
    {Command::Tweet, "TWEET"},
    {Command::Email, "EMAIL"},
    {Command::PushNotification, "PUSH_NOTIFICATION"},
    {Command::Bridge, "BRIDGE"},
    {Command::HardwareSync, "HARDWARE_SYNC"},
    {Command::BlynkInternal, "BLYNK_INTERNAL"},
    {Command::Sms, "SMS"},
    {Command::SetWidgetProperty, "SET_WIDGET_PROPERTY"},
    {Command::Hardware, "HARDWARE"},
    {Command::CreateDash, "CREATE_DASH"},
    {Command::UpdateDash, "UPDATE_DASH"},
    {Command::DeleteDash, "DELETE_DASH"},
    {Command::LoadProfileGzipped, "LOAD_PROFILE_GZIPPED"},
    {Command::AppSync, "APP_SYNC"},
    {Command::Sharing, "SHARING"},
    {Command::AddPushToken, "ADD_PUSH_TOKEN"},
    {Command::ExportGraphData, "EXPORT_GRAPH_DATA"},
    {Command::HardwareLogin, "HARDWARE_LOGIN"},
    {Command::GetShareToken, "GET_SHARE_TOKEN"},
    {Command::RefreshShareToken, "REFRESH_SHARE_TOKEN"},
    {Command::ShareLogin, "SHARE_LOGIN"},
    {Command::CreateWidget, "CREATE_WIDGET"},
    {Command::UpdateWidget, "UPDATE_WIDGET"},
    {Command::DeleteWidget, "DELETE_WIDGET"},
    {Command::GetEnergy, "GET_ENERGY"},
    {Command::AddEnergy, "ADD_ENERGY"},
    {Command::UpdateProjectSettings, "UPDATE_PROJECT_SETTINGS"},
    {Command::AssignToken, "ASSIGN_TOKEN"},
    {Command::GetServer, "GET_SERVER"},
    {Command::ConnectRedirect, "CONNECT_REDIRECT"},
    {Command::CreateDevice, "CREATE_DEVICE"},
    {Command::UpdateDevice, "UPDATE_DEVICE"},
    {Command::DeleteDevice, "DELETE_DEVICE"},
    {Command::GetDevices, "GET_DEVICES"},
    {Command::CreateTag, "CREATE_TAG"},
    {Command::UpdateTag, "UPDATE_TAG"},
    {Command::DeleteTag, "DELETE_TAG"},
    {Command::GetTags, "GET_TAGS"},
    {Command::MobileGetDevice, "MOBILE_GET_DEVICE"},
    {Command::UpdateFace, "UPDATE_FACE"},
    {Command::WebSockets, "WEB_SOCKETS"},
    {Command::Eventor, "EVENTOR"},
    {Command::WebHooks, "WEB_HOOKS"},
    {Command::CreateApp, "CREATE_APP"},
    {Command::UpdateApp, "UPDATE_APP"},
    {Command::DeleteApp, "DELETE_APP"},
    {Command::GetProjectByToken, "GET_PROJECT_BY_TOKEN"},
    {Command::EmailQr, "EMAIL_QR"},
    {Command::GetEnhancedGraphData, "GET_ENHANCED_GRAPH_DATA"},
    {Command::DeleteEnhancedGraphData, "DELETE_ENHANCED_GRAPH_DATA"},
    {Command::GetCloneCode, "GET_CLONE_CODE"},
    {Command::GetProjectByCloneCode, "GET_PROJECT_BY_CLONE_CODE"},
    {Command::HardwareLogEvent, "HARDWARE_LOG_EVENT"},
    {Command::HardwareResendFromBluetooth, "HARDWARE_RESEND_FROM_BLUETOOTH"},
    {Command::Logout, "LOGOUT"},
    {Command::CreateTileTemplate, "CREATE_TILE_TEMPLATE"},
    {Command::UpdateTileTemplate, "UPDATE_TILE_TEMPLATE"},
    {Command::DeleteTileTemplate, "DELETE_TILE_TEMPLATE"},
    {Command::GetWidget, "GET_WIDGET"},
    {Command::DeviceOffline, "DEVICE_OFFLINE"},
    {Command::OutdatedAppNotification, "OUTDATED_APP_NOTIFICATION"},
    {Command::TrackDevice, "TRACK_DEVICE"},
    {Command::GetProvisionToken, "GET_PROVISION_TOKEN"},
    {Command::ResolveEvent, "RESOLVE_EVENT"},
    {Command::DeleteDeviceData, "DELETE_DEVICE_DATA"},
    {Command::CreateReport, "CREATE_REPORT"},
    {Command::UpdateReport, "UPDATE_REPORT"},
    {Command::DeleteReport, "DELETE_REPORT"},
    {Command::ExportReport, "EXPORT_REPORT"},
    {Command::ResetPassword, "RESET_PASSWORD"},
    {Command::HttpIsHardwareConnected, "HTTP_IS_HARDWARE_CONNECTED"},
    {Command::HttpIsAppConnected, "HTTP_IS_APP_CONNECTED"},
    {Command::HttpGetPinData, "HTTP_GET_PIN_DATA"},
    {Command::HttpUpdatePinData, "HTTP_UPDATE_PIN_DATA"},
    {Command::HttpNotify, "HTTP_NOTIFY"},
    {Command::HttpEmail, "HTTP_EMAIL"},
    {Command::HttpGetProject, "HTTP_GET_PROJECT"},
    {Command::HttpQr, "HTTP_QR"},
    {Command::HttpGetHistoryData, "HTTP_GET_HISTORY_DATA"},
    {Command::HttpStartOta, "HTTP_START_OTA"},
    {Command::HttpStopOta, "HTTP_STOP_OTA"},
    {Command::HttpClone, "HTTP_CLONE"},
    {Command::HttpTotal, "HTTP_TOTAL"},
};

}  // namespace

const char* command_name(uint8_t code) {
    for (const Named& n : kCommands)
        if (uint8_t(n.code) == code) return n.name;
    return nullptr;
}

const char* status_name(uint16_t code) {
    switch (Status(code)) {
        case Status::Ok:
            return "OK";
        case Status::QuotaLimit:
            return "QUOTA_LIMIT";
        case Status::IllegalCommand:
            return "ILLEGAL_COMMAND";
        case Status::UserNotRegistered:
            return "USER_NOT_REGISTERED";
        case Status::UserAlreadyRegistered:
            return "USER_ALREADY_REGISTERED";
        case Status::UserNotAuthenticated:
            return "USER_NOT_AUTHENTICATED";
        case Status::NotAllowed:
            return "NOT_ALLOWED";
        case Status::DeviceNotInNetwork:
            return "DEVICE_NOT_IN_NETWORK";
        case Status::NoActiveDashboard:
            return "NO_ACTIVE_DASHBOARD";
        case Status::InvalidToken:
            return "INVALID_TOKEN";
        case Status::IllegalCommandBody:
            return "ILLEGAL_COMMAND_BODY";
        case Status::NotificationInvalidBody:
            return "NOTIFICATION_INVALID_BODY";
        case Status::NotificationNotAuthorized:
            return "NOTIFICATION_NOT_AUTHORIZED";
        case Status::NotificationError:
            return "NOTIFICATION_ERROR";
        case Status::NoData:
            return "NO_DATA";
        case Status::ServerError:
            return "SERVER_ERROR";
        case Status::EnergyLimit:
            return "ENERGY_LIMIT";
        case Status::FacebookUserLoginWithPass:
            return "FACEBOOK_USER_LOGIN_WITH_PASS";
    }
    return nullptr;
}

}  // namespace blynk::codec
