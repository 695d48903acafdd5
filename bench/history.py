#!/usr/bin/env python3
"""Issue 13's history figures, one command:

  1. storage-sqlite through put_points (bench/history_store): points per second
     and bytes on disk per raw point (goal <= 40 B), 1,000,000 raw points of
     10 devices x 10 pins by default;
  2. what history costs on the hot path: bench/run's device-like case (1000
     pairs x 1 BRIDGE frame in flight; the server pinned to CPU 0, loadgen to
     CPU 1), history on vs off, in two cases:
       (a) the default configuration (no [history] section: every pin, numbers
           into minute/hour/day buckets only) with loadgen --numeric, so every
           write is a number and becomes a point;
       (b) the worst case: pins = "all", raw_data = true with loadgen's usual
           payloads (not numbers), so every write becomes a raw row;
     against a server with enabled = false fed the same payloads. The four
     variants of a round run back to back (this kind of machine drifts by
     +-15% over minutes); each case's figure is the median of the rounds'
     ratios of delivered messages per server-CPU-second (goal >= 95%).

  python3 bench/history.py [--build-dir build-test] [--points 1000000] [--rounds 3] [--duration 5] [--cases ab]

The build folder needs blynkd, its default plugins (storage-sqlite, http-api, admin-ui), loadgen and history_store
(-DBLYNK_BUILD_BENCH=ON). Every server listens on 127.0.0.1 on a port it picks;
every wait is bounded. Prints a Markdown report.
"""
import argparse, os, re, resource, shutil, sqlite3, statistics, subprocess, sys, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
sys.path.insert(0, here)
from provision import provision  # noqa: E402

# Server configurations: the [history] section each gets.
SERVERS = {
    "default": "",  # the server's defaults: enabled, pins = "all", raw_data = false
    "raw": '\n[history]\nenabled = true\npins = "all"\nraw_data = true\n',
    "off": "\n[history]\nenabled = false\n",
}
# variant -> (case, server, numeric payloads)
VARIANTS = {
    "a-on": ("a", "default", True),
    "a-off": ("a", "off", True),
    "b-on": ("b", "raw", False),
    "b-off": ("b", "off", False),
}
CASES = {
    "a": "default config, numeric payloads (buckets only)",
    "b": "raw_data = true, text payloads (every write a raw row)",
}


def store_figures(bin_dir, points):
    out = subprocess.run([os.path.join(bin_dir, "history_store"), "--points", str(points)], check=True,
                         capture_output=True, text=True, timeout=1800).stdout
    kv = dict(f.split("=", 1) for f in next(l for l in out.splitlines() if l.startswith("RESULT")).split()[1:])
    return out, kv


def start_server(bin_dir, tmp, name, devices):
    d = os.path.join(tmp, name)
    cfg, tokens = provision(os.path.join(bin_dir, "blynkd"), d, devices)
    with open(os.path.join(d, "tokens.txt"), "w") as f:
        f.write("\n".join(tokens) + "\n")
    with open(cfg, "a") as f:
        f.write(SERVERS[name])
    log = open(os.path.join(tmp, name + ".log"), "w+")
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
        p.wait(timeout=30)
        log.seek(0)
        sys.exit(f"bench/history.py: the {name} server did not start:\n{log.read()[-2000:]}")
    subprocess.run(["taskset", "-a", "-p", "-c", "0", str(p.pid)], check=True, stdout=subprocess.DEVNULL)
    return p, port, os.path.join(d, "tokens.txt")


def stop(p):
    """SIGTERM (the server flushes what it collected), bounded; then SIGKILL."""
    if p.poll() is not None:
        return
    p.terminate()
    try:
        p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=30)


