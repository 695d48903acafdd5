#!/usr/bin/env python3
"""Issue 13's history figures, one command:

  1. storage-sqlite through put_points (bench/history_store): points per second
     and bytes on disk per raw point (goal <= 40 B), 1,000,000 raw points of
     10 devices x 10 pins by default;
  2. what history costs on the hot path: bench/run's device-like case (1000
     pairs x 1 BRIDGE frame in flight; the server pinned to CPU 0, loadgen to
     CPU 1) with [history] on for every write (pins = "all", raw_data = true:
     loadgen's payloads are not numbers, so every write becomes a raw row) and
     with enabled = false, the variants of a round back to back; the median of
     the rounds' ratios of delivered messages per server-CPU-second (goal >= 95%).

  python3 bench/history.py [--build-dir build-test] [--points 1000000] [--rounds 3] [--duration 5]

The build folder needs blynkd, storage-sqlite, loadgen and history_store
(-DBLYNK_BUILD_BENCH=ON). Every server listens on 127.0.0.1 on a port it picks;
every wait is bounded. Prints a Markdown report.
"""
import argparse, os, re, shutil, statistics, subprocess, sys, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
sys.path.insert(0, here)
from provision import provision  # noqa: E402


def store_figures(bin_dir, points):
    out = subprocess.run([os.path.join(bin_dir, "history_store"), "--points", str(points)], check=True,
                         capture_output=True, text=True, timeout=1800).stdout
    kv = dict(f.split("=", 1) for f in next(l for l in out.splitlines() if l.startswith("RESULT")).split()[1:])
    return out, kv


def start_server(bin_dir, tmp, variant, devices):
    d = os.path.join(tmp, variant)
    cfg, tokens = provision(os.path.join(bin_dir, "blynkd"), d, devices)
    with open(os.path.join(d, "tokens.txt"), "w") as f:
        f.write("\n".join(tokens) + "\n")
    with open(cfg, "a") as f:
        if variant == "on":
            f.write('\n[history]\nenabled = true\npins = "all"\nraw_data = true\n')
        else:
            f.write("\n[history]\nenabled = false\n")
    log = open(os.path.join(tmp, variant + ".log"), "w+")
    p = subprocess.Popen([os.path.join(bin_dir, "blynkd"), "--config", cfg], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    port = None
    while time.time() < deadline:
        log.seek(0)
        text = log.read()
        if "server ready" in text:
            port = re.search(r"listening hardware-plain 127\.0\.0\.1:([0-9]+)", text).group(1)
            break
        if p.poll() is not None:
            break
        time.sleep(0.1)
    if not port:
        p.kill()
        log.seek(0)
        sys.exit(f"bench/history.py: the {variant} server did not start:\n{log.read()[-2000:]}")
    subprocess.run(["taskset", "-a", "-p", "-c", "0", str(p.pid)], check=True, stdout=subprocess.DEVNULL)
    return p, port, os.path.join(d, "tokens.txt")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=os.path.join(root, "build-bench"))
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5)
    args = ap.parse_args()
    bin_dir = os.path.join(args.build_dir, "bin")
    for f in ("blynkd", "loadgen", "history_store"):
        if not os.access(os.path.join(bin_dir, f), os.X_OK):
            sys.exit(f"bench/history.py: {bin_dir}/{f} is missing (build with -DBLYNK_BUILD_BENCH=ON)")

    store_out, store = store_figures(bin_dir, args.points)

    tmp = tempfile.mkdtemp(prefix="blynkd-history-bench-")
    servers = {}
    rows = []
    try:
        for v in ("on", "off"):
            servers[v] = start_server(bin_dir, tmp, v, 2000)
        for r in range(1, args.rounds + 1):
            for v in ("on", "off"):
                p, port, tokens = servers[v]
                out = subprocess.run(
                    ["timeout", "120", "taskset", "-c", "1", os.path.join(bin_dir, "loadgen"), "--proto", "blynk",
                     "--port", port, "--tokens", tokens, "--pid", str(p.pid), "--label", v, "--pairs", "1000",
                     "--window", "1", "--duration", str(args.duration)],
                    capture_output=True, text=True).stdout
                line = next((l for l in out.splitlines() if l.startswith("RESULT")), None)
                if not line:
                    sys.exit(f"bench/history.py: loadgen failed ({v}, round {r}):\n{out[-2000:]}")
                kv = dict(f.split("=", 1) for f in line.split()[1:])
                kv["round"] = r
                rows.append(kv)
        # What the "on" server stored: history rows in its database.
        stored = "?"
        try:
            import sqlite3
            db = os.path.join(tmp, "on", "data", "blynk.db")
            servers["on"][0].terminate()
            servers["on"][0].wait(timeout=30)
            stored = sqlite3.connect(db).execute("SELECT count(*) FROM history WHERE granularity = 0").fetchone()[0]
        except Exception as e:  # the figure is informative only
            stored = f"? ({e})"
    finally:
        for p, _, _ in servers.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    def med(v, k):
        return statistics.median(float(r[k]) for r in rows if r["label"] == v)

    ratios = []
    for r in range(1, args.rounds + 1):
        on = next(float(x["msgs_per_srv_cpu_s"]) for x in rows if x["label"] == "on" and x["round"] == r)
        off = next(float(x["msgs_per_srv_cpu_s"]) for x in rows if x["label"] == "off" and x["round"] == r)
        ratios.append(on / off)
    commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "?"
    print(f"# History: storage-sqlite and the hot path (blynkd {commit})\n")
    print("## storage-sqlite through put_points\n")
    print("```\n" + store_out.strip() + "\n```\n")
    print(f"| points | points/s | bytes per raw point (with its buckets) | goal |")
    print("|---|---|---|---|")
    print(f"| {int(store['points']):,} | {float(store['points_per_s']):,.0f} | {float(store['bytes_per_point']):.1f} | <= 40 |\n")
    print(f"## Device-like traffic, [history] on (every write a raw point) vs off\n")
    print(f"{args.rounds} rounds of {args.duration} s; 1000 pairs x 1 BRIDGE frame in flight; server on CPU 0, "
          f"loadgen on CPU 1. Raw rows the 'on' server stored: {stored}.\n")
    print("| variant | msgs per server-CPU-s (median) | delivered msgs/s (median) | server CPU (median) | p99 µs |")
    print("|---|---|---|---|---|")
    for v in ("on", "off"):
        print(f"| {v} | {med(v, 'msgs_per_srv_cpu_s'):,.0f} | {med(v, 'msgs_per_s'):,.0f} | "
              f"{med(v, 'srv_cpu_pct'):.1f}% | {med(v, 'lat_p99_us'):,.0f} |")
    print(f"\non / off (msgs per server-CPU-s): median {100 * statistics.median(ratios):.1f}% "
          f"(rounds: {', '.join(f'{100 * x:.1f}%' for x in ratios)}); goal >= 95%")


if __name__ == "__main__":
    main()
