// core::AppHub: accounts (login, register, share login) and what an app hears
// around storage: a change is answered only once stored, a storage failure is
// SERVER_ERROR with nothing acknowledged, a full queue is SERVER_ERROR at
// once, and a session that closed before the answer hears nothing.
#include <gtest/gtest.h>

#include "app_hub_fakes.hpp"
#include "core/app_json.hpp"

using namespace blynk;
using namespace blynk::test;

namespace {

class AppHubAccounts : public AppHubTest {};

std::string login_body(const std::string& email, const std::string& password) {
    return fields({email, core::legacy_pass_hash(email, password), "Android", "2.27.0"});
}

TEST_F(AppHubAccounts, LoginWithTheRightPasswordIsAnsweredOnceTheHashIsChecked) {
    FakeApp a(hub);
    frame(a, Command::Login, 7, login_body("me@example.com", kPassword));
    EXPECT_TRUE(a.sent.empty()) << "answered before the slow hash was checked";
    EXPECT_TRUE(a.route->pending);
    backend.run();
    EXPECT_EQ(a.only_status(), uint32_t(Status::Ok));
    EXPECT_EQ(a.sent[0].msg_id, 7);
    EXPECT_EQ(me().apps, a.route);
    EXPECT_FALSE(a.route->pending);
    EXPECT_EQ(a.resumed, 1) << "frames that waited for the login must go on";
}

TEST_F(AppHubAccounts, LoginIsCaseInsensitiveOnTheEmail) {
    FakeApp a(hub);
    // The client hash is made of the lower-case address (protocol §10.1).
    frame(a, Command::Login, 1,
          fields({"Me@Example.COM", core::legacy_pass_hash("me@example.com", kPassword), "Android", "2.27.0"}));
    backend.run();
    EXPECT_EQ(a.only_status(), uint32_t(Status::Ok));
}

TEST_F(AppHubAccounts, LoginWithAWrongPasswordIsUserNotAuthenticated) {
    FakeApp a(hub);
    frame(a, Command::Login, 3, login_body("me@example.com", "wrong"));
    backend.run();
    EXPECT_EQ(a.only_status(), uint32_t(Status::UserNotAuthenticated));
    EXPECT_EQ(me().apps, nullptr);
    EXPECT_FALSE(a.closed) << "the app may try again on the same connection";
    // A later command is still a command before login: the connection goes.
    a.sent.clear();
    frame(a, Command::GetEnergy, 4, "");
    EXPECT_TRUE(a.rejected);
    EXPECT_TRUE(a.sent.empty());
}

TEST_F(AppHubAccounts, LoginOfAnUnknownAccountIsUserNotRegistered) {
    FakeApp a(hub);
    frame(a, Command::Login, 3, login_body("nobody@example.com", kPassword));
    backend.run();
    EXPECT_EQ(backend.loads, 1) << "an account not in memory is looked up in storage";
    EXPECT_EQ(a.only_status(), uint32_t(Status::UserNotRegistered));
}

TEST_F(AppHubAccounts, LoginLoadsAnAccountFromStorage) {
    backend.stored_users["late@example.com"] = [] {
        auto u = make_user("late@example.com", "pw");
        u->devices.push_back(make_device(1, 0, std::string(32, 'L')));
        return u;
    };
    FakeApp a(hub);
    frame(a, Command::Login, 2, login_body("late@example.com", "pw"));
    EXPECT_EQ(model.find_user("late@example.com"), nullptr);
    backend.run();
    EXPECT_EQ(a.only_status(), uint32_t(Status::Ok));
    ASSERT_NE(model.find_user("late@example.com"), nullptr);
    EXPECT_NE(model.find_token(std::string(32, 'L')), nullptr) << "its devices came with it";
}

TEST_F(AppHubAccounts, FramesWhileALoginWaitsAreNotAnsweredBeforeIt) {
    FakeApp a(hub);
    frame(a, Command::Login, 1, login_body("me@example.com", kPassword));
    // The transport stops reading while route->pending; what slipped through
    // must not be handled as a command of a logged-out (or half logged-in) app.
    frame(a, Command::GetEnergy, 2, "");
    EXPECT_TRUE(a.sent.empty());
    EXPECT_FALSE(a.closed);
    backend.run();
    EXPECT_EQ(a.only_status(), uint32_t(Status::Ok));
    a.sent.clear();
    frame(a, Command::GetEnergy, 3, "");
    ASSERT_EQ(a.sent.size(), 1u);
    EXPECT_EQ(a.sent[0].command, uint8_t(Command::GetEnergy));
    EXPECT_EQ(a.sent[0].body, "100000");
}

TEST_F(AppHubAccounts, AProvenLoginSkipsTheSlowHashUntilThePasswordChanges) {
    auto first = app();
    EXPECT_EQ(backend.verifications, 1);
    FakeApp second(hub);
    frame(second, Command::Login, 5, login_body("me@example.com", kPassword));
    EXPECT_EQ(second.only_status(), uint32_t(Status::Ok)) << "a proven login is answered at once";
    EXPECT_EQ(backend.verifications, 1);

    // The operator sets a new password: the remembered login no longer counts.
    me().pass_hash = core::slow_hash(core::legacy_pass_hash("me@example.com", "new one"), FakeBackend::kIterations);
    FakeApp third(hub);
    frame(third, Command::Login, 6, login_body("me@example.com", kPassword));
    EXPECT_TRUE(third.sent.empty());
    backend.run();
    EXPECT_EQ(backend.verifications, 2);
    EXPECT_EQ(third.only_status(), uint32_t(Status::UserNotAuthenticated));
    FakeApp fourth(hub);
    frame(fourth, Command::Login, 7, login_body("me@example.com", "new one"));
    backend.run();
    EXPECT_EQ(fourth.only_status(), uint32_t(Status::Ok));
}

TEST_F(AppHubAccounts, APasswordChangedWhileTheHashIsCheckedRefusesTheLogin) {
    FakeApp a(hub);
    frame(a, Command::Login, 1, login_body("me@example.com", kPassword));
    me().pass_hash = core::slow_hash(core::legacy_pass_hash("me@example.com", "new one"), FakeBackend::kIterations);
    backend.run();
    EXPECT_EQ(a.only_status(), uint32_t(Status::UserNotAuthenticated));
}

TEST_F(AppHubAccounts, SeveralAppSessionsOfOneUser) {
    auto a = app(), b = app();
    int n = 0;
    for (core::AppRoute* s = me().apps; s; s = s->next_on_user)
        ++n;
    EXPECT_EQ(n, 2);
    a.reset();
    EXPECT_EQ(me().apps, b->route);
    EXPECT_EQ(b->route->next_on_user, nullptr);
}

TEST_F(AppHubAccounts, ACommandBeforeLoginClosesTheConnectionUnanswered) {
    FakeApp a(hub);
    frame(a, Command::CreateDash, 1, R"({"id":5,"name":"x"})");
    EXPECT_TRUE(a.rejected);
    EXPECT_TRUE(a.sent.empty());
}

TEST_F(AppHubAccounts, LogoutAnswersOkAndCloses) {
    auto a = app();
    frame(*a, Command::Logout, 9, "");
    EXPECT_EQ(a->only_status(), uint32_t(Status::Ok));
    EXPECT_TRUE(a->closed);
    EXPECT_EQ(me().apps, nullptr);
}

TEST_F(AppHubAccounts, GetServerAnswersThisServer) {
    FakeApp a(hub);
    frame(a, Command::GetServer, 1, fields({"me@example.com", "Blynk"}));
    ASSERT_EQ(a.sent.size(), 1u);
    EXPECT_EQ(a.sent[0].body, "blynk.example.net");
    a.sent.clear();
    frame(a, Command::GetServer, 2, fields({"not an address", "Blynk"}));
    EXPECT_EQ(a.only_status(), uint32_t(Status::IllegalCommandBody));
}

TEST_F(AppHubAccounts, RegisterStoresTheAccountBeforeAnsweringAndItCanLogIn) {
    FakeApp a(hub);
    frame(a, Command::Register, 4,
          fields({"New@Example.com", core::legacy_pass_hash("new@example.com", "pw"), "Blynk"}));
    backend.run();
    EXPECT_EQ(a.only_status(), uint32_t(Status::Ok));
    EXPECT_EQ(backend.log, std::vector<std::string>{"new user new@example.com"});
    core::User* u = model.find_user("new@example.com");
    ASSERT_NE(u, nullptr);
    EXPECT_NE(u->pass_hash, core::legacy_pass_hash("new@example.com", "pw")) << "the client hash is never stored";
    EXPECT_EQ(u->energy, hub.settings().initial_energy);
    auto b = app("new@example.com", "pw");
    EXPECT_EQ(u->apps, b->route);
}

TEST_F(AppHubAccounts, RegisterRefusals) {
    {
        FakeApp a(hub);
        frame(a, Command::Register, 1, fields({"me@example.com", "hash", "Blynk"}));
        EXPECT_EQ(a.only_status(), uint32_t(Status::UserAlreadyRegistered));
    }
    {
        FakeApp a(hub);
        frame(a, Command::Register, 1, fields({"not-an-address", "hash", "Blynk"}));
        EXPECT_EQ(a.only_status(), uint32_t(Status::IllegalCommand));
    }
    {
        FakeApp a(hub);
        frame(a, Command::Register, 1, fields({"x@example.com", "hash"}));
        EXPECT_EQ(a.only_status(), uint32_t(Status::IllegalCommand)) << "the app name is required";
    }
    {
        // Storage knows the address although memory does not.
        backend.stored_users["stored@example.com"] = [] { return make_user("stored@example.com", "pw"); };
        FakeApp a(hub);
        frame(a, Command::Register, 1, fields({"stored@example.com", "hash", "Blynk"}));
        backend.run();
        EXPECT_EQ(a.only_status(), uint32_t(Status::UserAlreadyRegistered));
    }
    {
        FakeApp ws(hub, true);
        frame(ws, Command::Register, 1, fields({"y@example.com", "hash", "Blynk"}));
        EXPECT_EQ(ws.only_status(), uint32_t(Status::NotAllowed));
        EXPECT_TRUE(ws.closed) << "/dashws takes no registrations";
    }
    EXPECT_TRUE(backend.log.empty());
}

TEST_F(AppHubAccounts, OneRegistrationPerConnectionAndAnHourlyLimit) {
    FakeApp a(hub);
    frame(a, Command::Register, 1, fields({"r1@example.com", "h", "Blynk"}));
    backend.run();
    EXPECT_EQ(a.only_status(), uint32_t(Status::Ok));
    a.sent.clear();
    frame(a, Command::Register, 2, fields({"r2@example.com", "h", "Blynk"}));
    EXPECT_EQ(a.only_status(), uint32_t(Status::NotAllowed));
    EXPECT_TRUE(a.closed);

    for (const char* email : {"r3@example.com", "r4@example.com"}) {
        FakeApp b(hub);
        frame(b, Command::Register, 1, fields({email, "h", "Blynk"}));
        backend.run();
        EXPECT_EQ(b.only_status(), uint32_t(Status::Ok)) << email;
    }
    // registrations_per_hour = 3 in this fixture.
    FakeApp c(hub);
    frame(c, Command::Register, 1, fields({"r5@example.com", "h", "Blynk"}));
    EXPECT_EQ(c.only_status(), uint32_t(Status::NotAllowed));
    EXPECT_EQ(model.find_user("r5@example.com"), nullptr);
    now += 3600 * 1000;
    FakeApp d(hub);
    frame(d, Command::Register, 1, fields({"r5@example.com", "h", "Blynk"}));
    backend.run();
    EXPECT_EQ(d.only_status(), uint32_t(Status::Ok)) << "an hour later registrations are open again";
}

TEST_F(AppHubAccounts, RegistrationTurnedOffIsNotAllowed) {
    core::AppSettings s = settings();
    s.allow_registration = false;
    core::AppHub closed_hub(model, router, backend, s, [this] { return now; });
    FakeApp a(closed_hub);
    std::string body = fields({"new@example.com", "h", "Blynk"});
    codec::Frame f;
    f.command = uint8_t(Command::Register);
    f.msg_id = 1;
    f.body = body;
    f.length = uint32_t(body.size());
    closed_hub.on_frame(*a.route, f);
    EXPECT_EQ(a.only_status(), uint32_t(Status::NotAllowed));
    EXPECT_EQ(backend.pending(), 0u);
    EXPECT_EQ(model.find_user("new@example.com"), nullptr);
}

TEST_F(AppHubAccounts, ARegistrationStorageCouldNotTakeIsServerErrorAndNoAccount) {
    FakeApp a(hub);
    frame(a, Command::Register, 2, fields({"lost@example.com", "h", "Blynk"}));
    backend.fail_next = BLYNK_ERROR;  // the save, after the look-up and the hash
    backend.run();
    EXPECT_EQ(a.only_status(), uint32_t(Status::ServerError));
    EXPECT_EQ(model.find_user("lost@example.com"), nullptr);
    EXPECT_TRUE(backend.log.empty());
}

TEST_F(AppHubAccounts, ShareLoginSeesOnlyItsDashboard) {
    auto shared = shared_app(1);
    EXPECT_EQ(shared->route->shared_dash, 1);
    FakeApp wrong(hub);
    frame(wrong, Command::ShareLogin, 1, fields({"me@example.com", std::string(32, 'x'), "Android", "2.27.0"}));
    EXPECT_EQ(wrong.only_status(), uint32_t(Status::NotAllowed));
    // A dashboard no longer shared refuses its token.
    std::string token = dash(1).share_token;
    dash(1).shared = false;
    FakeApp off(hub);
    frame(off, Command::ShareLogin, 1, fields({"me@example.com", token, "Android", "2.27.0"}));
    EXPECT_EQ(off.only_status(), uint32_t(Status::NotAllowed));
}

TEST_F(AppHubAccounts, ASharedSessionIsRefusedOwnerCommands) {
    auto shared = shared_app(1);
    frame(*shared, Command::CreateDash, 2, R"({"id":9,"name":"mine now"})");
    frame(*shared, Command::RefreshToken, 3, fields({"1", "0"}));
    frame(*shared, Command::DeleteDash, 4, "1");
    EXPECT_TRUE(shared->sent.empty()) << "dropped unanswered, as the legacy server did";
    EXPECT_EQ(me().find_dash(9), nullptr);
    EXPECT_NE(me().find_dash(1), nullptr);
    EXPECT_EQ(model.find_token(kTokenA)->token, kTokenA);
    frame(*shared, Command::Hardware, 5, fields({"2-0", "vw", "1", "1"}));
    EXPECT_EQ(shared->only_status(), uint32_t(Status::NotAllowed)) << "another dashboard of the owner";
    shared->sent.clear();
    frame(*shared, Command::GetDevices, 6, "2");
    EXPECT_EQ(shared->only_status(), uint32_t(Status::IllegalCommand));
}

// --- storage: answered once stored; failures; closed sessions

TEST_F(AppHubAccounts, AChangeIsAnsweredOnlyOnceStored) {
    auto a = app();
    frame(*a, Command::CreateDevice, 11, fields({"1", R"({"id":7,"name":"Lamp","boardType":"ESP32"})"}));
    EXPECT_TRUE(a->sent.empty()) << "answered before storage had it";
    core::Device* d = me().find_device(1, 7);
    ASSERT_NE(d, nullptr) << "in the model at once";
    backend.run();
    EXPECT_EQ(backend.log, std::vector<std::string>{"device 1/7"});
    ASSERT_EQ(a->sent.size(), 1u);
    EXPECT_EQ(a->sent[0].command, uint8_t(Command::CreateDevice));
    EXPECT_EQ(a->sent[0].msg_id, 11);
    EXPECT_NE(a->sent[0].body.find(d->token), std::string::npos);
}

TEST_F(AppHubAccounts, AStorageFailureIsServerErrorAndNothingIsAcknowledged) {
    auto a = app();
    backend.fail_next = BLYNK_ERROR;
    frame(*a, Command::CreateDevice, 12, fields({"1", R"({"id":7,"name":"Lamp"})"}));
    backend.run();
    EXPECT_EQ(a->only_status(), uint32_t(Status::ServerError));
    EXPECT_TRUE(a->of(Command::CreateDevice).empty()) << "no token handed out for a device not stored";
    EXPECT_TRUE(backend.log.empty());

    a->sent.clear();
    backend.fail_next = BLYNK_ERROR;
    frame(*a, Command::CreateWidget, 13,
          fields({"1", R"({"id":5,"type":"BUTTON","width":2,"height":1,"pin":1,"pinType":"VIRTUAL"})"}));
    backend.run();
    EXPECT_EQ(a->only_status(), uint32_t(Status::ServerError));

    a->sent.clear();
    backend.fail_next = BLYNK_ERROR;
    frame(*a, Command::CreateDash, 14, R"({"id":9,"name":"New","devices":[{"id":0,"name":"d"}]})");
    backend.run();
    EXPECT_EQ(a->only_status(), uint32_t(Status::ServerError)) << "a device of the dashboard was not stored";
}

TEST_F(AppHubAccounts, AFullStorageQueueIsServerErrorAtOnce) {
    auto a = app();
    backend.accepting = false;
    frame(*a, Command::CreateDevice, 1, fields({"1", R"({"id":7,"name":"Lamp"})"}));
    EXPECT_EQ(a->only_status(), uint32_t(Status::ServerError));
    a->sent.clear();
    frame(*a, Command::GetCloneCode, 2, "1");
    EXPECT_EQ(a->only_status(), uint32_t(Status::ServerError));
    FakeApp b(hub);
    frame(b, Command::Login, 3, login_body("nobody@example.com", kPassword));
    EXPECT_EQ(b.only_status(), uint32_t(Status::ServerError));
    EXPECT_FALSE(b.route->pending) << "a login that could not be queued must not wait forever";
}

TEST_F(AppHubAccounts, ASessionClosedBeforeTheAnswerHearsNothing) {
    auto a = app();
    frame(*a, Command::CreateDevice, 1, fields({"1", R"({"id":7,"name":"Lamp"})"}));
    frame(*a, Command::GetCloneCode, 2, "1");
    a->close("gone");
    auto b = std::make_unique<FakeApp>(hub);
    frame(*b, Command::Login, 3, login_body("me@example.com", "wrong"));
    b.reset();  // released: its route is freed
    backend.run();
    EXPECT_TRUE(a->sent.empty());
    EXPECT_EQ(backend.log, std::vector<std::string>{"device 1/7"}) << "the change is stored all the same";
}

}  // namespace
