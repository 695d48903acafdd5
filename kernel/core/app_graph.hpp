// The app's charts (core/app_graph.cpp): the legacy GraphPeriods, how a tag's
// devices merge per time, and the binary body of a GET_ENHANCED_GRAPH_DATA
// reply (before zlib): int32 dashId, then per data stream int32 count and
// count x (float64 value, int64 epoch ms), all big-endian. Pure functions:
// the storage thread builds replies with them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace blynk::core {

struct GraphPoint {
    double value = 0;
    int64_t at_ms = 0;
};

// A GraphPeriod name (LIVE, ONE_HOUR, N_WEEK, ...): its points and
// granularity (blynk_granularity; LIVE is raw); false for an unknown name.
bool graph_period(std::string_view name, uint32_t& points, uint32_t& granularity);

// One stream's points from each of its devices (oldest first): one device's
// as they are; several (a tag) merged per time by `function` (AVG, MIN, MAX,
// SUM, MED; anything else is AVG), oldest first.
std::vector<GraphPoint> merge_stream(const std::vector<std::vector<GraphPoint>>& per_device, std::string_view function);

std::string graph_body(int32_t dash_id, const std::vector<std::vector<GraphPoint>>& streams);

}  // namespace blynk::core
