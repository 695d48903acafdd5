// Device -> app traffic for issue 12's figure: N users, each with one device
// (plain Blynk on the hardware port) and one app session (app frames inside
// TLS on the TLS port). Each device sends `vw 1 <payload>` (a virtualWrite),
// its user's app receives it as HARDWARE `1-0\0vw\01\0<payload>`, and the
// device sends its next one when its app got the previous (closed loop,
// `--window` in flight per user: device-like traffic, as loadgen's
// device-like case with bridges). Prints delivered messages per second, per
// second of the server's CPU (utime+stime of --pid from /proc), the load
// generator's own CPU (so a run where it was the bottleneck shows), latency
// p50/p99, and a RESULT line with loadgen's keys; exits non-zero if anything
// was lost, reordered, misdelivered or closed, or nothing arrived.
//
//   app_loadgen --port HW_PORT --tls-port TLS_PORT --users FILE --pid PID
//               [--pairs N] [--window W] [--duration S] [--warmup S] [--label L]
//
// FILE: one user a line, `email client-hash token` (bench/app_bench.py writes
// it). Linux only (epoll, /proc), like the other bench tools.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr uint8_t kResponse = 0, kLogin = 2, kHardware = 20, kHwLogin = 29;
constexpr size_t kPayload = 16;

uint64_t now_ns() {
    return uint64_t(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count());
}

[[noreturn]] void die(const std::string& why) {
    std::fprintf(stderr, "app_loadgen: %s\n", why.c_str());
    std::exit(2);
}

struct Options {
    int port = 0, tls_port = 0, pid = 0, pairs = 1000, window = 1;
    double duration = 3, warmup = 0.5;
    std::string users, label = "-";
};

struct User {
    std::string email, hash, token;
};

// One user's device (plain) and app (TLS) connections and its sequence.
struct Pair {
    int dev = -1, app = -1;
    SSL* ssl = nullptr;
    std::string app_in;
    uint64_t next_seq = 0, expect_seq = 0;
    uint64_t seq_at_start = 0;  // to tell a pair that stalled (a message lost)
    uint64_t sent_at[64] = {};
};

struct Stats {
    uint64_t delivered = 0, lost = 0, reordered = 0, misdelivered = 0, closed = 0, errors = 0, other = 0;
};

int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket: " + std::string(strerror(errno)));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("connect: " + std::string(strerror(errno)));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

void nonblocking(int fd) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

std::string app_frame(uint8_t cmd, uint16_t id, const std::string& body) {
    std::string f;
    f.push_back(char(cmd));
    f.push_back(char(id >> 8));
    f.push_back(char(id & 0xFF));
    uint32_t n = uint32_t(body.size());
    for (int s = 24; s >= 0; s -= 8)
        f.push_back(char((n >> s) & 0xFF));
    return f + body;
}

std::string hw_frame(uint8_t cmd, uint16_t id, const std::string& body) {
    std::string f;
    f.push_back(char(cmd));
    f.push_back(char(id >> 8));
    f.push_back(char(id & 0xFF));
    f.push_back(char(body.size() >> 8));
    f.push_back(char(body.size() & 0xFF));
    return f + body;
}

// Reads exactly n bytes (blocking, with the socket's timeout).
bool read_exact(int fd, SSL* ssl, char* buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        int r = ssl ? SSL_read(ssl, buf + got, int(n - got)) : int(read(fd, buf + got, n - got));
        if (r <= 0) return false;
        got += size_t(r);
    }
    return true;
}

bool write_all(int fd, SSL* ssl, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
        int r =
            ssl ? SSL_write(ssl, s.data() + off, int(s.size() - off)) : int(write(fd, s.data() + off, s.size() - off));
        if (r <= 0) return false;
        off += size_t(r);
    }
    return true;
}

// Waits for the app's answer to message 1 (other messages before it skipped).
bool app_login_ok(Pair& p) {
    for (int i = 0; i < 16; ++i) {
        char h[7];
        if (!read_exact(p.app, p.ssl, h, 7)) return false;
        uint32_t len = (uint32_t(uint8_t(h[3])) << 24) | (uint32_t(uint8_t(h[4])) << 16) |
                       (uint32_t(uint8_t(h[5])) << 8) | uint8_t(h[6]);
        if (h[0] == kResponse) return uint16_t((uint8_t(h[1]) << 8) | uint8_t(h[2])) == 1 && len == 200;
        std::string skip(len, '\0');
        if (len && !read_exact(p.app, p.ssl, &skip[0], len)) return false;
    }
    return false;
}

