#!/usr/bin/env python3
"""Renders bench/run's figures (loadgen RESULT lines, wrk HTTP lines, memory
lines, cases not measured) as Markdown: every figure, every ratio against the
raw forwarder, Mosquitto and nginx, and the issue's targets with whether this
run met them.

    report.py --results F --memory F [--skipped F] [--duration S] [--blynkd REV]
    report.py --parse-wrk LABEL --ticks T --wall-ns N < wrk-output
        one `HTTP label=... ok=0|1` line from wrk's output (--latency); exits 1
        unless wrk reported a rate, no non-2xx answer and no socket error.
"""
import argparse, datetime, os, platform, re, sys


def kv(line):
    out = {}
    for part in line.split()[1:]:
        k, _, v = part.partition("=")
        out[k] = v
    return out


def num(d, k):
    try:
        return float(d.get(k, "nan"))
    except ValueError:
        return float("nan")


def fmt(x, unit=""):
    if x != x:  # nan
        return "–"
    if abs(x) >= 100:
        return f"{x:,.0f}{unit}"
    return f"{x:.2f}{unit}" if abs(x) < 10 else f"{x:.1f}{unit}"


def ratio(a, b):
    return a / b if b and b == b and a == a else float("nan")


def wrk_time_us(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    if not m:
        return float("nan")
    return float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6, "m": 6e7}[m.group(2)]


