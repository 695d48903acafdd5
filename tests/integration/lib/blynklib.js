// Wraps the real npm blynk-library (0.5.4) for tests: bounded waits for its events and a
// close() that stops its reconnect timers so a finished test leaves nothing behind.
//
// Facts from node_modules/blynk-library (read, not assumed):
// - login: HW_LOGIN(29) msgId 1; 'connect' is emitted on RESPONSE OK or USER_ALREADY_REGISTERED
//   for msgId 1, then it sends INTERNAL `ver 0.5.4 buff-in 4096 dev js` (no h-beat).
// - heartbeat: PING every options.heartbeat ms (default 10000) from login on, whatever the traffic.
// - INVALID_TOKEN: emits 'error' ('INVALID_TOKEN'), disconnects and does not retry.
// - other closes: reconnect after 5 s; a login with no answer is retried every 10 s.
// - msgId 0 from the server makes it disconnect.
// - SslClient: rejectUnauthorized is false, but it silently stays unconnected unless
//   socket.authorized, so the generated cert must be passed as `ca` (Buffer) and `servername`
//   must be a name the cert is valid for.
// - The library prints a banner and progress with console.log; silenced unless BLYNK_IT_VERBOSE.

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

if (!existsSync(path.join(here, '..', 'node_modules', 'blynk-library'))) {
  throw new Error('tests/integration/node_modules is missing: run `npm ci --no-audit --no-fund` in tests/integration ' +
    '(or `npm ci --prefix tests/integration` from the repo root)');
}

if (!process.env.BLYNK_IT_VERBOSE) {
  const orig = console.log;
  console.log = (...args) => { if (process.env.BLYNK_IT_VERBOSE) orig(...args); };
}

export const Blynk = require('blynk-library');

/** A board that records pin operations instead of touching GPIO. */
export function recordingBoard() {
  const ops = [];
  const waiters = [];
  return {
    ops,
    init() {},
    process(values) {
      if (!['pm', 'dw', 'dr', 'aw', 'ar'].includes(values[0])) return false;
      ops.push(values);
      for (const w of waiters.splice(0)) w(values);
      return true;
    },
    /** Resolves with the next pin operation the library hands to the board. */
    nextOp(ms = 3000) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`blynk-library board: no pin operation within ${ms} ms`)), ms);
        waiters.push((v) => { clearTimeout(t); resolve(v); });
      });
    },
  };
}

/**
 * Creates a library device. tls: {ca: Buffer, servername}; reconnect: false for a device the
 * server is expected to close (no reconnect timer is left behind). Returns the Blynk instance with
 * extra helpers: .whenConnected(ms), .close(), .events (log of connect/disconnect/error).
 */
export function makeDevice(token, { port, tls, heartbeat, board, reconnect = true } = {}) {
  const connector = tls
    ? new Blynk.SslClient({ addr: '127.0.0.1', port, ca: tls.ca, servername: tls.servername })
    : new Blynk.TcpClient({ addr: '127.0.0.1', port });
  const b = new Blynk.Blynk(token, {
    connector,
    heartbeat,
    board: board || recordingBoard(),
  });
  if (!reconnect) {
    // A connection the server closes is not retried: the library would arm a 5 s reconnect
    // timer that no close() can cancel, holding the test process for those 5 s.
    b.disconnect = () => Blynk.Blynk.prototype.disconnect.call(b, false);
  }
  b.events = [];
  b.on('connect', () => b.events.push({ ev: 'connect', at: Date.now() }));
  b.on('disconnect', () => b.events.push({ ev: 'disconnect', at: Date.now() }));
  // Without an 'error' listener EventEmitter would throw out of the library.
  b.on('error', (e) => b.events.push({ ev: 'error', e, at: Date.now() }));

  b.whenEvent = (name, ms = 5000) => once(b, name, { signal: AbortSignal.timeout(ms) })
    .catch((e) => {
      if (e.name === 'AbortError') throw new Error(`blynk-library: no '${name}' within ${ms} ms; events: ${JSON.stringify(b.events.map((x) => x.ev))}`);
      throw e;
    });
  b.whenConnected = (ms = 5000) => (b.timerHb ? Promise.resolve() : b.whenEvent('connect', ms));
  b.close = () => {
    if (b.timerConn) { clearInterval(b.timerConn); b.timerConn = null; }
    b.connect = () => {};   // neutralise reconnect timers the library may have armed
    try { b.disconnect(false); } catch { /* already disconnected */ }
  };
  return b;
}

/** Resolves with the values of the next 'write' on virtual pin of device b. */
export function nextVirtualWrite(b, pin, ms = 3000) {
  const vp = b.vpins[pin] || new b.VirtualPin(pin);
  return once(vp, 'write', { signal: AbortSignal.timeout(ms) })
    .then(([values]) => values)
    .catch((e) => {
      if (e.name === 'AbortError') throw new Error(`blynk-library: no write on V${pin} within ${ms} ms`);
      throw e;
    });
}
