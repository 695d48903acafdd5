// Pin values: stored on write, returned by HARDWARE_SYNC (docs/reference/protocol.md §7.2, §9), kept across
// restarts (config [storage] pin_flush_interval_ms).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Server, Cmd, Status, Cleanup } from '../lib/harness.js';
import { makeDevice, nextVirtualWrite } from '../lib/blynklib.js';

const cleanup = new Cleanup();
let srv;

before(async () => {
  srv = cleanup.add(await Server.start({ name: 'storage' }));
});
after(() => cleanup.run());

const body = (f) => f.body.toString('utf8');

describe('pin storage and HARDWARE_SYNC', () => {
  it('blynk-library virtualWrite is stored: a raw HARDWARE_SYNC `vr\\0pin` gets HARDWARE `vw\\0pin\\0value` with the request msgId', async () => {
    const token = await srv.addDevice('store@example.com', 'lib-writer');
    const b = cleanup.add(makeDevice(token, { port: srv.hwPort }));
    await b.whenConnected();
    b.virtualWrite(1, 'hello');
    const c = cleanup.add(await srv.login(token));
    const f = await c.pollPin(1, ['hello']);
    assert.equal(f.cmd, Cmd.HARDWARE);
    // now that it is stored, one more sync with a chosen msgId gets exactly one reply, no OK after it
    const [g] = await c.sync(5151, ['vr', 1], 1, { quietMs: 300 });
    assert.equal(g.msgId, 5151);
    assert.equal(body(g), 'vw\x001\x00hello');
    c.end();
    b.close();
  });

  it('sync of all pins (empty body) returns every stored pin, each as HARDWARE with the request msgId, and nothing else', async () => {
    const token = await srv.addDevice('store@example.com', 'sync-all');
    const c = cleanup.add(await srv.login(token));
    c.send(Cmd.HARDWARE, 2, ['vw', 1, 'a']);
    c.send(Cmd.HARDWARE, 3, ['vw', 2, 'b']);
    c.send(Cmd.HARDWARE, 4, ['vw', 1, 'a2']);      // overwrite: only the latest is kept
    c.send(Cmd.HARDWARE, 5, ['dw', 13, 1]);
    c.send(Cmd.HARDWARE, 6, ['aw', 3, 512]);
    c.send(Cmd.HARDWARE, 7, ['vw', 255, 'last-pin']);
    await c.expectNothing(200);                    // writes are not answered
    const frames = await c.sync(77, undefined, 5, { quietMs: 400 });
    assert.ok(frames.every((f) => f.msgId === 77 && f.cmd === Cmd.HARDWARE));
    assert.deepEqual(frames.map(body).sort(), [
      'aw\x003\x00512', 'dw\x0013\x001', 'vw\x001\x00a2', 'vw\x002\x00b', 'vw\x00255\x00last-pin',
    ].sort());
    // listed pins only
    const two = await c.sync(78, ['vr', 2, 255], 2, { quietMs: 300 });
    assert.deepEqual(two.map(body).sort(), ['vw\x002\x00b', 'vw\x00255\x00last-pin']);
    // digital / analog reads
    const [d] = await c.sync(79, ['dr', 13], 1);
    assert.equal(body(d), 'dw\x0013\x001');
    const [a] = await c.sync(80, ['ar', 3], 1);
    assert.equal(body(a), 'aw\x003\x00512');
    // a pin never written: no reply at all
    c.send(Cmd.HARDWARE_SYNC, 81, ['vr', 99]);
    await c.expectNothing(300);
    c.end();
  });

  it('pin values belong to one device: another device of the same user does not see them', async () => {
    const t1 = await srv.addDevice('store@example.com', 'iso-1');
    const t2 = await srv.addDevice('store@example.com', 'iso-2');
    const c1 = cleanup.add(await srv.login(t1));
    const c2 = cleanup.add(await srv.login(t2));
    c1.send(Cmd.HARDWARE, 2, ['vw', 60, 'mine']);
    await c1.sync(3, ['vr', 60], 1);
    c2.send(Cmd.HARDWARE_SYNC, 4, ['vr', 60]);
    await c2.expectNothing(300);
    c1.end();
    c2.end();
  });

  it('UTF-8 values and values with spaces are stored byte for byte', async () => {
    const token = await srv.addDevice('store@example.com', 'utf8');
    const c = cleanup.add(await srv.login(token));
    const value = 'héllo wörld ✓ 23.5 °C';
    c.send(Cmd.HARDWARE, 2, ['vw', 42, value]);
    const [f] = await c.sync(3, ['vr', 42], 1);
    assert.equal(body(f), `vw\x0042\x00${value}`);
    c.end();
  });

  it('a device\'s HARDWARE write is not echoed to its other connections (it goes to apps only)', async () => {
    const token = await srv.addDevice('store@example.com', 'no-echo');
    const c1 = cleanup.add(await srv.login(token));
    const c2 = cleanup.add(await srv.login(token));
    c1.send(Cmd.HARDWARE, 2, ['vw', 1, 'quiet']);
    await c2.pollPin(1, ['quiet']);
    await c2.expectNothing(200);
    await c1.expectNothing(100);
    c1.end();
    c2.end();
  });

  it('a multi-value virtualWrite is returned whole by sync', async () => {
    const token = await srv.addDevice('store@example.com', 'multi');
    const c = cleanup.add(await srv.login(token));
    c.send(Cmd.HARDWARE, 2, ['vw', 4, 'x', 'y', '3.5']);
    const [f] = await c.sync(9, ['vr', 4], 1);
    assert.equal(body(f), 'vw\x004\x00x\x00y\x003.5');
    c.end();
  });

  it('blynk-library syncVirtual(pin) makes the device\'s VirtualPin emit write with the stored value', async () => {
    const token = await srv.addDevice('store@example.com', 'lib-sync');
    const c = cleanup.add(await srv.login(token));
    c.send(Cmd.HARDWARE, 2, ['vw', 9, 'stored-9']);
    c.send(Cmd.HARDWARE, 3, ['vw', 10, 'stored-10']);
    await c.sync(4, ['vr', 9, 10], 2);
    c.end();

    const b = cleanup.add(makeDevice(token, { port: srv.hwPort }));
    const v9 = new b.VirtualPin(9);
    await b.whenConnected();
    const got = nextVirtualWrite(b, 9);
    b.syncVirtual(9);
    assert.deepEqual(await got, ['stored-9']);

    // syncAll delivers every stored pin to its handler
    const v10 = new b.VirtualPin(10);
    const w9 = nextVirtualWrite(b, 9);
    const w10 = nextVirtualWrite(b, 10);
    b.syncAll();
    assert.deepEqual(await w9, ['stored-9']);
    assert.deepEqual(await w10, ['stored-10']);
    assert.ok(v9 && v10);
    b.close();
  });

  it('HARDWARE_SYNC with a single field (`vr` and no pin) is ILLEGAL_COMMAND', async () => {
    const token = await srv.addDevice('store@example.com', 'sync-bad');
    const c = cleanup.add(await srv.login(token));
    c.send(Cmd.HARDWARE_SYNC, 12, ['vr']);
    await c.expectResponse(12, Status.ILLEGAL_COMMAND);
    c.end();
  });
});

