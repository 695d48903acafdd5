#!/usr/bin/env python3
"""The time `blynkd import-legacy` takes for a generated legacy data folder
(issue 12's figure): N users, each with one device and a ten-widget dashboard,
imported with the server stopped (storage-sqlite in a temporary data folder).

    python3 bench/import_legacy.py [--bin build/bin/blynkd] [--users 10000] [--iterations 600000]

--iterations is [security] password_hash_iterations: the import is mostly the
PBKDF2 hash of every account's password (one per core), so the figure scales
with it; the server default is 600000, the floor 100000. Prints the wall time,
the users per second and the summary blynkd printed; exits non-zero unless
every user was imported. Then imports again and prints that time too (every
account "unchanged": the fingerprint and one hash check each).
"""
import argparse, json, os, shutil, subprocess, sys, tempfile, time, base64, hashlib

WIDGETS = [("BUTTON", "DIGITAL", 5), ("SLIDER", "VIRTUAL", 1), ("GAUGE", "VIRTUAL", 2),
           ("LABELED_VALUE_DISPLAY", "VIRTUAL", 3), ("LED", "VIRTUAL", 4), ("SWITCH", "VIRTUAL", 6),
           ("STEP", "VIRTUAL", 7), ("LEVEL_DISPLAY", "VIRTUAL", 8), ("TERMINAL", "VIRTUAL", 9)]


def client_hash(email, password):
    inner = hashlib.sha256(email.lower().encode()).digest()
    return base64.b64encode(hashlib.sha256(password.encode() + inner).digest()).decode()


def legacy_user(i):
    email = f"user{i}@bench.example"
    widgets = [{"type": t, "id": k + 1, "x": 0, "y": k, "width": 4, "height": 1, "deviceId": 0, "pinType": pt,
                "pin": pin, "value": str(k), "label": f"w{k}"} for k, (t, pt, pin) in enumerate(WIDGETS)]
    widgets.append({"type": "RGB", "id": 10, "deviceId": 0, "pins": [
        {"pin": 20, "pinType": "VIRTUAL"}, {"pin": 21, "pinType": "VIRTUAL"}, {"pin": 22, "pinType": "VIRTUAL"}]})
    dash = {"id": 1, "name": "Bench", "createdAt": 1500000000000, "isActive": True, "theme": "Blynk",
            "widgets": widgets,
            "devices": [{"id": 0, "name": "board", "boardType": "ESP8266", "token": f"{i:032d}",
                         "vendor": "Espressif", "connectionType": "WI_FI"}]}
    return email, {"email": email, "name": f"user{i}", "appName": "Blynk", "region": "local",
                   "pass": client_hash(email, f"pass{i}"), "energy": 2000, "isSuperAdmin": False,
                   "profile": {"dashBoards": [dash], "pinsStorage": {"1-0-v30": "x"}}}


def run_import(blynkd, cfg, folder):
    t = time.monotonic()
    r = subprocess.run([blynkd, "--config", cfg, "import-legacy", folder], capture_output=True, text=True)
    return time.monotonic() - t, r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "build", "bin", "blynkd"))
    ap.add_argument("--users", type=int, default=10000)
    ap.add_argument("--iterations", type=int, default=600000)
    args = ap.parse_args()
    blynkd = os.path.abspath(args.bin)
    plugin_dir = os.path.join(os.path.dirname(blynkd), "plugins")
    tmp = tempfile.mkdtemp(prefix="blynkd-import-bench-")
    try:
        legacy = os.path.join(tmp, "legacy")
        os.makedirs(legacy)
        for i in range(args.users):
            email, user = legacy_user(i)
            with open(os.path.join(legacy, f"{email}.Blynk.user"), "w") as f:
                json.dump(user, f)
        cfg = os.path.join(tmp, "blynk.toml")
        with open(cfg, "w") as f:
            f.write(f'[server]\ndata_dir = "{tmp}/data"\n[plugins]\ndir = "{plugin_dir}"\n'
                    f'enabled = ["storage-sqlite"]\n[security]\npassword_hash_iterations = {args.iterations}\n')
        cores = os.cpu_count()
        print(f"import-legacy: {args.users} users (1 device, 10 widgets each), "
              f"password_hash_iterations = {args.iterations}, {cores} cores", flush=True)
        seconds, r = run_import(blynkd, cfg, legacy)
        print(r.stdout, end="")
        if r.returncode != 0 or f"users: {args.users} imported" not in r.stdout:
            print(r.stderr, file=sys.stderr)
            sys.exit("not every user was imported")
        print(f"RESULT import_seconds={seconds:.1f} users_per_second={args.users / seconds:.1f}", flush=True)
        seconds2, r2 = run_import(blynkd, cfg, legacy)
        ok2 = f"{args.users} unchanged" in r2.stdout
        print(f"RESULT reimport_seconds={seconds2:.1f} all_unchanged={ok2}")
        if not ok2:
            print(r2.stdout + r2.stderr, file=sys.stderr)
            sys.exit("the second import changed something")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
