// A server on storage-postgres alone (plugins/storage-postgres): a real device writing while
// PostgreSQL is stopped for ~10 s and started again (answers keep coming with flat latency,
// the pin values and every history point written meanwhile reach the database, the outage is
// logged once, an account change during the outage is refused clearly, an unknown token gets
// SERVER_ERROR), and two servers starting at once on one database at an older schema version
// (it is migrated once). The file starts its own throw-away cluster (tests/pg/cluster.sh): it
// stops and starts that cluster, so it must not be the one the rest of the suite shares.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Server, Cmd, Status, Cleanup, SOURCE_DIR, PLUGIN_DIR, describeFrame } from '../lib/harness.js';
import { request, bearer } from '../lib/operator.js';

const cleanup = new Cleanup();
after(() => cleanup.run());

const CLUSTER = path.join(SOURCE_DIR, 'tests', 'pg', 'cluster.sh');
const SCHEMA_V1 = path.join(SOURCE_DIR, 'tests', 'pg', 'schema-v1.sql');
const CMD_TIMEOUT_MS = 60000;
const HTTP_TIMEOUT_MS = 5000;
const OUTAGE_MS = 10000;
const FLUSH_MS = 250;  // [storage] pin_flush_interval_ms
// "Flat latency": a ping answered from memory takes well under this even on a loaded CI
// machine; an answer that waited for the database (its reconnects) would not.
const SANITIZER = process.env.BLYNK_IT_SANITIZER || 'none';
const MAX_PING_MS = SANITIZER === 'none' ? 300 : 1000;
const PG_REQUIRED = Boolean(process.env.BLYNK_TEST_PG_REQUIRED || process.env.CI);
const PLUGIN = path.join(PLUGIN_DIR, 'storage-postgres.so');

const sleepTick = (ms) => new Promise((r) => setTimeout(r, ms));

function run(cmd, args, { timeoutMs = CMD_TIMEOUT_MS } = {}) {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
const show = (r) => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

async function waitFor(fn, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleepTick(100);
  }
}

/** The throw-away cluster of this file; null (with why) when PostgreSQL is not installed. */
const pg = { dir: null, url: null, bin: null, why: null };

