// pin-logger: appends one line per pin write to a text file.
//
// An example of a third-party blynkd plugin: it uses only the installed SDK
// (blynk/plugin.hpp) and is built outside the blynkd tree. See README.md for
// the settings and the line format.
#include <blynk/plugin.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

// One write is one line: `\0` (the separator of multi-value writes) becomes a
// space, and any other control byte becomes '?' so that a value can never
// start a new line or hide part of one.
void append_value(std::string& line, std::string_view value) {
    for (char c : value) {
        unsigned char u = static_cast<unsigned char>(c);
        if (u == 0)
            line += ' ';
        else if (u < 0x20 || u == 0x7f)
            line += '?';
        else
            line += c;
    }
}

class PinLogger final : public blynk::Plugin {
public:
    ~PinLogger() override { close(); }

    void init(const blynk::Settings& settings) override {
        settings.reject_unknown({"file"});
        std::string path = settings.get_string("file", "");
        if (path.empty()) path = host().data_dir() + "/pin-log.txt";

        close();  // init is called once, but stay correct if it is not
        file_ = std::fopen(path.c_str(), "a");
        if (!file_)
            throw std::runtime_error("cannot open '" + path +
                                     "' (setting 'file') for appending: " + std::strerror(errno));
        path_ = path;
        failing_ = false;
        host().info("pin-logger: appending pin writes to " + path_);
    }

    void shutdown() override { close(); }

    unsigned subscriptions() const override { return blynk::kPinWritten; }

    // Called on the kernel's event thread, one event at a time and in order,
    // so no lock is needed (the plugin does not claim to be thread-safe).
    void on_pin_written(const blynk::PinEvent& ev) override {
        if (!file_) return;
        line_.clear();
        line_ += std::to_string(ev.at_ms);
        line_ += ' ';
        if (ev.email.empty())
            line_ += '-';
        else
            append_value(line_, ev.email);
        line_ += ' ';
        line_ += std::to_string(ev.dash_id);
        line_ += '-';
        line_ += std::to_string(ev.device_id);
        line_ += ' ';
        line_ += ev.pin_type ? ev.pin_type : '?';
        line_ += std::to_string(unsigned(ev.pin));
        line_ += ' ';
        append_value(line_, ev.value);
        line_ += '\n';

        // Flushed per line so that whoever tails the file sees every write.
        bool ok = std::fwrite(line_.data(), 1, line_.size(), file_) == line_.size() && std::fflush(file_) == 0;
        if (!ok && !failing_) host().warn("pin-logger: cannot write to " + path_ + ": " + std::strerror(errno));
        if (ok && failing_) host().info("pin-logger: writing to " + path_ + " again");
        failing_ = !ok;
    }

private:
    void close() {
        if (file_) std::fclose(file_);
        file_ = nullptr;
    }

    std::FILE* file_ = nullptr;
    std::string path_;
    std::string line_;      // reused, so a write costs no allocation once warm
    bool failing_ = false;  // log a write failure once, not once per event
};

}  // namespace

BLYNK_PLUGIN(PinLogger, "pin-logger", "0.1.0")
