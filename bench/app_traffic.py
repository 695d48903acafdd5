#!/usr/bin/env python3
"""Issue 12's traffic figure, one command: device -> app delivered messages per
second of blynkd's CPU with one app session per user (1000 users, one device
each, device-like traffic: a virtualWrite, the next when the app got it),
beside the hardware bridge figure of the same server in the same run (bench/run's
device-like case: 1000 device pairs, BRIDGE, one in flight). Goal: the app
figure is at least 95% of the bridge figure.

    python3 bench/app_traffic.py [--build-dir build-bench] [--rounds 3] [--duration 3]
                                 [--users 1000] [--unpinned] [--perf]

One blynkd (Release build of the build folder: blynkd, loadgen, app_loadgen;
configured with -DBLYNK_BUILD_BENCH=ON) on free loopback ports with a temporary
data folder; pinned like bench/run (server on CPU 0, load generator on CPU 1)
unless --unpinned. Each round runs the bridge case, then the app case, back to
back; the report takes the median of the rounds' ratios. Both tools measure
the server's CPU from /proc/PID/stat and their own CPU, so a run where the
generator was the bottleneck (near 100% of its core) shows. --perf records the
server with `perf record -g` during one more app run and prints its top
symbols (perf must be installed; it is not installed by this script).
Writes bench/results/<date>_app-traffic.md and prints it. Linux only.
"""
import argparse, datetime, resource, os, re, shutil, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from provision import provision  # noqa: E402
from app_provision import provision_apps, write_users  # noqa: E402


def start_blynkd(blynkd, cfg, log):
    proc = subprocess.Popen([blynkd, "--config", cfg], stdout=log, stderr=subprocess.STDOUT)
    ports = {}
    deadline = time.time() + 30
    while time.time() < deadline:
        with open(log.name) as f:
            text = f.read()
        for kind, port in re.findall(r"listening (\S+) 127\.0\.0\.1:(\d+)", text):
            ports[kind] = int(port)
        if "server ready" in text:
            return proc, ports
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    sys.exit("app_traffic: blynkd did not start:\n" + open(log.name).read()[-2000:])


def result(out):
    m = re.search(r"^RESULT (.*)$", out, re.M)
    return dict(kv.split("=", 1) for kv in m.group(1).split()) if m else None


