// Process lifecycle: stop signals flush and exit 0, with and without connected devices.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, Cmd, Cleanup, withTimeout, freePort } from '../lib/harness.js';
import { makeDevice } from '../lib/blynklib.js';

const cleanup = new Cleanup();
after(() => cleanup.run());

describe('lifecycle', () => {
  it('SIGINT also stores pending values and exits 0', async () => {
    const s = cleanup.add(await Server.start({ name: 'sigint', config: { storage: { pin_flush_interval_ms: 60000 } } }));
    const token = await s.addDevice('life@example.com', 'int');
    const c = await s.login(token);
    c.send(Cmd.HARDWARE, 2, ['vw', 1, 'on-sigint']);
    await c.sync(3, ['vr', 1], 1, { quietMs: 0 });
    c.close();
    await s.stop('SIGINT');                        // asserts exit code 0
    await s.launch();
    const c2 = cleanup.add(await s.login(token));
    const [f] = await c2.sync(4, ['vr', 1], 1);
    assert.equal(f.body.toString(), 'vw\x001\x00on-sigint');
    c2.end();
    await s.stop();
  });

  it('SIGTERM with devices connected (plain, TLS, blynk-library) closes them and exits 0; the values written just before are kept', async () => {
    const s = cleanup.add(await Server.start({ name: 'busy-stop', config: { storage: { pin_flush_interval_ms: 60000 } } }));
    const token = await s.addDevice('life@example.com', 'busy');
    const plain = cleanup.add(await s.login(token));
    const secure = cleanup.add(await s.login(token, { tls: true }));
    const lib = cleanup.add(makeDevice(token, { port: s.hwPort }));
    await lib.whenConnected();
    plain.send(Cmd.HARDWARE, 2, ['vw', 2, 'from-plain']);
    secure.send(Cmd.HARDWARE, 2, ['vw', 3, 'from-tls']);
    lib.virtualWrite(4, 'from-lib');
    await plain.pollPin(4, ['from-lib']);
    await plain.pollPin(3, ['from-tls']);
    await plain.pollPin(2, ['from-plain']);
    const disconnected = lib.whenEvent('disconnect', 10000);
    await s.stop();
    await plain.expectClose(1000);
    await secure.expectClose(1000);
    await withTimeout(disconnected, 1000, 'blynk-library noticing the stop');
    lib.close();
    await s.launch();
    const c = cleanup.add(await s.login(token));
    const frames = await c.sync(9, undefined, 3, { quietMs: 300 });
    assert.deepEqual(frames.map((f) => f.body.toString()).sort(),
      ['vw\x002\x00from-plain', 'vw\x003\x00from-tls', 'vw\x004\x00from-lib']);
    c.end();
    await s.stop();
  });

  it('blynk-library reconnects by itself when the server comes back on the same ports (its retry is 5 s)', async () => {
    const [hw, secure] = [await freePort(), await freePort()];
    const s = cleanup.add(await Server.start({ name: 'comeback', config: { server: { hardware_port: hw, tls_port: secure } } }));
    assert.equal(s.hwPort, hw);
    const token = await s.addDevice('life@example.com', 'comeback');
    const b = cleanup.add(makeDevice(token, { port: hw }));
    await b.whenConnected();
    const lost = b.whenEvent('disconnect', 10000);
    await s.restart();                              // the same ports must be bindable again at once
    assert.equal(s.hwPort, hw);
    await lost;
    await b.whenEvent('connect', 12000);
    b.virtualWrite(1, 'back');
    const c = cleanup.add(await s.login(token));
    await c.pollPin(1, ['back']);
    c.end();
    b.close();
    await s.stop();
  });

  it('a restart gets fresh ports when they are 0, and the same tokens still work', async () => {
    const s = cleanup.add(await Server.start({ name: 'ports' }));
    const token = await s.addDevice('life@example.com', 'ports');
    const first = [s.hwPort, s.tlsPort];
    await s.restart();
    assert.ok(s.hwPort > 0 && s.tlsPort > 0 && s.hwPort !== s.tlsPort, JSON.stringify([first, s.hwPort, s.tlsPort]));
    const c = cleanup.add(await s.login(token, { tls: true }));
    await c.ping(5);
    c.end();
    await s.stop();
  });
});
