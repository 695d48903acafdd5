#!/usr/bin/env python3
"""Issue 12's memory figure, one command: blynkd's RSS per user with one device
and a ten-widget dashboard, 10,000 users loaded (goal: at most 4 KiB each).

    python3 bench/app_rss.py [--bin build-bench/bin/blynkd] [--users 10000] [--widgets 10] [--batch 500]

blynkd loads every account of its store when it starts (kernel/app/main.cpp,
run_server: load_all), so the figure is two starts on one data folder on tmpfs:
first with only the provisioning account (the empty reading), then with N
more accounts written straight into the SQLite store (bench/app_provision.py:
each a password, dashboard 1 holding the widgets as the legacy app writes them,
device 0 with its own token). After the second start every device also logs in
once (plain hardware port, `--batch` at a time, each batch closed before the
next), as users that load on demand would, and one app loads the first user's
profile to check its widgets came along. VmRSS and RssAnon are read 1 s after
each start and 2 s after the last disconnect; (after - empty) / N is the
figure. `--widgets 0` gives the same with empty dashboards, to tell the
widgets' share. Writes bench/results/<date>_app-rss-<N>w.md and prints it.
Linux only.
"""
import argparse, datetime, resource, json, os, re, shutil, socket, ssl, struct, subprocess, sys, tempfile, time, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from provision import provision  # noqa: E402
from app_provision import provision_apps  # noqa: E402

# Ten widgets as the legacy app writes them (the fields it sends for each type).
WIDGETS = [
    {"type": "BUTTON", "id": 1, "x": 0, "y": 0, "color": 600084223, "width": 2, "height": 2, "tabId": 0,
     "label": "Lamp", "isDefaultColor": True, "deviceId": 0, "pinType": "DIGITAL", "pin": 13, "pwmMode": False,
     "rangeMappingOn": False, "min": 0, "max": 1, "pushMode": False, "onLabel": "ON", "offLabel": "OFF"},
    {"type": "SLIDER", "id": 2, "x": 2, "y": 0, "color": 600084223, "width": 6, "height": 1, "tabId": 0,
     "label": "Dimmer", "isDefaultColor": True, "deviceId": 0, "pinType": "VIRTUAL", "pin": 1, "pwmMode": False,
     "rangeMappingOn": False, "min": 0, "max": 255, "sendOnReleaseOn": True, "frequencyOn": 100, "maximumFractionDigits": 0},
    {"type": "GAUGE", "id": 3, "x": 0, "y": 2, "color": -308477697, "width": 4, "height": 3, "tabId": 0,
     "label": "Temperature", "isDefaultColor": False, "deviceId": 0, "pinType": "VIRTUAL", "pin": 2, "pwmMode": False,
     "rangeMappingOn": False, "min": -20, "max": 50, "frequency": 1000, "valueFormatting": "/pin.#/°C"},
    {"type": "LABELED_VALUE_DISPLAY", "id": 4, "x": 4, "y": 2, "color": 600084223, "width": 4, "height": 1, "tabId": 0,
     "label": "Humidity", "deviceId": 0, "pinType": "VIRTUAL", "pin": 3, "min": 0, "max": 100, "frequency": 1000,
     "valueFormatting": "/pin/ %", "textAlignment": "LEFT"},
    {"type": "LED", "id": 5, "x": 4, "y": 3, "color": 1602017535, "width": 1, "height": 1, "tabId": 0, "label": "Pump",
     "deviceId": 0, "pinType": "VIRTUAL", "pin": 4, "min": 0, "max": 255},
    {"type": "TERMINAL", "id": 6, "x": 0, "y": 5, "color": 600084223, "width": 8, "height": 4, "tabId": 0,
     "label": "Log", "deviceId": 0, "pinType": "VIRTUAL", "pin": 5, "autoScrollOn": True, "terminalInputOn": True,
     "textLightOn": False, "attachNewLine": True},
    {"type": "RGB", "id": 7, "x": 0, "y": 9, "color": 600084223, "width": 4, "height": 4, "tabId": 0, "label": "Strip",
     "deviceId": 0, "splitMode": False, "sendOnReleaseOn": True, "frequency": 100,
     "pins": [{"pin": 6, "pinType": "VIRTUAL", "min": 0, "max": 255},
              {"pin": 8, "pinType": "VIRTUAL", "min": 0, "max": 255},
              {"pin": 9, "pinType": "VIRTUAL", "min": 0, "max": 255}]},
    {"type": "SEGMENTED_CONTROL", "id": 8, "x": 4, "y": 9, "color": 600084223, "width": 4, "height": 1, "tabId": 0,
     "label": "Mode", "deviceId": 0, "pinType": "VIRTUAL", "pin": 7, "min": 0, "max": 0,
     "labels": ["Off", "Auto", "On"]},
    {"type": "ENHANCED_GRAPH", "id": 9, "x": 0, "y": 13, "width": 8, "height": 4, "tabId": 0, "yAxisValues": False,
     "period": "ONE_HOUR", "dataStreams": [{"id": 0, "title": "Temperature", "graphType": "LINE",
                                           "color": -308477697, "pin": {"pin": 2, "pinType": "VIRTUAL", "deviceId": 0},
                                           "functionType": "AVG", "showYAxis": True}]},
    {"type": "NOTIFICATION", "id": 10, "x": 4, "y": 4, "color": 0, "width": 2, "height": 1, "tabId": 0,
     "notifyWhenOffline": False, "notifyWhenOfflineIgnorePeriod": 0, "priority": "NORMAL"},
]


