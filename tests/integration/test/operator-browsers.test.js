// The operator API against a browser (kernel/net/operator_auth.cpp, docs/security.md): a page on
// another site that the administrator opens must not be able to use /api/v1 through the
// administrator's browser (CSRF). Bodies must be declared application/json (forms and
// no-preflight fetches cannot do that), a foreign Origin or a cross-site Sec-Fetch-Site is
// refused, /api/v1 answers carry no Access-Control-Allow-Origin (the legacy token API keeps
// its `*`: browser pages use it), and a 401 has no Basic challenge a browser would cache.
// Requests without browser headers (curl, scripts, the CLI) work as before.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, Cleanup } from '../lib/harness.js';
import {
  JSON_TYPE, NO_CREDENTIALS, showRes, adminCredentials, basic, bearer, request, api, assertError,
} from '../lib/operator.js';

const cleanup = new Cleanup();
after(() => cleanup.run());

const NOT_JSON_TYPE = 'The operator API takes JSON bodies only (Content-Type: application/json).';
const CROSS_SITE = /^Cross-site requests to the operator API are refused/;
const EVIL = 'https://evil.example';

describe('operator API: requests a page on another site can make', () => {
  let srv;
  let admin;
  before(async () => {
    srv = cleanup.add(await Server.start({
      name: 'op-csrf',
      config: { plugins: { enabled: ['storage-sqlite', 'http-api'] } },
    }));
    admin = basic(adminCredentials(srv).email, adminCredentials(srv).password);
  });

  async function userExists(email) {
    const users = await api(srv, 'GET', '/api/v1/users', undefined, 200);
    return users.some((u) => u.email === email);
  }

  it('a text/plain POST of {"email":…,"admin":true} to /api/v1/users with the admin\'s credentials is refused and creates no user', async () => {
    const body = JSON.stringify({ email: 'csrf-plain@evil.example', password: 'owned owned owned', admin: true });
    // as a browser sends it from another site ...
    const cross = await request(srv, 'POST', '/api/v1/users', {
      auth: admin, body,
      headers: { 'Content-Type': 'text/plain;charset=UTF-8', Origin: EVIL, 'Sec-Fetch-Site': 'cross-site' },
    });
    assertError(cross, 403, CROSS_SITE, 'cross-site text/plain POST');
    // ... and without any browser header: the Content-Type alone refuses it
    const bare = await request(srv, 'POST', '/api/v1/users', {
      auth: admin, body, headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
    });
    assertError(bare, 415, NOT_JSON_TYPE, 'text/plain POST without Origin');
    assert.equal(await userExists('csrf-plain@evil.example'), false, 'no user was created');
    assert.match(srv.log, /127\.0\.0\.1:\d+: operator API refused: Cross-site requests/);
  });

  it('an application/x-www-form-urlencoded form POST to /api/v1/users is refused and creates no user', async () => {
    // what <form method=post enctype=text/plain> or a urlencoded form submits; the JSON rides in a field name
    const body = '{"email":"csrf-form@evil.example","admin":true,"x":"=1"}';
    for (const headers of [
      { 'Content-Type': 'application/x-www-form-urlencoded', Origin: EVIL, 'Sec-Fetch-Site': 'cross-site' },
      { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'null' },
      { 'Content-Type': 'application/x-www-form-urlencoded' },
      { 'Content-Type': 'multipart/form-data; boundary=x' },
    ]) {
      const r = await request(srv, 'POST', '/api/v1/users', { auth: admin, body, headers });
      assert.ok(r.status === 403 || r.status === 415, `${JSON.stringify(headers)}: ${showRes(r)}`);
      assert.equal(r.type, JSON_TYPE);
      assert.match(r.json?.error || '', r.status === 403 ? CROSS_SITE : /JSON bodies only/);
    }
    assert.equal(await userExists('csrf-form@evil.example'), false, 'no user was created');
  });

  it('a foreign Origin or a cross-site Sec-Fetch-Site is refused (403) even on GET; the own origin, same-origin, none and no header work', async () => {
    for (const headers of [{ Origin: EVIL }, { Origin: 'http://127.0.0.1' }, { Origin: 'null' },
      { Origin: `https://127.0.0.1:${srv.tlsPort}.evil.example` },
      { 'Sec-Fetch-Site': 'cross-site' }, { 'Sec-Fetch-Site': 'same-site' }]) {
      for (const auth of [admin, bearer(srv)]) {
        const r = await request(srv, 'GET', '/api/v1/users', { auth, headers });
        assertError(r, 403, CROSS_SITE, `GET with ${JSON.stringify(headers)}`);
      }
    }
    const d = await request(srv, 'DELETE', `/api/v1/devices/${'A'.repeat(32)}`, { auth: admin, headers: { Origin: EVIL } });
    assertError(d, 403, CROSS_SITE, 'DELETE with a foreign Origin');
    // Node sends Host: 127.0.0.1:PORT, so that is this server's own origin
    for (const headers of [{}, { Origin: `https://127.0.0.1:${srv.tlsPort}` }, { 'Sec-Fetch-Site': 'same-origin' },
      { 'Sec-Fetch-Site': 'none' }, { Origin: `https://127.0.0.1:${srv.tlsPort}`, 'Sec-Fetch-Site': 'same-origin' }]) {
      const r = await request(srv, 'GET', '/api/v1/users', { auth: admin, headers });
      assert.equal(r.status, 200, `${JSON.stringify(headers)}: ${showRes(r)}`);
    }
    // a same-origin page (or a script) with a JSON body still creates users
    const made = await request(srv, 'POST', '/api/v1/users', {
      auth: admin, body: { email: 'same-origin@example.com' },
      headers: { 'Content-Type': 'application/json; charset=utf-8', Origin: `https://127.0.0.1:${srv.tlsPort}` },
    });
    assert.equal(made.status, 201, showRes(made));
  });

  it('no Access-Control-Allow-Origin on any /api/v1 answer; the legacy token API keeps `*`', async () => {
    const answers = [
      await request(srv, 'GET', '/api/v1/users', { auth: admin }),
      await request(srv, 'GET', '/api/v1/users'),
      await request(srv, 'GET', '/api/v1/users', { auth: admin, headers: { Origin: EVIL } }),
      await request(srv, 'POST', '/api/v1/users', { auth: admin, body: 'x', headers: { 'Content-Type': 'text/plain' } }),
      await request(srv, 'POST', '/api/v1/users', { auth: bearer(srv), body: { email: 'bad' } }),
      await request(srv, 'GET', '/api/v1/users', { auth: admin, plain: true }),
    ];
    assert.deepEqual(answers.map((r) => r.status), [200, 401, 403, 415, 400, 403]);
    for (const r of answers) assert.equal(r.headers['access-control-allow-origin'], undefined, showRes(r));
    // the legacy token API (http-api plugin), plain and TLS: browsers call it from pages
    const token = (await api(srv, 'POST', '/api/v1/devices', { email: 'cors@example.com', name: 'd' }, 201)).token;
    for (const plain of [true, false]) {
      const r = await request(srv, 'GET', `/${token}/isHardwareConnected`, { plain });
      assert.equal(r.status, 200, showRes(r));
      assert.equal(r.headers['access-control-allow-origin'], '*', `legacy API over ${plain ? 'plain' : 'TLS'}`);
    }
  });

  it('401 carries a JSON error and no WWW-Authenticate, for missing and for wrong credentials', async () => {
    const { email } = adminCredentials(srv);
    for (const auth of [undefined, basic(email, 'wrong password'), `Bearer ${'B'.repeat(32)}`]) {
      const r = await request(srv, 'GET', '/api/v1/online', { auth });
      assert.equal(r.status, 401, showRes(r));
      assert.equal(r.type, JSON_TYPE);
      assert.equal(typeof r.json?.error, 'string', r.text);
      assert.equal(r.headers['www-authenticate'], undefined, String(auth));
    }
    const none = await request(srv, 'GET', '/api/v1/online');
    assertError(none, 401, NO_CREDENTIALS, 'no credentials');
  });
});
