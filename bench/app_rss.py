#!/usr/bin/env python3
"""Issue 12's memory figure, one command: blynkd's RSS per user with one device
and a ten-widget dashboard, 10,000 users loaded (goal: at most 4 KiB each).

    python3 bench/app_rss.py [--bin build-bench/bin/blynkd] [--users 10000] [--widgets 10] [--batch 200]

The accounts (each: a password, dashboard 1, device 0 with its own token) are
written straight into the SQLite store (bench/app_provision.py). Users load on
demand, so each one is loaded the way a user's phone loads it: an app logs
in (TLS app frames on the TLS port), sends UPDATE_DASH with the ten widgets
(the dashboard as the app edits it; dashboards stored with their widgets are
not in the storage ABI yet, so this is how a dashboard gets its widgets into
memory), waits for both answers and disconnects; `--batch` sessions at a time,
so at most that many connections' buffers exist at once. VmRSS and RssAnon are
read before the first login and 2 s after the last disconnect; the difference
per user is the figure (it includes what the freed connections' memory left
in the allocator, bounded by one batch). `--widgets 0` loads the users without
touching their dashboards, to tell the widgets' share from the rest.
Writes bench/results/<date>_app-rss.md and prints it. Linux only.
"""
import argparse, datetime, json, os, re, shutil, socket, ssl, struct, subprocess, sys, tempfile, time

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


def read_statuses(s, want):
    """Reads app frames until every message id in `want` got a status; returns {id: status}."""
    got, buf = {}, b""
    while len(got) < len(want):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 7:
            cmd, msg_id, length = struct.unpack(">BHI", buf[:7])
            size = 7 if cmd == 0 else 7 + length
            if len(buf) < size:
                break
            if cmd == 0 and msg_id in want:
                got[msg_id] = length
            buf = buf[size:]
    return got


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "build-bench", "bin", "blynkd"))
    ap.add_argument("--users", type=int, default=10000)
    ap.add_argument("--widgets", type=int, default=10)
    ap.add_argument("--batch", type=int, default=200)
    args = ap.parse_args()
    blynkd = os.path.abspath(args.bin)
    n = args.users
    # Storage on tmpfs when there is one: 10,000 synchronous commits on a disk
    # would measure the disk, not the memory.
    tmp = tempfile.mkdtemp(prefix="blynkd-app-rss-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    proc = None
    try:
        cfg, _ = provision(blynkd, tmp, 1)
        users = provision_apps(os.path.join(tmp, "data", "blynk.db"), n)
        log = open(os.path.join(tmp, "blynkd.log"), "w")
        proc = subprocess.Popen([blynkd, "--config", cfg], stdout=log, stderr=subprocess.STDOUT)
        port, deadline = None, time.time() + 30
        while time.time() < deadline and port is None:
            m = re.search(r"listening hardware-tls 127\.0\.0\.1:(\d+)", open(log.name).read())
            port = int(m.group(1)) if m and "server ready" in open(log.name).read() else None
            time.sleep(0.1)
        if port is None:
            sys.exit("app_rss: blynkd did not start:\n" + open(log.name).read()[-2000:])
        time.sleep(1.0)
        before = rss(proc.pid)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # the bench server's own self-signed certificate
        dash = json.dumps({"id": 1, "name": "Bench", "isActive": True, "widgets": WIDGETS[:args.widgets]},
                          separators=(",", ":"))
        ok, t0 = 0, time.time()
        for start in range(0, n, args.batch):
            group = []
            for email, h, _ in users[start:start + args.batch]:
                s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=60),
                                    server_hostname="localhost")
                msgs = app_frame(2, 1, "\0".join([email, h, "Android", "2.27.0"]))
                if args.widgets:
                    msgs += app_frame(22, 2, dash)  # UPDATE_DASH
                s.sendall(msgs)
                group.append(s)
            want = {1, 2} if args.widgets else {1}
            for s in group:
                got = read_statuses(s, want)
                ok += all(got.get(i) == 200 for i in want)
                s.close()
        elapsed = time.time() - t0
        time.sleep(2.0)
        after = rss(proc.pid)
        per = (after["VmRSS"] - before["VmRSS"]) * 1024 / n
        per_anon = (after["RssAnon"] - before["RssAnon"]) * 1024 / n
        write_report(args, before, after, per, per_anon, ok, elapsed)
        return 0 if ok == n else 1
    finally:
        if proc:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def write_report(args, before, after, per, per_anon, ok, elapsed):
    now = datetime.datetime.now()
    rev = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    widget_bytes = sum(len(json.dumps(w, separators=(",", ":"))) for w in WIDGETS[:args.widgets])
    text = "\n".join([
        f"# blynkd memory per app user, {now:%Y-%m-%d %H:%M}", "",
        f"blynkd {rev.stdout.strip() or '?'}; {os.uname().machine}, {os.cpu_count()} CPUs, Linux {os.uname().release}. "
        f"{args.users} accounts (a password, dashboard 1, device 0) written into the SQLite store; each loaded by an "
        f"app login (TLS app frames), "
        + (f"then UPDATE_DASH with {args.widgets} widgets ({widget_bytes} bytes of widget JSON), " if args.widgets
           else "no dashboard change, ")
        + f"then a disconnect; {args.batch} sessions at a time. `python3 bench/app_rss.py --users {args.users} "
        f"--widgets {args.widgets} --batch {args.batch}`.", "",
        "| figure | before | after | per user |", "|---|---|---|---|",
        f"| VmRSS KiB | {before['VmRSS']:,} | {after['VmRSS']:,} | {per:,.0f} B |",
        f"| RssAnon KiB | {before['RssAnon']:,} | {after['RssAnon']:,} | {per_anon:,.0f} B |", "",
        f"{ok}/{args.users} users loaded in {elapsed:.1f} s. Goal: ≤ 4 KiB (4,096 B) per user with one device and a "
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
