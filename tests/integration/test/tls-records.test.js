// TLS 1.3 and TLS 1.2 connections continue with the kernel's own record layer after OpenSSL's
// handshake (docs/security.md, "TLS after the handshake"): real clients must not notice. Node's
// TLS client (every TLS 1.3 suite and every TLS 1.2 suite of the server's RSA certificate,
// session resumption with the tickets OpenSSL sent before the take-over and, in TLS 1.2, by
// session ID, a megabyte each way), openssl s_client's KeyUpdate in both forms (TLS 1.3) and a
// renegotiation attempt (TLS 1.2: refused, the connection closed with a log line), and forged
// records (the connection is closed with a log line naming the peer; the server goes on).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { constants as cryptoConstants } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { Server, Cmd, Status, Cleanup, RawClient, frame, responseFrame, withTimeout, which } from '../lib/harness.js';
import { bridgeTraffic } from '../lib/bridge.js';

const cleanup = new Cleanup();
let srv;
let tokA;
let tokB;

const OPENSSL = which('openssl');

before(async () => {
  srv = cleanup.add(await Server.start({ name: 'tls-records', config: { hardware: { max_bridges: 5, message_quota: 0 } } }));
  tokA = await srv.addDevice('owner@example.com', 'device-a');
  tokB = await srv.addDevice('owner@example.com', 'device-b');
});
after(() => cleanup.run());

const tlsOpts = () => ({ ca: srv.cert(), servername: 'localhost', checkServerIdentity: () => undefined });

/**
 * openssl s_client on the TLS port (args: e.g. '-tls1_3'), its stdin a pipe: `out` (stdout bytes,
 * where the decrypted frames land) and `err` grow as it prints; until(what, cond) waits (bounded)
 * for cond() to hold; `exited` resolves with its exit code.
 */
