// Malformed input on raw sockets (docs/reference/protocol.md §2.1, §3, §4 last paragraph, §5 error convention;
// config [hardware] max_body).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, Cmd, Status, Cleanup, frame, responseFrame } from '../lib/harness.js';

const MAX_BODY = 1024;
const cleanup = new Cleanup();
let srv;
let token;

before(async () => {
  srv = cleanup.add(await Server.start({ name: 'malformed', config: { hardware: { max_body: MAX_BODY } } }));
  token = await srv.addDevice('bad@example.com', 'fuzzy');
});
after(() => cleanup.run());

/** A header announcing `len` bytes, followed by that many bytes. */
function bigFrame(cmd, msgId, len) {
  const h = Buffer.alloc(5);
  h.writeUInt8(cmd, 0);
  h.writeUInt16BE(msgId, 1);
  h.writeUInt16BE(len, 3);
  return Buffer.concat([h, Buffer.alloc(len, 0x61)]);
}

async function serverStillServes() {
  assert.ok(srv.running, `server exited: ${JSON.stringify(srv.exited)}`);
  const c = cleanup.add(await srv.login(token));
  await c.ping(999);
  c.end();
}

describe('malformed frames', () => {
  it(`a frame longer than max_body (${MAX_BODY}) closes the connection, and the log names the peer address`, async () => {
    const c = cleanup.add(await srv.login(token));
    const peer = `127.0.0.1:${c.localPort}`;
    const mark = srv.log.length;
    c.write(bigFrame(Cmd.HARDWARE, 5, MAX_BODY + 1));
    await c.expectClose(3000);
    await srv.waitForLog(new RegExp(peer.replace(/\./g, '\\.') + '\\b'), 3000, mark);
    await serverStillServes();
  });

  it('a too-long frame before login closes the connection too', async () => {
    const c = cleanup.add(await srv.connect());
    c.write(bigFrame(Cmd.HARDWARE_LOGIN, 1, 60000));
    await c.expectClose(3000);
  });

  it(`a frame of exactly max_body (${MAX_BODY}) bytes is accepted`, async () => {
    const c = cleanup.add(await srv.login(token));
    // The device announces a buffer big enough to get the value back (without it, 255 bytes).
    c.send(Cmd.INTERNAL, 5, ['ver', '0.5.4', 'buff-in', '4096']);
    await c.expectResponse(5, Status.OK);
    const value = 'z'.repeat(MAX_BODY - 'vw\x001\x00'.length);
    c.send(Cmd.HARDWARE, 6, ['vw', 1, value]);
    const [f] = await c.sync(7, ['vr', 1], 1);
    assert.equal(f.body.length, MAX_BODY);
    c.end();
  });

  for (const cmd of [100, 255]) {
    it(`command ${cmd} (>= 100) closes the connection`, async () => {
      const c = cleanup.add(await srv.login(token));
      c.send(cmd, 8, ['x']);
      const frames = await c.expectClose(3000);
      assert.deepEqual(frames, []);
    });
  }

  it('a truncated frame followed by a close does not disturb the server', async () => {
    const c = cleanup.add(await srv.login(token));
    c.write(frame(Cmd.HARDWARE, 9, ['vw', 2, 'truncated-value']).subarray(0, 9));
    await c.expectNothing(100);
    c.close();
    const half = cleanup.add(await srv.connect());
    half.write(frame(Cmd.HARDWARE_LOGIN, 1, token).subarray(0, 3));   // half a header
    half.close();
    await serverStillServes();
  });

  it('50 connections that send a login (token not loaded yet) and vanish before the reply do not hurt the server', async () => {
    const fresh = [await srv.addDevice('bad@example.com', 'ghost-1'), await srv.addDevice('bad@example.com', 'ghost-2')];
    for (let i = 0; i < 50; i++) {
      const g = await srv.connect();
      g.send(Cmd.HARDWARE_LOGIN, 1, fresh[i % 2]);
      g.close();
    }
    await serverStillServes();
    const c = cleanup.add(await srv.login(fresh[0]));
    await c.ping(2);
    c.end();
  });

  for (const [label, fields] of [
    ['vw\\0256\\01 (pin > 255)', ['vw', 256, 1]],
    ['vw\\0x\\01 (pin not a number)', ['vw', 'x', 1]],
    ['vw\\0-1\\01 (negative pin)', ['vw', -1, 1]],
    ['aw\\01 (no value)', ['aw', 1]],
    ['xw\\01\\01 (unknown pin type)', ['xw', 1, 1]],
    ['vw (body shorter than 4)', ['vw']],
    ['vw\\01\\0 (empty value)', ['vw', 1, '']],
    ['vw\\01 (no value field)', ['vw', 1]],
  ]) {
    it(`HARDWARE ${label} gets ILLEGAL_COMMAND with its msgId, and the connection stays open`, async () => {
      const c = cleanup.add(await srv.login(token));
      c.send(Cmd.HARDWARE, 321, fields);
      await c.expectResponse(321, Status.ILLEGAL_COMMAND);
      await c.ping(322);
      c.end();
    });
  }

  it('INTERNAL `rtc`: no reply (legacy, no RTC widget) or `rtc\\0<UTC seconds>` with its msgId; the stream stays in sync', async () => {
    const c = cleanup.add(await srv.login(token));
    c.send(Cmd.INTERNAL, 30, ['rtc']);
    c.send(Cmd.PING, 31);
    let f = await c.expectFrame();
    if (f.cmd === Cmd.INTERNAL) {
      // blynkd answers with UTC where the legacy server stayed silent (kernel/core/router.cpp)
      assert.equal(f.msgId, 30);
      assert.equal(f.fields[0], 'rtc');
      const secs = Number(f.fields[1]);
      assert.ok(Math.abs(secs - Date.now() / 1000) < 5, `rtc says ${f.fields[1]}, now is ${Math.round(Date.now() / 1000)}`);
      f = await c.expectFrame();
    }
    assert.ok(f.cmd === 0 && f.msgId === 31 && f.status === Status.OK, JSON.stringify(f));
    await c.expectNothing(200);
    c.end();
  });

  it('PING gets OK echoing its msgId (1, 300, 65535)', async () => {
    const c = cleanup.add(await srv.login(token));
    for (const id of [1, 300, 65535]) await c.ping(id);
    c.end();
  });

  it('commands below 100 without a hardware meaning are ignored silently (64 logEvent, 21, `vr` from hardware, RESPONSE)', async () => {
    const c = cleanup.add(await srv.login(token));
    c.send(Cmd.HARDWARE_LOG_EVENT, 10, ['door', 'opened']);
    c.send(21, 11, ['group']);
    c.send(Cmd.HARDWARE, 12, ['vr', 1]);
    c.write(responseFrame(13, Status.OK));            // a RESPONSE is 5 bytes, no body
    c.write(responseFrame(14, Status.ILLEGAL_COMMAND));
    c.send(Cmd.PING, 15);
    await c.expectResponse(15, Status.OK);
    await c.expectNothing(200);
    c.end();
  });
});
