// Plugin failures the kernel sees, for /metrics: errors plugins log and HTTP
// handlers that threw (access hooks switched off are AuthGate's to say).
// Counted from whichever thread saw them (plugin workers, the events thread,
// the loop): relaxed atomics, on error paths only.
#pragma once

#include <atomic>
#include <cstdint>

namespace blynk::host {

struct PluginErrorCounts {
    enum Kind : uint8_t { kLogged, kHttpHandler, kKinds };
    static const char* name(Kind k) {
        static const char* const names[] = {"logged_error", "http_handler"};
        return names[k];
    }
    std::atomic<uint64_t> counts[kKinds] = {};

    void count(Kind k) { counts[k].fetch_add(1, std::memory_order_relaxed); }
    uint64_t get(Kind k) const { return counts[k].load(std::memory_order_relaxed); }
};

}  // namespace blynk::host