def run_tool(cmd, pin):
    full = (["taskset", "-c", "1"] if pin else []) + cmd
    p = subprocess.run(full, capture_output=True, text=True, timeout=300)
    sys.stderr.write(p.stdout + p.stderr)
    return result(p.stdout), p.returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", default=os.path.join(HERE, "..", "build-bench"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=3)
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--unpinned", action="store_true")
    ap.add_argument("--perf", action="store_true")
    args = ap.parse_args()
    # Thousands of connections on both sides: the children inherit the limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard))
    bin_dir = os.path.abspath(os.path.join(args.build_dir, "bin"))
    for tool in ("blynkd", "loadgen", "app_loadgen"):
        if not os.access(os.path.join(bin_dir, tool), os.X_OK):
            sys.exit(f"app_traffic: {bin_dir}/{tool} missing: cmake -S . -B {args.build_dir} -DCMAKE_BUILD_TYPE=Release "
                     f"-DBLYNK_BUILD_BENCH=ON && cmake --build {args.build_dir} --target blynkd storage-sqlite "
                     "loadgen app_loadgen")
    pin = not args.unpinned and os.cpu_count() >= 2
    n = args.users
    tmp = tempfile.mkdtemp(prefix="blynkd-app-traffic-")
    proc = None
    try:
        cfg, tokens = provision(os.path.join(bin_dir, "blynkd"), tmp, 2 * n)
        with open(os.path.join(tmp, "tokens.txt"), "w") as f:
            f.write("\n".join(tokens) + "\n")
        users = provision_apps(os.path.join(tmp, "data", "blynk.db"), n)
        write_users(os.path.join(tmp, "users.txt"), users)
        log = open(os.path.join(tmp, "blynkd.log"), "w")
        proc, ports = start_blynkd(os.path.join(bin_dir, "blynkd"), cfg, log)
        if pin:
            subprocess.run(["taskset", "-a", "-p", "-c", "0", str(proc.pid)], check=True, capture_output=True)
        common = ["--pid", str(proc.pid), "--duration", str(args.duration), "--warmup", "0.5"]
        bridge = [os.path.join(bin_dir, "loadgen"), "--proto", "blynk", "--port", str(ports["hardware-plain"]),
                  "--tokens", os.path.join(tmp, "tokens.txt"), "--pairs", str(n), "--window", "1",
                  "--label", "bridge/device-like"] + common
        app = [os.path.join(bin_dir, "app_loadgen"), "--port", str(ports["hardware-plain"]), "--tls-port",
               str(ports["hardware-tls"]), "--users", os.path.join(tmp, "users.txt"), "--pairs", str(n),
               "--window", "1", "--label", "app/device-like"] + common
        rounds, failed = [], False
        for r in range(args.rounds):
            b, rc_b = run_tool(bridge, pin)
            a, rc_a = run_tool(app, pin)
            failed |= rc_b != 0 or rc_a != 0 or not a or not b
            if a and b:
                rounds.append((b, a, float(a["msgs_per_srv_cpu_s"]) / float(b["msgs_per_srv_cpu_s"])))
        perf_top = ""
        if args.perf:
            perf_top = profile(proc.pid, app, pin, tmp)
        write_report(args, rounds, failed, pin, perf_top)
        return 1 if failed or not rounds else 0
    finally:
        if proc:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def profile(pid, app, pin, tmp):
    """The server's top symbols (self time) during one app run."""
    perf = shutil.which("perf")
    if not perf:
        return "perf not installed: no profile."
    data = os.path.join(tmp, "perf.data")
    rec = subprocess.Popen([perf, "record", "-g", "-o", data, "-p", str(pid)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    run_tool(app, pin)
    rec.send_signal(2)
    _, err = rec.communicate(timeout=60)
    if rec.returncode not in (0, -2, 130) or not os.path.exists(data):
        return "perf record failed: " + err.strip()[-500:]
    out = []
    for sort, limit in (("dso", "0.5"), ("dso,symbol", "1")):
        rep = subprocess.run([perf, "report", "-i", data, "--no-children", "--sort", sort, "--stdio",
                              "--percent-limit", limit, "-g", "none"], capture_output=True, text=True, timeout=120)
        lines = [ln.rstrip() for ln in rep.stdout.splitlines() if ln.strip() and not ln.startswith("#")]
        out += [f"-- by {sort} (self time, >= {limit}%)"] + lines[:25]
    return "\n".join(out)


def write_report(args, rounds, failed, pin, perf_top):
    now = datetime.datetime.now()
    rev = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    out = [f"# blynkd app traffic, {now:%Y-%m-%d %H:%M}", "",
           f"blynkd {rev.stdout.strip() or '?'}; {os.uname().machine}, {os.cpu_count()} CPUs, Linux "
           f"{os.uname().release}; {args.duration:g} s measured per run after 0.5 s warm-up; {len(rounds)} round(s), "
           "the bridge case then the app case back to back on one server; "
           + ("pinned: server on CPU 0, load generator on CPU 1. " if pin else "unpinned. ")
           + f"Bridge: bench/loadgen, {args.users} device pairs, BRIDGE `vw 1 <16 bytes>`, one in flight per pair, "
           "both on the plain port. App: bench/app_loadgen, "
           f"{args.users} users each with one device (plain port, HARDWARE `vw 1 <16 bytes>`) and one app session "
           "(app frames in TLS on the TLS port) that receives it as HARDWARE `1-0 vw 1 <16 bytes>`; the device "
           "sends its next write when its app got the previous one. Throughput is delivered messages per second "
           "of server CPU (utime+stime from /proc).", "",
           "| round | case | delivered msgs/s | server CPU | msgs per server-CPU-s | generator CPU | p50 µs | p99 µs | "
           "checks |", "|---|---|---|---|---|---|---|---|---|"]
    for i, (b, a, _) in enumerate(rounds):
        for name, r in (("bridge (device-like)", b), ("device -> app", a)):
            out.append(f"| {i + 1} | {name} | {float(r['msgs_per_s']):,.0f} | {float(r['srv_cpu_pct']):.1f}% | "
                       f"{float(r['msgs_per_srv_cpu_s']):,.0f} | {float(r['lg_cpu_pct']):.1f}% | "
                       f"{float(r['lat_p50_us']):,.1f} | {float(r['lat_p99_us']):,.1f} | "
                       f"{'OK' if r['ok'] == '1' else 'FAILED'} |")
    if rounds:
        ratios = [r for _, _, r in rounds]
        med = statistics.median(ratios)
        out += ["", "| target | this run (median) | each round | goal | |", "|---|---|---|---|---|",
                f"| device -> app / bridge, msgs per server-CPU-s | {100 * med:.1f}% | "
                + ", ".join(f"{100 * r:.1f}%" for r in ratios) + f" | ≥ 95% | {'met' if med >= 0.95 else '**missed**'} |"]
    if failed:
        out += ["", "A run FAILED (lost, reordered, misdelivered, closed or nothing delivered): see the tools' output."]
    if perf_top:
        out += ["", "Server profile during one more app run (`perf record -g`):", "", "```",
                perf_top, "```"]
    text = "\n".join(out) + "\n"
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", f"{now:%Y-%m-%d_%H%M}_app-traffic.md")
    with open(path, "w") as f:
        f.write(text)
    print(text)
    print(f"(written to bench/results/{os.path.basename(path)})")


if __name__ == "__main__":
    sys.exit(main())
