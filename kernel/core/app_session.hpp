// An app connection as the app side of the kernel (core::AppHub) sees it:
// its output (AppOutput, a TLS app-frame connection or a /dashws websocket),
// its state (AppRoute), and what the hub needs from outside the loop thread
// (AppBackend: loading users, password hashes, making changes durable).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <blynk/plugin.h>

#include "core/model.hpp"
#include "core/quota.hpp"
#include "core/router.hpp"

namespace blynk::core {

class AppOutput {
public:
    // Appends one app message; flushed once per loop turn.
    virtual void send(uint8_t command, uint16_t msg_id, std::string_view body) = 0;
    virtual void send_status(uint16_t msg_id, uint32_t status) = 0;
    // Closes after what is queued has been sent.
    virtual void close(std::string_view reason) = 0;
    // Closes it for breaking the protocol, with a warning naming the peer.
    virtual void reject(std::string_view reason) = 0;
    virtual bool is_closed() const = 0;
    virtual std::string peer() const = 0;
    // A /dashws websocket (which accepts only GET_SERVER and LOGIN before a login).
    virtual bool websocket() const = 0;
    // The address the app reached this server at (GET_SERVER's answer when
    // server.host is not set).
    virtual std::string local_host() const = 0;
    // A login that waited (for storage or a hash) is done: frames that came
    // meanwhile may go on.
    virtual void resume() = 0;

protected:
    ~AppOutput() = default;
};

// The hub's state for one app connection, from AppHub::open to AppHub::release.
struct AppRoute {
    AppRoute(AppOutput& o, uint64_t session_id) : out(&o), id(session_id) {}
    AppOutput* out;
    uint64_t id;           // names the session to callbacks that outlive it
    User* user = nullptr;  // set once logged in
    AppRoute* next_on_user = nullptr;
    AppRoute* prev_on_user = nullptr;
    int32_t shared_dash = -1;  // a share login: the one dashboard it sees; -1 the owner
    bool pending = false;      // a login waits for storage or a hash: later frames wait
    bool registered = false;   // a REGISTER succeeded on this connection
    bool over_quota = false;
    QuotaMeter quota;
    std::string os, version;

    bool owner() const { return shared_dash < 0; }
    bool sees(int32_t dash_id) const { return shared_dash < 0 || shared_dash == dash_id; }
};

// A chart's read (GET_ENHANCED_GRAPH_DATA) resolved against the model: per
// data stream the devices it reads (a tag's several, merged per time by
// `function`; none for a target that does not exist), at one granularity.
struct GraphStreamRequest {
    std::vector<int32_t> device_ids;
    uint16_t pin_key = 0;
    std::string function = "AVG";  // AVG, MIN, MAX, SUM, MED
};
struct GraphRequest {
    std::string email;
    int32_t dash_id = 0;
    bool live = false;         // LIVE: the newest raw values (or minutes, without raw data)
    uint32_t granularity = 1;  // enum blynk_granularity, when not live
    uint32_t points = 0;       // per stream (and device): the newest `points`...
    uint32_t skip = 0;         // ...after skipping the newest `skip` (paging back)
    std::vector<GraphStreamRequest> streams;
};

// What the app side needs beyond the loop thread. Every `done` runs later on
// the loop thread, never inside the call; a call that returns false queued
// nothing (the storage queue or the hashing pool is full) and never calls done.
class AppBackend {
public:
    virtual ~AppBackend() = default;
    // The user with this e-mail and all of its data, into the model.
    virtual bool load_user(std::string email, std::function<void(LoadResult)> done) = 0;
    // Whether a legacy client hash matches a stored slow hash (on the hashing pool).
    virtual bool verify_password(std::string client_hash, std::string stored, std::function<void(bool)> done) = 0;
    // The slow hash to store for a client hash (on the hashing pool).
    virtual bool hash_password(std::string client_hash, std::function<void(std::string)> done) = 0;
    // Durable changes, in the order they are asked for; done(0) once stored,
    // else done(a blynk_status: BLYNK_CONFLICT for a taken e-mail or token).
    virtual bool save_user(const User& u, bool create, std::function<void(int)> done) = 0;
    virtual bool save_dash(const User& u, const Dashboard& dash, std::function<void(int)> done) = 0;
    virtual bool remove_dash(const User& u, int32_t dash_id, std::function<void(int)> done) = 0;
    virtual bool save_device(const Device& d, std::function<void(int)> done) = 0;
    virtual bool remove_device(const Device& d, std::function<void(int)> done) = 0;
    // Clone codes (a dashboard's public JSON under a random 32-character
    // code): stored, done(code) or done("") on failure; looked up, done(json)
    // or done("") when there is none.
    virtual bool save_clone(std::string json, std::function<void(std::string)> done) = 0;
    virtual bool load_clone(std::string code, std::function<void(std::string)> done) = 0;
    // The device's connections must go (its token changed, it was removed).
    virtual void close_device(Device& d, std::string_view why) = 0;
    // Deletes history (DELETE_DEVICE_DATA, DELETE_ENHANCED_GRAPH_DATA): of
    // the user's dashboard, of one device (device_id >= 0), of some of its
    // pins (pin keys; empty: all); done(0) once deleted. A backend without
    // history: nothing to delete, answered at once.
    // Reads a chart's history; done(0, zlib body of the reply), done(
    // BLYNK_NOT_FOUND) when no stream has a point, else done(BLYNK_ERROR).
    // A backend without history: nothing to read, answered at once.
    virtual bool read_graph(GraphRequest req, std::function<void(int, std::string)> done) {
        (void)req;
        done(BLYNK_NOT_FOUND, {});
        return true;
    }
    virtual bool remove_history(const User& u, int32_t dash_id, int32_t device_id, std::vector<uint16_t> pins,
                                std::function<void(int)> done) {
        (void)u, (void)dash_id, (void)device_id, (void)pins;
        done(0);
        return true;
    }
};

}  // namespace blynk::core
