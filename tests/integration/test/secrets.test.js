// No secret in any log (docs/security.md): one server at `trace` with a log folder goes through
// everything that handles a secret — the first start (stdout is a pipe here, as under systemd or
// Docker, so the generated administrator password goes to an owner-only file in the data folder,
// never to the output), accounts with passwords from the
// CLI and the operator API, devices and their tokens, hardware logins good and bad over TCP and
// TLS, websocket logins, HTTP API calls with tokens in the URL (good, bad, malformed requests),
// the operator API with Basic credentials (right and wrong) and the Bearer operator token, token
// rotation and removal, a restart. Then every file in the log folder and everything the server
// printed is searched for each token, password, legacy password
// hash, stored slow hash and salt, and the operator token.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import { Server, Cmd, Status, Cleanup, RawClient, frame, withTimeout } from '../lib/harness.js';

const cleanup = new Cleanup();
after(() => cleanup.run());

const HTTP_TIMEOUT_MS = 5000;

/** Every secret met during the run, with what it is (for the failure message). */
const secrets = new Map();
function secret(value, what) {
  assert.equal(typeof value, 'string', what);
  assert.ok(value.length >= 8, `${what} is too short to search for: ${JSON.stringify(value)}`);
  secrets.set(value, what);
  return value;
}

/** A token-shaped random string (32 characters of [A-Za-z0-9_-]) no server knows. */
const badToken = () => randomBytes(24).toString('base64url');

/** The legacy client-side hash the server derives: Base64(SHA-256(password || SHA-256(lower(email)))). */
function legacyHash(email, password) {
  const e = createHash('sha256').update(email.toLowerCase()).digest();
  return createHash('sha256').update(Buffer.concat([Buffer.from(password), e])).digest('base64');
}