async function psql(url, sql) {
  const r = await run(path.join(pg.bin, 'psql'), ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql]);
  assert.equal(r.code, 0, `psql ${sql}: ${show(r)}`);
  return r.stdout.trim();
}
async function psqlFile(url, file) {
  const r = await run(path.join(pg.bin, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-f', file]);
  assert.equal(r.code, 0, `psql -f ${file}: ${show(r)}`);
}
/** A new, empty database in the cluster; returns its URL. */
async function database(name) {
  await psql(pg.url, `CREATE DATABASE ${name}`);
  return pg.url.slice(0, pg.url.lastIndexOf('/') + 1) + name;
}

function serverOpts(name, url) {
  return {
    name,
    config: {
      plugins: { enabled: ['storage-postgres', 'http-api'] },
      storage: { pin_flush_interval_ms: FLUSH_MS },
    },
    extraToml: `[plugins.storage-postgres]\nurl = "${url}"\nbackoff_max_ms = 1000\n`,
  };
}

async function get(srv, urlPath) {
  const res = await fetch(`http://127.0.0.1:${srv.hwPort}${urlPath}`, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  return { status: res.status, text: await res.text() };
}

before(async () => {
  if (!existsSync(PLUGIN)) {
    pg.why = `${PLUGIN} was not built (libpqxx-dev missing?)`;
    return;
  }
  const r = await run(CLUSTER, ['start']);
  if (r.code !== 0) {
    pg.why = `no PostgreSQL cluster (tests/pg/cluster.sh start: ${r.stderr.trim()})`;
    return;
  }
  pg.dir = r.stdout.match(/BLYNK_TEST_PG_DIR=(\S+)/)[1];
  pg.url = r.stdout.match(/BLYNK_TEST_PG_URL=(\S+)/)[1];
  pg.bin = r.stdout.match(/BLYNK_TEST_PG_BIN=(\S+)/)[1];
  cleanup.add(() => run(CLUSTER, ['stop', pg.dir]));
});

/** Skips (locally) or fails (CI) when PostgreSQL is missing. */
function needPostgres(t) {
  if (!pg.why) return true;
  if (PG_REQUIRED) assert.fail(pg.why);
  t.skip(pg.why);
  return false;
}

describe('storage-postgres', () => {
  it('PostgreSQL stopped for 10 s mid-stream: the device keeps its answers, the values and the history written meanwhile arrive, account changes are refused', async (t) => {
    if (!needPostgres(t)) return;
    const url = await database('outage');
    const srv = cleanup.add(await Server.start(serverOpts('pg-outage', url)));
    assert.match(srv.log, /created the schema in postgresql:\/\/postgres@127\.0\.0\.1:\d+\/outage/);
    const token = await srv.addDevice('dev@pg.test', 'esp32');
    const device = cleanup.add(await srv.login(token));
    let msgId = 10;
    const pings = [];
    // Each write also sends the next number to V2, a pin whose history is checked at the end:
    // its values, by phase, in the order written.
    const numbers = { before: [], during: [], after: [] };
    let phase = 'before';
    let nextNumber = 1;
    const write = async (value) => {
      device.send(Cmd.HARDWARE, ++msgId, ['vw', 1, value]);
      const n = nextNumber++;
      device.send(Cmd.HARDWARE, ++msgId, ['vw', 2, String(n)]);
      numbers[phase].push(n);
      const t0 = process.hrtime.bigint();
      await device.ping(++msgId, 5000);
      pings.push(Number(process.hrtime.bigint() - t0) / 1e6);
    };
    for (let i = 0; i < 5; i++) await write('before');
    await waitFor(async () => (await psql(url, "SELECT convert_from(value, 'UTF8') FROM pins WHERE pin = 1")) === 'before',
      5000, 'the value written before the outage in the database');
    // V2's minute buckets: "points|sum of values", both summed over the buckets.
    const minutes = () => psql(url, 'SELECT coalesce(sum(count), 0) || \'|\' || coalesce(sum(sum), 0) FROM history WHERE pin = 2 AND granularity = 1');
    const expected = (ns) => `${ns.length}|${ns.reduce((x, y) => x + y, 0)}`;
    await waitFor(async () => (await minutes()) === expected(numbers.before), 5000,
      'the history points written before the outage in the database');

    const downAt = srv.log.length;
    phase = 'during';
    const down = await run(CLUSTER, ['down', pg.dir]);
    assert.equal(down.code, 0, show(down));
    let isUp = false;
    const bringUp = async () => {
      if (isUp) return;
      isUp = true;
      const up = await run(CLUSTER, ['up', pg.dir]);
      assert.equal(up.code, 0, show(up));
    };
    // The device writes and pings at its pace for OUTAGE_MS; an account change and a login
    // whose token is not in memory are tried meanwhile.
    const outage = async () => {
      const outageStart = Date.now();
      let i = 0;
      let refused = null;
      let loginChecked = false;
      while (Date.now() - outageStart < OUTAGE_MS) {
        await write(`during-${i++}`);
        if (!refused && Date.now() - outageStart > 1000) {
          refused = await request(srv, 'POST', '/api/v1/users', { auth: bearer(srv), body: { email: 'late@pg.test' } });
        }
        if (!loginChecked && Date.now() - outageStart > 2000) {
          // A token not in memory cannot be looked up now: SERVER_ERROR (the libraries retry).
          const c = cleanup.add(await srv.connect());
          c.send(Cmd.HARDWARE_LOGIN, 1, [`${'C'.repeat(32)}`]);
          const f = await c.expectFrame(5000).catch((e) => assert.fail(`${e.message}\n--- log ---\n${srv.log}`));
          assert.ok(f.cmd === 0 && f.msgId === 1 && f.status === Status.SERVER_ERROR,
            `a login storage cannot look up: ${describeFrame(f)}`);
          c.close();
          loginChecked = true;
        }
        await sleepTick(50);  // a device's pace, not a wait for anything
      }
      assert.ok(i >= 20, `the device kept writing through the outage (${i} writes)`);
      assert.ok(refused, 'an account change was tried during the outage');
      assert.equal(refused.status, 500, `a user created while the database is down: HTTP ${refused.status} ${refused.text}`);
      assert.match(refused.json?.error ?? '', /database is unreachable/, refused.text);
      assert.ok(loginChecked);
      const lastValue = `during-${i - 1}`;
      const during = await get(srv, `/${token}/get/V1`);
      assert.equal(during.status, 200, during.text);
      assert.equal(JSON.parse(during.text)[0], lastValue, 'the server serves the newest value from memory');
      await srv.waitForLog(/(lost the connection to|cannot reach) the database[^\n]*postgresql:\/\/postgres@127\.0\.0\.1/, 5000, downAt);
      return lastValue;
    };
    let last;
    try {
      last = await outage();
    } finally {
      await bringUp();  // whatever happened: the next test needs the cluster
    }
    await srv.waitForLog(/the database is back after \d+ s/, 15000, downAt);
    await waitFor(async () => (await psql(url, "SELECT convert_from(value, 'UTF8') FROM pins WHERE pin = 1")) === last,
      10000, `the newest value (${last}) written to the database after the outage`);
    phase = 'after';
    for (let i = 0; i < 5; i++) await write('after');

    // History: the minute, hour and day buckets of V2 count and sum exactly the points written
    // before, during and after the outage (each number once: a lost or a doubled point shows).
    const written = [...numbers.before, ...numbers.during, ...numbers.after];
    await waitFor(async () => (await minutes()) === expected(written), 10000,
      `V2's ${written.length} history points (${numbers.during.length} written during the outage) in the database`)
      .catch(async (e) => assert.fail(`${e.message}: minute buckets hold ${await minutes()}\n--- log ---\n${srv.log}`));
    const buckets = await psql(url,
      'SELECT granularity || \'|\' || sum(count) || \'|\' || sum(sum) FROM history WHERE pin = 2 GROUP BY granularity ORDER BY granularity');
    assert.equal(buckets, [1, 2, 3].map((g) => `${g}|${expected(written)}`).join('\n'),
      'minute, hour and day buckets of V2 (granularity|points|sum of values)');
    // Said once: the outage (and the return) in one line each, however many calls failed
    // meanwhile; nothing was dropped (the backlog stayed far below [history] max_points).
    const outageLog = srv.log.slice(downAt);
    const lines = (re) => outageLog.split('\n').filter((l) => re.test(l));
    assert.equal(lines(/(lost the connection to|cannot reach) the database/).length, 1, outageLog);
    assert.equal(lines(/the database is back after/).length, 1, outageLog);
    assert.ok(lines(/history: \d+ points not stored yet: .*database is unreachable.*kept in memory/).length >= 1,
      `the history write-behind said it keeps the points:\n${outageLog}`);
    assert.equal(lines(/history: storage works again; writing the \d+ points kept in memory/).length, 1, outageLog);
    assert.doesNotMatch(outageLog, /dropping the oldest/);

    const sorted = [...pings].sort((a, b) => a - b);
    const max = sorted[sorted.length - 1];
    assert.ok(max < MAX_PING_MS, `ping round trips during the outage: median ${sorted[sorted.length >> 1].toFixed(1)} ms, max ${max.toFixed(1)} ms`);
    assert.equal(srv.running, true, 'the server kept running');
    assert.doesNotMatch(srv.log, /was removed from storage/);
    // Account changes work again, and are in the database.
    const ok = await request(srv, 'POST', '/api/v1/users', { auth: bearer(srv), body: { email: 'after@pg.test' } });
    assert.equal(ok.status, 201, `HTTP ${ok.status} ${ok.text}`);
    assert.equal(await psql(url, "SELECT count(*) FROM users WHERE email IN ('after@pg.test', 'late@pg.test')"), '1');
    await srv.stop();
  });

  it('two servers starting at once on one database at schema version 1 migrate it once', async (t) => {
    if (!needPostgres(t)) return;
    const url = await database('twostarts');
    await psqlFile(url, SCHEMA_V1);
    const a = cleanup.add(Server.create(serverOpts('pg-two-a', url)));
    const b = cleanup.add(Server.create(serverOpts('pg-two-b', url)));
    await Promise.all([a.launch(), b.launch()]);
    const logs = a.log + b.log;
    // One of them created the administrator account; the other found it made meanwhile or
    // already there, and started all the same.
    assert.equal((logs.match(/administrator account \S+ created;/g) || []).length, 1, logs);
    const migrated = logs.match(/migrated the schema in \S+ from version 1 to 2/g) || [];
    assert.equal(migrated.length, 1, `exactly one server migrates:\n${logs}`);
    assert.equal((logs.match(/opened the database \S+ \(schema version 2\)/g) || []).length, 1, logs);
    assert.equal(await psql(url, 'SELECT version FROM schema_version'), '2');
    assert.equal(await psql(url, 'SELECT count(*) FROM schema_version'), '1');
    // Both serve from it: a device made through one logs in on the other.
    const token = await a.addDevice('two@pg.test', 'esp');
    const c = cleanup.add(await b.login(token));
    await c.ping(2);
    await Promise.all([a.stop(), b.stop()]);
  });

  it('storage copy: SQLite -> PostgreSQL -> SQLite gives identical tables; a non-empty target is refused', async (t) => {
    if (!needPostgres(t)) return;
    const SQLITE3 = '/usr/bin/sqlite3';
    // The source: accounts and devices through the CLI, pin values and a property from a server.
    const src = cleanup.add(await Server.start({
      name: 'copy-src',
      config: { plugins: { enabled: ['storage-sqlite', 'http-api'] }, storage: { pin_flush_interval_ms: FLUSH_MS } },
    }));
    const tokA = await src.addDevice('ann@copy.test', 'esp-a');
    const tokB = await src.addDevice('bob@copy.test', 'esp-b');
    for (const [tok, pin, v] of [[tokA, 1, '21.5'], [tokA, 2, 'on'], [tokB, 7, 'x y']]) {
      const r = await get(src, `/${tok}/update/V${pin}?value=${encodeURIComponent(v)}`);
      assert.equal(r.status, 200, r.text);
    }
    const prop = await get(src, `/${tokA}/update/V1?label=Temp`);
    assert.ok(prop.status === 200 || prop.status === 400, prop.text);  // a property where the API has one
    await src.stop();  // the stop stores every pin value

    const url = await database('copied');
    const pgCfg = Server.create(serverOpts('copy-pg', url));
    cleanup.add(pgCfg);
    const back = Server.create({ name: 'copy-back', config: { plugins: { enabled: ['storage-sqlite'] } } });
    cleanup.add(back);

    let r = await src.cli(['storage', 'copy', '--to', pgCfg.configPath], CMD_TIMEOUT_MS);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^copied 3 users, 2 dashboards, 2 devices, 4 pin values and (no|\d+) history rows from storage-sqlite \(.*\) to storage-postgres/m, r.stdout);
    assert.match(r.stderr, /copied 3 users/, 'plain lines where stderr is no terminal');
    assert.equal(await psql(url, 'SELECT count(*) FROM devices'), '2');
    assert.equal(await psql(url, "SELECT convert_from(value, 'UTF8') FROM pins WHERE pin = 7"), 'x y');

    r = await pgCfg.cli(['storage', 'copy', '--to', back.configPath], CMD_TIMEOUT_MS);
    assert.equal(r.code, 0, show(r));
    // Identical: every row of every table, byte for byte (blobs as hex).
    const dump = async (srv) => {
      const db = path.join(srv.dataDir, 'blynk.db');
      const out = [];
      for (const q of ['SELECT email, name, hex(pass_hash), is_admin, created_at_ms, json, energy FROM users ORDER BY 1',
        'SELECT * FROM dashboards ORDER BY 1, 2',
        'SELECT email, dash_id, device_id, name, token, board_type, created_at_ms, connect_time_ms, disconnect_time_ms, data_received_ms, last_ip, hex(hardware_info), json FROM devices ORDER BY 1, 2, 3',
        'SELECT email, dash_id, device_id, pin_type, pin, property, hex(value), updated_at_ms FROM pins ORDER BY 1, 2, 3, 4, 5, 6']) {
        const x = await run(SQLITE3, ['-readonly', db, q]);
        assert.equal(x.code, 0, show(x));
        out.push(x.stdout);
      }
      return out;
    };
    const [a, b] = [await dump(src), await dump(back)];
    assert.ok(a[3].split('\n').length >= 4, `pin values to compare:\n${a[3]}`);
    assert.deepEqual(b, a);

    // Again into the same target: refused, and nothing changed; --force copies over it.
    r = await src.cli(['storage', 'copy', '--to', pgCfg.configPath], CMD_TIMEOUT_MS);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /already holds 3 account\(s\); copy into an empty one, or give --force/);
    r = await src.cli(['storage', 'copy', '--to', pgCfg.configPath, '--force'], CMD_TIMEOUT_MS);
    assert.equal(r.code, 0, show(r));
    assert.equal(await psql(url, 'SELECT count(*) FROM users'), '3');
  });
});
