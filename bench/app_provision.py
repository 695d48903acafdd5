#!/usr/bin/env python3
"""App-side provisioning for the app benchmarks (bench/app_traffic.py,
bench/app_rss.py): N accounts, each with one active dashboard (id 1, with the
widgets given, as the `json` column keeps them: core::dashboard_blob's form)
and one device (id 0) with its own token, written straight into the embedded
SQLite store in the schema plugins/storage-sqlite creates (schema 2; making
them through the CLI or the operator API one by one is far slower). Passwords are the legacy
client hash of "bench" kept as the server keeps them (PBKDF2-SHA256 with the
iteration count in the stored hash, here a low one: the stored hash carries
its count, so logins stay cheap for the benchmark without touching the
server's setting for new hashes).

    from app_provision import provision_apps
    users = provision_apps(db_path, 1000)   # [(email, client_hash, token)]
"""
import base64
import hashlib
import json
import os
import secrets
import sqlite3

PASSWORD = "bench"
ITERATIONS = 1000


def client_hash(email, password=PASSWORD):
    """The legacy app's hash: Base64(SHA-256(password || SHA-256(lower(email))))."""
    inner = hashlib.sha256(email.lower().encode()).digest()
    return base64.b64encode(hashlib.sha256(password.encode() + inner).digest()).decode()


def stored_hash(secret):
    """core::slow_hash's format: pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>."""
    salt = secrets.token_bytes(16)
    out = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, ITERATIONS, 32)
    return "pbkdf2-sha256$%d$%s$%s" % (ITERATIONS, base64.b64encode(salt).decode(), base64.b64encode(out).decode())


def dashboard_blob(widgets):
    """What storage keeps of a dashboard beyond its record (core::dashboard_blob)."""
    return json.dumps({"isShared": False, "isAppConnectedOn": False, "isNotificationsOff": False,
                       "widgets": widgets, "tags": []}, separators=(",", ":"))


def provision_apps(db_path, n, prefix="app", widgets=()):
    """Adds n accounts <prefix><i>@bench.example with a dashboard (holding `widgets`) and a device;
    returns [(email, client hash, token)]."""
    users = []
    blob = dashboard_blob(list(widgets)) if widgets else ""
    db = sqlite3.connect(db_path)
    with db:
        for i in range(n):
            email = f"{prefix}{i}@bench.example"
            h = client_hash(email)
            token = base64.urlsafe_b64encode(secrets.token_bytes(24)).decode()
            db.execute("INSERT INTO users(email, name, pass_hash, created_at_ms) VALUES(?,?,?,?)",
                       (email, f"{prefix}{i}", stored_hash(h).encode(), 1700000000000))
            db.execute("INSERT INTO dashboards(email, dash_id, name, is_active, created_at_ms, json) "
                       "VALUES(?,?,?,?,?,?)", (email, 1, "Bench", 1, 1700000000000, blob))
            db.execute("INSERT INTO devices(email, dash_id, device_id, name, token, board_type) VALUES(?,?,?,?,?,?)",
                       (email, 1, 0, "Board", token, "ESP32"))
            users.append((email, h, token))
    db.close()
    return users


def write_users(path, users):
    with open(path, "w") as f:
        for email, h, token in users:
            f.write(f"{email} {h} {token}\n")


if __name__ == "__main__":
    import sys
    if len(sys.argv) != 4:
        sys.exit("usage: app_provision.py DB N USERS_FILE")
    write_users(sys.argv[3], provision_apps(sys.argv[1], int(sys.argv[2])))
    print(f"{sys.argv[2]} accounts in {os.path.abspath(sys.argv[1])}")
