// The hardware protocol over websockets on the device ports (docs/reference/protocol.md §1, §2.3; docs/reference/http-api.md §4):
// plain ws on the hardware-plain port, wss on the TLS port, at /websockets and /websocket. Each binary
// client message carries a piece of the hardware byte stream (frames may be split or coalesced);
// each server→client hardware frame is one binary message. The client is the npm `ws` package;
// raw sockets are used only where `ws` cannot misbehave on purpose (an unmasked client frame).
//
// npm node-red-contrib-blynk-ws was looked at as a second client: its client is a Node-RED node
// (module.exports = (RED) => ..., RED.nodes.createNode / registerType, RED._ for messages, the
// node's EventEmitter and log methods come from the runtime), so it cannot run headless without
// the Node-RED runtime and is not used here.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import {
  Server, Cmd, Status, Cleanup, frame, describeFrame, withTimeout,
} from '../lib/harness.js';

const cleanup = new Cleanup();
let srv;
let tokWs;     // the websocket device
let tokTcp;    // another device of the same user (bridge source)
after(() => cleanup.run());

before(async () => {
  srv = cleanup.add(await Server.start({
    name: 'websocket',
    // the largest hardware frame (body 65535) fits one websocket message of 65540 bytes
    config: { hardware: { max_body: 65535 } },
  }));
  tokWs = await srv.addDevice('ws@example.com', 'ws-device');
  tokTcp = await srv.addDevice('ws@example.com', 'tcp-device');
});

const body = (f) => f.body.toString('utf8');

/**
 * A hardware device over a real websocket client. Every message from the server must be binary and
 * hold exactly one hardware frame with a msgId other than 0; anything else is a violation that fails
 * the next expectation.
 */
class WsDevice {
  constructor(ws) {
    this.ws = ws;
    this.frames = [];
    this.pongs = [];
    this.violations = [];
    this.closed = false;
    this.closeCode = null;
    this.waiter = null;
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('pong', (d) => { this.pongs.push(Buffer.from(d)); this.wake(); });
    ws.on('close', (code) => { this.closed = true; this.closeCode = code; this.wake(); });
    ws.on('error', (e) => { this.error = e; });
  }

