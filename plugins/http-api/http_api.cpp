// http-api: the legacy Blynk token REST API (GET /{token}/get/{pin}, update,
// isHardwareConnected, ...) served on the device ports. See README.md for every
// endpoint, its answers and where it differs from the legacy server.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include <blynk/plugin.hpp>

#include "csv_export.hpp"
#include "json_body.hpp"

#include <blynk/widget_properties.hpp>
#include "qr_png.hpp"

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace {

using blynk::HttpRequest;
using blynk::Responder;
namespace fs = std::filesystem;
using namespace http_api;

// The legacy answers (docs/reference/http-api.md §2), byte for byte.
constexpr std::string_view kInvalidToken = "Invalid token.";
// The kernel could not look the token up (storage failing or too busy).
constexpr std::string_view kStorageUnavailable = "Storage is not available; try again later.";
constexpr std::string_view kWrongPin = "Wrong pin format.";
constexpr std::string_view kNoPin = "Requested pin doesn't exist in the app.";
constexpr std::string_view kNoValues = "No pin for update provided.";
constexpr std::string_view kWrongRequest = "Wrong request format.";
constexpr std::string_view kNotActive = "Project is not active.";
constexpr std::string_view kPropertyFailed = "Error setting widget property.";
constexpr std::string_view kWrongBody = "Body is empty or larger than 255 chars.";
constexpr std::string_view kWrongEmail = "Email body is wrong. Missing or empty fields 'to', 'subj'.";
constexpr std::string_view kNoData = "No data.";
constexpr std::string_view kHistoryFailed = "Error getting pin data.";
constexpr std::string_view kNoClone = "Requested QR not found.";
// This server's own answers (README.md, "Differences").
constexpr std::string_view kNoQr = "QR codes are not available on this server.";
constexpr std::string_view kBusy = "Server is busy, try again later.";
constexpr std::string_view kValueTooLong = "Value is too long.";
constexpr std::string_view kWriteFailed = "Error writing pin value.";
// A plugin's access control refused the write (SDK 1.2); the legacy server had none.
constexpr std::string_view kWriteDenied = "Writing this pin is not allowed.";
constexpr std::string_view kNoProject = "Error getting project.";
constexpr std::string_view kNoHost =
    "The server's host name is unknown: send a Host header or set [plugins.http-api] qr_host.";
constexpr std::string_view kQrFailed = "Error making the QR code.";

constexpr size_t kMaxNotifyBody = 255;   // characters
constexpr size_t kMaxFrameBody = 65535;  // bytes: the 16-bit length of a Blynk frame

bool is_token_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// A device token (and a clone code) is exactly 32 characters of [A-Za-z0-9_-].
bool token_format_ok(std::string_view t) {
    if (t.size() != 32) return false;
    for (char c : t)
        if (!is_token_char(c)) return false;
    return true;
}

struct PinRef {
    char type;  // 'v', 'd' or 'a'
    uint8_t number;
};

// V5, v5, D8, a0: a pin-type letter (any case) and a decimal 0..255.
std::optional<PinRef> parse_pin(std::string_view s) {
    if (s.size() < 2) return std::nullopt;
    char t = s[0];
    if (t >= 'A' && t <= 'Z') t = char(t - 'A' + 'a');
    if (t != 'v' && t != 'd' && t != 'a') return std::nullopt;
    unsigned n = 0;
    for (char c : s.substr(1)) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + unsigned(c - '0');
        if (n > 255) return std::nullopt;
    }
    return PinRef{t, uint8_t(n)};
}

std::string join_nul(const std::vector<std::string>& parts) {
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) {
        if (i) out.push_back('\0');
        out += parts[i];
    }
    return out;
}

std::string_view param(const HttpRequest& q, size_t i) {
    return i < q.params.size() ? q.params[i] : std::string_view();
}

// The checked outcome of a JSON body: empty error = parsed.
struct BodyCheck {
    std::string error;  // the 500 text
};

BodyCheck check_json_body(const HttpRequest& q, const std::function<bool(std::string_view)>& parse) {
    if (!is_json_content_type(q.header("Content-Type"))) return {std::string(kWrongContentType)};
    if (!parse(q.body)) return {parse_error_text(q.body)};
    return {};
}

