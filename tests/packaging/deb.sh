#!/usr/bin/env bash
# The Debian package end to end: builds it with scripts/package.sh (`cpack -G DEB`) in the build tree and checks
# its contents (dpkg-deb -I/-c). As root (CI) it then installs it with dpkg -i, starts it as
# the systemd unit would (systemctl when systemd is PID 1; else the unit's ExecStart as user
# blynkd with the unit's capabilities, via setpriv), checks paths, owners and modes, has the
# server answer HTTP with a token made through the installed CLI, upgrades to a newer
# version (data and the edited conffile kept), removes (data kept) and purges (all gone).
#
#   tests/packaging/deb.sh BUILD_DIR
#
# BLYNK_TEST_NO_INSTALL=1 stops after the contents, for a root shell on a machine of your own.
# Never touches a blynkd it did not install: if the package, the user or its folders exist
# already, it refuses and exits 77 (ctest: skipped). Whatever fails, the trap stops the
# server it started and purges the package it installed.
set -euo pipefail
build=$(cd "${1:?usage: deb.sh BUILD_DIR}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/blynkd-deb-test-XXXXXX)
installed=0
server_pid=""
unit=/lib/systemd/system/blynkd.service

say() { echo "deb.sh: $*"; }
fail() {
  echo "deb.sh: FAIL: $*" >&2
  exit 1
}
cleanup() {
  local rc=$?
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  if ((installed)); then
    if [[ -d /run/systemd/system ]]; then systemctl stop blynkd.service 2>/dev/null || true; fi
    dpkg_do -P blynkd >/dev/null 2>&1 || say "cleanup: dpkg -P blynkd failed"
  fi
  if ((rc != 0)) && [[ -f "$work/server.log" ]]; then
    echo "--- server log ---" >&2
    cat "$work/server.log" >&2
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

# dpkg, retried while another dpkg holds its lock (bounded: 60 tries, 1 s apart).
dpkg_do() {
  local tries=0 out
  while :; do
    if out=$(dpkg "$@" 2>&1); then
      printf '%s\n' "$out"
      return 0
    fi
    if [[ "$out" == *"lock"* ]] && ((++tries < 60)); then
      sleep 1
      continue
    fi
    printf '%s\n' "$out" >&2
    return 1
  done
}

mode_owner() { stat -c '%a %U:%G' "$1"; }
expect_mode_owner() {
  local got
  got=$(mode_owner "$1") || fail "$1 does not exist"
  [[ "$got" == "$2" ]] || fail "$1 is '$got', expected '$2'"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# --- build the package, as scripts/package.sh (and the container image) does --------------
say "scripts/package.sh $build (cpack -G DEB)"
deb=$("$src/scripts/package.sh" "$build" "$work/out" 2>"$work/cpack.log") || {
  cat "$work/cpack.log" >&2
  fail "scripts/package.sh failed"
}
say "built $(basename "$deb")"

# --- what is in it ---------------------------------------------------------------------
info=$(dpkg-deb -I "$deb")
for field in "Package: blynkd" "Depends: adduser" "libsqlite3" "Section: net"; do
  grep -q "$field" <<<"$info" || fail "control lacks '$field'"
done
[[ "$(dpkg-deb -I "$deb" conffiles)" == "/etc/blynkd/blynk.toml" ]] || fail "conffiles is not /etc/blynkd/blynk.toml"
for script in postinst prerm postrm; do
  dpkg-deb -I "$deb" "$script" | head -1 | grep -q '^#!/bin/sh' || fail "no $script"
done
listing=$(dpkg-deb -c "$deb")
expect_entry() { # mode, path
  grep -qE "^$1 root/root +[0-9]+ [0-9-]+ [0-9:]+ \./${2}\$" <<<"$listing" || fail "package lacks $1 ./$2"
}
expect_entry -rwxr-xr-x usr/bin/blynkd
expect_entry -rw-r--r-- usr/lib/blynkd/plugins/storage-sqlite.so
expect_entry -rw-r--r-- usr/lib/blynkd/plugins/http-api.so
expect_entry -rw-r--r-- usr/include/blynk/plugin.h
expect_entry -rw-r--r-- usr/include/blynk/plugin_storage.h
expect_entry -rw-r--r-- usr/include/blynk/plugin.hpp
expect_entry -rw-r--r-- usr/lib/cmake/BlynkSDK/BlynkSDKConfig.cmake
expect_entry -rw-r----- etc/blynkd/blynk.toml
expect_entry -rw-r--r-- lib/systemd/system/blynkd.service
expect_entry -rw-r--r-- usr/share/man/man1/blynkd.1.gz
# blynkd refuses plugins that group or others may write: nothing in the package is.
if grep -E '^.....w|^........w' <<<"$listing" >/dev/null; then
  fail "group- or other-writable entries: $(grep -E '^.....w|^........w' <<<"$listing")"
fi
grep -q 'usr/etc' <<<"$listing" && fail "the package holds usr/etc (the plain install's config)"
dpkg-deb -x "$deb" "$work/root"
grep -q '^data_dir = "/var/lib/blynkd"$' "$work/root/etc/blynkd/blynk.toml" || fail "packaged config: data_dir"
zcat "$work/root/usr/share/man/man1/blynkd.1.gz" | grep -q 'migrate\\-config' || fail "man page lacks migrate-config"
for setting in NoNewPrivileges=yes PrivateTmp=yes ProtectSystem=strict ProtectHome=yes \
  "ReadWritePaths=/var/lib/blynkd /var/log/blynkd" AmbientCapabilities=CAP_NET_BIND_SERVICE \
  CapabilityBoundingSet=CAP_NET_BIND_SERVICE User=blynkd Restart=on-failure; do
  grep -qx "$setting" "$work/root$unit" || fail "the unit lacks $setting"
done
say "contents OK"

# --- install, only as root and only on a machine without blynkd -------------------------
if ((EUID != 0)); then
  say "SKIPPED the install, start, upgrade, remove and purge: not root (the package's contents were checked)"
  exit 0
fi
if [[ -n "${BLYNK_TEST_NO_INSTALL:-}" ]]; then
  say "SKIPPED the install, start, upgrade, remove and purge: BLYNK_TEST_NO_INSTALL is set (the contents were checked)"
  exit 0
fi
if dpkg-query -W -f='${Status}' blynkd >/dev/null 2>&1 || getent passwd blynkd >/dev/null ||
  getent group blynkd >/dev/null || [[ -e /var/lib/blynkd || -e /etc/blynkd || -e /var/log/blynkd ]]; then
  say "SKIPPED: blynkd (the package, its user or its folders) is already on this machine; not touching it"
  exit 77
fi

installed=1
dpkg_do -i "$deb" >"$work/dpkg-install.log" || fail "dpkg -i failed: $(cat "$work/dpkg-install.log")"
say "installed"
[[ -x /usr/bin/blynkd ]] || fail "no /usr/bin/blynkd"
getent passwd blynkd | awk -F: '{ exit !($3 < 1000 && $7 == "/usr/sbin/nologin" && $6 == "/var/lib/blynkd") }' ||
  fail "blynkd is not a system user without a shell: $(getent passwd blynkd)"
expect_mode_owner /var/lib/blynkd "700 blynkd:blynkd"
expect_mode_owner /var/log/blynkd "2750 blynkd:adm"
expect_mode_owner /etc/blynkd/blynk.toml "640 root:blynkd"
expect_mode_owner /usr/lib/blynkd/plugins "755 root:root"
man -w blynkd >/dev/null 2>&1 || ! command -v man >/dev/null || fail "man blynkd finds no page"

if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "$unit" || fail "systemd-analyze verify $unit"
  exposure=$(systemd-analyze security --offline=true "$unit" 2>/dev/null | sed -n 's/.*Overall exposure level for blynkd.service: \([0-9.]*\).*/\1/p')
  say "systemd-analyze verify passed; exposure level ${exposure:-unknown}"
  if [[ -n "$exposure" ]]; then
    awk -v e="$exposure" 'BEGIN { exit !(e < 3.0) }' || fail "exposure level $exposure (3.0 or more)"
  fi
else
  say "systemd-analyze is not installed: the unit was not verified"
fi

# Free ports on loopback (this machine's 8080 and 9443 may be taken): an edit of the
# conffile, which the upgrade below must keep.
hw_port=$(free_port)
tls_port=$(free_port)
sed -i -e "s/^hardware_port = 8080$/hardware_port = $hw_port/" -e "s/^tls_port = 9443$/tls_port = $tls_port/" \
  -e 's/^listen_address = ""$/listen_address = "127.0.0.1"/' /etc/blynkd/blynk.toml
grep -q "^hardware_port = $hw_port$" /etc/blynkd/blynk.toml || fail "could not set the ports"

start_server() {
  if [[ -d /run/systemd/system ]]; then
    systemctl restart blynkd.service
  else
    # As the unit: its user, folder, umask, command line and capabilities.
    local exec_start workdir user
    exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
    workdir=$(sed -n 's/^WorkingDirectory=//p' "$unit")
    user=$(sed -n 's/^User=//p' "$unit")
    # shellcheck disable=SC2086  # ExecStart is a command line
    (cd "$workdir" && umask 077 && exec env -i PATH=/usr/bin:/bin setpriv --reuid="$user" --regid="$user" \
      --init-groups --no-new-privs --inh-caps=-all,+net_bind_service --ambient-caps=-all,+net_bind_service \
      --bounding-set=-all,+net_bind_service -- $exec_start) >>"$work/server.log" 2>&1 &
    server_pid=$!
  fi
  # Ready when it answers (bounded: 30 s).
  local deadline=$((SECONDS + 30))
  until /usr/bin/blynkd health --port "$hw_port" --timeout 1 >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "the server did not answer on port $hw_port within 30 s"
    [[ -z "$server_pid" ]] || kill -0 "$server_pid" 2>/dev/null || fail "the server exited"
    sleep 0.2
  done
}
stop_server() {
  if [[ -d /run/systemd/system ]]; then
    systemctl stop blynkd.service
  else
    kill -TERM "$server_pid"
    local deadline=$((SECONDS + 15))
    while kill -0 "$server_pid" 2>/dev/null; do
      ((SECONDS < deadline)) || fail "the server did not stop within 15 s of SIGTERM"
      sleep 0.1
    done
    wait "$server_pid" || fail "the server exited with $? after SIGTERM"
    server_pid=""
  fi
}
# From /, so no config/blynk.toml of a working folder shadows the installed one.
as_blynkd() { (cd / && runuser -u blynkd -- /usr/bin/blynkd "$@"); }

start_server
pid=${server_pid:-$(systemctl show -p MainPID --value blynkd.service)}
[[ "$(stat -c %U "/proc/$pid")" == blynkd ]] || fail "the server does not run as blynkd"
grep -q '^CapAmb:.*0000000000000400$' "/proc/$pid/status" || fail "the server lacks exactly CAP_NET_BIND_SERVICE"
say "server runs as blynkd with CAP_NET_BIND_SERVICE only"

# A device through the installed CLI (no --config: it finds /etc/blynkd/blynk.toml), as blynkd.
token=$(as_blynkd device add --email pkg@example.com --name pkg-test 2>"$work/cli.log") ||
  fail "device add: $(cat "$work/cli.log")"
[[ ${#token} == 32 ]] || fail "device add printed '$token'"
curl -fsS --max-time 5 "http://127.0.0.1:$hw_port/$token/update/V1?value=42" >/dev/null || fail "HTTP update"
[[ "$(curl -fsS --max-time 5 "http://127.0.0.1:$hw_port/$token/get/V1")" == '["42"]' ]] || fail "HTTP get"
say "the server answers: a device made with the installed CLI wrote and read V1 over HTTP"

for f in blynk.db operator.token tls/key.pem initial-admin-password.txt; do
  expect_mode_owner "/var/lib/blynkd/$f" "600 blynkd:blynkd"
done
expect_mode_owner /var/lib/blynkd "700 blynkd:blynkd"
stop_server

# --- upgrade: the same package as a newer version -------------------------------------------
version=$(dpkg-query -W -f='${Version}' blynkd)
dpkg-deb -R "$deb" "$work/next"
sed -i "s/^Version: .*/Version: ${version}+upgrade1/" "$work/next/DEBIAN/control"
dpkg-deb --root-owner-group -Zgzip -z1 -b "$work/next" "$work/next.deb" >/dev/null
dpkg_do -i --force-confdef --force-confold "$work/next.deb" >"$work/dpkg-upgrade.log" ||
  fail "upgrade failed: $(cat "$work/dpkg-upgrade.log")"
[[ "$(dpkg-query -W -f='${Version}' blynkd)" == "${version}+upgrade1" ]] || fail "the upgrade did not happen"
grep -q "^hardware_port = $hw_port$" /etc/blynkd/blynk.toml || fail "the upgrade replaced the edited conffile"
start_server
as_blynkd device list | grep -q "$token" || fail "the device is gone after the upgrade"
[[ "$(curl -fsS --max-time 5 "http://127.0.0.1:$hw_port/$token/get/V1")" == '["42"]' ]] ||
  fail "V1 lost its value in the upgrade"
stop_server
say "upgrade to ${version}+upgrade1 kept the data and the edited configuration"

# --- remove keeps the data and the configuration; purge deletes them and the user -----------
dpkg_do -r blynkd >/dev/null || fail "dpkg -r failed"
[[ ! -e /usr/bin/blynkd ]] || fail "dpkg -r left /usr/bin/blynkd"
[[ -f /var/lib/blynkd/blynk.db && -f /etc/blynkd/blynk.toml ]] || fail "dpkg -r deleted the data or the config"
getent passwd blynkd >/dev/null || fail "dpkg -r deleted the user"
say "remove kept /var/lib/blynkd, /etc/blynkd and the user"
dpkg_do -P blynkd >/dev/null || fail "dpkg -P failed"
installed=0
for p in /var/lib/blynkd /etc/blynkd /var/log/blynkd; do
  [[ ! -e "$p" ]] || fail "dpkg -P left $p"
done
! getent passwd blynkd >/dev/null || fail "dpkg -P left the user"
! getent group blynkd >/dev/null || fail "dpkg -P left the group"
! dpkg-query -W -f='${Status}' blynkd >/dev/null 2>&1 || fail "dpkg -P left the package known to dpkg"
say "purge removed the data, the configuration, the logs and the user; all passed"
