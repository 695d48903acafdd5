// Port unification and HTTP limits (docs/reference/protocol.md §1; docs/reference/http-api.md §1; config/blynk.toml [http]):
// the device ports tell Blynk hardware from HTTP by the first bytes, plain and inside TLS; the
// [http] limits answer 413 (max_body), 431 (header_limit), 408 (header_timeout) and close idle
// keep-alive connections (idle_timeout); pipelined requests are answered in order; garbage after
// an HTTP method prefix is 400. A hardware device stays connected and working throughout.
//
// Raw sockets (node net/tls) for wire-level checks, real curl where a real client is natural.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { execFile } from 'node:child_process';
import { writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import {
  Server, Cmd, Cleanup, withTimeout, mkTmp,
} from '../lib/harness.js';

const MAX_BODY = 2048;
const HEADER_LIMIT = 1024;
const HEADER_TIMEOUT_S = 1;
const IDLE_TIMEOUT_S = 1;
// The server checks timeouts on a periodic sweep; a deadline it promises is met within this slack.
const SLACK_MS = 2000;

const cleanup = new Cleanup();
let srv;
let token;
let device;        // a raw hardware device logged in on the plain port for the whole file
let pingId = 100;
const STATIC_TEXT = 'static file body\n';

before(async () => {
  const staticDir = mkTmp('static');
  cleanup.add(() => rmSync(staticDir, { recursive: true, force: true }));
  writeFileSync(path.join(staticDir, 'a.txt'), STATIC_TEXT);
  srv = cleanup.add(await Server.start({
    name: 'http-limits',
    config: {
      http: {
        max_body: MAX_BODY,
        header_limit: HEADER_LIMIT,
        header_timeout: HEADER_TIMEOUT_S,
        idle_timeout: IDLE_TIMEOUT_S,
        static_dir: staticDir,
      },
    },
  }));
  token = await srv.addDevice('http@example.com', 'http-neighbour');
  device = cleanup.add(await srv.login(token));
  device.send(Cmd.HARDWARE, 2, ['vw', 1, 'before']);
});
after(() => cleanup.run());

// The hardware device keeps working while HTTP clients misbehave on the same ports.
afterEach(async () => {
  pingId += 1;
  await device.ping(pingId);
});

/** Raw HTTP over a socket: parses responses (status line, headers, Content-Length body) in order. */
class RawHttp {
  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.responses = [];
    this.closed = false;
    this.closedAt = 0;
    this.waiter = null;
    this.bad = null;
    sock.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this.parse(); this.wake(); });
    sock.on('close', () => { this.closed = true; this.closedAt = Date.now(); this.wake(); });
    sock.on('error', (e) => { this.error = e; });
  }

  static connect({ tls: useTls = false, port } = {}) {
    const p = port || (useTls ? srv.tlsPort : srv.hwPort);
    return withTimeout(new Promise((resolve, reject) => {
      let sock;
      const ready = () => { sock.removeListener('error', reject); resolve(cleanup.add(new RawHttp(sock))); };
      if (useTls) {
        // the generated certificate as the only CA; it names IP 127.0.0.1
        sock = tls.connect({ host: '127.0.0.1', port: p, ca: srv.cert() }, ready);
      } else {
        sock = net.connect({ host: '127.0.0.1', port: p }, ready);
      }
      sock.once('error', reject);
    }), 5000, `connect 127.0.0.1:${p}`);
  }

  parse() {
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = this.buf.subarray(0, end).toString('latin1').split('\r\n');
      const m = lines[0].match(/^HTTP\/1\.[01] (\d{3}) ?(.*)$/);
      if (!m) { this.bad = `not an HTTP response: ${JSON.stringify(lines[0])}`; return; }
      const headers = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      if (headers['content-length'] === undefined) { this.bad = `response without Content-Length: ${lines.join(' | ')}`; return; }
      const len = Number(headers['content-length']);
      if (this.buf.length < end + 4 + len) return;
      const body = this.buf.subarray(end + 4, end + 4 + len).toString('utf8');
      this.buf = this.buf.subarray(end + 4 + len);
      this.responses.push({ status: Number(m[1]), headers, body, at: Date.now() });
    }
  }

  wake() {
    if (this.waiter) { const w = this.waiter; this.waiter = null; w(); }
  }

  async waitUntil(pred, timeoutMs, what) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.bad) throw new Error(this.bad);
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

  write(data) { this.sock.write(data); }

  async expectResponse(timeoutMs = 3000) {
    return this.waitUntil(() => {
      if (this.responses.length) return this.responses.shift();
      if (this.closed) {
        throw new Error(`closed while waiting for a response; unparsed: ${JSON.stringify(this.buf.toString('latin1'))}`);
      }
      return null;
    }, timeoutMs, 'HTTP response');
  }

  async expectClose(timeoutMs = 3000) {
    await this.waitUntil(() => this.closed, timeoutMs, 'close by the server');
    assert.equal(this.buf.length, 0, `bytes after the last response: ${JSON.stringify(this.buf.toString('latin1'))}`);
  }

  async expectNothing(ms) {
    const deadline = Date.now() + ms;
    await this.waitUntil(() => {
      if (this.responses.length) throw new Error(`expected silence, got HTTP ${this.responses[0].status}`);
      if (this.closed) throw new Error('expected silence, but the server closed the connection');
      return Date.now() >= deadline;
    }, ms + 1000, 'silence');
  }

  close() { this.sock.destroy(); }
}

