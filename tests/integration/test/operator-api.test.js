// The operator API (kernel/net/operator_api.cpp): HTTPS + JSON under /api/v1 on the TLS port.
// Who may call it (TLS only, [admin] allowed_ips, an administrator's HTTP Basic credentials or
// the operator token as Bearer), what each route answers, and that its changes reach live
// connections at once (a removed or re-tokened device is disconnected without waiting for its
// next message). Also the CLI, which goes through this API while a server of the same data
// folder runs, and straight to storage once it has stopped.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Server, Cmd, Status, Cleanup, which } from '../lib/harness.js';
import {
  HTTP_TIMEOUT_MS, JSON_TYPE, NO_CREDENTIALS, WRONG_ADMIN, showRes, adminCredentials, operatorToken, basic, bearer,
  request, api, assertError,
} from '../lib/operator.js';

const cleanup = new Cleanup();
after(() => cleanup.run());

const CLOSE_TIMEOUT_MS = 3000;  // "at once": well below any idle or heartbeat timeout
const HTTPS_ONLY = 'The operator API is served over HTTPS only (the TLS port).';
const NOT_ALLOWED = 'This address may not use the operator API (see [admin] allowed_ips).';
const NOT_JSON = 'The body must be a JSON object.';
const BAD_EMAIL = "'email' must be a valid e-mail address.";
const BAD_NAME = "'name' must be 1 to 50 characters.";
const NO_DEVICE = 'No device has this token.';

const CURL = which('curl');

