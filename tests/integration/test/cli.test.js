// The account CLI (`blynkd --config FILE user|device ...`) against a running and a stopped server.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, Cmd, Status, Cleanup } from '../lib/harness.js';
import { makeDevice } from '../lib/blynklib.js';

const cleanup = new Cleanup();
after(() => cleanup.run());

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