function request(srv, method, urlPath, { auth, body, plain = false, raw = false } = {}) {
  return new Promise((resolve, reject) => {
    const h = { Connection: 'close' };
    if (auth) h.Authorization = auth;
    const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    if (payload) {
      h['Content-Type'] = 'application/json';
      h['Content-Length'] = payload.length;
    }
    const opts = { host: '127.0.0.1', method, path: urlPath, headers: h, agent: false, timeout: HTTP_TIMEOUT_MS };
    if (plain) opts.port = srv.hwPort;
    else Object.assign(opts, { port: srv.tlsPort, ca: srv.cert(), checkServerIdentity: () => undefined });
    const req = (plain ? http : https).request(opts, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString(raw ? 'latin1' : 'utf8');
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode, text, json });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: no answer within ${HTTP_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Sends raw bytes on a plain connection and resolves with everything until the server closes. */
function rawHttp(port, bytes) {
  return withTimeout(new Promise((resolve, reject) => {
    const chunks = [];
    const s = net.connect({ host: '127.0.0.1', port }, () => s.end(bytes));
    s.on('data', (d) => chunks.push(d));
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    s.on('error', reject);
  }), HTTP_TIMEOUT_MS + 3000, `raw HTTP to port ${port}`);
}

const basic = (email, password) => `Basic ${Buffer.from(`${email}:${password}`).toString('base64')}`;

/** A websocket hardware login with token; resolves the status of the RESPONSE. */
function wsLogin(srv, token, { tls = false } = {}) {
  const url = `${tls ? 'wss' : 'ws'}://127.0.0.1:${tls ? srv.tlsPort : srv.hwPort}/websockets`;
  const ws = new WebSocket(url, { perMessageDeflate: false, ...(tls ? { ca: srv.cert() } : {}) });
  return withTimeout(new Promise((resolve, reject) => {
    ws.once('open', () => ws.send(frame(Cmd.HARDWARE_LOGIN, 1, token)));
    ws.once('message', (data) => {
      const b = Buffer.isBuffer(data) ? data : Buffer.concat(data);
      ws.close();
      resolve(b.readUInt8(0) === 0 ? b.readUInt16BE(3) : -1);
    });
    ws.once('error', reject);
  }), HTTP_TIMEOUT_MS, `websocket login on ${url}`).finally(() => ws.terminate());
}

/** A raw hardware login; resolves the status it got. */
async function hwLogin(srv, token, { tls = false } = {}) {
  const c = cleanup.add(await srv.connect({ tls }));
  c.send(Cmd.HARDWARE_LOGIN, 1, token);
  const f = await c.expectFrame();
  assert.equal(f.cmd, Cmd.RESPONSE);
  return { c, status: f.status };
}

/** Every file under dir (recursively), as latin1 text, with its path. */
function filesUnder(dir) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push({ path: p, text: readFileSync(p).toString('latin1') });
  }
  return out;
}

describe('no secret in any log', () => {
  let srv;
  let adminEmail;
  let adminPassword;
  let firstOutput;

  before(async () => {
    srv = cleanup.add(await Server.start({
      name: 'secrets',
      config: {
        logging: { level: 'trace' },
        plugins: { enabled: ['storage-sqlite', 'http-api'] },
        // Many bad tokens come from this one address on purpose; the login
        // throttle (abuse.test.js) would refuse the good ones after them.
        security: { login_failures: 0 },
      },
    }));
    firstOutput = srv.log;
  });

  it('the first start writes the generated administrator password to a 0600 file, not to the output (stdout is no terminal)', () => {
    ({ email: adminEmail, password: adminPassword } = srv.adminCredentials());
    secret(adminPassword, 'the administrator password');
    secret(legacyHash(adminEmail, adminPassword), 'the administrator legacy password hash');
    assert.doesNotMatch(firstOutput, /Password \(shown only once\)/, 'the banner meant for a terminal was printed to a pipe');
    assert.ok(firstOutput.includes(srv.adminPasswordPath), `the output names the password file:\n${firstOutput}`);
    const mode = statSync(srv.adminPasswordPath).mode & 0o777;
    assert.equal(mode, 0o600, `${srv.adminPasswordPath} has mode ${mode.toString(8)}`);
    secret(readFileSync(path.join(srv.dataDir, 'operator.token'), 'utf8').trim(), 'the operator token');
  });

  it('accounts with passwords: CLI (given and generated) and operator API (given and generated)', async () => {
    const given = secret(`Cli-Given-${randomBytes(9).toString('base64url')}`, 'a password given to the CLI');
    const r1 = await srv.cli(['user', 'add', '--email', 'cli-given@example.com', '--password', given]);
    assert.equal(r1.code, 0, r1.stderr);
    secret(legacyHash('cli-given@example.com', given), 'legacy hash of the CLI-given password');

    const r2 = await srv.cli(['user', 'add', '--email', 'cli-gen@example.com']);
    assert.equal(r2.code, 0, r2.stderr);
    const gen = r2.stdout.match(/password: (\S+)/);
    assert.ok(gen, r2.stdout);
    secret(gen[1], 'a password the CLI generated');
    secret(legacyHash('cli-gen@example.com', gen[1]), 'legacy hash of a generated password');

    const bearer = `Bearer ${[...secrets].find(([, w]) => w === 'the operator token')[0]}`;
    const apiGiven = secret(`Api-Given-${randomBytes(9).toString('base64url')}`, 'a password given to the API');
    const a1 = await request(srv, 'POST', '/api/v1/users', { auth: bearer, body: { email: 'api-given@example.com', password: apiGiven } });
    assert.equal(a1.status, 201, a1.text);
    const a2 = await request(srv, 'POST', '/api/v1/users',
      { auth: basic(adminEmail, adminPassword), body: { email: 'api-gen@example.com', admin: true } });
    assert.equal(a2.status, 201, a2.text);
    secret(a2.json.password, 'a password the API generated');
    secret(legacyHash('api-gen@example.com', a2.json.password), 'legacy hash of an API-generated password');
  });

  let tokens;
  it('devices and their tokens: CLI and operator API', async () => {
    const bearer = `Bearer ${readFileSync(path.join(srv.dataDir, 'operator.token'), 'utf8').trim()}`;
    tokens = {
      cli: secret(await srv.addDevice('dev@example.com', 'cli-device'), 'a device token from the CLI'),
      cli2: secret(await srv.addDevice('cli-given@example.com', 'second'), 'a device token from the CLI'),
    };
    const d = await request(srv, 'POST', '/api/v1/devices', { auth: bearer, body: { email: 'api-given@example.com', name: 'api-device' } });
    assert.equal(d.status, 201, d.text);
    tokens.api = secret(d.json.token, 'a device token from the API');
    // a new account made by a device creation comes with a generated password
    const n = await request(srv, 'POST', '/api/v1/devices', { auth: bearer, body: { email: 'fresh@example.com', name: 'x' } });
    assert.equal(n.status, 201, n.text);
    tokens.fresh = secret(n.json.token, 'a device token from the API');
    if (n.json.userPassword) secret(n.json.userPassword, 'a password generated with a device');
    const list = await request(srv, 'GET', '/api/v1/devices', { auth: bearer });
    assert.equal(list.status, 200, list.text);
  });

  it('hardware logins, good and bad, over TCP and TLS', async () => {
    for (const tls of [false, true]) {
      const good = await hwLogin(srv, tokens.cli, { tls });
      assert.equal(good.status, Status.OK);
      good.c.send(Cmd.HARDWARE, 2, ['vw', '1', 'hello']);
      await good.c.ping(3);
      good.c.end();
      for (const bad of [badToken(), `${tokens.cli.slice(0, 31)}${tokens.cli[31] === 'A' ? 'B' : 'A'}`,
        `${badToken()}${badToken()}`]) {
        secret(bad, 'a bad token');
        // On the TLS port only a 32-byte login is hardware (protocol §1); a
        // longer one is read as the app protocol, which closes on it.
        if (tls && bad.length !== 32) continue;
        const r = await hwLogin(srv, bad, { tls });
        assert.equal(r.status, Status.INVALID_TOKEN, `login with a bad token over ${tls ? 'TLS' : 'TCP'}`);
        r.c.end();
      }
    }
    // a login frame that is too long to be a token, and one with the token and junk after it
    const c = cleanup.add(await srv.connect());
    const junk = secret(`${tokens.cli}-${badToken()}`, 'a token with junk after it');
    c.send(Cmd.HARDWARE_LOGIN, 1, junk);
    await c.expectFrame();
    c.end();
    // LOGIN (2) with a token
    const l = cleanup.add(await srv.connect());
    l.send(Cmd.LOGIN, 1, tokens.cli2);
    await l.expectResponse(1, Status.OK);
    l.end();
  });

  it('websocket logins, good and bad, ws and wss', async () => {
    for (const tls of [false, true]) {
      assert.equal(await wsLogin(srv, tokens.api, { tls }), Status.OK);
      assert.equal(await wsLogin(srv, secret(badToken(), 'a bad websocket token'), { tls }), Status.INVALID_TOKEN);
    }
  });

  it('HTTP API with tokens in the URL: good, bad, and malformed requests', async () => {
    for (const plain of [true, false]) {
      let r = await request(srv, 'GET', `/${tokens.cli}/update/V5?value=42`, { plain });
      assert.equal(r.status, 200, r.text);
      r = await request(srv, 'GET', `/${tokens.cli}/get/V5`, { plain });
      assert.equal(r.status, 200, r.text);
      r = await request(srv, 'PUT', `/${tokens.cli}/update/V6`, { plain, body: ['1'] });
      assert.equal(r.status, 200, r.text);
      for (const p of ['isHardwareConnected', 'project', 'rtc', 'get/V99', 'update/V1', 'data/V1', 'qr']) {
        await request(srv, 'GET', `/${tokens.api}/${p}`, { plain, raw: true });
      }
      await request(srv, 'POST', `/${tokens.api}/notify`, { plain, body: { body: 'hi' } });
      await request(srv, 'POST', `/${tokens.api}/notify`, { plain, body: '{not json' });
      for (const p of ['get/V1', 'update/V1?value=1', 'isHardwareConnected', 'project']) {
        r = await request(srv, 'GET', `/${secret(badToken(), 'a bad token in a URL')}/${p}`, { plain });
        assert.equal(r.status, 400, `${p}: ${r.text}`);
      }
      // a token percent-encoded, and in the query
      const encoded = tokens.cli.replace(/[A-Z]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
      if (encoded !== tokens.cli) secret(encoded, 'a percent-encoded token');
      await request(srv, 'GET', `/${encoded}/get/V5`, { plain });
      await request(srv, 'GET', `/nothing/here?token=${tokens.cli}`, { plain });
    }
    // malformed requests that carry a token: bad header, oversize head, bad escape
    const port = srv.hwPort;
    await rawHttp(port, `GET /${tokens.cli}/get/V1 HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n`);
    await rawHttp(port, `GET /${tokens.cli}/get/V1?x=${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await rawHttp(port, `GET /${tokens.cli}/get/%zz HTTP/1.1\r\nHost: x\r\n\r\n`);
    await rawHttp(port, `GET /${tokens.cli}/update/V1?value=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n`);
    await rawHttp(port, `POST /${tokens.cli}/update/V1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab`);
  });

  it('operator API: Basic (right and wrong), Bearer (right and wrong), over HTTPS and plain HTTP', async () => {
    const bearer = `Bearer ${readFileSync(path.join(srv.dataDir, 'operator.token'), 'utf8').trim()}`;
    const wrongPassword = secret(`${adminPassword}-wrong`, 'a wrong administrator password');
    const wrongBearer = `Bearer ${secret(badToken(), 'a wrong operator token')}`;
    for (const plain of [false, true]) {
      for (const auth of [basic(adminEmail, adminPassword), bearer, basic(adminEmail, wrongPassword), wrongBearer,
        basic('api-given@example.com', [...secrets].find(([, w]) => w === 'a password given to the API')[0])]) {
        await request(srv, 'GET', '/api/v1/users', { auth, plain });
        await request(srv, 'GET', `/api/v1/devices?email=dev@example.com`, { auth, plain });
        await request(srv, 'GET', '/api/v1/online', { auth, plain });
      }
    }
    secret(Buffer.from(`${adminEmail}:${adminPassword}`).toString('base64'), 'the administrator Basic credentials');
  });

  it('token rotation and removal; the old tokens are refused and stay secret', async () => {
    const bearer = `Bearer ${readFileSync(path.join(srv.dataDir, 'operator.token'), 'utf8').trim()}`;
    const online = await hwLogin(srv, tokens.fresh);
    assert.equal(online.status, Status.OK);
    const r = await request(srv, 'POST', `/api/v1/devices/${tokens.fresh}/token`, { auth: bearer });
    assert.equal(r.status, 200, r.text);
    const fresh2 = secret(r.json.token, 'a rotated token');
    await online.c.expectClose();
    assert.equal((await hwLogin(srv, tokens.fresh)).status, Status.INVALID_TOKEN);
    assert.equal((await hwLogin(srv, fresh2)).status, Status.OK);
    const rm = await srv.cli(['device', 'remove', '--token', tokens.cli2]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal((await hwLogin(srv, tokens.cli2)).status, Status.INVALID_TOKEN);
    const bad = await request(srv, 'POST', `/api/v1/devices/${secret(badToken(), 'an unknown token to rotate')}/token`, { auth: bearer });
    assert.equal(bad.status, 404, bad.text);
  });

  it('a restart (no second banner) and a clean stop', async () => {
    await srv.restart();
    assert.doesNotMatch(srv.log, /Password \(shown only once\)/);
    assert.equal((await hwLogin(srv, tokens.cli)).status, Status.OK);
    await srv.stop();
  });

  it('the store holds passwords only as PBKDF2-SHA256 (>= 100000 iterations, distinct 16-byte salts)', () => {
    // the database file and its WAL, as bytes: a password or legacy hash anywhere in them is a failure
    const store = filesUnder(srv.dataDir).filter((f) => /blynk\.db/.test(f.path)).map((f) => f.text).join('\n');
    for (const [value, what] of secrets) {
      if (/password|hash|Basic/.test(what)) assert.ok(!store.includes(value), `${what} is in the database`);
    }
    const stored = [...store.matchAll(/pbkdf2-sha256\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)/g)];
    const salts = new Set(stored.map((m) => m[2]));
    assert.ok(salts.size >= 6, `found ${salts.size} distinct salts in the database (6 accounts were made)`);
    for (const m of stored) {
      assert.ok(Number(m[1]) >= 100000, `${m[1]} PBKDF2 iterations`);
      assert.equal(Buffer.from(m[2], 'base64').length, 16, `salt ${m[2]}`);
      assert.equal(Buffer.from(m[3], 'base64').length, 32, `hash ${m[3]}`);
      secret(m[0], 'a stored password hash');
      secret(m[2], 'a salt');
      secret(Buffer.from(m[2], 'base64').toString('hex'), 'a salt (hex)');
      secret(m[3], 'a stored PBKDF2 output');
    }
  });

  it('tokens are distinct, 32 URL-safe characters; the operator token file is 0600', () => {
    const toks = [...secrets].filter(([, w]) => /device token|rotated token|operator token/.test(w)).map(([v]) => v);
    assert.ok(toks.length >= 6, toks.join(' '));
    assert.equal(new Set(toks).size, toks.length, 'two tokens are equal');
    for (const t of toks) assert.match(t, /^[A-Za-z0-9_-]{32}$/);
    const mode = statSync(path.join(srv.dataDir, 'operator.token')).mode & 0o777;
    assert.equal(mode, 0o600, `operator.token has mode ${mode.toString(8)}`);
  });

  it('no log file and no server output holds a token, password, hash, salt or the operator token', () => {

    // what the server printed over both starts
    const printed = srv.allLogs;
    assert.doesNotMatch(printed, /Password \(shown only once\)/);
    const logs = filesUnder(path.join(srv.dir, 'logs'));
    assert.ok(logs.length >= 1, 'the log folder holds a log file');
    const all = logs.map((f) => f.text).join('\n');
    // the run really logged at trace/debug (so the search means something)
    assert.match(all, / (trace|debug) /, 'nothing at debug or trace was logged');
    assert.ok(all.length > 2000, `the log file is only ${all.length} bytes`);

    const leaks = [];
    for (const [value, what] of secrets) {
      for (const f of [...logs, { path: 'server stdout/stderr', text: printed }]) {
        const at = f.text.indexOf(value);
        if (at >= 0) leaks.push(`${what} in ${f.path}: ...${f.text.slice(Math.max(0, at - 80), at + value.length + 20)}...`);
      }
    }
    assert.deepEqual(leaks, [], `secrets leaked:\n${leaks.join('\n')}`);
    assert.ok(secrets.size >= 25, `only ${secrets.size} secrets were searched for`);
  });
});
