// BRIDGE (15) between devices (protocol.md §7.3).
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
  srv = cleanup.add(await Server.start({ name: 'bridge' }));
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