const GET = (p, extra = '') => `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;

/** Runs curl (bounded), `input` on its stdin; resolves {code, stdout, stderr}. */
function curl(args, { input = '', timeoutMs = 10000 } = {}) {
  return new Promise((resolve) => {
    const child = execFile('curl', ['-sS', '--max-time', String(Math.ceil(timeoutMs / 1000)), ...args],
      { timeout: timeoutMs + 2000, killSignal: 'SIGKILL', maxBuffer: 1 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
    child.stdin.on('error', () => { /* curl may exit before reading all of it */ });
    child.stdin.end(input);
  });
}

/** Parses the head of `curl -i` output (the last response if curl followed anything). */
function curlHead(out) {
  const heads = out.split(/\r\n\r\n/);
  const lines = heads[0].split('\r\n');
  const status = Number(lines[0].split(' ')[1]);
  const headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status, headers, body: heads.slice(1).join('\r\n\r\n') };
}

function assertLegacy404(r, what) {
  assert.equal(r.status, 404, `${what}: status`);
  assert.equal(r.headers['access-control-allow-origin'], '*', `${what}: Access-Control-Allow-Origin`);
  assert.equal(r.headers['content-length'], '0', `${what}: Content-Length`);
  assert.equal(r.body, '', `${what}: body`);
}

describe('port unification', () => {
  it('the plain hardware port answers a Blynk login and an HTTP request (curl: GET /x → 404, ACAO *, Content-Length 0)', async () => {
    const hw = cleanup.add(await srv.login(token));
    const r = await curl(['-i', `http://127.0.0.1:${srv.hwPort}/x`]);
    assert.equal(r.code, 0, `curl failed: ${r.stderr}`);
    assertLegacy404(curlHead(r.stdout), 'curl http');
    await hw.ping(2);
    hw.end();
    // the same, raw
    const h = await RawHttp.connect();
    h.write(GET('/x'));
    assertLegacy404(await h.expectResponse(), 'raw http');
    h.close();
  });

  it('the TLS port answers a Blynk login and HTTPS (curl --cacert <data_dir>/tls/cert.pem)', async () => {
    const hw = cleanup.add(await srv.login(token, { tls: true }));
    const r = await curl(['-i', '--cacert', srv.certPath, `https://127.0.0.1:${srv.tlsPort}/x`]);
    assert.equal(r.code, 0, `curl failed: ${r.stderr}`);
    assertLegacy404(curlHead(r.stdout), 'curl https');
    const s = await curl(['--cacert', srv.certPath, `https://127.0.0.1:${srv.tlsPort}/static/a.txt`]);
    assert.equal(s.code, 0, `curl failed: ${s.stderr}`);
    assert.equal(s.stdout, STATIC_TEXT);
    await hw.ping(2);
    hw.end();
    const h = await RawHttp.connect({ tls: true });
    h.write(GET('/x'));
    assertLegacy404(await h.expectResponse(), 'raw https');
    h.close();
  });

  it('curl without the certificate refuses the TLS port (it is self-signed)', async () => {
    const r = await curl(['-o', '/dev/null', `https://127.0.0.1:${srv.tlsPort}/x`]);
    assert.notEqual(r.code, 0, 'curl must not trust the generated certificate without --cacert');
  });

  it('curl reuses a keep-alive connection for two requests', async () => {
    const u = `http://127.0.0.1:${srv.hwPort}`;
    const r = await curl(['-v', '-o', '/dev/null', '-o', '/dev/null', `${u}/x`, `${u}/static/a.txt`]);
    assert.equal(r.code, 0, `curl failed: ${r.stderr}`);
    assert.match(r.stderr, /< HTTP\/1\.1 404/);
    assert.match(r.stderr, /< HTTP\/1\.1 200/);
    assert.match(r.stderr, /Re-using existing connection/i, r.stderr);
  });
});

