// Per-connection message quota (docs/reference/protocol.md §11; config [hardware] message_quota).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, Cmd, Status, Cleanup, frame, describeFrame } from '../lib/harness.js';

const cleanup = new Cleanup();
let srv;

before(async () => {
  srv = cleanup.add(await Server.start({ name: 'quota', config: { hardware: { message_quota: 100 } } }));
});
after(() => cleanup.run());

function burst(first, n) {
  const frames = [];
  for (let i = 0; i < n; i++) frames.push(frame(Cmd.HARDWARE, first + i, ['vw', 1, `v${first + i}`]));
  return Buffer.concat(frames);
}

/**
 * Floods c with HARDWARE writes until a frame arrives. 300 writes go in one write; a meter that
 * only ticks once a second (as the legacy one) lets the first second through, so keep flooding,
 * at most 4 bursts (each followed by a bounded wait), until the server says something.
 */
async function floodUntilQuota(c) {
  let quota = null;
  let next = 1000;
  const sent = [];
  for (let round = 0; round < 4 && !quota; round++) {
    c.write(burst(next, 300));
    sent.push([next, next + 299]);
    next += 300;
    try {
      quota = await c.expectFrame(1200);
    } catch (e) {
      if (c.closed) throw new Error(`connection closed during the flood: ${e.message}`);
    }
  }
  assert.ok(quota, 'no QUOTA_LIMIT after 1200 writes in about 5 s with message_quota = 100');
  assert.ok(quota.cmd === 0 && quota.status === Status.QUOTA_LIMIT, `expected RESPONSE QUOTA_LIMIT, got ${describeFrame(quota)}`);
  assert.ok(sent.some(([lo, hi]) => quota.msgId >= lo && quota.msgId <= hi),
    `QUOTA_LIMIT msgId ${quota.msgId} is not one of the writes`);
  return next;
}

describe('message quota', () => {
  it('a flood of HARDWARE writes gets exactly one QUOTA_LIMIT (msgId of a dropped write); the connection stays open and in sync', async () => {
    const token = await srv.addDevice('quota@example.com', 'flooder');
    const c = cleanup.add(await srv.login(token));
    const next = await floodUntilQuota(c);

    // More writes while over quota: still dropped, but no second QUOTA_LIMIT (at most one a minute),
    // and the dropped bodies must not be parsed as frames (that would close or garble the stream).
    // A connection over its quota is read again only at the next sweep (up to 250 ms later), so
    // part of this burst may be counted in the next second: the PING below waits for a second with
    // nothing read (a PING is a message too and is dropped while that second is full).
    c.write(burst(next, 300));
    await c.expectNothing(2100);
    assert.ok(!c.closed);

    // The stream is still framed correctly: a PING is answered with its own msgId.
    c.send(Cmd.PING, 4321);
    const f = await c.expectFrame(3000);
    assert.ok(f.cmd === 0 && f.msgId === 4321 && f.status === Status.OK,
      `expected OK for PING 4321 after the flood, got ${describeFrame(f)}`);
    c.end();
  });

  it('the quota is per connection: another connection of the same device is not limited', async () => {
    const token = await srv.addDevice('quota@example.com', 'neighbour');
    const flooder = cleanup.add(await srv.login(token));
    const calm = cleanup.add(await srv.login(token));
    await floodUntilQuota(flooder);
    await calm.ping(5);
    calm.send(Cmd.HARDWARE, 6, ['vw', 2, 'calm']);
    const [f] = await calm.sync(7, ['vr', 2], 1);
    assert.equal(f.body.toString(), 'vw\x002\x00calm');
    flooder.close();
    calm.end();
  });
});
