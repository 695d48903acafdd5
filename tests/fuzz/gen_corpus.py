#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/.

The seeds are committed; run this again only after changing it (it rewrites
the files it knows and leaves others alone). Frames follow docs/protocol.md;
the hardware examples are the worked examples of the protocol reference (§13).
"""
import base64
import hashlib
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")

# Command codes (kernel/codec/protocol.hpp).
RESPONSE, LOGIN, PING, TWEET, EMAIL, PUSH, BRIDGE, SYNC, INTERNAL, SMS, PROPERTY, HARDWARE, HW_LOGIN = (
    0, 2, 6, 12, 13, 14, 15, 16, 17, 18, 19, 20, 29)

TOKEN_A, TOKEN_B, TOKEN_C, TOKEN_D, TOKEN_E = (c * 32 for c in "ABCDE")
DOC_TOKEN = "0123456789abcdef0123456789abcdef"


def b(s):
    return s.encode() if isinstance(s, str) else bytes(s)


def hw(cmd, msg_id, body=b""):
    body = b(body)
    return struct.pack(">BHH", cmd, msg_id, len(body)) + body


def hw_status(msg_id, status):
    return struct.pack(">BHH", 0, msg_id, status)


def app(cmd, msg_id, body=b""):
    body = b(body)
    return struct.pack(">BHI", cmd, msg_id, len(body)) + body


def fields(*parts):
    return b"\0".join(b(p) for p in parts)


def ws(payload, opcode=2, fin=True, mask=b"\x11\x22\x33\x44", form=None):
    payload = b(payload)
    out = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    m = 0x80 if mask else 0
    if form is None:
        form = 0 if n < 126 else 1 if n <= 0xFFFF else 2
    if form == 0:
        out += bytes([m | n])
    elif form == 1:
        out += bytes([m | 126]) + struct.pack(">H", n)
    else:
        out += bytes([m | 127]) + struct.pack(">Q", n)
    if mask:
        out += mask + bytes(c ^ mask[i & 3] for i, c in enumerate(payload))
    else:
        out += payload
    return out


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(b(data))


LOGIN_A = hw(HW_LOGIN, 1, TOKEN_A)
INFO = fields("ver", "0.6.1", "h-beat", "10", "buff-in", "1024", "dev", "ESP8266", "build", "Jan 1 2024")
SESSION = (LOGIN_A + hw(HARDWARE, 2, fields("vw", "5", "42")) + hw(INTERNAL, 3, INFO) +
           hw(HARDWARE, 4, fields("dw", "13", "1")) + hw(SYNC, 5, fields("vr", "5", "6")) + hw(PING, 6) +
           hw(INTERNAL, 7, "rtc") + hw(SYNC, 8) + hw_status(9, 200))

# --- fuzz_hardware_frame: raw hardware / app byte streams -------------------
T = "fuzz_hardware_frame"
write(T, "login_doc", hw(HW_LOGIN, 1, DOC_TOKEN))
write(T, "login_ok_reply", hw_status(1, 200))
write(T, "login_invalid_reply", hw_status(1, 9))
write(T, "virtual_write_v5", hw(HARDWARE, 2, fields("vw", "5", "42")))
write(T, "app_receives_write", app(HARDWARE, 2, fields("1-0", "vw", "5", "42")))
write(T, "app_writes_v1", app(HARDWARE, 9, fields("1-0", "vw", "1", "1")) + hw(HARDWARE, 9, fields("vw", "1", "1")))
write(T, "app_device_offline", app(71, 0, "1-0"))
write(T, "session", SESSION)
write(T, "multi_value", hw(HARDWARE, 10, fields("vw", "255", "a", "b", "", "c")))
write(T, "oversize_header", bytes([HARDWARE, 0, 1, 0xFF, 0xFF]) + b"vw\0")
write(T, "truncated", hw(HARDWARE, 2, fields("vw", "5", "42"))[:-2])

# --- fuzz_websocket: client frames carrying hardware frames ---------------
T = "fuzz_websocket"
write(T, "binary_login", ws(LOGIN_A))
write(T, "session_split", ws(SESSION[:13], fin=False) + ws(SESSION[13:40], opcode=0, fin=False) +
      ws(SESSION[40:], opcode=0))
write(T, "text_ping_pong_close", ws("hello", opcode=1) + ws("p", opcode=9) + ws("", opcode=10) +
      ws(struct.pack(">H", 1000) + b"bye", opcode=8))
write(T, "len126", ws(b"x" * 300))
write(T, "len127_form", ws(hw(HARDWARE, 2, fields("vw", "1", "7")), form=2))
write(T, "unmasked_server", ws(hw_status(1, 200), mask=b""))
write(T, "reserved_bits", bytes([0xC2, 0x80]) + b"\0\0\0\0")

# --- fuzz_router_session: [settings s0, s1] then operations -----------------
# s0: bits 0-1 quota {off,2,5,100}; bit 2 token loads from storage; bit 3 raw
#     message ids (0 allowed); bits 4-5 default buff-in {255,32,1024,65535};
#     bits 6-7 max bridges {100,0,1,2}.  s1: bits 0-1 max body {16384,32,255,65535};
#     bit 2 idle timeout off.
# op: low 3 bits kind, bits 3-4 connection slot. 0-2 data (chunk), 3 close,
#     4 clock (+1 byte), 5 finish token loads, 6 API (+1 byte: device, bit 7
#     property; a write then takes type and pin bytes and a value chunk), 7 storage (+1 byte: 0 flush, 1 evict, 2 retoken, 3 remove user;
#     device in bits 2..).
T = "fuzz_router_session"


def chunk(data):
    data = b(data)
    return bytes([len(data)]) + data if len(data) < 255 else b"\xff" + struct.pack(">H", len(data)) + data


def data(slot, frames):
    return bytes([slot << 3]) + chunk(frames)


def close(slot):
    return bytes([(slot << 3) | 3])


def clock(t):
    return bytes([4, t])


def api_write(dev, pin_type, pin, value):
    return bytes([6, dev & 0x7F, ord(pin_type), pin]) + chunk(value)


def api_property(dev, pin, prop, value):
    return bytes([6, 0x80 | dev, pin]) + chunk(prop) + chunk(value)


def storage(kind, dev=0):
    return bytes([7, kind | (dev << 2)])


FLUSH = storage(0)
write(T, "session", b"\x03\x00" + data(0, SESSION) + FLUSH)
write(T, "login_split", b"\x03\x00" + data(0, LOGIN_A[:3]) + data(0, LOGIN_A[3:20]) + data(0, LOGIN_A[20:]) +
      data(0, hw(PING, 2)))
write(T, "bad_logins", b"\x03\x00" + data(0, hw(HW_LOGIN, 1, "short") + hw(HW_LOGIN, 2, "Z" * 32) +
                                         hw(HW_LOGIN, 3, TOKEN_A[:5] + "\0" + TOKEN_A[6:]) +
                                         hw(LOGIN, 4, "  " + TOKEN_B + "\n") + hw(HW_LOGIN, 5, TOKEN_B)) +
      data(1, hw(PING, 1)) + data(2, hw(HARDWARE, 1, fields("vw", "1", "1"))))
write(T, "bridge", b"\x03\x00" + data(0, LOGIN_A) + data(1, hw(HW_LOGIN, 1, TOKEN_B) + hw(INTERNAL, 2, INFO)) +
      data(2, hw(HW_LOGIN, 1, TOKEN_C)) +
      data(0, hw(BRIDGE, 2, fields("V1", "i", TOKEN_B)) + hw(BRIDGE, 3, fields("V1", "vw", "7", "on")) +
           hw(BRIDGE, 4, fields("V2", "i", TOKEN_C)) + hw(BRIDGE, 5, fields("V2", "vw", "1", "x")) +
           hw(BRIDGE, 6, fields("V9", "dw", "1", "1")) + hw(BRIDGE, 7, fields("V1", "i", TOKEN_A)) +
           hw(BRIDGE, 8, fields("V1", "aw", "3", "512"))) +
      close(1) + data(0, hw(BRIDGE, 9, fields("V1", "vw", "7", "off"))) + FLUSH)
write(T, "quota", b"\x01\x00" + data(0, LOGIN_A) + data(0, b"".join(hw(PING, i) for i in range(2, 12))) +
      clock(120) + data(0, hw(PING, 20) + hw(PING, 21) + hw(PING, 22)) + clock(205) +
      data(0, hw(HARDWARE, 30, fields("vw", "1", "1")) + hw(PING, 31) + hw(PING, 32)))
write(T, "storage_tokens", b"\x07\x00" + data(0, hw(HW_LOGIN, 1, TOKEN_D) + hw(PING, 2)) +
      data(1, hw(HW_LOGIN, 1, TOKEN_E)) + data(2, hw(HW_LOGIN, 1, "Q" * 32)) + data(3, hw(HW_LOGIN, 7, TOKEN_D)) +
      b"\x05" + data(0, hw(BRIDGE, 3, fields("b", "i", TOKEN_A)) + hw(BRIDGE, 4, fields("c", "i", TOKEN_E))) +
      b"\x05" + data(0, hw(BRIDGE, 5, fields("b", "vw", "0", "1"))) + FLUSH)
write(T, "api_and_accounts", b"\x23\x00" + data(0, LOGIN_A) + data(1, hw(HW_LOGIN, 1, TOKEN_A)) +
      api_write(0, "v", 3, "hello") + api_write(1, "d", 2, "1") + api_write(0, "v", 4, "x" * 40) +
      api_write(0, "x", 5, "bad type") + api_write(0, "a", 6, "") + api_property(0, 3, "label", "Temp") +
      data(0, hw(SYNC, 2, fields("vr", "3", "4"))) + storage(2, 0) + storage(1, 1) + storage(3) + FLUSH +
      data(2, hw(HW_LOGIN, 1, TOKEN_A) + hw(HW_LOGIN, 2, TOKEN_B)) + close(0) + close(1) + FLUSH)
write(T, "properties_notifications", b"\x03\x00" + data(0, LOGIN_A + hw(PROPERTY, 2, fields("1", "color", "#FF0000")) +
                                                      hw(PROPERTY, 3, fields("300", "label", "x")) +
                                                      hw(PROPERTY, 4, fields("1", "nope", "x")) +
                                                      hw(PUSH, 5, "hello") + hw(TWEET, 6, "t" * 150) +
                                                      hw(EMAIL, 7, fields("a@b.c", "s", "b")) + hw(SMS, 8, " ") +
                                                      hw(HW_LOGIN, 9, TOKEN_A) + hw(99, 10, "x") + hw(120, 11)))
write(T, "raw_ids_small_limits", b"\x58\x05" + data(0, hw(HW_LOGIN, 0, TOKEN_A)) + data(1, hw(HW_LOGIN, 1, TOKEN_B)) +
      data(0, hw(BRIDGE, 0, fields("p", "i", TOKEN_B)) + hw(BRIDGE, 0, fields("p", "vw", "1", "22"))) +
      data(0, hw(HARDWARE, 3, fields("vw", "1", "x" * 40))))

# A device that sends message id 0 (no library does) makes the bridge target
# receive id 0 too (reported; the harness checks ids against their cause).
write(T, "bridge_msg_id_0", b"\x08\x00" + data(0, LOGIN_A) + data(1, hw(HW_LOGIN, 1, TOKEN_B)) +
      data(0, hw(BRIDGE, 0, fields("p", "i", TOKEN_B)) + hw(BRIDGE, 0, fields("p", "vw", "1", "22"))) +
      data(0, hw(PING, 0)))

# A device that reported buff-in 32: an API write of a 40-byte value is stored
# and not pushed (too big), but HARDWARE_SYNC sends it anyway (reported).
write(T, "sync_over_buff_in", b"\x13\x00" + data(0, LOGIN_A + hw(INTERNAL, 2, fields("buff-in", "32"))) +
      api_write(0, "v", 4, "x" * 40) + data(0, hw(SYNC, 3, fields("vr", "4"))))

# --- fuzz_http_request: [limits, cuts, extra route chunk] then the stream ---
# limits: bits 0-1 header limit {8192,64,1024,256}; bits 2-3 body limit
# {524288,0,16,1024}; bits 4-5 the extra route's method {GET,POST,PUT,DELETE}.
# cuts: seed of the cut points; bit 7 larger pieces.
T = "fuzz_http_request"


def http(limits, cuts, stream, extra=b""):
    return bytes([limits, cuts]) + chunk(extra) + b(stream)


TOK = "4ae3851817194e2596cf1b7103603ef8"
write(T, "get_pin", http(0, 0x80, f"GET /{TOK}/get/V1 HTTP/1.1\r\nHost: blynk.local:8080\r\n\r\n"))
write(T, "update_query", http(0, 7, f"GET /{TOK}/update/V1?value=1&value=2 HTTP/1.1\r\nHost: x\r\n"
                                    "Connection: close\r\n\r\n"))
write(T, "put_json", http(0, 0x81, f"PUT /{TOK}/update/V2 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                   "Content-Length: 7\r\n\r\n[\"42\"]\n"))
write(T, "chunked_notify", http(0, 3, f"POST /{TOK}/notify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                      "Content-Type: application/json\r\n\r\n"
                                      "7\r\n{\"body\"\r\n9;ext=1\r\n:\"hello\"}\r\n0\r\nTrailer: x\r\n\r\n"))
write(T, "pipelined", http(0, 0x82, f"GET /{TOK}/isHardwareConnected HTTP/1.1\r\nHost: x\r\n\r\n"
                                    f"GET /{TOK}/rtc HTTP/1.1\r\nHost: x\r\n\r\n"
                                    "HEAD /static/index.html HTTP/1.1\r\nHost: x\r\n\r\n"))
write(T, "websocket_upgrade", http(0, 0x80, "GET /websockets HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                                            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                            "Sec-WebSocket-Version: 13\r\n\r\n"))
write(T, "traversal", http(0, 5, "GET /static/../secret.txt HTTP/1.1\r\n\r\n"
                                 "GET /static/%2e%2e/%2E%2E/etc/passwd HTTP/1.1\r\n\r\n"
                                 "GET /%2e%2e/get/V1 HTTP/1.1\r\n\r\n"))
write(T, "operator_api", http(0x20, 0x80, "GET /api/v1/devices?email=me%40example.com HTTP/1.1\r\n"
                                          "Authorization: Bearer abc\r\n\r\n"
                                          "DELETE /api/v1/users/me%40example.com HTTP/1.1\r\n\r\n"
                                          "POST /api/v1/devices/" + TOK + "/token HTTP/1.1\r\nContent-Length: 0\r\n\r\n"))
write(T, "extra_route", http(0x10, 0x80, "POST /a%2Fb/x/c+d HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi", b"/{a}/x/{b}"))
write(T, "bad_extra_route", http(0, 0x80, "GET /x HTTP/1.1\r\n\r\n", b"/{a}b/x"))
write(T, "header_too_large", http(1, 0x80, "GET / HTTP/1.1\r\nX-Long: " + "a" * 100 + "\r\n\r\n"))
write(T, "body_too_large", http(8, 0x80, "POST /x/notify HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + "b" * 100))
write(T, "http10_and_garbage", http(0, 0x80, "GET /x/qr HTTP/1.0\r\n\r\nNOT HTTP\r\n\r\n"))

# --- fuzz_static_path: [root and limit selector] then the path ------------
T = "fuzz_static_path"
for i, p in enumerate(["index.html", "sub/app.js", "link-ok", "../secret.txt", "%2e%2e/secret.txt",
                       "%2E%2E%2Fsecret.txt", "link-secret", "link-up/secret.txt", "link-up/rootx/secret.txt",
                       "sub/link-abs/secret.txt", "..%2frootx%2fsecret.txt", "sub%5c..%5c..%5csecret.txt",
                       "C:/secret.txt", "index.html%00.png", "./index.html", "sub//app.js", "/favicon.ico",
                       "/static/index.html", "/static//etc/passwd", "%2fetc%2fpasswd", "sub/app.js%2f",
                       "sub/..", "index.html/", "%"]):
    write(T, f"path{i:02d}", bytes([i % 8]) + b(p))

# --- fuzz_config: TOML files ------------------------------------------------
T = "fuzz_config"
with open(os.path.join(HERE, "..", "..", "config", "blynk.toml"), "rb") as f:
    write(T, "blynk_toml", f.read())
write(T, "small", '[server]\nhardware_port = 0\ntls_port = 0\ndata_dir = "/tmp/d"\n'
                  '[hardware]\nmax_body = 1024\nmessage_quota = 0\n[admin]\nallowed_ips = []\n')
write(T, "plugins", '[plugins]\nenabled = ["storage-sqlite", "/opt/x.so"]\n'
                    '[plugins.storage-sqlite]\npath = ""\n[plugins.extra]\nf = 1.5\nb = true\n'
                    'd = 2024-01-02\nt = 07:32:00\ndt = 1979-05-27T07:32:00Z\narr = [1, "two", [3]]\n'
                    'sub = { x = 1, y = { z = "deep" } }\n')
write(T, "errors", '[server]\nhardware_port = 70000\n')
write(T, "unknown", '[nope]\nx = 1\n')
write(T, "tls_half", '[tls]\ncert = "a.pem"\nmin_version = "1.3"\n')
write(T, "bad_syntax", '[server\nhardware_port = = 1\n"unterminated\n')
write(T, "empty", "")

# --- fuzz_tls_records: [suite|limit] [4 x u16 piece sizes] then ops ---------
# (the record bytes are sealed by the harness's peer, so the seeds hold no
# ciphertext: op 0 raw bytes, 1 type pad chunk, 2 data chunk, 3 u16 xor,
# 4 our data chunk, 5 KeyUpdate request bit; see fuzz_tls_records.cpp)
T = "fuzz_tls_records"


def chunk(data):
    data = b(data)
    if len(data) < 255:
        return bytes([len(data)]) + data
    return b"\xff" + struct.pack(">H", len(data)) + data


def tls(first, pieces, *ops):
    return bytes([first]) + struct.pack(">4H", *pieces) + b"".join(ops)


def raw(data):
    return b"\x00" + chunk(data)


def record(type_, pad, data):
    return bytes([1, type_, pad]) + chunk(data)


def up(data):
    return b"\x02" + chunk(data)


def flip(at, x):
    return b"\x03" + struct.pack(">HB", at, x)


def down(data):
    return b"\x04" + chunk(data)


def key_update(requested):
    return bytes([5, requested])


for suite in range(3):
    write(T, f"data_suite{suite}", tls(suite, (0, 0, 0, 0), up("hello"), down("world"), up(""), up("x" * 300)))
write(T, "split_pieces", tls(0, (1, 7, 300, 0), up("a" * 100), up("b" * 5000), up("c")))
write(T, "big_records", tls(1, (4096, 0, 0, 0), up("d" * 16385), record(23, 239, "e" * 16384)))
write(T, "padding", tls(2, (0, 0, 0, 0), record(23, 200, "padded"), record(23, 0, "")))
write(T, "key_update_requested", tls(0, (3, 0, 0, 0), up("before"), key_update(1), up("after"), down("reply")))
write(T, "key_update_not_requested", tls(1, (0, 0, 0, 0), key_update(0), up("after")))
write(T, "key_update_split", tls(0, (0, 0, 0, 0), record(22, 0, b"\x18\x00"), record(22, 0, b"\x00\x01\x00")))
write(T, "key_update_bad", tls(0, (0, 0, 0, 0), record(22, 0, b"\x18\x00\x00\x01\x02")))
write(T, "our_key_updates", tls(0x80, (0, 0, 0, 0), down("1"), down("2"), down("3"), down("4"), up("x"), down("5")))
write(T, "alerts", tls(0, (0, 0, 0, 0), record(21, 0, b"\x01\x5a"), up("still"), record(21, 0, b"\x01\x00"),
                       up("ignored")))
write(T, "fatal_alert", tls(2, (0, 0, 0, 0), record(21, 0, b"\x02\x28")))
write(T, "new_session_ticket", tls(0, (0, 0, 0, 0), record(22, 0, b"\x04\x00\x00\x02\x00\x00")))
write(T, "no_content_type", tls(0, (0, 0, 0, 0), record(0, 12, "")))
write(T, "change_cipher_spec", tls(0, (0, 0, 0, 0), raw(b"\x14\x03\x03\x00\x01\x01")))
write(T, "overflow_header", tls(1, (0, 0, 0, 0), up("ok"), raw(b"\x17\x03\x03\x41\x01")))
write(T, "flipped_byte", tls(0, (0, 0, 0, 0), up("data"), flip(8, 1), down("answer")))


# TLS 1.2 (bit 6 of the first byte; the suite is still first % 3): record
# types are outer types, a ClientHello is a refused renegotiation.
def v12(suite):
    return next(f for f in range(0x40, 0x80) if f % 3 == suite)


for suite in range(3):
    write(T, f"tls12_data_suite{suite}", tls(v12(suite), (0, 0, 0, 0), up("hello"), down("world"), up(""),
                                             up("x" * 300)))
write(T, "tls12_split_pieces", tls(v12(0), (1, 7, 1000, 0), up("a" * 100), up("b" * 5000), up("c")))
write(T, "tls12_big_records", tls(v12(1), (4096, 0, 0, 0), up("d" * 16385), record(23, 0, "e" * 16384),
                                  record(23, 0, "f" * 16385)))
write(T, "tls12_alerts", tls(v12(2), (0, 0, 0, 0), record(21, 0, b"\x01\x5a"), record(21, 0, b"\x01\x64"),
                             up("still"), record(21, 0, b"\x01\x00"), up("ignored")))
write(T, "tls12_fatal_alert", tls(v12(0), (0, 0, 0, 0), record(21, 0, b"\x02\x28")))
write(T, "tls12_alert_bad", tls(v12(0), (0, 0, 0, 0), record(21, 0, b"\x03\x00"), record(21, 0, b"\x01")))
write(T, "tls12_renegotiation", tls(v12(0), (0, 0, 0, 0), up("before"), record(22, 0, b"\x01\x00\x00\x04abcd"),
                                    up("after"), down("reply")))
write(T, "tls12_renegotiation_split", tls(v12(2), (3, 0, 0, 0), record(22, 0, b"\x01\x00"),
                                          record(22, 0, b"\x00\x06ab"), record(22, 0, b"cdef\x01\x00\x00\x00"),
                                          up("after")))
write(T, "tls12_handshake_other", tls(v12(1), (0, 0, 0, 0), record(22, 0, b"\x00\x00\x00\x00")))
write(T, "tls12_key_update", tls(v12(1), (0, 0, 0, 0), key_update(1)))
write(T, "tls12_change_cipher_spec", tls(v12(0), (0, 0, 0, 0), up("ok"), raw(b"\x14\x03\x03\x00\x01\x01")))
write(T, "tls12_overflow_header", tls(v12(1), (0, 0, 0, 0), up("ok"), raw(b"\x17\x03\x03\x48\x01")))
write(T, "tls12_flipped_byte", tls(v12(0), (0, 0, 0, 0), up("data"), flip(8, 1), down("answer")))
write(T, "tls12_short_record", tls(v12(0), (0, 0, 0, 0), raw(b"\x17\x03\x03\x00\x17" + b"\x00" * 23)))

# Floods of records without application data (docs/security.md, "TLS after the
# handshake"): one KeyUpdate answers a read's requests; 32 KeyUpdates or empty
# records and 4 warning alerts in a row at most; one renegotiation refused with
# a warning, the next one fatal; the inner plaintext capped with its padding;
# empty alerts; the TLS 1.2 AES-GCM write limit (bit 7: a limit of 3 records).
write(T, "key_update_coalesced", tls(0, (0, 0, 0, 0), *[key_update(1)] * 20, up("x"), down("reply")))
write(T, "key_update_flood", tls(1, (0, 0, 0, 0), *[key_update(1)] * 40, up("late")))
write(T, "key_update_32_data_32", tls(2, (100, 0, 0, 0), *[key_update(0)] * 32, up("x"), *[key_update(1)] * 32,
                                      up("y")))
write(T, "empty_records_flood", tls(0, (0, 0, 0, 0), *[record(23, 0, "")] * 33, up("late")))
write(T, "warning_alerts_flood", tls(0, (0, 0, 0, 0), *[record(21, 0, b"\x01\x5a")] * 5, up("late")))
write(T, "inner_plaintext_padding_overflow", tls(0, (4096, 0, 0, 0), record(23, 1, "e" * 16384)))
write(T, "empty_alert", tls(0, (0, 0, 0, 0), up("x"), record(21, 0, "")))
write(T, "tls12_renegotiation_flood", tls(v12(0), (0, 0, 0, 0), record(22, 0, b"\x01\x00\x00\x00" * 900)))
write(T, "tls12_renegotiation_twice", tls(v12(1), (0, 0, 0, 0), record(22, 0, b"\x01\x00\x00\x01a"), up("between"),
                                          record(22, 0, b"\x01\x00")))
write(T, "tls12_empty_records_flood", tls(v12(2), (0, 0, 0, 0), *[record(23, 0, "")] * 33, up("late")))
write(T, "tls12_warning_alerts_flood", tls(v12(1), (0, 0, 0, 0), *[record(21, 0, b"\x01\x5a")] * 5, up("late")))
write(T, "tls12_empty_alert", tls(v12(0), (0, 0, 0, 0), record(21, 0, "")))
write(T, "tls12_aes_gcm_write_limit", tls(v12(0) | 0x80, (0, 0, 0, 0), down("1"), down("2"), down("3"), down("4"),
                                          up("x")))

# --- fuzz_legacy_user: legacy .user files ------------------------------------
# The first byte: bit 0 set = the file name gave the email (u_<email>.user).
import json as _json
T = "fuzz_legacy_user"
_dash = {"id": 1, "name": "Home", "createdAt": 1, "isActive": True, "isShared": True, "sharedToken": "s" * 32,
         "theme": "Blynk",
         "widgets": [{"type": "BUTTON", "id": 1, "deviceId": 0, "pinType": "DIGITAL", "pin": 5, "value": "1"},
                     {"type": "RGB", "id": 2, "deviceId": 0, "pins": [{"pin": 1, "pinType": "VIRTUAL"}]},
                     {"type": "SLIDER", "id": 3, "deviceId": 0, "pin": 3, "value": 7}],
         "devices": [{"id": 0, "name": "esp", "boardType": "ESP8266", "token": "t" * 32, "vendor": "x"}],
         "tags": [{"id": 100000, "name": "all", "deviceIds": [0]}],
         "pinsStorage": {"0-v7": "old", "0-v8-label": "L"}}
_user = {"email": "fuzz@example.com", "name": "Fuzz", "pass": "p" * 44, "appName": "Blynk", "energy": 5,
         "isSuperAdmin": True, "profile": {"dashBoards": [_dash],
                                           "pinsStorage": {"1-0-v9": {"type": "TERMINAL", "values": ["a", "b"]},
                                                           "1-0-v9-color": "#fff", "9-9-v9": "nodev"}}}
write(T, "full", b"\x00" + _json.dumps(_user).encode())
_old = dict(_user)
del _old["email"]
write(T, "u_form", b"\x01" + _json.dumps(_old).encode())
write(T, "empty_profile", b"\x00" + b'{"email":"a@b.c"}')
write(T, "truncated", b"\x00" + _json.dumps(_user).encode()[:120])
write(T, "two_devices_one_token", b"\x00" + _json.dumps({"email": "a@b.c", "profile": {"dashBoards": [
    {"id": 1, "devices": [{"id": 0, "token": "x"}, {"id": 1, "token": "x"}]}]}}).encode())
# --- fuzz_app_codec: setting byte (bits 0-1: app.max_body {0,3,255,262144}),
# a chunk of cut sizes, then a byte stream parsed as TLS app frames and as
# /dashws client frames, and turned into messages for the round trips.
T = "fuzz_app_codec"


def legacy_hash(email, password):
    return base64.b64encode(hashlib.sha256(password.encode() + hashlib.sha256(email.lower().encode()).digest())
                            .digest()).decode()


APP_LOGIN = app(LOGIN, 1, fields("me@example.com", legacy_hash("me@example.com", "pw"), "Android", "2.27.0"))
APP_SESSION = (APP_LOGIN + app(7, 2, "1") + app(HARDWARE, 3, fields("1-0", "vw", "1", "100")) + app(25, 4, "1") +
               app(24, 5, "") + app(PING, 6) + struct.pack(">BHI", 0, 7, 200))


def ws_app(cmd, msg_id, body=b"", **kw):
    return ws(struct.pack(">BH", cmd, msg_id) + b(body), **kw)


write(T, "tls_session", b"\x03" + chunk(b"\x01\x05\x02\x0f") + APP_SESSION)
write(T, "tls_too_large", b"\x02" + chunk(b"") + app(HARDWARE, 1, "x" * 300))
write(T, "ws_session", b"\x03" + chunk(b"\x03\x07\x1f") + ws_app(LOGIN, 1, fields("me@example.com", "h")) +
      ws_app(HARDWARE, 2, fields("1-0", "vw", "1", "1"), fin=False)[:6] + ws("p", opcode=9) +
      ws_app(25, 3, "1") + ws("text is ignored", opcode=1) + ws("", opcode=8))
write(T, "ws_fragments", b"\x03" + chunk(b"") + ws(b"\x14\x00", fin=False) + ws(b"\x09", opcode=0, fin=False) +
      ws("p", opcode=9) + ws(fields("1-0", "vw", "1", "1"), opcode=0))
write(T, "ws_short_message", b"\x03" + chunk(b"") + ws(b"\x14\x00"))
write(T, "ws_over_limit", b"\x02" + chunk(b"") + ws(b"\x14\x00\x01" + b"y" * 300))
write(T, "bodies", b"\x03" + chunk(b"") + app(HARDWARE, 1, fields("12-100001", "vw", "255", "a", "", "b")) +
      app(9, 2, fields("-1", "-0")) + app(20, 3, "2147483647-2147483648") + app(20, 4, "0001-0002"))

# --- fuzz_app_session: s0: bits 0-1 app quota {off,3,100,off}; bit 2
# registrations off; bit 7 raw message ids (0 allowed). s1: bit 0 hardware
# quota 5; bit 1 default buff-in 32.
# op: low 3 bits kind, bits 3-4 slot. 0-1 app data (chunk: TLS bytes, or one
# /dashws message `cmd id16 body` on the odd slots), 2 device data (chunk),
# 3 app closes (bit 7: the new one is /dashws), 4 device closes (bit 7: the new
# one logs in; +1 byte picks the token), 5 clock (+1 byte), 6 backend (+1
# byte: bit 0 fail, bit 1 full), 7 a well-formed command (+kind, x, y, id).
T = "fuzz_app_session"
(C_LOGIN, C_SHARE_LOGIN, C_REGISTER, C_WRITE, C_TAG_WRITE, C_SELECTOR_WRITE, C_SELECT, C_ACTIVATE, C_DEACTIVATE,
 C_SYNC, C_CREATE_DASH, C_DELETE_DASH, C_CREATE_WIDGET, C_DELETE_WIDGET, C_CREATE_DEVICE, C_DELETE_DEVICE,
 C_REFRESH_TOKEN, C_CREATE_TAG, C_GET_SHARE, C_REFRESH_SHARE, C_SHARING, C_PROFILE, C_CLONE, C_BY_CLONE,
 C_PROPERTY, C_DEVICES, C_PUSH, C_LOGOUT) = range(28)


def cmd(slot, kind, x=1, y=0, msg_id=1):
    return bytes([(slot << 3) | 7, kind, x, y, msg_id])


def app_data(slot, data):
    return bytes([slot << 3]) + chunk(data)


def dev_data(slot, data):
    return bytes([(slot << 3) | 2]) + chunk(data)


def dev_login(slot, pick):
    return bytes([(slot << 3) | 4 | 0x80, pick])


OWNER = cmd(0, C_LOGIN, 0, 0)
write(T, "owner_live", b"\x00\x00" + OWNER + dev_login(0, 0) + dev_login(1, 1) +
      dev_data(0, hw(HARDWARE, 5, fields("vw", "5", "42"))) + cmd(0, C_WRITE, 1, 0, 6) + cmd(0, C_TAG_WRITE, 1, 0, 7) +
      cmd(0, C_SELECTOR_WRITE, 1, 0, 8) + cmd(0, C_SELECT, 1, 0, 9) + cmd(0, C_SYNC, 1, 1, 10) +
      cmd(0, C_DEACTIVATE, 1, 1, 11) + dev_data(0, hw(HARDWARE, 6, fields("vw", "5", "43"))) +
      cmd(0, C_ACTIVATE, 1, 0, 12) + cmd(0, C_PROFILE, 1, 0, 13) + bytes([(0 << 3) | 3]))
write(T, "owner_changes", b"\x00\x00" + OWNER + cmd(0, C_CREATE_DASH, 3, 0) + cmd(0, C_CREATE_WIDGET, 3, 9) +
      cmd(0, C_CREATE_DEVICE, 3, 1) + cmd(0, C_CREATE_TAG, 3, 1) + cmd(0, C_PROPERTY, 1, 1) +
      cmd(0, C_REFRESH_TOKEN, 1, 0) + dev_login(2, 5) + cmd(0, C_DELETE_DEVICE, 3, 1) + cmd(0, C_DELETE_WIDGET, 3, 9) +
      cmd(0, C_CLONE, 1, 0) + cmd(0, C_BY_CLONE, 1, 1) + cmd(0, C_DELETE_DASH, 3, 0) + cmd(0, C_LOGOUT))
write(T, "shared", b"\x00\x00" + OWNER + cmd(1, C_SHARE_LOGIN, 2) + dev_login(0, 3) + dev_login(1, 0) +
      dev_data(0, hw(HARDWARE, 5, fields("vw", "1", "x"))) + dev_data(1, hw(HARDWARE, 5, fields("vw", "1", "y"))) +
      cmd(1, C_WRITE, 2, 0, 6) + cmd(1, C_PROFILE, 2, 0, 7) + cmd(1, C_CREATE_DASH, 3) + cmd(1, C_WRITE, 1) +
      cmd(0, C_SHARING, 2, 0) + cmd(0, C_GET_SHARE, 1) + cmd(2, C_SHARE_LOGIN, 1) + cmd(0, C_REFRESH_SHARE, 2) +
      cmd(0, C_REFRESH_SHARE, 1))
write(T, "accounts", b"\x00\x00" + cmd(0, C_LOGIN, 0, 1) + cmd(0, C_LOGIN, 2, 0) + cmd(1, C_REGISTER, 3) +
      cmd(2, C_REGISTER, 3) + cmd(3, C_LOGIN, 1) + bytes([6, 3]) + cmd(2, C_LOGIN, 3) + bytes([6, 0]) +
      cmd(0, C_CREATE_DEVICE, 1, 2) + bytes([6, 1]) + cmd(0, C_CREATE_DEVICE, 1, 2))
write(T, "raw_frames", b"\x00\x00" + app_data(0, APP_LOGIN[:9]) + app_data(0, APP_LOGIN[9:] + app(7, 2, "1")) +
      app_data(1, struct.pack(">BH", LOGIN, 1) + fields("me@example.com", legacy_hash("me@example.com", "pw"))) +
      app_data(1, struct.pack(">BH", HARDWARE, 2) + fields("1-0", "vw", "1", "1")) +
      app_data(2, app(21, 1, '{"id":1}')) + dev_data(0, hw(HW_LOGIN, 1, TOKEN_A) + hw(HARDWARE, 2, fields("vw", "1")))
      + app_data(3, app(200, 1, "")))
write(T, "quota_and_clock", b"\x01\x01" + OWNER + b"".join(cmd(0, C_DEVICES, 1, 0, i) for i in range(2, 12)) +
      bytes([5, 250]) + cmd(0, C_DEVICES, 1, 0, 12))