describe('HTTP limits', () => {
  it(`a body over [http] max_body (${MAX_BODY}) is 413 and the connection is closed; one within it is not`, async () => {
    const ok = await RawHttp.connect();
    ok.write(`POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: ${MAX_BODY}\r\n\r\n${'b'.repeat(MAX_BODY)}`);
    assertLegacy404(await ok.expectResponse(), 'body at the limit');
    ok.write(GET('/x'));                                   // still open: keep-alive
    assertLegacy404(await ok.expectResponse(), 'next request');
    ok.close();

    const h = await RawHttp.connect();
    h.write(`POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: ${MAX_BODY + 1}\r\n\r\n${'b'.repeat(MAX_BODY + 1)}`);
    const r = await h.expectResponse();
    assert.equal(r.status, 413);
    assert.equal(r.headers['access-control-allow-origin'], '*');
    assert.match(r.headers.connection || '', /close/i);
    await h.expectClose();

    // announced only: the answer does not wait for the body
    const a = await RawHttp.connect();
    a.write(`POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n`);
    assert.equal((await a.expectResponse()).status, 413);
    await a.expectClose();

    // chunked, going over the limit only in its second chunk
    const c = await RawHttp.connect();
    const chunk = 'c'.repeat(1500);
    c.write(`POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${(1500).toString(16)}\r\n${chunk}\r\n`);
    c.write(`${(1500).toString(16)}\r\n${chunk}\r\n0\r\n\r\n`);
    assert.equal((await c.expectResponse()).status, 413);
    await c.expectClose();
  });

  // After an error answer the server stops sending and drains what the client still sends before it
  // closes (a lingering close); closing at once would reset the connection and lose the answer.
  // curl without `Expect: 100-continue` sends its whole body before reading.
  it('a client still sending an oversize body (1 MB in one write) receives the 413 before the close', async () => {
    const h = await RawHttp.connect();
    const big = 'b'.repeat(1 << 20);
    h.write(`POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: ${big.length}\r\n\r\n${big}`);
    assert.equal((await h.expectResponse()).status, 413);
    await h.expectClose();
    const r = await curl(['-i', '-X', 'POST', '-H', 'Expect:', '--data-binary', '@-',
      `http://127.0.0.1:${srv.hwPort}/x`], { input: 'z'.repeat(200000) });
    assert.equal(r.code, 0, `curl failed: ${r.stderr}`);
    assert.equal(curlHead(r.stdout).status, 413);
  });

  it('a client still sending an oversize head (300 KB in one write) receives the 431 before the close', async () => {
    const h = await RawHttp.connect();
    h.write(GET('/x', `X-Filler: ${'f'.repeat(300000)}\r\n`));
    assert.equal((await h.expectResponse()).status, 431);
    await h.expectClose();
  });

  it('curl posting a body over max_body gets 413', async () => {
    // (curl 7.x sends `Expect: 100-continue` for such a body and waits for the answer first)
    const r = await curl(['-i', '-X', 'POST', '--data-binary', '@-', `http://127.0.0.1:${srv.hwPort}/x`],
      { input: 'z'.repeat(MAX_BODY * 2) });
    assert.equal(r.code, 0, `curl failed: ${r.stderr}`);
    assert.equal(curlHead(r.stdout).status, 413);
  });

  it(`a request head over [http] header_limit (${HEADER_LIMIT}) is 431 and closed, whether sent at once or in pieces`, async () => {
    const big = `X-Filler: ${'f'.repeat(HEADER_LIMIT)}\r\n`;
    const h = await RawHttp.connect();
    h.write(GET('/x', big));
    const r = await h.expectResponse();
    assert.equal(r.status, 431);
    assert.equal(r.headers['access-control-allow-origin'], '*');
    await h.expectClose();

    // a head that never ends: over the limit is enough, no need to wait for the blank line
    const p = await RawHttp.connect();
    let unfinished = 'GET /x HTTP/1.1\r\nHost: a\r\n';
    for (let i = 0; i < 3; i++) unfinished += `X-${i}: ${'g'.repeat(HEADER_LIMIT / 2)}\r\n`;
    p.write(unfinished);
    assert.equal((await p.expectResponse()).status, 431);
    await p.expectClose();

    // the same in separate writes, some arriving after the answer (they are drained, not reset)
    const q = await RawHttp.connect();
    q.write('GET /x HTTP/1.1\r\nHost: a\r\n');
    for (let i = 0; i < 4; i++) q.write(`X-${i}: ${'g'.repeat(HEADER_LIMIT / 2)}\r\n`);
    assert.equal((await q.expectResponse()).status, 431);
    await q.expectClose();

    // just within the limit is fine
    const ok = await RawHttp.connect();
    const head = GET('/x');
    ok.write(GET('/x', `X-Fit: ${'k'.repeat(HEADER_LIMIT - head.length - 'X-Fit: \r\n'.length - 16)}\r\n`));
    assertLegacy404(await ok.expectResponse(), 'head within the limit');
    ok.close();
  });

  it(`half a request head and nothing more is 408 within header_timeout (${HEADER_TIMEOUT_S} s), then closed`, async () => {
    const h = await RawHttp.connect();
    const sent = Date.now();
    h.write('GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    const r = await h.expectResponse(HEADER_TIMEOUT_S * 1000 + SLACK_MS);
    assert.equal(r.status, 408);
    assert.equal(r.headers['access-control-allow-origin'], '*');
    assert.ok(r.at - sent >= HEADER_TIMEOUT_S * 1000 - 100, `408 came after only ${r.at - sent} ms`);
    await h.expectClose();
  });

  it(`a whole head with half its body and nothing more is 408 within header_timeout (${HEADER_TIMEOUT_S} s), then closed`, async () => {
    const h = await RawHttp.connect();
    const sent = Date.now();
    h.write('POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n0123456789');
    const r = await h.expectResponse(HEADER_TIMEOUT_S * 1000 + SLACK_MS);
    assert.equal(r.status, 408);
    assert.ok(r.at - sent >= HEADER_TIMEOUT_S * 1000 - 100, `408 came after only ${r.at - sent} ms`);
    await h.expectClose();
  });

  it(`an idle keep-alive connection is closed after [http] idle_timeout (${IDLE_TIMEOUT_S} s), without a response`, async () => {
    const h = await RawHttp.connect();
    h.write(GET('/x'));
    const r = await h.expectResponse();
    assert.equal(r.status, 404);
    assert.doesNotMatch(r.headers.connection || '', /close/i, 'HTTP/1.1 is keep-alive by default');
    await h.expectClose(IDLE_TIMEOUT_S * 1000 + SLACK_MS);
    const idle = h.closedAt - r.at;
    assert.ok(idle >= IDLE_TIMEOUT_S * 1000 - 100, `closed after only ${idle} ms of idleness`);
  });

  it('two pipelined requests in one write get two responses, in order', async () => {
    const h = await RawHttp.connect();
    h.write(GET('/static/a.txt') + GET('/x'));
    const a = await h.expectResponse();
    const b = await h.expectResponse();
    assert.equal(a.status, 200);
    assert.equal(a.body, STATIC_TEXT);
    assertLegacy404(b, 'second pipelined');
    // and the other way round, with a third that closes
    h.write(GET('/x') + GET('/static/a.txt') + GET('/nothing', 'Connection: close\r\n'));
    assert.equal((await h.expectResponse()).status, 404);
    assert.equal((await h.expectResponse()).status, 200);
    const c = await h.expectResponse();
    assert.equal(c.status, 404);
    assert.match(c.headers.connection || '', /close/i);
    await h.expectClose();
  });

  it('Connection: close closes after the answer; HTTP/1.0 without keep-alive too', async () => {
    const h = await RawHttp.connect();
    h.write(GET('/static/a.txt', 'Connection: close\r\n'));
    const r = await h.expectResponse();
    assert.equal(r.status, 200);
    assert.equal(r.body, STATIC_TEXT);
    assert.match(r.headers.connection || '', /close/i);
    await h.expectClose();

    const o = await RawHttp.connect();
    o.write('GET /x HTTP/1.0\r\n\r\n');
    assert.equal((await o.expectResponse()).status, 404);
    await o.expectClose();

    const r2 = await curl(['-i', '-H', 'Connection: close', `http://127.0.0.1:${srv.hwPort}/x`]);
    assert.equal(r2.code, 0, r2.stderr);
    const c = curlHead(r2.stdout);
    assert.equal(c.status, 404);
    assert.match(c.headers.connection || '', /close/i);
  });

  for (const [name, bytes] of [
    ['binary bytes after "GET "', 'GET \x01\x02\x03\x04\r\n\r\n'],
    ['no version', 'GET /x\r\n\r\n'],
    ['a bad version', 'GET /x HTTP/X.Y\r\nHost: a\r\n\r\n'],
    ['a header line without a colon', 'POST /x HTTP/1.1\r\nHost: a\r\nno colon here\r\n\r\n'],
    ['a bad Content-Length', 'PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: ten\r\n\r\n'],
  ]) {
    it(`garbage after a valid HTTP method prefix (${name}) is 400 and closed`, async () => {
      const h = await RawHttp.connect();
      h.write(Buffer.from(bytes, 'latin1'));
      const r = await h.expectResponse();
      assert.equal(r.status, 400);
      assert.equal(r.headers['access-control-allow-origin'], '*');
      await h.expectClose();
    });
  }

  it('the same limits and answers inside TLS (413, 431, pipelining)', async () => {
    const a = await RawHttp.connect({ tls: true });
    a.write(`POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: ${MAX_BODY + 1}\r\n\r\n`);
    assert.equal((await a.expectResponse()).status, 413);
    await a.expectClose();
    const b = await RawHttp.connect({ tls: true });
    b.write(GET('/x', `X-Filler: ${'f'.repeat(HEADER_LIMIT)}\r\n`));
    assert.equal((await b.expectResponse()).status, 431);
    await b.expectClose();
    const c = await RawHttp.connect({ tls: true });
    c.write(GET('/static/a.txt') + GET('/x'));
    assert.equal((await c.expectResponse()).status, 200);
    assertLegacy404(await c.expectResponse(), 'pipelined over TLS');
    c.close();
  });

  it('the hardware device connected before all of the above still works: its write and a fresh one read back', async () => {
    assert.equal(device.closed, false);
    device.send(Cmd.HARDWARE, 3, ['vw', 1, 'after']);
    const [f] = await device.sync(4, ['vr', 1], 1);
    assert.equal(f.body.toString(), 'vw\x001\x00after');
    device.checkViolations();
    const other = cleanup.add(await srv.login(token, { tls: true }));
    await other.pollPin(1, ['after']);
    other.end();
  });
});
