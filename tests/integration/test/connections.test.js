// Connection life at the socket level: half-closed peers, many connections
// closing at once while their input is pending, and a receiver that stops
// reading and later drains. Plain and TLS share one readiness path.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, Cmd, Status, Cleanup, frame, describeFrame } from '../lib/harness.js';

const cleanup = new Cleanup();
let srv;
let tokA;
let tokB;
let tokMany;

before(async () => {
  srv = cleanup.add(await Server.start({ name: 'connections', config: { hardware: { message_quota: 0 } } }));
  tokA = await srv.addDevice('conn@example.com', 'sender');
  tokB = await srv.addDevice('conn@example.com', 'receiver');
  tokMany = await srv.addDevice('conn@example.com', 'many');
});
after(() => cleanup.run());

for (const tls of [false, true]) {
  const kind = tls ? 'TLS' : 'plain';

  describe(`connections (${kind})`, () => {
    it('a peer that half-closes after its last frame still gets the answer, then is closed', async () => {
      const c = cleanup.add(await srv.login(tokA, { tls }));
      c.send(Cmd.PING, 5);
      c.sock.end();  // FIN after the ping: the write side is closed, the read side stays open
      await c.expectResponse(5, Status.OK);
      await c.expectClose(5000);
      c.checkViolations();
    });

    it('many connections closing at once while their input is pending leave the server serving', async () => {
      const n = tls ? 60 : 200;
      const clients = [];
      for (let i = 0; i < n; i++) clients.push(cleanup.add(await srv.connect({ tls })));
      // Every one sends its login and then either closes at once, or breaks the protocol so the
      // server closes it, in the same moment as the others.
      const login = frame(Cmd.HARDWARE_LOGIN, 1, tokMany);
      const bad = Buffer.from([250, 0, 2, 0, 0]);  // unknown command
      clients.forEach((c, i) => {
        c.write(i % 2 ? Buffer.concat([login, frame(Cmd.PING, 2)]) : Buffer.concat([login, bad]));
      });
      clients.forEach((c, i) => { if (i % 2) c.close(); });
      for (let i = 0; i < n; i += 2) await clients[i].expectClose(10000);
      const fresh = cleanup.add(await srv.login(tokMany, { tls }));
      await fresh.ping(7);
      fresh.end();
      assert.ok(srv.running, 'the server is still running');
    });

    it('a receiver that stops reading gets every message, in order, once it reads again', async () => {
      const a = cleanup.add(await srv.login(tokA, { tls }));
      const b = cleanup.add(await srv.login(tokB, { tls }));
      a.send(Cmd.BRIDGE, 2, [1, 'i', tokB]);
      await a.expectResponse(2, Status.OK);
      b.sock.pause();  // B stops reading: its socket buffers fill, then the server's output queue
      const count = 3000;
      const value = 'x'.repeat(180);
      const chunks = [];
      for (let i = 1; i <= count; i++) chunks.push(frame(Cmd.BRIDGE, i + 100, [1, 'vw', 3, `${i}:${value}`]));
      a.write(Buffer.concat(chunks));
      await a.ping(9, 10000);  // every bridge write before it was handled
      b.sock.resume();
      for (let i = 1; i <= count; i++) {
        const f = await b.expectFrame(10000);
        assert.ok(f.cmd === Cmd.BRIDGE && f.msgId === i + 100, `message ${i}: got ${describeFrame(f)}`);
        assert.equal(f.fields[2].split(':')[0], String(i));
      }
      await b.ping(10);
      a.end();
      b.end();
    });
  });
}