// Host and port of a Host header ("example.com:8080", "[::1]:9443", "1.2.3.4");
// an empty host if the header is not a plain host name or address.
std::pair<std::string, int> split_host_header(std::string_view h) {
    std::string_view host = h, port;
    if (!h.empty() && h[0] == '[') {
        size_t close = h.find(']');
        if (close == std::string_view::npos || close < 2) return {"", 0};
        host = h.substr(0, close + 1);
        std::string_view rest = h.substr(close + 1);
        if (!rest.empty()) {
            if (rest[0] != ':') return {"", 0};
            port = rest.substr(1);
        }
        for (char c : host.substr(1, host.size() - 2))
            if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return {"", 0};
    } else {
        size_t colon = h.find(':');
        if (colon != std::string_view::npos) {
            host = h.substr(0, colon);
            port = h.substr(colon + 1);
        }
        for (char c : host)
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-')) return {"", 0};
    }
    int p = 0;
    for (char c : port) {
        if (c < '0' || c > '9' || p > 65535) return {"", 0};
        p = p * 10 + (c - '0');
    }
    if (p > 65535) return {"", 0};
    return {std::string(host), p};
}

std::string new_clone_code() {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    std::random_device rd;  // the system's CSPRNG on Linux
    std::string code;
    while (code.size() < 32) {
        unsigned r = rd();
        for (int k = 0; k < 5 && code.size() < 32; ++k, r >>= 6)
            code.push_back(alphabet[r & 63]);
    }
    return code;
}

class HttpApi final : public blynk::Plugin {
public:
    HttpApi() {
        route("GET", "/{token}/get/{pin}", [this](const HttpRequest& q, const Responder& res) { get_pin(q, res); });
        route("GET", "/{token}/update/{pin}",
              [this](const HttpRequest& q, const Responder& res) { get_update(q, res); });
        route("PUT", "/{token}/update/{pin}",
              [this](const HttpRequest& q, const Responder& res) { put_update(q, res); });
        route("PUT", "/{token}/pin/{pin}", [this](const HttpRequest& q, const Responder& res) { put_update(q, res); });
        route("PUT", "/{token}/extra/pin/{pin}",
              [this](const HttpRequest& q, const Responder& res) { put_extra(q, res); });
        route("GET", "/{token}/isHardwareConnected", [this](const HttpRequest& q, const Responder& res) {
            with_device(param(q, 0), res, [this](const std::string& tok, const Responder& r) {
                auto d = kernel().device(tok);
                if (!d) return r.text(400, kInvalidToken);
                r.json(d->online_connections > 0 ? "true" : "false");
            });
        });
        route("GET", "/{token}/isAppConnected", [this](const HttpRequest& q, const Responder& res) {
            with_device(param(q, 0), res, [this](const std::string& tok, const Responder& r) {
                auto d = kernel().device(tok);
                if (!d) return r.text(400, kInvalidToken);
                r.json(d->dash_active && d->app_connected ? "true" : "false");
            });
        });
        route("GET", "/{token}/project", [this](const HttpRequest& q, const Responder& res) {
            with_device(param(q, 0), res, [this](const std::string& tok, const Responder& r) {
                auto json = dashboard_of(tok);
                if (!json) return r.text(500, kNoProject);
                r.json(*json);
            });
        });
        route("GET", "/{token}/rtc", [this](const HttpRequest& q, const Responder& res) {
            with_device(param(q, 0), res, [](const std::string&, const Responder& r) {
                auto now = std::chrono::system_clock::now().time_since_epoch();
                r.json("[" + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now).count()) + "]");
            });
        });
        route("POST", "/{token}/notify", [this](const HttpRequest& q, const Responder& res) { post_notify(q, res); });
        route("POST", "/{token}/email", [this](const HttpRequest& q, const Responder& res) { post_email(q, res); });
        route("GET", "/{token}/data/{pin}", [this](const HttpRequest& q, const Responder& res) { get_data(q, res); });
        route("GET", "/{token}/qr", [this](const HttpRequest& q, const Responder& res) { get_qr(q, res); });
        route("GET", "/{token}/clone", [this](const HttpRequest& q, const Responder& res) { get_clone(q, res); });
    }

    void init(const blynk::Settings& s) override {
        s.reject_unknown({"qr_host", "qr_port"});
        qr_host_ = s.get_string("qr_host", "");
        if (!qr_host_.empty() && split_host_header(qr_host_).first != qr_host_)
            throw blynk::SettingsError("'qr_host' is \"" + qr_host_ +
                                       "\"; allowed: a host name or an IP address (IPv6 in brackets), without a port");
        qr_port_ = int(s.get_int("qr_port", 0, 0, 65535));
    }

