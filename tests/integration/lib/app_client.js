// A test client for the app side of the protocol, written from the fact reference
// (../shared/reference/protocol.md §1, §2.2, §2.3, §4, §5, §8, §10, §13), not from the server's code,
// so that the server is checked by something its author did not write.
//
// Two transports, one API:
// - 'tls': the app frame inside TLS on the TLS port: `cmd u8, msgId u16, length u32, body`;
//   a RESPONSE (cmd 0) carries a u32 status in place of the length and has no body (§2.2).
//   The server tells it apart from hardware-over-TLS by the first 5 bytes (§1): an app LOGIN's
//   first 5 bytes are `02 00 01 00 00`, never the hardware `02|1D 00 01 00 20`.
// - 'ws': the app websocket `wss://host:tlsPort/dashws`; one app message per binary websocket
//   message, `cmd u8, msgId u16, body` with no length; a RESPONSE is `00, msgId u16, status u32` (§2.3).
//
//   const app = await AppClient.connect({ port: srv.tlsPort, transport: 'ws' });
//   await app.login('me@example.com', 'secret');          // asserts OK
//   const dev = await app.createDevice(1, { id: 0, name: 'esp' });   // dev.token
//   const f = await app.next((x) => x.cmd === AppCmd.HARDWARE);      // a push, bounded wait
//   await app.expectNothing(300);
//
// Every received frame is queued in arrival order; request() takes the reply that echoes its msgId,
// next() takes the first frame matching a predicate, so pushes and replies never get mixed up.
// Every wait is bounded. For framing tests there are raw writes: writeRaw() (bytes as they are),
// writeSplit() (one write per byte, or at given offsets) and coalesce() (several frames in one write),
// and on 'ws' sendFragmented() (one app message as several websocket continuation frames).

import tls from 'node:tls';
import { createHash, randomBytes } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import WebSocket from 'ws';

/** App and hardware command codes: every constant of protocol.md §4 (legacy Command.java). */
export const AppCmd = Object.freeze({
  RESPONSE: 0,
  REGISTER: 1,
  LOGIN: 2,
  REDEEM: 3,
  HARDWARE_CONNECTED: 4,
  PING: 6,
  ACTIVATE_DASHBOARD: 7,
  DEACTIVATE_DASHBOARD: 8,
  REFRESH_TOKEN: 9,
  TWEET: 12,
  EMAIL: 13,
  PUSH_NOTIFICATION: 14,
  BRIDGE: 15,
  HARDWARE_SYNC: 16,
  BLYNK_INTERNAL: 17,
  SMS: 18,
  SET_WIDGET_PROPERTY: 19,
  HARDWARE: 20,
  CREATE_DASH: 21,
  UPDATE_DASH: 22,
  DELETE_DASH: 23,
  LOAD_PROFILE_GZIPPED: 24,
  APP_SYNC: 25,
  SHARING: 26,
  ADD_PUSH_TOKEN: 27,
  EXPORT_GRAPH_DATA: 28,
  HARDWARE_LOGIN: 29,
  GET_SHARE_TOKEN: 30,
  REFRESH_SHARE_TOKEN: 31,
  SHARE_LOGIN: 32,
  CREATE_WIDGET: 33,
  UPDATE_WIDGET: 34,
  DELETE_WIDGET: 35,
  GET_ENERGY: 36,
  ADD_ENERGY: 37,
  UPDATE_PROJECT_SETTINGS: 38,
  ASSIGN_TOKEN: 39,
  GET_SERVER: 40,
  CONNECT_REDIRECT: 41,
  CREATE_DEVICE: 42,
  UPDATE_DEVICE: 43,
  DELETE_DEVICE: 44,
  GET_DEVICES: 45,
  CREATE_TAG: 46,
  UPDATE_TAG: 47,
  DELETE_TAG: 48,
  GET_TAGS: 49,
  MOBILE_GET_DEVICE: 50,
  UPDATE_FACE: 51,
  WEB_SOCKETS: 52,
  EVENTOR: 53,
  WEB_HOOKS: 54,
  CREATE_APP: 55,
  UPDATE_APP: 56,
  DELETE_APP: 57,
  GET_PROJECT_BY_TOKEN: 58,
  EMAIL_QR: 59,
  GET_ENHANCED_GRAPH_DATA: 60,
  DELETE_ENHANCED_GRAPH_DATA: 61,
  GET_CLONE_CODE: 62,
  GET_PROJECT_BY_CLONE_CODE: 63,
  HARDWARE_LOG_EVENT: 64,
  HARDWARE_RESEND_FROM_BLUETOOTH: 65,
  LOGOUT: 66,
  CREATE_TILE_TEMPLATE: 67,
  UPDATE_TILE_TEMPLATE: 68,
  DELETE_TILE_TEMPLATE: 69,
  GET_WIDGET: 70,
  DEVICE_OFFLINE: 71,
  OUTDATED_APP_NOTIFICATION: 72,
  TRACK_DEVICE: 73,
  GET_PROVISION_TOKEN: 74,
  RESOLVE_EVENT: 75,
  DELETE_DEVICE_DATA: 76,
  CREATE_REPORT: 77,
  UPDATE_REPORT: 78,
  DELETE_REPORT: 79,
  EXPORT_REPORT: 80,
  RESET_PASSWORD: 81,
  HTTP_IS_HARDWARE_CONNECTED: 82,
  HTTP_IS_APP_CONNECTED: 83,
  HTTP_GET_PIN_DATA: 84,
  HTTP_UPDATE_PIN_DATA: 85,
  HTTP_NOTIFY: 86,
  HTTP_EMAIL: 87,
  HTTP_GET_PROJECT: 88,
  HTTP_QR: 89,
  HTTP_GET_HISTORY_DATA: 90,
  HTTP_START_OTA: 91,
  HTTP_STOP_OTA: 92,
  HTTP_CLONE: 93,
  HTTP_TOTAL: 94,
});