def stored_points(tmp, name):
    """Points the server's store holds: raw rows, and values counted in the minute buckets."""
    db = sqlite3.connect(os.path.join(tmp, name, "data", "blynk.db"))
    try:
        raw = db.execute("SELECT count(*) FROM history WHERE granularity = 0").fetchone()[0]
        counted = db.execute("SELECT coalesce(sum(count), 0) FROM history WHERE granularity = 1").fetchone()[0]
        return raw, counted
    finally:
        db.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=os.path.join(root, "build-bench"))
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--cases", default="ab", help="which hot-path cases to run: a, b or ab")
    args = ap.parse_args()
    cases = [c for c in "ab" if c in args.cases]
    if not cases or set(args.cases) - set("ab"):
        sys.exit("bench/history.py: --cases takes a, b or ab")
    bin_dir = os.path.join(args.build_dir, "bin")
    for f in ("blynkd", "loadgen", "history_store"):
        if not os.access(os.path.join(bin_dir, f), os.X_OK):
            sys.exit(f"bench/history.py: {bin_dir}/{f} is missing (build with -DBLYNK_BUILD_BENCH=ON)")
    # 2000 connections each side.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(65536, hard), hard))

    load_before = open("/proc/loadavg").read().split()[:3]
    store_out, store = store_figures(bin_dir, args.points) if args.points > 0 else ("(not run: --points 0)", None)

    variants = [v for v in VARIANTS if VARIANTS[v][0] in cases]
    tmp = tempfile.mkdtemp(prefix="blynkd-history-bench-")
    servers = {}
    rows = []
    sent = {name: 0 for name in SERVERS}
    stored = {}
    notes = {}
    try:
        for v in variants:
            name = VARIANTS[v][1]
            if name not in servers:
                servers[name] = start_server(bin_dir, tmp, name, 2000)
        for r in range(1, args.rounds + 1):
            for v in variants:
                _, name, numeric = VARIANTS[v]
                p, port, tokens = servers[name]
                cmd = ["timeout", "120", "taskset", "-c", "1", os.path.join(bin_dir, "loadgen"), "--proto", "blynk",
                       "--port", port, "--tokens", tokens, "--pid", str(p.pid), "--label", v, "--pairs", "1000",
                       "--window", "1", "--duration", str(args.duration)] + (["--numeric"] if numeric else [])
                out = subprocess.run(cmd, capture_output=True, text=True).stdout
                line = next((l for l in out.splitlines() if l.startswith("RESULT")), None)
                if not line or "ok=1" not in line.split():
                    sys.exit(f"bench/history.py: loadgen failed ({v}, round {r}):\n{out[-2000:]}")
                kv = dict(f.split("=", 1) for f in line.split()[1:])
                kv["round"] = r
                rows.append(kv)
                m = re.search(r"checks: sent ([0-9]+)", out)
                sent[name] += int(m.group(1)) if m else 0
        # What the "on" servers stored, after a stop that flushes, and what
        # their logs said about history (dropped points, storage errors).
        for name in servers:
            if name == "off":
                continue
            stop(servers[name][0])
            try:
                stored[name] = stored_points(tmp, name)
            except sqlite3.Error as e:  # the figure is a check, reported as such
                stored[name] = f"? ({e})"
            with open(os.path.join(tmp, name + ".log"), errors="replace") as f:
                notes[name] = [l.strip() for l in f if "history:" in l and ("warn" in l or "error" in l)][:3]
    finally:
        for p, _, _ in servers.values():
            if p.poll() is None:
                p.kill()
                p.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    load_after = open("/proc/loadavg").read().split()[:3]

    def med(v, k):
        return statistics.median(float(x[k]) for x in rows if x["label"] == v)

    def per_cpu(v, r):
        return next(float(x["msgs_per_srv_cpu_s"]) for x in rows if x["label"] == v and x["round"] == r)

    ratios = {c: [per_cpu(f"{c}-on", r) / per_cpu(f"{c}-off", r) for r in range(1, args.rounds + 1)] for c in cases}
    commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "?"
    dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                           text=True).stdout.strip()
    print(f"# History: storage-sqlite and the hot path (blynkd {commit}{' + local changes' if dirty else ''})\n")
    print(f"`python3 bench/history.py --build-dir {os.path.relpath(args.build_dir, root)} --rounds {args.rounds} "
          f"--duration {args.duration} --points {args.points}"
          f"{'' if args.cases == 'ab' else ' --cases ' + args.cases}`; load average before "
          f"{' '.join(load_before)}, after {' '.join(load_after)}.\n")
    print("## storage-sqlite through put_points\n")
    print("```\n" + store_out.strip() + "\n```\n")
    if store:
        print("| points | points/s | bytes per raw point (with its buckets) | goal |")
        print("|---|---|---|---|")
        print(f"| {int(store['points']):,} | {float(store['points_per_s']):,.0f} | "
              f"{float(store['bytes_per_point']):.1f} | <= 40 |\n")
    print("## Device-like traffic, [history] on vs off\n")
    print(f"{args.rounds} rounds of {args.duration} s; 1000 pairs x 1 BRIDGE frame in flight (16-byte payloads); "
          "server on CPU 0, loadgen on CPU 1; the variants of a round back to back. Case (a): no [history] "
          "section (the defaults: every pin, raw_data = false), `loadgen --numeric` (each payload a number such "
          "as `01230456.7890123`), so every write goes into its pin's minute/hour/day buckets. Case (b): "
          "`pins = \"all\"`, `raw_data = true`, loadgen's base64 payloads, so every write is a raw row. "
          "'off': `enabled = false`, the same payloads.\n")
    print("| variant | msgs per server-CPU-s (median) | delivered msgs/s (median) | server CPU (median) | p99 µs |")
    print("|---|---|---|---|---|")
    for v in variants:
        print(f"| {v} | {med(v, 'msgs_per_srv_cpu_s'):,.0f} | {med(v, 'msgs_per_s'):,.0f} | "
              f"{med(v, 'srv_cpu_pct'):.1f}% | {med(v, 'lat_p99_us'):,.0f} |")
    print()
    for c in cases:
        name = VARIANTS[f"{c}-on"][1]
        s = stored.get(name)
        if isinstance(s, tuple):
            got = s[1] if c == "a" else s[0]
            what = "values in its minute buckets" if c == "a" else "raw rows"
            check = f"{what}: {got:,} of {sent[name]:,} writes sent"
            if got != sent[name]:
                check += (" (**not all stored**: the 'on' server did less work than asked, so its ratio is "
                          "not valid)")
        else:
            check = f"stored: {s}"
        if notes.get(name):
            check += " Its log: " + " / ".join(f"`{n[-200:]}`" for n in notes[name])
        print(f"- ({c}) {CASES[c]}: on / off (msgs per server-CPU-s) median "
              f"**{100 * statistics.median(ratios[c]):.1f}%** (rounds: "
              f"{', '.join(f'{100 * x:.1f}%' for x in ratios[c])}); goal >= 95%. The 'on' server's {check}.")


if __name__ == "__main__":
    main()
