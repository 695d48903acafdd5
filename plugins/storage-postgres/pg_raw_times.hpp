// storage-postgres: the times raw values are stored at.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
//
// A device writing fast gives one pin several values in one millisecond (the
// kernel's clock ticks once per loop turn). Raw rows are keyed by their
// millisecond, so each later value moves on by a millisecond to keep its row,
// in order, as storage-sqlite does; without this the batch's last value
// replaced the others. storage-sqlite asks its database whether a
// millisecond is taken; here a batch is one statement, so the plugin
// remembers each series' newest raw time instead (only series written in the
// last second matter, so the memory stays small).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <blynk/plugin.hpp>

namespace blynk_pg {

class RawTimes {
public:
    // A value never moves more than this far from the time it was written.
    static constexpr int64_t kShiftMax = 1000;

    // The times to store `points` at (only what assign computed: nothing is
    // remembered until commit, so a batch the database refused and that is
    // tried again gets the same times).
    struct Plan {
        std::vector<int64_t> at_ms;                       // one per point
        std::unordered_map<std::string, int64_t> newest;  // per series
    };
    Plan assign(const std::vector<blynk::Point>& points) const;
    // The batch is stored: later batches move on from its times.
    void commit(Plan&& plan);
    // Forgets every series (a new init may point at another database).
    void clear();

private:
    mutable std::mutex mu_;
    std::unordered_map<std::string, int64_t> newest_;  // series key -> newest raw time stored
};

}  // namespace blynk_pg
