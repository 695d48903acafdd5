// A plugin for the host's SDK 1.2 tests: one file that may be loaded as several
// instances (each with its own settings and route), that writes what events
// it receives (with the device's token) to a file, and whose access-control
// hooks deny what its settings name or take as long as they say.
//
// Settings (all optional):
//   label          its route is GET /probe/<label> and answers "<label> <file>"
//   file           appends one line per event: "login <ok> <email> <token>",
//                  "online <email> <token>", "offline <email> <token>",
//                  "pin <email> <token> <type><pin> <value>"
//   deny_token     its login hook denies this token
//   deny_pin       its write hook denies writes to this pin ("v7")
//   hook_delay_us  each hook call busy-waits this long (a slow hook)
// Used by tests/unit/host/plugin_instances_test.cpp and
// tests/integration/test/sdk12.test.js.
#include <blynk/plugin.hpp>

#include <chrono>
#include <fstream>
#include <string>

namespace {

class InstanceProbe final : public blynk::Plugin {
public:
    void init(const blynk::Settings& s) override {
        s.reject_unknown({"label", "file", "deny_token", "deny_pin", "hook_delay_us"});
        label_ = s.get_string("label", "");
        file_ = s.get_string("file", "");
        deny_token_ = s.get_string("deny_token", "");
        deny_pin_ = s.get_string("deny_pin", "");
        delay_us_ = s.get_int("hook_delay_us", 0, 0, 10'000'000);
        if (!label_.empty())
            route("GET", "/probe/" + label_,
                  [this](const blynk::HttpRequest&, const blynk::Responder& r) { r.text(200, label_ + " " + file_); });
        if (!file_.empty()) std::ofstream(file_, std::ios::app).flush();  // exists once init returns
    }

    unsigned subscriptions() const override {
        return blynk::kLogin | blynk::kDeviceOnline | blynk::kDeviceOffline | blynk::kPinWritten;
    }
    void on_login(const blynk::LoginEvent& e) override {
        line("login " + std::to_string(e.success ? 1 : 0) + " " + std::string(e.email) + " " + std::string(e.token));
    }
    void on_device_online(const blynk::DeviceEvent& e) override {
        line("online " + std::string(e.email) + " " + std::string(e.token));
    }
    void on_device_offline(const blynk::DeviceEvent& e) override {
        line("offline " + std::string(e.email) + " " + std::string(e.token));
    }
    void on_pin_written(const blynk::PinEvent& e) override {
        line("pin " + std::string(e.email) + " " + std::string(e.token) + " " + e.pin_type + std::to_string(e.pin) +
             " " + std::string(e.value));
    }

    unsigned auth_hooks() const override { return blynk::kAuthLogin | blynk::kAuthPinWrite; }
    bool allow_login(const blynk::AuthLogin& rq) override {
        delay();
        return deny_token_.empty() || rq.token != deny_token_;
    }
    bool allow_pin_write(const blynk::AuthWrite& rq) override {
        delay();
        return deny_pin_.empty() || rq.pin_type + std::to_string(rq.pin) != deny_pin_;
    }

private:
    // Busy, not asleep: the kernel thread is held as a slow hook would hold it.
    void delay() const {
        if (!delay_us_) return;
        auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(delay_us_);
        while (std::chrono::steady_clock::now() < until) {
        }
    }
    // Events come from the one event thread, so this needs no lock (docs/plugin-sdk.md, "Threads").
    void line(const std::string& text) {
        if (file_.empty()) return;
        std::ofstream(file_, std::ios::app) << text << "\n";
    }

    std::string label_, file_, deny_token_, deny_pin_;
    int64_t delay_us_ = 0;
};

}  // namespace

BLYNK_PLUGIN(InstanceProbe, "instance-probe", "1.2.0")
