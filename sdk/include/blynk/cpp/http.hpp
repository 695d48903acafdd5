// blynkd plugin SDK, C++ layer: HTTP requests and answers
// Part of blynk/plugin.hpp (include that one); header-only, compiled into the
// plugin.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#ifndef BLYNK_CPP_HTTP_HPP
#define BLYNK_CPP_HTTP_HPP

#include <blynk/cpp/base.hpp>

namespace blynk {
// ------------------------------------------------------------------- http

// Percent-decodes a URL component ('+' becomes a space when `plus` is true).
inline std::string url_decode(std::string_view s, bool plus = true) {
    std::string out;
    out.reserve(s.size());
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
            out.push_back(char(hex(s[i + 1]) * 16 + hex(s[i + 2])));
            i += 2;
        } else if (plus && s[i] == '+') {
            out.push_back(' ');
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

struct HttpRequest {
    std::string_view method, path, query, body, peer;
    bool tls = false;
    std::vector<std::string_view> params;  // the pattern's {name} segments, in order
    const blynk_http_header* headers = nullptr;
    size_t header_count = 0;

    // A header by case-insensitive name.
    std::optional<std::string_view> header(std::string_view name) const {
        for (size_t i = 0; i < header_count; ++i) {
            std::string_view n = view(headers[i].name);
            if (n.size() != name.size()) continue;
            bool same = true;
            for (size_t k = 0; k < n.size() && same; ++k)
                same = (n[k] | 0x20) == (name[k] | 0x20);
            if (same) return view(headers[i].value);
        }
        return std::nullopt;
    }
    // Every value of a query parameter, decoded, in order.
    std::vector<std::string> query_values(std::string_view name) const {
        std::vector<std::string> out;
        std::string_view q = query;
        while (!q.empty()) {
            size_t amp = q.find('&');
            std::string_view pair = q.substr(0, amp);
            size_t eq = pair.find('=');
            if (url_decode(pair.substr(0, eq)) == name)
                out.push_back(eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1)));
            if (amp == std::string_view::npos) break;
            q.remove_prefix(amp + 1);
        }
        return out;
    }
    std::optional<std::string> query_value(std::string_view name) const {
        auto v = query_values(name);
        if (v.empty()) return std::nullopt;
        return v.front();
    }
};

// The answer to one request; copyable, may be kept and used later from any
// thread. Only the first respond() counts.
class Responder {
public:
    Responder(const blynk_host_v1* host, blynk_http_responder* r) : host_(host), r_(r) {}
    void respond(uint32_t status, std::string_view content_type = {}, std::string_view body = {},
                 const std::vector<std::pair<std::string, std::string>>& headers = {}) const {
        if (!r_ || !host_ || !BLYNK_HAS_FIELD(host_, http_respond) || !host_->http_respond) return;
        std::vector<blynk_http_header> h;
        for (auto& kv : headers)
            h.push_back({slice(kv.first), slice(kv.second)});
        blynk_http_response res{};
        res.size = sizeof res;
        res.status = status;
        res.content_type = slice(content_type);
        res.headers = h.data();
        res.header_count = h.size();
        res.body = slice(body);
        host_->http_respond(host_->ctx, r_, &res);
    }
    void json(std::string_view body, uint32_t status = 200) const {
        respond(status, "application/json;charset=utf-8", body);
    }
    void text(uint32_t status, std::string_view body) const { respond(status, "text/plain;charset=utf-8", body); }
    void empty(uint32_t status = 200) const { respond(status); }

private:
    const blynk_host_v1* host_;
    blynk_http_responder* r_;
};

using HttpHandler = std::function<void(const HttpRequest&, const Responder&)>;

}  // namespace blynk

#endif  // BLYNK_CPP_HTTP_HPP
