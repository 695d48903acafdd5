#include "net/metrics_text.hpp"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <cctype>
#include <deque>
#include <iterator>
#include <limits>
#include <utility>
#include <vector>

#include "codec/protocol.hpp"

namespace blynk::net {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

class Families {
public:
    MetricFamily& family(const char* name, const char* help, MetricType type) {
        out_.push_back(MetricFamily{name, help, type, {}});
        return out_.back();
    }
    void counter(MetricFamily& f, Labels labels, uint64_t value) {
        ClientMetric m;
        m.label = std::move(labels);
        m.counter.value = double(value);
        f.metric.push_back(std::move(m));
    }
    void gauge(MetricFamily& f, Labels labels, double value) {
        ClientMetric m;
        m.label = std::move(labels);
        m.gauge.value = value;
        f.metric.push_back(std::move(m));
    }
    std::vector<MetricFamily> take() {
        return std::vector<MetricFamily>(std::make_move_iterator(out_.begin()), std::make_move_iterator(out_.end()));
    }

private:
    std::deque<MetricFamily> out_;  // a deque: references to earlier families stay valid as more are added
};

// "HARDWARE_SYNC" -> "hardware_sync"; a code without a name is its number.
std::string command_label(uint8_t code) {
    const char* name = codec::command_name(code);
    if (!name) return std::to_string(code);
    std::string s(name);
    for (char& c : s)
        c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

const char* const kProtocolNames[] = {"hardware", "app"};
const char* const kLoginResultNames[] = {"ok", "failed", "error"};

void messages(Families& f, const core::Counters& c) {
    auto& in = f.family("blynk_messages_received_total",
                        "Frames received from devices (and apps), by protocol and command.", MetricType::Counter);
    auto& out = f.family("blynk_messages_sent_total",
                         "Frames sent to devices (and apps), by protocol and command (responses are command "
                         "\"response\").",
                         MetricType::Counter);
    for (unsigned p = 0; p < core::Counters::kProtocols; ++p)
        for (unsigned cmd = 0; cmd < codec::kLastCommandIndex; ++cmd) {
            if (c.messages_in[p][cmd])
                f.counter(in, {{"protocol", kProtocolNames[p]}, {"command", command_label(uint8_t(cmd))}},
                          c.messages_in[p][cmd]);
            if (c.messages_out[p][cmd])
                f.counter(out, {{"protocol", kProtocolNames[p]}, {"command", command_label(uint8_t(cmd))}},
                          c.messages_out[p][cmd]);
        }
}

void logins(Families& f, const core::Counters& c) {
    auto& l = f.family("blynk_logins_total",
                       "Logins by protocol and result: ok, failed (refused: unknown token, blocked address, access "
                       "hook) or error (storage could not answer).",
                       MetricType::Counter);
    for (unsigned p = 0; p < core::Counters::kProtocols; ++p)
        for (unsigned r = 0; r < core::Counters::kLoginResults; ++r)
            if (p == core::Counters::kHardware || c.logins[p][r])
                f.counter(l, {{"protocol", kProtocolNames[p]}, {"result", kLoginResultNames[r]}}, c.logins[p][r]);
    f.counter(f.family("blynk_quota_hits_total", "Frames dropped because their connection was over message_quota.",
                       MetricType::Counter),
              {}, c.quota_hits);
    f.counter(f.family("blynk_login_throttle_refused_total",
                       "Logins refused outright because their address was blocked by the login throttle.",
                       MetricType::Counter),
              {}, c.throttled_logins);
    f.counter(f.family("blynk_login_throttle_blocks_total",
                       "Addresses the login throttle blocked (too many refused logins or tokens in its window).",
                       MetricType::Counter),
              {}, c.throttle_blocks);
}

void network(Families& f, const MetricsSample& s) {
    static const char* const transports[] = {"plain", "tls"};
    auto& open =
        f.family("blynk_connections", "Open connections by what they speak and their transport.", MetricType::Gauge);
    for (unsigned k = 0; k < unsigned(ConnectionKind::Count); ++k)
        for (unsigned t = 0; t < 2; ++t)
            f.gauge(open, {{"kind", connection_kind_name(ConnectionKind(k))}, {"transport", transports[t]}},
                    double(s.connections[k][t]));
    auto& accepted =
        f.family("blynk_connections_accepted_total", "Connections accepted, by transport.", MetricType::Counter);
    for (unsigned t = 0; t < 2; ++t)
        f.counter(accepted, {{"transport", transports[t]}}, s.net->accepted[t]);
    auto& hs =
        f.family("blynk_tls_handshakes_total", "TLS handshakes on the TLS port, by result.", MetricType::Counter);
    f.counter(hs, {{"result", "ok"}}, s.net->tls_handshakes_ok);
    f.counter(hs, {{"result", "failed"}}, s.net->tls_handshakes_failed);
    f.counter(
        f.family("blynk_tls_record_layer_takeovers_total",
                 "TLS connections continued on the kernel's record layer after the handshake.", MetricType::Counter),
        {}, s.net->tls_takeovers);
    auto& http =
        f.family("blynk_http_requests_total", "HTTP answers by route class and status code.", MetricType::Counter);
    for (unsigned c = 0; c < unsigned(RouteClass::Count); ++c)
        for (unsigned i = 0; i <= NetCounters::kMaxStatus - NetCounters::kMinStatus; ++i)
            if (uint64_t n = s.net->http[c][i])
                f.counter(
                    http,
                    {{"route", route_class_name(RouteClass(c))}, {"code", std::to_string(i + NetCounters::kMinStatus)}},
                    n);
}

void storage(Families& f, const MetricsSample& s) {
    f.gauge(f.family("blynk_storage_queue_depth", "Jobs waiting for the storage thread.", MetricType::Gauge), {},
            double(s.storage_queue_depth));
    auto& batches = f.family("blynk_storage_flushes_total",
                             "Pin write-behind batches handed to the storage plugin, by result.", MetricType::Counter);
    f.counter(batches, {{"result", "ok"}}, s.flush.stored);
    f.counter(batches, {{"result", "failed"}}, s.flush.failed);
    f.counter(
        f.family("blynk_storage_flushed_pins_total", "Pin values stored by the write-behind.", MetricType::Counter), {},
        s.flush.pins);
    auto& lat = f.family("blynk_storage_flush_seconds", "Time the storage plugin took to store one write-behind batch.",
                         MetricType::Histogram);
    ClientMetric m;
    uint64_t cumulative = 0;
    for (size_t i = 0; i < host::StorageFlushStats::kBoundsUs.size(); ++i) {
        cumulative += s.flush.buckets[i];
        m.histogram.bucket.push_back({cumulative, double(host::StorageFlushStats::kBoundsUs[i]) / 1e6});
    }
    m.histogram.bucket.push_back({s.flush.count, std::numeric_limits<double>::infinity()});
    m.histogram.sample_count = s.flush.count;
    m.histogram.sample_sum = double(s.flush.sum_us) / 1e6;
    lat.metric.push_back(std::move(m));
    auto& points = f.family("blynk_history_points_total",
                            "History points (values devices wrote) stored, or dropped because more than "
                            "history.max_points waited for storage.",
                            MetricType::Counter);
    f.counter(points, {{"result", "stored"}}, s.history_points_stored);
    f.counter(points, {{"result", "dropped"}}, s.history_points_dropped);
    f.gauge(f.family("blynk_history_points_waiting", "History points collected and not stored yet.", MetricType::Gauge),
            {}, double(s.history_points_waiting));
}

void notifications(Families& f, const MetricsSample& s) {
    static const char* const channels[MetricsSample::kNotifyChannels] = {"mail", "sms", "push", "tweet"};
    static const char* const results[MetricsSample::kNotifyResults] = {
        "sent", "failed", "queue_full", "no_provider", "quota", "no_widget", "invalid"};
    auto& n = f.family("blynk_notifications_total",
                       "Notifications by channel and result: sent, failed (the provider refused or could not be "
                       "reached), queue_full, no_provider, or a device's command refused by the rules (quota, "
                       "no_widget, invalid).",
                       MetricType::Counter);
    for (unsigned c = 0; c < MetricsSample::kNotifyChannels; ++c)
        for (unsigned r = 0; r < MetricsSample::kNotifyResults; ++r)
            f.counter(n, {{"channel", channels[c]}, {"result", results[r]}}, s.notifications[c][r]);
    f.gauge(f.family("blynk_notifications_waiting", "Notifications queued for the notify threads, not started yet.",
                     MetricType::Gauge),
            {}, double(s.notifications_waiting));
}

void plugins_and_process(Families& f, const MetricsSample& s) {
    auto& errors = f.family("blynk_plugin_errors_total",
                            "Plugin failures: errors plugins logged, HTTP handlers that threw, access hooks "
                            "switched off.",
                            MetricType::Counter);
    for (unsigned k = 0; k < host::PluginErrorCounts::kKinds; ++k)
        f.counter(errors, {{"kind", host::PluginErrorCounts::name(host::PluginErrorCounts::Kind(k))}},
                  s.plugin_errors[k]);
    f.counter(errors, {{"kind", "access_hook_off"}}, s.access_hooks_off);
    f.counter(f.family("blynk_plugin_events_dropped_total",
                       "Device events not delivered to plugins because their queue was full.", MetricType::Counter),
              {}, s.plugin_events_dropped);
    f.gauge(f.family("blynk_login_throttle_blocked_addresses", "Addresses the login throttle blocks now.",
                     MetricType::Gauge),
            {}, double(s.throttle_blocked_addresses));
    f.gauge(f.family("blynk_users", "Accounts in memory.", MetricType::Gauge), {}, double(s.users));
    f.gauge(f.family("blynk_devices", "Devices (tokens) in memory.", MetricType::Gauge), {}, double(s.devices));
    f.gauge(f.family("process_resident_memory_bytes", "Resident memory of blynkd (0 where the system does not say).",
                     MetricType::Gauge),
            {}, double(s.resident_bytes));
    f.gauge(f.family("process_start_time_seconds", "When blynkd started, in seconds since the Unix epoch.",
                     MetricType::Gauge),
            {}, s.start_time_seconds);
    f.gauge(f.family("blynk_uptime_seconds", "Seconds since blynkd started.", MetricType::Gauge), {}, s.uptime_seconds);
    f.gauge(f.family("blynk_build_info", "Always 1; the labels say which blynkd this is.", MetricType::Gauge),
            {{"version", s.version}}, 1);
}

}  // namespace

std::string metrics_text(const MetricsSample& s) {
    Families f;
    messages(f, *s.router);
    logins(f, *s.router);
    network(f, s);
    storage(f, s);
    notifications(f, s);
    plugins_and_process(f, s);
    return prometheus::TextSerializer().Serialize(f.take());
}

}  // namespace blynk::net
