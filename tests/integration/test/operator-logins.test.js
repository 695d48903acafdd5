// Administrator password guessing on the operator API (kernel/net/operator_auth.cpp,
// docs/security.md): failed operator logins count toward the [security] login throttle per
// address, checked before any hash; password hashes run on a small bounded pool (never the
// storage or the I/O thread), so a flood of guesses neither delays device logins nor piles up;
// an unknown e-mail costs the same hash as a known one; old hashes are upgraded to the
// configured PBKDF2 rounds at the next successful login; [admin] allowed_ips defaults to loopback.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { Server, Cmd, Status, Cleanup } from '../lib/harness.js';
import {
  NO_CREDENTIALS, WRONG_ADMIN, showRes, adminCredentials, basic, bearer, request, assertError,
} from '../lib/operator.js';

const cleanup = new Cleanup();
after(() => cleanup.run());

const THROTTLED = 'Too many failed logins from this address; try again later.';
const BUSY = 'The server is busy; try again.';
const NOT_ALLOWED = 'This address may not use the operator API (see [admin] allowed_ips).';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Milliseconds one call takes (monotonic clock). */
async function timed(fn) {
  const t0 = process.hrtime.bigint();
  const out = await fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, out };
}

/** The stored password hash of an account, read from the SQLite store. */
function storedHash(srv, email) {
  return execFileSync('python3', ['-c', `import sqlite3,sys
db = sqlite3.connect(sys.argv[1])
row = db.execute("SELECT pass_hash FROM users WHERE email = ?", (sys.argv[2],)).fetchone()
v = row[0] if row else b""
sys.stdout.write(v.decode() if isinstance(v, bytes) else v)`, path.join(srv.dataDir, 'blynk.db'), email]).toString();
}

describe('operator API: failed logins and the [security] throttle', () => {
  it('50 wrong admin passwords from one address: the 6th on is 429 without hashing, even the right password; the operator token still works; another address still gets in', async () => {
    const srv = cleanup.add(await Server.start({
      name: 'op-throttle',
      // a costly hash, so that a refusal that still hashed could not be quick
      config: { security: { login_failures: 5, login_failure_window: 60, login_block: 300, password_hash_iterations: 1000000 } },
    }));
    const { email, password } = adminCredentials(srv);
    const statuses = [];
    const blockedMs = [];
    for (let i = 0; i < 50; i++) {
      const { ms, out: r } = await timed(() => request(srv, 'GET', '/api/v1/users', { auth: basic(email, `wrong-${i}`) }));
      statuses.push(r.status);
      if (i < 5) assertError(r, 401, WRONG_ADMIN, `guess ${i + 1}`);
      else {
        assertError(r, 429, THROTTLED, `guess ${i + 1}`);
        blockedMs.push(ms);
      }
    }
    assert.deepEqual(statuses, [...Array(5).fill(401), ...Array(45).fill(429)]);
    await srv.waitForLog(/127\.0\.0\.1: 5 refused logins within 60 s; logins from this address are refused for 300 s/, 3000);
    // a blocked guess costs no hash: far below one PBKDF2 of 1,000,000 rounds
    const wrongHash = await timed(() => request(srv, 'GET', '/api/v1/users', {
      auth: basic(email, 'one more'), localAddress: '127.0.0.3',
    }));
    assertError(wrongHash.out, 401, WRONG_ADMIN, 'a wrong password from 127.0.0.3');
    assert.ok(median(blockedMs) * 4 < wrongHash.ms,
      `blocked answers (median ${median(blockedMs).toFixed(1)} ms) must not hash (one hash: ${wrongHash.ms.toFixed(1)} ms)`);
    const right = await request(srv, 'GET', '/api/v1/users', { auth: basic(email, password) });
    assertError(right, 429, THROTTLED, 'the right password from the blocked address');
    // the CLI's token (192 random bits, never hashed) is not locked out by what others sent from its address
    const cli = await request(srv, 'GET', '/api/v1/users', { auth: bearer(srv) });
    assert.equal(cli.status, 200, `the operator token from the blocked address: ${showRes(cli)}`);
    const other = await request(srv, 'GET', '/api/v1/users', { auth: basic(email, password), localAddress: '127.0.0.2' });
    assert.equal(other.status, 200, `the right password from 127.0.0.2: ${showRes(other)}`);
    assert.ok(!srv.log.includes(password), 'the password is in no server output');
    await srv.stop();
  });

  it('wrong operator tokens (Bearer) count too: 5 from 127.0.0.4 block it, a wrong token and the right admin password then get 429', async () => {
    const srv = cleanup.add(await Server.start({ name: 'op-throttle-bearer', config: { security: { login_failures: 5 } } }));
    const { email, password } = adminCredentials(srv);
    for (let i = 0; i < 5; i++) {
      const r = await request(srv, 'GET', '/api/v1/online', { auth: `Bearer ${randomBytes(24).toString('base64url')}`, localAddress: '127.0.0.4' });
      assertError(r, 401, NO_CREDENTIALS, `wrong token ${i + 1}`);
    }
    const wrong = await request(srv, 'GET', '/api/v1/online', { auth: `Bearer ${'C'.repeat(32)}`, localAddress: '127.0.0.4' });
    assertError(wrong, 429, THROTTLED, 'a wrong token from the blocked address');
    const r = await request(srv, 'GET', '/api/v1/online', { auth: basic(email, password), localAddress: '127.0.0.4' });
    assertError(r, 429, THROTTLED, 'the right password from the blocked address');
    const ok = await request(srv, 'GET', '/api/v1/online', { auth: bearer(srv) });
    assert.equal(ok.status, 200, showRes(ok));
    await srv.stop();
  });
});

