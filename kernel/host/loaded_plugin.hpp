// One loaded plugin instance as the host keeps it, and the host table (the
// kernel's side of plugin.h) each instance is handed. Shared by the loader
// (plugin_host.cpp) and the host functions (host_table.cpp).
#pragma once

#include <boost/dll/shared_library.hpp>
#include <string>

#include <blynk/plugin.h>

namespace blynk::host {

class PluginHost;
class WorkerPool;

struct LoadedPlugin {
    // As written in plugins.enabled: the instance's name in logs and errors
    // when it was given a file of its own (plugin_file), see `name`.
    std::string config_name;
    std::string path;
    boost::dll::shared_library lib;
    blynk_host_v1 host{};
    const blynk_plugin_v1* table = nullptr;
    // The instance's name: the config name of an instance with its own
    // plugin_file (two instances of one file need two names), else the name
    // the plugin reports.
    std::string name;
    std::string reported_name;  // as the plugin reports it
    PluginHost* owner = nullptr;
    WorkerPool* worker = nullptr;  // set by PluginHost::start_threads
    std::string scratch;           // a string handed back until the call returns (kernel thread)
    std::string server_host;       // [server] host, lent to the plugin (host.server_host)
};

// Fills p.host with the kernel's functions (ABI BLYNK_ABI_MAJOR.MINOR).
void fill_host_table(LoadedPlugin& p, const std::string& data_dir, const std::string& server_host);

}  // namespace blynk::host
