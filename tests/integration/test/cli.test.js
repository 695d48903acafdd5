// The account CLI (`blynkd --config FILE user|device ...`) against a running and a stopped server,
// and its refusal of a server that does not present its install's certificate.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { Server, Cmd, Status, Cleanup, mkTmp, renderToml, which } from '../lib/harness.js';
import { caWithLeaves } from '../lib/pki.js';
import { makeDevice } from '../lib/blynklib.js';

const cleanup = new Cleanup();
after(() => cleanup.run());
const OPENSSL = which('openssl');

describe('CLI', () => {
  let srv;
  before(async () => {
    srv = cleanup.add(await Server.start({ name: 'cli' }));
  });

  it('a device added while the server runs logs in at once (raw and blynk-library)', async () => {
    const token = await srv.addDevice('live@example.com', 'hot-added');
    const c = cleanup.add(await srv.connect());
    c.send(Cmd.HARDWARE_LOGIN, 1, token);
    await c.expectResponse(1, Status.OK);
    c.end();
    const token2 = await srv.addDevice('live@example.com', 'hot-added-2');
    assert.notEqual(token2, token);
    const b = cleanup.add(makeDevice(token2, { port: srv.hwPort }));
    await b.whenConnected();
    b.close();
  });

  it('tokens are unique per device, across users', async () => {
    const tokens = new Set();
    for (const [email, name] of [['u1@example.com', 'a'], ['u1@example.com', 'b'], ['u2@example.com', 'a']]) {
      tokens.add(await srv.addDevice(email, name));
    }
    assert.equal(tokens.size, 3);
  });

  it('user add / user list / device list show what was added', async () => {
    const add = await srv.cli(['user', 'add', '--email', 'listed@example.com']);
    assert.equal(add.code, 0, add.stderr);
    const users = await srv.cli(['user', 'list']);
    assert.equal(users.code, 0, users.stderr);
    assert.match(users.stdout, /listed@example\.com/);
    await srv.addDevice('listed@example.com', 'shown-in-list');
    const devices = await srv.cli(['device', 'list']);
    assert.equal(devices.code, 0, devices.stderr);
    assert.match(devices.stdout, /shown-in-list/);
  });

  it('device add prints only the token on stdout', async () => {
    const r = await srv.cli(['device', 'add', '--email', 'quiet@example.com', '--name', 'x']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\S{32}\n?$/);
  });
});

describe('CLI without a running server', () => {
  it('a device added before the first start logs in once the server is up', async () => {
    const s = cleanup.add(Server.create({ name: 'cli-cold' }));
    const token = await s.addDevice('cold@example.com', 'early');
    await s.launch();
    const c = cleanup.add(await s.login(token));
    await c.ping(2);
    c.end();
    await s.stop();
  });

  it('device remove while the server is stopped: the token is refused after the next start', async () => {
    const s = cleanup.add(await Server.start({ name: 'cli-remove' }));
    const keep = await s.addDevice('rm@example.com', 'keep');
    const gone = await s.addDevice('rm@example.com', 'gone');
    await s.stop();
    const r = await s.cli(['device', 'remove', '--token', gone]);
    assert.equal(r.code, 0, r.stderr);
    await s.launch();
    const c = cleanup.add(await s.connect());
    c.send(Cmd.HARDWARE_LOGIN, 1, gone);
    await c.expectResponse(1, Status.INVALID_TOKEN);
    c.send(Cmd.HARDWARE_LOGIN, 2, keep);
    await c.expectResponse(2, Status.OK);
    c.end();
    await s.stop();
  });
});

describe('the CLI talks only to a server presenting its certificate', { skip: OPENSSL ? false : 'openssl not installed' }, () => {
  it('a server with another leaf of the same CA is refused, naming both SHA-256 fingerprints; nothing is sent', async () => {
    const dir = mkTmp('cli-pin');
    cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
    const { leaves } = caWithLeaves(dir, ['a', 'b']);
    const config = { tls: { cert: leaves.b.chain, key: leaves.b.key } };
    const srv = cleanup.add(await Server.start({ name: 'cli-pin', config }));
    const fp = (file) => new X509Certificate(readFileSync(file)).fingerprint256;

    // the server's own configuration (leaf B, then the CA): the CLI goes through it
    const ok = await srv.cli(['device', 'add', '--email', 'pin@example.com', '--name', 'through-b']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /through the running server/);

    // the CLI's configuration names leaf A of the same CA (with the CA after it): a chain check
    // would accept B's certificate; the pin refuses it before the operator token goes out
    writeFileSync(srv.configPath, renderToml({ ...srv.config, tls: { cert: leaves.a.chain, key: leaves.a.key } }));
    const refused = await srv.cli(['device', 'add', '--email', 'pin@example.com', '--name', 'through-a']);
    assert.equal(refused.code, 1, `the CLI must refuse the server: ${refused.stderr}`);
    assert.ok(refused.stderr.includes(fp(leaves.b.cert)), `the server's fingerprint is named: ${refused.stderr}`);
    assert.ok(refused.stderr.includes(fp(leaves.a.cert)), `the configured fingerprint is named: ${refused.stderr}`);
    assert.match(refused.stderr, /operator token was not sent/);

    writeFileSync(srv.configPath, renderToml(srv.config));
    const list = await srv.cli(['device', 'list', '--email', 'pin@example.com']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /through-b/);
    assert.doesNotMatch(list.stdout, /through-a/, 'the refused command added its device anyway');
  });
});