describe('operator API: password hashing off the storage and I/O threads', () => {
  it('while 4 clients keep guessing admin passwords (2,000,000-round hashes), device logins from 127.0.0.2 that need storage keep p99 under 200 ms', async (t) => {
    const srv = cleanup.add(await Server.start({
      name: 'op-hash-flood',
      // no throttle: the guesses go on for the whole measurement; 2,000,000 rounds, so that one
      // hash takes longer than the bound even on a fast idle machine
      config: { security: { login_failures: 0, password_hash_iterations: 2000000 } },
    }));
    const { email } = adminCredentials(srv);
    const one = await timed(() => request(srv, 'GET', '/api/v1/users', { auth: basic(email, 'a guess') }));
    assertError(one.out, 401, WRONG_ADMIN, 'one guess');
    assert.ok(one.ms > 200, `one hash takes ${one.ms.toFixed(0)} ms: longer than the bound, or the test proves nothing`);

    let stop = false;
    const flood = { 401: 0, 503: 0, other: 0 };
    const guesser = async () => {
      while (!stop) {
        // queued behind up to 4 hashes of the pool: a longer bound than one request's
        const r = await request(srv, 'GET', '/api/v1/users', { auth: basic(email, randomBytes(8).toString('hex')), timeout: 60000 });
        if (r.status === 401 || r.status === 503) flood[r.status] += 1; else flood.other += 1;
      }
    };
    const guessers = [guesser(), guesser(), guesser(), guesser()];
    // Unknown tokens are looked up in storage (its thread), as a device added elsewhere would be.
    const lat = [];
    const t0 = Date.now();
    try {
      // at least 100 logins and 4 s, and until 2 guesses were hashed meanwhile (60 s at most)
      while ((lat.length < 100 || Date.now() - t0 < 4000 || flood[401] < 2) && Date.now() - t0 < 60000) {
        const { ms } = await timed(async () => {
          const c = await srv.connect({ localAddress: '127.0.0.2' });
          c.send(Cmd.HARDWARE_LOGIN, 1, randomBytes(24).toString('base64url'));
          await c.expectResponse(1, Status.INVALID_TOKEN, 10000);
          c.close();
        });
        lat.push(ms);
      }
    } finally {
      stop = true;
      await Promise.all(guessers);
    }
    lat.sort((a, b) => a - b);
    const p99 = lat[Math.ceil(lat.length * 0.99) - 1];
    t.diagnostic(`device logins: ${lat.length}, median ${median(lat).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, ` +
      `max ${lat.at(-1).toFixed(1)} ms; one hash ${one.ms.toFixed(0)} ms; guesses ${JSON.stringify(flood)}`);
    assert.ok(flood[401] >= 2, `the guesses were hashed meanwhile: ${JSON.stringify(flood)}`);
    assert.equal(flood.other, 0, JSON.stringify(flood));
    assert.ok(p99 < 200, `device login p99 ${p99.toFixed(1)} ms over ${lat.length} logins (max ${lat.at(-1).toFixed(1)} ms); one hash ${one.ms.toFixed(0)} ms; guesses ${JSON.stringify(flood)}`);
    await srv.stop();
  });

  it('30 guesses at once: the bounded pool takes what it can, the rest is 503 "busy" at once; every request is answered', async (t) => {
    const srv = cleanup.add(await Server.start({ name: 'op-hash-busy', config: { security: { login_failures: 0 } } }));
    const { email } = adminCredentials(srv);
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) =>
      timed(() => request(srv, 'GET', '/api/v1/users', { auth: basic(email, `guess-${i}`) }))));
    const busy = answers.filter((a) => a.out.status === 503);
    const wrong = answers.filter((a) => a.out.status === 401);
    t.diagnostic(`${busy.length} busy, ${wrong.length} hashed`);
    assert.equal(busy.length + wrong.length, 30, answers.map((a) => showRes(a.out)).join('\n'));
    assert.ok(busy.length >= 1, `a full pool refuses: ${busy.length} busy, ${wrong.length} hashed`);
    for (const a of busy) assertError(a.out, 503, BUSY, 'busy');
    assert.ok(Math.max(...busy.map((a) => a.ms)) < Math.max(...wrong.map((a) => a.ms)),
      'a busy answer does not wait for the hashes');
    await srv.stop();
  });

  it('an unknown e-mail takes as long as a known one with a wrong password (no timing oracle)', async (t) => {
    const srv = cleanup.add(await Server.start({
      name: 'op-hash-timing', config: { security: { login_failures: 0, password_hash_iterations: 300000 } },
    }));
    const { email } = adminCredentials(srv);
    const known = [];
    const unknown = [];
    for (let i = 0; i < 7; i++) {  // interleaved, so load changes hit both alike
      const k = await timed(() => request(srv, 'GET', '/api/v1/users', { auth: basic(email, `wrong-${i}`) }));
      assertError(k.out, 401, WRONG_ADMIN, 'known account');
      known.push(k.ms);
      const u = await timed(() => request(srv, 'GET', '/api/v1/users', { auth: basic(`nobody-${i}@example.com`, `wrong-${i}`) }));
      assertError(u.out, 401, WRONG_ADMIN, 'unknown account');
      unknown.push(u.ms);
    }
    const [mk, mu] = [median(known), median(unknown)];
    t.diagnostic(`medians: known ${mk.toFixed(1)} ms, unknown ${mu.toFixed(1)} ms`);
    assert.ok(mu > mk / 2 && mu < mk * 2,
      `medians: known ${mk.toFixed(1)} ms, unknown ${mu.toFixed(1)} ms (each within 2x of the other)`);
    await srv.stop();
  });
});

