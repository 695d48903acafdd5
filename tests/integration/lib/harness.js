// Test harness: runs a real blynkd in a temp dir and talks to it.
//
// Every wait here is bounded. Synchronisation is by reading the server's output or
// the socket; the only time-based wait is RawClient.expectNothing(), which asserts
// silence for a fixed window.

import { spawn, execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SOURCE_DIR = process.env.BLYNK_SOURCE_DIR || path.resolve(here, '../../..');
export const BUILD_DIR = process.env.BLYNK_BUILD_DIR || path.join(SOURCE_DIR, 'build');
export const BLYNKD_BIN = process.env.BLYNKD_BIN || path.join(BUILD_DIR, 'bin', 'blynkd');
export const PLUGIN_DIR = process.env.BLYNKD_PLUGIN_DIR || path.join(BUILD_DIR, 'bin', 'plugins');

export const READY_TIMEOUT_MS = 15000;
export const STOP_TIMEOUT_MS = 10000;
export const CLI_TIMEOUT_MS = 10000;

// Commands and status codes (docs/reference/protocol.md §4, §5).
export const Cmd = Object.freeze({
  RESPONSE: 0, LOGIN: 2, PING: 6, BRIDGE: 15, HARDWARE_SYNC: 16, INTERNAL: 17,
  SET_WIDGET_PROPERTY: 19, HARDWARE: 20, HARDWARE_LOGIN: 29, CONNECT_REDIRECT: 41,
  HARDWARE_LOG_EVENT: 64,
});
export const Status = Object.freeze({
  OK: 200, QUOTA_LIMIT: 1, ILLEGAL_COMMAND: 2, USER_ALREADY_REGISTERED: 4, NOT_ALLOWED: 6,
  DEVICE_NOT_IN_NETWORK: 7, INVALID_TOKEN: 9, ILLEGAL_COMMAND_BODY: 11, SERVER_ERROR: 19,
});

// Live servers of this process, killed on exit even if a test forgot to.
const live = new Set();
process.on('exit', () => {
  for (const s of live) {
    try { s.proc.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

const ANSI = /\x1b\[[0-9;]*m/g;

function tomlKey(k) {
  return /^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k);
}

function tomlValue(v) {
  if (Array.isArray(v)) return `[${v.map(tomlValue).join(', ')}]`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new Error(`cannot render ${typeof v} as TOML`);
}

function isTable(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function deepMerge(a, b) {
  const out = { ...a };
  for (const [k, v] of Object.entries(b || {})) {
    out[k] = isTable(v) && isTable(out[k]) ? deepMerge(out[k], v) : v;
  }
  return out;
}

/** Renders nested objects as TOML tables ({server: {a: 1}, plugins: {x: {y: 2}}}). */
export function renderToml(obj, prefix = []) {
  let scalars = '';
  let tables = '';
  for (const [k, v] of Object.entries(obj)) {
    if (isTable(v)) {
      const name = [...prefix, k];
      const inner = renderToml(v, name);
      tables += `\n[${name.map(tomlKey).join('.')}]\n${inner}`;
    } else {
      scalars += `${tomlKey(k)} = ${tomlValue(v)}\n`;
    }
  }
  return scalars + tables;
}

function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

export function requireBinary() {
  if (!existsSync(BLYNKD_BIN)) {
    throw new Error(`blynkd binary not found at ${BLYNKD_BIN} (set BLYNKD_BIN or build first)`);
  }
  const so = path.join(PLUGIN_DIR, 'storage-sqlite.so');
  if (!existsSync(so)) {
    throw new Error(`storage plugin not found at ${so} (set BLYNKD_PLUGIN_DIR)`);
  }
}

/**
 * A blynkd process with its own temp dir, config and ports.
 *   const srv = await Server.start({ config: { hardware: { idle_timeout: 1 } } });
 */
export class Server {
  constructor(dir, config, extraToml, wrap = [], env = {}) {
    this.dir = dir;
    // Extra environment variables of the server process.
    this.env = env;
    // A command line blynkd runs under (e.g. ['nsenter', '-t', PID, '-m', '--'] to run it in
    // another mount namespace); the server and cli() both use it.
    this.wrap = wrap;
    this.dataDir = path.join(dir, 'data');
    this.configPath = path.join(dir, 'blynk.toml');
    this.config = config;
    this.extraToml = extraToml;
    this.log = '';      // everything the current process printed (stdout + stderr)
    this.allLogs = '';  // the same over every start of this server
    this.proc = null;
    this.exited = null;
    this.hwPort = 0;
    this.tlsPort = 0;
    this.starts = 0;
  }

  /** Writes the config into a fresh temp dir without starting anything. */
  static create({ config = {}, extraToml = '', name = 'it', wrap = [], env = {} } = {}) {
    requireBinary();
    const dir = mkdtempSync(path.join(tmpdir(), `blynkd-${name}-`));
    const base = {
      server: {
        listen_address: '127.0.0.1',
        hardware_port: 0,
        tls_port: 0,
        data_dir: path.join(dir, 'data'),
      },
      logging: { folder: path.join(dir, 'logs'), level: 'info' },
      plugins: { dir: PLUGIN_DIR, enabled: ['storage-sqlite'] },
      // The floor, not the default 600000: every start hashes the administrator's password and
      // most tests create accounts. Tests of the hash cost itself set their own value.
      security: { password_hash_iterations: 100000 },
    };
    const merged = deepMerge(base, config);
    const srv = new Server(dir, merged, extraToml, wrap, env);
    writeFileSync(srv.configPath, `# written by tests/integration/lib/harness.js\n${renderToml(merged)}\n${extraToml}\n`);
    return srv;
  }

  /** create() then launch(): resolves once the server printed its ready line. */
  static async start(opts = {}) {
    const srv = Server.create(opts);
    try {
      await srv.launch();
    } catch (e) {
      await srv.dispose({ keep: true });
      throw e;
    }
    return srv;
  }

  get running() {
    return this.proc !== null && this.exited === null;
  }

  async launch() {
    if (this.running) throw new Error('server already running');
    this.log = '';
    this.exited = null;
    this.hwPort = 0;
    this.tlsPort = 0;
    this.starts += 1;
    const [bin, ...pre] = [...this.wrap, BLYNKD_BIN];
    const proc = spawn(bin, [...pre, '--config', this.configPath], {
      cwd: this.dir,
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    live.add(this);
    this.exitPromise = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        this.exited = { code, signal };
        live.delete(this);
        resolve(this.exited);
        this.notify();
      });
      proc.on('error', (err) => {
        this.exited = { code: null, signal: null, error: err };
        live.delete(this);
        resolve(this.exited);
        this.notify();
      });
    });
    this.waiters = [];
    const onData = (chunk) => {
      const text = chunk.toString('utf8').replace(ANSI, '');
      this.log += text;
      this.allLogs += text;
      this.notify();
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);

    try {
      await this.waitForLog(/server ready/, READY_TIMEOUT_MS);
    } catch (e) {
      this.kill();
      throw new Error(`blynkd did not become ready: ${e.message}\n--- log ---\n${this.log}`);
    }
    const plain = this.log.match(/listening hardware-plain \S*?:(\d+)/);
    const secure = this.log.match(/listening hardware-tls \S*?:(\d+)/);
    if (!plain || !secure) {
      this.kill();
      throw new Error(`ready, but the listening lines are missing or unparsable:\n${this.log}`);
    }
    this.hwPort = Number(plain[1]);
    this.tlsPort = Number(secure[1]);
    return this;
  }

  notify() {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves with the match once the current process's output matches re (bounded). */
  waitForLog(re, timeoutMs = 5000, from = 0) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = this.log.slice(from).match(re);
        if (m) { done(); resolve(m); return; }
        if (this.exited) {
          done();
          reject(new Error(`blynkd exited (${JSON.stringify(this.exited)}) before log matched ${re}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for log ${re}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
      };
      this.waiters.push(check);
      check();
    });
  }

  /** Runs `blynkd --config FILE ...args` (in the server's folder and environment); resolves {code, stdout, stderr}. */
  cli(args, timeoutMs = CLI_TIMEOUT_MS) {
    return new Promise((resolve) => {
      const [bin, ...pre] = [...this.wrap, BLYNKD_BIN];
      execFile(bin, [...pre, '--config', this.configPath, ...args],
        { cwd: this.dir, env: { ...process.env, ...this.env }, timeout: timeoutMs, killSignal: 'SIGKILL' },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
          resolve({ code, stdout, stderr, timedOut: Boolean(err && err.killed) });
        });
    });
  }

  /** `device add` through the CLI; returns the 32-char token. */
  async addDevice(email = 'me@example.com', name = 'esp32') {
    const r = await this.cli(['device', 'add', '--email', email, '--name', name]);
    if (r.code !== 0) {
      throw new Error(`device add --email ${email} --name ${name} exited ${r.code}` +
        `${r.timedOut ? ' (timed out)' : ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    }
    const lines = r.stdout.split('\n').filter((l) => l.length > 0);
    if (lines.length !== 1 || lines[0].length !== 32 || /\s/.test(lines[0])) {
      throw new Error(`device add must print exactly one 32-char token line, got ${JSON.stringify(r.stdout)}`);
    }
    return lines[0];
  }

  /** SIGTERM (or the given signal), bounded wait, and the exit must be a clean 0. */
  async stop(signal = 'SIGTERM') {
    if (!this.running) return this.exited;
    this.proc.kill(signal);
    let ex;
    try {
      ex = await withTimeout(this.exitPromise, STOP_TIMEOUT_MS, `blynkd exit after ${signal}`);
    } catch (e) {
      this.kill();
      throw new Error(`${e.message}\n--- log ---\n${this.log}`);
    }
    if (ex.code !== 0) {
      throw new Error(`blynkd exited with ${JSON.stringify(ex)} after ${signal}, expected code 0\n--- log ---\n${this.log}`);
    }
    return ex;
  }

  /** SIGKILL and wait for the process to be gone. */
  async kill() {
    if (!this.running) return this.exited;
    this.proc.kill('SIGKILL');
    return withTimeout(this.exitPromise, STOP_TIMEOUT_MS, 'blynkd exit after SIGKILL');
  }

  /** Clean stop, then a new process on the same config and data dir. */
  async restart() {
    await this.stop();
    return this.launch();
  }

  /** For after hooks: never throws, leaves nothing running, removes the temp dir. */
  async dispose({ keep = false } = {}) {
    try { await this.kill(); } catch { /* ignore */ }
    if (!keep && !process.env.BLYNK_IT_KEEP) {
      try { rmSync(this.dir, { recursive: true, force: true }); } catch { /* ignore */ }
    }
  }

  /** Where the first start writes the administrator's password when stdout is not a terminal. */
  get adminPasswordPath() { return path.join(this.dataDir, 'initial-admin-password.txt'); }

  /**
   * The administrator {email, password} of the first start. The harness's servers have a pipe
   * for stdout, not a terminal, so the server wrote them to adminPasswordPath.
   */
  adminCredentials() {
    const text = readFileSync(this.adminPasswordPath, 'utf8');
    const email = text.match(/^email: (\S+)$/m);
    const password = text.match(/^password: (\S+)$/m);
    if (!email || !password) throw new Error(`${this.adminPasswordPath} holds no email and password:\n${text}`);
    return { email: email[1], password: password[1] };
  }

  get certPath() { return path.join(this.dataDir, 'tls', 'cert.pem'); }
  get keyPath() { return path.join(this.dataDir, 'tls', 'key.pem'); }

  /** The generated self-signed certificate (PEM buffer). */
  cert() { return readFileSync(this.certPath); }

  /**
   * A name the generated certificate is valid for, to use as TLS servername:
   * its first DNS SAN, else 127.0.0.1 if it has that IP SAN, else its CN.
   */
  certName() {
    const x = new X509Certificate(this.cert());
    const san = x.subjectAltName || '';
    const dns = san.match(/DNS:([^,\s]+)/);
    if (dns) return dns[1];
    if (/IP Address:127\.0\.0\.1\b/.test(san)) return '127.0.0.1';
    const cn = (x.subject || '').match(/CN=([^\n]+)/);
    return cn ? cn[1] : 'localhost';
  }

  /** Opens a raw hardware connection (plain by default, {tls: true} for the TLS port). */
  connect(opts = {}) {
    return RawClient.connect(opts.tls ? this.tlsPort : this.hwPort,
      opts.tls ? { tls: true, ca: this.cert(), ...opts } : opts);
  }

  /** A raw client logged in with token (asserts OK echoing msgId 1). */
  async login(token, opts = {}) {
    const c = await this.connect(opts);
    await c.login(token);
    return c;
  }
}

// ------------------------------------------------------------------------------------------------

export function encodeBody(fields) {
  if (fields === undefined || fields === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(fields)) return fields;
  if (typeof fields === 'string') return Buffer.from(fields, 'utf8');
  return Buffer.from(fields.map(String).join('\0'), 'utf8');
}

export function frame(cmd, msgId, fields) {
  const body = encodeBody(fields);
  const h = Buffer.alloc(5);
  h.writeUInt8(cmd, 0);
  h.writeUInt16BE(msgId, 1);
  h.writeUInt16BE(body.length, 3);
  return Buffer.concat([h, body]);
}

export function responseFrame(msgId, status) {
  const h = Buffer.alloc(5);
  h.writeUInt8(0, 0);
  h.writeUInt16BE(msgId, 1);
  h.writeUInt16BE(status, 3);
  return h;
}

function describeFrame(f) {
  if (!f) return 'nothing';
  if (f.cmd === 0) return `RESPONSE(msgId ${f.msgId}, status ${f.status})`;
  return `cmd ${f.cmd} (msgId ${f.msgId}) ${JSON.stringify(f.fields.join('|'))}`;
}
export { describeFrame };

/**
 * A raw hardware-protocol connection. Received frames are queued; every received frame is
 * checked for msgId != 0 (protocol §2.4: libraries drop the connection on msgId 0).
 */
export class RawClient {
  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.frames = [];
    this.received = [];      // every frame ever received, in order
    this.closed = false;
    this.closedAt = 0;
    this.violations = [];
    this.waiter = null;
    sock.on('data', (d) => this.onData(d));
    sock.on('close', () => {
      this.closed = true;
      this.closedAt = Date.now();
      this.wake();
    });
    sock.on('error', (e) => { this.error = e; });
  }

  // localAddress: the address to send from (127.0.0.2 is another peer than 127.0.0.1).
  static connect(port, {
    tls: useTls = false, ca, servername, host = '127.0.0.1', localAddress, timeout = 5000, tlsOptions = {},
  } = {}) {
    return withTimeout(new Promise((resolve, reject) => {
      let sock;
      const onErr = (e) => reject(e);
      if (useTls) {
        sock = tls.connect({
          host, port, ca, localAddress,
          servername,
          // Chain is verified against the generated cert; the name check is done by tests that care.
          checkServerIdentity: () => undefined,
          ...tlsOptions,
        }, () => {
          sock.removeListener('error', onErr);
          resolve(new RawClient(sock));
        });
      } else {
        sock = net.connect({ host, port, localAddress }, () => {
          sock.removeListener('error', onErr);
          sock.setNoDelay(true);
          resolve(new RawClient(sock));
        });
      }
      sock.once('error', onErr);
    }), timeout, `connect to 127.0.0.1:${port}${useTls ? ' (TLS)' : ''}`);
  }

  get localPort() { return this.sock.localPort; }

  onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    while (this.buf.length >= 5) {
      const cmd = this.buf.readUInt8(0);
      const msgId = this.buf.readUInt16BE(1);
      const len = this.buf.readUInt16BE(3);
      let f;
      if (cmd === 0) {
        f = { cmd, msgId, status: len, len: 0, body: Buffer.alloc(0), fields: [] };
        this.buf = this.buf.subarray(5);
      } else {
        if (this.buf.length < 5 + len) break;
        const body = Buffer.from(this.buf.subarray(5, 5 + len));
        f = { cmd, msgId, len, body, fields: body.toString('utf8').split('\0') };
        this.buf = this.buf.subarray(5 + len);
      }
      f.at = Date.now();
      if (msgId === 0) this.violations.push(`server sent msgId 0: ${describeFrame(f)}`);
      this.received.push(f);
      this.frames.push(f);
    }
    this.wake();
  }

  wake() {
    if (this.waiter) { const w = this.waiter; this.waiter = null; w(); }
  }

  checkViolations() {
    if (this.violations.length) throw new Error(this.violations.join('\n'));
  }

  write(buf) {
    this.sock.write(buf);
  }

  send(cmd, msgId, fields) {
    this.sock.write(frame(cmd, msgId, fields));
  }

  sendResponse(msgId, status) {
    this.sock.write(responseFrame(msgId, status));
  }

  /** Next frame, or throws on timeout / close. */
  async expectFrame(timeoutMs = 3000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.checkViolations();
      if (this.frames.length) return this.frames.shift();
      if (this.closed) throw new Error('connection closed while waiting for a frame');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms`);
      await new Promise((resolve) => {
        const t = setTimeout(() => { this.waiter = null; resolve(); }, left);
        this.waiter = () => { clearTimeout(t); resolve(); };
      });
    }
  }

  /** Next frame must be RESPONSE(msgId, status). */
  async expectResponse(msgId, status, timeoutMs = 3000) {
    const f = await this.expectFrame(timeoutMs);
    if (f.cmd !== 0 || f.msgId !== msgId || f.status !== status) {
      throw new Error(`expected RESPONSE(msgId ${msgId}, status ${status}), got ${describeFrame(f)}`);
    }
    return f;
  }

  /** Resolves with the frames received before the close; throws if still open after timeout. */
  async expectClose(timeoutMs = 3000) {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`connection still open after ${timeoutMs} ms`);
      await new Promise((resolve) => {
        const t = setTimeout(() => { this.waiter = null; resolve(); }, left);
        this.waiter = () => { clearTimeout(t); resolve(); };
      });
    }
    this.checkViolations();
    const before = this.frames;
    this.frames = [];
    return before;
  }

  /** Asserts that nothing arrives and the connection stays open for ms. */
  async expectNothing(ms = 300) {
    const deadline = Date.now() + ms;
    for (;;) {
      this.checkViolations();
      if (this.frames.length) throw new Error(`expected silence, got ${describeFrame(this.frames[0])}`);
      if (this.closed) throw new Error('expected silence, but the connection was closed');
      const left = deadline - Date.now();
      if (left <= 0) return;
      await new Promise((resolve) => {
        const t = setTimeout(() => { this.waiter = null; resolve(); }, left);
        this.waiter = () => { clearTimeout(t); resolve(); };
      });
    }
  }

  /** PING with msgId, expects OK echoing it. */
  async ping(msgId, timeoutMs = 3000) {
    this.send(Cmd.PING, msgId);
    return this.expectResponse(msgId, Status.OK, timeoutMs);
  }

  async login(token, { cmd = Cmd.HARDWARE_LOGIN, msgId = 1 } = {}) {
    this.send(cmd, msgId, token);
    return this.expectResponse(msgId, Status.OK);
  }

  /** HARDWARE_SYNC and collect exactly n HARDWARE replies (then asserts silence for quietMs). */
  async sync(msgId, fields, n, { quietMs = 200, timeoutMs = 3000 } = {}) {
    this.send(Cmd.HARDWARE_SYNC, msgId, fields);
    const out = [];
    for (let i = 0; i < n; i++) {
      const f = await this.expectFrame(timeoutMs);
      if (f.cmd !== Cmd.HARDWARE || f.msgId !== msgId) {
        throw new Error(`sync reply ${i + 1}/${n}: expected HARDWARE with msgId ${msgId}, got ${describeFrame(f)}`);
      }
      out.push(f);
    }
    if (quietMs > 0) await this.expectNothing(quietMs);
    return out;
  }

  /** A fresh msgId (never 0) for polling. */
  id() {
    this.nextMsgId = this.nextMsgId >= 0xfff0 || !this.nextMsgId ? 30000 : this.nextMsgId + 1;
    return this.nextMsgId;
  }

  /**
   * Polls HARDWARE_SYNC `<t>r\0pin` until the reply body equals `<t>w\0pin\0...values`
   * (for a value another connection wrote: there is no ordering across connections).
   * Each attempt waits up to 250 ms for the answer; bounded by timeoutMs overall.
   */
  async pollPin(pin, values, { type = 'v', timeoutMs = 5000 } = {}) {
    const want = [`${type}w`, String(pin), ...values.map(String)].join('\0');
    const deadline = Date.now() + timeoutMs;
    const asked = new Set();
    let last = 'no reply';
    while (Date.now() < deadline) {
      const id = this.id();
      asked.add(id);
      this.send(Cmd.HARDWARE_SYNC, id, [`${type}r`, pin]);
      const attemptEnd = Math.min(deadline, Date.now() + 250);
      for (;;) {
        const left = attemptEnd - Date.now();
        if (left <= 0) break;
        let f;
        try { f = await this.expectFrame(left); } catch (e) {
          if (this.closed) throw e;
          break;
        }
        if (f.cmd === Cmd.HARDWARE && asked.has(f.msgId)) {
          const got = f.body.toString('utf8');
          last = JSON.stringify(got);
          if (got === want) return f;
          continue;
        }
        throw new Error(`while polling ${type}${pin}: unexpected ${describeFrame(f)}`);
      }
    }
    throw new Error(`${type}${pin} never became ${JSON.stringify(want)} within ${timeoutMs} ms (last: ${last})`);
  }

  close() {
    this.sock.destroy();
  }

  /** Closes and reports any protocol violation seen during the connection's life. */
  end() {
    this.close();
    this.checkViolations();
  }
}

/** Tracks clients and servers of one test file so an after hook can clean everything up. */
export class Cleanup {
  constructor() { this.items = []; }
  add(x) { this.items.push(x); return x; }
  async run() {
    const items = this.items.reverse();
    this.items = [];
    for (const x of items) {
      try {
        if (x instanceof Server) await x.dispose();
        else if (typeof x.close === 'function') x.close();
        else if (typeof x === 'function') await x();
      } catch { /* best effort */ }
    }
  }
}

export { withTimeout };

/** A TCP port that was free a moment ago (for tests that need the same port across a restart). */
/** The path of a command on PATH, or null (tests that need it skip with the reason). */
export function which(cmd) {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const sv = net.createServer();
    sv.once('error', reject);
    sv.listen(0, '127.0.0.1', () => {
      const { port } = sv.address();
      sv.close(() => resolve(port));
    });
  });
}
export const INFO_JS = ['ver', '0.5.4', 'h-beat', '1', 'buff-in', '4096', 'dev', 'js'];
export function mkTmp(name) {
  const d = mkdtempSync(path.join(tmpdir(), `blynkd-${name}-`));
  mkdirSync(d, { recursive: true });
  return d;
}

/** Polls a file (bounded) until pred(text) holds; returns the text. Plugins under test write
 * what they saw to a file on their own threads, so there is nothing to wait on but the file. */
export async function waitForFile(file, pred, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (pred(text)) return text;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${file}; it holds:\n${JSON.stringify(text)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
