// Idle timeouts and heartbeats (docs/reference/protocol.md §1 idle table, §6.1, §7.1; config [hardware]).
// All cases run concurrently so the file costs about the longest case (~15 s).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Server, Cmd, Status, Cleanup, INFO_JS } from '../lib/harness.js';
import { makeDevice } from '../lib/blynklib.js';

const cleanup = new Cleanup();
let fast;   // idle_timeout = 1 -> ceil(2.3) = 3 s; login_timeout = 1
let slow;   // idle_timeout = 5 -> ceil(11.5) = 12 s
let never;  // idle_timeout = 0 -> never
let tokFast;
let tokSlow;
let tokNever;

const MCU_INFO = ['mcu', '1.0.0', 'fw-type', 'X', 'build', 'Jan  1 2024 00:00:00',
  'blynk', '1.3.2', 'h-beat', '45', 'buff-in', '1024'];

before(async () => {
  [fast, slow, never] = await Promise.all([
    Server.start({ name: 'hb-fast', config: { hardware: { idle_timeout: 1, login_timeout: 1 } } }),
    Server.start({ name: 'hb-slow', config: { hardware: { idle_timeout: 5 } } }),
    Server.start({ name: 'hb-never', config: { hardware: { idle_timeout: 0 } } }),
  ]);
  cleanup.add(fast);
  cleanup.add(slow);
  cleanup.add(never);
  tokFast = await fast.addDevice('hb@example.com', 'fast');
  tokSlow = await slow.addDevice('hb@example.com', 'slow');
  tokNever = await never.addDevice('hb@example.com', 'never');
});
after(() => cleanup.run());

/** Asserts the library device does not disconnect for ms (a bounded silence check). */
async function expectNoDisconnect(b, ms) {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), ms);
  try {
    await once(b, 'disconnect', { signal: ac.signal });
    assert.fail(`blynk-library disconnected within ${ms} ms: ${JSON.stringify(b.events.map((e) => e.ev))}`);
  } catch (e) {
    if (e.name !== 'AbortError') throw e;
  } finally {
    clearTimeout(t);
  }
}

