// `blynkd storage copy --to OTHER_CONFIG [--force]`: copies everything the
// configured store keeps (accounts, dashboards, devices with their tokens,
// pin values and properties, history) into the store another configuration
// names, e.g. from storage-sqlite to storage-postgres and back.
#pragma once

#include <blynk/plugin.h>

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

#include "app/config.hpp"
#include "host/plugin_host.hpp"

namespace blynk::app {

struct StorageEnd {
    const blynk_storage_v1* table = nullptr;
    void* self = nullptr;
    std::string name;   // the plugin, for messages
    std::string where;  // the configuration file
};

struct CopyCounts {
    uint64_t users = 0, dashes = 0, devices = 0, pins = 0, history = 0;
};

// Copies from `from` to `to`. Refuses (throws) when the target holds an account
// unless `force` (then same-keyed records are replaced, others stay). A
// progress bar goes to stderr when `show_progress`; the summary to `out`.
CopyCounts copy_storage(const StorageEnd& from, const StorageEnd& to, bool force, bool show_progress,
                        std::ostream& out);

// The command: loads OTHER_CONFIG's plugins beside `plugins` (this
// configuration's, loaded), copies, prints the summary; returns the exit code
// (0, 1 when the copy failed, 2 for a configuration OTHER_CONFIG cannot be).
int run_storage_copy(const std::string& other_config, bool force, const Config& cfg, host::PluginHost& plugins,
                     const std::function<host::PluginSetup(const Config&)>& setup_of);

}  // namespace blynk::app
