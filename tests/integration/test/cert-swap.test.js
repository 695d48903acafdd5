// The TLS port's certificate replaced without a restart (docs/operator-guide.md, "TLS"): SIGHUP
// re-reads [tls] cert/key, and a replacement of the files (by rename, as certbot renews) is
// picked up by the file watch. New TLS connections get the new certificate at once; a device
// connected before keeps its connection and keeps working; a broken certificate is refused with
// a log line and the served one stays.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, renameSync, writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { Server, RawClient, Cleanup, mkTmp, which, withTimeout, Cmd } from '../lib/harness.js';
import { caWithLeaves } from '../lib/pki.js';

const OPENSSL = which('openssl');
const cleanup = new Cleanup();
after(() => cleanup.run());

/** The organisation (O=) of the leaf a new TLS connection to port is served (chain checked against ca). */
function servedLeaf(port, ca) {
  return withTimeout(new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const c = s.getPeerCertificate();
      s.destroy();
      resolve(c.subject.O);
    });
    s.once('error', reject);
  }), 5000, `TLS handshake with 127.0.0.1:${port}`);
}

/** A hardware round trip on a logged-in connection: a ping answered OK. */
async function stillWorks(client, msgId) {
  client.send(Cmd.PING, msgId);
  await client.expectResponse(msgId, 200);
}

describe('certificate swap on SIGHUP', { skip: OPENSSL ? false : 'openssl not installed' }, () => {
  let srv;
  let pki;
  let served;
  let token;
  before(async () => {
    const dir = mkTmp('cert-swap');
    cleanup.add(() => import('node:fs').then((fs) => fs.rmSync(dir, { recursive: true, force: true })));
    pki = caWithLeaves(dir, ['first', 'second', 'third']);
    served = { cert: path.join(dir, 'served.pem'), key: path.join(dir, 'served.key') };
    copyFileSync(pki.leaves.first.chain, served.cert);
    copyFileSync(pki.leaves.first.key, served.key);
    // watch_interval_s = 0: only the signal reloads, so these tests prove the signal does.
    srv = cleanup.add(Server.create({ name: 'cert-swap', config: { tls: { ...served, watch_interval_s: 0 } } }));
    token = await srv.addDevice();
    await srv.launch();
  });

  it('a new certificate is served to new TLS connections; a device connected before stays and keeps working',
    async () => {
      const ca = readFileSync(pki.ca);
      assert.equal(await servedLeaf(srv.tlsPort, ca), 'first');
      const device = cleanup.add(await RawClient.connect(srv.tlsPort, { tls: true, ca, servername: 'localhost' }));
      await device.login(token);
      copyFileSync(pki.leaves.second.chain, served.cert);
      copyFileSync(pki.leaves.second.key, served.key);
      const from = srv.log.length;
      srv.proc.kill('SIGHUP');
      await srv.waitForLog(/TLS certificate now served: subject "CN = localhost, O = second".*SHA-256 [0-9A-F:]+ \(from .*SIGHUP\)/,
        5000, from);
      assert.equal(await servedLeaf(srv.tlsPort, ca), 'second');
      assert.equal(device.sock.getPeerCertificate().subject.O, 'first');
      await stillWorks(device, 7);
      assert.equal(device.closed, false);
      assert.doesNotMatch(srv.log.slice(from), /BEGIN|PRIVATE KEY/, 'no key material in the log');
    });

  it('a broken certificate is refused with a log line and the served one stays', async () => {
    const ca = readFileSync(pki.ca);
    const cases = [
      ['a key that does not match', () => {
        copyFileSync(pki.leaves.third.chain, served.cert);
        copyFileSync(pki.leaves.second.key, served.key);
      }, /does not match the certificate/],
      ['a truncated chain', () => {
        const text = readFileSync(pki.leaves.third.chain, 'utf8');
        writeFileSync(served.cert, text.slice(0, text.length - 200));
        copyFileSync(pki.leaves.third.key, served.key);
      }, /does not parse|no PEM certificate/],
      ['no key at all', () => {
        copyFileSync(pki.leaves.third.chain, served.cert);
        writeFileSync(served.key, '');
      }, /private key does not parse/],
    ];
    for (const [what, breakIt, reason] of cases) {
      breakIt();
      const from = srv.log.length;
      srv.proc.kill('SIGHUP');
      const m = await srv.waitForLog(/TLS certificate \(.*\) refused \(SIGHUP\): (.*); still serving the previous one/,
        5000, from);
      assert.match(m[1], reason, what);
      assert.equal(await servedLeaf(srv.tlsPort, ca), 'second', `${what}: the previous certificate is still served`);
    }
    assert.ok(srv.running, 'the server is still running');
  });
});

describe('certificate swap when the files are replaced', { skip: OPENSSL ? false : 'openssl not installed' }, () => {
  it('a renewal by rename (as certbot does) is served without a signal', async () => {
    const dir = mkTmp('cert-watch');
    cleanup.add(() => import('node:fs').then((fs) => fs.rmSync(dir, { recursive: true, force: true })));
    const pki = caWithLeaves(dir, ['old', 'renewed']);
    const served = { cert: path.join(dir, 'live.pem'), key: path.join(dir, 'live.key') };
    copyFileSync(pki.leaves.old.chain, served.cert);
    copyFileSync(pki.leaves.old.key, served.key);
    const srv = cleanup.add(await Server.start({ name: 'cert-watch', config: { tls: { ...served, watch_interval_s: 1 } } }));
    const ca = readFileSync(pki.ca);
    assert.equal(await servedLeaf(srv.tlsPort, ca), 'old');
    const from = srv.log.length;
    // New files beside the old ones, then renamed over them: the key first, then the chain.
    copyFileSync(pki.leaves.renewed.key, `${served.key}.tmp`);
    copyFileSync(pki.leaves.renewed.chain, `${served.cert}.tmp`);
    renameSync(`${served.key}.tmp`, served.key);
    renameSync(`${served.cert}.tmp`, served.cert);
    await srv.waitForLog(/TLS certificate now served: subject "CN = localhost, O = renewed".*\(from .*the files changed\)/,
      5000, from);
    assert.equal(await servedLeaf(srv.tlsPort, ca), 'renewed');
  });
});