const show = (r) => `exit ${r.code}${r.timedOut ? ' (timed out)' : ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

/** Login with token must be refused with INVALID_TOKEN. */
async function assertRefused(srv, token, what) {
  const c = cleanup.add(await srv.connect());
  c.send(Cmd.HARDWARE_LOGIN, 1, token);
  try {
    await c.expectResponse(1, Status.INVALID_TOKEN);
  } catch (e) {
    throw new Error(`${what}: ${e.message}`);
  }
  c.end();
}

/** Runs curl (bounded); resolves {code, stdout, stderr}. */
function curl(args) {
  return new Promise((resolve) => {
    execFile(CURL, ['-sS', '--max-time', String(HTTP_TIMEOUT_MS / 1000), ...args],
      { timeout: HTTP_TIMEOUT_MS + 2000, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr, timedOut: Boolean(err && err.killed) });
      });
  });
}

describe('operator API: who may call it', () => {
  let srv;
  before(async () => {
    srv = cleanup.add(await Server.start({ name: 'op-auth' }));
  });

  it('no credentials: 401 with a JSON error and no WWW-Authenticate (a browser must not prompt and cache)', async () => {
    const r = await request(srv, 'GET', '/api/v1/users');
    assertError(r, 401, NO_CREDENTIALS, 'no Authorization');
    assert.equal(r.headers['www-authenticate'], undefined, 'no Basic challenge');
  });

  it('a malformed Authorization header or a wrong operator token: 401', async () => {
    for (const auth of ['Digest x', 'Basic !!!', `Basic ${Buffer.from('no-colon').toString('base64')}`,
      'Bearer ', `Bearer ${'A'.repeat(32)}`, `Bearer ${operatorToken(srv)}x`]) {
      const r = await request(srv, 'GET', '/api/v1/users', { auth });
      assertError(r, 401, NO_CREDENTIALS, `Authorization: ${auth}`);
      assert.equal(r.headers['www-authenticate'], undefined, auth);
    }
  });

  it("the administrator's wrong password: 401; the password of the first start: 200", async () => {
    const { email, password } = adminCredentials(srv);
    const wrong = await request(srv, 'GET', '/api/v1/users', { auth: basic(email, `${password}x`) });
    assertError(wrong, 401, WRONG_ADMIN, 'wrong admin password');
    assert.equal(wrong.headers['www-authenticate'], undefined);

    const unknown = await request(srv, 'GET', '/api/v1/users', { auth: basic('nobody@example.com', password) });
    assertError(unknown, 401, WRONG_ADMIN, 'an unknown account');

    const ok = await request(srv, 'GET', '/api/v1/users', { auth: basic(email, password) });
    assert.equal(ok.status, 200, showRes(ok));
    assert.equal(ok.type, JSON_TYPE);
    assert.ok(Array.isArray(ok.json), ok.text);
    const me = ok.json.find((u) => u.email === email);
    assert.ok(me, `the administrator is listed: ${ok.text}`);
    assert.equal(me.admin, true);

    // the e-mail is not case-sensitive; a second call (answered from the cache) still works
    const upper = await request(srv, 'GET', '/api/v1/users', { auth: basic(email.toUpperCase(), password) });
    assert.equal(upper.status, 200, showRes(upper));
    const again = await request(srv, 'GET', '/api/v1/users', { auth: basic(email, password) });
    assert.equal(again.status, 200, showRes(again));
    // and the wrong password is still refused after the right one was accepted
    const wrong2 = await request(srv, 'GET', '/api/v1/users', { auth: basic(email, `${password}x`) });
    assertError(wrong2, 401, WRONG_ADMIN, 'wrong admin password after a right one');
  });

  it("a regular user's correct password: 401", async () => {
    const made = await api(srv, 'POST', '/api/v1/users', { email: 'regular@example.com' }, 201);
    assert.equal(typeof made.password, 'string');
    const r = await request(srv, 'GET', '/api/v1/users', { auth: basic('regular@example.com', made.password) });
    assertError(r, 401, WRONG_ADMIN, 'a non-admin account');
  });

  it('the operator token as Bearer: 200', async () => {
    const r = await request(srv, 'GET', '/api/v1/online', { auth: bearer(srv) });
    assert.equal(r.status, 200, showRes(r));
    assert.equal(r.type, JSON_TYPE);
    assert.ok(Array.isArray(r.json), r.text);
  });

  it('real curl --cacert with the operator token: 200', { skip: CURL ? false : 'curl not installed' }, async () => {
    const name = srv.certName();
    const resolve = /^[0-9.]+$/.test(name) ? [] : ['--resolve', `${name}:${srv.tlsPort}:127.0.0.1`];
    const r = await curl([...resolve, '--cacert', srv.certPath, '-H', `Authorization: ${bearer(srv)}`,
      '-w', '\n%{http_code}', `https://${name}:${srv.tlsPort}/api/v1/users`]);
    assert.equal(r.code, 0, show(r));
    const lines = r.stdout.split('\n');
    assert.equal(lines.pop(), '200', r.stdout);
    const users = JSON.parse(lines.join('\n'));
    assert.ok(users.some((u) => u.email === 'regular@example.com'), r.stdout);
  });

  it('plain HTTP on the hardware port: 403 "served over HTTPS only", even with the right credentials', async () => {
    for (const [method, p, body] of [['GET', '/api/v1/users'], ['POST', '/api/v1/users', { email: 'plain@example.com' }],
      ['GET', '/api/v1/online'], ['DELETE', `/api/v1/devices/${'A'.repeat(32)}`]]) {
      const r = await request(srv, method, p, { auth: bearer(srv), body, plain: true });
      assertError(r, 403, HTTPS_ONLY, `${method} ${p} over plain HTTP`);
    }
    const { email, password } = adminCredentials(srv);
    const r = await request(srv, 'GET', '/api/v1/users', { auth: basic(email, password), plain: true });
    assertError(r, 403, HTTPS_ONLY, 'admin Basic over plain HTTP');
    // nothing was created by the refused POST
    const users = await api(srv, 'GET', '/api/v1/users', undefined, 200);
    assert.ok(!users.some((u) => u.email === 'plain@example.com'), JSON.stringify(users));
  });

  it('an unknown /api/v1 route: 404; a known path with another method: not 200', async () => {
    const r = await request(srv, 'GET', '/api/v1/nothing', { auth: bearer(srv) });
    assert.equal(r.status, 404, showRes(r));
    const m = await request(srv, 'PUT', '/api/v1/users', { auth: bearer(srv), body: {} });
    assert.ok(m.status >= 400 && m.status < 500, showRes(m));
  });
});

