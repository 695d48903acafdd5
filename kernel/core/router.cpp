#include "core/router.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <blynk/widget_properties.hpp>

#include "codec/protocol.hpp"
#include "core/intrusive_list.hpp"

namespace blynk::core {

using codec::Command;
using codec::Status;

using codec::cmd;
using codec::st;
using codec::trim;

namespace {

bool parse_u32(std::string_view s, uint32_t& out) {
    if (s.empty() || s.size() > 9) return false;
    uint32_t v = 0;
    for (char ch : s) {
        if (ch < '0' || ch > '9') return false;
        v = v * 10 + uint32_t(ch - '0');
    }
    out = v;
    return true;
}

}  // namespace

Router::Router(Model& model, RouterSettings settings, std::function<int64_t()> now)
    : model_(model), settings_(std::move(settings)), now_(std::move(now)), throttle_(settings_.login_throttle) {}

uint32_t Router::idle_for_heartbeat(uint32_t seconds) {
    // ceil(2.3 x seconds) in milliseconds, without floating-point surprises.
    uint64_t tenths = uint64_t(seconds) * 23;
    uint64_t secs = (tenths + 9) / 10;
    return uint32_t(std::min<uint64_t>(secs * 1000, 0xFFFFFFFFu));
}

void Router::on_frame(HwRoute& c, const codec::Frame& f) {
    ++frames_received_;
    if (f.command == cmd(Command::Response)) return;  // replies to our requests carry nothing we need
    if (!c.device) {
        if (f.command == cmd(Command::HardwareLogin) || f.command == cmd(Command::Login)) {
            if (!c.login_pending) login(c, f);
            return;
        }
        c.out->reject("command before login");
        return;
    }
    if (settings_.message_quota != 0 && !c.quota.allow(now_(), settings_.message_quota)) {
        c.over_quota = true;
        ++counters.quota_hits;
        if (c.quota.may_report(now_())) c.out->send_status(f.msg_id, st(Status::QuotaLimit));
        return;
    }
    switch (Command(f.command)) {
        case Command::Ping:
            c.out->send_status(f.msg_id, st(Status::Ok));
            break;
        case Command::Hardware:
            hardware(c, f);
            break;
        case Command::HardwareSync:
            sync(c, f);
            break;
        case Command::Bridge:
            bridge(c, f);
            break;
        case Command::BlynkInternal:
            internal(c, f);
            break;
        case Command::SetWidgetProperty:
            set_property(c, f);
            break;
        case Command::HardwareLogin:
        case Command::Login:
            c.out->send_status(f.msg_id, st(Status::UserAlreadyRegistered));
            break;
        case Command::Email:
        case Command::PushNotification:
        case Command::Tweet:
        case Command::Sms:
            notification(c, f);
            break;
        default:
            break;  // codes < 100 without a hardware meaning are ignored, as the legacy server did
    }
}

void Router::login(HwRoute& c, const codec::Frame& f) {
    // A blocked address is refused before its token is even looked at: the
    // answer and its timing say nothing about the token.
    if (throttle_.enabled()) {
        std::string peer = c.out->peer();
        if (throttle_.blocked(peer_address(peer), now_())) {
            ++counters.throttled_logins;
            ++counters.logins[Counters::kHardware][Counters::kLoginFailed];
            c.out->send_status(f.msg_id, st(Status::InvalidToken));
            if (events_) events_->login(false, nullptr, peer, now_());
            return;
        }
    }
    std::string_view token = trim(f.body);
    if (token.size() != 32 || token.find('\0') != std::string_view::npos) {
        refuse_login(c, f.msg_id);
        return;
    }
    if (Device* d = model_.find_token(token)) {
        complete_login(c, *d, f.msg_id);
        return;
    }
    if (!loader_) {
        refuse_login(c, f.msg_id);
        return;
    }
    uint16_t msg_id = f.msg_id;
    std::string tok(token);
    c.login_pending = true;
    HwRoute* conn = &c;
    bool queued = loader_->load(tok, *c.out, [this, conn, msg_id, tok](LoadResult r) {
        conn->login_pending = false;
        if (conn->device) return;
        if (Device* d = model_.find_token(tok))
            complete_login(*conn, *d, msg_id);
        else if (r == LoadResult::Failed) {
            ++counters.logins[Counters::kHardware][Counters::kLoginError];
            conn->out->send_status(msg_id, st(Status::ServerError));  // not the device's fault: no throttle count
        } else {
            refuse_login(*conn, msg_id);
        }
    });
    if (!queued) {
        c.login_pending = false;
        ++counters.logins[Counters::kHardware][Counters::kLoginError];
        c.out->send_status(f.msg_id, st(Status::ServerError));
    }
}

void Router::refuse_login(HwRoute& c, uint16_t msg_id) {
    ++counters.logins[Counters::kHardware][Counters::kLoginFailed];
    c.out->send_status(msg_id, st(Status::InvalidToken));
    if (!events_ && !throttle_.enabled()) return;
    std::string peer = c.out->peer();
    if (events_) events_->login(false, nullptr, peer, now_());
    token_refused(peer);
}

void Router::token_refused(std::string_view peer) {
    if (!throttle_.enabled()) return;
    bool block_started = throttle_.failure(peer_address(peer), now_());
    counters.throttle_blocks += block_started ? 1 : 0;
    if (block_started && settings_.warn) {
        const LoginThrottleSettings& t = throttle_.settings();
        settings_.warn(std::string(peer_address(peer)) + ": " + std::to_string(t.failures) + " refused logins within " +
                       std::to_string(t.window_s) + " s; logins from this address are " + "refused for " +
                       std::to_string(t.block_s) + " s");
    }
}

void Router::complete_login(HwRoute& c, Device& d, uint16_t msg_id) {
    // A plugin's access control may refuse a known token: the device hears
    // what it hears for an unknown one.
    if (access_ && !access_->allow_login(d, c.out->peer())) {
        refuse_login(c, msg_id);
        return;
    }
    ++counters.logins[Counters::kHardware][Counters::kLoginOk];
    c.device = &d;
    link_front(d.online, c, &HwRoute::prev_on_device, &HwRoute::next_on_device);
    ++d.online_count;
    if (settings_.idle_timeout_s) c.idle_timeout_ms = idle_for_heartbeat(settings_.idle_timeout_s);
    int64_t now = now_();
    d.connect_ms = now;
    d.last_ip = c.out->peer();
    if (auto colon = d.last_ip.rfind(':'); colon != std::string::npos) d.last_ip.resize(colon);
    d.state_dirty = true;
    mark_dirty(d);
    c.out->send_status(msg_id, st(Status::Ok));
    if (events_) {
        events_->login(true, &d, c.out->peer(), now);
        if (d.online_count == 1) events_->device_online(d, c.out->peer(), now);
    }
    if (apps_) apps_->hardware_connected(d, c, msg_id);
}

HwRoute& Router::open(HwOutput& out) {
    return *new HwRoute(out);
}

void Router::on_close(HwRoute& c) {
    leave_device(c);
}

void Router::release(HwRoute& c) {
    leave_device(c);
    delete &c;
}

void Router::leave_device(HwRoute& c) {
    Device* d = c.device;
    if (!d) return;
    unlink(d->online, c, &HwRoute::prev_on_device, &HwRoute::next_on_device);
    c.device = nullptr;
    if (--d->online_count == 0) {
        int64_t now = now_();
        d->disconnect_ms = now;
        d->state_dirty = true;
        mark_dirty(*d);
        if (events_) events_->device_offline(*d, c.out->peer(), now);
        if (apps_) apps_->hardware_disconnected(*d);
        device_went_offline(*d, now);
    }
}

void Router::mark_dirty(Device& d) {
    if (d.dirty_pins_listed) return;
    d.dirty_pins_listed = true;
    dirty_.push_back(&d);
}

uint16_t Router::parse_write(std::string_view body, PinWrite& w) {
    std::string_view f[3];
    size_t n = codec::split_fields(body, f, 3);
    if (n < 3 || f[0].size() != 2 || f[0][1] != 'w') return st(Status::IllegalCommand);
    w.type = f[0][0];
    if (!codec::parse_pin(f[1], w.pin)) return st(Status::IllegalCommand);
    w.value = f[2];
    w.wire = body;
    return 0;
}

uint16_t Router::store_write(Device& target, const PinWrite& w) {
    char type = codec::pin_type(w.type);
    // Never empty, and it must fit in one hardware frame as `<t>w\0pin\0value`.
    size_t wire_size = 4 + (w.pin >= 100 ? 3 : w.pin >= 10 ? 2 : 1) + w.value.size();
    if (!type || w.value.empty() || wire_size > 0xFFFF) return st(Status::IllegalCommand);
    uint16_t key = pin_key(type, w.pin);
    // A write a plugin's access control denies is neither stored nor routed.
    if (access_ && !access_->allow_write(target, key, w.value, w.source)) return st(Status::NotAllowed);
    int64_t now = now_();
    PinValue& pv = target.pin(key);
    pv.value.assign(w.value.data(), w.value.size());
    pv.updated_ms = now;
    pv.dirty = true;
    target.data_received_ms = now;
    mark_dirty(target);
    if (events_ && events_->wants_pin_events()) events_->pin_written(target, key, pv.value, now);
    if (history_ && w.source != WriteSource::App) history_->record(target, key, pv.value, now);
    return 0;
}

bool Router::fits_buffer(const HwRoute& c, std::string_view body) const {
    uint32_t limit = c.buff_in ? c.buff_in : settings_.default_buff_in;
    return body.size() + codec::kHardwareHeader <= limit;
}

std::string_view Router::wire_of(const PinWrite& w) {
    if (!w.wire.empty()) return w.wire;
    scratch_.clear();
    scratch_.push_back(w.type);
    scratch_.push_back('w');
    scratch_.push_back('\0');
    char num[4];
    int len = std::snprintf(num, sizeof num, "%u", unsigned(w.pin));
    scratch_.append(num, size_t(len));
    scratch_.push_back('\0');
    scratch_.append(w.value.data(), w.value.size());
    return scratch_;
}

uint16_t Router::write_pin(Device& d, const PinWrite& w) {
    bool delivered = false;
    return write_pin(d, w, delivered);
}

uint16_t Router::write_pin(Device& d, const PinWrite& w, bool& delivered) {
    delivered = false;
    if (uint16_t err = store_write(d, w)) return err;
    std::string_view body = wire_of(w);
    if (w.source == WriteSource::Api || w.source == WriteSource::App)
        for (HwRoute* o = d.online; o; o = o->next_on_device) {
            if (!fits_buffer(*o, body)) continue;
            o->out->send(cmd(Command::Hardware), w.msg_id, body);
            delivered = true;
        }
    if (apps_ && w.source != WriteSource::App) apps_->hardware_write(d, w.msg_id, body);
    return 0;
}

void Router::hardware(HwRoute& c, const codec::Frame& f) {
    if (f.body.size() < 4) {
        c.out->send_status(f.msg_id, st(Status::IllegalCommand));
        return;
    }
    if (f.body[1] != 'w') return;  // dr/vr/pm from a device mean nothing to the server
    PinWrite w;
    uint16_t err = parse_write(f.body, w);
    if (!err) {
        w.source = WriteSource::Hardware;
        w.msg_id = f.msg_id;
        err = write_pin(*c.device, w);
    }
    if (err) c.out->send_status(f.msg_id, err);
}

void Router::send_sync_frame(HwRoute& c, uint16_t msg_id, const PinValue& p) {
    PinWrite w;
    w.type = key_type(p.key);
    w.pin = key_pin(p.key);
    w.value = p.value;
    std::string_view body = wire_of(w);
    if (fits_buffer(c, body)) c.out->send(cmd(Command::Hardware), msg_id, body);
}

void Router::sync(HwRoute& c, const codec::Frame& f) {
    Device& d = *c.device;
    if (f.body.empty()) {
        for (const PinValue& p : d.pins)
            if (!p.value.empty()) send_sync_frame(c, f.msg_id, p);
        return;
    }
    // `vr\0p1\0p2...` (also dr / ar)
    std::string_view body = f.body;
    size_t z = body.find('\0');
    if (z == std::string_view::npos || z != 2 || body[1] != 'r') {
        c.out->send_status(f.msg_id, st(Status::IllegalCommand));
        return;
    }
    char type = codec::pin_type(body[0]);
    if (!type) {
        c.out->send_status(f.msg_id, st(Status::IllegalCommand));
        return;
    }
    body.remove_prefix(3);
    while (true) {
        size_t next = body.find('\0');
        std::string_view field = body.substr(0, next);
        uint8_t pin = 0;
        if (!codec::parse_pin(field, pin)) {
            c.out->send_status(f.msg_id, st(Status::IllegalCommand));
            return;
        }
        if (const PinValue* p = d.find_pin(pin_key(type, pin)); p && !p->value.empty())
            send_sync_frame(c, f.msg_id, *p);
        if (next == std::string_view::npos) break;
        body.remove_prefix(next + 1);
    }
}

void Router::bridge(HwRoute& c, const codec::Frame& f) {
    std::string_view fields[3];
    size_t n = codec::split_fields(f.body, fields, 3);
    if (n < 3 || fields[0].empty() || fields[1].empty() || fields[2].empty()) {
        c.out->send_status(f.msg_id, st(Status::IllegalCommand));
        return;
    }
    std::string_view pin = fields[0];
    if (fields[1] == "i") {
        std::string_view token = trim(fields[2]);
        if (token.size() != 32 || token.find('\0') != std::string_view::npos) {
            c.out->send_status(f.msg_id, st(Status::NotAllowed));
            return;
        }
        if (Device* target = model_.find_token(token)) {
            bridge_init(c, f.msg_id, pin, target);
            return;
        }
        if (!loader_) {
            c.out->send_status(f.msg_id, st(Status::NotAllowed));
            return;
        }
        uint16_t msg_id = f.msg_id;
        std::string tok(token), bpin(pin);
        HwRoute* conn = &c;
        if (!loader_->load(tok, *c.out, [this, conn, msg_id, tok, bpin](LoadResult r) {
                if (!conn->device) return;
                Device* target = model_.find_token(tok);
                if (!target && r == LoadResult::Failed)
                    conn->out->send_status(msg_id, st(Status::ServerError));  // storage could not say
                else
                    bridge_init(*conn, msg_id, bpin, target);
            }))
            c.out->send_status(f.msg_id, st(Status::ServerError));
        return;
    }
    // A write through an initialised bridge pin: the body minus the first field.
    BridgeChannel* ch = nullptr;
    if (c.bridges)
        for (auto& b : *c.bridges)
            if (b.pin == pin) ch = &b;
    if (!ch || !ch->target || ch->target->removed) {
        c.out->send_status(f.msg_id, st(Status::NotAllowed));
        return;
    }
    std::string_view sub = f.body.substr(pin.size() + 1);
    if (sub.size() < 2 || sub[1] != 'w') {
        c.out->send_status(f.msg_id, st(Status::IllegalCommand));
        return;
    }
    Device& target = *ch->target;
    PinWrite w;
    uint16_t err = parse_write(sub, w);
    w.source = WriteSource::Bridge;
    w.msg_id = f.msg_id;
    if (!err) err = store_write(target, w);
    if (err) {
        c.out->send_status(f.msg_id, err);
        return;
    }
    size_t delivered = 0;
    for (HwRoute* o = target.online; o; o = o->next_on_device) {
        if (o == &c) continue;
        if (!fits_buffer(*o, sub)) continue;
        o->out->send(cmd(Command::Bridge), f.msg_id, sub);
        ++delivered;
    }
    if (!delivered) c.out->send_status(f.msg_id, st(Status::DeviceNotInNetwork));
    if (apps_) apps_->hardware_write(target, f.msg_id, sub);
}

void Router::api_property(Device& d, uint8_t pin, std::string_view property, std::string_view value) {
    d.set_property(pin_key('v', pin), property, value);
    d.state_dirty = true;
    mark_dirty(d);
    if (!apps_) return;
    scratch_ = std::to_string(pin);
    scratch_.push_back('\0');
    scratch_.append(property.data(), property.size());
    scratch_.push_back('\0');
    scratch_.append(value.data(), value.size());
    apps_->widget_property(d, codec::msgid::kHttpApi, scratch_);
}

void Router::bridge_init(HwRoute& c, uint16_t msg_id, std::string_view pin, Device* target) {
    // Only devices of the same user can be bridged.
    if (!target || target->user != c.device->user) {
        c.out->send_status(msg_id, st(Status::NotAllowed));
        return;
    }
    if (!c.bridges) c.bridges = std::make_unique<std::vector<BridgeChannel>>();
    for (auto& b : *c.bridges)
        if (b.pin == pin) {
            b.target = target;
            c.out->send_status(msg_id, st(Status::Ok));
            return;
        }
    if (c.bridges->size() >= settings_.max_bridges || pin.size() > 32) {
        c.out->send_status(msg_id, st(Status::NotAllowed));
        return;
    }
    c.bridges->push_back({std::string(pin), target});
    c.out->send_status(msg_id, st(Status::Ok));
}

void Router::internal(HwRoute& c, const codec::Frame& f) {
    std::string_view body = f.body;
    std::string_view first = body.substr(0, body.find('\0'));
    if (first == "rtc") {
        // The legacy server answered only with an RTC widget; without an app
        // to add one, the device gets UTC, which is what it needs.
        scratch_ = "rtc";
        scratch_.push_back('\0');
        scratch_ += std::to_string(now_() / 1000);
        c.out->send(cmd(Command::BlynkInternal), f.msg_id, scratch_);
        return;
    }
    if (first == "acon" || first == "adis" || first == "ota" || first.empty()) return;
    // An info list (`ver`, `h-beat`, ... or the 1.x `mcu`, ...): key/value pairs.
    Device& d = *c.device;
    d.hardware_info.assign(body.data(), body.size());
    d.state_dirty = true;
    mark_dirty(d);
    while (!body.empty()) {
        size_t z = body.find('\0');
        std::string_view key = body.substr(0, z);
        if (z == std::string_view::npos) break;
        body.remove_prefix(z + 1);
        size_t z2 = body.find('\0');
        std::string_view value = body.substr(0, z2);
        body.remove_prefix(z2 == std::string_view::npos ? body.size() : z2 + 1);
        uint32_t v = 0;
        if (key == "h-beat" && parse_u32(value, v) && v > 0 && settings_.idle_timeout_s != 0)
            c.idle_timeout_ms = idle_for_heartbeat(v);
        else if (key == "buff-in" && parse_u32(value, v))
            c.buff_in = uint16_t(std::min<uint32_t>(v, 0xFFFF));
        else if (key == "dev" && !value.empty() && d.board_type.empty())
            d.board_type.assign(value.data(), value.size());
    }
    c.out->send_status(f.msg_id, st(Status::Ok));
}

void Router::set_property(HwRoute& c, const codec::Frame& f) {
    std::string_view fields[3];
    size_t n = codec::split_fields(f.body, fields, 3);
    uint8_t pin = 0;
    if (n < 3 || fields[1].empty() || fields[2].empty() || !blynk::is_widget_property(fields[1]) ||
        !codec::parse_pin(fields[0], pin)) {
        c.out->send_status(f.msg_id, st(Status::IllegalCommandBody));
        return;
    }
    Device& d = *c.device;
    d.set_property(pin_key('v', pin), fields[1], fields[2]);
    d.state_dirty = true;
    mark_dirty(d);
    c.out->send_status(f.msg_id, st(Status::Ok));
    if (apps_) apps_->widget_property(d, f.msg_id, f.body);
}

}  // namespace blynk::core
