// raw_forwarder: the ceiling of the machine for bench traffic. A level-triggered
// epoll loop that pairs two TCP connections and then copies bytes from each to
// the other without looking at them.
//
// Pairing, so that bench/loadgen drives it exactly as it drives blynkd:
//   * a connection's first frame must be a hardware login (cmd 29, body =
//     token): it is answered OK and the connection is filed under its token;
//   * the next frame, a bridge init `pin\0i\0<token>` (cmd 15), is answered OK
//     and pairs this connection with the one logged in with <token> (both
//     ways). Anything else before pairing is answered NOT_ALLOWED and dropped.
//   * from then on every byte read is written to the partner, unparsed. The
//     receiver therefore sees the sender's BRIDGE frames with the bridge-pin
//     field still in front (blynkd strips it); the load generator only looks at
//     the fixed-size payload at the end of each BRIDGE body, so it accepts both.
// Pairing by token (not by accept order) means a stray connection, such as a
// port probe, cannot shift the pairs.
//
// Per read: one recv into a shared 256 KiB area, one send to the partner; what
// the partner's socket does not take is kept for it and its source stops being
// read above 4 MiB pending (back-pressure).
//
//   raw_forwarder [--port P]     prints "listening raw 127.0.0.1:P" and
//                                "server ready", then serves until SIGTERM/SIGINT.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

constexpr size_t kArea = 256 * 1024;
constexpr size_t kMaxPending = 4u << 20;
constexpr size_t kMaxHandshake = 4096;

struct Conn {
    int fd = -1;
    Conn* partner = nullptr;
    bool logged_in = false;
    bool reading = true;
    bool want_out = false;
    std::string token;
    std::string handshake;  // bytes before pairing (partial frames)
    std::string out;        // bytes for this socket that it did not take yet
};

int g_ep = -1;
volatile sig_atomic_t g_stop = 0;
std::unordered_map<std::string, Conn*> g_by_token;

void on_signal(int) {
    g_stop = 1;
}

void update_events(Conn* c) {
    epoll_event ev{};
    ev.events = (c->reading ? EPOLLIN : 0u) | (c->want_out ? EPOLLOUT : 0u);
    ev.data.ptr = c;
    epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd, &ev);
}

void close_conn(Conn* c) {
    if (c->partner) c->partner->partner = nullptr;
    if (!c->token.empty()) {
        auto it = g_by_token.find(c->token);
        if (it != g_by_token.end() && it->second == c) g_by_token.erase(it);
    }
    epoll_ctl(g_ep, EPOLL_CTL_DEL, c->fd, nullptr);
    close(c->fd);
    delete c;
}

// Sends to c what it can take now; the rest waits in c->out. False if c died.
bool send_to(Conn* c, const char* p, size_t n) {
    if (c->out.empty()) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
            w = 0;
        }
        p += w;
        n -= size_t(w);
    }
    if (n) {
        c->out.append(p, n);
        if (!c->want_out) {
            c->want_out = true;
            update_events(c);
        }
        if (c->out.size() > kMaxPending && c->partner && c->partner->reading) {
            c->partner->reading = false;
            update_events(c->partner);
        }
    }
    return true;
}

void reply(Conn* c, uint16_t msg_id, uint16_t status) {
    const char r[5] = {0, char(msg_id >> 8), char(msg_id & 0xff), char(status >> 8), char(status & 0xff)};
    send_to(c, r, 5);
}

