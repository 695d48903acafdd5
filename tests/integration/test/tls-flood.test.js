// Floods of TLS control records, before any login, from a client that never reads
// (docs/security.md, "TLS after the handshake"): the kernel's record layer answers at most one
// renegotiation (TLS 1.2) and a few KeyUpdates (TLS 1.3), then closes the connection with a
// fatal alert and a log line naming the peer; the server's memory stays flat meanwhile. A
// logged-in device that floods pings and never reads is held back by TCP (the server stops
// reading while its answers wait for the socket), not answered into memory. Also: after a fatal
// alert the server sends nothing more (no close_notify). The client does its
// handshake with Node's TLS stack and then writes its own records (lib/tls-raw.js).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Server, Cmd, Status, Cleanup, RawClient, frame, withTimeout } from '../lib/harness.js';
import { rawTlsClient, floodRecords } from '../lib/tls-raw.js';

const cleanup = new Cleanup();
let srv;
let token;

before(async () => {
  srv = cleanup.add(await Server.start({ name: 'tls-flood' }));
  token = await srv.addDevice('owner@example.com', 'device');
});
after(() => cleanup.run());

const FLOOD_MS = 10000;             // how long a flood may go on before the test gives up
const MAX_GROWTH_KB = 32 * 1024;   // the server's RSS may grow by less than this meanwhile
const linux = process.platform === 'linux';

function rssKb(server = srv) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.proc.pid}/status`, 'utf8'));
  return Number(m[1]);
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Floods the server with next() from `client` (which has stopped reading) for at most
 * FLOOD_MS, sampling the server's RSS (a sample every 50 ms, not a synchronisation): resolves
 * with { closedBySocket, bytes, growthKb }.
 */
async function floodAndMeasure(client, next, ms = FLOOD_MS) {
  const base = rssKb();
  let max = base;
  const sampler = setInterval(() => { max = Math.max(max, rssKb()); }, 50);
  try {
    const r = await floodRecords(client.raw, next, ms);
    max = Math.max(max, rssKb());
    return { ...r, growthKb: max - base };
  } finally {
    clearInterval(sampler);
  }
}

/** Another device still gets its pings answered. */
async function serverGoesOn() {
  const other = cleanup.add(await srv.login(token, { tls: true }));
  other.send(Cmd.PING, 7);
  await other.expectResponse(7, Status.OK);
  other.end();
}

/**
 * A client of `version` that never reads floods the server with records(client) until the
 * server closes it: the close is logged as `TLS: <why>` with the client's address, the server's
 * RSS stays flat, and another device goes on.
 */
async function floodIsClosed(version, records, why) {
  const c = await rawTlsClient({ port: srv.tlsPort, version, ca: srv.cert() });
  const local = `127.0.0.1:${c.raw.localPort}`;
  const from = srv.log.length;
  c.stopReading();
  const r = await floodAndMeasure(c, () => records(c));
  assert.ok(r.closedBySocket, `the connection was still open after ${FLOOD_MS} ms and ${r.bytes} bytes`);
  await srv.waitForLog(new RegExp(`${escape(local)}: TLS: ${escape(why)}`), 5000, from);
  assert.ok(r.growthKb < MAX_GROWTH_KB, `the server's RSS grew by ${r.growthKb} kB`);
  await serverGoesOn();
}

describe('TLS control-record floods from a client that never reads', { skip: linux ? false : 'reads /proc' }, () => {
  it('TLS 1.2: records full of empty renegotiation ClientHellos: one warning, then a fatal '
    + 'no_renegotiation and the connection closed with a log line; RSS stays flat', async () => {
    const hellos = Buffer.alloc(16384);
    for (let i = 0; i < hellos.length; i += 4) hellos[i] = 1;  // ClientHello, length 0
    await floodIsClosed('TLSv1.2', (c) => c.seal(22, hellos), 'no_renegotiation: a second renegotiation');
  });

  it('TLS 1.3: a flood of KeyUpdate(update_requested): the connection is closed after 32 '
    + '(unexpected_message) with a log line; RSS stays flat', async () => {
    await floodIsClosed('TLSv1.3', (c) => {
      const batch = [];
      for (let i = 0; i < 200; i++) batch.push(c.keyUpdate(true));
      return Buffer.concat(batch);
    }, 'unexpected_message: too many KeyUpdates in a row');
  });

  it('TLS 1.3: a logged-in device that floods pings and never reads is held back by TCP: not '
    + 'closed, nothing piles up (the server stops reading while its answers wait)', async () => {
    const quotaOff = cleanup.add(await Server.start({ name: 'tls-flood-backpressure',
      config: { hardware: { message_quota: 0 } } }));
    const tok = await quotaOff.addDevice('owner@example.com', 'device');
    const c = await rawTlsClient({ port: quotaOff.tlsPort, version: 'TLSv1.3', ca: quotaOff.cert() });
    await new RawClient(c.tlsSocket).login(tok);
    c.resync();
    c.stopReading();
    const pings = Buffer.concat(Array.from({ length: 3000 }, (_, i) => frame(Cmd.PING, 1 + i, null)));
    const base = rssKb(quotaOff);
    // 3 s of pings (15 KB a record) as fast as the socket takes them: without back-pressure
    // the server would read them all and queue their answers until the 1 MiB limit closed it
    const r = await floodRecords(c.raw, () => c.seal(23, pings), 3000);
    const rss = rssKb(quotaOff);
    assert.ok(!r.closedBySocket, `the server closed the connection after ${r.bytes} bytes`);
    assert.doesNotMatch(quotaOff.log, /does not read|TLS: /, 'no close for pending output, no TLS error');
    assert.ok(rss - base < MAX_GROWTH_KB, `the server's RSS grew by ${rss - base} kB`);
    c.raw.destroy();
  });

  it('TLS 1.2: an empty alert record is unexpected_message, and the fatal alert is the last '
    + 'record the server sends (no close_notify after it)', async () => {
    const c = await rawTlsClient({ port: srv.tlsPort, version: 'TLSv1.2', ca: srv.cert() });
    const local = `127.0.0.1:${c.raw.localPort}`;
    const from = srv.log.length;
    c.raw.write(c.seal(21, Buffer.alloc(0)));
    await withTimeout(c.closed, 5000, 'the server closing the connection');
    await srv.waitForLog(new RegExp(`${escape(local)}: TLS: unexpected_message: an empty alert record`), 5000, from);
    const records = c.serverRecords().map(({ type, data }) => [type, [...data]]);
    assert.deepEqual(records, [[21, [2, 10]]], 'one fatal unexpected_message alert, nothing after it');
    await serverGoesOn();
  });
});
