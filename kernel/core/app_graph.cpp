// The app's charts: GET_ENHANCED_GRAPH_DATA (a SuperChart's data streams over
// one of the legacy GraphPeriods, resolved here and read on the storage
// thread through AppBackend::read_graph) and DELETE_ENHANCED_GRAPH_DATA; and
// the reply's binary form (core/app_graph.hpp), built off the loop.
#include "core/app_graph.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>

#include "codec/protocol.hpp"
#include "core/app_hub.hpp"

namespace blynk::core {

using codec::Status;

namespace {

struct PeriodInfo {
    const char* name;
    uint32_t points;
    uint32_t granularity;  // blynk_granularity
};
// The legacy GraphPeriod table: points and granularity of each period.
constexpr PeriodInfo kPeriods[] = {
    {"LIVE", 60, BLYNK_GRANULARITY_RAW},
    {"FIFTEEN_MINUTES", 15, BLYNK_GRANULARITY_MINUTE},
    {"THIRTY_MINUTES", 30, BLYNK_GRANULARITY_MINUTE},
    {"ONE_HOUR", 60, BLYNK_GRANULARITY_MINUTE},
    {"THREE_HOURS", 3 * 60, BLYNK_GRANULARITY_MINUTE},
    {"SIX_HOURS", 6 * 60, BLYNK_GRANULARITY_MINUTE},
    {"TWELVE_HOURS", 12 * 60, BLYNK_GRANULARITY_MINUTE},
    {"DAY", 24 * 60, BLYNK_GRANULARITY_MINUTE},
    {"THREE_DAYS", 24 * 3, BLYNK_GRANULARITY_HOUR},
    {"WEEK", 24 * 7, BLYNK_GRANULARITY_HOUR},
    {"TWO_WEEKS", 24 * 14, BLYNK_GRANULARITY_HOUR},
    {"MONTH", 30 * 24, BLYNK_GRANULARITY_HOUR},
    {"THREE_MONTHS", 3 * 30 * 24, BLYNK_GRANULARITY_HOUR},
    {"ALL", 12 * 30 * 24, BLYNK_GRANULARITY_HOUR},
    {"N_DAY", 24, BLYNK_GRANULARITY_HOUR},
    {"TWO_DAYS", 2 * 24, BLYNK_GRANULARITY_HOUR},
    {"N_THREE_DAYS", 3 * 24, BLYNK_GRANULARITY_HOUR},
    {"N_WEEK", 7, BLYNK_GRANULARITY_DAY},
    {"N_TWO_WEEKS", 14, BLYNK_GRANULARITY_DAY},
    {"N_MONTH", 30, BLYNK_GRANULARITY_DAY},
    {"N_THREE_MONTHS", 3 * 30, BLYNK_GRANULARITY_DAY},
    {"SIX_MONTHS", 6 * 30, BLYNK_GRANULARITY_DAY},
    {"ONE_YEAR", 12 * 30, BLYNK_GRANULARITY_DAY},
};

void put_be(std::string& out, uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i)
        out.push_back(char((v >> (8 * i)) & 0xFF));
}

}  // namespace

bool graph_period(std::string_view name, uint32_t& points, uint32_t& granularity) {
    for (const auto& p : kPeriods)
        if (name == p.name) {
            points = p.points;
            granularity = p.granularity;
            return true;
        }
    return false;
}

std::vector<GraphPoint> merge_stream(const std::vector<std::vector<GraphPoint>>& per_device,
                                     std::string_view function) {
    if (per_device.size() == 1) return per_device[0];  // one device: its values as they are
    std::map<int64_t, std::vector<double>> at;
    for (const auto& points : per_device)
        for (const auto& p : points)
            at[p.at_ms].push_back(p.value);
    std::vector<GraphPoint> out;
    out.reserve(at.size());
    for (auto& [t, values] : at) {
        double v = 0;
        if (function == "MIN") {
            v = *std::min_element(values.begin(), values.end());
        } else if (function == "MAX") {
            v = *std::max_element(values.begin(), values.end());
        } else if (function == "SUM") {
            for (double x : values)
                v += x;
        } else if (function == "MED") {
            // The middle value; of an even count the mean of the two middle ones.
            std::sort(values.begin(), values.end());
            size_t n = values.size();
            v = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
        } else {  // AVG and anything unknown
            for (double x : values)
                v += x;
            v /= double(values.size());
        }
        out.push_back({v, t});
    }
    return out;
}

std::string graph_body(int32_t dash_id, const std::vector<std::vector<GraphPoint>>& streams) {
    std::string out;
    size_t n = 0;
    for (auto& s : streams)
        n += s.size();
    out.reserve(4 + 4 * streams.size() + 16 * n);
    put_be(out, uint32_t(dash_id), 4);
    for (auto& s : streams) {
        put_be(out, uint32_t(s.size()), 4);
        for (auto& p : s) {
            uint64_t bits = 0;
            static_assert(sizeof bits == sizeof p.value, "IEEE double");
            std::memcpy(&bits, &p.value, sizeof bits);
            put_be(out, bits, 8);
            put_be(out, uint64_t(p.at_ms), 8);
        }
    }
    return out;
}

