// Fuzzes the app side of the kernel (core::AppHub) together with the router:
// up to four app connections (each either TLS app frames, cut from a byte
// stream, or /dashws messages, one per chunk) and three device connections,
// over a model of me@example.com (dashboard 1 with devices A and B, widgets, a
// tag and a device selector; dashboard 2, shared, with device D) and
// other@example.com (device C); a fake backend (storage and the hashing pool)
// answers each call right after the hub returns, or fails, or finds its queue
// full. Besides raw bytes, an op sends one of a table of well-formed commands
// (logins with the right password or share token, dashboards, widgets,
// devices, tags, writes, sharing, clone codes...) with fields from the input,
// so the fuzzer reaches the deep states quickly.
//
// Input: two setting bytes, then operations (LLVMFuzzerTestOneInput below).
//
// Invariants checked on every message:
//  - nothing is sent on a closed connection;
//  - no frame to a device has message id 0 (unless the app's frame that caused
//    it had id 0, which the transport then rewrites; the harness sends no id 0
//    unless setting bit 7 is on);
//  - every status, and every answer to a request, carries the id of the frame
//    that caused it (server pushes: APP_SYNC 1111, DEVICE_NOT_IN_NETWORK 1 on
//    ACTIVATE, DEVICE_OFFLINE 0);
//  - an app session hears only of its own user's devices and apps, and a
//    shared session only of its one dashboard; a shared session's profile
//    holds no device token;
//  - bounded memory: sessions = open connections, dashboards, widgets, tags
//    and devices within the limits, each step's output bounded.
#include <string>
#include <vector>

#include "codec/frame.hpp"
#include "codec/protocol.hpp"
#include "core/secrets.hpp"
#include "fuzz_app_session_world.hpp"
#include "fuzz_util.hpp"

using namespace blynk;
using namespace blynk::fuzz::app_session;

