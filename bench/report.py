#!/usr/bin/env python3
"""Renders bench/run's figures (loadgen RESULT lines, memory lines) as Markdown:
every figure, every ratio against the raw forwarder and Mosquitto, and the
issue's targets with whether this run met them."""
import argparse, datetime, os, platform


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--memory", required=True)
    ap.add_argument("--duration", default="3")
    ap.add_argument("--blynkd", default="?")
    a = ap.parse_args()
    runs = {}
    with open(a.results) as f:
        for line in f:
            if line.startswith("RESULT"):
                d = kv(line)
                server, scenario, pinning = d["label"].split("/")
                runs[(server, scenario, pinning)] = d
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
      f"{a.duration} s measured per run after 0.5 s warm-up; a shared machine (other builds and tests ran "
      "alongside), so compare figures within this run only. Pinned: server on CPU 0, load generator on CPU 1. "
      "Throughput is delivered messages per second of server CPU (utime+stime from /proc). "
      "Traffic: pipelined = 100 pairs x 64 frames in flight; device-like = 1000 pairs x 1 in flight; "
      "latency-100k = 100 pairs at 100,000 msgs/s offered. 16-byte payloads; every server uses TCP_NODELAY (Mosquitto: set_tcp_nodelay true); blynkd: BRIDGE writes "
      "(each stored as pin state), quota off; Mosquitto: QoS 0, one topic per pair.")
    p()
    p("| pinning | traffic | server | delivered msgs/s | server CPU | msgs per server-CPU-s | vs raw | vs Mosquitto "
      "| loadgen CPU | p50 µs | p99 µs | p99.9 µs | send lag p99 µs | RSS after KiB | checks |")
    p("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for pinning in ("pinned", "unpinned"):
        for scenario in ("pipelined", "device-like", "latency-100k"):
            for server in ("raw", "blynkd", "mosquitto"):
                d = runs.get((server, scenario, pinning))
                if not d:
                    continue
                per = num(d, "msgs_per_srv_cpu_s")
                raw = num(runs.get(("raw", scenario, pinning), {}), "msgs_per_srv_cpu_s")
                mq = num(runs.get(("mosquitto", scenario, pinning), {}), "msgs_per_srv_cpu_s")
                vs_raw = "" if server == "raw" else fmt(100 * ratio(per, raw), "%")
                vs_mq = "" if server == "mosquitto" else fmt(ratio(per, mq), "×")
                checks = "OK" if d.get("ok") == "1" else (
                    f"FAILED (lost {d.get('lost')}, reordered {d.get('reordered')}, misdelivered "
                    f"{d.get('misdelivered')}, errors {d.get('errors')}, closed {d.get('closed')})")
                lag = fmt(num(d, "lag_p99_us")) if scenario.startswith("latency") else ""
                if scenario.startswith("latency") and num(d, "skipped") > 0:
                    checks += f"; rate not sustained ({d.get('skipped')} offered messages skipped at 256 in flight per pair)"
                p(f"| {pinning} | {scenario} | {server} | {fmt(num(d, 'msgs_per_s'))} | {fmt(num(d, 'srv_cpu_pct'), '%')} "
                  f"| {fmt(per)} | {vs_raw} | {vs_mq} | {fmt(num(d, 'lg_cpu_pct'), '%')} | {fmt(num(d, 'lat_p50_us'))} "
                  f"| {fmt(num(d, 'lat_p99_us'))} | {fmt(num(d, 'lat_p999_us'))} | {lag} | {d.get('rss_after_kib', '–')} "
                  f"| {checks} |")
    p()

    def per(server, scenario, pinning="pinned"):
        return num(runs.get((server, scenario, pinning), {}), "msgs_per_srv_cpu_s")

    def fig(server, scenario, key, pinning="pinned"):
        return num(runs.get((server, scenario, pinning), {}), key)

    def met(ok):
        if ok is None:
            return "–"
        return "met" if ok else "**missed**"

    def cmp(x, op, t):
        if x != x:
            return None
        return x >= t if op == ">=" else x <= t

    b = mem.get("blynkd", {})
    rows = [
        ("pipelined: blynkd / raw forwarder", 100 * ratio(per("blynkd", "pipelined"), per("raw", "pipelined")), ">=", 60, "%"),
        ("pipelined: blynkd / Mosquitto", ratio(per("blynkd", "pipelined"), per("mosquitto", "pipelined")), ">=", 45, "×"),
        ("device-like: blynkd / raw forwarder", 100 * ratio(per("blynkd", "device-like"), per("raw", "device-like")), ">=", 95, "%"),
        ("device-like: blynkd / Mosquitto", ratio(per("blynkd", "device-like"), per("mosquitto", "device-like")), ">=", 1.4, "×"),
        ("latency-100k: blynkd p99 / raw p99", ratio(fig("blynkd", "latency-100k", "lat_p99_us"), fig("raw", "latency-100k", "lat_p99_us")), "<=", 1.25, "×"),
        ("latency-100k: load generator send lag p99 (blynkd run), µs", fig("blynkd", "latency-100k", "lag_p99_us"), "<=", 100, ""),
        ("idle RssAnon, KiB", num(b, "rss_anon_kib"), "<=", 4000, ""),
        ("idle plain connection, B of RSS", num(mem.get("idle_rss_plain", {}), "per_conn_b"), "<=", 735, ""),
        ("idle TLS connection, B of RSS", num(mem.get("idle_rss_tls", {}), "per_conn_b"), "<=", 8192, ""),
    ]
    p("| target (pinned run) | this run | target | |")
    p("|---|---|---|---|")
    for name, x, op, t, unit in rows:
        p(f"| {name} | {fmt(x, unit)} | {'≥' if op == '>=' else '≤'} {t}{unit} | {met(cmp(x, op, t))} |")
    p()
    p("| memory | figure |")
    p("|---|---|")
    p(f"| blynkd idle VmRSS (provisioned devices loaded) | {b.get('idle_rss_kib', '–')} KiB |")
    p(f"| blynkd idle RssAnon | {b.get('rss_anon_kib', '–')} KiB |")
    if "mosquitto" in mem:
        p(f"| Mosquitto idle VmRSS | {mem['mosquitto'].get('idle_rss_kib', '–')} KiB |")
    for kind in ("plain", "tls"):
        m = mem.get(f"idle_rss_{kind}")
        if m:
            p(f"| blynkd per idle logged-in {kind} connection (10,000, bench/idle_rss.py) | {m.get('per_conn_b')} B |")
    p()
    p("Not measured yet: blynkd TLS throughput, Mosquitto with 10,000 idle clients, HTTP (wrk vs nginx), "
      "app-protocol receivers.")


if __name__ == "__main__":
    main()
