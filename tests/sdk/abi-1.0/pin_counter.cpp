// abi10-plugin: a plugin built against the frozen ABI 1.0 SDK headers
// (tests/sdk/abi-1.0/include, copied from the commit before "SDK 1.1"), to
// prove that a server speaking a later 1.x ABI still loads and feeds it.
//
// It subscribes to pin writes and appends one line per write to the file
// named by the setting `file` (default <data_dir>/abi10-pins.txt):
//
//     <n> <email> <dash_id>-<device_id> <pin_type><pin> <value>
//
// where <n> counts the writes this plugin has seen for that pin of that
// device (1, 2, ...), and a multi-value write has its `\0`s shown as spaces.
#include <blynk/plugin.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>

// Built against the 1.0 headers only (the include path reaches nothing else).
static_assert(BLYNK_ABI_MAJOR == 1u && BLYNK_ABI_MINOR == 0u, "abi10-plugin must be built against the ABI 1.0 SDK");

namespace {

class PinCounter final : public blynk::Plugin {
public:
    ~PinCounter() override { close(); }

    void init(const blynk::Settings& settings) override {
        settings.reject_unknown({"file"});
        std::string path = settings.get_string("file", "");
        if (path.empty()) path = host().data_dir() + "/abi10-pins.txt";
        close();
        file_ = std::fopen(path.c_str(), "a");
        if (!file_)
            throw std::runtime_error("cannot open '" + path +
                                     "' (setting 'file') for appending: " + std::strerror(errno));
        path_ = path;
        // What this 1.0 plugin sees of the host: the host's own table is
        // larger and its minor newer; the plugin reads only the 1.0 fields.
        const blynk_host_v1* h = host().raw();
        host().info("abi10-plugin: built for ABI " + std::to_string(BLYNK_ABI_MAJOR) + "." +
                    std::to_string(BLYNK_ABI_MINOR) + ", host offers " + std::to_string(h->abi_major) + "." +
                    std::to_string(h->abi_minor) + " (host table " + std::to_string(h->size) + " bytes, 1.0 table " +
                    std::to_string(sizeof(blynk_host_v1)) + "); counting pin writes into " + path_);
    }

    void shutdown() override { close(); }

    unsigned subscriptions() const override { return blynk::kPinWritten; }

    // On the kernel's event thread, one event at a time: no lock needed.
    void on_pin_written(const blynk::PinEvent& ev) override {
        if (!file_) return;
        unsigned long n =
            ++counts_[std::make_tuple(std::string(ev.email), ev.dash_id, ev.device_id, ev.pin_type, ev.pin)];
        std::string line = std::to_string(n) + ' ' + (ev.email.empty() ? std::string("-") : std::string(ev.email)) +
                           ' ' + std::to_string(ev.dash_id) + '-' + std::to_string(ev.device_id) + ' ' +
                           (ev.pin_type ? ev.pin_type : '?') + std::to_string(unsigned(ev.pin)) + ' ';
        for (char c : ev.value) {
            unsigned char u = static_cast<unsigned char>(c);
            line += u == 0 ? ' ' : (u < 0x20 || u == 0x7f) ? '?' : c;
        }
        line += '\n';
        if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0)
            host().warn("abi10-plugin: cannot write to " + path_ + ": " + std::strerror(errno));
    }

private:
    void close() {
        if (file_) std::fclose(file_);
        file_ = nullptr;
    }

    std::FILE* file_ = nullptr;
    std::string path_;
    std::map<std::tuple<std::string, int32_t, int32_t, char, uint8_t>, unsigned long> counts_;
};

}  // namespace

BLYNK_PLUGIN(PinCounter, "abi10-plugin", "1.0.0")