/** Response status codes: every code of protocol.md §5 (legacy Response.java). */
export const AppStatus = Object.freeze({
  OK: 200,
  QUOTA_LIMIT: 1,
  ILLEGAL_COMMAND: 2,
  USER_NOT_REGISTERED: 3,
  USER_ALREADY_REGISTERED: 4,
  USER_NOT_AUTHENTICATED: 5,
  NOT_ALLOWED: 6,
  DEVICE_NOT_IN_NETWORK: 7,
  NO_ACTIVE_DASHBOARD: 8,
  INVALID_TOKEN: 9,
  ILLEGAL_COMMAND_BODY: 11,
  NOTIFICATION_INVALID_BODY: 13,
  NOTIFICATION_NOT_AUTHORIZED: 14,
  NOTIFICATION_ERROR: 15,
  NO_DATA: 17,
  SERVER_ERROR: 19,
  ENERGY_LIMIT: 21,
  FACEBOOK_USER_LOGIN_WITH_PASS: 22,
});

/** Server-chosen msgIds (§8) an app sees. */
export const ServerMsgId = Object.freeze({ DEVICE_OFFLINE: 0, PIN_MODE: 1, HTTP: 111, APP_SYNC: 1111 });

const cmdName = Object.fromEntries(Object.entries(AppCmd).map(([k, v]) => [v, k]));
const statusName = Object.fromEntries(Object.entries(AppStatus).map(([k, v]) => [v, k]));

/** The legacy client-side password hash (§10.1): base64(sha256(password ‖ sha256(lower(email)))). */
export function passHash(email, password) {
  const salt = createHash('sha256').update(Buffer.from(email.toLowerCase(), 'utf8')).digest();
  return createHash('sha256').update(Buffer.concat([Buffer.from(password, 'utf8'), salt])).digest('base64');
}

/** A body from a Buffer, a string, or a list of fields joined with `\0` (no trailing `\0`, §3). */
export function encodeBody(fields) {
  if (fields === undefined || fields === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(fields)) return fields;
  if (typeof fields === 'string') return Buffer.from(fields, 'utf8');
  return Buffer.from(fields.map(String).join('\0'), 'utf8');
}