def rss(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon"):
                out[k] = int(v.split()[0])
    return out


def app_frame(cmd, msg_id, body):
    body = body.encode() if isinstance(body, str) else body
    return struct.pack(">BHI", cmd, msg_id, len(body)) + body


def profile_widgets(port, user):
    """How many widgets dashboard 1 of `user` has, as its owner's app loads it."""
    email, h, _ = user
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the bench server's own self-signed certificate
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30), server_hostname="localhost") as s:
        s.sendall(app_frame(2, 1, "\0".join([email, h, "Android", "2.27.0"])) + app_frame(24, 2, ""))
        buf = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return -1
            buf += chunk
            while len(buf) >= 7:
                cmd, msg_id, length = struct.unpack(">BHI", buf[:7])
                size = 7 if cmd == 0 else 7 + length
                if len(buf) < size:
                    break
                if cmd == 24 and msg_id == 2:
                    profile = json.loads(zlib.decompress(buf[7:size]))
                    return len(profile["dashBoards"][0]["widgets"])
                if cmd == 0 and msg_id == 1 and length != 200:
                    return -1
                buf = buf[size:]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "build-bench", "bin", "blynkd"))
    ap.add_argument("--users", type=int, default=10000)
    ap.add_argument("--widgets", type=int, default=10)
    ap.add_argument("--batch", type=int, default=500)
    args = ap.parse_args()
    # Thousands of connections on both sides: the children inherit the limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard))
    blynkd = os.path.abspath(args.bin)
    n = args.users
    # Storage on tmpfs when there is one: the devices' state writes (synchronous
    # commits) would otherwise measure the disk.
    tmp = tempfile.mkdtemp(prefix="blynkd-app-rss-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    proc = None
    try:
        cfg, _ = provision(blynkd, tmp, 1)
        db = os.path.join(tmp, "data", "blynk.db")
        proc, ports = start_blynkd(blynkd, cfg, os.path.join(tmp, "empty.log"))
        empty = rss(proc.pid)
        stop(proc)
        users = provision_apps(db, n, widgets=WIDGETS[:args.widgets])
        proc, ports = start_blynkd(blynkd, cfg, os.path.join(tmp, "blynkd.log"))
        started = rss(proc.pid)
        ok, t0 = 0, time.time()
        for start in range(0, n, args.batch):
            group = []
            for _, _, token in users[start:start + args.batch]:
                s = socket.create_connection(("127.0.0.1", ports["hardware-plain"]), timeout=60)
                s.sendall(struct.pack(">BHH", 29, 1, len(token)) + token.encode())
                group.append(s)
            for s in group:
                hdr = b""
                while len(hdr) < 5:
                    chunk = s.recv(5 - len(hdr))
                    if not chunk:
                        break
                    hdr += chunk
                ok += len(hdr) == 5 and struct.unpack(">BHH", hdr) == (0, 1, 200)
                s.close()
        elapsed = time.time() - t0
        time.sleep(2.0)
        after = rss(proc.pid)
        widgets_seen = profile_widgets(ports["hardware-tls"], users[0])
        per = (after["VmRSS"] - empty["VmRSS"]) * 1024 / n
        per_anon = (after["RssAnon"] - empty["RssAnon"]) * 1024 / n
        write_report(args, empty, started, after, per, per_anon, ok, elapsed, widgets_seen)
        return 0 if ok == n and widgets_seen == args.widgets else 1
    finally:
        if proc:
            stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)


