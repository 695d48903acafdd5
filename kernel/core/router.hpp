// The hardware side of routing: what the server does with every frame a
// device sends, independent of the transport (TCP, TLS, later websockets).
// Every call happens on the kernel's one loop thread, so nothing here takes a
// lock (docs/architecture.md, "Threads"; how users would be spread over several
// loop threads is written there too).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codec/frame.hpp"
#include "codec/protocol.hpp"
#include "core/counters.hpp"
#include "core/model.hpp"
#include "core/notification_rules.hpp"
#include "core/notify.hpp"
#include "core/quota.hpp"
#include "core/reset_tokens.hpp"
#include "core/throttle.hpp"

namespace blynk::core {

struct BridgeChannel {
    std::string pin;  // the bridge's own pin name, as the device sent it
    Device* target = nullptr;
};

// A hardware connection as the router sees it: output only. Frames appended
// here are flushed once per loop turn; what the router knows about the
// connection is its HwRoute.
class HwOutput {
public:
    // Appends a frame to the connection's output; flushed once per loop turn.
    // A message id of 0 is never sent to a device (libraries drop the link).
    virtual void send(uint8_t command, uint16_t msg_id, std::string_view body) = 0;
    virtual void send_status(uint16_t msg_id, uint16_t status) = 0;
    // Closes the connection; the router's on_close follows.
    virtual void close(std::string_view reason) = 0;
    // Closes it for breaking the protocol, with a warning naming the peer.
    virtual void reject(std::string_view reason) = 0;
    virtual bool is_closed() const = 0;
    virtual std::string peer() const = 0;
    // An answer will come later (a notification's send): the connection
    // object stays allocated, closed or not, until the matching unhold.
    virtual void hold() {}
    virtual void unhold() {}

protected:
    ~HwOutput() = default;
};

// The router's state for one hardware connection, from Router::open to
// Router::release (when the connection object is freed). The connection reads it (its sweep
// checks the login and the idle timeout; a dropped frame pauses reading)
// and clears over_quota; everything else is the router's.
struct HwRoute {
    explicit HwRoute(HwOutput& o) : out(&o) {}
    HwOutput* out;
    Device* device = nullptr;  // set once logged in
    HwRoute* next_on_device = nullptr;
    HwRoute* prev_on_device = nullptr;
    uint32_t idle_timeout_ms = 0;  // 0 = never
    uint16_t buff_in = 0;          // what the device can receive; 0 = not reported
    bool login_pending = false;
    bool over_quota = false;  // set when a frame was dropped for the quota; the transport may pause reading
    QuotaMeter quota;
    // The last accepted notification of each kind (HwNotifyKind), for the
    // per-connection frequency limit.
    int64_t last_notify_ms[kHwNotifyKinds] = {};
    std::unique_ptr<std::vector<BridgeChannel>> bridges;  // only once a bridge is set up
};

// Where app sessions plug in (core::AppHub): hardware activity fans out here.
class AppFanout {
public:
    virtual ~AppFanout() = default;
    // After the device heard its login's OK on `conn`.
    virtual void hardware_connected(Device&, HwRoute& conn, uint16_t msg_id) = 0;
    virtual void hardware_disconnected(Device&) = 0;
    // A write the apps must see as HARDWARE (`<t>w\0pin\0value`).
    virtual void hardware_write(Device&, uint16_t msg_id, std::string_view body) = 0;
    // A widget property set by the device or the HTTP API (`pin\0property\0value`).
    virtual void widget_property(Device&, uint16_t msg_id, std::string_view body) = 0;
};

// Events for plugins (device online/offline, pin written, login).
class EventSink {
public:
    virtual ~EventSink() = default;
    virtual bool wants_pin_events() const = 0;
    virtual void device_online(const Device&, std::string_view peer, int64_t at_ms) = 0;
    virtual void device_offline(const Device&, std::string_view peer, int64_t at_ms) = 0;
    virtual void pin_written(const Device&, uint16_t key, std::string_view value, int64_t at_ms) = 0;
    virtual void login(bool ok, const Device*, std::string_view peer, int64_t at_ms) = 0;
};

// Where the values devices write go to become history (host::HistoryWriteBehind).
// Called on the loop thread for every stored write but an app's (the legacy
// server charted what devices wrote, never what apps sent them); must be cheap.
class HistoryRecorder {
public:
    virtual ~HistoryRecorder() = default;
    virtual void record(const Device&, uint16_t key, std::string_view value, int64_t at_ms) = 0;
};

// Who wrote a pin, which decides where the write goes besides the model.
enum class WriteSource : uint8_t {
    Hardware,  // the device's own HARDWARE frame: to its user's apps
    Bridge,    // another device of the user, through a bridge: as BRIDGE frames to
               // the target's connections, and to its user's apps
    Api,       // the HTTP API or a plugin (the host's pin_write): to the device's live
               // connections (within each one's buffer) and its user's apps
    App,       // an app's HARDWARE frame: to the device's live connections; the app
               // side tells the user's other apps itself (APP_SYNC, once per write)
};

// One write to one pin of one device, as every source hands it to the router.
struct PinWrite {
    char type = 'v';  // 'v', 'd' or 'a'
    uint8_t pin = 0;
    std::string_view value;  // multi-values are `\0`-separated; never empty
    WriteSource source = WriteSource::Api;
    uint16_t msg_id = codec::msgid::kHttpApi;  // the id it goes out with
    // The write as a hardware body, `<t>w\0pin\0value`, when the caller has it
    // already (a device's frame); built when needed otherwise.
    std::string_view wire;
};

// Allows or denies a hardware login and a pin write: plugins' access control
// (host::AuthGate). The router asks it only when one is set, and it is set
// only when a plugin provides a hook, so without one a login or a write
// costs one null check.
class AccessPolicy {
public:
    virtual ~AccessPolicy() = default;
    // A login with a known device's token, before the device is told it succeeded.
    virtual bool allow_login(const Device& d, std::string_view peer) = 0;
    // A parsed write, before it is stored or routed.
    virtual bool allow_write(const Device& d, uint16_t key, std::string_view value, WriteSource source) = 0;
};

// What a token lookup in storage came to.
enum class LoadResult {
    Found,    // the token's user is in the model now
    Unknown,  // storage answered: no such token
    Failed,   // storage could not answer (I/O error...): says nothing about the token
};

// Asynchronous token resolution through storage (a token not in memory).
class TokenLoader {
public:
    virtual ~TokenLoader() = default;
    // Loads the user owning `token` off the I/O thread, merges it into the
    // model on the loop thread, then calls done(result) if `conn` is still
    // open (so its HwRoute still exists). Returns false if too many loads are pending.
    virtual bool load(std::string token, HwOutput& conn, std::function<void(LoadResult)> done) = 0;
};

struct RouterSettings {
    uint32_t message_quota = 100;  // msgs/s per connection; 0 = off
    uint32_t idle_timeout_s = 10;  // base; effective ceil(2.3 x)
    uint32_t max_bridges = 100;
    uint16_t default_buff_in = 255;  // frame limit towards a device that did not report buff-in
    // Refused logins per address: too many in a window block the address.
    LoginThrottleSettings login_throttle;
    // Devices' notifications: limits, quota, push title ([notifications]).
    NotificationSettings notifications;
    // Where the router's warnings go (a block starting); none if unset.
    std::function<void(const std::string&)> warn;
};

class Router {
public:
    // `now` returns wall-clock milliseconds since the epoch (cached per loop turn).
    Router(Model& model, RouterSettings settings, std::function<int64_t()> now);