function sClient(...args) {
  const p = spawn(OPENSSL, ['s_client', '-connect', `127.0.0.1:${srv.tlsPort}`, ...args, '-CAfile', srv.certPath,
    '-servername', 'localhost'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const c = { p, out: Buffer.alloc(0), err: '' };
  const waiters = [];
  const check = () => { for (const w of [...waiters]) w(); };
  p.stdout.on('data', (d) => { c.out = Buffer.concat([c.out, d]); check(); });
  p.stderr.on('data', (d) => { c.err += d; check(); });
  c.exited = new Promise((resolve) => p.on('close', (code) => { resolve(code); check(); }));
  c.until = (what, cond) => withTimeout(new Promise((resolve) => {
    const w = () => { if (cond()) { waiters.splice(waiters.indexOf(w), 1); resolve(); } };
    waiters.push(w);
    w();
  }), 5000, `${what}; stdout ${c.out.length} bytes; stderr: ${c.err}`);
  return c;
}

describe('TLS 1.3 and 1.2 after the handshake (the kernel\'s record layer)', () => {
  for (const suite of ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']) {
    it(`${suite}: a megabyte from device to device through the server, pings answered`, async () => {
      const opts = { tls: true, tlsOptions: { ciphers: suite, minVersion: 'TLSv1.3' } };
      const a = cleanup.add(await srv.login(tokA, { ...opts }));
      const b = cleanup.add(await srv.login(tokB, { ...opts }));
      assert.equal(a.sock.getProtocol(), 'TLSv1.3');
      assert.equal(a.sock.getCipher().standardName, suite);
      await bridgeTraffic(a, b, tokB, { count: 1200, size: 900, tag: suite.slice(4, 10), pings: 20 });
      a.end();
      b.end();
    });
  }

  it('a TLS 1.2 connection and a TLS 1.3 one (both on the kernel\'s record layer) carry the same traffic', async () => {
    const a = cleanup.add(await srv.login(tokA, { tls: true, tlsOptions: { maxVersion: 'TLSv1.2' } }));
    const b = cleanup.add(await srv.login(tokB, { tls: true }));
    assert.equal(a.sock.getProtocol(), 'TLSv1.2');
    assert.equal(b.sock.getProtocol(), 'TLSv1.3');
    await bridgeTraffic(a, b, tokB, { count: 1200, size: 900, tag: 'mixed', pings: 20 });
    a.end();
    b.end();
  });

  for (const suite of ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305']) {
    it(`TLS 1.2 ${suite}: a megabyte from device to device through the server, pings answered`, async () => {
      const opts = { tls: true, tlsOptions: { ciphers: suite, maxVersion: 'TLSv1.2' } };
      const a = cleanup.add(await srv.login(tokA, { ...opts }));
      const b = cleanup.add(await srv.login(tokB, { ...opts }));
      assert.equal(a.sock.getProtocol(), 'TLSv1.2');
      assert.equal(a.sock.getCipher().name, suite);
      await bridgeTraffic(a, b, tokB, { count: 1200, size: 900, tag: suite.slice(10, 16), pings: 20 });
      a.end();
      b.end();
    });
  }

  for (const [how, secureOptions] of [['a session ticket', 0], ['a session ID', cryptoConstants.SSL_OP_NO_TICKET]]) {
    it(`TLS 1.2: ${how} from one connection resumes the next, which then works`, async () => {
      const opts = { maxVersion: 'TLSv1.2', secureOptions };
      const first = cleanup.add(await srv.login(tokA, { tls: true, tlsOptions: opts }));
      assert.equal(first.sock.getProtocol(), 'TLSv1.2');
      first.send(Cmd.PING, 5);
      await first.expectResponse(5, Status.OK);
      const session = first.sock.getSession();
      assert.ok(session, 'a session to resume');
      first.end();
      const c = cleanup.add(await srv.connect({ tls: true, tlsOptions: { ...opts, session } }));
      assert.equal(c.sock.isSessionReused(), true, 'the session was resumed');
      await c.login(tokA);
      for (let i = 0; i < 10; i++) c.send(Cmd.PING, 10 + i);
      for (let i = 0; i < 10; i++) await c.expectResponse(10 + i, Status.OK);
      c.end();
    });
  }

  it('a session ticket from one connection resumes the next, which then works', async () => {
    const session = await withTimeout(new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: srv.tlsPort, ...tlsOpts() });
      s.once('session', (t) => { resolve(t); s.destroy(); });
      s.once('error', reject);
    }), 5000, 'a session ticket');
    const c = cleanup.add(await srv.connect({ tls: true, tlsOptions: { session } }));
    assert.equal(c.sock.isSessionReused(), true, 'the session was resumed');
    await c.login(tokA);
    for (let i = 0; i < 10; i++) c.send(Cmd.PING, 10 + i);
    for (let i = 0; i < 10; i++) await c.expectResponse(10 + i, Status.OK);
    c.end();
  });

  it('openssl s_client: KeyUpdate with and without update_requested; the server answers under the new keys',
    { skip: OPENSSL ? false : 'openssl not installed' }, async () => {
      const c = sClient('-tls1_3');
      const { p, exited, until } = c;
      const status = (id) => responseFrame(id, Status.OK);
      try {
        await until('the handshake', () => c.out.includes('Verify return code: 0'));
        p.stdin.write(frame(Cmd.HARDWARE_LOGIN, 1, [tokA]));
        await until('the login answer', () => c.out.includes(status(1)));
        // s_client sends each KeyUpdate with its next write; a chunk of stdin that starts with
        // K (update requested) or k (not requested) is the command, nothing else.
        let id = 2;
        for (const cmd of ['K\n', 'k\n', 'K\n']) {
          const before = (c.err.match(/KEYUPDATE/g) || []).length;
          p.stdin.write(cmd);
          await until('s_client took the command', () => (c.err.match(/KEYUPDATE/g) || []).length > before);
          p.stdin.write(frame(Cmd.PING, id, null));
          await until(`the answer to ping ${id} after ${cmd.trim()}`, () => c.out.includes(status(id)));
          id += 1;
        }
        p.stdin.end();  // s_client then closes (close_notify)
        assert.equal(await withTimeout(exited, 5000, 's_client exit'), 0, c.err);
        assert.doesNotMatch(c.err, /error|alert/i);
        assert.doesNotMatch(srv.log, /TLS: /, 'no TLS error on the server');
      } finally {
        p.kill('SIGKILL');
      }
    });

  it('openssl s_client -tls1_2: a renegotiation is refused (no_renegotiation), the client gives up, '
    + 'the server closes with a log line and goes on', { skip: OPENSSL ? false : 'openssl not installed' }, async () => {
    const other = cleanup.add(await srv.login(tokB, { tls: true, tlsOptions: { maxVersion: 'TLSv1.2' } }));
    const from = srv.log.length;
    const c = sClient('-tls1_2');
    const { p, exited, until } = c;
    try {
      await until('the handshake', () => c.out.includes('Verify return code: 0'));
      assert.match(c.out.toString('latin1'), /Protocol *: TLSv1\.2/);
      p.stdin.write(frame(Cmd.HARDWARE_LOGIN, 1, [tokA]));
      await until('the login answer', () => c.out.includes(responseFrame(1, Status.OK)));
      // R: s_client sends its ClientHello at once (or with its next write), reads our warning
      // no_renegotiation, sends a fatal handshake_failure and exits
      p.stdin.on('error', () => {});
      let gone = false;
      exited.then(() => { gone = true; });
      p.stdin.write('R\n');
      await until('s_client took the command', () => c.err.includes('RENEGOTIATING'));
      if (!gone) p.stdin.write(frame(Cmd.PING, 2, null));
      await withTimeout(exited, 5000, `s_client exit; stderr: ${c.err}`);
      assert.match(c.err, /no renegotiation/i, 's_client saw our no_renegotiation alert');
      assert.ok(!c.out.includes(responseFrame(2, Status.OK)), 'no answer to the ping after the refusal');
      const m = await srv.waitForLog(/(127\.0\.0\.1:\d+): TLS: peer sent alert: handshake failure \(40\) after we refused its renegotiation/, 5000, from);
      assert.ok(m[1]);
    } finally {
      p.kill('SIGKILL');
    }
    other.send(Cmd.PING, 9);
    await other.expectResponse(9, Status.OK);
    other.end();
  });

  for (const version of ['TLSv1.3', 'TLSv1.2']) {
    it(`a forged ${version} record closes that connection with a log line naming it; others go on`, async () => {
      const other = cleanup.add(await srv.login(tokB, { tls: true }));
      const raw = net.connect(srv.tlsPort, '127.0.0.1');
      const s = tls.connect({ socket: raw, ...tlsOpts(), minVersion: version, maxVersion: version });
      await withTimeout(new Promise((resolve, reject) => { s.once('secureConnect', resolve); s.once('error', reject); }),
        5000, 'handshake');
      // a login answered: the server is past the handshake (the client's Finished went out
      // through the TLS layer; a record written under it could overtake it)
      const c = new RawClient(s);
      await c.login(tokA);
      const local = `127.0.0.1:${raw.localPort}`;
      const closed = new Promise((resolve) => raw.once('close', resolve));
      s.on('error', () => {});
      // an application-data record whose tag cannot be right, written under the TLS layer
      const forged = Buffer.alloc(5 + 40, 0x5a);
      forged.set([0x17, 0x03, 0x03, 0x00, 40]);
      raw.write(forged);
      await withTimeout(closed, 5000, 'the server closing the connection');
      await srv.waitForLog(new RegExp(`${local.replace(/\./g, '\\.')}: TLS: bad_record_mac`), 5000);
      other.send(Cmd.PING, 9);
      await other.expectResponse(9, Status.OK);
      other.end();
    });
  }
});
