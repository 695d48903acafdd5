// History (issue 13): values a real device writes arrive as averages in the app's charts
// (GET_ENHANCED_GRAPH_DATA, protocol.md §10.7; HistoryGraphTest of the legacy server) and in the CSV
// export (GET /TOKEN/data/V1, http-api.md #11); DELETE_ENHANCED_GRAPH_DATA and DELETE_DEVICE_DATA
// delete it; an app's writes are not history; pins = "all" keeps pins no chart shows, "charted"
// does not; a restart in the middle of a bucket keeps adding to it. One server for the file (one
// restart, to switch to pins = "charted").
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { inflateSync, gunzipSync } from 'node:zlib';
import { Server, Cleanup, Cmd, renderToml } from '../lib/harness.js';
import { AppCmd, AppStatus } from '../lib/app_client.js';
import { newAccount, session, dashWithDevice, activate } from '../lib/app_setup.js';

const cleanup = new Cleanup();
let srv;
let app;
let dev;     // device JSON (with token)
let hw;      // the device: a raw hardware connection
let account; // {email, password}

const FLUSH_MS = 50;
const config = {
  storage: { pin_flush_interval_ms: FLUSH_MS },
  history: { raw_data: true },
  plugins: { enabled: ['storage-sqlite', 'http-api'] },
};

/** A SuperChart (ENHANCED_GRAPH) whose data streams read these virtual pins of device 0. */
function chart(id, pins) {
  return {
    type: 'ENHANCED_GRAPH', id, x: 0, y: id, width: 8, height: 4,
    dataStreams: pins.map((pin) => ({
      title: `V${pin}`, targetId: 0, functionType: 'AVG', pin: { pin, pinType: 'VIRTUAL' },
    })),
  };
}

/** The streams of a GET_ENHANCED_GRAPH_DATA reply: [[{value, at}], ...] (§10.7). */
function decodeGraph(body) {
  const b = inflateSync(body);
  let off = 0;
  const dashId = b.readInt32BE(off); off += 4;
  const streams = [];
  while (off < b.length) {
    const n = b.readInt32BE(off); off += 4;
    const points = [];
    for (let i = 0; i < n; i++) {
      points.push({ value: b.readDoubleBE(off), at: Number(b.readBigInt64BE(off + 8)) });
      off += 16;
    }
    streams.push(points);
  }
  return { dashId, streams };
}

/** GET_ENHANCED_GRAPH_DATA: the decoded streams, or the RESPONSE status (NO_DATA, ...). */
async function graph(widgetId, period, page) {
  const fields = ['1', String(widgetId), period];
  if (page !== undefined) fields.push(String(page));
  const f = await app.request(AppCmd.GET_ENHANCED_GRAPH_DATA, fields);
  if (f.cmd === AppCmd.RESPONSE) return { status: f.status };
  assert.equal(f.cmd, AppCmd.GET_ENHANCED_GRAPH_DATA);
  return decodeGraph(f.body);
}

/**
 * Asks until `ok(reply)` holds: history reaches storage at the next flush (every FLUSH_MS), so the
 * first asks may come too early. Bounded: 5 s, one ask per flush interval.
 */
async function graphUntil(widgetId, period, ok, what) {
  const deadline = Date.now() + 5000;
  let last;
  while (Date.now() < deadline) {
    last = await graph(widgetId, period);
    if (ok(last)) return last;
    // Paced at the flush interval (the app's message quota is 100/s); bounded above.
    await new Promise((r) => setTimeout(r, FLUSH_MS));
  }
  assert.fail(`${what}: last reply ${JSON.stringify(last)}`);
}

/** Device writes: `vw pin value` each, then a PING so the server has handled them. */
async function write(pin, ...values) {
  for (const v of values) hw.send(Cmd.HARDWARE, hw.id(), ['vw', String(pin), String(v)]);
  await hw.ping(hw.id());
}

/**
 * Waits (at most `guardMs`) when the current `periodMs` bucket ends within `guardMs`, so that
 * writes made now fall into one bucket. Not a synchronisation with the server: the wall clock
 * decides which bucket a value belongs to.
 */
async function awayFromBucketEnd(periodMs, guardMs) {
  const left = periodMs - (Date.now() % periodMs);
  if (left < guardMs) await new Promise((r) => setTimeout(r, left + 20));
}

before(async () => {
  srv = cleanup.add(await Server.start({ name: 'history', config }));
  account = await newAccount(srv, cleanup);
  app = account.app;
  dev = await dashWithDevice(app, { dashId: 1, deviceId: 0, widgets: [chart(432, [1, 2, 3])] });
  hw = cleanup.add(await srv.login(dev.token));
  await activate(app, 1);
});
after(() => cleanup.run());

