// Abuse (issue 5, part 4): connections that never log in, slow HTTP heads, repeated bad tokens
// from one address ([security] login_failures ...), truncated and oversize frames, and one
// user's flood against another user's traffic. Tests assert behaviour only; the latency ratio
// under a flood is measured by bench/flood_latency.js, not asserted here (noisy machines).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import {
  Server, Cmd, Status, Cleanup, frame, describeFrame, withTimeout, INFO_JS,
} from '../lib/harness.js';

const cleanup = new Cleanup();
after(() => cleanup.run());

const LOGIN_TIMEOUT_S = 2;
const HEADER_TIMEOUT_S = 2;
const SWEEP_MS = 250;          // the server checks timeouts every 250 ms
const SLACK_MS = 2500;         // scheduling slack on a loaded 2-core machine
const QUOTA = 50;

const badToken = () => randomBytes(16).toString('hex').replace(/^./, 'z'); // 32 chars, never a real token

const pct = (xs, p) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/** Resolves once pred() is true, checking on every call of poke(); bounded. */
function condition(pred, timeoutMs, what) {
  let wake;
  const p = new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${what()}`)), timeoutMs);
    wake = () => { if (pred()) { clearTimeout(t); resolve(); } };
  });
  return { promise: p, poke: () => wake() };
}

/** A device that pings (and writes) in a loop until stop(); every answer is awaited with a bound. */
function keepBusy(c, label) {
  const state = { rtts: [], lastWrite: null };
  let running = true;
  let id = 1000;
  const done = (async () => {
    while (running) {
      const m = id++;
      const t0 = performance.now();
      await c.ping(m, 3000).catch((e) => { throw new Error(`${label}: PING ${m} not answered: ${e.message}`); });
      state.rtts.push(performance.now() - t0);
      state.lastWrite = `alive${m}`;
      c.send(Cmd.HARDWARE, id++, ['vw', 1, state.lastWrite]);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  state.stop = async () => { running = false; await done; };
  return state;
}

// ------------------------------------------------------------------------------------------------
describe('connections that never log in', () => {
  let srv;
  before(async () => {
    srv = cleanup.add(await Server.start({
      name: 'abuse-idle',
      config: { hardware: { login_timeout: LOGIN_TIMEOUT_S } },
    }));
  });

  it(`3000 plain + 100 TLS + 50 websocket connections that never log in are all closed by the server within login_timeout (${LOGIN_TIMEOUT_S} s) + one sweep, while a logged-in device keeps getting its PINGs and writes answered`, async (t) => {
    const token = await srv.addDevice('busy@example.com', 'busy');
    const dev = cleanup.add(await srv.login(token));
    const busy = keepBusy(dev, 'logged-in device');

    const PLAIN = 3000, TLS = 100, WS = 50;
    const total = PLAIN + TLS + WS;
    // start: before connecting (no later than the server's accept, where its login timer
    // starts; a TLS handshake or a busy client loop can delay `at` by far more);
    // at: connected (handshake done, upgraded).
    const opened = [];   // {kind, start, at, closedAt}
    let closedCount = 0;
    const all = condition(() => closedCount === total, (LOGIN_TIMEOUT_S * 1000) + 60000,
      () => `${closedCount} of ${total} idle connections closed`);

    const track = (sock, kind) => {
      const rec = { kind, start: performance.now(), at: 0, closedAt: 0 };
      opened.push(rec);
      sock.on('error', () => {});
      sock.on('close', () => { rec.closedAt = performance.now(); closedCount += 1; all.poke(); });
      return rec;
    };
    // Plain sockets, opened in batches of 500 (as fast as the client can).
    for (let b = 0; b < PLAIN; b += 500) {
      await Promise.all(Array.from({ length: Math.min(500, PLAIN - b) }, () => new Promise((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port: srv.hwPort });
        const rec = track(s, 'plain');
        s.once('connect', () => { rec.at = performance.now(); resolve(); });
        s.once('error', reject);
      })));
    }
    // TLS sockets: handshake done, then nothing.
    const ca = srv.cert();
    await Promise.all(Array.from({ length: TLS }, () => new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: srv.tlsPort, ca, checkServerIdentity: () => undefined });
      const rec = track(s, 'tls');
      s.once('secureConnect', () => { rec.at = performance.now(); resolve(); });
      s.once('error', reject);
    })));
    // Websockets: upgraded, then no login frame.
    await Promise.all(Array.from({ length: WS }, () => new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${srv.hwPort}/websockets`);
      const rec = { kind: 'ws', start: performance.now(), at: 0, closedAt: 0 };
      opened.push(rec);
      ws.on('error', () => {});
      ws.once('open', () => { rec.at = performance.now(); resolve(); });
      ws.once('unexpected-response', (_, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.on('close', () => { rec.closedAt = performance.now(); closedCount += 1; all.poke(); });
    })));
    all.poke();
    await all.promise;
    await busy.stop();

    const lives = opened.map((r) => r.closedAt - r.at);
    const limit = LOGIN_TIMEOUT_S * 1000 + SWEEP_MS + SLACK_MS;
    const early = opened.filter((r) => r.closedAt - r.start < LOGIN_TIMEOUT_S * 1000 - 100).length;
    const late = lives.filter((l) => l > limit).length;
    t.diagnostic(`idle connections: ${total}; lifetime p50 ${pct(lives, 50).toFixed(0)} ms, max ${Math.max(...lives).toFixed(0)} ms`);
    t.diagnostic(`logged-in device: ${busy.rtts.length} PINGs, RTT p50 ${pct(busy.rtts, 50).toFixed(1)} ms, p99 ${pct(busy.rtts, 99).toFixed(1)} ms, max ${Math.max(...busy.rtts).toFixed(1)} ms`);
    assert.equal(early, 0, `${early} idle connections were closed before login_timeout`);
    assert.equal(late, 0, `${late} idle connections lived longer than ${limit} ms`);
    assert.ok(busy.rtts.length >= 10, `the device got only ${busy.rtts.length} PINGs answered`);

    // The device is still logged in and its last write was stored.
    const [f] = await dev.sync(60000, ['vr', 1], 1);
    assert.equal(f.fields[2], busy.lastWrite);
    assert.match(srv.log, /no login within 2 s; closing/);
    dev.end();
  });

  it('a truncated frame (header promising 1000 bytes, 10 sent) before login is closed at login_timeout; the server goes on', async () => {
    const c = cleanup.add(await srv.connect());
    const h = Buffer.alloc(5);
    h.writeUInt8(Cmd.HARDWARE_LOGIN, 0); h.writeUInt16BE(1, 1); h.writeUInt16BE(1000, 3);
    const t0 = performance.now();
    c.write(Buffer.concat([h, Buffer.alloc(10, 0x41)]));
    await c.expectClose(LOGIN_TIMEOUT_S * 1000 + SWEEP_MS + SLACK_MS);
    assert.ok(performance.now() - t0 >= LOGIN_TIMEOUT_S * 1000 - 100);
    assert.deepEqual(c.received, [], 'nothing is answered to half a frame');
    const token = await srv.addDevice('trunc@example.com', 'after');
    const d = cleanup.add(await srv.login(token));
    await d.ping(2);
    d.end();
  });

  it('an oversize frame over TLS closes the connection (as on the plain port), before and after login', async () => {
    const token = await srv.addDevice('big@example.com', 'tls');
    const a = cleanup.add(await srv.connect({ tls: true }));
    a.write(frame(Cmd.HARDWARE_LOGIN, 1, 'x'.repeat(20000)));  // over max_body 16384
    await a.expectClose(5000);
    const b = cleanup.add(await srv.login(token, { tls: true }));
    const mark = srv.log.length;
    const port = b.localPort;
    b.write(frame(Cmd.HARDWARE, 2, ['vw', 1, 'y'.repeat(17000)]));
    await b.expectClose(5000);
    await srv.waitForLog(new RegExp(`127\\.0\\.0\\.1:${port}\\b`), 3000, mark);
    const c = cleanup.add(await srv.login(token));
    await c.ping(3);
    c.end();
  });
});