namespace {

// --- the table of well-formed commands (op 7)

std::string join(std::initializer_list<std::string> parts) {
    std::string out;
    bool first = true;
    for (auto& p : parts) {
        if (!first) out.push_back('\0');
        first = false;
        out += p;
    }
    return out;
}

void canned(World& w, FakeApp& a, fuzz::Input& in) {
    uint8_t kind = in.byte();
    uint8_t x = in.byte(), y = in.byte();
    uint16_t id = uint16_t(in.byte() + 1);
    std::string dash = std::to_string(x % 4), dev = std::to_string(y % 3);
    const std::string emails[] = {"me@example.com", "other@example.com", "late@example.com", "new@example.com"};
    const std::string& email = emails[x % 4];
    auto send = [&](Command c, const std::string& body) { w.app_message(a, uint8_t(c), id, body); };
    switch (kind % 28) {
        case 0:
            return send(Command::Login,
                        join({email, core::legacy_pass_hash(email, (y & 1) ? "wrong" : kPassword), "Android", "2"}));
        case 1: {
            core::User* me = w.model.find_user("me@example.com");
            core::Dashboard* d = me ? me->find_dash(x % 3) : nullptr;
            std::string token = d && !d->share_token.empty() ? d->share_token : kShareToken;
            return send(Command::ShareLogin, join({"me@example.com", token, "ios", "2"}));
        }
        case 2:
            return send(Command::Register, join({email, core::legacy_pass_hash(email, kPassword), "Blynk"}));
        case 3:
            return send(Command::Hardware, join({dash + "-" + dev, (y & 4) ? "dw" : "vw", std::to_string(x), "1"}));
        case 4:
            return send(Command::Hardware, join({dash + "-100001", "vw", "1", std::to_string(y)}));
        case 5:
            return send(Command::Hardware, join({dash + "-200001", "vw", "2", "x"}));
        case 6:
            return send(Command::Hardware, join({dash, "vu", "200001", dev}));
        case 7:
            return send(Command::ActivateDashboard, dash);
        case 8:
            return send(Command::DeactivateDashboard, (y & 1) ? dash : "");
        case 9:
            return send(Command::AppSync, (y & 1) ? dash + "-" + dev : dash);
        case 10:
            return send(Command::CreateDash, R"({"id":)" + dash + R"(,"name":"n","devices":[{"id":)" + dev +
                                                 R"(,"name":"x"}],"widgets":[{"id":7,"type":"LED","width":1,)"
                                                 R"("height":1,"pin":)" +
                                                 std::to_string(y) + R"(,"pinType":"ANALOG"}]})");
        case 11:
            return send(Command::DeleteDash, dash);
        case 12:
            return send(Command::CreateWidget, join({dash, R"({"id":)" + std::to_string(y) +
                                                               R"(,"type":"BUTTON","width":1,"height":1,"pin":)" +
                                                               std::to_string(x) + R"(,"pinType":"DIGITAL"})"}));
        case 13:
            return send(Command::DeleteWidget, join({dash, std::to_string(y)}));
        case 14:
            return send(Command::CreateDevice, join({dash, R"({"id":)" + dev + R"(,"name":"n"})"}));
        case 15:
            return send(Command::DeleteDevice, join({dash, dev}));
        case 16:
            return send(Command::RefreshToken, join({dash, dev}));
        case 17:
            return send(Command::CreateTag, join({dash, R"({"id":10000)" + std::to_string(y % 4) + R"(,"name":"t)" +
                                                            std::to_string(y) + R"(","deviceIds":[0,1,2]})"}));
        case 18:
            return send(Command::GetShareToken, dash);
        case 19:
            return send(Command::RefreshShareToken, dash);
        case 20:
            return send(Command::Sharing, join({dash, (y & 1) ? "on" : "off"}));
        case 21:
            return send(Command::LoadProfileGzipped, (y & 1) ? dash : "");
        case 22:
            return send(Command::GetCloneCode, dash);
        case 23:
            return send(Command::GetProjectByCloneCode,
                        (y & 1) ? join({w.backend.last_clone, "new"}) : w.backend.last_clone);
        case 24:
            return send(Command::SetWidgetProperty, join({dash, std::to_string(y % 4), "label", "L"}));
        case 25:
            return send(Command::GetDevices, dash);
        case 26:
            return send(Command::AddPushToken, join({dash, "uid" + std::to_string(y), "tok"}));
        default:
            return send(Command::Logout, "");
    }
}

// A device logs in with the token of a device the model has (after refreshes too).
void device_login(World& w, FakeDevice& d, uint8_t pick) {
    std::vector<std::string> tokens = {kTokenA, kTokenB, kTokenC, kTokenD, kTokenL};
    w.model.for_each_user([&](const core::User& u) {
        for (auto& dev : u.devices)
            if (!dev->removed) tokens.push_back(dev->token);
    });
    std::string frame;
    codec::encode_hardware(frame, uint8_t(Command::HardwareLogin), 1, tokens[pick % tokens.size()]);
    w.device_bytes(d, frame);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::Input in(data, size);
    uint8_t s0 = in.byte(), s1 = in.byte();
    World w(s0, s1);

    // Op byte: low 3 bits the kind, bits 3-4 a slot, bit 7 a variant.
    while (!in.empty()) {
        uint8_t op = in.byte();
        size_t slot = ((op >> 3) & 3) % kAppSlots;
        FakeApp& a = *w.apps[slot];
        switch (op & 7) {
            case 0:
            case 1: {  // bytes from an app: a TLS byte stream, or one /dashws message
                std::string_view chunk = in.chunk();
                if (!a.websocket()) {
                    w.app_bytes(a, chunk);
                } else if (chunk.size() < 3) {
                    w.reject_app(a, "app websocket message shorter than its header");
                } else {
                    w.app_message(a, uint8_t(chunk[0]), uint16_t((uint8_t(chunk[1]) << 8) | uint8_t(chunk[2])),
                                  chunk.substr(3));
                }
                break;
            }
            case 2: {  // bytes from a device
                FakeDevice& d = *w.devices[((op >> 3) & 3) % kDeviceSlots];
                w.device_bytes(d, in.chunk());
                break;
            }
            case 3:  // an app connection closes; a new one (TLS or /dashws) takes its slot
                w.close_app(a);
                if (w.app_conns.size() < kMaxConnections) w.apps[slot] = w.open_app((op & 0x80) != 0);
                break;
            case 4: {  // a device connection closes and a new one logs in (or not)
                FakeDevice*& d = w.devices[((op >> 3) & 3) % kDeviceSlots];
                w.close_device(*d);
                if (w.device_conns.size() < kMaxConnections) d = w.open_device();
                if (op & 0x80) device_login(w, *d, in.byte());
                break;
            }
            case 5: {  // the clock moves (10 ms steps, or minutes)
                uint8_t t = in.byte();
                w.now_ms += t < 200 ? int64_t(t) * 10 : int64_t(t - 199) * 60000;
                break;
            }
            case 6: {  // the backend starts or stops failing, or its queues fill up
                uint8_t b = in.byte();
                w.backend.fail = (b & 1) != 0;
                w.backend.full = (b & 2) != 0;
                break;
            }
            case 7:  // a well-formed command
                canned(w, a, in);
                break;
        }
    }
    // Shutdown: every connection closes; nobody stays listed.
    for (auto& c : w.app_conns)
        w.close_app(*c);
    for (auto& c : w.device_conns)
        w.close_device(*c);
    w.model.for_each_user([](const core::User& u) { FUZZ_CHECK(u.apps == nullptr); });
    return 0;
}
