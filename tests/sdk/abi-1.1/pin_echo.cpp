// abi11-plugin: a plugin built against the frozen ABI 1.1 SDK headers
// (tests/sdk/abi-1.1/include, copied from the commit before "SDK 1.2"), to
// prove that a server speaking a later 1.x ABI still loads and feeds it: the
// 1.1 additions (an HTTP route, the kernel's device model) and events.
//
//   GET /abi11/{token}/{pin}   the stored value of virtual pin {pin}, read
//                              through the 1.1 kernel functions ("-" if none)
//   pin writes                 appended to the file of its setting `file` as
//                              "<email> v<pin> <value>"
#include <blynk/plugin.hpp>

#include <fstream>
#include <stdexcept>
#include <string>

// Built against the 1.1 headers only (the include path reaches nothing else).
static_assert(BLYNK_ABI_MAJOR == 1u && BLYNK_ABI_MINOR == 1u, "abi11-plugin must be built against the ABI 1.1 SDK");

namespace {

class PinEcho final : public blynk::Plugin {
public:
    PinEcho() {
        route("GET", "/abi11/{token}/{pin}", [this](const blynk::HttpRequest& q, const blynk::Responder& r) {
            std::string token(q.params[0]);
            int pin = std::stoi(std::string(q.params[1]));
            kernel().resolve_token(token, [this, token, pin, r](bool found) {
                if (!found) return r.text(400, "Invalid token.");
                auto v = kernel().pin_read(token, 'v', uint8_t(pin));
                r.text(200, v ? *v : "-");
            });
        });
    }
    void init(const blynk::Settings& settings) override {
        settings.reject_unknown({"file"});
        file_ = settings.get_string("file", "");
        if (file_.empty()) throw blynk::SettingsError("'file' must be set");
        std::ofstream(file_, std::ios::app).flush();
        host().info("abi11-plugin: built for ABI 1.1, host offers 1." + std::to_string(host().raw()->abi_minor));
    }
    unsigned subscriptions() const override { return blynk::kPinWritten; }
    // The event thread only: no lock needed.
    void on_pin_written(const blynk::PinEvent& ev) override {
        std::ofstream(file_, std::ios::app) << ev.email << " " << ev.pin_type << int(ev.pin) << " " << ev.value << "\n";
    }

private:
    std::string file_;
};

}  // namespace

BLYNK_PLUGIN(PinEcho, "abi11-plugin", "1.1.0")