private:
    // The public JSON (no tokens) of the device's dashboard, through
    // profile_json (SDK 1.2; project_json is deprecated).
    std::optional<std::string> dashboard_of(const std::string& token) const {
        auto d = kernel().device(token);
        if (!d) return std::nullopt;
        return kernel().profile_json(d->email, d->dash_id, false);
    }

    using DeviceFn = std::function<void(const std::string& token, const Responder& res)>;

    // Checks the token's format, has the kernel look it up (storage may be
    // asked), then runs fn on the kernel thread; "Invalid token." otherwise.
    // fn must not use the request: it is gone by then.
    void with_device(std::string_view token, const Responder& res, DeviceFn fn) const {
        if (!token_format_ok(token)) return res.text(400, kInvalidToken);
        std::string tok(token);
        kernel().lookup_token(tok, [tok, res, fn = std::move(fn)](blynk::Kernel::TokenLookup r) {
            try {
                if (r == blynk::Kernel::TokenLookup::Unavailable)
                    return res.respond(503, "text/plain;charset=utf-8", kStorageUnavailable, {{"Retry-After", "5"}});
                if (r != blynk::Kernel::TokenLookup::Found) return res.text(400, kInvalidToken);
                fn(tok, res);
            } catch (const std::exception& e) {
                res.text(500, e.what());
            } catch (...) {
                res.text(500, "internal error");
            }
        });
    }

    // Runs fn on the server's worker pool (for file I/O and image work).
    bool run_in_pool(std::function<void()> fn) const { return host().submit(std::move(fn)); }

    void write_pin(const std::string& tok, PinRef p, const std::vector<std::string>& values,
                   const Responder& res) const {
        std::string value = join_nul(values);
        // An empty value is refused like no value: the kernel (as the hardware
        // protocol) does not store or forward `vw\0pin\0` with nothing after it.
        if (value.empty()) return res.text(400, kNoValues);
        // The HARDWARE body `<t>w\0<pin>\0<value>` must fit in one frame, or the value could
        // be stored but never reach the device (neither forwarded nor synced).
        if (value.size() + 4 + std::to_string(p.number).size() > kMaxFrameBody) return res.text(400, kValueTooLong);
        switch (kernel().write_pin(tok, p.type, p.number, value)) {
            case blynk::Kernel::WriteStatus::Ok:
                break;
            case blynk::Kernel::WriteStatus::Denied:
                return res.text(403, kWriteDenied);
            default:
                return res.text(500, kWriteFailed);
        }
        res.empty(200);
    }

    // GET /{token}/data/{pin}: the pin's minute averages (the newest
    // kCsvMaxRows), gzip CSV, answered directly (README.md, "Differences":
    // the legacy server redirected to a temporary file anyone could fetch).
    void get_data(const HttpRequest& q, const Responder& res) const {
        std::string pin(param(q, 1));
        with_device(param(q, 0), res, [this, pin](const std::string& tok, const Responder& r) {
            auto p = parse_pin(pin);
            if (!p) return r.text(400, kWrongPin);
            auto d = kernel().device(tok);
            if (!d) return r.text(400, kInvalidToken);
            blynk::HistoryQuery hq;
            hq.pin_type = p->type;
            hq.pin = p->number;
            hq.granularity = blynk::Granularity::minute;
            hq.limit = kCsvMaxRows;
            std::string file = std::to_string(d->dash_id) + "_" + std::to_string(d->device_id) + "_" +
                               std::string(1, p->type) + std::to_string(p->number) + ".csv.gz";
            int32_t device_id = d->device_id;
            kernel().read_history(tok, hq, [this, r, device_id, file](int st, std::vector<blynk::HistoryRow> rows) {
                if (st != BLYNK_OK) return r.text(400, kHistoryFailed);
                if (rows.empty()) return r.text(400, kNoData);
                // A month of minutes is ~1.5 MB of text: built and compressed off the kernel thread.
                auto shared = std::make_shared<std::vector<blynk::HistoryRow>>(std::move(rows));
                bool queued = run_in_pool([r, shared, device_id, file] {
                    std::string body = gzip(csv_lines(*shared, device_id));
                    if (body.empty()) return r.text(400, kHistoryFailed);
                    r.respond(200, "application/gzip", body,
                              {{"Content-Disposition", "attachment; filename=\"" + file + "\""}});
                });
                if (!queued) r.text(503, kBusy);
            });
        });
    }

    // GET /{token}/get/{pin}
    void get_pin(const HttpRequest& q, const Responder& res) const {
        std::string pin(param(q, 1));
        with_device(param(q, 0), res, [this, pin](const std::string& tok, const Responder& r) {
            auto p = parse_pin(pin);
            if (!p) return r.text(400, kWrongPin);
            auto value = kernel().pin_read(tok, p->type, p->number);
            if (!value) return r.text(400, kNoPin);
            r.json(json_string_array(*value));
        });
    }

    // GET /{token}/update/{pin}?value=V[&value=V2...] or ?<property>=X
    void get_update(const HttpRequest& q, const Responder& res) const {
        std::string pin(param(q, 1));
        std::vector<std::string> values = q.query_values("value");
        std::string property, property_value;
        if (values.empty())
            // In the legacy enum order: the first property present in the query is applied (§2.2).
            for (std::string_view name : blynk::kWidgetProperties) {
                auto v = q.query_values(name);
                if (v.empty()) continue;
                property = std::string(name);
                property_value = join_nul(v);
                break;
            }
        with_device(param(q, 0), res,
                    [this, pin, values = std::move(values), property, property_value](const std::string& tok,
                                                                                      const Responder& r) {
                        auto p = parse_pin(pin);
                        if (!p) return r.text(400, kWrongPin);
                        if (!values.empty()) return write_pin(tok, *p, values, r);
                        if (property.empty()) return r.text(400, kWrongRequest);
                        auto d = kernel().device(tok);
                        if (!d) return r.text(400, kInvalidToken);
                        if (!d->dash_active) return r.text(400, kNotActive);
                        if (!kernel().pin_property(tok, p->number, property, property_value))
                            return r.text(400, kPropertyFailed);
                        r.empty(200);
                    });
    }

    // PUT /{token}/update/{pin} and PUT /{token}/pin/{pin}: ["1","2"]
    void put_update(const HttpRequest& q, const Responder& res) const {
        std::string pin(param(q, 1));
        std::vector<std::string> values;
        BodyCheck body = check_json_body(q, [&](std::string_view b) { return parse_value_array(b, values); });
        with_device(param(q, 0), res,
                    [this, pin, body, values = std::move(values)](const std::string& tok, const Responder& r) {
                        auto p = parse_pin(pin);
                        if (!p) return r.text(400, kWrongPin);
                        if (!body.error.empty()) return r.text(500, body.error);
                        write_pin(tok, *p, values, r);
                    });
    }

    // PUT /{token}/extra/pin/{pin}: [{"timestamp": ms, "value": "v"}, ...]
    void put_extra(const HttpRequest& q, const Responder& res) const {
        std::string pin(param(q, 1));
        std::vector<TimedValue> points;
        BodyCheck body = check_json_body(q, [&](std::string_view b) { return parse_timed_values(b, points); });
        std::vector<std::string> first;
        if (!points.empty()) first.push_back(std::move(points.front().value));
        // The timestamps are accepted and not used: there is no history store yet.
        with_device(param(q, 0), res,
                    [this, pin, body, first = std::move(first)](const std::string& tok, const Responder& r) {
                        auto p = parse_pin(pin);
                        if (!p) return r.text(400, kWrongPin);
                        if (!body.error.empty()) return r.text(500, body.error);
                        write_pin(tok, *p, first, r);
                    });
    }

    // POST /{token}/notify: {"body": "text"}
    void post_notify(const HttpRequest& q, const Responder& res) const {
        std::map<std::string, std::string> fields;
        BodyCheck body =
            check_json_body(q, [&](std::string_view b) { return parse_object_fields(b, {"body"}, fields); });
        with_device(param(q, 0), res,
                    [this, body, fields = std::move(fields)](const std::string& tok, const Responder& r) {
                        if (!body.error.empty()) return r.text(500, body.error);
                        auto it = fields.find("body");
                        if (it == fields.end() || it->second.empty() || utf8_length(it->second) > kMaxNotifyBody)
                            return r.text(400, kWrongBody);
                        notify(tok, BLYNK_NOTIFY_PUSH, "", "", it->second, r);
                    });
    }

    // POST /{token}/email: {"to": "...", "subj": "...", "title": "..."}
    void post_email(const HttpRequest& q, const Responder& res) const {
        std::map<std::string, std::string> fields;
        BodyCheck body = check_json_body(q, [&](std::string_view b) {
            return parse_object_fields(b, {"to", "subj", "title"}, fields);
        });
        with_device(
            param(q, 0), res, [this, body, fields = std::move(fields)](const std::string& tok, const Responder& r) {
                if (!body.error.empty()) return r.text(500, body.error);
                auto to = fields.find("to");
                auto subj = fields.find("subj");
                if (to == fields.end() || to->second.empty() || subj == fields.end() || subj->second.empty())
                    return r.text(400, kWrongEmail);
                auto title = fields.find("title");  // the legacy field for the mail's text
                notify(tok, BLYNK_NOTIFY_MAIL, to->second, subj->second, title == fields.end() ? "" : title->second, r);
            });
    }

    // Sends through the kernel's notifiers (which apply the legacy rules)
    // and answers once the provider took it (200), a rule refused it (400,
    // the legacy text) or it could not be sent (503).
    void notify(const std::string& tok, blynk_notify_channel channel, std::string_view to, std::string_view subject,
                std::string_view text, const Responder& r) const {
        host().notify(tok, channel, to, subject, text, [r](int status, std::string message) {
            if (status == BLYNK_OK) return r.empty(200);
            if (status == BLYNK_DENIED || status == BLYNK_NOT_FOUND) return r.text(400, message);
            r.respond(503, "text/plain;charset=utf-8", message, {{"Retry-After", "5"}});
        });
    }

    // GET /{token}/qr: a new clone of the project, and the PNG of its QR code.
    void get_qr(const HttpRequest& q, const Responder& res) const {
        auto [req_host, req_port] = split_host_header(q.header("Host").value_or(""));
        bool tls = q.tls;
        with_device(param(q, 0), res,
                    [this, req_host = req_host, req_port = req_port, tls](const std::string& tok, const Responder& r) {
                        if (!qr_available()) return r.text(501, kNoQr);
                        std::string server = qr_host_.empty() ? req_host : qr_host_;
                        if (server.empty()) return r.text(500, kNoHost);
                        int port = qr_port_;
                        if (port == 0) port = tls ? (req_port ? req_port : 443) : 9443;
                        auto project = dashboard_of(tok);
                        if (!project) return r.text(500, kNoProject);
                        std::string dir = clone_dir();
                        std::string json = std::move(*project);
                        bool queued = run_in_pool([dir, json, server, port, r] {
                            try {
                                std::string code = new_clone_code();
                                std::error_code ec;
                                fs::create_directories(dir, ec);
                                fs::path file = fs::path(dir) / (code + ".json");
                                fs::path tmp = fs::path(dir) / (code + ".json.tmp");
                                {
                                    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
                                    out.write(json.data(), std::streamsize(json.size()));
                                    out.close();
                                    if (!out) return r.text(500, "Error saving the project clone.");
                                }
                                fs::rename(tmp, file, ec);
                                if (ec) return r.text(500, "Error saving the project clone.");
                                auto png = qr_png("blynk://token/clone/" + code + "?server=" + server +
                                                  "&port=" + std::to_string(port));
                                if (!png) return r.text(500, kQrFailed);
                                r.respond(200, "image/png", *png);
                            } catch (const std::exception& e) {
                                r.text(500, e.what());
                            }
                        });
                        if (!queued) r.text(503, kBusy);
                    });
    }

    // GET /{code}/clone: the project saved by /qr; no token, the code is the key.
    void get_clone(const HttpRequest& q, const Responder& res) const {
        std::string code(param(q, 0));
        if (!token_format_ok(code)) return res.text(500, kNoClone);
        std::string dir = clone_dir();
        bool queued = run_in_pool([dir, code, res] {
            try {
                std::ifstream in(fs::path(dir) / (code + ".json"), std::ios::binary);
                if (!in) return res.text(500, kNoClone);
                std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
                if (in.bad()) return res.text(500, kNoClone);
                res.json(json);
            } catch (const std::exception& e) {
                res.text(500, e.what());
            }
        });
        if (!queued) res.text(503, kBusy);
    }

    // Where /qr saves project clones: <data_dir>/http-api/clones/<code>.json
    std::string clone_dir() const { return host().data_dir() + "/http-api/clones"; }

    std::string qr_host_;
    int qr_port_ = 0;
};

}  // namespace

BLYNK_PLUGIN(HttpApi, "http-api", "0.1.0")
