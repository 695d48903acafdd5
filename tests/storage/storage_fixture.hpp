// The storage suite's fixture: each test runs once per storage plugin
// (INSTANTIATE_STORAGE_SUITE), on a fresh store, through the plugin's C table
// as the kernel calls it.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#pragma once

#include "storage_backend.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace storage_suite {

using Loaded = blynk::testing::RecordingSink;
using namespace std::string_literals;

class StorageSuite : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        Backend& b = backend(GetParam());
        std::string why = b.unavailable();
        if (!why.empty()) {
            if (std::getenv("BLYNK_TEST_PG_REQUIRED") || std::getenv("CI")) FAIL() << why;
            GTEST_SKIP() << why;
        }
        std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
        test = test.substr(0, test.find('/'));
        auto r = b.open_fresh(test);
        ASSERT_EQ(r.status, BLYNK_OK) << r.message;
    }
    blynk::testing::PluginUnderTest& P() { return backend(GetParam()).plugin(); }
    blynk::testing::FakeHost& host() { return backend(GetParam()).host(); }
    const blynk_storage_v1& S() { return *P().storage(); }
    void* self() { return P().table()->self; }

    // Whether the plugin keeps history (SDK 1.4); tests of history skip otherwise.
    bool keeps_history() {
        const blynk_storage_v1* s = P().storage();
        return BLYNK_HAS_FIELD(s, import_history) && s->put_points != nullptr;
    }

    static blynk::User user(const std::string& email) {
        blynk::User u;
        u.email = email;
        u.name = "Name of " + email;
        u.pass_hash = "hash\0with nul"s;
        u.created_at_ms = 1700000000000;
        u.json = R"({"region":"local"})";
        u.energy = 2000;
        return u;
    }
    static blynk::Dash dash(const std::string& email, int32_t id) {
        blynk::Dash d;
        d.email = email;
        d.dash_id = id;
        d.name = "Dash " + std::to_string(id);
        d.is_active = true;
        d.created_at_ms = 1700000000001;
        d.json = R"({"widgets":[]})";
        return d;
    }
    static blynk::Device device(const std::string& email, int32_t dash_id, int32_t id, const std::string& token) {
        blynk::Device d;
        d.email = email;
        d.dash_id = dash_id;
        d.device_id = id;
        d.name = "Device " + std::to_string(id);
        d.token = token;
        d.board_type = "ESP32";
        d.created_at_ms = 1700000000002;
        d.last_ip = "10.0.0.7";
        d.hardware_info =
            "ver\0"
            "1.0"s;
        d.json = R"({"iconName":"x"})";
        return d;
    }
    static blynk::Pin pin(const std::string& email, int32_t dash_id, int32_t dev, char type, uint8_t n,
                          std::string value, std::string prop = "") {
        blynk::Pin p;
        p.email = email;
        p.dash_id = dash_id;
        p.device_id = dev;
        p.pin_type = type;
        p.pin = n;
        p.value = std::move(value);
        p.property = std::move(prop);
        p.updated_at_ms = 1700000000100;
        return p;
    }
    // A user with one dashboard and one device holding `token`.
    void seed(const std::string& email, const std::string& token, int32_t dash_id = 1, int32_t dev = 0) {
        ASSERT_TRUE(P().put_user(user(email), true).ok());
        ASSERT_TRUE(P().put_dash(dash(email, dash_id)).ok());
        auto r = P().put_device(device(email, dash_id, dev, token));
        ASSERT_TRUE(r.ok()) << r.message;
    }
};

std::string backend_name(const ::testing::TestParamInfo<std::string>& info);

}  // namespace storage_suite

#define INSTANTIATE_STORAGE_SUITE(Suite) \
    INSTANTIATE_TEST_SUITE_P(Plugins, Suite, ::testing::Values("sqlite", "postgres"), storage_suite::backend_name)