  /** Opens ws(s)://127.0.0.1:<port><path>; rejects with the HTTP status if the upgrade is refused. */
  static open({ tls = false, path = '/websockets', timeout = 5000 } = {}) {
    const url = `${tls ? 'wss' : 'ws'}://127.0.0.1:${tls ? srv.tlsPort : srv.hwPort}${path}`;
    // The generated certificate is the only trust anchor; it names IP 127.0.0.1, so the default
    // host name check applies.
    const ws = new WebSocket(url, { perMessageDeflate: false, ...(tls ? { ca: srv.cert() } : {}) });
    return withTimeout(new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new WsDevice(ws)));
      ws.once('unexpected-response', (req, res) => {
        const err = new Error(`upgrade refused: HTTP ${res.statusCode}`);
        err.statusCode = res.statusCode;
        err.headers = res.headers;
        res.resume();
        req.destroy();
        reject(err);
      });
      ws.once('error', reject);
    }), timeout, `websocket ${url}`);
  }

  onMessage(data, isBinary) {
    const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data);
    if (!isBinary) {
      this.violations.push(`server sent a text message: ${JSON.stringify(buf.toString())}`);
    } else if (buf.length < 5) {
      this.violations.push(`binary message of ${buf.length} bytes is not a hardware frame`);
    } else {
      const cmd = buf.readUInt8(0);
      const msgId = buf.readUInt16BE(1);
      const len = buf.readUInt16BE(3);
      let f;
      if (cmd === 0) {
        f = { cmd, msgId, status: len, body: Buffer.alloc(0), fields: [] };
        if (buf.length !== 5) this.violations.push(`message of ${buf.length} bytes holds more than ${describeFrame(f)}`);
      } else {
        const b = Buffer.from(buf.subarray(5, 5 + len));
        f = { cmd, msgId, len, body: b, fields: b.toString('utf8').split('\0') };
        if (buf.length !== 5 + len) {
          this.violations.push(`message of ${buf.length} bytes is not exactly one frame (${describeFrame(f)}, length ${len})`);
        }
      }
      if (msgId === 0) this.violations.push(`server sent msgId 0: ${describeFrame(f)}`);
      this.frames.push(f);
    }
    this.wake();
  }

  wake() {
    if (this.waiter) { const w = this.waiter; this.waiter = null; w(); }
  }

  check() {
    if (this.violations.length) throw new Error(this.violations.join('\n'));
  }

  async waitUntil(pred, timeoutMs, what) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.check();
      const r = pred();
      if (r) return r;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms`);
      await new Promise((resolve) => {
        const t = setTimeout(() => { this.waiter = null; resolve(); }, left);
        this.waiter = () => { clearTimeout(t); resolve(); };
      });
    }
  }

  /** Sends raw bytes as one binary message (fin: false leaves the message open for a continuation). */
  sendBytes(buf, { fin = true } = {}) {
    this.ws.send(buf, { binary: true, fin });
  }

  send(cmd, msgId, fields) {
    this.sendBytes(frame(cmd, msgId, fields));
  }

  async expectFrame(timeoutMs = 3000) {
    return this.waitUntil(() => {
      if (this.frames.length) return this.frames.shift();
      if (this.closed) throw new Error(`websocket closed (code ${this.closeCode}) while waiting for a frame`);
      return null;
    }, timeoutMs, 'frame');
  }

  async expectResponse(msgId, status, timeoutMs = 3000) {
    const f = await this.expectFrame(timeoutMs);
    if (f.cmd !== 0 || f.msgId !== msgId || f.status !== status) {
      throw new Error(`expected RESPONSE(msgId ${msgId}, status ${status}), got ${describeFrame(f)}`);
    }
    return f;
  }

  async expectNothing(ms = 300) {
    const deadline = Date.now() + ms;
    for (;;) {
      this.check();
      if (this.frames.length) throw new Error(`expected silence, got ${describeFrame(this.frames[0])}`);
      if (this.closed) throw new Error(`expected silence, but the websocket was closed (code ${this.closeCode})`);
      const left = deadline - Date.now();
      if (left <= 0) return;
      await new Promise((resolve) => {
        const t = setTimeout(() => { this.waiter = null; resolve(); }, left);
        this.waiter = () => { clearTimeout(t); resolve(); };
      });
    }
  }

  /** Resolves with the close code once the connection is gone; throws if it stays open. */
  async expectClose(timeoutMs = 3000) {
    await this.waitUntil(() => this.closed, timeoutMs, 'close');
    return this.closeCode;
  }

  async login(token, msgId = 1) {
    this.send(Cmd.HARDWARE_LOGIN, msgId, token);
    return this.expectResponse(msgId, Status.OK);
  }

  async ping(msgId) {
    this.send(Cmd.PING, msgId);
    return this.expectResponse(msgId, Status.OK);
  }

  close() {
    this.ws.terminate();
  }

  end() {
    this.close();
    this.check();
  }
}

/** A websocket device logged in with token (OK echoing msgId 1 as its own binary message). */
async function wsLogin(token, opts = {}) {
  const d = cleanup.add(await WsDevice.open(opts));
  await d.login(token);
  return d;
}

/** Raw upgrade over TCP: resolves {sock, head, rest} once the response head has arrived. */
function rawUpgrade(path, port = srv.hwPort) {
  return withTimeout(new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port }, () => {
      sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
        'Sec-WebSocket-Version: 13\r\n\r\n');
    });
    let buf = Buffer.alloc(0);
    const onData = (d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.removeListener('data', onData);
      resolve({ sock, head: buf.subarray(0, end).toString('latin1'), rest: buf.subarray(end + 4) });
    };
    sock.on('data', onData);
    sock.once('error', reject);
    sock.once('close', () => reject(new Error(`closed before an upgrade answer: ${JSON.stringify(buf.toString('latin1'))}`)));
  }), 5000, `raw upgrade ${path}`);
}

/** A client websocket frame; masked unless mask === null. */
function wsFrame(opcode, payload, { fin = true, mask = randomBytes(4) } = {}) {
  const len = payload.length;
  let head;
  if (len < 126) {
    head = Buffer.from([(fin ? 0x80 : 0) | opcode, (mask ? 0x80 : 0) | len]);
  } else if (len <= 0xffff) {
    head = Buffer.alloc(4);
    head[0] = (fin ? 0x80 : 0) | opcode;
    head[1] = (mask ? 0x80 : 0) | 126;
    head.writeUInt16BE(len, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = (fin ? 0x80 : 0) | opcode;
    head[1] = (mask ? 0x80 : 0) | 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  if (!mask) return Buffer.concat([head, payload]);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i] ^= mask[i & 3];
  return Buffer.concat([head, mask, masked]);
}

/** Resolves once sock is closed by the peer (bounded); returns everything it received. */
function waitClosed(sock, timeoutMs = 3000) {
  let got = Buffer.alloc(0);
  sock.on('data', (d) => { got = Buffer.concat([got, d]); });
  return withTimeout(new Promise((resolve) => {
    if (sock.destroyed) { resolve(got); return; }
    sock.once('close', () => resolve(got));
  }), timeoutMs, 'server closing the raw websocket connection');
}

describe('hardware over websockets', () => {
  for (const path of ['/websockets', '/websocket']) {
    it(`${path}: login OK, a write is stored and read back by a TCP connection of the same token and by the websocket itself`, async () => {
      const pin = path === '/websockets' ? 5 : 6;
      const d = await wsLogin(tokWs, { path });
      d.send(Cmd.INTERNAL, 2, ['ver', '0.5.4', 'buff-in', '4096', 'dev', 'js']);
      await d.expectResponse(2, Status.OK);
      d.send(Cmd.HARDWARE, 3, ['vw', pin, 42]);
      await d.expectNothing(300);                          // a successful write is not answered

      const t = cleanup.add(await srv.login(tokWs));
      const f = await t.pollPin(pin, ['42']);
      assert.equal(body(f), `vw\0${pin}\x0042`);

      d.send(Cmd.HARDWARE_SYNC, 4, ['vr', pin]);
      const g = await d.expectFrame();
      assert.ok(g.cmd === Cmd.HARDWARE && g.msgId === 4, `expected HARDWARE msgId 4, got ${describeFrame(g)}`);
      assert.equal(body(g), `vw\0${pin}\x0042`);
      await d.expectNothing(200);
      await d.ping(5);
      d.end();
      t.end();
    });
  }

  it('wss on the TLS port (generated certificate as the only CA): login, write, read back over TLS', async () => {
    const d = await wsLogin(tokWs, { tls: true });
    d.send(Cmd.HARDWARE, 2, ['vw', 10, 'tls-ws']);
    const t = cleanup.add(await srv.login(tokWs, { tls: true }));
    const f = await t.pollPin(10, ['tls-ws']);
    assert.equal(body(f), 'vw\x0010\x00tls-ws');
    await d.ping(3);
    d.end();
    t.end();
  });

  it('wss at /websocket works too, and a wss client that does not trust the certificate is refused by its own check', async () => {
    const d = await wsLogin(tokWs, { tls: true, path: '/websocket' });
    await d.ping(2);
    d.end();
    const url = `wss://127.0.0.1:${srv.tlsPort}/websockets`;
    const ws = new WebSocket(url, { perMessageDeflate: false });  // system CAs only
    const err = await withTimeout(new Promise((resolve) => {
      ws.once('open', () => resolve(null));
      ws.once('error', resolve);
    }), 5000, 'untrusted wss');
    ws.terminate();
    assert.ok(err, 'the self-signed certificate must not verify against the system CAs');
  });

  it('frames split across websocket messages are reassembled (login split, a frame in three messages)', async () => {
    const d = cleanup.add(await WsDevice.open());
    const login = frame(Cmd.HARDWARE_LOGIN, 1, tokWs);
    d.sendBytes(login.subarray(0, 3));
    await d.expectNothing(200);                            // half a header is not a frame yet
    d.sendBytes(login.subarray(3));
    await d.expectResponse(1, Status.OK);

    const w = frame(Cmd.HARDWARE, 7, ['vw', 11, 'split']);
    d.sendBytes(w.subarray(0, 4));
    d.sendBytes(w.subarray(4, 9));
    d.sendBytes(w.subarray(9));
    const ping = frame(Cmd.PING, 8);
    d.sendBytes(ping.subarray(0, 1));
    d.sendBytes(ping.subarray(1));
    await d.expectResponse(8, Status.OK);

    // a split inside a websocket message too: one message sent as two websocket frames
    const sync = frame(Cmd.HARDWARE_SYNC, 9, ['vr', 11]);
    d.sendBytes(sync.subarray(0, 6), { fin: false });
    d.sendBytes(sync.subarray(6), { fin: true });
    const f = await d.expectFrame();
    assert.ok(f.cmd === Cmd.HARDWARE && f.msgId === 9, `expected HARDWARE msgId 9, got ${describeFrame(f)}`);
    assert.equal(body(f), 'vw\x0011\x00split');
    d.end();
  });

  it('frames coalesced in one message are all handled, and each answer is its own binary message', async () => {
    const d = cleanup.add(await WsDevice.open());
    d.sendBytes(Buffer.concat([
      frame(Cmd.HARDWARE_LOGIN, 1, tokWs),
      frame(Cmd.PING, 2),
      frame(Cmd.HARDWARE, 3, ['vw', 12, 'a']),
      frame(Cmd.HARDWARE, 4, ['vw', 13, 'b']),
      frame(Cmd.HARDWARE_SYNC, 5, ['vr', 12, 13]),
      frame(Cmd.PING, 6),
    ]));
    await d.expectResponse(1, Status.OK);
    await d.expectResponse(2, Status.OK);
    const got = [await d.expectFrame(), await d.expectFrame()];
    for (const f of got) {
      assert.ok(f.cmd === Cmd.HARDWARE && f.msgId === 5, `expected HARDWARE msgId 5, got ${describeFrame(f)}`);
    }
    assert.deepEqual(got.map(body).sort(), ['vw\x0012\x00a', 'vw\x0013\x00b']);
    await d.expectResponse(6, Status.OK);
    // a frame that ends in the next message after two whole ones
    const tail = frame(Cmd.PING, 9);
    d.sendBytes(Buffer.concat([frame(Cmd.PING, 7), frame(Cmd.PING, 8), tail.subarray(0, 2)]));
    d.sendBytes(tail.subarray(2));
    await d.expectResponse(7, Status.OK);
    await d.expectResponse(8, Status.OK);
    await d.expectResponse(9, Status.OK);
    d.end();
  });

  it('a bridge from a TCP device to the websocket device arrives as one BRIDGE message with the sender\'s msgId', async () => {
    const d = await wsLogin(tokWs);
    const a = cleanup.add(await srv.login(tokTcp));
    a.send(Cmd.BRIDGE, 20, [1, 'i', tokWs]);
    await a.expectResponse(20, Status.OK);
    a.send(Cmd.BRIDGE, 21, [1, 'vw', 14, 'over-ws']);
    const f = await d.expectFrame();
    assert.ok(f.cmd === Cmd.BRIDGE && f.msgId === 21, `expected BRIDGE(15) msgId 21, got ${describeFrame(f)}`);
    assert.equal(body(f), 'vw\x0014\x00over-ws');
    a.send(Cmd.BRIDGE, 22, [1, 'dw', 3, 1]);
    const g = await d.expectFrame();
    assert.ok(g.cmd === Cmd.BRIDGE && g.msgId === 22, `expected BRIDGE(15) msgId 22, got ${describeFrame(g)}`);
    assert.equal(body(g), 'dw\x003\x001');
    await a.expectNothing(200);
    // stored as the target's value
    d.send(Cmd.HARDWARE_SYNC, 23, ['vr', 14]);
    const s = await d.expectFrame();
    assert.equal(body(s), 'vw\x0014\x00over-ws');
    d.end();
    a.end();
  });

  it('websocket ping frames get pongs with the same payload, before and after login', async () => {
    const d = cleanup.add(await WsDevice.open());
    d.ws.ping(Buffer.from('before'));
    await d.waitUntil(() => d.pongs.length >= 1, 3000, 'pong');
    assert.equal(d.pongs[0].toString(), 'before');
    await d.login(tokWs);
    d.ws.ping(Buffer.from('after-login'));
    await d.waitUntil(() => d.pongs.length >= 2, 3000, 'pong');
    assert.equal(d.pongs[1].toString(), 'after-login');
    d.ws.ping();                                           // empty payload
    await d.waitUntil(() => d.pongs.length >= 3, 3000, 'pong');
    assert.equal(d.pongs[2].length, 0);
    await d.expectNothing(200);                            // pongs are not hardware frames
    d.end();
  });

  it('a text message is ignored, even one holding hardware frame bytes; the binary stream goes on intact', async () => {
    const d = await wsLogin(tokWs);
    // the bytes of PING msgId 30 as a text message: not part of the hardware stream
    d.ws.send(frame(Cmd.PING, 30).toString('latin1'), { binary: false });
    d.ws.send('hello', { binary: false });
    await d.expectNothing(300);
    // half a frame in binary, a text message, then the other half in binary
    const p = frame(Cmd.PING, 31);
    d.sendBytes(p.subarray(0, 2));
    d.ws.send('in between', { binary: false });
    d.sendBytes(p.subarray(2));
    await d.expectResponse(31, Status.OK);
    await d.expectNothing(200);
    d.end();
  });

  // A continuation belongs to the message it continues: one that began as text is ignored whole.
  it('a fragmented text message is ignored as a whole: its continuation frames are not hardware bytes', async () => {
    const d = await wsLogin(tokWs);
    d.ws.send('x', { binary: false, fin: false });
    d.ws.send(frame(Cmd.PING, 32).toString('latin1'), { fin: true });  // continuation of the text
    await d.expectNothing(300);
    await d.ping(33);
    d.end();
  });

  it('one websocket message of exactly 65540 bytes (a frame with the largest body) is accepted', async () => {
    const d = await wsLogin(tokWs);
    const value = 'x'.repeat(65535 - 'vw\x0015\x00'.length);
    const big = frame(Cmd.HARDWARE, 40, ['vw', 15, value]);
    assert.equal(big.length, 65540);
    d.sendBytes(big);
    await d.ping(41);
    d.end();
  });

  it('a websocket message larger than 65540 bytes closes the connection; other devices are unaffected', async () => {
    const t = cleanup.add(await srv.login(tokTcp));
    const d = await wsLogin(tokWs);
    d.sendBytes(Buffer.concat([frame(Cmd.PING, 50), Buffer.alloc(65541 - 5)]));
    await d.expectClose();
    assert.deepEqual(d.frames, [], 'nothing of the oversize message may be answered');
    await t.ping(51);
    t.end();
  });

  // The limit is on the whole message, not on each of its frames.
  it('a fragmented websocket message larger than 65540 bytes in total closes the connection', async () => {
    const d = await wsLogin(tokWs);
    const value = 'x'.repeat(65535 - 'vw\x0015\x00'.length);
    const big = Buffer.concat([frame(Cmd.HARDWARE, 42, ['vw', 15, value]), frame(Cmd.PING, 43)]);
    d.sendBytes(big.subarray(0, 40000), { fin: false });
    d.sendBytes(big.subarray(40000), { fin: true });
    await d.expectClose();
    assert.deepEqual(d.frames, [], 'nothing of the oversize message may be answered');
  });

  it('an unmasked client frame closes the connection', async () => {
    const { sock, head, rest } = await rawUpgrade('/websockets');
    cleanup.add(sock);
    assert.match(head, /^HTTP\/1\.1 101 /);
    assert.equal(rest.length, 0);
    // a masked login first, proving the raw framing is right
    sock.write(wsFrame(2, frame(Cmd.HARDWARE_LOGIN, 1, tokWs)));
    const ok = await withTimeout(new Promise((resolve) => sock.once('data', resolve)), 3000, 'login answer');
    assert.deepEqual([...ok], [0x82, 5, 0, 0, 1, 0, 200]);   // FIN+binary, 5 bytes: RESPONSE msgId 1 OK
    const closed = waitClosed(sock);
    sock.write(wsFrame(2, frame(Cmd.PING, 2), { mask: null }));
    const got = await closed;
    assert.equal(got.length, 0, `no answer to the unmasked frame: ${got.toString('hex')}`);
  });

  it('an unknown token is INVALID_TOKEN (9) over the websocket', async () => {
    const d = cleanup.add(await WsDevice.open());
    d.send(Cmd.HARDWARE_LOGIN, 1, 'ffffffffffffffffffffffffffffffff');
    await d.expectResponse(1, Status.INVALID_TOKEN);
    d.send(Cmd.HARDWARE_LOGIN, 2, 'short');
    await d.expectResponse(2, Status.INVALID_TOKEN);
    d.end();
  });

  it('never a msgId 0: a request with msgId 0 is answered with a non-zero msgId', async () => {
    const d = await wsLogin(tokWs);
    d.send(Cmd.PING, 0);
    const f = await d.expectFrame();                       // the helper fails on msgId 0
    assert.equal(f.cmd, 0);
    assert.equal(f.status, Status.OK);
    assert.notEqual(f.msgId, 0);
    d.send(Cmd.HARDWARE_SYNC, 0, ['vr', 5]);
    const g = await d.expectFrame();
    assert.ok(g.cmd === Cmd.HARDWARE && g.msgId !== 0, `expected HARDWARE with a non-zero msgId, got ${describeFrame(g)}`);
    d.end();
  });

  it('an upgrade on another path is 404 (ws and wss); /websocket paths only', async () => {
    for (const [tls, path] of [[false, '/foo'], [true, '/foo'], [false, '/dashws'], [false, '/']]) {
      await assert.rejects(WsDevice.open({ tls, path }), (e) => {
        assert.equal(e.statusCode, 404, `${tls ? 'wss' : 'ws'} ${path}: ${e.message}`);
        return true;
      });
    }
    const { sock, head } = await rawUpgrade('/foo');
    cleanup.add(sock);
    assert.match(head, /^HTTP\/1\.1 404 /);
    assert.match(head, /\r\naccess-control-allow-origin: \*/i);
    await waitClosed(sock);                                 // answered with Connection: close
  });
});
