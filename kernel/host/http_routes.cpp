#include "host/http_routes.hpp"

namespace blynk::host {

namespace {

int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> out;
    if (path.empty() || path[0] != '/') return out;
    path.remove_prefix(1);
    while (true) {
        size_t slash = path.find('/');
        out.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    return out;
}

}  // namespace

bool percent_decode(std::string_view in, std::string& out, bool plus_is_space) {
    out.clear();
    out.reserve(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '%') {
            if (i + 2 >= in.size() || hex(in[i + 1]) < 0 || hex(in[i + 2]) < 0) return false;
            out.push_back(char(hex(in[i + 1]) * 16 + hex(in[i + 2])));
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    return true;
}

std::string query_field(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        size_t amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        size_t eq = pair.find('=');
        std::string key;
        if (!percent_decode(pair.substr(0, eq), key, true) || key != name) continue;
        std::string value;
        if (eq == std::string_view::npos || !percent_decode(pair.substr(eq + 1), value, true)) return {};
        return value;
    }
    return {};
}

void HttpRoutes::add(std::string method, std::string_view pattern, std::string owner, RouteFn fn, bool cross_origin) {
    Route r;
    r.cross_origin = cross_origin;
    r.method = std::move(method);
    r.pattern = std::string(pattern);
    r.owner = std::move(owner);
    r.fn = std::move(fn);
    r.literals = 0;
    if (pattern.empty() || pattern[0] != '/')
        throw std::invalid_argument("route pattern '" + r.pattern + "' of " + r.owner + " must start with '/'");
    for (std::string_view seg : split_path(pattern)) {
        if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
            r.segments.push_back({true, std::string(seg.substr(1, seg.size() - 2))});
        } else {
            if (seg.find_first_of("{}") != std::string_view::npos)
                throw std::invalid_argument("route pattern '" + r.pattern + "' of " + r.owner +
                                            ": a {name} must be a whole segment");
            r.segments.push_back({false, std::string(seg)});
            ++r.literals;
        }
    }
    for (const Route& o : routes_) {
        if (o.method != r.method || o.segments.size() != r.segments.size()) continue;
        bool same = true;
        for (size_t i = 0; i < o.segments.size() && same; ++i)
            same = o.segments[i].param == r.segments[i].param &&
                   (o.segments[i].param || o.segments[i].text == r.segments[i].text);
        if (same)
            throw RouteConflict("HTTP route " + r.method + " " + r.pattern + " of " + r.owner +
                                " is already served by " + o.owner + " (" + o.method + " " + o.pattern + ")");
    }
    routes_.push_back(std::move(r));
}

void HttpRoutes::gate(std::string prefix, GateFn fn) {
    gates_.emplace_back(std::move(prefix), std::move(fn));
}

const HttpRoutes::GateFn* HttpRoutes::gate_for(std::string_view raw_path) const {
    for (auto& [prefix, fn] : gates_)
        if (raw_path.substr(0, prefix.size()) == prefix &&
            (raw_path.size() == prefix.size() || raw_path[prefix.size()] == '/'))
            return &fn;
    return nullptr;
}

bool HttpRoutes::match(std::string_view method, std::string_view raw_path, Match& out) const {
    std::vector<std::string_view> segs = split_path(raw_path);
    std::vector<std::string> decoded(segs.size());
    for (size_t i = 0; i < segs.size(); ++i)
        if (!percent_decode(segs[i], decoded[i], false)) return false;
    const Route* best = nullptr;
    for (const Route& r : routes_) {
        if (r.segments.size() != decoded.size()) continue;
        bool ok = true;
        for (size_t i = 0; i < decoded.size() && ok; ++i)
            ok = r.segments[i].param ? !decoded[i].empty() : r.segments[i].text == decoded[i];
        if (!ok) continue;
        if (r.method != method) {
            out.path_known = true;
            continue;
        }
        if (!best || r.literals > best->literals) best = &r;
    }
    if (!best) return false;
    out.fn = &best->fn;
    out.pattern = &best->pattern;
    out.owner = &best->owner;
    out.cross_origin = best->cross_origin;
    out.params.clear();
    for (size_t i = 0; i < decoded.size(); ++i)
        if (best->segments[i].param) out.params.push_back(std::move(decoded[i]));
    return true;
}

}  // namespace blynk::host
