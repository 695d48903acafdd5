// GET /metrics (docs/operator-guide.md, "Metrics"; docs/security.md): what a Prometheus scrape
// shows after a real blynk-library device logs in and writes, and an HTTP API call; who may
// scrape: loopback by default (127.0.0.1 and ::1 only, so 127.0.0.2 stands in for another
// host), anyone else only with the bearer token of [metrics] token_file.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { Server, Cleanup, BLYNKD_BIN, CLI_TIMEOUT_MS, mkTmp } from '../lib/harness.js';
import { makeDevice } from '../lib/blynklib.js';
import { parseMetrics } from '../lib/metrics.js';
import { execFile } from 'node:child_process';

const HTTP_TIMEOUT_MS = 5000;
const TOKEN = 'metrics-test-token-0123456789abcdef';
const cleanup = new Cleanup();
let srv;
let tokenFile;

before(async () => {
  const dir = mkTmp('metrics-token');
  cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
  tokenFile = path.join(dir, 'metrics.token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  srv = cleanup.add(await Server.start({
    name: 'metrics',
    config: {
      plugins: { enabled: ['storage-sqlite', 'http-api'] },
      metrics: { token_file: tokenFile },
    },
  }));
});
after(() => cleanup.run());

/** One bounded request; `from` is the local address it is sent from. */
function get(urlPath, { from = '127.0.0.1', headers = {}, tls = false } = {}) {
  return new Promise((resolve, reject) => {
    const mod = tls ? https : http;
    const req = mod.request({
      host: '127.0.0.1', port: tls ? srv.tlsPort : srv.hwPort, path: urlPath, method: 'GET',
      localAddress: from, headers, timeout: HTTP_TIMEOUT_MS, agent: false,
      ...(tls ? { ca: srv.cert(), checkServerIdentity: () => undefined } : {}),
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({
        status: res.statusCode, type: res.headers['content-type'], text: Buffer.concat(chunks).toString('utf8'),
      }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath}: no answer within ${HTTP_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Scrapes /metrics from loopback; returns {text, value(name, labels)} (a missing series is 0). */
async function scrape(opts) {
  const r = await get('/metrics', opts);
  assert.equal(r.status, 200, `GET /metrics: HTTP ${r.status} ${r.text}`);
  assert.equal(r.type, 'text/plain; version=0.0.4; charset=utf-8');
  return parseMetrics(r.text);
}

/** Scrapes until pred(scrape) holds (bounded); the server handles the device's frames on its own time. */
async function scrapeUntil(pred, what, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await scrape();
    if (pred(s)) return s;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}:\n${s.text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('what a scrape shows', () => {
  it('a blynk-library device: its login, its connection and its writes by command, by the right amounts', async () => {
    const token = await srv.addDevice('metrics@example.com', 'metrics-dev');
    const before = await scrape();
    const hw = { protocol: 'hardware' };
    const dev = cleanup.add(makeDevice(token, { port: srv.hwPort }));
    await dev.whenConnected();
    for (let i = 0; i < 3; i += 1) dev.virtualWrite(5, i);
    const after = await scrapeUntil(
      (s) => s.value('blynk_messages_received_total', { ...hw, command: 'hardware' }) -
        before.value('blynk_messages_received_total', { ...hw, command: 'hardware' }) >= 3,
      'the three HARDWARE frames');
    const delta = (name, labels) => after.value(name, labels) - before.value(name, labels);
    assert.equal(delta('blynk_messages_received_total', { ...hw, command: 'hardware' }), 3, after.text);
    assert.equal(delta('blynk_messages_received_total', { ...hw, command: 'hardware_login' }), 1, after.text);
    assert.equal(delta('blynk_logins_total', { ...hw, result: 'ok' }), 1, after.text);
    assert.equal(delta('blynk_logins_total', { ...hw, result: 'failed' }), 0, after.text);
    // The login's answer (and the pings' and the info's) went out as responses.
    assert.ok(delta('blynk_messages_sent_total', { ...hw, command: 'response' }) >= 1, after.text);
    assert.equal(after.value('blynk_connections', { kind: 'hardware', transport: 'plain' }), 1, after.text);
    assert.ok(delta('blynk_connections_accepted_total', { transport: 'plain' }) >= 1, after.text);
    assert.equal(after.value('blynk_devices'), 1, after.text);
    assert.ok(after.value('process_resident_memory_bytes') > 1e6, after.text);
    assert.match(after.text, /^blynk_build_info\{version="\d+\.\d+\.\d+[^"]*"\} 1$/m);
    // Notifications (notifications.test.js moves them): every series there before any was sent.
    assert.match(after.text, /^blynk_notifications_total\{channel="mail",result="sent"\} 0$/m);
    assert.match(after.text, /^blynk_notifications_total\{channel="tweet",result="invalid"\} 0$/m);
    assert.match(after.text, /^blynk_notifications_waiting 0$/m);

    dev.close();
    const gone = await scrapeUntil((s) => s.value('blynk_connections', { kind: 'hardware', transport: 'plain' }) === 0,
      'the closed device connection to leave the gauge');
    assert.equal(gone.value('blynk_logins_total', { ...hw, result: 'ok' }), after.value('blynk_logins_total', { ...hw, result: 'ok' }));
  });

  it('a refused login counts as failed; HTTP API calls count by route class and status code', async () => {
    const token = await srv.addDevice('metrics-http@example.com', 'metrics-http-dev');
    const before = await scrape();
    const bad = cleanup.add(makeDevice('0'.repeat(32), { port: srv.hwPort }));
    await scrapeUntil((s) => s.value('blynk_logins_total', { protocol: 'hardware', result: 'failed' }) >
      before.value('blynk_logins_total', { protocol: 'hardware', result: 'failed' }), 'the refused login');
    bad.close();

    const ok = await get(`/${token}/isHardwareConnected`);
    assert.equal(ok.status, 200, ok.text);
    const missing = await get('/no/such/route/here');
    assert.equal(missing.status, 404);
    const after = await scrape();
    const delta = (labels) => after.value('blynk_http_requests_total', labels) -
      before.value('blynk_http_requests_total', labels);
    assert.equal(delta({ route: 'api', code: '200' }), 1, after.text);
    assert.equal(delta({ route: 'other', code: '404' }), 1, after.text);
    // The scrapes themselves are counted too (every one before this one).
    assert.ok(delta({ route: 'metrics', code: '200' }) >= 1, after.text);
  });

  it('over TLS: the handshake is counted and the scrape answers on the TLS port too', async () => {
    const before = await scrape();
    const s = await scrape({ tls: true });
    const after = await scrape();
    assert.ok(s.value('blynk_tls_handshakes_total', { result: 'ok' }) > before.value('blynk_tls_handshakes_total', { result: 'ok' }), s.text);
    assert.ok(after.value('blynk_connections_accepted_total', { transport: 'tls' }) >= 1, after.text);
  });
});

describe('who may scrape', () => {
  const FORBIDDEN = 'Forbidden: /metrics is served to [metrics] allowed_ips or with the metrics bearer token.\n';

  it('from an address outside allowed_ips: 403 without a token and with a wrong one, 200 with the token', async () => {
    const none = await get('/metrics', { from: '127.0.0.2' });
    assert.equal(none.status, 403, none.text);
    assert.equal(none.text, FORBIDDEN);
    const wrong = await get('/metrics', { from: '127.0.0.2', headers: { Authorization: `Bearer ${TOKEN}x` } });
    assert.equal(wrong.status, 403, wrong.text);
    const basic = await get('/metrics', { from: '127.0.0.2', headers: { Authorization: `Basic ${TOKEN}` } });
    assert.equal(basic.status, 403, basic.text);
    const right = await scrape({ from: '127.0.0.2', headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.match(right.text, /^# TYPE blynk_logins_total counter$/m);
    await srv.waitForLog(/127\.0\.0\.2:\d+: \/metrics refused: address not in \[metrics\] allowed_ips/);
    assert.ok(!srv.log.includes(TOKEN), 'the token never appears in the log');
  });

  it('wrong bearer tokens count toward the login throttle: a blocked address gets 429 even with the token', async () => {
    // [security] login_failures is 30 (the default) within 60 s.
    for (let i = 0; i < 30; i += 1) {
      const r = await get('/metrics', { from: '127.0.0.3', headers: { Authorization: `Bearer wrong-${i}-${TOKEN}` } });
      assert.equal(r.status, 403, `attempt ${i + 1}: ${r.status} ${r.text}`);
    }
    await srv.waitForLog(/127\.0\.0\.3: 30 refused logins within 60 s/);
    const blocked = await get('/metrics', { from: '127.0.0.3', headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(blocked.status, 429, blocked.text);
    const s = await scrape({ from: '127.0.0.2', headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.ok(s.value('blynk_login_throttle_blocked_addresses') >= 1, s.text);
    assert.ok(s.value('blynk_login_throttle_blocks_total') >= 1, s.text);
    assert.ok(!srv.log.includes(TOKEN), 'the token never appears in the log');
  });

  it('a token file other local users may read, or [metrics] enabled = false', async () => {
    // The server refuses to start: the file is named with the fix, the token is not shown.
    chmodSync(tokenFile, 0o644);
    const open = cleanup.add(Server.create({ name: 'metrics-open', config: { metrics: { token_file: tokenFile } } }));
    const r = await new Promise((resolve) => {
      execFile(BLYNKD_BIN, ['--config', open.configPath], { cwd: open.dir, timeout: CLI_TIMEOUT_MS, killSignal: 'SIGKILL' },
        (err, stdout, stderr) => resolve({ code: err ? err.code : 0, out: stdout + stderr }));
    });
    chmodSync(tokenFile, 0o600);
    assert.notEqual(r.code, 0, r.out);
    assert.ok(r.out.includes(`[metrics] token_file ${tokenFile}: mode 0644`), r.out);
    assert.match(r.out, /chmod 600/);
    assert.ok(!r.out.includes(TOKEN), 'the token is not shown');
    assert.equal(readFileSync(tokenFile, 'utf8'), `${TOKEN}\n`);

    const off = cleanup.add(await Server.start({ name: 'metrics-off', config: { metrics: { enabled: false } } }));
    const res = await new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: off.hwPort, path: '/metrics', timeout: HTTP_TIMEOUT_MS }, (x) => {
        x.resume();
        x.on('end', () => resolve(x.statusCode));
      }).on('error', reject);
    });
    assert.equal(res, 404);
  });
});
