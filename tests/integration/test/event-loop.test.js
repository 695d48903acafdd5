// The ways the kernel waits for sockets (docs/operator-guide.md, "Event loop"; server.event_loop):
// the readiness set's own loop (the Linux default), the set waited on through Asio
// ("readiness-in-asio", what other platforms with such a set use) and a wait per socket
// through Asio ("asio", every other platform). Each must carry the same traffic:
// logins that go to storage and back (work posted from another thread), a bridge between
// devices, an HTTP request answered by a plugin, a plain and a TLS connection, the sweep's
// timeouts, and a clean stop.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, Cmd, Status, Cleanup } from '../lib/harness.js';

const modes = [
  ['the set\'s own loop (default)', {}, 'sockets wait in one readiness set, Asio\'s reactor inside it'],
  ['the set waited on through Asio (event_loop = "readiness-in-asio")', { event_loop: 'readiness-in-asio' },
    'sockets wait in one readiness set, waited on through Asio'],
  ['a wait per socket through Asio (event_loop = "asio")', { event_loop: 'asio' },
    'every socket waits through Asio'],
];

for (const [name, server, logLine] of modes) {
  describe(`event loop: ${name}`, () => {
    const cleanup = new Cleanup();
    let srv;
    let tokA;
    let tokB;

    before(async () => {
      srv = cleanup.add(await Server.start({
        name: 'loop',
        config: {
          server,
          plugins: { enabled: ['storage-sqlite', 'http-api'] },
          hardware: { idle_timeout: 1 },
        },
      }));
      tokA = await srv.addDevice('owner@example.com', 'device-a');
      tokB = await srv.addDevice('owner@example.com', 'device-b');
      // A restart: the devices are then known only to storage, so the logins below are
      // answered from the storage thread through the loop's queue.
      await srv.stop();
      await srv.launch();
    });
    after(() => cleanup.run());

    it('logins from storage, a bridge, an HTTP read and a TLS connection all work', async () => {
      assert.ok(srv.log.includes(`event loop: ${logLine}`), `the log names the mode: ${logLine}`);
      const a = cleanup.add(await srv.login(tokA));
      const b = cleanup.add(await srv.login(tokB, { tls: true }));
      a.send(Cmd.BRIDGE, 10, [1, 'i', tokB]);
      await a.expectResponse(10, Status.OK);
      for (let i = 0; i < 50; i++) {
        a.send(Cmd.BRIDGE, 100 + i, [1, 'vw', 5, `v${i}`]);
        const f = await b.expectFrame();
        assert.equal(f.cmd, Cmd.BRIDGE);
        assert.equal(f.msgId, 100 + i);
        assert.equal(f.body.toString('utf8'), `vw\x005\x00v${i}`);
      }
      const res = await fetch(`http://127.0.0.1:${srv.hwPort}/${tokB}/get/V5`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), ['v49']);
      a.end();
      b.end();
    });

    it('the sweep closes a device that stays silent past its idle timeout', async () => {
      const c = cleanup.add(await srv.login(tokA));
      const t0 = Date.now();
      const frames = await c.expectClose(8000);
      const dt = c.closedAt - t0;
      assert.deepEqual(frames, []);
      // idle_timeout = 1: ceil(2.3 x 1) = 3 s, checked by the sweep every 250 ms
      assert.ok(dt >= 2500 && dt <= 6000, `closed after ${dt} ms, expected about 3 s`);
    });

    it('stops cleanly on SIGTERM with connections open', async () => {
      cleanup.add(await srv.login(tokA));
      cleanup.add(await srv.login(tokB, { tls: true }));
      await srv.stop();  // asserts exit code 0 within its bound
    });
  });
}