describe('operator API: [admin] allowed_ips', () => {
  it('127.0.0.1 outside allowed_ips = ["10.0.0.0/8"]: 403 even with the operator token or admin password', async () => {
    const srv = cleanup.add(await Server.start({ name: 'op-ips', config: { admin: { allowed_ips: ['10.0.0.0/8'] } } }));
    const { email, password } = adminCredentials(srv);
    for (const auth of [bearer(srv), basic(email, password), undefined]) {
      const r = await request(srv, 'GET', '/api/v1/users', { auth });
      assertError(r, 403, NOT_ALLOWED, `from 127.0.0.1 with ${auth ? auth.split(' ')[0] : 'no credentials'}`);
    }
    const post = await request(srv, 'POST', '/api/v1/devices', { auth: bearer(srv), body: { email: 'x@y.co', name: 'n' } });
    assertError(post, 403, NOT_ALLOWED, 'POST /api/v1/devices from 127.0.0.1');
    assert.match(srv.log, /operator API refused: address not in \[admin\] allowed_ips/);
    await srv.stop();
  });

  it('allowed_ips = [] shuts the API off', async () => {
    const srv = cleanup.add(await Server.start({ name: 'op-off', config: { admin: { allowed_ips: [] } } }));
    for (const [method, p] of [['GET', '/api/v1/users'], ['GET', '/api/v1/online'], ['GET', '/api/v1/devices']]) {
      const r = await request(srv, method, p, { auth: bearer(srv) });
      assertError(r, 403, NOT_ALLOWED, `${method} ${p} with allowed_ips = []`);
    }
    await srv.stop();
  });

  it('allowed_ips = ["127.0.0.1"] (a single address) lets 127.0.0.1 in', async () => {
    const srv = cleanup.add(await Server.start({ name: 'op-one', config: { admin: { allowed_ips: ['127.0.0.1'] } } }));
    const r = await request(srv, 'GET', '/api/v1/online', { auth: bearer(srv) });
    assert.equal(r.status, 200, showRes(r));
    await srv.stop();
  });
});

