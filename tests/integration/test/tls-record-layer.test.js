// Which record layer TLS connections continue with after OpenSSL's handshake (docs/security.md,
// "TLS after the handshake"): the kernel's only after a start-up self-test proved it on this
// OpenSSL, and never with [tls] record_layer = "openssl". The self-test's failure is forced with
// the test hook BLYNKD_TEST_TLS_SELFTEST_SKEW=1, which puts the take-over's counted sequence
// numbers off by one, as a change in OpenSSL's record callbacks would: the server must say so
// once, keep every connection on OpenSSL, and TLS 1.3 and 1.2 devices must still work. Each
// connection's record layer is read from its debug line ("<peer>: TLS record layer: kernel").
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, Cmd, Status, Cleanup } from '../lib/harness.js';

const cleanup = new Cleanup();
after(() => cleanup.run());

const SELFTEST_PASSED = /info TLS record layer: the kernel's after the handshake \(OpenSSL 3\.0\.\d+[^;]*; self-test passed in \d+\.\d ms, 10 handshakes, 8 kinds of connection\)\n/;
const SELFTEST_FAILED = /warning TLS record layer: self-test failed \(TLS 1\.3 TLS_\w+, full handshake: the OpenSSL client could not decrypt our first record \([^)]*\)\); every TLS connection stays on OpenSSL \(it works, with ~15 KB more memory per idle connection\)\n/;

async function start(name, { config = {}, env = {} } = {}) {
  const srv = cleanup.add(await Server.start({
    name, env, config: { logging: { level: 'debug' }, hardware: { message_quota: 0, max_bridges: 5 }, ...config },
  }));
  const tokA = await srv.addDevice('owner@example.com', 'device-a');
  const tokB = await srv.addDevice('owner@example.com', 'device-b');
  return { srv, tokA, tokB };
}

const count = (text, re) => (text.match(new RegExp(re.source, 'g')) || []).length;

/** The record layer the server logged for client `c`'s connection: 'kernel' or 'OpenSSL'. */
async function recordLayerOf(srv, c) {
  const peer = `127.0.0.1:${c.sock.localPort}`.replace(/\./g, '\\.');
  const m = await srv.waitForLog(new RegExp(`${peer}: TLS record layer: (kernel|OpenSSL)\\n`), 5000);
  return m[1];
}

/** A TLS 1.3 device and a TLS 1.2 device, logged in, each with the record layer the server chose. */
async function twoDevices(srv, tokA, tokB) {
  const a = cleanup.add(await srv.login(tokA, { tls: true, tlsOptions: { minVersion: 'TLSv1.3' } }));
  const b = cleanup.add(await srv.login(tokB, { tls: true, tlsOptions: { maxVersion: 'TLSv1.2' } }));
  assert.equal(a.sock.getProtocol(), 'TLSv1.3');
  assert.equal(b.sock.getProtocol(), 'TLSv1.2');
  return { a, b, layers: [await recordLayerOf(srv, a), await recordLayerOf(srv, b)] };
}

/** `from` → `to` over a bridge: `n` writes of 900 bytes (several records each way), all
 * arriving in order; then `to`'s pings answered in order. */
async function bridgeTraffic(from, to, toToken, n, tag) {
  to.send(Cmd.INTERNAL, 3, ['ver', '0.5.4', 'buff-in', '4096', 'dev', 'js']);
  await to.expectResponse(3, Status.OK);
  from.send(Cmd.BRIDGE, 2, [1, 'i', toToken]);
  await from.expectResponse(2, Status.OK);
  const value = (i) => `${tag}${i}:`.padEnd(900, 'x');
  for (let i = 0; i < n; i++) from.send(Cmd.BRIDGE, 100 + i, [1, 'vw', 7, value(i)]);
  for (let i = 0; i < n; i++) {
    const f = await to.expectFrame();
    assert.equal(f.cmd, Cmd.BRIDGE);
    assert.equal(f.body.toString('utf8'), `vw\x007\x00${value(i)}`, `write ${i} of ${n}`);
  }
  for (let i = 0; i < 10; i++) to.send(Cmd.PING, 500 + i);
  for (let i = 0; i < 10; i++) await to.expectResponse(500 + i, Status.OK);
}

