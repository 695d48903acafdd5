#!/usr/bin/env python3
"""Memory at rest, Mosquitto's side of bench/idle_rss.py: Mosquitto's RSS
idle, then with N idle connected MQTT clients, per connection.

    python3 bench/mosquitto_idle_rss.py [--bin /usr/sbin/mosquitto] [--connections 10000]

Starts Mosquitto on a free loopback port from a temporary config (persistence
off, no connection limit), waits until it listens (read from /proc/net/tcp:
a probe that connects would itself be a connection), then opens N clients,
each an MQTT 3.1.1 CONNECT with its own client id, a clean session and no
keep-alive, and waits for every CONNACK. Mosquitto 2.0's listen backlog is
100, so at most --batch (50) connections are in their handshake at once.
Prints `mosquitto idle RSS: K KiB` and `... per connection B B`, as
idle_rss.py does. Linux only (a benchmark tool).
"""
import argparse, os, resource, shutil, socket, struct, subprocess, sys, tempfile, time


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from idle_rss import rss_kib  # noqa: E402  (the same VmRSS reading as blynkd's side)


def listening(port, timeout=30.0):
    """True once a socket listens on 127.0.0.1:port (from /proc, no probe)."""
    want = "0100007F:%04X" % port
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                parts = line.split()
                if parts[1] == want and parts[3] == "0A":
                    return True
        time.sleep(0.05)
    return False


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def connect_packet(client_id):
    cid = client_id.encode()
    # variable header: protocol name "MQTT", level 4, flags clean session, keep-alive 0
    body = struct.pack(">H", 4) + b"MQTT" + bytes([4, 0x02]) + struct.pack(">H", 0)
    body += struct.pack(">H", len(cid)) + cid
    assert len(body) < 128
    return bytes([0x10, len(body)]) + body


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=shutil.which("mosquitto") or "/usr/sbin/mosquitto")
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=50)
    args = ap.parse_args()
    n = args.connections
    if not os.access(args.bin, os.X_OK):
        print(f"mosquitto_idle_rss: {args.bin} is missing (scripts/deps.sh --bench installs it)", file=sys.stderr)
        return 2
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 1000
    if soft < want:  # for this process and for Mosquitto, which inherits it
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard) if hard != resource.RLIM_INFINITY else want, hard))
    tmp = tempfile.mkdtemp(prefix="mosquitto-rss-")
    proc = None
    socks = []
    try:
        port = free_port()
        conf = os.path.join(tmp, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_connections -1\n"
                    "log_dest stderr\nlog_type error\nlog_type warning\n")
        proc = subprocess.Popen([args.bin, "-c", conf], stdout=subprocess.DEVNULL,
                                stderr=open(os.path.join(tmp, "mosquitto.log"), "w"))
        if not listening(port):
            print("mosquitto_idle_rss: Mosquitto did not listen within 30 s", file=sys.stderr)
            return 1
        time.sleep(1.0)  # start-up settles before the idle reading
        idle = rss_kib(proc.pid)
        ok = 0
        t0 = time.time()
        for start in range(0, n, args.batch):
            group = []
            for i in range(start, min(n, start + args.batch)):
                s = socket.create_connection(("127.0.0.1", port), timeout=30)
                s.sendall(connect_packet(f"idle{i}"))
                group.append(s)
            for s in group:
                if recv_exact(s, 4) == b"\x20\x02\x00\x00":  # CONNACK, accepted
                    ok += 1
            socks.extend(group)
        elapsed = time.time() - t0
        time.sleep(2.0)  # idle: nothing moves
        loaded = rss_kib(proc.pid)
        alive = proc.poll() is None
        print(f"mosquitto idle RSS: {idle} KiB")
        print(f"mosquitto: {ok}/{n} connected in {elapsed:.1f} s; RSS {loaded} KiB; "
              f"per connection {(loaded - idle) * 1024 / max(ok, 1):.0f} B")
        return 0 if ok == n and alive else 1
    finally:
        for s in socks:
            s.close()
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
