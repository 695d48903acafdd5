#include "host/auth_gate.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "core/model.hpp"
#include "host/table_field.hpp"

namespace blynk::host {

AuthGate::AuthGate(AuthSettings settings, std::function<int64_t()> now_us)
    : settings_(settings), now_us_(std::move(now_us)) {}

int64_t AuthGate::steady_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void AuthGate::add(std::string name, void* self, const blynk_auth_v1* table) {
    Hook h;
    h.name = std::move(name);
    h.self = self;
    h.login = field_or_null(table, &blynk_auth_v1::login);
    h.pin_write = field_or_null(table, &blynk_auth_v1::pin_write);
    if (h.login || h.pin_write) hooks_.push_back(std::move(h));
}

bool AuthGate::switched_off(const std::string& name) const {
    for (auto& h : hooks_)
        if (h.name == name) return h.off;
    return false;
}

size_t AuthGate::hooks_switched_off() const {
    size_t n = 0;
    for (auto& h : hooks_)
        n += h.off ? 1 : 0;
    return n;
}

template <class Call>
bool AuthGate::ask(Hook& h, Call&& call) {
    if (h.off) return settings_.fail_open;
    int64_t start = now_us_();
    int verdict = call();
    account(h, start, now_us_() - start);
    // Anything but an explicit allow denies: a confused hook must not open the door.
    return verdict == BLYNK_AUTH_ALLOW;
}

void AuthGate::account(Hook& h, int64_t start_us, int64_t took_us) {
    if (start_us - h.period_start_us >= settings_.period_us) {
        if (h.overruns > 1)
            spdlog::warn(
                "plugin '{}': access hook over its budget of {} us in {} of {} calls in the last {} s "
                "(slowest {} us)",
                h.name, settings_.budget_us, h.overruns, h.calls, settings_.period_us / 1'000'000, h.slowest_us);
        h.period_start_us = start_us;
        h.calls = h.overruns = 0;
        h.slowest_us = 0;
    }
    ++h.calls;
    if (took_us > h.slowest_us) h.slowest_us = took_us;
    if (took_us <= settings_.budget_us) return;
    if (++h.overruns == 1)
        spdlog::warn(
            "plugin '{}': access hook took {} us, over its budget of {} us ([plugins] auth_budget_us); "
            "it runs inline in the login and write paths",
            h.name, took_us, settings_.budget_us);
    if (h.overruns > settings_.max_overruns) {
        h.off = true;
        spdlog::error(
            "plugin '{}': access hook switched off: over its budget of {} us in {} of {} calls within {} s "
            "(slowest {} us; [plugins] auth_max_overruns = {}); until restart, what it was asked is {} "
            "([plugins] auth_fail = \"{}\")",
            h.name, settings_.budget_us, h.overruns, h.calls, settings_.period_us / 1'000'000, h.slowest_us,
            settings_.max_overruns, settings_.fail_open ? "allowed" : "denied",
            settings_.fail_open ? "open" : "closed");
    }
}

namespace {
blynk_str sv(const std::string& s) {
    return blynk_str{s.data(), s.size()};
}
blynk_str sv(std::string_view s) {
    return blynk_str{s.data(), s.size()};
}
uint32_t source_code(core::WriteSource s) {
    switch (s) {
        case core::WriteSource::Bridge:
            return BLYNK_WRITE_BRIDGE;
        case core::WriteSource::Api:
            return BLYNK_WRITE_API;
        default:
            return BLYNK_WRITE_HARDWARE;
    }
}

// A login's or a write's request with the fields naming the device filled in.
template <class Request>
Request request_about(const core::Device& d) {
    Request rq{};
    rq.size = sizeof rq;
    rq.token = sv(d.token);
    rq.email = sv(d.user->email);
    rq.dash_id = d.dash_id;
    rq.device_id = d.id;
    return rq;
}
}  // namespace

bool AuthGate::allow_login(const core::Device& d, std::string_view peer) {
    auto rq = request_about<blynk_auth_login>(d);
    rq.peer = sv(peer);
    for (auto& h : hooks_)
        if (h.login && !ask(h, [&] { return h.login(h.self, &rq); })) return false;
    return true;
}

bool AuthGate::allow_write(const core::Device& d, uint16_t key, std::string_view value, core::WriteSource source) {
    auto rq = request_about<blynk_auth_write>(d);
    rq.pin_type = core::key_type(key);
    rq.pin = core::key_pin(key);
    rq.value = sv(value);
    rq.source = source_code(source);
    for (auto& h : hooks_)
        if (h.pin_write && !ask(h, [&] { return h.pin_write(h.self, &rq); })) return false;
    return true;
}

}  // namespace blynk::host