describe('history: charts and CSV from a real device', () => {
  let start;
  let end;

  it('a device writes V1 = 10, 20, 30 in one minute: ONE_HOUR gives one point, 20, at the minute\'s start; V2 has none', async () => {
    await awayFromBucketEnd(60000, 3000);
    start = Date.now();
    await write(1, 10, 20, 30);
    end = Date.now();
    const g = await graphUntil(432, 'ONE_HOUR', (r) => r.streams && r.streams[0].length === 1, 'the minute of V1');
    assert.equal(g.dashId, 1);
    assert.equal(g.streams.length, 3, 'one stream per data stream of the chart');
    assert.equal(g.streams[0][0].value, 20);
    assert.equal(g.streams[0][0].at % 60000, 0, 'a bucket is timed at its start');
    assert.ok(g.streams[0][0].at >= start - 60000 && g.streams[0][0].at <= end, `minute ${g.streams[0][0].at}`);
    assert.deepEqual([g.streams[1].length, g.streams[2].length], [0, 0]);
  });

  it('WEEK (hours) and N_WEEK (days) average the same values; LIVE gives the raw values with their times', async () => {
    const week = await graph(432, 'WEEK');
    assert.equal(week.streams[0].length, 1);
    assert.equal(week.streams[0][0].value, 20);
    assert.equal(week.streams[0][0].at % 3600000, 0);
    const days = await graph(432, 'N_WEEK');
    assert.equal(days.streams[0][0].value, 20);
    assert.equal(days.streams[0][0].at % 86400000, 0);
    const live = await graph(432, 'LIVE');
    assert.deepEqual(live.streams[0].map((p) => p.value), [10, 20, 30]);
    // Values of one millisecond each keep a row, a later one a millisecond on (storage-sqlite's
    // rule): the three may end up to 2 ms after the write's end on a fast machine.
    for (const p of live.streams[0]) assert.ok(p.at >= start && p.at <= end + 2, `raw time ${p.at} (writes from ${start} to ${end})`);
  });

  it('page 1 of ONE_HOUR (60 points back) is NO_DATA; an unknown period or widget is ILLEGAL_COMMAND', async () => {
    assert.deepEqual(await graph(432, 'ONE_HOUR', 1), { status: AppStatus.NO_DATA });
    assert.deepEqual(await graph(432, 'FORTNIGHT'), { status: AppStatus.ILLEGAL_COMMAND });
    assert.deepEqual(await graph(999, 'ONE_HOUR'), { status: AppStatus.ILLEGAL_COMMAND });
  });

  it('an app\'s write to V1 is not history (legacy §7): the minute stays 20', async () => {
    app.send(AppCmd.HARDWARE, ['1-0', 'vw', '1', '1000']);
    const f = await hw.expectFrame(3000);  // the device hears it: the server has handled it...
    assert.deepEqual([f.cmd, f.body.toString()], [Cmd.HARDWARE, 'vw\u00001\u00001000']);
    await write(2, 5);  // ...and a device write after it reaches history
    await graphUntil(432, 'ONE_HOUR', (r) => r.streams && r.streams[1].length === 1, 'V2');
    const g = await graph(432, 'ONE_HOUR');
    assert.equal(g.streams[0].length, 1);
    assert.equal(g.streams[0][0].value, 20);
  });

  it('GET /TOKEN/data/V1 answers the minutes as gzip CSV lines `value,timestampMs,deviceId`', async () => {
    const res = await fetch(`http://127.0.0.1:${srv.hwPort}/${dev.token}/data/V1`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /gzip/);
    const text = gunzipSync(Buffer.from(await res.arrayBuffer())).toString('ascii');
    const lines = text.trim().split('\n');
    assert.equal(lines.length, 1, text);
    const [value, at, deviceId] = lines[0].split(',');
    assert.equal(value, '20.0');
    assert.equal(Number(at) % 60000, 0);
    assert.equal(deviceId, '0');
    const bad = await fetch(`http://127.0.0.1:${srv.hwPort}/${dev.token}/data/X1`);
    assert.equal(bad.status, 400);
    assert.equal(await bad.text(), 'Wrong pin format.');
    const none = await fetch(`http://127.0.0.1:${srv.hwPort}/${dev.token}/data/V9`);
    assert.equal(none.status, 400);
    assert.equal(await none.text(), 'No data.');
  });

  it('DELETE_ENHANCED_GRAPH_DATA deletes the chart\'s history: then NO_DATA', async () => {
    await app.expectStatus(AppCmd.DELETE_ENHANCED_GRAPH_DATA, ['1', '432'], AppStatus.OK);
    assert.deepEqual(await graph(432, 'ONE_HOUR'), { status: AppStatus.NO_DATA });
  });

  it('DELETE_DEVICE_DATA `1-0` deletes the device\'s history: then NO_DATA', async () => {
    await write(1, 7);
    await graphUntil(432, 'ONE_HOUR', (r) => r.streams && r.streams[0].length === 1, 'V1 again');
    await app.expectStatus(AppCmd.DELETE_DEVICE_DATA, ['1-0'], AppStatus.OK);
    assert.deepEqual(await graph(432, 'ONE_HOUR'), { status: AppStatus.NO_DATA });
    await app.expectStatus(AppCmd.DELETE_DEVICE_DATA, ['x-0'], AppStatus.ILLEGAL_COMMAND);
  });

  it('pins = "all" keeps V7 that no chart shows; after a restart with pins = "charted", V8 (no chart) is not kept while V3 (charted) adds to its hour across the restart', async () => {
    await awayFromBucketEnd(3600000, 20000);
    await write(7, 70);
    await write(3, 10);
    await graphUntil(432, 'WEEK', (r) => r.streams && r.streams[2].length === 1, 'V3 before the restart');
    writeFileSync(srv.configPath, `${renderToml({ ...srv.config, history: { raw_data: true, pins: 'charted' } })}\n`);
    await srv.restart();
    hw = cleanup.add(await srv.login(dev.token));
    await write(8, 80);
    await write(3, 30);
    app = await session(srv, cleanup, account.email, account.password);  // the old one closed with the server
    await app.createWidget(1, chart(433, [7, 8]));
    const g = await graphUntil(432, 'WEEK', (r) => r.streams && r.streams[2].length === 1 && r.streams[2][0].value === 20,
      'V3 averaged over both sides of the restart');
    assert.equal(g.streams[2][0].value, 20);
    const other = await graph(433, 'WEEK');
    assert.equal(other.streams[0].length, 1, 'V7, written under pins = "all"');
    assert.equal(other.streams[0][0].value, 70);
    assert.equal(other.streams[1].length, 0, 'V8, written under pins = "charted" with no chart');
  });
});