describe('operator API: password hash upgrade', () => {
  it('a 100,000-round hash verifies, is replaced by one of the configured rounds at the next successful login (not at a failed one), and the new one verifies after a restart', async () => {
    const srv = cleanup.add(await Server.start({ name: 'op-upgrade', config: { security: { password_hash_iterations: 100000 } } }));
    const { email, password } = adminCredentials(srv);
    const old = storedHash(srv, email);
    // the first administrator's generated password carries the must-change mark (admin web UI)
    assert.match(old, /^must-change:pbkdf2-sha256\$100000\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    await srv.stop();
    const cfg = readFileSync(srv.configPath, 'utf8');
    assert.match(cfg, /password_hash_iterations = 100000/);
    writeFileSync(srv.configPath, cfg.replace('password_hash_iterations = 100000', 'password_hash_iterations = 200000'));
    await srv.launch();

    const wrong = await request(srv, 'GET', '/api/v1/users', { auth: basic(email, `${password}x`) });
    assertError(wrong, 401, WRONG_ADMIN, 'wrong password');
    assert.equal(storedHash(srv, email), old, 'a failed login changes nothing');

    const ok = await request(srv, 'GET', '/api/v1/users', { auth: basic(email, password) });
    assert.equal(ok.status, 200, `the old hash still verifies: ${showRes(ok)}`);
    await srv.waitForLog(/password hash of \S+ upgraded to 200000 PBKDF2 rounds/, 5000);
    const upgraded = storedHash(srv, email);
    assert.match(upgraded, /^must-change:pbkdf2-sha256\$200000\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/,
      'the upgrade keeps the must-change mark');
    assert.notEqual(upgraded.split('$')[2], old.split('$')[2], 'a fresh salt');

    await srv.restart();  // no cached credentials: the new hash itself is checked
    const again = await request(srv, 'GET', '/api/v1/users', { auth: basic(email, password) });
    assert.equal(again.status, 200, showRes(again));
    const wrong2 = await request(srv, 'GET', '/api/v1/users', { auth: basic(email, `${password}x`) });
    assertError(wrong2, 401, WRONG_ADMIN, 'wrong password after the upgrade');
    assert.equal(storedHash(srv, email), upgraded, 'no second upgrade');
    await srv.stop();
  });

  it('[security] password_hash_iterations below 100000 is refused by `config check`', async () => {
    const srv = Server.create({ name: 'op-iter-floor', config: { security: { password_hash_iterations: 99999 } } });
    cleanup.add(srv);
    const r = await srv.cli(['config', 'check']);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /security\.password_hash_iterations: is 99999; allowed: 100000 to 10000000/);
  });
});

describe('operator API: [admin] allowed_ips defaults to loopback', () => {
  // Addresses of this machine that are not loopback (link-local ones need a scope: skipped).
  const outside = Object.values(networkInterfaces()).flat()
    .filter((a) => a && !a.internal && !a.address.startsWith('fe80:'))
    .map((a) => a.address);

  it('with no [admin] table, a request from a non-loopback address of this machine is 403; loopback gets in', {
    skip: outside.length ? false : 'this machine has no non-loopback address',
  }, async () => {
    const srv = cleanup.add(await Server.start({ name: 'op-default-ips', config: { server: { listen_address: '' } } }));
    for (const host of outside) {
      const r = await request(srv, 'GET', '/api/v1/online', { auth: bearer(srv), host });
      assertError(r, 403, NOT_ALLOWED, `from ${host} (private addresses included: behind Docker or NAT everyone looks private)`);
    }
    const lo = await request(srv, 'GET', '/api/v1/online', { auth: bearer(srv) });
    assert.equal(lo.status, 200, showRes(lo));
    await srv.stop();
  });
});