// Handles the login and bridge-init frames; returns false to close. Bytes
// after the pairing frame are forwarded.
bool handshake(Conn* c, const char* p, size_t n) {
    c->handshake.append(p, n);
    if (c->handshake.size() > kMaxHandshake) return false;
    size_t off = 0;
    while (!c->partner && c->handshake.size() - off >= 5) {
        const auto* h = reinterpret_cast<const unsigned char*>(c->handshake.data() + off);
        uint8_t cmd = h[0];
        uint16_t id = uint16_t(h[1] << 8 | h[2]);
        size_t len = size_t(h[3] << 8 | h[4]);
        if (cmd == 0) len = 0;
        if (c->handshake.size() - off < 5 + len) break;
        std::string_view body(c->handshake.data() + off + 5, len);
        off += 5 + len;
        if (cmd == 29 && !c->logged_in) {
            c->logged_in = true;
            c->token = std::string(body);
            g_by_token[c->token] = c;
            reply(c, id, 200);
        } else if (cmd == 15 && c->logged_in) {
            size_t a = body.find('\0');
            size_t b = a == std::string_view::npos ? a : body.find('\0', a + 1);
            Conn* other = nullptr;
            if (b != std::string_view::npos && body.substr(a + 1, b - a - 1) == "i") {
                auto it = g_by_token.find(std::string(body.substr(b + 1)));
                if (it != g_by_token.end() && it->second != c && !it->second->partner) other = it->second;
            }
            if (!other) {
                reply(c, id, 6);
                continue;
            }
            c->partner = other;
            other->partner = c;
            reply(c, id, 200);
        } else {
            reply(c, id, 6);
        }
    }
    if (c->partner && off < c->handshake.size()) {
        if (!send_to(c->partner, c->handshake.data() + off, c->handshake.size() - off)) return false;
        off = c->handshake.size();
    }
    c->handshake.erase(0, off);
    if (c->partner) std::string().swap(c->handshake);
    return true;
}

void on_readable(Conn* c, char* area) {
    for (;;) {
        ssize_t n = recv(c->fd, area, kArea, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n <= 0) {
            close_conn(c);
            return;
        }
        bool ok = c->partner ? send_to(c->partner, area, size_t(n)) : handshake(c, area, size_t(n));
        if (!ok) {
            close_conn(c);
            return;
        }
        if (size_t(n) < kArea || !c->reading) return;
    }
}

void on_writable(Conn* c) {
    while (!c->out.empty()) {
        ssize_t w = send(c->fd, c->out.data(), c->out.size(), MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            close_conn(c);
            return;
        }
        c->out.erase(0, size_t(w));
    }
    std::string().swap(c->out);
    c->want_out = false;
    update_events(c);
    if (c->partner && !c->partner->reading) {
        c->partner->reading = true;
        update_events(c->partner);
    }
}

}  // namespace

int main(int argc, char** argv) {
    int port = 0;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--port") && i + 1 < argc) {
            port = std::atoi(argv[++i]);
        } else {
            std::fprintf(stderr, "usage: raw_forwarder [--port P]\n");
            return 2;
        }
    }
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);

    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(uint16_t(port));
    if (bind(ls, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(ls, 4096) != 0) {
        std::perror("raw_forwarder: bind/listen 127.0.0.1");
        return 1;
    }
    socklen_t sl = sizeof sa;
    getsockname(ls, reinterpret_cast<sockaddr*>(&sa), &sl);
    g_ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_event lev{};
    lev.events = EPOLLIN;
    lev.data.ptr = nullptr;
    epoll_ctl(g_ep, EPOLL_CTL_ADD, ls, &lev);
    std::printf("listening raw 127.0.0.1:%d\nserver ready\n", ntohs(sa.sin_port));
    std::fflush(stdout);

    std::vector<char> area(kArea);
    epoll_event evs[256];
    while (!g_stop) {
        int n = epoll_wait(g_ep, evs, 256, 500);
        if (n < 0 && errno != EINTR) {
            std::perror("raw_forwarder: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; ++i) {
            auto* c = static_cast<Conn*>(evs[i].data.ptr);
            if (!c) {
                for (int k = 0; k < 256; ++k) {
                    int fd = accept4(ls, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    auto* nc = new Conn;
                    nc->fd = fd;
                    epoll_event ev{};
                    ev.events = EPOLLIN;
                    ev.data.ptr = nc;
                    epoll_ctl(g_ep, EPOLL_CTL_ADD, fd, &ev);
                }
                continue;
            }
            // A connection closed earlier in this batch may still appear in
            // it; the partner link is cleared then, never dereferenced dead,
            // because only the event's own connection is closed here and
            // each fd appears at most once per epoll_wait.
            if (evs[i].events & EPOLLOUT) {
                on_writable(c);
                continue;  // c may be gone; readability is reported again
            }
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c, area.data());
        }
    }
    return 0;
}