describe('[tls] record_layer and the take-over self-test', () => {
  it('default ("kernel"): the self-test passes at start (one info line), and TLS 1.3 and 1.2 '
    + 'connections, full and resumed, continue on the kernel\'s record layer', async () => {
    const { srv, tokA, tokB } = await start('record-layer-kernel');
    assert.match(srv.log, SELFTEST_PASSED);
    assert.equal(count(srv.log, /TLS record layer: (the kernel's|OpenSSL for every)/), 1, srv.log);
    assert.doesNotMatch(srv.log, /self-test failed|test hook/);
    const { a, b, layers } = await twoDevices(srv, tokA, tokB);
    assert.deepEqual(layers, ['kernel', 'kernel']);
    await bridgeTraffic(a, b, tokB, 300, 'k13-');
    await bridgeTraffic(b, a, tokA, 300, 'k12-');
    // a TLS 1.2 session resumed (by ticket) is of a kind the self-test proved too
    const session = b.sock.getSession();
    a.end();
    b.end();
    const r = cleanup.add(await srv.connect({ tls: true, tlsOptions: { maxVersion: 'TLSv1.2', session } }));
    assert.equal(r.sock.isSessionReused(), true, 'the session was resumed');
    await r.login(tokB);
    assert.equal(await recordLayerOf(srv, r), 'kernel');
    await r.ping(7);
    r.end();
  });

  it('BLYNKD_TEST_TLS_SELFTEST_SKEW=1 (sequence numbers off by one): one warning saying why and that '
    + 'connections stay on OpenSSL; TLS 1.3 and 1.2 devices still log in and exchange data', async () => {
    const { srv, tokA, tokB } = await start('record-layer-skew', { env: { BLYNKD_TEST_TLS_SELFTEST_SKEW: '1' } });
    assert.match(srv.log, SELFTEST_FAILED);
    assert.equal(count(srv.log, /self-test failed/), 1, srv.log);
    assert.match(srv.log, /warning test hook BLYNKD_TEST_TLS_SELFTEST_SKEW=1: /);
    assert.doesNotMatch(srv.log, /self-test passed/);
    const { a, b, layers } = await twoDevices(srv, tokA, tokB);
    assert.deepEqual(layers, ['OpenSSL', 'OpenSSL']);
    await bridgeTraffic(a, b, tokB, 300, 's13-');
    await bridgeTraffic(b, a, tokA, 300, 's12-');
    a.end();
    b.end();
    assert.doesNotMatch(srv.log, /TLS: |TLS read failed|TLS write failed/, 'no TLS error on the server');
  });

  it('record_layer = "openssl": no self-test; every TLS 1.3 and 1.2 connection stays on OpenSSL and works', async () => {
    const { srv, tokA, tokB } = await start('record-layer-openssl', { config: { tls: { record_layer: 'openssl' } } });
    assert.match(srv.log, /info TLS record layer: OpenSSL for every connection \(\[tls\] record_layer = "openssl"\)\n/);
    assert.doesNotMatch(srv.log, /self-test/);
    const { a, b, layers } = await twoDevices(srv, tokA, tokB);
    assert.deepEqual(layers, ['OpenSSL', 'OpenSSL']);
    await bridgeTraffic(a, b, tokB, 300, 'o13-');
    await bridgeTraffic(b, a, tokA, 300, 'o12-');
    a.end();
    b.end();
  });

  it('record_layer = "boringssl": config check exits 2 naming tls.record_layer and the allowed values', async () => {
    const srv = cleanup.add(Server.create({ name: 'record-layer-bad', config: { tls: { record_layer: 'boringssl' } } }));
    const r = await srv.cli(['config', 'check']);
    assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /tls\.record_layer: is "boringssl"; allowed: "kernel", "openssl"/);
  });
});