describe('idle timeout and heartbeat', { concurrency: true }, () => {
  it('idle_timeout=1: a device that sent its info (h-beat 1) and PINGs every second stays connected beyond 5 s', async () => {
    const c = cleanup.add(await fast.login(tokFast));
    c.send(Cmd.INTERNAL, 2, INFO_JS);
    await c.expectResponse(2, Status.OK);
    const start = Date.now();
    let id = 100;
    while (Date.now() - start < 6000) {
      await c.ping(id++);
      await c.expectNothing(1000);
    }
    await c.ping(id);
    c.end();
  });

  it('idle_timeout=1: a logged-in device that stays silent is closed after about 3 s (within 2.5-6 s)', async () => {
    const c = cleanup.add(await fast.login(tokFast));
    const t0 = Date.now();
    const frames = await c.expectClose(8000);
    const dt = c.closedAt - t0;
    assert.deepEqual(frames, []);
    assert.ok(dt >= 2500 && dt <= 6000, `closed after ${dt} ms, expected ceil(2.3 x 1) = 3 s`);
  });

  it('the 1.x `mcu` info packet gets OK with its msgId, and its h-beat 45 is honoured (silent 6 s, still open)', async () => {
    const c = cleanup.add(await fast.login(tokFast));
    c.send(Cmd.INTERNAL, 3, MCU_INFO);
    await c.expectResponse(3, Status.OK);
    await c.expectNothing(6000);
    await c.ping(4);
    c.end();
  });

  it('idle_timeout=1: h-beat 0 is ignored (still closed after about 3 s)', async () => {
    const c = cleanup.add(await fast.login(tokFast));
    c.send(Cmd.INTERNAL, 5, ['ver', '0.6.1', 'h-beat', '0', 'buff-in', '256', 'dev', 'raw']);
    await c.expectResponse(5, Status.OK);
    const t0 = Date.now();
    await c.expectClose(8000);
    const dt = c.closedAt - t0;
    assert.ok(dt >= 2500 && dt <= 6000, `closed after ${dt} ms, expected 3 s`);
  });

  it('odd info lists (lone key, non-numeric h-beat) get OK and keep the configured timeout', async () => {
    const c = cleanup.add(await fast.login(tokFast));
    c.send(Cmd.INTERNAL, 6, ['ver']);
    await c.expectResponse(6, Status.OK);
    c.send(Cmd.INTERNAL, 7, ['h-beat', 'soon', 'buff-in']);
    await c.expectResponse(7, Status.OK);
    const t0 = Date.now();
    await c.expectClose(8000);
    const dt = c.closedAt - t0;
    assert.ok(dt >= 2500 && dt <= 6000, `closed after ${dt} ms, expected 3 s`);
  });

  it('idle_timeout=0: a silent device is never closed, even after announcing h-beat 1', async () => {
    const quiet = cleanup.add(await never.login(tokNever));
    const announced = cleanup.add(await never.login(tokNever));
    announced.send(Cmd.INTERNAL, 2, INFO_JS);
    await announced.expectResponse(2, Status.OK);
    await Promise.all([quiet.expectNothing(6000), announced.expectNothing(6000)]);
    await quiet.ping(3);
    await announced.ping(4);
    quiet.end();
    announced.end();
  });

  it('login_timeout=1: a connection that never logs in is closed after about 1 s', async () => {
    const c = cleanup.add(await fast.connect());
    const t0 = Date.now();
    const frames = await c.expectClose(5000);
    const dt = c.closedAt - t0;
    assert.deepEqual(frames, []);
    assert.ok(dt >= 500 && dt <= 3500, `closed after ${dt} ms, expected about 1 s`);
  });

  it('blynk-library with heartbeat 1000 ms stays connected past idle_timeout=1 (3 s) and still works after 6 s', async () => {
    const b = cleanup.add(makeDevice(tokFast, { port: fast.hwPort, heartbeat: 1000 }));
    await b.whenConnected();
    await expectNoDisconnect(b, 6000);
    b.virtualWrite(50, 'alive');
    const c = cleanup.add(await fast.login(tokFast));
    await c.pollPin(50, ['alive']);
    // this raw client has now been idle only briefly; close it before the idle timeout
    c.end();
    b.close();
  });

  it('idle_timeout=5: an info packet with h-beat 1 shortens the timeout to about 3 s', async () => {
    const c = cleanup.add(await slow.login(tokSlow));
    c.send(Cmd.INTERNAL, 2, INFO_JS);
    await c.expectResponse(2, Status.OK);
    const t0 = Date.now();
    await c.expectClose(8000);
    const dt = c.closedAt - t0;
    assert.ok(dt >= 2500 && dt <= 6000, `closed after ${dt} ms, expected ceil(2.3 x 1) = 3 s`);
  });

  it('idle_timeout=5: a silent device without info is kept 10 s and closed by about 12 s', async () => {
    const c = cleanup.add(await slow.login(tokSlow));
    const t0 = Date.now();
    await c.expectNothing(10000);
    await c.expectClose(6000);
    const dt = c.closedAt - t0;
    assert.ok(dt <= 15000, `closed after ${dt} ms, expected ceil(2.3 x 5) = 12 s`);
  });

  it('idle_timeout=5: blynk-library with its default heartbeat (PING every 10 s) stays connected past 12 s', async () => {
    const b = cleanup.add(makeDevice(tokSlow, { port: slow.hwPort }));
    await b.whenConnected();
    await expectNoDisconnect(b, 14000);
    b.virtualWrite(51, 'still-here');
    const c = cleanup.add(await slow.login(tokSlow));
    await c.pollPin(51, ['still-here']);
    c.end();
    b.close();
  });
});