def start_blynkd(blynkd, cfg, log_path):
    """Starts blynkd; returns (process, {listener: port}) once it is ready and 1 s has passed."""
    log = open(log_path, "w")
    proc = subprocess.Popen([blynkd, "--config", cfg], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while time.time() < deadline:
        text = open(log_path).read()
        if "server ready" in text:
            time.sleep(1.0)  # start-up settles
            return proc, {k: int(v) for k, v in re.findall(r"listening (\S+) 127\.0\.0\.1:(\d+)", text)}
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    stop(proc)
    sys.exit("app_rss: blynkd did not start:\n" + open(log_path).read()[-2000:])


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def write_report(args, empty, started, after, per, per_anon, ok, elapsed, widgets_seen):
    now = datetime.datetime.now()
    rev = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    widget_bytes = sum(len(json.dumps(w, separators=(",", ":"))) for w in WIDGETS[:args.widgets])
    text = "\n".join([
        f"# blynkd memory per app user, {now:%Y-%m-%d %H:%M}", "",
        f"blynkd {rev.stdout.strip() or '?'}; {os.uname().machine}, {os.cpu_count()} CPUs, Linux {os.uname().release}. "
        f"{args.users} accounts (a password, dashboard 1 with {args.widgets} widgets ({widget_bytes} bytes of widget "
        f"JSON as the legacy app writes them), device 0) written into the SQLite store; blynkd started on it (it loads "
        f"every account at start), then each device logged in once (plain port), {args.batch} connections at a time, "
        f"each batch closed before the next. The empty reading: the same data folder before the accounts were added. "
        f"`python3 bench/app_rss.py --users {args.users} --widgets {args.widgets} --batch {args.batch}`.", "",
        "| figure | empty store | N users, at start | after the device logins | per user |", "|---|---|---|---|---|",
        f"| VmRSS KiB | {empty['VmRSS']:,} | {started['VmRSS']:,} | {after['VmRSS']:,} | {per:,.0f} B |",
        f"| RssAnon KiB | {empty['RssAnon']:,} | {started['RssAnon']:,} | {after['RssAnon']:,} | {per_anon:,.0f} B |",
        "",
        f"{ok}/{args.users} users loaded in {elapsed:.1f} s; the first user's profile, loaded by an app afterwards, "
        f"has {widgets_seen} widgets. Goal: ≤ 4 KiB (4,096 B) per user with one device and a "
        f"ten-widget dashboard: {'met' if per <= 4096 else '**missed** by %.0f B' % (per - 4096)}"
        + ("" if args.widgets == 10 else " (not the goal's case: this run had %d widgets)" % args.widgets) + ".", ""])
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", f"{now:%Y-%m-%d_%H%M}_app-rss-{args.widgets}w.md")
    with open(path, "w") as f:
        f.write(text)
    print(text)
    print(f"(written to bench/results/{os.path.basename(path)})")


if __name__ == "__main__":
    sys.exit(main())
