// [history] in the configuration (config/blynk.toml documents each key), as
// the history write-behind (host/history_write_behind.hpp) uses it.
#pragma once

#include <array>
#include <cstdint>

#include <blynk/plugin.h>

namespace blynk::host {

struct HistorySettings {
    bool enabled = true;
    bool charted_only = false;     // pins = "charted": only pins a chart (ENHANCED_GRAPH) of the dashboard shows
    bool raw_data = false;         // keep every value as written, too
    uint32_t max_points = 100000;  // waiting for storage, at most; then the oldest are dropped
    // Days each granularity is kept (0: forever), indexed by blynk_granularity
    // (raw, minute, hour, day): a week of raw values and minutes, a quarter of
    // hours, three years of days keep a Raspberry Pi's SD card far from full.
    std::array<uint32_t, BLYNK_GRANULARITY_COUNT> retention_days{7, 7, 90, 1095};
    uint32_t retention_check_interval_s = 3600;  // 0: never trim
};

}  // namespace blynk::host