describe('persistence', () => {
  it('values written with blynk-library survive a clean restart (SIGTERM, exit 0, start on the same data dir)', async () => {
    const s = cleanup.add(await Server.start({ name: 'restart' }));
    const token = await s.addDevice('persist@example.com', 'keeper');
    const b = cleanup.add(makeDevice(token, { port: s.hwPort }));
    await b.whenConnected();
    b.virtualWrite(20, 'persist-me');
    b.virtualWrite(21, ['two', 'values']);
    const c = await s.login(token);
    await c.pollPin(20, ['persist-me']);
    await c.pollPin(21, ['two', 'values']);
    c.end();
    b.close();

    await s.restart();                              // asserts exit code 0

    const c2 = cleanup.add(await s.login(token));
    const frames = await c2.sync(700, undefined, 2, { quietMs: 300 });
    assert.deepEqual(frames.map(body).sort(), ['vw\x0020\x00persist-me', 'vw\x0021\x00two\x00values']);
    c2.end();
    await s.stop();
  });

  it('a flush of 400 devices (copied over several loop turns) stores every value before a SIGKILL', async () => {
    const s = cleanup.add(await Server.start({ name: 'manyflush', config: { storage: { pin_flush_interval_ms: 500 } } }));
    const first = await s.addDevice('many@example.com', 'd0');
    await s.stop();
    // 399 more devices of the same dashboard, inserted straight into the store (as bench/provision.py)
    const tokens = [first];
    for (let i = 1; i < 400; i++) tokens.push(randomBytes(24).toString('base64url'));
    const rows = tokens.slice(1).map((t, i) => `(${JSON.stringify('many@example.com')},1,${i + 1},'d${i + 1}','${t}')`);
    execFileSync('python3', ['-c', `import sqlite3,sys
db = sqlite3.connect(sys.argv[1])
with db: db.execute("INSERT INTO devices(email, dash_id, device_id, name, token) VALUES " + sys.argv[2])`,
    path.join(s.dataDir, 'blynk.db'), rows.join(',')]);
    await s.launch();
    const clients = [];
    for (const t of tokens) clients.push(cleanup.add(await s.login(t)));
    // all at once: one flush finds (nearly) every device changed
    for (const [i, c] of clients.entries()) c.send(Cmd.HARDWARE, 2, ['vw', 40, `value-${i}`]);
    // every value is in memory (a sync answers it) ...
    for (const [i, c] of clients.entries()) {
      const [f] = await c.sync(3, ['vr', 40], 1, { quietMs: 0 });
      assert.equal(body(f), `vw\x0040\x00value-${i}`);
    }
    // ... and stored within 5x pin_flush_interval_ms (the contract's own deadline)
    await clients[0].expectNothing(2500);
    for (const c of clients) c.close();
    await s.kill();
    await s.launch();
    for (const [i, t] of tokens.entries()) {
      const c = cleanup.add(await s.login(t));
      const [f] = await c.sync(4, ['vr', 40], 1, { quietMs: 0 });
      assert.equal(body(f), `vw\x0040\x00value-${i}`, `device ${i}`);
      c.close();
    }
    await s.stop();
  });

  it('after SIGKILL, a value older than pin_flush_interval_ms (200) is still there', async () => {
    const s = cleanup.add(await Server.start({ name: 'sigkill', config: { storage: { pin_flush_interval_ms: 200 } } }));
    const token = await s.addDevice('kill@example.com', 'victim');
    const c = await s.login(token);
    c.send(Cmd.HARDWARE, 2, ['vw', 30, 'flushed']);
    await c.sync(3, ['vr', 30], 1, { quietMs: 0 });  // the server has it in memory now
    // The store is promised within pin_flush_interval_ms of the write; give it 5x that.
    // This is the contract's own deadline, not a synchronisation guess.
    await c.expectNothing(1000);
    c.close();
    await s.kill();
    await s.launch();
    const c2 = cleanup.add(await s.login(token));
    const [f] = await c2.sync(4, ['vr', 30], 1);
    assert.equal(body(f), 'vw\x0030\x00flushed');
    c2.end();
    await s.stop();
  });
});