    void set_apps(AppFanout* apps) { apps_ = apps; }
    void set_events(EventSink* events) { events_ = events; }
    void set_history(HistoryRecorder* history) { history_ = history; }
    void set_loader(TokenLoader* loader) { loader_ = loader; }
    // nullptr (the default): every login with a known token and every valid write is allowed.
    void set_access(AccessPolicy* access) { access_ = access; }
    // Where devices' notifications go; none: each is answered NotificationError.
    void set_notifier(Notifier* notifier) { notifier_ = notifier; }
    Notifier* notifier() const { return notifier_; }
    // Password-reset tokens, shared by the app's RESET_PASSWORD and the HTTP reset pages.
    ResetTokens& reset_tokens() { return reset_tokens_; }
    const RouterSettings& settings() const { return settings_; }
    const LoginThrottle& login_throttle() const { return throttle_; }
    // The login throttle for tokens presented elsewhere (the HTTP API's token
    // lookups): whether `peer` ("ip:port") is blocked now, and a refused token
    // from it (counted; the warning when it starts a block).
    bool peer_blocked(std::string_view peer) {
        return throttle_.enabled() && throttle_.blocked(peer_address(peer), now_());
    }
    void token_refused(std::string_view peer);

    // The read-idle timeout for a heartbeat of `seconds` (the legacy ceil(2.3 x)).
    static uint32_t idle_for_heartbeat(uint32_t seconds);

