// A plugin's own threads against the kernel (docs/plugin-sdk.md: Kernel::post may be called
// from any thread; a responder may answer from any thread): the test plugin kernel-poster
// (tests/sdk/kernel-poster) posts to the kernel thread from its own thread from init to
// shutdown, across the server's start and stop, and answers HTTP from its worker. The server
// must run the posts, answer, and stop cleanly with exit 0, start after start. Run under
// ThreadSanitizer too (ctest -L tsan), where a data race makes blynkd exit 66.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Server, Cleanup, BUILD_DIR, Cmd } from '../lib/harness.js';

const cleanup = new Cleanup();
after(() => cleanup.run());

const PLUGIN = path.join(BUILD_DIR, 'bin', 'test-plugins', 'kernel-poster-plugin.so');
const HTTP_TIMEOUT_MS = 5000;

async function get(srv, p) {
  const res = await fetch(`http://127.0.0.1:${srv.hwPort}${p}`, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  return { status: res.status, text: await res.text() };
}

/** Polls /kernel-poster/count (bounded) until it exceeds `above`; returns it. */
async function countAbove(srv, above, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    const r = await get(srv, '/kernel-poster/count');
    assert.equal(r.status, 200, r.text);
    last = Number(r.text);
    if (last > above) return last;
  }
  throw new Error(`the kernel ran ${last} posts, not more than ${above}, within ${timeoutMs} ms`);
}

describe('plugin threads', () => {
  it('posts from a plugin thread run on the kernel thread; answers from its worker arrive; three starts and stops exit 0', async () => {
    assert.ok(existsSync(PLUGIN), `${PLUGIN} not found: build the target kernel-poster-plugin (tests/sdk)`);
    const srv = cleanup.add(Server.create({
      name: 'plugin-threads',
      config: { plugins: { enabled: ['storage-sqlite', 'http-api', PLUGIN] } },
    }));
    const token = await srv.addDevice('threads@example.com', 'dev');
    for (let round = 0; round < 3; round++) {
      await srv.launch();
      const first = await countAbove(srv, 0);
      // the kernel thread is busy with a device and HTTP while the plugin thread posts
      const c = cleanup.add(await srv.login(token));
      for (let i = 0; i < 50; i++) c.send(Cmd.HARDWARE, 100 + i, ['vw', '1', String(i)]);
      await c.ping(999);
      const answers = await Promise.all([1, 2, 3, 4].map(() => get(srv, '/kernel-poster/later')));
      for (const a of answers) assert.deepEqual(a, { status: 200, text: 'later' });
      await countAbove(srv, first);
      c.end();
      await srv.stop();  // exit code 0 required
    }
  });
});
