// Command and status codes against the protocol reference
// (docs/reference/protocol.md §4, §5, §8).
#include "codec/protocol.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <iterator>
#include <set>
#include <string>

namespace blynk::codec {
namespace {

struct CommandCase {
    Command command;
    unsigned code;
    const char* name;
};

// Written out from the reference table, not from protocol.cpp, so a changed
// enumerator or name is caught.
const CommandCase kCommands[] = {
    {Command::Response, 0, "RESPONSE"},
    {Command::Register, 1, "REGISTER"},
    {Command::Login, 2, "LOGIN"},
    {Command::Redeem, 3, "REDEEM"},
    {Command::HardwareConnected, 4, "HARDWARE_CONNECTED"},
    {Command::Ping, 6, "PING"},
    {Command::ActivateDashboard, 7, "ACTIVATE_DASHBOARD"},
    {Command::DeactivateDashboard, 8, "DEACTIVATE_DASHBOARD"},
    {Command::RefreshToken, 9, "REFRESH_TOKEN"},
    {Command::Tweet, 12, "TWEET"},
    {Command::Email, 13, "EMAIL"},
    {Command::PushNotification, 14, "PUSH_NOTIFICATION"},
    {Command::Bridge, 15, "BRIDGE"},
    {Command::HardwareSync, 16, "HARDWARE_SYNC"},
    {Command::BlynkInternal, 17, "BLYNK_INTERNAL"},
    {Command::Sms, 18, "SMS"},
    {Command::SetWidgetProperty, 19, "SET_WIDGET_PROPERTY"},
    {Command::Hardware, 20, "HARDWARE"},
    {Command::CreateDash, 21, "CREATE_DASH"},
    {Command::UpdateDash, 22, "UPDATE_DASH"},
    {Command::DeleteDash, 23, "DELETE_DASH"},
    {Command::LoadProfileGzipped, 24, "LOAD_PROFILE_GZIPPED"},
    {Command::AppSync, 25, "APP_SYNC"},
    {Command::Sharing, 26, "SHARING"},
    {Command::AddPushToken, 27, "ADD_PUSH_TOKEN"},
    {Command::ExportGraphData, 28, "EXPORT_GRAPH_DATA"},
    {Command::HardwareLogin, 29, "HARDWARE_LOGIN"},
    {Command::GetShareToken, 30, "GET_SHARE_TOKEN"},
    {Command::RefreshShareToken, 31, "REFRESH_SHARE_TOKEN"},
    {Command::ShareLogin, 32, "SHARE_LOGIN"},
    {Command::CreateWidget, 33, "CREATE_WIDGET"},
    {Command::UpdateWidget, 34, "UPDATE_WIDGET"},
    {Command::DeleteWidget, 35, "DELETE_WIDGET"},
    {Command::GetEnergy, 36, "GET_ENERGY"},
    {Command::AddEnergy, 37, "ADD_ENERGY"},
    {Command::UpdateProjectSettings, 38, "UPDATE_PROJECT_SETTINGS"},
    {Command::AssignToken, 39, "ASSIGN_TOKEN"},
    {Command::GetServer, 40, "GET_SERVER"},
    {Command::ConnectRedirect, 41, "CONNECT_REDIRECT"},
    {Command::CreateDevice, 42, "CREATE_DEVICE"},
    {Command::UpdateDevice, 43, "UPDATE_DEVICE"},
    {Command::DeleteDevice, 44, "DELETE_DEVICE"},
    {Command::GetDevices, 45, "GET_DEVICES"},
    {Command::CreateTag, 46, "CREATE_TAG"},
    {Command::UpdateTag, 47, "UPDATE_TAG"},
    {Command::DeleteTag, 48, "DELETE_TAG"},
    {Command::GetTags, 49, "GET_TAGS"},
    {Command::MobileGetDevice, 50, "MOBILE_GET_DEVICE"},
    {Command::UpdateFace, 51, "UPDATE_FACE"},
    {Command::WebSockets, 52, "WEB_SOCKETS"},
    {Command::Eventor, 53, "EVENTOR"},
    {Command::WebHooks, 54, "WEB_HOOKS"},
    {Command::CreateApp, 55, "CREATE_APP"},
    {Command::UpdateApp, 56, "UPDATE_APP"},
    {Command::DeleteApp, 57, "DELETE_APP"},
    {Command::GetProjectByToken, 58, "GET_PROJECT_BY_TOKEN"},
    {Command::EmailQr, 59, "EMAIL_QR"},
    {Command::GetEnhancedGraphData, 60, "GET_ENHANCED_GRAPH_DATA"},
    {Command::DeleteEnhancedGraphData, 61, "DELETE_ENHANCED_GRAPH_DATA"},
    {Command::GetCloneCode, 62, "GET_CLONE_CODE"},
    {Command::GetProjectByCloneCode, 63, "GET_PROJECT_BY_CLONE_CODE"},
    {Command::HardwareLogEvent, 64, "HARDWARE_LOG_EVENT"},
    {Command::HardwareResendFromBluetooth, 65, "HARDWARE_RESEND_FROM_BLUETOOTH"},
    {Command::Logout, 66, "LOGOUT"},
    {Command::CreateTileTemplate, 67, "CREATE_TILE_TEMPLATE"},
    {Command::UpdateTileTemplate, 68, "UPDATE_TILE_TEMPLATE"},
    {Command::DeleteTileTemplate, 69, "DELETE_TILE_TEMPLATE"},
    {Command::GetWidget, 70, "GET_WIDGET"},
    {Command::DeviceOffline, 71, "DEVICE_OFFLINE"},
    {Command::OutdatedAppNotification, 72, "OUTDATED_APP_NOTIFICATION"},
    {Command::TrackDevice, 73, "TRACK_DEVICE"},
    {Command::GetProvisionToken, 74, "GET_PROVISION_TOKEN"},
    {Command::ResolveEvent, 75, "RESOLVE_EVENT"},
    {Command::DeleteDeviceData, 76, "DELETE_DEVICE_DATA"},
    {Command::CreateReport, 77, "CREATE_REPORT"},
    {Command::UpdateReport, 78, "UPDATE_REPORT"},
    {Command::DeleteReport, 79, "DELETE_REPORT"},
    {Command::ExportReport, 80, "EXPORT_REPORT"},
    {Command::ResetPassword, 81, "RESET_PASSWORD"},
    {Command::HttpIsHardwareConnected, 82, "HTTP_IS_HARDWARE_CONNECTED"},
    {Command::HttpIsAppConnected, 83, "HTTP_IS_APP_CONNECTED"},
    {Command::HttpGetPinData, 84, "HTTP_GET_PIN_DATA"},
    {Command::HttpUpdatePinData, 85, "HTTP_UPDATE_PIN_DATA"},
    {Command::HttpNotify, 86, "HTTP_NOTIFY"},
    {Command::HttpEmail, 87, "HTTP_EMAIL"},
    {Command::HttpGetProject, 88, "HTTP_GET_PROJECT"},
    {Command::HttpQr, 89, "HTTP_QR"},
    {Command::HttpGetHistoryData, 90, "HTTP_GET_HISTORY_DATA"},
    {Command::HttpStartOta, 91, "HTTP_START_OTA"},
    {Command::HttpStopOta, 92, "HTTP_STOP_OTA"},
    {Command::HttpClone, 93, "HTTP_CLONE"},
    {Command::HttpTotal, 94, "HTTP_TOTAL"},
};

struct StatusCase {
    Status status;
    unsigned code;
    const char* name;
};

const StatusCase kStatuses[] = {
    {Status::Ok, 200, "OK"},
    {Status::QuotaLimit, 1, "QUOTA_LIMIT"},
    {Status::IllegalCommand, 2, "ILLEGAL_COMMAND"},
    {Status::UserNotRegistered, 3, "USER_NOT_REGISTERED"},
    {Status::UserAlreadyRegistered, 4, "USER_ALREADY_REGISTERED"},
    {Status::UserNotAuthenticated, 5, "USER_NOT_AUTHENTICATED"},
    {Status::NotAllowed, 6, "NOT_ALLOWED"},
    {Status::DeviceNotInNetwork, 7, "DEVICE_NOT_IN_NETWORK"},
    {Status::NoActiveDashboard, 8, "NO_ACTIVE_DASHBOARD"},
    {Status::InvalidToken, 9, "INVALID_TOKEN"},
    {Status::IllegalCommandBody, 11, "ILLEGAL_COMMAND_BODY"},
    {Status::NotificationInvalidBody, 13, "NOTIFICATION_INVALID_BODY"},
    {Status::NotificationNotAuthorized, 14, "NOTIFICATION_NOT_AUTHORIZED"},
    {Status::NotificationError, 15, "NOTIFICATION_ERROR"},
    {Status::NoData, 17, "NO_DATA"},
    {Status::ServerError, 19, "SERVER_ERROR"},
    {Status::EnergyLimit, 21, "ENERGY_LIMIT"},
    {Status::FacebookUserLoginWithPass, 22, "FACEBOOK_USER_LOGIN_WITH_PASS"},
};

TEST(Protocol, CommandCodesAndNamesMatchTheReference) {
    for (const auto& c : kCommands) {
        SCOPED_TRACE(c.name);
        EXPECT_EQ(static_cast<unsigned>(c.command), c.code);
        const char* name = command_name(static_cast<uint8_t>(c.code));
        ASSERT_NE(name, nullptr);
        EXPECT_STREQ(name, c.name);
    }
}

TEST(Protocol, ReferenceListsAll92Commands) {
    std::set<unsigned> codes;
    for (const auto& c : kCommands)
        codes.insert(c.code);
    EXPECT_EQ(codes.size(), 92u);
    EXPECT_EQ(std::size(kCommands), 92u);
}

TEST(Protocol, EveryNamedCommandIsInTheReferenceAndEveryOtherCodeIsUnnamed) {
    std::set<unsigned> known;
    for (const auto& c : kCommands)
        known.insert(c.code);
    for (unsigned code = 0; code <= 255; ++code) {
        SCOPED_TRACE(code);
        if (known.count(code)) {
            EXPECT_NE(command_name(static_cast<uint8_t>(code)), nullptr);
        } else {
            EXPECT_EQ(command_name(static_cast<uint8_t>(code)), nullptr);
        }
    }
}

TEST(Protocol, UnassignedCommandCodesHaveNoName) {
    for (unsigned code : {5u, 10u, 11u})
        EXPECT_EQ(command_name(static_cast<uint8_t>(code)), nullptr) << code;
    for (unsigned code = 95; code <= 255; ++code)
        EXPECT_EQ(command_name(static_cast<uint8_t>(code)), nullptr) << code;
}

TEST(Protocol, CommandNamesAreDistinct) {
    std::set<std::string> names;
    for (unsigned code = 0; code <= 255; ++code)
        if (const char* n = command_name(static_cast<uint8_t>(code))) {
            EXPECT_TRUE(names.insert(n).second) << n;
        }
}

TEST(Protocol, LastCommandIndexIs100) {
    EXPECT_EQ(kLastCommandIndex, 100u);
}

TEST(Protocol, StatusCodesAndNamesMatchTheReference) {
    for (const auto& s : kStatuses) {
        SCOPED_TRACE(s.name);
        EXPECT_EQ(static_cast<unsigned>(s.status), s.code);
        const char* name = status_name(static_cast<uint16_t>(s.code));
        ASSERT_NE(name, nullptr);
        EXPECT_STREQ(name, s.name);
    }
    EXPECT_EQ(std::size(kStatuses), 18u);
}

TEST(Protocol, EveryOtherStatusCodeIsUnnamed) {
    std::set<unsigned> known;
    for (const auto& s : kStatuses)
        known.insert(s.code);
    for (unsigned code = 0; code <= 0xFFFF; ++code)
        if (!known.count(code)) {
            ASSERT_EQ(status_name(static_cast<uint16_t>(code)), nullptr) << code;
        }
}

TEST(Protocol, LibraryOnlyStatusesAreUnnamed) {
    // §5: never sent by the reference server.
    for (unsigned code : {0u, 10u, 12u, 16u, 18u, 20u, 23u, 24u})
        EXPECT_EQ(status_name(static_cast<uint16_t>(code)), nullptr) << code;
}

TEST(Protocol, ServerMessageIds) {
    EXPECT_EQ(msgid::kPinModes, 1);
    EXPECT_EQ(msgid::kHttpApi, 111);
    EXPECT_EQ(msgid::kEventor, 888);
    EXPECT_EQ(msgid::kAppSync, 1111);
    EXPECT_EQ(msgid::kTimer, 7777);
    EXPECT_EQ(msgid::kReadingWidget, 7778);
}

}  // namespace
}  // namespace blynk::codec