// `dashId[-targetId]\0widgetId\0PERIOD[\0page]`
void AppHub::get_graph_data(AppRoute& s, const codec::Frame& f) {
    Fields fl = split_body(f.body, 4);
    int32_t dash_id = 0, target_override = -1, page = 0;
    int64_t widget_id = 0;
    uint32_t points = 0, granularity = 0;
    if (fl.size() < 3 || !parse_dash_target(fl[0], dash_id, target_override) || !parse_i64(fl[1], widget_id) ||
        !graph_period(fl[2], points, granularity) || (fl.size() == 4 && (!parse_i32(fl[3], page) || page < 0)))
        return status(s, f.msg_id, Status::IllegalCommand);
    if (fl[0].find('-') == std::string_view::npos) target_override = -1;
    if (!s.sees(dash_id)) return status(s, f.msg_id, Status::IllegalCommand);
    User& u = *s.user;
    Dashboard* dash = u.find_dash(dash_id);
    Widget* w = dash ? dash->find_widget(widget_id) : nullptr;
    if (!w || w->type != "ENHANCED_GRAPH") return status(s, f.msg_id, Status::IllegalCommand);
    if (w->streams.empty()) return status(s, f.msg_id, Status::NoData);
    GraphRequest req;
    req.email = u.email;
    req.dash_id = dash_id;
    req.live = granularity == BLYNK_GRANULARITY_RAW;
    req.granularity = granularity;
    req.points = points;
    req.skip = uint32_t(std::min<int64_t>(int64_t(points) * page, UINT32_MAX));
    for (const auto& gs : w->streams) {
        GraphStreamRequest sr;
        sr.pin_key = gs.pin_key;
        sr.function = gs.function;
        // Device tiles name the device in the request; otherwise the stream does.
        int32_t target = target_override >= 0 ? target_override : gs.target_id;
        for (Device* d : targets(u, *dash, target))
            sr.device_ids.push_back(d->id);
        req.streams.push_back(std::move(sr));
    }
    uint64_t id = s.id;
    uint16_t msg_id = f.msg_id;
    bool queued = backend_.read_graph(std::move(req), [this, id, msg_id](int rc, std::string body) {
        AppRoute* live = session(id);
        if (!live) return;
        if (rc == BLYNK_OK)
            live->out->send(uint8_t(codec::Command::GetEnhancedGraphData), msg_id, body);
        else
            status(*live, msg_id, rc == BLYNK_NOT_FOUND ? Status::NoData : Status::ServerError);
    });
    if (!queued) status(s, f.msg_id, Status::ServerError);
}

// `dashId[-targetId]\0widgetId[\0streamIndex]`: the chart's history (of one
// stream when the index names one; the legacy server deleted them all).
void AppHub::delete_graph_data(AppRoute& s, const codec::Frame& f) {
    Fields fl = split_body(f.body, 3);
    int32_t dash_id = 0, target_override = -1, stream = -1;
    int64_t widget_id = 0;
    if (fl.size() < 2 || !parse_dash_target(fl[0], dash_id, target_override) || !parse_i64(fl[1], widget_id) ||
        (fl.size() == 3 && !parse_i32(fl[2], stream)))
        return status(s, f.msg_id, Status::IllegalCommand);
    if (fl[0].find('-') == std::string_view::npos) target_override = -1;
    if (!s.sees(dash_id)) return status(s, f.msg_id, Status::IllegalCommand);
    if (!s.owner()) return status(s, f.msg_id, Status::NotAllowed);
    User& u = *s.user;
    Dashboard* dash = u.find_dash(dash_id);
    Widget* w = dash ? dash->find_widget(widget_id) : nullptr;
    if (!w || w->type != "ENHANCED_GRAPH") return status(s, f.msg_id, Status::IllegalCommand);
    std::map<int32_t, std::vector<uint16_t>> pins_of;  // device -> pins
    for (size_t i = 0; i < w->streams.size(); ++i) {
        if (stream >= 0 && size_t(stream) < w->streams.size() && size_t(stream) != i) continue;
        const GraphStream& gs = w->streams[i];
        for (Device* d : targets(u, *dash, target_override >= 0 ? target_override : gs.target_id))
            pins_of[d->id].push_back(gs.pin_key);
    }
    if (pins_of.empty()) return ok(s, f.msg_id);
    // One answer once every device's deletion is done (the first failure wins).
    auto left = std::make_shared<size_t>(pins_of.size());
    auto failed = std::make_shared<int>(0);
    auto reply = reply_when_stored(s, f.msg_id);
    for (auto& [device_id, pins] : pins_of) {
        bool queued = backend_.remove_history(u, dash_id, device_id, pins, [left, failed, reply](int rc) {
            if (rc && !*failed) *failed = rc;
            if (--*left == 0) reply(*failed);
        });
        if (!queued) {
            // Those already queued still run; their answer is dropped with this one.
            *left = size_t(-1);
            return status(s, f.msg_id, Status::ServerError);
        }
    }
}

}  // namespace blynk::core
