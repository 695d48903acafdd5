// blynkd plugin SDK, C++ layer: the device model the kernel offers
// Part of blynk/plugin.hpp (include that one); header-only, compiled into the
// plugin.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#ifndef BLYNK_CPP_KERNEL_HPP
#define BLYNK_CPP_KERNEL_HPP

#include <blynk/cpp/history.hpp>
#include <blynk/cpp/http.hpp>

namespace blynk {
struct DeviceInfo {
    std::string email, name, board_type;
    int32_t dash_id = 0, device_id = 0;
    uint32_t online_connections = 0;
    bool dash_active = false, app_connected = false;
    int64_t connect_time_ms = 0, disconnect_time_ms = 0, data_received_ms = 0;
};

// The device model, as the kernel offers it. Every function but post() must
// be called on the kernel thread (route handlers run there).
class Kernel {
public:
    explicit Kernel(const blynk_host_v1* h = nullptr) : h_(h) {}
    bool available() const { return h_ && BLYNK_HAS_FIELD(h_, project_json) && h_->project_json; }

    // Runs fn on the kernel thread; false if the server is stopping.
    bool post(std::function<void()> fn) const {
        if (!h_ || !BLYNK_HAS_FIELD(h_, post_kernel) || !h_->post_kernel) return false;
        auto* box = new std::function<void()>(std::move(fn));
        int rc = h_->post_kernel(h_->ctx, detail::run_boxed, box);
        if (rc != BLYNK_OK) delete box;
        return rc == BLYNK_OK;
    }
    // Looks the token up (asking storage when needed); done(found) runs on the kernel thread.
    void resolve_token(std::string_view token, std::function<void(bool)> done) const {
        lookup_token(token, [done = std::move(done)](TokenLookup r) { done(r == TokenLookup::Found); });
    }
    // The same, telling "not found" from "cannot be told now" (storage failing
    // or too busy: answer 503, not "invalid token").
    enum class TokenLookup { Found, NotFound, Unavailable };
    void lookup_token(std::string_view token, std::function<void(TokenLookup)> done) const {
        if (!h_ || !BLYNK_HAS_FIELD(h_, resolve_token) || !h_->resolve_token) return done(TokenLookup::Unavailable);
        auto* box = new std::function<void(TokenLookup)>(std::move(done));
        h_->resolve_token(
            h_->ctx, slice(token),
            [](void* arg, int status) {
                std::unique_ptr<std::function<void(TokenLookup)>> f(
                    static_cast<std::function<void(TokenLookup)>*>(arg));
                try {
                    (*f)(status == BLYNK_OK          ? TokenLookup::Found
                         : status == BLYNK_NOT_FOUND ? TokenLookup::NotFound
                                                     : TokenLookup::Unavailable);
                } catch (...) {
                }
            },
            box);
    }
    // SDK 1.4: the history of one pin of a resolved token's device (the
    // query's email, dash and device are ignored), read on the storage
    // thread; done(status, rows oldest first) runs on the kernel thread:
    // BLYNK_OK, BLYNK_NOT_FOUND (token not in memory), BLYNK_ERROR (storage
    // failed or keeps no history; also from a server before 1.4).
    void read_history(std::string_view token, const HistoryQuery& q,
                      std::function<void(int, std::vector<HistoryRow>)> done) const {
        if (!h_ || !BLYNK_HAS_FIELD(h_, read_history) || !h_->read_history) return done(BLYNK_ERROR, {});
        auto* box = new std::function<void(int, std::vector<HistoryRow>)>(std::move(done));
        blynk_history_query c = to_c(q);
        h_->read_history(
            h_->ctx, slice(token), &c,
            [](void* arg, int status, const blynk_history_rec* rows, size_t count) {
                std::unique_ptr<std::function<void(int, std::vector<HistoryRow>)>> f(
                    static_cast<std::function<void(int, std::vector<HistoryRow>)>*>(arg));
                std::vector<HistoryRow> out;
                out.reserve(count);
                for (size_t i = 0; i < count; ++i)
                    out.push_back(from_c(&rows[i]));
                try {
                    (*f)(status, std::move(out));
                } catch (...) {
                }
            },
            box);
    }
    std::optional<DeviceInfo> device(std::string_view token) const {
        if (!available()) return std::nullopt;
        blynk_device_info i{};
        i.size = sizeof i;
        if (h_->device_info(h_->ctx, slice(token), &i) != BLYNK_OK) return std::nullopt;
        DeviceInfo d;
        d.email = std::string(view(i.email));
        d.name = std::string(view(i.name));
        d.board_type = std::string(view(i.board_type));
        d.dash_id = i.dash_id;
        d.device_id = i.device_id;
        d.online_connections = i.online_connections;
        d.dash_active = i.dash_active != 0;
        d.app_connected = i.app_connected != 0;
        d.connect_time_ms = i.connect_time_ms;
        d.disconnect_time_ms = i.disconnect_time_ms;
        d.data_received_ms = i.data_received_ms;
        return d;
    }
    // The stored value (multi-values `\0`-separated), or nullopt.
    std::optional<std::string> pin_read(std::string_view token, char type, uint8_t pin) const {
        if (!available()) return std::nullopt;
        blynk_str v{};
        if (h_->pin_read(h_->ctx, slice(token), type, pin, &v) != BLYNK_OK) return std::nullopt;
        return std::string(view(v));
    }
    // What became of a write_pin.
    enum class WriteStatus {
        Ok,
        NotFound,  // no such device (resolve the token first)
        Denied,    // a plugin's access control refused it (SDK 1.2)
        Failed,    // a bad write (pin type, empty value, too long), or no host
    };
    WriteStatus write_pin(std::string_view token, char type, uint8_t pin, std::string_view value) const {
        if (!available()) return WriteStatus::Failed;
        switch (h_->pin_write(h_->ctx, slice(token), type, pin, slice(value))) {
            case BLYNK_OK:
                return WriteStatus::Ok;
            case BLYNK_NOT_FOUND:
                return WriteStatus::NotFound;
            case BLYNK_DENIED:
                return WriteStatus::Denied;
            default:
                return WriteStatus::Failed;
        }
    }
    bool pin_write(std::string_view token, char type, uint8_t pin, std::string_view value) const {
        return write_pin(token, type, pin, value) == WriteStatus::Ok;
    }
    bool pin_property(std::string_view token, uint8_t pin, std::string_view property, std::string_view value) const {
        return available() && h_->pin_property(h_->ctx, slice(token), pin, slice(property), slice(value)) == BLYNK_OK;
    }
    // Deprecated since SDK 1.2: profile_json(email, dash_id) gives the same.
    std::optional<std::string> project_json(std::string_view token) const {
        if (!available()) return std::nullopt;
        blynk_str v{};
        if (h_->project_json(h_->ctx, slice(token), &v) != BLYNK_OK) return std::nullopt;
        return std::string(view(v));
    }
    // The JSON of one dashboard of a user, or with dash_id =
    // BLYNK_PROFILE_ALL_DASHBOARDS of the whole profile ({"dashBoards":[...]});
    // with_tokens adds each device's token (for its owner only). nullopt: no
    // such user or dashboard, or a host older than SDK 1.2.
    std::optional<std::string> profile_json(std::string_view email, int32_t dash_id, bool with_tokens) const {
        if (!h_ || !BLYNK_HAS_FIELD(h_, profile_json) || !h_->profile_json) return std::nullopt;
        blynk_str v{};
        if (h_->profile_json(h_->ctx, slice(email), dash_id, with_tokens ? uint32_t(BLYNK_PROFILE_WITH_TOKENS) : 0u,
                             &v) != BLYNK_OK)
            return std::nullopt;
        return std::string(view(v));
    }

private:
    const blynk_host_v1* h_;
};

}  // namespace blynk

#endif  // BLYNK_CPP_KERNEL_HPP