describe('operator API: users', () => {
  let srv;
  before(async () => {
    srv = cleanup.add(await Server.start({ name: 'op-users' }));
  });

  it('POST /api/v1/users: 201 with a generated password; again: 409; a bad e-mail: 400; bad JSON: 400', async () => {
    const made = await api(srv, 'POST', '/api/v1/users', { email: 'a@b.co' }, 201);
    assert.equal(made.email, 'a@b.co');
    assert.equal(typeof made.password, 'string');
    assert.ok(made.password.length >= 12, `a generated password of reasonable length: ${made.password}`);

    const again = await request(srv, 'POST', '/api/v1/users', { auth: bearer(srv), body: { email: 'a@b.co' } });
    assert.equal(again.status, 409, showRes(again));
    assert.match(again.json?.error || '', /already exists/, again.text);
    // the address is compared without case
    const upper = await request(srv, 'POST', '/api/v1/users', { auth: bearer(srv), body: { email: 'A@B.CO' } });
    assert.equal(upper.status, 409, showRes(upper));

    for (const body of [{ email: 'not-an-email' }, { email: '' }, {}, { email: 42 }]) {
      const r = await request(srv, 'POST', '/api/v1/users', { auth: bearer(srv), body });
      assertError(r, 400, BAD_EMAIL, `POST /api/v1/users ${JSON.stringify(body)}`);
    }
    for (const body of ['{"email":', 'not json', '[]', '"a@b.co"', '']) {
      const r = await request(srv, 'POST', '/api/v1/users', { auth: bearer(srv), body });
      assertError(r, 400, NOT_JSON, `POST /api/v1/users body ${JSON.stringify(body)}`);
    }
  });

  it('a given password is kept (not echoed), and makes an administrator when admin is true', async () => {
    const made = await api(srv, 'POST', '/api/v1/users',
      { email: 'second-admin@b.co', password: 'correct horse battery', admin: true, name: 'Second' }, 201);
    assert.deepEqual(made, { email: 'second-admin@b.co' });
    const r = await request(srv, 'GET', '/api/v1/users', { auth: basic('second-admin@b.co', 'correct horse battery') });
    assert.equal(r.status, 200, showRes(r));
    const me = r.json.find((u) => u.email === 'second-admin@b.co');
    assert.equal(me.admin, true);
    assert.equal(me.name, 'Second');
  });

  // Known server bug: Api::authorize caches a verified e-mail/password for 5 minutes
  // (verified_ in kernel/net/operator_api.cpp) and remove_user does not drop the entry, so a
  // removed administrator keeps full access until it expires (fixed: the cache is cleared).
  it('a removed administrator is refused at once, also right after a successful call', {
  }, async () => {
    await api(srv, 'POST', '/api/v1/users', { email: 'gone-admin@b.co', password: 'soon gone 12345', admin: true }, 201);
    const auth = basic('gone-admin@b.co', 'soon gone 12345');
    const ok = await request(srv, 'GET', '/api/v1/online', { auth });
    assert.equal(ok.status, 200, showRes(ok));
    await api(srv, 'DELETE', '/api/v1/users/gone-admin%40b.co', undefined, 200);
    const r = await request(srv, 'GET', '/api/v1/users', { auth });
    assertError(r, 401, WRONG_ADMIN, 'the credentials of a removed administrator');
  });

  it('GET /api/v1/users lists it', async () => {
    const users = await api(srv, 'GET', '/api/v1/users', undefined, 200);
    const u = users.find((x) => x.email === 'a@b.co');
    assert.ok(u, JSON.stringify(users));
    assert.equal(u.admin, false);
    assert.equal(u.devices, 0);
    assert.equal(typeof u.createdAt, 'number');
  });

  it('DELETE /api/v1/users/a%40b.co: 200, its connected device is disconnected at once; unknown: 404', async () => {
    const dev = await api(srv, 'POST', '/api/v1/devices', { email: 'a@b.co', name: 'of-a' }, 201);
    const c = cleanup.add(await srv.login(dev.token));
    await c.ping(2);
    const listed = await api(srv, 'GET', '/api/v1/users', undefined, 200);
    assert.equal(listed.find((x) => x.email === 'a@b.co').devices, 1);

    const rm = await api(srv, 'DELETE', '/api/v1/users/a%40b.co', undefined, 200);
    assert.deepEqual(rm, { removed: 'a@b.co' });
    await c.expectClose(CLOSE_TIMEOUT_MS);  // without sending anything
    await assertRefused(srv, dev.token, 'the device of the removed user');

    const users = await api(srv, 'GET', '/api/v1/users', undefined, 200);
    assert.ok(!users.some((x) => x.email === 'a@b.co'), JSON.stringify(users));

    const again = await request(srv, 'DELETE', '/api/v1/users/a%40b.co', { auth: bearer(srv) });
    assert.equal(again.status, 404, showRes(again));
    assert.equal(typeof again.json?.error, 'string', again.text);
    const unknown = await request(srv, 'DELETE', '/api/v1/users/nobody%40example.com', { auth: bearer(srv) });
    assert.equal(unknown.status, 404, showRes(unknown));

    // the address can be registered again, and starts empty
    const made = await api(srv, 'POST', '/api/v1/users', { email: 'a@b.co' }, 201);
    assert.equal(made.email, 'a@b.co');
    const devices = await api(srv, 'GET', '/api/v1/devices?email=a%40b.co', undefined, 200);
    assert.deepEqual(devices, []);
  });
});