/** One app frame for the TLS stream (§2.2): 7-byte header then the body. */
export function encodeAppFrame(cmd, msgId, fields) {
  const body = encodeBody(fields);
  const h = Buffer.alloc(7);
  h.writeUInt8(cmd, 0);
  h.writeUInt16BE(msgId, 1);
  h.writeUInt32BE(body.length, 3);
  return Buffer.concat([h, body]);
}

/** A RESPONSE for the TLS stream and for /dashws alike: `00, msgId u16, status u32`. */
export function encodeAppResponse(msgId, status) {
  const h = Buffer.alloc(7);
  h.writeUInt8(0, 0);
  h.writeUInt16BE(msgId, 1);
  h.writeUInt32BE(status, 3);
  return h;
}

/** One /dashws message (§2.3): 3-byte header then the body, no length. */
export function encodeWsMessage(cmd, msgId, fields) {
  const body = encodeBody(fields);
  const h = Buffer.alloc(3);
  h.writeUInt8(cmd, 0);
  h.writeUInt16BE(msgId, 1);
  return Buffer.concat([h, body]);
}

function makeFrame(cmd, msgId, status, body) {
  const f = { cmd, msgId, body, at: Date.now() };
  if (cmd === AppCmd.RESPONSE) {
    f.status = status;
    f.text = '';
    f.fields = [];
  } else {
    f.text = body.toString('utf8');
    f.fields = f.text.split('\0');
  }
  return f;
}

/**
 * Decodes the app byte stream of the TLS transport; push() may be given any slicing of the stream
 * and returns the frames completed so far. A frame announcing more than maxBody is a protocol error
 * (the server must never send one), thrown so the test fails instead of waiting for 4 GB.
 */
export class AppStreamDecoder {
  constructor({ maxBody = 64 * 1024 * 1024 } = {}) {
    this.buf = Buffer.alloc(0);
    this.maxBody = maxBody;
  }

  push(chunk) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : Buffer.from(chunk);
    const out = [];
    while (this.buf.length >= 7) {
      const cmd = this.buf.readUInt8(0);
      const msgId = this.buf.readUInt16BE(1);
      const n = this.buf.readUInt32BE(3);
      if (cmd === AppCmd.RESPONSE) {
        out.push(makeFrame(cmd, msgId, n, Buffer.alloc(0)));
        this.buf = this.buf.subarray(7);
        continue;
      }
      if (n > this.maxBody) throw new Error(`server frame cmd ${cmd} msgId ${msgId} announces a ${n}-byte body`);
      if (this.buf.length < 7 + n) break;
      out.push(makeFrame(cmd, msgId, 0, Buffer.from(this.buf.subarray(7, 7 + n))));
      this.buf = this.buf.subarray(7 + n);
    }
    return out;
  }

  /** Bytes of an unfinished frame still buffered. */
  get pending() { return this.buf.length; }
}

/** Decodes one /dashws message; a RESPONSE must be exactly 7 bytes. */
export function decodeWsMessage(msg) {
  if (msg.length < 3) throw new Error(`a /dashws message of ${msg.length} bytes (less than the 3-byte header)`);
  const cmd = msg.readUInt8(0);
  const msgId = msg.readUInt16BE(1);
  if (cmd === AppCmd.RESPONSE) {
    if (msg.length !== 7) throw new Error(`a /dashws RESPONSE of ${msg.length} bytes, expected 7`);
    return makeFrame(cmd, msgId, msg.readUInt32BE(3), Buffer.alloc(0));
  }
  return makeFrame(cmd, msgId, 0, Buffer.from(msg.subarray(3)));
}

/**
 * A client-to-server websocket frame (RFC 6455 §5.2), masked as a client must:
 * opcode 2 = binary, 0 = continuation; fin false for all but the last fragment.
 */