// ------------------------------------------------------------------------------------------------
describe('slow HTTP heads (slowloris)', () => {
  let srv;
  before(async () => {
    srv = cleanup.add(await Server.start({
      name: 'abuse-slowloris',
      config: { http: { header_timeout: HEADER_TIMEOUT_S }, hardware: { login_timeout: 30 } },
    }));
  });

  it(`500 connections dripping one header line every 300 ms all get 408 and are closed within header_timeout (${HEADER_TIMEOUT_S} s) + one sweep; a device and a quick HTTP request are served meanwhile`, async (t) => {
    const token = await srv.addDevice('http@example.com', 'dev');
    const dev = cleanup.add(await srv.login(token));
    const busy = keepBusy(dev, 'device during slowloris');
    const N = 500;
    const recs = [];
    let finished = 0;
    const all = condition(() => finished === N, HEADER_TIMEOUT_S * 1000 + 60000, () => `${finished} of ${N} slow clients closed`);
    await Promise.all(Array.from({ length: N }, (_, i) => new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port: srv.hwPort });
      const rec = { at: 0, closedAt: 0, answer: '' };
      recs.push(rec);
      let timer = null;
      s.on('error', () => {});
      s.on('data', (d) => { rec.answer += d.toString('latin1'); });
      s.on('close', () => {
        clearInterval(timer);
        rec.closedAt = performance.now();
        finished += 1;
        all.poke();
      });
      s.once('connect', () => {
        rec.at = performance.now();
        s.write(`GET /slow${i} HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
        timer = setInterval(() => { if (!s.destroyed) s.write(`X-Drip-${i}: ${Date.now()}\r\n`); }, 300);
        resolve();
      });
      s.once('error', reject);
    })));

    // A well-behaved HTTP client is answered promptly meanwhile.
    const quick = await withTimeout(new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port: srv.hwPort }, () => {
        s.write('GET /nothing-here HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
      });
      let out = '';
      s.on('data', (d) => { out += d.toString('latin1'); });
      s.on('close', () => resolve(out));
      s.on('error', reject);
    }), 5000, 'a quick HTTP request during the slowloris');
    assert.match(quick, /^HTTP\/1\.1 404 /);

    all.poke();
    await all.promise;
    await busy.stop();
    const lives = recs.map((r) => r.closedAt - r.at);
    const limit = HEADER_TIMEOUT_S * 1000 + SWEEP_MS + SLACK_MS;
    t.diagnostic(`slow clients: ${N}; lifetime p50 ${pct(lives, 50).toFixed(0)} ms, max ${Math.max(...lives).toFixed(0)} ms; device PING p99 ${pct(busy.rtts, 99).toFixed(1)} ms over ${busy.rtts.length}`);
    const not408 = recs.filter((r) => !/^HTTP\/1\.1 408 /.test(r.answer)).length;
    assert.equal(not408, 0, `${not408} slow clients did not get 408`);
    assert.equal(lives.filter((l) => l > limit).length, 0, `some slow clients lived longer than ${limit} ms`);
    assert.equal(lives.filter((l) => l < HEADER_TIMEOUT_S * 1000 - 100).length, 0, 'closed before header_timeout');
    await dev.ping(7);
    dev.end();
  });
});

// ------------------------------------------------------------------------------------------------
/** A hardware login over a websocket; resolves with the status of the answer. */
function wsLogin(port, token) {
  return withTimeout(new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/websockets`);
    ws.on('error', reject);
    ws.once('open', () => ws.send(frame(Cmd.HARDWARE_LOGIN, 1, token), { binary: true }));
    ws.once('message', (d) => {
      const b = Buffer.from(d);
      ws.close();
      resolve(b.readUInt8(0) === 0 ? b.readUInt16BE(3) : -1);
    });
  }), 5000, 'websocket login');
}

async function loginStatus(srv, token, opts = {}) {
  const c = await srv.connect(opts);
  c.send(Cmd.HARDWARE_LOGIN, 1, token);
  const f = await c.expectFrame(3000);
  assert.equal(f.cmd, 0, `a RESPONSE to the login, got ${describeFrame(f)}`);
  return { c, status: f.status };
}

describe('repeated bad tokens from one address ([security])', () => {
  let srv;
  let good;
  const FAILS = 5;
  const BLOCK_S = 3;
  before(async () => {
    srv = cleanup.add(await Server.start({
      name: 'abuse-throttle',
      config: { security: { login_failures: FAILS, login_failure_window: 60, login_block: BLOCK_S } },
    }));
    good = await srv.addDevice('victim@example.com', 'dev');
  });

  it(`${FAILS} bad tokens within the window block the address for login_block (${BLOCK_S} s): even a valid token is INVALID_TOKEN on plain, TLS and websockets; one warning names the address and no token; connected devices stay; then logins work again`, async () => {
    const connected = cleanup.add(await srv.login(good));   // logged in before the block
    const bads = [];
    const c = cleanup.add(await srv.connect());
    let blockAt = 0;
    for (let i = 0; i < FAILS; i++) {
      const tok = badToken();
      bads.push(tok);
      c.send(Cmd.HARDWARE_LOGIN, 10 + i, tok);
      await c.expectResponse(10 + i, Status.INVALID_TOKEN);
      blockAt = performance.now();
    }
    await srv.waitForLog(/127\.0\.0\.1: 5 refused logins within 60 s; logins from this address are refused for 3 s/, 3000);

    // Blocked: the right token is refused on every transport, and so is one just added to storage.
    const plain = await loginStatus(srv, good);
    assert.equal(plain.status, Status.INVALID_TOKEN, 'plain login while blocked');
    plain.c.close();
    const overTls = await loginStatus(srv, good, { tls: true });
    assert.equal(overTls.status, Status.INVALID_TOKEN, 'TLS login while blocked');
    overTls.c.close();
    assert.equal(await wsLogin(srv.hwPort, good), Status.INVALID_TOKEN, 'websocket login while blocked');
    const fresh = await srv.addDevice('victim@example.com', 'fresh');
    const f2 = await loginStatus(srv, fresh);
    assert.equal(f2.status, Status.INVALID_TOKEN, 'a token never seen by the server, while blocked');
    f2.c.close();

    // The device connected before the block is not disturbed.
    await connected.ping(77);

    // After the block: the first accepted login comes no earlier than login_block after it began.
    let okAt = 0;
    const deadline = Date.now() + BLOCK_S * 1000 + 10000;
    while (!okAt) {
      assert.ok(Date.now() < deadline, 'logins still refused long after login_block');
      const r = await loginStatus(srv, good);
      if (r.status === Status.OK) okAt = performance.now();
      r.c.close();
      if (!okAt) await new Promise((res) => setTimeout(res, 200));
    }
    assert.ok(okAt - blockAt >= BLOCK_S * 1000 - 300, `accepted ${Math.round(okAt - blockAt)} ms after the block began`);

    const warnings = srv.log.split('\n').filter((l) => /refused logins within/.test(l));
    assert.equal(warnings.length, 1, `one warning per block:\n${warnings.join('\n')}`);
    assert.match(warnings[0], /warn/i);
    for (const tok of [...bads, good, fresh]) assert.ok(!srv.allLogs.includes(tok), 'a token was written to the log');
    connected.end();
  });
});

describe('bad tokens over the HTTP API count toward the same throttle', () => {
  let srv;
  const FAILS = 4;
  before(async () => {
    srv = cleanup.add(await Server.start({
      name: 'abuse-throttle-http',
      config: {
        security: { login_failures: FAILS, login_failure_window: 60, login_block: 300 },
        plugins: { enabled: ['storage-sqlite', 'http-api'] },
      },
    }));
  });

  it(`${FAILS} unknown tokens on /TOKEN/isHardwareConnected block the address: the valid token gets "Invalid token." over HTTP and INVALID_TOKEN as a device login; one warning, no token logged`, async () => {
    const good = await srv.addDevice('http-victim@example.com', 'dev');
    const get = async (tok) => {
      const r = await fetch(`http://127.0.0.1:${srv.hwPort}/${tok}/isHardwareConnected`, { signal: AbortSignal.timeout(5000) });
      return { status: r.status, text: await r.text() };
    };
    assert.deepEqual(await get(good), { status: 200, text: 'false' }, 'the valid token works before the block');
    const bads = [];
    for (let i = 0; i < FAILS; i++) {
      bads.push(badToken());
      assert.deepEqual(await get(bads[i]), { status: 400, text: 'Invalid token.' });
    }
    await srv.waitForLog(/127\.0\.0\.1: 4 refused logins within 60 s; logins from this address are refused for 300 s/, 3000);
    assert.deepEqual(await get(good), { status: 400, text: 'Invalid token.' }, 'the valid token while blocked');
    const hw = await loginStatus(srv, good);
    assert.equal(hw.status, Status.INVALID_TOKEN, 'a device login from the blocked address');
    hw.c.close();
    const warnings = srv.log.split('\n').filter((l) => /refused logins within/.test(l));
    assert.equal(warnings.length, 1, `one warning per block:\n${warnings.join('\n')}`);
    for (const tok of [...bads, good]) assert.ok(!srv.allLogs.includes(tok), 'a token was written to the log');
  });
});

describe('login throttling can be turned off or exempt addresses', () => {
  const servers = {};
  before(async () => {
    servers.exempt = cleanup.add(await Server.start({
      name: 'abuse-exempt',
      config: { security: { login_failures: 2, login_exempt: ['127.0.0.0/8', '::1'] } },
    }));
    servers.off = cleanup.add(await Server.start({
      name: 'abuse-off',
      config: { security: { login_failures: 0 } },
    }));
  });

  for (const kind of ['exempt', 'off']) {
    it(`${kind === 'exempt' ? 'login_exempt = ["127.0.0.0/8", "::1"]' : 'login_failures = 0'}: 20 bad tokens, then the valid one is OK and nothing is warned`, async () => {
      const srv = servers[kind];
      const good = await srv.addDevice('ok@example.com', 'dev');
      const c = cleanup.add(await srv.connect());
      for (let i = 0; i < 20; i++) {
        c.send(Cmd.HARDWARE_LOGIN, 100 + i, badToken());
        await c.expectResponse(100 + i, Status.INVALID_TOKEN);
      }
      c.send(Cmd.HARDWARE_LOGIN, 200, good);
      await c.expectResponse(200, Status.OK);
      assert.ok(!/refused logins within/.test(srv.log));
      c.end();
    });
  }

  it('with no login keys in [security] the defaults apply: the 30th bad token within 60 s blocks the address for 300 s', async () => {
    const srv = cleanup.add(await Server.start({ name: 'abuse-defaults' }));
    const good = await srv.addDevice('ok@example.com', 'dev');
    const c = cleanup.add(await srv.connect());
    for (let i = 0; i < 29; i++) {
      c.send(Cmd.HARDWARE_LOGIN, 100 + i, badToken());
      await c.expectResponse(100 + i, Status.INVALID_TOKEN);
    }
    const ok = await loginStatus(srv, good);
    assert.equal(ok.status, Status.OK, '29 failures do not block');
    ok.c.close();
    c.send(Cmd.HARDWARE_LOGIN, 200, badToken());
    await c.expectResponse(200, Status.INVALID_TOKEN);
    await srv.waitForLog(/127\.0\.0\.1: 30 refused logins within 60 s; logins from this address are refused for 300 s/, 3000);
    const refused = await loginStatus(srv, good);
    assert.equal(refused.status, Status.INVALID_TOKEN, 'blocked after the 30th');
    refused.c.close();
    c.end();
  });

  it('bad [security] values are refused by `config check` with the key and what is allowed', async () => {
    const cases = [
      [{ login_exempt: ['not-an-ip'] }, /security\.login_exempt: 'not-an-ip' is not an IP address or range/],
      [{ login_exempt: ['10.0.0.0/40'] }, /security\.login_exempt: '10\.0\.0\.0\/40' has a bad prefix length \(0 to 32\)/],
      [{ login_exempt: '127.0.0.1' }, /security\.login_exempt: must be an array/],
      [{ login_failure_window: 0 }, /security\.login_failure_window: is 0; allowed: 1 to 86400/],
      [{ login_block: -1 }, /security\.login_block: is -1; allowed: 0 to 604800/],
      [{ login_tracked_addresses: 0 }, /security\.login_tracked_addresses: is 0; allowed: 1 to 10000000/],
      [{ bogus: 1 }, /security\.bogus: unknown key; known keys in \[security\]: login_block, login_exempt/],
    ];
    for (const [security, re] of cases) {
      const s = cleanup.add(Server.create({ name: 'abuse-badcfg', config: { security } }));
      const r = await s.cli(['config', 'check']);
      assert.equal(r.code, 2, `${JSON.stringify(security)}: exit ${r.code}\n${r.stdout}${r.stderr}`);
      assert.match(r.stderr, re);
      assert.ok(r.stderr.includes(s.configPath), 'the file is named');
    }
  });
});

// ------------------------------------------------------------------------------------------------
describe('one user\'s flood against another user', () => {
  let srv;
  before(async () => {
    srv = cleanup.add(await Server.start({
      name: 'abuse-flood',
      config: { hardware: { message_quota: QUOTA } },
    }));
  });

  it(`user A floods from 4 devices (writes and PINGs as fast as TCP takes them, far over message_quota ${QUOTA}/s) and is held to the quota (one QUOTA_LIMIT, excess dropped, still connected); user B's bridged writes all arrive, in order`, async (t) => {
    const aTokens = [];
    for (let i = 0; i < 4; i++) aTokens.push(await srv.addDevice('flooder@example.com', `a${i}`));
    const b1Tok = await srv.addDevice('quiet@example.com', 'b1');
    const b2Tok = await srv.addDevice('quiet@example.com', 'b2');
    const as = [];
    // three over plain TCP, one over TLS (both read paths pause a flooder)
    for (const [i, tok] of aTokens.entries()) as.push(cleanup.add(await srv.login(tok, { tls: i === 3 })));
    const b1 = cleanup.add(await srv.login(b1Tok));
    const b2 = cleanup.add(await srv.login(b2Tok));
    b1.send(Cmd.BRIDGE, 2, [64, 'i', b2Tok]);
    await b1.expectResponse(2, Status.OK);

    // A: floods from every device until B is done, as fast as the sockets take it (TCP holds it
    // back once the server stops reading): chunks of 1000 frames, nine HARDWARE writes then one
    // PING, so the PINGs answered OK count what got through.
    let flooding = true;
    const pushed = as.map(() => 0);
    const chunk = [];
    for (let i = 0; i < 1000; i++) {
      chunk.push(i % 10 === 9 ? frame(Cmd.PING, 1 + i, []) : frame(Cmd.HARDWARE, 1 + i, ['vw', 1, `f${i}`]));
    }
    const flood = Buffer.concat(chunk);
    as.forEach(async (a, k) => {
      while (flooding && !a.closed) {
        pushed[k] += 1000;
        if (!a.sock.write(flood)) await new Promise((r) => a.sock.once('drain', r));
        else await new Promise((r) => setImmediate(r));
      }
    });

    // B: 60 bridged writes at ~20/s during the flood; each must reach b2 (bounded wait each).
    const lat = [];
    const t0 = performance.now();
    for (let i = 0; i < 60; i++) {
      const s0 = performance.now();
      b1.send(Cmd.BRIDGE, 100 + i, [64, 'vw', 5, `b${i}`]);
      const f = await b2.expectFrame(3000);
      assert.ok(f.cmd === Cmd.BRIDGE && f.fields[2] === `b${i}`, `b2 expected bridge write b${i}, got ${describeFrame(f)}`);
      lat.push(performance.now() - s0);
      await new Promise((r) => setTimeout(r, 50));
    }
    flooding = false;
    const floodSecs = (performance.now() - t0) / 1000;

    // Every flooding device got exactly one QUOTA_LIMIT, only a quota's worth of its PINGs were
    // answered, and it is still connected (held to the quota over many sweeps, not cut off).
    const accepted = [];
    for (const [i, a] of as.entries()) {
      assert.ok(!a.closed, `device a${i} was disconnected instead of held to its quota`);
      const got = a.received;
      const bad = got.filter((f) => f.cmd !== 0 || (f.status !== Status.OK && f.status !== Status.QUOTA_LIMIT));
      assert.deepEqual(bad.map(describeFrame), [], `device a${i}: unexpected frames`);
      const quota = got.filter((f) => f.status === Status.QUOTA_LIMIT);
      assert.equal(quota.length, 1, `device a${i}: one QUOTA_LIMIT (at most one a minute), got ${quota.length}`);
      const oks = got.filter((f) => f.status === Status.OK).length;
      accepted.push(oks);
      // at most QUOTA msgs/s get through, a tenth of them PINGs; generous slack for the seconds' edges
      const most = Math.ceil((QUOTA / 10) * (floodSecs + 2));
      assert.ok(oks <= most, `device a${i}: ${oks} PINGs answered in ${floodSecs.toFixed(1)} s, more than the quota allows (${most})`);
      assert.ok(pushed[i] / 10 > 4 * most, `device a${i}: the flood was too small to prove anything (${pushed[i]} frames)`);
    }
    t.diagnostic(`A: ${as.length} devices flooded for ${floodSecs.toFixed(1)} s, ${pushed.join(', ')} frames pushed into their sockets; PINGs answered: ${accepted.join(', ')}; B's bridge latency p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms`);
    for (const a of as) a.close();
    b1.end(); b2.end();
  });
});

describe('a peer that does not read', () => {
  const CAP = 1 << 20;  // the server's output cap per connection (kMaxPendingOutput)
  let srv;
  before(async () => {
    srv = cleanup.add(await Server.start({ name: 'abuse-noread', config: { hardware: { message_quota: 0 } } }));
  });

  it('a device that stops reading while bridged writes pile up for it is closed once 1 MiB waits for it (log names it and the amount); what it got is in order; the sender and the server go on; memory stays bounded', async (t) => {
    const aTok = await srv.addDevice('noread@example.com', 'sender');
    const bTok = await srv.addDevice('noread@example.com', 'sink');
    const a = cleanup.add(await srv.login(aTok));
    const b = cleanup.add(await srv.login(bTok));
    // B announces buff-in 4096 (as the libraries do), so 3 KB bridged writes are delivered to it.
    b.send(Cmd.INTERNAL, 2, INFO_JS);
    await b.expectResponse(2, Status.OK);
    a.send(Cmd.BRIDGE, 2, [64, 'i', bTok]);
    await a.expectResponse(2, Status.OK);
    const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${srv.proc.pid}/status`, 'utf8'))[1]);
    const rssBefore = rss();

    b.sock.pause();  // B's kernel buffers fill, then the server's queue for B grows
    const from = srv.log.length;
    const value = (i) => `${i}:`.padEnd(3000, 'x');
    const rejected = srv.waitForLog(new RegExp(`127\\.0\\.0\\.1:${b.localPort}: the peer does not read \\((\\d+) bytes pending\\); closing`), 60000, from);
    let seen = null;
    rejected.then((m) => { seen = m; }, () => {});
    // Bounded: 48 MB at most (far more than the kernel's buffers on both sides plus the cap).
    let sent = 0;
    for (let i = 0; i < 16000 && !seen; i++) {
      const ok = a.sock.write(frame(Cmd.BRIDGE, 1000 + (i % 60000), [64, 'vw', 1, value(i)]));
      sent++;
      if (!ok) await withTimeout(new Promise((resolve) => a.sock.once('drain', resolve)), 10000, 'the server to read the sender');
    }
    const m = await rejected;
    const pending = Number(m[1]);
    assert.ok(pending > CAP && pending <= CAP + 70000, `pending ${pending} B at the close, expected just over ${CAP}`);

    // B reads again: it gets what the kernel held, in order, then the end of the stream.
    b.sock.resume();
    const got = await b.expectClose(20000);
    const idx = got.filter((f) => f.cmd === Cmd.BRIDGE).map((f) => Number(f.fields[2].split(':')[0]));
    assert.ok(idx.length > 0, 'B got nothing before the close');
    idx.forEach((v, k) => assert.equal(v, k, `B's ${k}th write is #${v}: reordered or lost in the middle`));

    // The sender is still served; the server's memory did not follow the pile-up.
    // Writes that came after the close are answered DEVICE_NOT_IN_NETWORK; then the PING.
    a.send(Cmd.PING, 7);
    for (;;) {
      const f = await a.expectFrame(10000);
      if (f.cmd === 0 && f.msgId === 7) {
        assert.equal(f.status, Status.OK);
        break;
      }
      assert.ok(f.cmd === 0 && f.status === Status.DEVICE_NOT_IN_NETWORK, `the sender got ${describeFrame(f)}`);
    }
    assert.ok(!a.closed);
    const grew = rss() - rssBefore;
    assert.ok(grew < 64 * 1024, `server RSS grew by ${grew} KiB while B did not read`);
    t.diagnostic(`sent ${sent} writes of 3000 B; closed with ${pending} B pending; B got ${idx.length} before the end; server RSS +${grew} KiB`);
  });
});