// Base-64 digits: the payload is text the server stores as a pin value.
void put_digits(char* out, uint64_t v, int n) {
    static const char d[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = n - 1; i >= 0; --i, v >>= 6)
        out[i] = d[v & 63];
}
uint64_t get_digits(const char* in, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) {
        char c = in[i];
        int x = c >= 'A' && c <= 'Z'   ? c - 'A'
                : c >= 'a' && c <= 'z' ? c - 'a' + 26
                : c >= '0' && c <= '9' ? c - '0' + 52
                : c == '+'             ? 62
                                       : 63;
        v = (v << 6) | uint64_t(x);
    }
    return v;
}

struct ProcCpu {
    double cpu_s = 0;
    long rss_kib = 0;
};
ProcCpu proc_cpu(int pid) {
    ProcCpu out;
    std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(st, line);
    size_t close = line.rfind(')');
    if (close == std::string::npos) return out;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    unsigned long long ut = 0, stt = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
        if (i == 14) ut = std::stoull(field);
        if (i == 15) stt = std::stoull(field);
    }
    out.cpu_s = double(ut + stt) / double(sysconf(_SC_CLK_TCK));
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0) out.rss_kib = std::atol(line.c_str() + 6);
    return out;
}

double self_cpu_s() {
    rusage r{};
    getrusage(RUSAGE_SELF, &r);
    return double(r.ru_utime.tv_sec + r.ru_stime.tv_sec) + double(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

Options parse_args(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) die("missing value for " + a);
            return argv[++i];
        };
        if (a == "--port")
            o.port = std::stoi(next());
        else if (a == "--tls-port")
            o.tls_port = std::stoi(next());
        else if (a == "--pid")
            o.pid = std::stoi(next());
        else if (a == "--pairs")
            o.pairs = std::stoi(next());
        else if (a == "--window")
            o.window = std::stoi(next());
        else if (a == "--duration")
            o.duration = std::stod(next());
        else if (a == "--warmup")
            o.warmup = std::stod(next());
        else if (a == "--users")
            o.users = next();
        else if (a == "--label")
            o.label = next();
        else
            die("unknown option " + a);
    }
    if (!o.port || !o.tls_port || o.users.empty() || o.pairs < 1 || o.window < 1 || o.window > 64)
        die("usage: app_loadgen --port P --tls-port P --users FILE [--pid PID] [--pairs N] [--window 1..64] "
            "[--duration S] [--warmup S] [--label L]");
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    Options opt = parse_args(argc, argv);
    std::vector<User> users;
    {
        std::ifstream f(opt.users);
        User u;
        while (f >> u.email >> u.hash >> u.token)
            users.push_back(u);
    }
    if (int(users.size()) < opt.pairs) die("fewer users in " + opt.users + " than --pairs");

    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);  // the bench's own self-signed certificate

    // Log every app and device in (blocking, one after the other).
    std::vector<Pair> pairs(size_t(opt.pairs));
    uint64_t t_setup = now_ns();
    for (int i = 0; i < opt.pairs; ++i) {
        Pair& p = pairs[size_t(i)];
        const User& u = users[size_t(i)];
        p.app = connect_to(opt.tls_port);
        p.ssl = SSL_new(ctx);
        SSL_set_fd(p.ssl, p.app);
        if (SSL_connect(p.ssl) != 1) die("TLS handshake of app " + std::to_string(i) + " failed");
        std::string login = u.email;
        for (const std::string& field : {u.hash, std::string("Android"), std::string("2.27.0")}) {
            login.push_back('\0');
            login += field;
        }
        if (!write_all(p.app, p.ssl, app_frame(kLogin, 1, login))) die("app login write");
        if (!app_login_ok(p)) die("app login of " + u.email + " refused");
        p.dev = connect_to(opt.port);
        if (!write_all(p.dev, nullptr, hw_frame(kHwLogin, 1, u.token))) die("device login write");
        char h[5];
        if (!read_exact(p.dev, nullptr, h, 5) || h[0] != 0 || uint8_t(h[4]) != 200 || uint8_t(h[3]) != 0)
            die("device login of " + u.email + " refused");
    }
    double setup_s = double(now_ns() - t_setup) / 1e9;

    int ep = epoll_create1(0);
    for (int i = 0; i < opt.pairs; ++i) {
        Pair& p = pairs[size_t(i)];
        nonblocking(p.app);
        nonblocking(p.dev);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = uint64_t(i) << 1;  // even: an app
        epoll_ctl(ep, EPOLL_CTL_ADD, p.app, &ev);
        ev.data.u64 = (uint64_t(i) << 1) | 1;  // odd: a device (anything it gets is drained)
        epoll_ctl(ep, EPOLL_CTL_ADD, p.dev, &ev);
    }

    Stats st;
    std::vector<uint32_t> latencies_ns;
    latencies_ns.reserve(1 << 22);
    bool measuring = false;
    char frame[5 + 5 + kPayload];
    auto send_next = [&](int i) {
        Pair& p = pairs[size_t(i)];
        uint64_t seq = p.next_seq++;
        uint64_t t = now_ns();
        p.sent_at[seq % 64] = t;
        std::memcpy(frame,
                    "\x14\x00\x01\x00\x15vw\0"
                    "1\0",
                    10);
        frame[1] = char((seq % 65535 + 1) >> 8);  // never message id 0
        frame[2] = char((seq % 65535 + 1) & 0xFF);
        put_digits(frame + 10, uint64_t(i), 3);
        put_digits(frame + 13, seq, 5);
        put_digits(frame + 18, t, 8);
        if (write(p.dev, frame, sizeof frame) != ssize_t(sizeof frame)) ++st.closed;
    };
    // One HARDWARE app frame for pair i: `1-0\0vw\01\0<payload>`.
    auto on_app_frame = [&](int i, uint8_t cmd, const char* body, size_t len) {
        if (cmd == kResponse) {
            ++st.errors;
            return;
        }
        if (cmd != kHardware) {
            ++st.other;
            return;
        }
        if (len < kPayload) {
            ++st.misdelivered;
            return;
        }
        const char* pl = body + len - kPayload;
        int pair = int(get_digits(pl, 3));
        uint64_t seq = get_digits(pl + 3, 5);
        Pair& p = pairs[size_t(i)];
        if (pair != i) {
            ++st.misdelivered;
            return;
        }
        if (seq != (p.expect_seq & ((1ull << 30) - 1))) ++st.reordered;
        p.expect_seq = seq + 1;
        if (measuring) {
            ++st.delivered;
            uint64_t lat = now_ns() - p.sent_at[seq % 64];
            if (latencies_ns.size() < latencies_ns.capacity())
                latencies_ns.push_back(uint32_t(std::min<uint64_t>(lat, UINT32_MAX)));
        }
        send_next(i);
    };

    for (int i = 0; i < opt.pairs; ++i)
        for (int w = 0; w < opt.window; ++w)
            send_next(i);

    uint64_t start = now_ns();
    uint64_t measure_at = start + uint64_t(opt.warmup * 1e9);
    uint64_t stop_at = measure_at + uint64_t(opt.duration * 1e9);
    ProcCpu srv0{}, srv1{};
    double lg0 = 0, lg1 = 0;
    uint64_t t0 = 0, t1 = 0;
    std::vector<epoll_event> events(1024);
    char buf[65536];
    while (true) {
        uint64_t now = now_ns();
        if (!measuring && now >= measure_at) {
            measuring = true;
            for (auto& p : pairs)
                p.seq_at_start = p.expect_seq;
            srv0 = proc_cpu(opt.pid);
            lg0 = self_cpu_s();
            t0 = now;
        }
        if (now >= stop_at) break;
        int n = epoll_wait(ep, events.data(), int(events.size()), 50);
        for (int k = 0; k < n; ++k) {
            int i = int(events[size_t(k)].data.u64 >> 1);
            Pair& p = pairs[size_t(i)];
            if (events[size_t(k)].data.u64 & 1) {
                ssize_t r = read(p.dev, buf, sizeof buf);
                if (r == 0) ++st.closed;
                continue;
            }
            while (true) {
                int r = SSL_read(p.ssl, buf, sizeof buf);
                if (r <= 0) {
                    int e = SSL_get_error(p.ssl, r);
                    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                        ++st.closed;
                        epoll_ctl(ep, EPOLL_CTL_DEL, p.app, nullptr);
                    }
                    break;
                }
                p.app_in.append(buf, size_t(r));
            }
            size_t off = 0;
            while (p.app_in.size() - off >= 7) {
                const char* h = p.app_in.data() + off;
                uint32_t len = (uint32_t(uint8_t(h[3])) << 24) | (uint32_t(uint8_t(h[4])) << 16) |
                               (uint32_t(uint8_t(h[5])) << 8) | uint8_t(h[6]);
                uint8_t cmd = uint8_t(h[0]);
                size_t body = cmd == kResponse ? 0 : len;
                if (p.app_in.size() - off < 7 + body) break;
                on_app_frame(i, cmd, h + 7, body);
                off += 7 + body;
            }
            p.app_in.erase(0, off);
        }
    }
    srv1 = proc_cpu(opt.pid);
    lg1 = self_cpu_s();
    t1 = now_ns();
    // In a closed loop a lost message stalls its pair: a pair that received
    // nothing while measuring lost one (what is in flight at the end is not lost).
    for (auto& p : pairs)
        st.lost += p.expect_seq == p.seq_at_start;
    double wall = double(t1 - t0) / 1e9;
    double srv_cpu = srv1.cpu_s - srv0.cpu_s, lg_cpu = lg1 - lg0;
    double rate = double(st.delivered) / wall;
    double per_cpu = srv_cpu > 0 ? double(st.delivered) / srv_cpu : 0;
    std::sort(latencies_ns.begin(), latencies_ns.end());
    auto q = [&](double x) {
        return latencies_ns.empty() ? 0.0 : double(latencies_ns[size_t(x * double(latencies_ns.size() - 1))]) / 1e3;
    };
    bool ok = st.delivered > 0 && !st.lost && !st.reordered && !st.misdelivered && !st.closed && !st.errors;
    std::printf("%s: %d users (device plain -> app TLS), window %d: set up in %.1f s\n", opt.label.c_str(), opt.pairs,
                opt.window, setup_s);
    std::printf("  delivered %llu in %.2f s = %.0f msgs/s; server CPU %.2f s (%.0f%%) = %.0f msgs per CPU-second\n",
                (unsigned long long)st.delivered, wall, rate, srv_cpu, 100 * srv_cpu / wall, per_cpu);
    std::printf("  load generator CPU %.0f%% of one core; latency p50 %.1f us, p99 %.1f us\n", 100 * lg_cpu / wall,
                q(0.5), q(0.99));
    std::printf(
        "  checks: stalled pairs %llu, reordered %llu, misdelivered %llu, closed %llu, error replies %llu, other "
        "frames %llu -> %s\n",
        (unsigned long long)st.lost, (unsigned long long)st.reordered, (unsigned long long)st.misdelivered,
        (unsigned long long)st.closed, (unsigned long long)st.errors, (unsigned long long)st.other,
        ok ? "OK" : "FAILED");
    std::printf(
        "RESULT label=%s proto=app pairs=%d window=%d wall_s=%.3f delivered=%llu msgs_per_s=%.0f srv_cpu_s=%.3f "
        "msgs_per_srv_cpu_s=%.0f srv_cpu_pct=%.1f lg_cpu_pct=%.1f lat_p50_us=%.1f lat_p99_us=%.1f "
        "rss_after_kib=%ld ok=%d\n",
        opt.label.c_str(), opt.pairs, opt.window, wall, (unsigned long long)st.delivered, rate, srv_cpu, per_cpu,
        100 * srv_cpu / wall, 100 * lg_cpu / wall, q(0.5), q(0.99), srv1.rss_kib, ok ? 1 : 0);
    for (auto& p : pairs) {
        SSL_free(p.ssl);
        close(p.app);
        close(p.dev);
    }
    SSL_CTX_free(ctx);
    return ok ? 0 : 1;
}
