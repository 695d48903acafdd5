// The kernel's side of the storage extension point: converts between the
// in-memory model and the plugin's C table. Every call may block; the server
// makes them on its storage thread, the CLI on its main thread.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <blynk/plugin.hpp>

#include "core/model.hpp"

namespace blynk::host {

struct StorageFailure : std::runtime_error {
    int status;
    StorageFailure(int st, const std::string& msg) : std::runtime_error(msg), status(st) {}
};

class StorageClient {
public:
    StorageClient(const blynk_storage_v1* table, void* self) : t_(table), self_(self) {}

    void load_all(core::LoadedData& out) const;
    bool load_by_token(std::string_view token, core::LoadedData& out) const;
    bool load_user(std::string_view email, core::LoadedData& out) const;
    void put_user(const blynk::User& u, bool create) const;
    void remove_user(std::string_view email) const;
    void put_dash(const blynk::Dash& d) const;
    void put_device(const blynk::Device& d) const;
    void remove_device(std::string_view email, int32_t dash_id, int32_t device_id) const;
    // Removes the dashboard, its devices and their pins. A storage plugin
    // older than ABI 1.3 cannot: StorageFailure saying so.
    void remove_dash(std::string_view email, int32_t dash_id) const;
    void put_pins(const std::vector<blynk::Pin>& pins) const;
    // Per device: true if it no longer exists in storage (removed meanwhile).
    std::vector<bool> update_devices(const std::vector<blynk::Device>& devices) const;

    // ---- history (ABI 1.4; host/storage_client_history.cpp). A store
    // without it (older, or one that keeps none) has keeps_history() false;
    // the calls then throw StorageFailure saying so.
    bool keeps_history() const;
    // Records, not blynk::Point: the history write-behind keeps no string
    // of its own per value (see host/history_write_behind.hpp).
    void put_points(const std::vector<blynk_point_rec>& recs, bool keep_raw) const;
    std::vector<blynk::HistoryRow> read_history(const blynk::HistoryQuery& q) const;
    void remove_history(const blynk::HistoryScope& scope) const;
    uint64_t trim_history(const blynk::HistoryCutoffs& before_ms) const;

    // Snapshots of what storage keeps of the model (for put_device, put_user,
    // put_dash): every stored field, the app model's JSON included, so a put
    // never drops what the app set.
    static blynk::Device snapshot(const core::Device& d);
    static blynk::User snapshot(const core::User& u);
    // The dashboard record with core::dashboard_blob (widgets, tags, flags, settings).
    static blynk::Dash snapshot(const core::User& u, const core::Dashboard& dash);

private:
    void check(int rc, const blynk_error& err, const char* what) const;
    const blynk_storage_v1* t_;
    void* self_;
};

}  // namespace blynk::host