def parse_wrk(label, ticks, wall_ns, text):
    """wrk's report -> one HTTP line; ok=1 only with a rate, no non-2xx, no socket error."""
    rps = re.search(r"Requests/sec:\s*([0-9.]+)", text)
    total = re.search(r"([0-9]+) requests in", text)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*([0-9]+)", text)
    sock = re.search(r"Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)", text)
    lat = {q: wrk_time_us(v) for q, v in re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M)}
    rps = float(rps.group(1)) if rps else float("nan")
    non2xx = int(non2xx.group(1)) if non2xx else 0
    sock_errors = sum(int(x) for x in sock.groups()) if sock else 0
    cpu_s = ticks / os.sysconf("SC_CLK_TCK")
    wall_s = wall_ns / 1e9
    requests = int(total.group(1)) if total else 0
    ok = rps == rps and rps > 0 and non2xx == 0 and sock_errors == 0
    print(f"HTTP label={label} reqs_per_s={rps:.0f} requests={requests} non2xx={non2xx} socket_errors={sock_errors} "
          f"srv_cpu_s={cpu_s:.3f} srv_cpu_pct={100 * cpu_s / wall_s if wall_s else float('nan'):.1f} "
          f"reqs_per_srv_cpu_s={requests / cpu_s if cpu_s else float('nan'):.0f} "
          f"lat_p50_us={lat.get('50', float('nan')):.1f} lat_p99_us={lat.get('99', float('nan')):.1f} ok={int(ok)}")
    return 0 if ok else 1


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--parse-wrk":
        ap = argparse.ArgumentParser()
        ap.add_argument("--parse-wrk", required=True, metavar="LABEL")
        ap.add_argument("--ticks", type=int, required=True)
        ap.add_argument("--wall-ns", type=int, required=True)
        a = ap.parse_args()
        return parse_wrk(a.parse_wrk, a.ticks, a.wall_ns, sys.stdin.read())
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--memory", required=True)
    ap.add_argument("--skipped")
    ap.add_argument("--duration", default="3")
    ap.add_argument("--blynkd", default="?")
    a = ap.parse_args()
    rounds = {}  # (server, scenario, pinning) -> every round's figures, in order
    http = {}
    with open(a.results) as f:
        for line in f:
            if line.startswith("RESULT"):
                d = kv(line)
                server, scenario, pinning = d["label"].split("/")
                rounds.setdefault((server, scenario, pinning), []).append(d)
            elif line.startswith("HTTP"):
                d = kv(line)
                server, request, pinning = d["label"].split("/")
                http[(server, request, pinning)] = d
    # The run shown for a case is its median round: by latency p99 for the
    # latency case, else by messages per server-CPU-second.
    runs = {}
    for key, rs in rounds.items():
        by = "lat_p99_us" if key[1].startswith("latency") else "msgs_per_srv_cpu_s"
        runs[key] = sorted(rs, key=lambda d: num(d, by))[(len(rs) - 1) // 2]

    def per_round(a_key, b_key, figure, keep=lambda da, db: True):
        """a/b of `figure` for each round in which both ran (round i of a with round i of b)."""
        return [ratio(num(da, figure), num(db, figure))
                for da, db in zip(rounds.get(a_key, []), rounds.get(b_key, [])) if keep(da, db)]

    def median(xs):
        xs = sorted(x for x in xs if x == x)
        if not xs:
            return float("nan")
        m = len(xs) // 2
        return xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2

    def vs(server, other, scenario, pinning, figure="msgs_per_srv_cpu_s"):
        return median(per_round((server, scenario, pinning), (other, scenario, pinning), figure))

    n_rounds = max((len(rs) for rs in rounds.values()), default=0)
    skipped = []
    if a.skipped and os.path.exists(a.skipped):
        with open(a.skipped) as f:
            skipped = [line.strip() for line in f if line.strip()]
    mem = {}
    with open(a.memory) as f:
        for line in f:
            parts = line.split()
            if parts:
                mem[parts[0]] = kv("x " + " ".join(parts[1:]))

    p = print
    p(f"# blynkd benchmark, {datetime.datetime.now():%Y-%m-%d %H:%M}")
    p()
    p(f"blynkd {a.blynkd}; {platform.machine()}, {os.cpu_count()} CPUs, Linux {platform.release()}; "
      f"{a.duration} s measured per run after 0.5 s warm-up; {n_rounds} round(s) per case, the servers of a round "
      "back to back; each row is the case's median round and each ratio the median of the rounds' ratios. A shared "
      "machine (other builds and tests ran alongside), so compare figures within this run only. "
      "Pinned: server on CPU 0, load generator on CPU 1. "
      "Throughput is delivered messages per second of server CPU (utime+stime from /proc). "
      "Traffic: pipelined = 100 pairs x 64 frames in flight; device-like = 1000 pairs x 1 in flight; "
      "latency-100k = 100 pairs at 100,000 msgs/s offered. blynkd-tls = blynkd over TLS (its TLS port, the "
      "self-signed certificate not verified, TLS 1.2+; OpenSSL's default, TLS 1.3). 16-byte payloads; every server uses TCP_NODELAY (Mosquitto: set_tcp_nodelay true); blynkd: BRIDGE writes "
      "(each stored as pin state), quota off; Mosquitto: QoS 0, one topic per pair.")
    p()
    p("| pinning | traffic | server | delivered msgs/s | server CPU | msgs per server-CPU-s | vs raw | vs Mosquitto "
      "| loadgen CPU | p50 µs | p99 µs | p99.9 µs | send lag p99 µs | RSS after KiB | checks |")
    p("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for pinning in ("pinned", "unpinned"):
        for scenario in ("pipelined", "device-like", "latency-100k"):
            for server in ("raw", "blynkd", "blynkd-tls", "mosquitto"):
                d = runs.get((server, scenario, pinning))
                if not d:
                    continue
                per = num(d, "msgs_per_srv_cpu_s")
                vs_raw = "" if server == "raw" else fmt(100 * vs(server, "raw", scenario, pinning), "%")
                vs_mq = "" if server == "mosquitto" else fmt(vs(server, "mosquitto", scenario, pinning), "×")
                bad = [x for x in rounds[(server, scenario, pinning)] if x.get("ok") != "1"]
                checks = "OK" if not bad else (
                    f"FAILED in {len(bad)} round(s) (lost {bad[0].get('lost')}, reordered {bad[0].get('reordered')}, "
                    f"misdelivered {bad[0].get('misdelivered')}, errors {bad[0].get('errors')}, closed {bad[0].get('closed')})")
                lag = fmt(num(d, "lag_p99_us")) if scenario.startswith("latency") else ""
                if scenario.startswith("latency") and num(d, "skipped") > 0:
                    checks += f"; rate not sustained ({d.get('skipped')} offered messages skipped at 256 in flight per pair)"
                p(f"| {pinning} | {scenario} | {server} | {fmt(num(d, 'msgs_per_s'))} | {fmt(num(d, 'srv_cpu_pct'), '%')} "
                  f"| {fmt(per)} | {vs_raw} | {vs_mq} | {fmt(num(d, 'lg_cpu_pct'), '%')} | {fmt(num(d, 'lat_p50_us'))} "
                  f"| {fmt(num(d, 'lat_p99_us'))} | {fmt(num(d, 'lat_p999_us'))} | {lag} | {d.get('rss_after_kib', '–')} "
                  f"| {checks} |")
    for what in skipped:
        if "traffic" in what or "Mosquitto (" in what:
            p(f"| | | | not measured: {what} | | | | | | | | | | | |")
    p()

    if http or any("HTTP" in w for w in skipped):
        p("HTTP: `wrk -t1 -c64 --latency` for the measured seconds (pinned: wrk on CPU 1, the server on CPU 0); "
          "blynkd's REST API on its plain hardware port (`/TOKEN/get/V1`, `/TOKEN/update/V1?value=1`, GET, "
          "keep-alive), nginx (one worker, temporary config, buffered access log) serving a 5-byte static file "
          "as the ceiling. Server CPU is the serving process's (nginx: its worker's).")
        p()
        p("| pinning | request | server | requests/s | vs nginx | server CPU | requests per server-CPU-s "
          "| vs nginx | p50 µs | p99 µs | non-2xx | socket errors | checks |")
        p("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for pinning in ("pinned", "unpinned"):
            ng = http.get(("nginx", "static", pinning), {})
            for server, request in (("blynkd", "get"), ("blynkd", "update"), ("nginx", "static")):
                d = http.get((server, request, pinning))
                if not d:
                    continue
                shown = {"get": "/TOKEN/get/V1", "update": "/TOKEN/update/V1?value=1", "static": "static file"}[request]
                vs = "" if server == "nginx" else fmt(100 * ratio(num(d, "reqs_per_s"), num(ng, "reqs_per_s")), "%")
                vs_cpu = "" if server == "nginx" else fmt(
                    100 * ratio(num(d, "reqs_per_srv_cpu_s"), num(ng, "reqs_per_srv_cpu_s")), "%")
                checks = "OK" if d.get("ok") == "1" else "FAILED"
                p(f"| {pinning} | {shown} | {server} | {fmt(num(d, 'reqs_per_s'))} | {vs} "
                  f"| {fmt(num(d, 'srv_cpu_pct'), '%')} | {fmt(num(d, 'reqs_per_srv_cpu_s'))} | {vs_cpu} "
                  f"| {fmt(num(d, 'lat_p50_us'))} | {fmt(num(d, 'lat_p99_us'))} | {d.get('non2xx')} "
                  f"| {d.get('socket_errors')} | {checks} |")
        for what in skipped:
            if "HTTP" in what:
                p(f"| | | not measured: {what} | | | | | | | | | | |")
        p()

    def met(ok):
        if ok is None:
            return "–"
        return "met" if ok else "**missed**"

    def cmp(x, op, t):
        if x != x:
            return None
        return x >= t if op == ">=" else x <= t

    def lag_ok(d):
        x = num(d, "lag_p99_us")
        return x == x and x <= 100

    def figs(server, scenario, key):
        return [num(d, key) for d in rounds.get((server, scenario, "pinned"), [])]

    # The latency comparison holds only for rounds in which the load generator
    # kept to its schedule in both runs (send lag p99 under 100 µs).
    lat = ("latency-100k", "pinned")
    lat_all = per_round(("blynkd",) + lat, ("raw",) + lat, "lat_p99_us")
    lat_valid = per_round(("blynkd",) + lat, ("raw",) + lat, "lat_p99_us", lambda da, db: lag_ok(da) and lag_ok(db))

    b = mem.get("blynkd", {})
    hg = num(http.get(("blynkd", "get", "pinned"), {}), "reqs_per_s")
    hn = num(http.get(("nginx", "static", "pinned"), {}), "reqs_per_s")

    def pr(server, other, scenario, scale):
        """Median and per-round figures of server/other (pinned), times scale (100 for %)."""
        xs = per_round((server, scenario, "pinned"), (other, scenario, "pinned"), "msgs_per_srv_cpu_s")
        return median(xs) * scale, [x * scale for x in xs]

    # name, median, per-round figures, op, target, unit
    rows = [
        ("pipelined: blynkd / raw forwarder", *pr("blynkd", "raw", "pipelined", 100), ">=", 60, "%"),
        ("pipelined: blynkd / Mosquitto", *pr("blynkd", "mosquitto", "pipelined", 1), ">=", 45, "×"),
        ("device-like: blynkd / raw forwarder", *pr("blynkd", "raw", "device-like", 100), ">=", 95, "%"),
        ("device-like: blynkd / Mosquitto", *pr("blynkd", "mosquitto", "device-like", 1), ">=", 1.4, "×"),
        ("latency-100k: blynkd p99 / raw p99 (rounds with send lag p99 ≤ 100 µs in both runs)",
         median(lat_valid), lat_all, "<=", 1.25, "×"),
        ("latency-100k: load generator send lag p99 (blynkd runs), µs", median(figs("blynkd", "latency-100k", "lag_p99_us")),
         figs("blynkd", "latency-100k", "lag_p99_us"), "<=", 100, ""),
        ("latency-100k: load generator send lag p99 (raw runs), µs", median(figs("raw", "latency-100k", "lag_p99_us")),
         figs("raw", "latency-100k", "lag_p99_us"), "<=", 100, ""),
        ("TLS pipelined: blynkd TLS / blynkd plain", *pr("blynkd-tls", "blynkd", "pipelined", 100), ">=", 50, "%"),
        ("HTTP /TOKEN/get/V1: blynkd / nginx requests/s", 100 * ratio(hg, hn), [], ">=", 80, "%"),
        ("idle RssAnon, KiB", num(b, "rss_anon_kib"), [], "<=", 4000, ""),
        ("idle plain connection, B of RSS", num(mem.get("idle_rss_plain", {}), "per_conn_b"), [], "<=", 735, ""),
        ("idle TLS connection, B of RSS", num(mem.get("idle_rss_tls", {}), "per_conn_b"), [], "<=", 8192, ""),
    ]
    p("| target (pinned run) | this run (median) | each round | target | |")
    p("|---|---|---|---|---|")
    for name, x, each, op, t, unit in rows:
        verdict = met(cmp(x, op, t))
        if name.startswith("latency-100k: blynkd p99") and not lat_valid:
            verdict = "not valid: the load generator's send lag p99 was over 100 µs in every round"
        shown = ", ".join(fmt(v, unit) for v in each)
        p(f"| {name} | {fmt(x, unit)} | {shown} | {'≥' if op == '>=' else '≤'} {t}{unit} | {verdict} |")
    p()
    p("| memory | figure |")
    p("|---|---|")
    p(f"| blynkd idle VmRSS (provisioned devices loaded) | {b.get('idle_rss_kib', '–')} KiB |")
    p(f"| blynkd idle RssAnon | {b.get('rss_anon_kib', '–')} KiB |")
    if "mosquitto" in mem:
        p(f"| Mosquitto idle VmRSS | {mem['mosquitto'].get('idle_rss_kib', '–')} KiB |")
    mq = num(mem.get("idle_rss_mosquitto", {}), "per_conn_b")
    for kind in ("plain", "tls"):
        m = mem.get(f"idle_rss_{kind}")
        if m:
            vs = ratio(num(m, "per_conn_b"), mq)
            extra = f" ({fmt(vs, '×')} Mosquitto's)" if vs == vs else ""
            p(f"| blynkd per idle logged-in {kind} connection (10,000, bench/idle_rss.py) | {m.get('per_conn_b')} B{extra} |")
    if "idle_rss_mosquitto" in mem:
        p(f"| Mosquitto per idle connected client (10,000, bench/mosquitto_idle_rss.py) "
          f"| {mem['idle_rss_mosquitto'].get('per_conn_b')} B |")
    for what in skipped:
        if "idle" in what:
            p(f"| not measured: {what} | |")
    p()
    p("Not measured yet: app-protocol receivers (the app protocol has not landed).")


if __name__ == "__main__":
    sys.exit(main())
