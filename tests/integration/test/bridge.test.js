// BRIDGE (15) between devices (docs/reference/protocol.md §7.3).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, Cmd, Status, Cleanup, describeFrame } from '../lib/harness.js';
import { makeDevice, nextVirtualWrite } from '../lib/blynklib.js';

const cleanup = new Cleanup();
let srv;
let tokA;
let tokB;
let tokOffline;
let tokOther;

before(async () => {
  srv = cleanup.add(await Server.start({ name: 'bridge', config: { hardware: { max_bridges: 5 } } }));
  tokA = await srv.addDevice('owner@example.com', 'device-a');
  tokB = await srv.addDevice('owner@example.com', 'device-b');
  tokOffline = await srv.addDevice('owner@example.com', 'device-offline');
  tokOther = await srv.addDevice('stranger@example.com', 'not-yours');
});
after(() => cleanup.run());

const body = (f) => f.body.toString('utf8');

async function expectBridge(c, msgId, text) {
  const f = await c.expectFrame();
  assert.ok(f.cmd === Cmd.BRIDGE && f.msgId === msgId,
    `expected BRIDGE(15) msgId ${msgId}, got ${describeFrame(f)}`);
  assert.equal(body(f), text);
  return f;
}

describe('bridge', () => {
  it('init to a device of the same user is OK; a write reaches the target as BRIDGE with the sub-command and the sender\'s msgId, and is stored for the target', async () => {
    const a = cleanup.add(await srv.login(tokA));
    const b = cleanup.add(await srv.login(tokB));
    a.send(Cmd.BRIDGE, 10, [1, 'i', tokB]);
    await a.expectResponse(10, Status.OK);

    a.send(Cmd.BRIDGE, 11, [1, 'vw', 5, 'hi']);
    await expectBridge(b, 11, 'vw\x005\x00hi');
    a.send(Cmd.BRIDGE, 12, [1, 'dw', 7, 1]);
    await expectBridge(b, 12, 'dw\x007\x001');
    a.send(Cmd.BRIDGE, 13, [1, 'vw', 6, 'x', 'y']);
    await expectBridge(b, 13, 'vw\x006\x00x\x00y');
    await a.expectNothing(300);                      // a successful bridge write is not answered

    const [f] = await b.sync(20, ['vr', 5], 1);
    assert.equal(body(f), 'vw\x005\x00hi');
    const [g] = await b.sync(21, ['dr', 7], 1);
    assert.equal(body(g), 'dw\x007\x001');
    // and it is the target's value, not the sender's
    a.send(Cmd.HARDWARE_SYNC, 22, ['vr', 5]);
    await a.expectNothing(300);
    a.end();
    b.end();
  });

  it('init with another user\'s token, an unknown token or a short token is NOT_ALLOWED (6)', async () => {
    const a = cleanup.add(await srv.login(tokA));
    a.send(Cmd.BRIDGE, 30, [2, 'i', tokOther]);
    await a.expectResponse(30, Status.NOT_ALLOWED);
    a.send(Cmd.BRIDGE, 31, [2, 'i', 'ffffffffffffffffffffffffffffffff']);
    await a.expectResponse(31, Status.NOT_ALLOWED);
    a.send(Cmd.BRIDGE, 32, [2, 'i', 'short']);
    await a.expectResponse(32, Status.NOT_ALLOWED);
    // the refused init did not open the channel
    a.send(Cmd.BRIDGE, 33, [2, 'vw', 1, 'nope']);
    await a.expectResponse(33, Status.NOT_ALLOWED);
    a.end();
  });

  it('a write on a bridge pin that was never initialised is NOT_ALLOWED (6)', async () => {
    const a = cleanup.add(await srv.login(tokA));
    a.send(Cmd.BRIDGE, 40, [9, 'vw', 1, 'x']);
    await a.expectResponse(40, Status.NOT_ALLOWED);
    a.end();
  });

  it('a write to a target with no connection is DEVICE_NOT_IN_NETWORK (7), and the value is still stored for it', async () => {
    const a = cleanup.add(await srv.login(tokA));
    a.send(Cmd.BRIDGE, 50, [3, 'i', tokOffline]);
    await a.expectResponse(50, Status.OK);
    a.send(Cmd.BRIDGE, 51, [3, 'vw', 8, 'while-away']);
    await a.expectResponse(51, Status.DEVICE_NOT_IN_NETWORK);
    a.end();
    const t = cleanup.add(await srv.login(tokOffline));
    const [f] = await t.sync(52, ['vr', 8], 1);
    assert.equal(body(f), 'vw\x008\x00while-away');
    t.end();
  });

  it('malformed bridge bodies are ILLEGAL_COMMAND (2): fewer than 3 fields, bad pin', async () => {
    const a = cleanup.add(await srv.login(tokA));
    const b = cleanup.add(await srv.login(tokB));
    a.send(Cmd.BRIDGE, 60, [4, 'i', tokB]);
    await a.expectResponse(60, Status.OK);
    a.send(Cmd.BRIDGE, 61, [4, 'i']);
    await a.expectResponse(61, Status.ILLEGAL_COMMAND);
    a.send(Cmd.BRIDGE, 62, [4, 'vw', 256, 'x']);
    await a.expectResponse(62, Status.ILLEGAL_COMMAND);
    a.send(Cmd.BRIDGE, 63, [4, 'vw', 'x', 'y']);
    await a.expectResponse(63, Status.ILLEGAL_COMMAND);
    await b.expectNothing(200);                      // nothing malformed was forwarded
    a.end();
    b.end();
  });

  it('two connections with the same token both receive bridge traffic', async () => {
    const a = cleanup.add(await srv.login(tokA));
    const b1 = cleanup.add(await srv.login(tokB));
    const b2 = cleanup.add(await srv.login(tokB));
    a.send(Cmd.BRIDGE, 70, [5, 'i', tokB]);
    await a.expectResponse(70, Status.OK);
    a.send(Cmd.BRIDGE, 71, [5, 'vw', 11, 'both']);
    await expectBridge(b1, 71, 'vw\x0011\x00both');
    await expectBridge(b2, 71, 'vw\x0011\x00both');
    // after one of them leaves, the other still gets it
    b1.end();
    await b1.expectClose(1000);
    a.send(Cmd.BRIDGE, 72, [5, 'vw', 11, 'one']);
    await expectBridge(b2, 72, 'vw\x0011\x00one');
    await a.expectNothing(200);
    a.end();
    b2.end();
  });

  it('bridge works across transports: sender on TLS, target on plain TCP', async () => {
    const a = cleanup.add(await srv.login(tokA, { tls: true }));
    const b = cleanup.add(await srv.login(tokB));
    a.send(Cmd.BRIDGE, 80, [7, 'i', tokB]);
    await a.expectResponse(80, Status.OK);
    a.send(Cmd.BRIDGE, 81, [7, 'vw', 13, 'tls-to-tcp']);
    await expectBridge(b, 81, 'vw\x0013\x00tls-to-tcp');
    a.end();
    b.end();
  });

  it('frames larger than the target\'s buff-in are not delivered (DEVICE_NOT_IN_NETWORK), without info the limit is a 250-byte body', async () => {
    const a = cleanup.add(await srv.login(tokA));
    a.send(Cmd.BRIDGE, 90, [8, 'i', tokOffline]);
    await a.expectResponse(90, Status.OK);
    const prefix = 'vw\x0014\x00';

    // target without info packet: body <= 250 goes through, 251 does not
    const t = cleanup.add(await srv.login(tokOffline));
    const v250 = 'a'.repeat(250 - prefix.length);
    a.send(Cmd.BRIDGE, 91, [8, 'vw', 14, v250]);
    await expectBridge(t, 91, prefix + v250);
    a.send(Cmd.BRIDGE, 92, [8, 'vw', 14, `${v250}b`]);
    await a.expectResponse(92, Status.DEVICE_NOT_IN_NETWORK);
    await t.expectNothing(200);
    t.end();
    await t.expectClose(1000);

    // target announcing buff-in 256: a body of 251 (256 with the header) fits, 252 does not
    const u = cleanup.add(await srv.login(tokOffline));
    u.send(Cmd.INTERNAL, 2, ['ver', '0.6.1', 'h-beat', '10', 'buff-in', '256', 'dev', 'raw']);
    await u.expectResponse(2, Status.OK);
    const v251 = 'c'.repeat(251 - prefix.length);
    a.send(Cmd.BRIDGE, 93, [8, 'vw', 14, v251]);
    await expectBridge(u, 93, prefix + v251);
    a.send(Cmd.BRIDGE, 94, [8, 'vw', 14, `${v251}d`]);
    await a.expectResponse(94, Status.DEVICE_NOT_IN_NETWORK);
    await u.expectNothing(200);
    u.end();
    a.end();

    // the undelivered value was still stored for the target
    const w = cleanup.add(await srv.login(tokOffline));
    w.send(Cmd.INTERNAL, 2, ['ver', '0.6.1', 'buff-in', '4096', 'dev', 'raw']);
    await w.expectResponse(2, Status.OK);
    const [f] = await w.sync(95, ['vr', 14], 1);
    assert.equal(body(f), `${prefix}${v251}d`);
    w.end();
  });

  it('re-initialising a bridge pin switches its target (libraries call setAuthToken on every connect)', async () => {
    const a = cleanup.add(await srv.login(tokA));
    const b = cleanup.add(await srv.login(tokB));
    a.send(Cmd.BRIDGE, 100, [1, 'i', tokB]);
    await a.expectResponse(100, Status.OK);
    a.send(Cmd.BRIDGE, 101, [1, 'i', tokOffline]);
    await a.expectResponse(101, Status.OK);
    a.send(Cmd.BRIDGE, 102, [1, 'vw', 15, 'to-offline']);
    await a.expectResponse(102, Status.DEVICE_NOT_IN_NETWORK);
    await b.expectNothing(200);
    a.end();
    b.end();
  });

  it('max_bridges (5 here) bridge pins per connection: the 6th pin is NOT_ALLOWED, re-init of a known pin still OK', async () => {
    const a = cleanup.add(await srv.login(tokA));
    for (let pin = 0; pin < 5; pin++) {
      a.send(Cmd.BRIDGE, 110 + pin, [pin, 'i', tokB]);
      await a.expectResponse(110 + pin, Status.OK);
    }
    a.send(Cmd.BRIDGE, 120, [5, 'i', tokB]);
    await a.expectResponse(120, Status.NOT_ALLOWED);
    a.send(Cmd.BRIDGE, 121, [2, 'i', tokB]);
    await a.expectResponse(121, Status.OK);
    a.end();
  });

  it('a device can bridge to its own token: its other connection receives, the sender does not', async () => {
    const a1 = cleanup.add(await srv.login(tokA));
    const a2 = cleanup.add(await srv.login(tokA));
    a1.send(Cmd.BRIDGE, 130, [1, 'i', tokA]);
    await a1.expectResponse(130, Status.OK);
    a1.send(Cmd.BRIDGE, 131, [1, 'vw', 16, 'self']);
    await expectBridge(a2, 131, 'vw\x0016\x00self');
    await a1.expectNothing(200);
    a1.end();
    a2.end();
  });

  it('a device added by the CLI while the server runs, never connected yet, can be bridged to at once; it finds the value when it connects', async () => {
    const fresh = await srv.addDevice('owner@example.com', 'flashed-later');
    const a = cleanup.add(await srv.login(tokA));
    a.send(Cmd.BRIDGE, 140, [1, 'i', fresh]);
    await a.expectResponse(140, Status.OK);
    a.send(Cmd.BRIDGE, 141, [1, 'vw', 17, 'waiting']);
    await a.expectResponse(141, Status.DEVICE_NOT_IN_NETWORK);
    const f = cleanup.add(await srv.login(fresh));
    const [g] = await f.sync(142, ['vr', 17], 1);
    assert.equal(body(g), 'vw\x0017\x00waiting');
    // and another user's fresh device is still refused
    const foreign = await srv.addDevice('stranger@example.com', 'foreign-fresh');
    a.send(Cmd.BRIDGE, 143, [2, 'i', foreign]);
    await a.expectResponse(143, Status.NOT_ALLOWED);
    a.end();
    f.end();
  });

  it('blynk-library WidgetBridge: setAuthToken then virtualWrite/digitalWrite reach the other library device', async () => {
    const dA = cleanup.add(makeDevice(tokA, { port: srv.hwPort }));
    const dB = cleanup.add(makeDevice(tokB, { port: srv.hwPort }));
    await Promise.all([dA.whenConnected(), dB.whenConnected()]);
    const vb = new dB.VirtualPin(12);
    assert.ok(vb);
    const got = nextVirtualWrite(dB, 12);
    const bridge = new dA.WidgetBridge(6);
    bridge.setAuthToken(tokB);
    bridge.virtualWrite(12, 'from-lib');
    assert.deepEqual(await got, ['from-lib']);
    const got2 = nextVirtualWrite(dB, 12);
    bridge.virtualWrite(12, ['multi', 2]);
    assert.deepEqual(await got2, ['multi', '2']);
    // the library announces buff-in 4096, so a 1000-character value reaches it
    const long = 'L'.repeat(1000);
    const got3 = nextVirtualWrite(dB, 12);
    bridge.virtualWrite(12, long);
    assert.deepEqual(await got3, [long]);
    // digitalWrite arrives at the board of B
    const op = dB.board.nextOp();
    bridge.digitalWrite(4, 1);
    assert.deepEqual(await op, ['dw', '4', '1']);
    const c = cleanup.add(await srv.login(tokB));
    await c.pollPin(4, [1], { type: 'd' });   // and stored for B
    c.end();
    dA.close();
    dB.close();
  });
});
