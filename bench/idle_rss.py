#!/usr/bin/env python3
"""Memory at rest: blynkd's RSS idle, then with N idle logged-in hardware
connections (plain or TLS), per connection.

    python3 bench/idle_rss.py [--bin build/bin/blynkd] [--connections 10000] [--tls]

Provisions N distinct devices (one CLI `device add`, then the rest inserted
into the embedded SQLite store in one transaction, for speed), starts blynkd
on free loopback ports with a temporary data folder, logs every connection in
with its own token, and reads VmRSS from /proc. Linux only (a benchmark tool).
"""
import argparse, os, re, resource, shutil, socket, ssl, struct, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from provision import provision  # noqa: E402  (the same provisioning as bench/run)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "build", "bin", "blynkd"))
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--tls", action="store_true")
    args = ap.parse_args()
    n = args.connections
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 1000
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard) if hard != resource.RLIM_INFINITY else want, hard))
    blynkd = os.path.abspath(args.bin)
    tmp = tempfile.mkdtemp(prefix="blynkd-rss-")
    try:
        cfg, tokens = provision(blynkd, tmp, n)
        proc = subprocess.Popen([blynkd, "--config", cfg], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        ports = {}
        deadline = time.time() + 30
        while time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            m = re.search(r"listening (\S+) 127\.0\.0\.1:(\d+)", line)
            if m:
                ports[m.group(1)] = int(m.group(2))
            if "server ready" in line:
                break
        port = ports["hardware-tls" if args.tls else "hardware-plain"]
        time.sleep(1.0)  # let start-up allocations settle before the idle reading
        idle = rss_kib(proc.pid)
        ctx = None
        if args.tls:
            ctx = ssl.create_default_context(cafile=os.path.join(tmp, "data", "tls", "cert.pem"))
            ctx.check_hostname = False
        socks = []
        ok = 0
        t0 = time.time()
        batch = 500
        for start in range(0, n, batch):
            group = []
            for tok in tokens[start:start + batch]:
                s = socket.create_connection(("127.0.0.1", port))
                if ctx:
                    s = ctx.wrap_socket(s, server_hostname="localhost")
                s.sendall(struct.pack(">BHH", 29, 1, 32) + tok.encode())
                group.append(s)
            for s in group:
                hdr = b""
                while len(hdr) < 5:
                    chunk = s.recv(5 - len(hdr))
                    if not chunk:
                        break
                    hdr += chunk
                if len(hdr) == 5 and struct.unpack(">BHH", hdr) == (0, 1, 200):
                    ok += 1
            socks.extend(group)
        elapsed = time.time() - t0
        time.sleep(2.0)  # idle: nothing moves
        loaded = rss_kib(proc.pid)
        kind = "TLS" if args.tls else "plain"
        print(f"blynkd idle RSS: {idle} KiB")
        print(f"{kind}: {ok}/{n} logged in in {elapsed:.1f} s; RSS {loaded} KiB; "
              f"per connection {(loaded - idle) * 1024 / max(ok, 1):.0f} B")
        for s in socks:
            s.close()
        proc.terminate()
        proc.wait(timeout=30)
        return 0 if ok == n else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
