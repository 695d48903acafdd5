// What docs/operator-guide.md tells an operator to do, done as it says: a backup of the SQLite
// store with `sqlite3 blynk.db ".backup FILE"` while the server runs and a device writes, a
// restore into a fresh data folder that a new server starts on and finds the data in; and
// `blynkd health`, the container's health check.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, chmodSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Server, Cmd, Cleanup, BLYNKD_BIN, which, withTimeout } from '../lib/harness.js';

const cleanup = new Cleanup();
after(() => cleanup.run());

function run(cmd, args, timeoutMs = 15000) {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr, timedOut: Boolean(err && err.killed) });
    });
  });
}
const show = (r) => `exit ${r.code}${r.timedOut ? ' (timed out)' : ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

async function httpGet(port, target) {
  const res = await withTimeout(fetch(`http://127.0.0.1:${port}${target}`), 5000, `GET ${target}`);
  return { status: res.status, body: await res.text() };
}

const config = {
  hardware: { message_quota: 0 },                  // the writer below is faster than a device
  storage: { pin_flush_interval_ms: 50 },          // many flushes while the backup runs
  plugins: { enabled: ['storage-sqlite', 'http-api'] },
};

describe('backup and restore, as the operator guide says', { skip: which('sqlite3') ? false : 'sqlite3 is not installed' }, () => {
  it('a backup taken while a device writes restores into a fresh data folder; the server finds the device and its pin', async () => {
    const srv = cleanup.add(await Server.start({ config, name: 'backup' }));
    const token = await srv.addDevice('backup@example.com', 'writer');
    const device = cleanup.add(await srv.login(token));

    // The device writes V1 = 1, 2, 3, ... each acknowledged by a ping (in order) before the next.
    let acked = 0;
    let stop = false;
    const writer = (async () => {
      for (let i = 1; !stop; i++) {
        device.send(Cmd.HARDWARE, 2, ['vw', 1, i]);
        await device.ping(3);
        acked = i;
      }
    })();

    // Backups while it writes, until one holds a stored V1 (bounded: 20 backups).
    const db = path.join(srv.dataDir, 'blynk.db');
    const backup = path.join(srv.dir, 'blynk-backup.db');
    let stored = 0;
    let before = 0;
    let afterBackup = 0;
    for (let attempt = 0; attempt < 20 && stored === 0; attempt++) {
      before = acked;
      const r = await run('sqlite3', [db, '.timeout 5000', `.backup '${backup}'`]);
      afterBackup = acked;
      assert.equal(r.code, 0, show(r));
      const q = await run('sqlite3', [backup, "SELECT CAST(value AS TEXT) FROM pins WHERE pin_type = 'v' AND pin = 1"]);
      assert.equal(q.code, 0, show(q));
      stored = Number(q.stdout.trim() || 0);
    }
    stop = true;
    await writer;
    assert.ok(stored > 0, 'no backup held V1 after 20 attempts');
    assert.ok(afterBackup > before, 'the device did not write while the backup ran');
    assert.ok(stored <= afterBackup, `the backup holds V1 = ${stored}, never written before it ended (${afterBackup})`);
    const check = await run('sqlite3', [backup, 'PRAGMA integrity_check']);
    assert.equal(check.stdout.trim(), 'ok', show(check));

    // Restore: a fresh data folder (0700) with the backup as blynk.db (0600), a new server on it.
    const restored = cleanup.add(Server.create({ config, name: 'restore' }));
    mkdirSync(restored.dataDir, { recursive: true, mode: 0o700 });
    copyFileSync(backup, path.join(restored.dataDir, 'blynk.db'));
    chmodSync(path.join(restored.dataDir, 'blynk.db'), 0o600);
    await restored.launch();
    assert.match(restored.log, /server ready \(\d+ users, 1 devices/);
    const list = await restored.cli(['device', 'list']);
    assert.equal(list.code, 0, show(list));
    assert.match(list.stdout, new RegExp(`backup@example.com .* ${token}`));
    const got = await httpGet(restored.hwPort, `/${token}/get/V1`);
    assert.equal(got.status, 200, got.body);
    assert.deepEqual(JSON.parse(got.body), [String(stored)]);
    // The device logs in to the restored server with the same token.
    const again = cleanup.add(await restored.login(token));
    again.close();
    assert.equal(statSync(path.join(restored.dataDir, 'blynk.db')).mode & 0o777, 0o600);
  });
});

describe('blynkd health', () => {
  it('exits 0 naming the answer while the server runs; exits 1 within its timeout for a closed port or a silent one', async () => {
    const srv = cleanup.add(await Server.start({ name: 'health' }));
    const up = await srv.cli(['health', '--port', String(srv.hwPort)]);
    assert.equal(up.code, 0, show(up));
    assert.match(up.stdout, new RegExp(`^healthy: 127\\.0\\.0\\.1:${srv.hwPort} answered HTTP \\d{3} in \\d+ ms\\n$`));

    // A listener that accepts and never answers: unhealthy after --timeout, not a hang.
    const silent = net.createServer(() => {});
    await new Promise((r) => silent.listen(0, '127.0.0.1', r));
    cleanup.add(() => silent.close());
    const started = Date.now();
    const hung = await run(BLYNKD_BIN, ['health', '--port', String(silent.address().port), '--timeout', '1']);
    assert.equal(hung.code, 1, show(hung));
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    assert.match(hung.stderr, /unhealthy: .*no answer within 1000 ms/);

    const port = srv.hwPort;
    await srv.stop();
    const down = await run(BLYNKD_BIN, ['health', '--port', String(port)]);
    assert.equal(down.code, 1, show(down));
    assert.match(down.stderr, /unhealthy: 127\.0\.0\.1:\d+: cannot connect/);

    const bad = await run(BLYNKD_BIN, ['health', '--port', 'eighty']);
    assert.equal(bad.code, 2, show(bad));
    assert.match(bad.stderr, /--port must be a number from 1 to 65535/);
  });
});