describe('operator API: devices', () => {
  let srv;
  before(async () => {
    srv = cleanup.add(await Server.start({ name: 'op-devices' }));
  });

  it('create, list, online, rotate (values kept), delete; unknown tokens 404; bad bodies 400', async () => {
    const email = 'dev@example.com';
    const made = await api(srv, 'POST', '/api/v1/devices', { email, name: 'kitchen' }, 201);
    assert.match(made.token, /^[A-Za-z0-9_-]{32}$/, JSON.stringify(made));
    assert.equal(made.email, email);
    assert.equal(made.name, 'kitchen');
    assert.equal(typeof made.dashId, 'number');
    assert.equal(typeof made.id, 'number');
    assert.equal(typeof made.userPassword, 'string', 'the user was created with a generated password');
    const token = made.token;

    // logs in at once over the hardware port
    const c = cleanup.add(await srv.login(token));
    await c.ping(2);

    const listed = await api(srv, 'GET', `/api/v1/devices?email=${encodeURIComponent(email)}`, undefined, 200);
    assert.equal(listed.length, 1, JSON.stringify(listed));
    assert.equal(listed[0].token, token);
    assert.equal(listed[0].name, 'kitchen');
    assert.equal(listed[0].email, email);
    assert.equal(listed[0].online, true, JSON.stringify(listed[0]));
    assert.equal(listed[0].connections, 1);

    const all = await api(srv, 'GET', '/api/v1/devices', undefined, 200);
    assert.ok(all.some((d) => d.token === token), JSON.stringify(all));

    const online = await api(srv, 'GET', '/api/v1/online', undefined, 200);
    const mine = online.filter((d) => d.email === email);
    assert.equal(mine.length, 1, JSON.stringify(online));
    assert.equal(mine[0].id, made.id);
    assert.equal(mine[0].dashId, made.dashId);
    assert.equal(mine[0].online, true);
    assert.equal(mine[0].token, undefined, 'the online list does not show tokens');

    // a second device of the same user, offline
    const other = await api(srv, 'POST', '/api/v1/devices', { email, name: 'garage', dashId: 7 }, 201);
    assert.equal(other.dashId, 7);
    assert.equal(other.userPassword, undefined, 'no new password for an existing user');
    const two = await api(srv, 'GET', `/api/v1/devices?email=${encodeURIComponent(email)}`, undefined, 200);
    assert.equal(two.length, 2, JSON.stringify(two));
    assert.equal(two.find((d) => d.token === other.token).online, false);

    // a stored value, then a new token
    c.send(Cmd.HARDWARE, 3, ['vw', '1', '42']);
    await c.pollPin(1, ['42']);
    const rot = await api(srv, 'POST', `/api/v1/devices/${token}/token`, undefined, 200);
    assert.match(rot.token, /^[A-Za-z0-9_-]{32}$/, JSON.stringify(rot));
    assert.notEqual(rot.token, token);
    await c.expectClose(CLOSE_TIMEOUT_MS);  // without sending anything
    await assertRefused(srv, token, 'the old token after rotation');
    const c2 = cleanup.add(await srv.login(rot.token));
    const synced = await c2.sync(4, ['vr', '1'], 1);
    assert.equal(synced[0].body.toString('utf8'), 'vw\u00001\u000042', 'the value written before the rotation');
    const afterRot = await api(srv, 'GET', `/api/v1/devices?email=${encodeURIComponent(email)}`, undefined, 200);
    assert.ok(afterRot.some((d) => d.token === rot.token && d.online), JSON.stringify(afterRot));
    assert.ok(!afterRot.some((d) => d.token === token), JSON.stringify(afterRot));

    // the old token is unknown to the API now
    const rotOld = await request(srv, 'POST', `/api/v1/devices/${token}/token`, { auth: bearer(srv) });
    assertError(rotOld, 404, NO_DEVICE, 'rotating the old token');

    // delete: closed at once, refused afterwards, gone from the lists
    const rm = await api(srv, 'DELETE', `/api/v1/devices/${rot.token}`, undefined, 200);
    assert.deepEqual(rm, { removed: { email, dashId: made.dashId, id: made.id } });
    await c2.expectClose(CLOSE_TIMEOUT_MS);
    await assertRefused(srv, rot.token, 'a deleted device');
    const left = await api(srv, 'GET', `/api/v1/devices?email=${encodeURIComponent(email)}`, undefined, 200);
    assert.deepEqual(left.map((d) => d.token), [other.token]);
    const online2 = await api(srv, 'GET', '/api/v1/online', undefined, 200);
    assert.ok(!online2.some((d) => d.email === email), JSON.stringify(online2));

    // unknown tokens
    for (const [method, p] of [['DELETE', `/api/v1/devices/${rot.token}`], ['DELETE', `/api/v1/devices/${'B'.repeat(32)}`],
      ['POST', `/api/v1/devices/${'B'.repeat(32)}/token`]]) {
      const r = await request(srv, method, p, { auth: bearer(srv) });
      assertError(r, 404, NO_DEVICE, `${method} ${p}`);
    }
    const noUser = await request(srv, 'GET', '/api/v1/devices?email=nobody%40example.com', { auth: bearer(srv) });
    assert.equal(noUser.status, 404, showRes(noUser));

    // bad bodies
    for (const body of ['{', 'null', '[1]', 'email=x']) {
      const r = await request(srv, 'POST', '/api/v1/devices', { auth: bearer(srv), body });
      assertError(r, 400, NOT_JSON, `POST /api/v1/devices body ${JSON.stringify(body)}`);
    }
    for (const body of [{ name: 'x' }, { email: 'bad', name: 'x' }]) {
      const r = await request(srv, 'POST', '/api/v1/devices', { auth: bearer(srv), body });
      assertError(r, 400, BAD_EMAIL, `POST /api/v1/devices ${JSON.stringify(body)}`);
    }
    for (const body of [{ email }, { email, name: '' }, { email, name: 'n'.repeat(51) }]) {
      const r = await request(srv, 'POST', '/api/v1/devices', { auth: bearer(srv), body });
      assertError(r, 400, BAD_NAME, `POST /api/v1/devices ${JSON.stringify(body).slice(0, 60)}`);
    }
    for (const dashId of [-1, 1000001, 'x', 1.5]) {
      const r = await request(srv, 'POST', '/api/v1/devices', { auth: bearer(srv), body: { email, name: 'n', dashId } });
      assert.equal(r.status, 400, `dashId ${JSON.stringify(dashId)}: ${showRes(r)}`);
    }
    const still = await api(srv, 'GET', `/api/v1/devices?email=${encodeURIComponent(email)}`, undefined, 200);
    assert.equal(still.length, 1, `nothing was added by the refused requests: ${JSON.stringify(still)}`);
  });

  it('rotating the token of an offline device: the new token logs in, the old one is refused', async () => {
    const made = await api(srv, 'POST', '/api/v1/devices', { email: 'off@example.com', name: 'off' }, 201);
    const rot = await api(srv, 'POST', `/api/v1/devices/${made.token}/token`, undefined, 200);
    assert.notEqual(rot.token, made.token);
    await assertRefused(srv, made.token, 'the old token of an offline device');
    const c = cleanup.add(await srv.login(rot.token));
    await c.ping(2);
    c.end();
  });

  it('a device connected twice (plain and TLS): both connections end at once on DELETE', async () => {
    const made = await api(srv, 'POST', '/api/v1/devices', { email: 'twice@example.com', name: 'twice' }, 201);
    const a = cleanup.add(await srv.login(made.token));
    const b = cleanup.add(await srv.login(made.token, { tls: true }));
    await a.ping(2);
    await b.ping(2);
    await api(srv, 'DELETE', `/api/v1/devices/${made.token}`, undefined, 200);
    await a.expectClose(CLOSE_TIMEOUT_MS);
    await b.expectClose(CLOSE_TIMEOUT_MS);
  });
});

