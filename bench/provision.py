#!/usr/bin/env python3
"""Prepares a blynkd instance for the benchmarks: writes DIR/blynk.toml (free
loopback ports, quota off, idle timeout off, info log level, data and logs in
DIR) and provisions N devices of one account, one token a line in
DIR/tokens.txt (the first with the CLI, the rest inserted into the embedded
SQLite store in one transaction, as idle_rss.py does). --metrics on|off sets
[metrics] enabled (GET /metrics; left at the server's default otherwise).

    python3 bench/provision.py --bin build-bench/bin/blynkd --dir /tmp/x --devices 2000 [--metrics off]
"""
import argparse, base64, os, secrets, sqlite3, subprocess, sys


def provision(blynkd, tmp, devices, metrics=None):
    """Writes tmp/blynk.toml and provisions `devices` devices; returns (config path, tokens)."""
    blynkd = os.path.abspath(blynkd)
    plugins = os.path.join(os.path.dirname(blynkd), "plugins")
    tmp = os.path.abspath(tmp)
    os.makedirs(tmp, exist_ok=True)
    cfg = os.path.join(tmp, "blynk.toml")
    with open(cfg, "w") as f:
        f.write(f"""[server]
listen_address = "127.0.0.1"
hardware_port = 0
tls_port = 0
data_dir = "{tmp}/data"
[hardware]
idle_timeout = 0
login_timeout = 600
message_quota = 0
[logging]
folder = "{tmp}/logs"
level = "info"
[plugins]
dir = "{plugins}"
""")
        if metrics is not None:
            f.write(f"[metrics]\nenabled = {'true' if metrics else 'false'}\n")
    first = subprocess.run([blynkd, "--config", cfg, "device", "add", "--email", "bench@example.com", "--name", "d0"],
                           check=True, capture_output=True, text=True).stdout.strip()
    tokens = [first]
    db = sqlite3.connect(os.path.join(tmp, "data", "blynk.db"))
    with db:
        for i in range(1, devices):
            tok = base64.urlsafe_b64encode(secrets.token_bytes(24)).decode()
            tokens.append(tok)
            db.execute("INSERT INTO devices(email, dash_id, device_id, name, token) VALUES(?,?,?,?,?)",
                       ("bench@example.com", 1, i, f"d{i}", tok))
    db.close()
    return cfg, tokens


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--devices", type=int, required=True)
    ap.add_argument("--metrics", choices=["on", "off"], help="[metrics] enabled (default: the server's, on)")
    args = ap.parse_args()
    metrics = None if args.metrics is None else args.metrics == "on"
    _, tokens = provision(args.bin, args.dir, args.devices, metrics)
    with open(os.path.join(os.path.abspath(args.dir), "tokens.txt"), "w") as f:
        f.write("\n".join(tokens) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
