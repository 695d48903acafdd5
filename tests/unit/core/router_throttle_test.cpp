// The router with login throttling: a blocked address is answered
// INVALID_TOKEN without its token being looked up, in memory or in storage,
// and one warning is given per block.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "codec/protocol.hpp"
#include "core/router.hpp"

using namespace blynk;
using codec::Command;
using codec::Status;

namespace {

class Conn final : public core::HwOutput {
public:
    explicit Conn(std::string peer) : peer_(std::move(peer)) {}
    ~Conn() {
        if (route) router->release(*route);
    }
    void send(uint8_t, uint16_t, std::string_view) override {}
    void send_status(uint16_t, uint16_t status) override { statuses.push_back(status); }
    void close(std::string_view) override { closed = true; }
    void reject(std::string_view) override { closed = true; }
    bool is_closed() const override { return closed; }
    std::string peer() const override { return peer_; }

    std::string peer_;
    core::Router* router = nullptr;
    core::HwRoute* route = nullptr;  // opened by the first login
    std::vector<uint16_t> statuses;
    bool closed = false;
};

// Counts storage lookups; answers "not found" at once.
struct CountingLoader : core::TokenLoader {
    bool load(std::string, core::HwOutput&, std::function<void(core::LoadResult)> done) override {
        ++loads;
        done(result);
        return true;
    }
    int loads = 0;
    core::LoadResult result = core::LoadResult::Unknown;
};

const std::string kGood = "GGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGG";

class ThrottledRouter : public ::testing::Test {
protected:
    ThrottledRouter() : router(model, settings(), [this] { return now; }) {
        core::LoadedData data;
        auto u = std::make_unique<core::User>();
        u->email = "me@example.com";
        auto d = std::make_unique<core::Device>();
        d->token = kGood;
        u->devices.push_back(std::move(d));
        data.users.push_back(std::move(u));
        model.merge(std::move(data));
        router.set_loader(&loader);
    }
    core::RouterSettings settings() {
        core::RouterSettings s;
        s.login_throttle.failures = 3;
        s.login_throttle.window_s = 60;
        s.login_throttle.block_s = 300;
        s.warn = [this](const std::string& w) { warnings.push_back(w); };
        return s;
    }
    uint16_t login(Conn& c, const std::string& token) {
        codec::Frame f;
        f.command = uint8_t(Command::HardwareLogin);
        f.msg_id = 1;
        f.length = uint32_t(token.size());
        f.body = token;
        if (!c.route) {
            c.router = &router;
            c.route = &router.open(c);
        }
        router.on_frame(*c.route, f);
        return c.statuses.empty() ? 0xFFFF : c.statuses.back();
    }

    int64_t now = 1'700'000'000'000;
    core::Model model;
    CountingLoader loader;
    std::vector<std::string> warnings;
    core::Router router;
};

}  // namespace

TEST_F(ThrottledRouter, BlockedAddressIsRefusedWithoutLookupAndWarnedOnce) {
    Conn bad("203.0.113.9:5000");
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(login(bad, std::string(32, char('a' + i))), uint16_t(Status::InvalidToken));
    EXPECT_EQ(loader.loads, 3);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("203.0.113.9"), std::string::npos);
    EXPECT_EQ(warnings[0].find("aaaa"), std::string::npos);  // never the token

    // Blocked: even the right token is refused, and nothing is looked up.
    Conn again("203.0.113.9:5001");
    EXPECT_EQ(login(again, kGood), uint16_t(Status::InvalidToken));
    EXPECT_EQ(login(again, std::string(32, 'z')), uint16_t(Status::InvalidToken));
    EXPECT_EQ(loader.loads, 3);
    EXPECT_EQ(again.route->device, nullptr);
    EXPECT_FALSE(again.closed);
    EXPECT_EQ(warnings.size(), 1u);

    // Another address logs in as usual.
    Conn other("198.51.100.4:7000");
    EXPECT_EQ(login(other, kGood), uint16_t(Status::Ok));

    // After the block the address may log in again.
    now += 300'000;
    Conn later("203.0.113.9:5002");
    EXPECT_EQ(login(later, kGood), uint16_t(Status::Ok));
}

TEST_F(ThrottledRouter, MalformedTokensCountAsFailuresToo) {
    Conn c("[2001:db8::7]:4000");
    for (int i = 0; i < 3; ++i)
        login(c, "short");
    EXPECT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("2001:db8::7"), std::string::npos);
    Conn d("[2001:db8::7]:4001");
    EXPECT_EQ(login(d, kGood), uint16_t(Status::InvalidToken));
}

// Storage that cannot answer says nothing about the token: the device is told
// SERVER_ERROR (it retries), and its address is not moved toward a block.
TEST_F(ThrottledRouter, FailedLookupsAreServerErrorsAndDoNotCount) {
    loader.result = core::LoadResult::Failed;
    Conn c("192.0.2.50:6000");
    for (int i = 0; i < 10; ++i)
        EXPECT_EQ(login(c, std::string(32, char('a' + i))), uint16_t(Status::ServerError));
    EXPECT_EQ(loader.loads, 10);
    EXPECT_TRUE(warnings.empty());
    EXPECT_FALSE(c.closed);

    // Storage works again: the address logs in at once.
    loader.result = core::LoadResult::Unknown;
    Conn d("192.0.2.50:6001");
    EXPECT_EQ(login(d, kGood), uint16_t(Status::Ok));
}
