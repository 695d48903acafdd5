// The kernel's side of the storage plugin's history entries (ABI 1.4): the
// conversions and the "this store keeps no history" answer (see
// host/storage_client.hpp).
#include <blynk/plugin.h>

#include "host/storage_client.hpp"
#include "host/table_field.hpp"

namespace blynk::host {

namespace {
[[noreturn]] void no_history(const char* entry) {
    throw StorageFailure(
        BLYNK_ERROR, std::string("the storage plugin keeps no history (it has no ") + entry + " of plugin ABI 1.4)");
}
}  // namespace

bool StorageClient::keeps_history() const {
    return field_or_null(t_, &blynk_storage_v1::put_points) && field_or_null(t_, &blynk_storage_v1::read_history) &&
           field_or_null(t_, &blynk_storage_v1::remove_history) && field_or_null(t_, &blynk_storage_v1::trim_history);
}

void StorageClient::put_points(const std::vector<blynk_point_rec>& recs, bool keep_raw) const {
    auto fn = field_or_null(t_, &blynk_storage_v1::put_points);
    if (!fn) no_history("put_points");
    if (recs.empty()) return;
    blynk_error err{};
    check(fn(self_, recs.data(), recs.size(), keep_raw ? uint32_t(BLYNK_POINTS_KEEP_RAW) : 0u, &err), err,
          "put_points");
}

std::vector<blynk::HistoryRow> StorageClient::read_history(const blynk::HistoryQuery& q) const {
    auto fn = field_or_null(t_, &blynk_storage_v1::read_history);
    if (!fn) no_history("read_history");
    std::vector<blynk::HistoryRow> rows;
    blynk_history_sink sink{};
    sink.size = sizeof sink;
    sink.ctx = &rows;
    sink.row = [](void* ctx, const blynk_history_rec* r) {
        static_cast<std::vector<blynk::HistoryRow>*>(ctx)->push_back(blynk::from_c(r));
    };
    auto c = blynk::to_c(q);
    blynk_error err{};
    check(fn(self_, &c, &sink, &err), err, "read_history");
    return rows;
}

void StorageClient::remove_history(const blynk::HistoryScope& scope) const {
    auto fn = field_or_null(t_, &blynk_storage_v1::remove_history);
    if (!fn) no_history("remove_history");
    auto c = blynk::to_c(scope);
    blynk_error err{};
    check(fn(self_, &c, &err), err, "remove_history");
}

uint64_t StorageClient::trim_history(const blynk::HistoryCutoffs& before_ms) const {
    auto fn = field_or_null(t_, &blynk_storage_v1::trim_history);
    if (!fn) no_history("trim_history");
    uint64_t removed = 0;
    blynk_error err{};
    check(fn(self_, before_ms.data(), &removed, &err), err, "trim_history");
    return removed;
}

}  // namespace blynk::host
