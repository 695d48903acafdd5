#include "core/throttle.hpp"

#include <cstring>

namespace blynk::core {

namespace {

bool parse_v4(std::string_view s, unsigned char out[4]) {
    int part = 0;
    while (true) {
        size_t dot = s.find('.');
        std::string_view num = s.substr(0, dot);
        if (num.empty() || num.size() > 3 || part > 3) return false;
        unsigned v = 0;
        for (char ch : num) {
            if (ch < '0' || ch > '9') return false;
            v = v * 10 + unsigned(ch - '0');
        }
        if (v > 255) return false;
        out[part++] = (unsigned char)v;
        if (dot == std::string_view::npos) break;
        s.remove_prefix(dot + 1);
    }
    return part == 4;
}

int hex(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

// Parses colon-separated groups (the last may be a dotted IPv4 address) into
// `out`; returns the number of bytes written, or -1.
int parse_groups(std::string_view s, unsigned char* out, int room, bool ipv4_allowed) {
    if (s.empty()) return 0;
    int n = 0;
    while (true) {
        size_t colon = s.find(':');
        std::string_view g = s.substr(0, colon);
        if (colon == std::string_view::npos && ipv4_allowed && g.find('.') != std::string_view::npos) {
            if (n + 4 > room || !parse_v4(g, out + n)) return -1;
            return n + 4;
        }
        if (g.empty() || g.size() > 4 || n + 2 > room) return -1;
        unsigned v = 0;
        for (char ch : g) {
            int h = hex(ch);
            if (h < 0) return -1;
            v = v * 16 + unsigned(h);
        }
        out[n++] = (unsigned char)(v >> 8);
        out[n++] = (unsigned char)(v & 0xFF);
        if (colon == std::string_view::npos) return n;
        s.remove_prefix(colon + 1);
    }
}

bool parse_v6(std::string_view s, unsigned char out[16]) {
    if (size_t pct = s.find('%'); pct != std::string_view::npos) s = s.substr(0, pct);  // zone id
    std::memset(out, 0, 16);
    size_t gap = s.find("::");
    if (gap == std::string_view::npos) return parse_groups(s, out, 16, true) == 16;
    if (s.find("::", gap + 1) != std::string_view::npos) return false;
    unsigned char head[16], tail[16];
    int h = parse_groups(s.substr(0, gap), head, 16, false);
    int t = parse_groups(s.substr(gap + 2), tail, 16, true);
    if (h < 0 || t < 0 || h + t > 14) return false;
    std::memcpy(out, head, size_t(h));
    std::memcpy(out + 16 - t, tail, size_t(t));
    return true;
}

}  // namespace

bool parse_address(std::string_view text, unsigned char out[16], bool& v6) {
    std::memset(out, 0, 16);
    if (text.find(':') == std::string_view::npos) {
        v6 = false;
        return parse_v4(text, out);
    }
    if (!parse_v6(text, out)) return false;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (std::memcmp(out, mapped, 12) == 0) {
        std::memmove(out, out + 12, 4);
        std::memset(out + 4, 0, 12);
        v6 = false;
        return true;
    }
    v6 = true;
    return true;
}

bool parse_address_range(std::string_view text, AddressRange& out, std::string& error) {
    size_t slash = text.find('/');
    std::string_view addr = text.substr(0, slash);
    out = AddressRange{};
    if (!parse_address(addr, out.bytes, out.v6)) {
        error = "'" + std::string(text) + "' is not an IP address or range (e.g. 192.168.0.0/16, ::1/128)";
        return false;
    }
    unsigned max = out.v6 ? 128 : 32;
    out.prefix = max;
    if (slash != std::string_view::npos) {
        std::string_view p = text.substr(slash + 1);
        unsigned v = 0;
        bool ok = !p.empty() && p.size() <= 3;
        for (char ch : p) {
            if (ch < '0' || ch > '9') ok = false;
            v = v * 10 + unsigned(ch - '0');
        }
        if (!ok || v > max) {
            error = "'" + std::string(text) + "' has a bad prefix length (0 to " + std::to_string(max) + ")";
            return false;
        }
        out.prefix = v;
    }
    return true;
}

bool address_in(std::string_view address, const std::vector<AddressRange>& ranges) {
    if (ranges.empty()) return false;
    unsigned char b[16];
    bool v6 = false;
    if (!parse_address(address, b, v6)) return false;
    for (const AddressRange& r : ranges) {
        if (r.v6 != v6) continue;
        unsigned full = r.prefix / 8, rest = r.prefix % 8;
        if (std::memcmp(b, r.bytes, full) != 0) continue;
        if (rest) {
            auto mask = (unsigned char)(0xFF << (8 - rest));
            if ((b[full] & mask) != (r.bytes[full] & mask)) continue;
        }
        return true;
    }
    return false;
}

std::string_view peer_address(std::string_view peer) {
    if (!peer.empty() && peer.front() == '[') {
        size_t end = peer.find(']');
        return end == std::string_view::npos ? peer.substr(1) : peer.substr(1, end - 1);
    }
    size_t colon = peer.rfind(':');
    // One colon: "ip:port". More: a bare IPv6 address.
    if (colon != std::string_view::npos && peer.find(':') == colon) return peer.substr(0, colon);
    return peer;
}

bool LoginThrottle::exempt(std::string_view address) const {
    return address_in(address, s_.exempt);
}

LoginThrottle::Entry* LoginThrottle::find(std::string_view address) {
    auto it = index_.find(address);
    if (it == index_.end()) return nullptr;
    if (it->second != lru_.begin()) lru_.splice(lru_.begin(), lru_, it->second);
    return &*it->second;
}

bool LoginThrottle::blocked(std::string_view address, int64_t now_ms) {
    if (!enabled() || index_.empty()) return false;
    Entry* e = find(address);
    if (!e || e->blocked_until_ms == 0) return false;
    // A clock set back must not stretch a block beyond its length.
    int64_t block_ms = int64_t(s_.block_s) * 1000;
    if (e->blocked_until_ms - now_ms > block_ms) e->blocked_until_ms = now_ms + block_ms;
    if (now_ms < e->blocked_until_ms) return true;
    e->blocked_until_ms = 0;  // served its time: counting starts afresh
    e->count = 0;
    return false;
}

bool LoginThrottle::failure(std::string_view address, int64_t now_ms) {
    if (!enabled() || exempt(address)) return false;
    Entry* e = find(address);
    if (!e) {
        if (index_.size() >= s_.max_addresses) {
            index_.erase(std::string_view(lru_.back().address));
            lru_.pop_back();
        }
        lru_.emplace_front();
        e = &lru_.front();
        e->address.assign(address.data(), address.size());
        index_.emplace(std::string_view(e->address), lru_.begin());
    }
    if (e->blocked_until_ms != 0) return false;  // refused while blocked: not counted again
    int64_t window_ms = int64_t(s_.window_s) * 1000;
    if (e->count == 0 || now_ms < e->window_start_ms || now_ms - e->window_start_ms >= window_ms) {
        e->window_start_ms = now_ms;
        e->count = 0;
    }
    if (++e->count < s_.failures) return false;
    e->blocked_until_ms = now_ms + int64_t(s_.block_s) * 1000;
    e->count = 0;
    return true;
}

size_t LoginThrottle::blocked_now(int64_t now_ms) const {
    size_t n = 0;
    for (const Entry& e : lru_)
        n += e.blocked_until_ms > now_ms ? 1 : 0;
    return n;
}

}  // namespace blynk::core
