// The acme plugin against Debian's pebble (Let's Encrypt's test CA) on loopback: a certificate
// for [server] host is ordered, the HTTP-01 challenge is answered on the plain port, the
// certificate is installed without a restart (a TLS client sees pebble's issuer), stored with
// its key owner-only, and renewed at two thirds of a short lifetime while a device connected
// before the swap stays connected and keeps working; an unreachable CA and a failed challenge
// are retried with a growing backoff and reported in the log; an empty or IP-address host is
// refused at start. Skipped, with a line saying so, where pebble or openssl is not installed.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { statSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import {
  Server, RawClient, Cleanup, mkTmp, which, withTimeout, freePort, Cmd,
} from '../lib/harness.js';
import { caWithLeaves } from '../lib/pki.js';

const PEBBLE = existsSync('/usr/bin/pebble') ? '/usr/bin/pebble' : which('pebble');
const OPENSSL = which('openssl');
const SKIP = !PEBBLE ? 'pebble not installed (Debian: pebble)' : !OPENSSL ? 'openssl not installed' : false;
if (SKIP) console.log(`# acme.test.js skipped: ${SKIP}`);

// The certificates pebble issues here live this long, so the renewal (at two thirds) comes
// within the test.
const VALIDITY_S = 12;

const cleanup = new Cleanup();
after(() => cleanup.run());

/** pebble on free loopback ports; its HTTP-01 checks go to httpPort. Resolves {dir, root(), ...}. */
async function startPebble(dir, httpPort) {
  const pki = caWithLeaves(dir, ['pebble']);
  const listen = await freePort();
  const management = await freePort();
  const config = path.join(dir, 'pebble.json');
  writeFileSync(config, JSON.stringify({
    pebble: {
      listenAddress: `127.0.0.1:${listen}`,
      managementListenAddress: `127.0.0.1:${management}`,
      certificate: pki.leaves.pebble.cert,
      privateKey: pki.leaves.pebble.key,
      httpPort,
      tlsPort: await freePort(),
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
      certificateValidityPeriod: VALIDITY_S,
    },
  }));
  const proc = spawn(PEBBLE, ['-config', config], {
    env: {
      ...process.env,
      PEBBLE_VA_NOSLEEP: '1',
      PEBBLE_VA_ALWAYS_VALID: '0',   // the challenge is really fetched from blynkd
      PEBBLE_AUTHZREUSE: '0',        // every order proves it again
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const ready = new Promise((resolve, reject) => {
    const onData = (d) => {
      log += d;
      if (/ACME directory available at/.test(log)) resolve();
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`pebble exited (${code}):\n${log}`)));
  });
  cleanup.add(() => { proc.kill('SIGKILL'); });
  await withTimeout(ready, 10000, 'pebble ready');
  const ca = readFileSync(pki.ca);
  return {
    ca: pki.ca,
    directory: `https://127.0.0.1:${listen}/dir`,
    log: () => log,
    /** The root pebble made for this run (its management API), to check what blynkd serves. */
    root: () => withTimeout(new Promise((resolve, reject) => {
      https.get(`https://127.0.0.1:${management}/roots/0`, { ca }, (res) => {
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => resolve(body));
      }).once('error', reject);
    }), 5000, 'pebble root'),
  };
}

/** The certificate a new TLS connection is served (chain verified against root, name localhost). */
function servedCert(port, root) {
  return withTimeout(new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: root, servername: 'localhost' }, () => {
      const c = s.getPeerCertificate();
      s.destroy();
      resolve(c);
    });
    s.once('error', reject);
  }), 5000, `TLS handshake with 127.0.0.1:${port}`);
}

function acmeServer(name, pebble, { hardwarePort = 0, host = 'localhost', acme = {} } = {}) {
  return cleanup.add(Server.create({
    name,
    config: {
      server: { host, hardware_port: hardwarePort },
      plugins: {
        enabled: ['storage-sqlite', 'acme'],
        acme: {
          directory_url: pebble.directory, contact_email: 'ops@example.com', ca_file: pebble.ca,
          retry_min_s: 1, ...acme,
        },
      },
    },
  }));
}