describe('the CLI through a running server, then on storage once it stopped', () => {
  it('device add / device remove / user add / user remove take effect at once; the run file goes with the server', async () => {
    const srv = cleanup.add(await Server.start({ name: 'op-cli' }));
    const runFile = path.join(srv.dataDir, 'blynkd.run');
    assert.ok(existsSync(runFile), `${runFile} exists while the server runs`);
    assert.match(readFileSync(runFile, 'utf8'), new RegExp(`^tls_port=${srv.tlsPort}$`, 'm'));

    // device add: the token works at once
    const add = await srv.cli(['device', 'add', '--email', 'x@y.co', '--name', 'n']);
    assert.equal(add.code, 0, show(add));
    assert.match(add.stderr, /through the running server/, show(add));
    const tok = add.stdout.match(/^([A-Za-z0-9_-]{32})\n$/);
    assert.ok(tok, `stdout must be exactly one token line: ${JSON.stringify(add.stdout)}`);
    const token = tok[1];
    const c = cleanup.add(await srv.login(token));
    await c.ping(2);

    // device remove: the connected device is closed without any activity of its own
    const rm = await srv.cli(['device', 'remove', '--token', token]);
    assert.equal(rm.code, 0, show(rm));
    assert.match(rm.stderr, /through the running server/, show(rm));
    await c.expectClose(CLOSE_TIMEOUT_MS);
    await assertRefused(srv, token, 'a device removed through the CLI');
    const rm2 = await srv.cli(['device', 'remove', '--token', token]);
    assert.notEqual(rm2.code, 0, show(rm2));
    assert.match(rm2.stderr, /no device has this token/i);

    // user add / user remove, seen by the API at once
    const uadd = await srv.cli(['user', 'add', '--email', 'cli@y.co']);
    assert.equal(uadd.code, 0, show(uadd));
    const pw = uadd.stdout.match(/^password: (\S+)\n$/);
    assert.ok(pw, `stdout must be exactly one "password: P" line: ${JSON.stringify(uadd.stdout)}`);
    let users = await api(srv, 'GET', '/api/v1/users', undefined, 200);
    assert.ok(users.some((u) => u.email === 'cli@y.co'), JSON.stringify(users));
    const uagain = await srv.cli(['user', 'add', '--email', 'cli@y.co']);
    assert.notEqual(uagain.code, 0, show(uagain));
    assert.match(uagain.stderr, /already exists/);

    // user remove with a connected device: closed at once
    const t2 = await srv.addDevice('cli@y.co', 'of-cli');
    const c2 = cleanup.add(await srv.login(t2));
    await c2.ping(2);
    const urm = await srv.cli(['user', 'remove', '--email', 'cli@y.co']);
    assert.equal(urm.code, 0, show(urm));
    await c2.expectClose(CLOSE_TIMEOUT_MS);
    await assertRefused(srv, t2, "the device of a user removed through the CLI");
    users = await api(srv, 'GET', '/api/v1/users', undefined, 200);
    assert.ok(!users.some((u) => u.email === 'cli@y.co'), JSON.stringify(users));

    // stopped: no run file, the same commands work on storage
    await srv.stop();
    assert.ok(!existsSync(runFile), `${runFile} is removed at stop`);
    const addOff = await srv.cli(['device', 'add', '--email', 'x@y.co', '--name', 'offline']);
    assert.equal(addOff.code, 0, show(addOff));
    assert.doesNotMatch(addOff.stderr, /through the running server/);
    const offTok = addOff.stdout.match(/^([A-Za-z0-9_-]{32})\n$/);
    assert.ok(offTok, JSON.stringify(addOff.stdout));
    const gone = await srv.cli(['device', 'add', '--email', 'x@y.co', '--name', 'gone']);
    assert.equal(gone.code, 0, show(gone));
    const goneTok = gone.stdout.trim();
    const rmOff = await srv.cli(['device', 'remove', '--token', goneTok]);
    assert.equal(rmOff.code, 0, show(rmOff));
    assert.doesNotMatch(rmOff.stderr, /through the running server/);
    const uaddOff = await srv.cli(['user', 'add', '--email', 'offline@y.co']);
    assert.equal(uaddOff.code, 0, show(uaddOff));
    assert.match(uaddOff.stdout, /^password: \S+\n$/);
    const uaddOff2 = await srv.cli(['user', 'add', '--email', 'removed@y.co']);
    assert.equal(uaddOff2.code, 0, show(uaddOff2));
    const urmOff = await srv.cli(['user', 'remove', '--email', 'removed@y.co']);
    assert.equal(urmOff.code, 0, show(urmOff));
    const list = await srv.cli(['user', 'list']);
    assert.equal(list.code, 0, show(list));
    assert.match(list.stdout, /^offline@y\.co\s/m);
    assert.doesNotMatch(list.stdout, /^removed@y\.co\s/m);

    // the next start sees what was done while stopped
    await srv.launch();
    assert.ok(existsSync(runFile), 'the run file is back');
    const c3 = cleanup.add(await srv.login(offTok[1]));
    await c3.ping(2);
    c3.end();
    await assertRefused(srv, goneTok, 'a device removed while the server was stopped');
    users = await api(srv, 'GET', '/api/v1/users', undefined, 200);
    assert.ok(users.some((u) => u.email === 'offline@y.co'), JSON.stringify(users));
    assert.ok(!users.some((u) => u.email === 'removed@y.co'), JSON.stringify(users));
    await srv.stop();
  });
});