export function wsClientFrame(payload, { opcode = 2, fin = true } = {}) {
  const len = payload.length;
  let head;
  if (len < 126) {
    head = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | len]);
  } else if (len < 65536) {
    head = Buffer.alloc(4);
    head[0] = (fin ? 0x80 : 0) | opcode;
    head[1] = 0x80 | 126;
    head.writeUInt16BE(len, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = (fin ? 0x80 : 0) | opcode;
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  const mask = randomBytes(4);
  const masked = Buffer.alloc(len);
  for (let i = 0; i < len; i++) masked[i] = payload[i] ^ mask[i & 3];
  return Buffer.concat([head, mask, masked]);
}

/** "RESPONSE(msgId 3, ILLEGAL_COMMAND 2)" / "HARDWARE(20) msgId 5 "1-0|vw|1|2"". */
export function describeAppFrame(f) {
  if (!f) return 'nothing';
  if (f.cmd === AppCmd.RESPONSE) return `RESPONSE(msgId ${f.msgId}, ${statusName[f.status] || '?'} ${f.status})`;
  const shown = f.cmd === AppCmd.LOAD_PROFILE_GZIPPED ? `<${f.body.length} bytes>` : JSON.stringify(f.fields.join('|'));
  return `${cmdName[f.cmd] || 'cmd'}(${f.cmd}) msgId ${f.msgId} ${shown}`;
}

/** The JSON of a zlib (RFC 1950) body, as LOAD_PROFILE_GZIPPED returns (§10.6). */
export function inflate(body) {
  return JSON.parse(inflateSync(body).toString('utf8'));
}

export class AppClient {
  constructor(transport) {
    this.transport = transport;
    this.frames = [];        // received, not yet taken
    this.received = [];      // every frame ever received
    this.violations = [];    // protocol errors of the server seen on this connection
    this.isClosed = false;
    this.closedAt = 0;
    this.waiters = new Set();
    this.nextId = 100;
    this.lastSentAt = 0;     // when the last bytes were handed to the socket (idle-timeout tests)
    this.closedPromise = new Promise((resolve) => { this.resolveClosed = resolve; });
  }

  /**
   * Opens an app connection. transport 'tls' (default) or 'ws'; the certificate is not checked
   * (rejectUnauthorized false), as an app pointed at a self-hosted server with a self-signed one.
   */
  static connect({
    port, transport = 'tls', host = '127.0.0.1', path = '/dashws', timeoutMs = 5000, tlsOptions = {},
  }) {
    if (!port) throw new Error('AppClient.connect: port is required');
    const c = new AppClient(transport);
    const what = `${transport} app connection to ${host}:${port}${transport === 'ws' ? path : ''}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        c.close();
        reject(new Error(`timed out after ${timeoutMs} ms: ${what}`));
      }, timeoutMs);
      const fail = (e) => { clearTimeout(timer); c.close(); reject(new Error(`${what}: ${e.message}`)); };
      if (transport === 'tls') {
        const sock = tls.connect({ host, port, rejectUnauthorized: false, ...tlsOptions }, () => {
          sock.removeListener('error', fail);
          sock.on('error', (e) => { c.error = e; });
          sock.setNoDelay(true);
          clearTimeout(timer);
          resolve(c);
        });
        sock.once('error', fail);
        c.attachTls(sock);
      } else if (transport === 'ws') {
        // No permessage-deflate: legacy apps do not negotiate it, and raw writes must stay in order
        // with ws.send (which compresses asynchronously when it is on).
        const ws = new WebSocket(`wss://${host}:${port}${path}`, { rejectUnauthorized: false, perMessageDeflate: false, ...tlsOptions });
        ws.binaryType = 'nodebuffer';
        ws.once('open', () => {
          ws.removeListener('error', fail);
          ws.on('error', (e) => { c.error = e; });
          ws._socket.setNoDelay(true);
          clearTimeout(timer);
          resolve(c);
        });
        ws.once('unexpected-response', (req, res) => fail(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
        ws.once('error', fail);
        c.attachWs(ws);
      } else {
        clearTimeout(timer);
        reject(new Error(`unknown transport ${transport}`));
      }
    });
  }

  attachTls(sock) {
    this.sock = sock;
    this.decoder = new AppStreamDecoder();
    sock.on('data', (d) => {
      let got;
      try { got = this.decoder.push(d); } catch (e) { this.violations.push(e.message); sock.destroy(); return; }
      for (const f of got) this.onFrame(f);
    });
    sock.on('close', () => this.onClose());
  }

  attachWs(ws) {
    this.ws = ws;
    ws.on('message', (data, isBinary) => {
      if (!isBinary) { this.violations.push(`server sent a text websocket message ${JSON.stringify(String(data))}`); return; }
      let f;
      try { f = decodeWsMessage(Buffer.from(data)); } catch (e) { this.violations.push(e.message); return; }
      this.onFrame(f);
    });
    ws.on('close', (code) => { this.closeCode = code; this.onClose(); });
  }

  onFrame(f) {
    this.received.push(f);
    this.frames.push(f);
    this.wake();
  }

  onClose() {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closedAt = Date.now();
    this.resolveClosed(this.closedAt);
    this.wake();
  }

  wake() { for (const w of [...this.waiters]) w(); }

  /** Waits (bounded) for wake-ups until check() returns something other than undefined. */
  async waitFor(check, timeoutMs, what) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.violations.length) throw new Error(`protocol violation by the server: ${this.violations.join('; ')}`);
      const r = check();
      if (r !== undefined) return r;
      const left = deadline - Date.now();
      if (left <= 0) {
        const queued = this.frames.map(describeAppFrame).join(', ') || 'nothing';
        throw new Error(`${this.transport}: no ${what} within ${timeoutMs} ms (queued: ${queued}${this.isClosed ? '; connection closed' : ''})`);
      }
      await new Promise((resolve) => {
        const w = () => { clearTimeout(t); this.waiters.delete(w); resolve(); };
        const t = setTimeout(w, left);
        this.waiters.add(w);
      });
    }
  }

  /** A fresh msgId, never 0 (apps choose their ids; 0 is the server's DEVICE_OFFLINE id). */
  id() {
    this.nextId = this.nextId >= 0xfff0 ? 100 : this.nextId + 1;
    return this.nextId;
  }

  /** The bytes of one message in this transport's framing (for raw writes). */
  encode(cmd, msgId, fields) {
    return this.transport === 'ws' ? encodeWsMessage(cmd, msgId, fields) : encodeAppFrame(cmd, msgId, fields);
  }

  /** Sends one message; returns its msgId. */
  send(cmd, fields, msgId = this.id()) {
    const bytes = this.encode(cmd, msgId, fields);
    this.lastSentAt = Date.now();
    if (this.transport === 'ws') this.ws.send(bytes, { binary: true });
    else this.sock.write(bytes);
    return msgId;
  }

  /** Sends a RESPONSE (apps may answer too; the server must not choke on it). */
  sendResponse(msgId, status) {
    const bytes = encodeAppResponse(msgId, status);
    if (this.transport === 'ws') this.ws.send(bytes, { binary: true });
    else this.sock.write(bytes);
  }

  /** Raw bytes on the connection: the TLS stream, or on 'ws' the stream under the websocket. */
  writeRaw(buf) {
    this.lastSentAt = Date.now();
    if (this.transport === 'ws') this.ws._socket.write(buf);
    else this.sock.write(buf);
  }

  /**
   * On 'ws' the websocket frame of one app message (to write raw, split or coalesced);
   * on 'tls' the app frame itself.
   */
  wireBytes(cmd, msgId, fields) {
    const bytes = this.encode(cmd, msgId, fields);
    return this.transport === 'ws' ? wsClientFrame(bytes) : bytes;
  }

  /**
   * Writes buf in pieces: at every byte (default) or cut at the given offsets. Each piece is its own
   * write (its own TLS record). gapMs paces the pieces so that the server's reads see them apart
   * (input pacing, not synchronisation: nothing waits on the server here, and a server that happened
   * to read two pieces at once must answer the same).
   */
  async writeSplit(buf, cuts = null, { gapMs = 1 } = {}) {
    const points = cuts ? [...cuts].sort((a, b) => a - b) : Array.from({ length: buf.length - 1 }, (_, i) => i + 1);
    let from = 0;
    for (const p of [...points, buf.length]) {
      if (p <= from) continue;
      if (from > 0) await new Promise((r) => setTimeout(r, gapMs));
      this.writeRaw(buf.subarray(from, p));
      from = p;
    }
  }

  /** Several messages [[cmd, fields, msgId?], ...] in one write; returns their msgIds. */
  coalesce(messages) {
    const ids = [];
    const parts = messages.map(([cmd, fields, msgId]) => {
      const id = msgId ?? this.id();
      ids.push(id);
      return this.wireBytes(cmd, id, fields);
    });
    this.writeRaw(Buffer.concat(parts));
    return ids;
  }

  /** 'ws' only: one app message as websocket fragments of `size` bytes (a binary frame, then continuations). */
  sendFragmented(cmd, fields, { msgId = this.id(), size = 1 } = {}) {
    if (this.transport !== 'ws') throw new Error('sendFragmented is for the ws transport');
    const msg = encodeWsMessage(cmd, msgId, fields);
    const parts = [];
    for (let i = 0; i < msg.length; i += size) {
      parts.push(wsClientFrame(msg.subarray(i, i + size), {
        opcode: i === 0 ? 2 : 0, fin: i + size >= msg.length,
      }));
    }
    this.writeRaw(Buffer.concat(parts));
    return msgId;
  }

  /** Takes the first queued frame matching pred, waiting up to timeoutMs for it. */
  next(pred = () => true, timeoutMs = 3000, what = 'matching frame') {
    return this.waitFor(() => {
      const i = this.frames.findIndex(pred);
      if (i >= 0) return this.frames.splice(i, 1)[0];
      if (this.isClosed) throw new Error(`${this.transport}: connection closed while waiting for ${what} (queued: ${this.frames.map(describeAppFrame).join(', ') || 'nothing'})`);
      return undefined;
    }, timeoutMs, what);
  }

  /**
   * The reply to msgId: a RESPONSE or a data frame of the request's command with that msgId.
   * HARDWARE and APP_SYNC are never answered with data (a frame of theirs with the same msgId is a
   * push from a device or another session), so for them only a RESPONSE is the reply.
   */
  reply(msgId, cmd, timeoutMs = 3000) {
    const dataReply = cmd !== AppCmd.HARDWARE && cmd !== AppCmd.APP_SYNC;
    return this.next((f) => f.msgId === msgId && (f.cmd === AppCmd.RESPONSE || (dataReply && f.cmd === cmd)),
      timeoutMs, `reply to msgId ${msgId} (${cmdName[cmd] || cmd})`);
  }

  /** Sends and returns the reply (RESPONSE or data) with the same msgId. */
  async request(cmd, fields, { timeoutMs = 3000, msgId } = {}) {
    const id = this.send(cmd, fields, msgId);
    return this.reply(id, cmd, timeoutMs);
  }

  /** Sends and asserts the reply is RESPONSE with status (OK by default). */
  async expectStatus(cmd, fields, status = AppStatus.OK, opts = {}) {
    const f = await this.request(cmd, fields, opts);
    if (f.cmd !== AppCmd.RESPONSE || f.status !== status) {
      throw new Error(`${cmdName[cmd]} ${JSON.stringify(String(encodeBody(fields)).slice(0, 80))}: expected ${statusName[status]} (${status}), got ${describeAppFrame(f)}`);
    }
    return f;
  }

  /** Sends and asserts a data reply of command cmd (returns it). */
  async expectData(cmd, fields, opts = {}) {
    const f = await this.request(cmd, fields, opts);
    if (f.cmd !== cmd) throw new Error(`${cmdName[cmd]}: expected a ${cmdName[cmd]} data reply, got ${describeAppFrame(f)}`);
    return f;
  }

  /** Asserts that no frame (matching pred) arrives for ms and the connection stays open. */
  async expectNothing(ms = 300, pred = () => true) {
    const deadline = Date.now() + ms;
    for (;;) {
      if (this.violations.length) throw new Error(`protocol violation by the server: ${this.violations.join('; ')}`);
      const hit = this.frames.find(pred);
      if (hit) throw new Error(`${this.transport}: expected silence, got ${describeAppFrame(hit)}`);
      if (this.isClosed) throw new Error(`${this.transport}: expected silence, but the connection was closed`);
      const left = deadline - Date.now();
      if (left <= 0) return;
      await new Promise((resolve) => {
        const w = () => { clearTimeout(t); this.waiters.delete(w); resolve(); };
        const t = setTimeout(w, left);
        this.waiters.add(w);
      });
    }
  }

  /** A promise resolved (with the time) when the connection is closed. */
  closed() { return this.closedPromise; }

  /** Waits (bounded) for the close; returns the frames that were still queued. */
  async expectClose(timeoutMs = 3000) {
    await this.waitFor(() => (this.isClosed ? true : undefined), timeoutMs, 'close');
    const left = this.frames;
    this.frames = [];
    return left;
  }

  async ping() { return this.expectStatus(AppCmd.PING, undefined, AppStatus.OK); }

  /** LOGIN `email\0hash\0os\0version\0appName`; returns the RESPONSE (asserts OK unless expect is given). */
  async login(email, password, {
    os = 'Android', version = '2.27.0', appName = 'Blynk', expect = AppStatus.OK, hash,
  } = {}) {
    const fields = [email, hash ?? passHash(email, password), os, version, appName];
    return this.expectStatus(AppCmd.LOGIN, fields, expect);
  }

  /** REGISTER `email\0hash\0appName` (asserts OK unless expect is given). */
  async register(email, password, { appName = 'Blynk', expect = AppStatus.OK } = {}) {
    return this.expectStatus(AppCmd.REGISTER, [email, passHash(email, password), appName], expect);
  }

  /** SHARE_LOGIN `email\0sharedToken\0os\0version` (asserts OK unless expect is given). */
  async shareLogin(email, token, { expect = AppStatus.OK } = {}) {
    return this.expectStatus(AppCmd.SHARE_LOGIN, [email, token, 'Android', '24'], expect);
  }

  /** CREATE_DASH with a JSON object or string (asserts OK unless expect is given). */
  async createDash(json, { expect = AppStatus.OK } = {}) {
    return this.expectStatus(AppCmd.CREATE_DASH, typeof json === 'string' ? json : JSON.stringify(json), expect);
  }

  /** CREATE_WIDGET `dashId\0widgetJSON` (asserts OK unless expect is given). */
  async createWidget(dashId, json, { expect = AppStatus.OK } = {}) {
    return this.expectStatus(AppCmd.CREATE_WIDGET, [dashId, typeof json === 'string' ? json : JSON.stringify(json)], expect);
  }

  /** CREATE_DEVICE `dashId\0deviceJSON`; returns the device JSON of the cmd 42 reply (with its token). */
  async createDevice(dashId, json) {
    const f = await this.expectData(AppCmd.CREATE_DEVICE, [dashId, typeof json === 'string' ? json : JSON.stringify(json)]);
    return JSON.parse(f.text);
  }

  /** GET_DEVICES `dashId`; returns the parsed cmd 45 array. */
  async getDevices(dashId) {
    return JSON.parse((await this.expectData(AppCmd.GET_DEVICES, String(dashId))).text);
  }

  /** LOAD_PROFILE_GZIPPED (whole profile, or one dash with dashId); returns the inflated JSON. */
  async loadProfile(dashId) {
    return inflate((await this.expectData(AppCmd.LOAD_PROFILE_GZIPPED, dashId === undefined ? undefined : String(dashId))).body);
  }

  inflate(body) { return inflate(body); }

  /** Takes every queued frame (for tests that look at a burst as a whole). */
  drain() { const all = this.frames; this.frames = []; return all; }

  /** Collects frames matching pred until none arrived for quietMs (bounded by timeoutMs). */
  async collect(pred, { quietMs = 300, timeoutMs = 3000 } = {}) {
    const out = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex(pred);
      if (i >= 0) { out.push(this.frames.splice(i, 1)[0]); continue; }
      const left = Math.min(quietMs, deadline - Date.now());
      if (left <= 0) return out;
      const before = this.received.length;
      await new Promise((resolve) => {
        const w = () => { clearTimeout(t); this.waiters.delete(w); resolve(); };
        const t = setTimeout(w, left);
        this.waiters.add(w);
      });
      if (this.received.length === before) return out;   // quiet for quietMs
    }
  }

  close() {
    if (this.ws) { try { this.ws.terminate(); } catch { /* closed */ } }
    if (this.sock) this.sock.destroy();
  }

  /** Closes and reports any protocol violation of the connection's life. */
  end() {
    this.close();
    if (this.violations.length) throw new Error(`protocol violation by the server: ${this.violations.join('; ')}`);
  }
}
