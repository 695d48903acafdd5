// The fake Nexmo and FCM providers (tests/integration/lib/fake_providers.js)
// for the notifier plugins' GoogleTest suites: starts the Node server in a
// temporary folder, scripts its answers and reads what it received.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#pragma once

#include <blynk/testing/fake_host.hpp>

#include <boost/json.hpp>

#include <cstdio>
#include <memory>
#include <string>

namespace notify_test {

class FakeProviders {
public:
    FakeProviders();  // check available() and skip with why_not() when false
    ~FakeProviders();
    FakeProviders(const FakeProviders&) = delete;
    FakeProviders& operator=(const FakeProviders&) = delete;

    bool available() const { return port_ != 0; }
    const std::string& why_not() const { return why_not_; }
    std::string base_url() const { return "https://127.0.0.1:" + std::to_string(port_); }
    const std::string& ca_file() const { return ca_; }
    const std::string& service_account_file() const { return service_account_; }
    const std::string& dir() const { return dir_.path(); }

    // Queues answers: {"sms": [...], "token": [...], "push": [...]}, each step
    // {"http": 500, "retryAfter": 1} or {"status": "1"} (SMS) or {"hang": true}.
    void script(const std::string& json);
    void revoke_tokens();  // the access tokens issued so far stop working
    // {"sms": [form...], "tokenRequests": n, "jwtErrors": [...], "pushes": [...], "hung": n}
    boost::json::object state();

private:
    std::string control(const std::string& what, const std::string& body);
    blynk::testing::TempDir dir_{"blynk-fake-providers"};
    FILE* pipe_ = nullptr;
    int pid_ = 0, port_ = 0;
    std::string ca_, service_account_, why_not_;
};

}  // namespace notify_test