describe('acme plugin against pebble', { skip: SKIP }, () => {
  let pebble;
  let srv;
  let token;
  before(async () => {
    const dir = mkTmp('pebble');
    cleanup.add(() => import('node:fs').then((fs) => fs.rmSync(dir, { recursive: true, force: true })));
    const hardwarePort = await freePort();
    pebble = await startPebble(dir, hardwarePort);
    srv = acmeServer('acme', pebble, { hardwarePort });
    token = await srv.addDevice();
  });

  it('issues a certificate for server.host over HTTP-01 and serves it without a restart', async () => {
    await srv.launch();
    await srv.waitForLog(/\[acme\] ACME challenge for localhost passed/, 15000);
    await srv.waitForLog(/\[acme\] certificate for localhost issued and installed/, 15000);
    assert.match(pebble.log(), /Attempting to validate w\/ HTTP: http:\/\/localhost:\d+\/\.well-known\/acme-challenge\//);
    const root = await pebble.root();
    const cert = await servedCert(srv.tlsPort, root);
    assert.match(cert.issuer.CN, /^Pebble Intermediate CA/);
    assert.equal(cert.subject.CN, 'localhost');
    const acmeDir = path.join(srv.dataDir, 'acme');
    for (const f of ['account.key', 'key.pem']) {
      assert.equal(statSync(path.join(acmeDir, f)).mode & 0o777, 0o600, `${f} is owner-only`);
    }
    assert.match(readFileSync(path.join(acmeDir, 'cert.pem'), 'utf8'), /BEGIN CERTIFICATE/);
    assert.doesNotMatch(srv.log, /PRIVATE KEY/, 'no key in the log');
    // The CLI still reaches the running server, which now serves a certificate that is not [tls] cert.
    const r = await srv.cli(['device', 'add', '--email', 'second@example.com', '--name', 'esp-2']);
    assert.equal(r.code, 0, `device add through the running server: ${r.stderr}`);
    assert.match(r.stderr, /through the running server/);
  });

  it('renews at two thirds of the lifetime; new TLS clients see the new certificate, a device connected before stays',
    async () => {
      const root = await pebble.root();
      const first = await servedCert(srv.tlsPort, root);
      const device = cleanup.add(await RawClient.connect(srv.tlsPort, { tls: true, ca: root, servername: 'localhost' }));
      await device.login(token);
      assert.equal(device.sock.getPeerCertificate().fingerprint256, first.fingerprint256);
      const from = srv.log.length;
      // Issued at t, renewed from t + 2/3 of VALIDITY_S: within VALIDITY_S from now.
      await srv.waitForLog(/\[acme\] certificate for localhost issued and installed/, VALIDITY_S * 1000 + 5000, from);
      const renewed = await servedCert(srv.tlsPort, root);
      assert.notEqual(renewed.fingerprint256, first.fingerprint256, 'a new certificate is served');
      assert.match(renewed.issuer.CN, /^Pebble Intermediate CA/);
      assert.equal(device.closed, false, 'the device connected before the swap is still connected');
      device.send(Cmd.PING, 9);
      await device.expectResponse(9, 200);
      assert.equal(srv.starts, 1, 'no restart');
    });

  it('retries a failed challenge with a growing backoff and says why', async () => {
    // Its plain port is not the one pebble checks: the answer comes from the other server (404).
    const other = acmeServer('acme-challenge', pebble);
    await other.launch();
    const m1 = await other.waitForLog(/certificate for localhost not obtained: (.*); retrying in 1 s/, 15000);
    assert.match(m1[1], /http-01 challenge for localhost failed \(authorization invalid\)/);
    await other.waitForLog(/certificate for localhost not obtained: .*challenge.*; retrying in 2 s/, 15000);
    await other.stop();
  });

  it('does not talk to a CA whose certificate it cannot verify (TLS verification is always on)', async () => {
    // Without ca_file the system's roots are used, and pebble's test CA is not among them.
    const other = acmeServer('acme-verify', pebble, { acme: { ca_file: '' } });
    await other.launch();
    const m = await other.waitForLog(/certificate for localhost not obtained: GET https:\/\/127\.0\.0\.1:\d+\/dir: (.*); retrying in 1 s/, 10000);
    assert.match(m[1], /certificate/i, 'the reason names the certificate problem');
    assert.doesNotMatch(other.log, /ACME account created/);
    await other.stop();
  });

  it('retries an unreachable CA with a growing backoff and says why', async () => {
    const closed = await freePort();
    const other = acmeServer('acme-unreachable', pebble, { acme: { directory_url: `https://127.0.0.1:${closed}/dir` } });
    await other.launch();
    await other.waitForLog(/certificate for localhost not obtained: GET https:\/\/127\.0\.0\.1:\d+\/dir: .*connect.*; retrying in 1 s/i, 10000);
    await other.waitForLog(/not obtained: .*; retrying in 2 s/, 10000);
    await other.stop();
  });
});

describe('acme plugin settings', { skip: SKIP }, () => {
  for (const [what, host, reason] of [
    ['an empty server.host', '', /\[server\] host is empty/],
    ['an IP address as server.host', '127.0.0.1', /is an IP address/],
  ]) {
    it(`refuses to start with ${what}`, async () => {
      const srv = acmeServer('acme-refused', { directory: 'https://127.0.0.1:1/dir', ca: '' }, { host });
      await assert.rejects(srv.launch(), /did not become ready/);
      assert.match(srv.log, reason);
    });
  }
});
