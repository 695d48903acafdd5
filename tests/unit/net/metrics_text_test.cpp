// The /metrics text made from what a scrape copied out (net/metrics_text.cpp):
// the series a Prometheus user queries, with the labels and values the
// counters hold, and histogram buckets that are cumulative.
#include <gtest/gtest.h>

#include <string>

#include "codec/protocol.hpp"
#include "net/metrics_text.hpp"

using namespace blynk;

namespace {

bool has_line(const std::string& text, const std::string& line) {
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

struct Sample {
    core::Counters router;
    net::NetCounters net;
    net::MetricsSample s;
    Sample() {
        s.router = &router;
        s.net = &net;
        s.version = "9.9.9";
    }
};

}  // namespace

TEST(MetricsText, MessagesByProtocolAndCommandName) {
    Sample m;
    m.router.messages_in[core::Counters::kHardware][uint8_t(codec::Command::Hardware)] = 3;
    m.router.messages_out[core::Counters::kHardware][uint8_t(codec::Command::Response)] = 5;
    std::string text = net::metrics_text(m.s);
    EXPECT_TRUE(has_line(text, "# TYPE blynk_messages_received_total counter")) << text;
    EXPECT_TRUE(has_line(text, R"(blynk_messages_received_total{protocol="hardware",command="hardware"} 3)")) << text;
    EXPECT_TRUE(has_line(text, R"(blynk_messages_sent_total{protocol="hardware",command="response"} 5)")) << text;
    // A command nobody sent has no series: the answer grows with what happened, not with the code table.
    EXPECT_EQ(text.find(R"(command="bridge")"), std::string::npos) << text;
}

TEST(MetricsText, LoginsConnectionsAndHttpAnswers) {
    Sample m;
    m.router.logins[core::Counters::kHardware][core::Counters::kLoginOk] = 2;
    m.router.logins[core::Counters::kHardware][core::Counters::kLoginFailed] = 1;
    m.router.quota_hits = 7;
    m.s.connections[unsigned(net::ConnectionKind::Hardware)][1] = 4;
    m.net.accepted[0] = 6;
    m.net.http_answered(net::RouteClass::Api, 200);
    m.net.http_answered(net::RouteClass::Api, 200);
    m.net.http_answered(net::RouteClass::Metrics, 403);
    m.net.http_answered(net::RouteClass::Other, 42);  // not an HTTP status: counted as 500
    std::string text = net::metrics_text(m.s);
    EXPECT_TRUE(has_line(text, R"(blynk_logins_total{protocol="hardware",result="ok"} 2)")) << text;
    EXPECT_TRUE(has_line(text, R"(blynk_logins_total{protocol="hardware",result="failed"} 1)")) << text;
    EXPECT_TRUE(has_line(text, "blynk_quota_hits_total 7")) << text;
    EXPECT_TRUE(has_line(text, R"(blynk_connections{kind="hardware",transport="tls"} 4)")) << text;
    EXPECT_TRUE(has_line(text, R"(blynk_connections_accepted_total{transport="plain"} 6)")) << text;
    EXPECT_TRUE(has_line(text, R"(blynk_http_requests_total{route="api",code="200"} 2)")) << text;
    EXPECT_TRUE(has_line(text, R"(blynk_http_requests_total{route="metrics",code="403"} 1)")) << text;
    EXPECT_TRUE(has_line(text, R"(blynk_http_requests_total{route="other",code="500"} 1)")) << text;
    EXPECT_TRUE(has_line(text, R"(blynk_build_info{version="9.9.9"} 1)")) << text;
    // No app logins yet: no app series (the app protocol adds them when it counts).
    EXPECT_EQ(text.find(R"(protocol="app")"), std::string::npos) << text;
}

TEST(MetricsText, FlushLatencyBucketsAreCumulative) {
    host::StorageFlushStats stats;
    stats.record(800, true, 10);         // <= 1 ms
    stats.record(3000, true, 5);         // <= 5 ms
    stats.record(20'000'000, false, 1);  // over every bound: +Inf only
    Sample m;
    m.s.flush = stats.snapshot();
    std::string text = net::metrics_text(m.s);
    EXPECT_TRUE(has_line(text, "# TYPE blynk_storage_flush_seconds histogram")) << text;
    EXPECT_TRUE(has_line(text, R"(blynk_storage_flush_seconds_bucket{le="0.001"} 1)")) << text;
    EXPECT_TRUE(has_line(text, R"(blynk_storage_flush_seconds_bucket{le="0.0025"} 1)")) << text;
    EXPECT_TRUE(has_line(text, R"(blynk_storage_flush_seconds_bucket{le="0.005"} 2)")) << text;
    EXPECT_TRUE(has_line(text, R"(blynk_storage_flush_seconds_bucket{le="10"} 2)")) << text;
    EXPECT_TRUE(has_line(text, R"(blynk_storage_flush_seconds_bucket{le="+Inf"} 3)")) << text;
    EXPECT_TRUE(has_line(text, "blynk_storage_flush_seconds_count 3")) << text;
    EXPECT_TRUE(has_line(text, R"(blynk_storage_flushes_total{result="ok"} 2)")) << text;
    EXPECT_TRUE(has_line(text, R"(blynk_storage_flushes_total{result="failed"} 1)")) << text;
    EXPECT_TRUE(has_line(text, "blynk_storage_flushed_pins_total 15")) << text;
}

TEST(MetricsText, NotificationsByChannelAndResultAlwaysHaveEverySeries) {
    Sample m;
    using R = net::MetricsSample::NotifyResult;
    m.s.notifications[0][R::kSent] = 4;        // mail
    m.s.notifications[0][R::kQuota] = 2;       // mail
    m.s.notifications[1][R::kFailed] = 3;      // sms
    m.s.notifications[2][R::kQueueFull] = 1;   // push
    m.s.notifications[3][R::kNoProvider] = 5;  // tweet
    m.s.notifications_waiting = 6;
    std::string text = net::metrics_text(m.s);
    EXPECT_TRUE(has_line(text, "# TYPE blynk_notifications_total counter")) << text;
    EXPECT_TRUE(has_line(text, R"(blynk_notifications_total{channel="mail",result="sent"} 4)")) << text;
    EXPECT_TRUE(has_line(text, R"(blynk_notifications_total{channel="mail",result="quota"} 2)")) << text;
    EXPECT_TRUE(has_line(text, R"(blynk_notifications_total{channel="sms",result="failed"} 3)")) << text;
    EXPECT_TRUE(has_line(text, R"(blynk_notifications_total{channel="push",result="queue_full"} 1)")) << text;
    EXPECT_TRUE(has_line(text, R"(blynk_notifications_total{channel="tweet",result="no_provider"} 5)")) << text;
    // A fixed set: every channel and result is there from the start, so rate() sees the first one.
    EXPECT_TRUE(has_line(text, R"(blynk_notifications_total{channel="sms",result="no_widget"} 0)")) << text;
    EXPECT_TRUE(has_line(text, R"(blynk_notifications_total{channel="push",result="invalid"} 0)")) << text;
    size_t series = 0;
    for (size_t at = text.find("\nblynk_notifications_total{"); at != std::string::npos;
         at = text.find("\nblynk_notifications_total{", at + 1))
        ++series;
    EXPECT_EQ(series, 4u * 7u) << text;
    EXPECT_TRUE(has_line(text, "# TYPE blynk_notifications_waiting gauge")) << text;
    EXPECT_TRUE(has_line(text, "blynk_notifications_waiting 6")) << text;
}
