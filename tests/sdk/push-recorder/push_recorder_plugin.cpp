// A push notifier for tests: each push it is asked to send becomes one line
// "title|body|targets" appended to the file in its `file` setting
// (notifications.test.js: offline notifications).
#include <fstream>
#include <mutex>

#include <blynk/plugin.hpp>

class PushRecorder final : public blynk::Plugin, public blynk::Notifier {
public:
    void init(const blynk::Settings& s) override {
        file_ = s.get_string("file", "");
        if (file_.empty()) throw blynk::SettingsError("'file' must name the file pushes are written to");
    }
    blynk::Notifier* notifier() override { return this; }
    unsigned channels() const override { return blynk::kPushChannel; }
    std::vector<bool> send_push(const blynk::Push& p) override {
        std::lock_guard<std::mutex> lock(mu_);
        std::ofstream out(file_, std::ios::app);
        out << p.title << "|" << p.body << "|" << p.targets.size() << "\n";
        return std::vector<bool>(p.targets.size(), false);
    }

private:
    std::mutex mu_;
    std::string file_;
};

BLYNK_PLUGIN(PushRecorder, "push-recorder", "0.1.0")
