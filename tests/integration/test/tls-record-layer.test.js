// Which record layer TLS connections continue with after OpenSSL's handshake (docs/security.md,
// "TLS after the handshake"): the kernel's only after a start-up self-test proved it on this
// OpenSSL, and never with [tls] record_layer = "openssl". The self-test's failure is forced with
// the test hook BLYNKD_TEST_TLS_SELFTEST_SKEW=1, which puts the take-over's counted sequence
// numbers off by one, as a change in OpenSSL's record callbacks would: the server must say so
// once, keep every connection on OpenSSL, and TLS 1.3 and 1.2 devices must still work. Each
// connection's record layer is read from its debug line ("<peer>: TLS record layer: kernel").
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, Cleanup } from '../lib/harness.js';
import { bridgeTraffic } from '../lib/bridge.js';

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

/**
 * twoDevices, each on the record layer `layer` ('kernel' or 'OpenSSL'), exchanging 300 writes
 * each way over a bridge (tags `tag`13- and `tag`12-); returns them still connected.
 */
async function trafficBothWays(srv, tokA, tokB, layer, tag) {
  const { a, b, layers } = await twoDevices(srv, tokA, tokB);
  assert.deepEqual(layers, [layer, layer]);
  await bridgeTraffic(a, b, tokB, { count: 300, tag: `${tag}13-` });
  await bridgeTraffic(b, a, tokA, { count: 300, tag: `${tag}12-` });
  return { a, b };
}

describe('[tls] record_layer and the take-over self-test', () => {
  it('default ("kernel"): the self-test passes at start (one info line), and TLS 1.3 and 1.2 '
    + 'connections, full and resumed, continue on the kernel\'s record layer', async () => {
    const { srv, tokA, tokB } = await start('record-layer-kernel');
    assert.match(srv.log, SELFTEST_PASSED);
    assert.equal(count(srv.log, /TLS record layer: (the kernel's|OpenSSL for every)/), 1, srv.log);
    assert.doesNotMatch(srv.log, /self-test failed|test hook/);
    const { a, b } = await trafficBothWays(srv, tokA, tokB, 'kernel', 'k');
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
    const { a, b } = await trafficBothWays(srv, tokA, tokB, 'OpenSSL', 's');
    a.end();
    b.end();
    assert.doesNotMatch(srv.log, /TLS: |TLS read failed|TLS write failed/, 'no TLS error on the server');
  });

  it('record_layer = "openssl": no self-test; every TLS 1.3 and 1.2 connection stays on OpenSSL and works', async () => {
    const { srv, tokA, tokB } = await start('record-layer-openssl', { config: { tls: { record_layer: 'openssl' } } });
    assert.match(srv.log, /info TLS record layer: OpenSSL for every connection \(\[tls\] record_layer = "openssl"\)\n/);
    assert.doesNotMatch(srv.log, /self-test/);
    const { a, b } = await trafficBothWays(srv, tokA, tokB, 'OpenSSL', 'o');
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