    // A new hardware connection: its state, until on_close.
    HwRoute& open(HwOutput& out);
    // One complete frame from a device.
    void on_frame(HwRoute& conn, const codec::Frame& frame);
    // The connection is gone (closed by either side): `conn` leaves its
    // device; it stays allocated (inert) while the connection object lives,
    // so a loop over a device's connections that closed one goes on safely.
    void on_close(HwRoute& conn);
    // The connection object is being freed: so is `conn`.
    void release(HwRoute& conn);

    // A write to a pin of `d`: stored, told to plugins, and sent where its
    // source says (WriteSource). Returns 0, or the status the writer gets
    // (IllegalCommand for a bad type, an empty value or one too large for a
    // frame; nothing is stored then).
    uint16_t write_pin(Device& d, const PinWrite& w);
    // The same for an app's write; `delivered` says whether a connection of
    // the device took it (an app hears DEVICE_NOT_IN_NETWORK otherwise).
    uint16_t write_pin(Device& d, const PinWrite& w, bool& delivered);
    // A widget property set from the HTTP API: stored; apps get it.
    void api_property(Device& d, uint8_t pin, std::string_view property, std::string_view value);

    // Due offline notifications (a device still offline after its widget's
    // ignore period) go out; the server calls it from its periodic sweep.
    void tick();

    // Frames received from devices since the start (the admin web UI's
    // messages per second).
    uint64_t frames_received() const { return frames_received_; }

    // Devices whose pins or state changed since the last call (for storage).
    void take_dirty(std::vector<Device*>& out) {
        out.swap(dirty_);
        dirty_.clear();
    }

    // What /metrics reports (core/counters.hpp); loop thread only.
    Counters counters;

private:
    void login(HwRoute& c, const codec::Frame& f);
    void complete_login(HwRoute& c, Device& d, uint16_t msg_id);
    void refuse_login(HwRoute& c, uint16_t msg_id);
    void hardware(HwRoute& c, const codec::Frame& f);
    void sync(HwRoute& c, const codec::Frame& f);
    void bridge(HwRoute& c, const codec::Frame& f);
    void bridge_init(HwRoute& c, uint16_t msg_id, std::string_view pin, Device* target);
    void internal(HwRoute& c, const codec::Frame& f);
    void set_property(HwRoute& c, const codec::Frame& f);
    void notification(HwRoute& c, const codec::Frame& f);
    // The device's last connection closed (router_notify.cpp).
    void device_went_offline(Device& d, int64_t now);

    // A `<t>w\0pin\0value...` body read into `w` (its wire is the body);
    // IllegalCommand if it is not one.
    static uint16_t parse_write(std::string_view body, PinWrite& w);
    // Validates `w` and stores it for `target` (every source's write goes
    // through here). Returns the status to answer with, or 0 for success.
    uint16_t store_write(Device& target, const PinWrite& w);

public:
    // Every frame towards a device is at most its buffer (buff-in, or the
    // default for a device that did not report one); a larger one is not sent.
    bool fits_buffer(const HwRoute& c, std::string_view body) const;

private:
    // `w` as a hardware body: its wire, or built into scratch_.
    std::string_view wire_of(const PinWrite& w);
    void mark_dirty(Device& d);
    void send_sync_frame(HwRoute& c, uint16_t msg_id, const PinValue& p);
    void leave_device(HwRoute& c);

    Model& model_;
    RouterSettings settings_;
    std::function<int64_t()> now_;
    AppFanout* apps_ = nullptr;
    EventSink* events_ = nullptr;
    HistoryRecorder* history_ = nullptr;
    TokenLoader* loader_ = nullptr;
    AccessPolicy* access_ = nullptr;
    Notifier* notifier_ = nullptr;
    ResetTokens reset_tokens_;
    // Offline notifications waiting for their ignore period: sent at due_ms
    // if the device has stayed offline since disconnect_ms.
    struct PendingOffline {
        Device* device;
        int64_t due_ms, disconnect_ms;
        NotifyRequest request;
    };
    std::vector<PendingOffline> pending_offline_;
    LoginThrottle throttle_;
    std::vector<Device*> dirty_;
    std::string scratch_;
    uint64_t frames_received_ = 0;
};

}  // namespace blynk::core
