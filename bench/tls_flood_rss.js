#!/usr/bin/env node
// blynkd's memory under floods of TLS control records from clients that never read (the security
// review's finding 1; docs/security.md, "TLS after the handshake"). One command:
//
//   node bench/tls_flood_rss.js [--build-dir build-test] [--seconds 30] [--only SCENARIO]
//
// For each scenario it starts a fresh blynkd from the build folder (its bin/blynkd and
// bin/plugins; a temporary data folder, free ports, login_timeout 600 s so that no timeout ends
// the flood), then for --seconds floods it from one client at a time that never reads (the TLS
// handshake by Node, then records sealed with the keys of Node's keylog; when the server closes
// a connection the next one starts), before any login, and samples the server's RSS
// (/proc/PID/status, Linux) every 100 ms. Scenarios:
//   tls12-renegotiation  TLS 1.2 records of 16 KB, each 4,096 empty renegotiation ClientHellos
//   tls13-keyupdate      TLS 1.3 KeyUpdate(update_requested) records, 200 per write
// Prints per scenario: RSS before, max and at the end of the flood, RSS 2 s after the client
// left, the bytes sent, and how many connections the server closed.
// Needs only node (and a build); lib: tests/integration/lib/{harness,tls-raw}.js.
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : 'true']);
  return acc;
}, []));
const buildDir = path.resolve(args['build-dir'] || process.env.BLYNK_BUILD_DIR || path.join(here, '..', 'build-test'));
const seconds = Number(args.seconds || 30);
process.env.BLYNK_BUILD_DIR = buildDir;  // read by the harness when it loads
process.env.BLYNKD_BIN = path.join(buildDir, 'bin', 'blynkd');
process.env.BLYNKD_PLUGIN_DIR = path.join(buildDir, 'bin', 'plugins');
const { Server } = await import('../tests/integration/lib/harness.js');
const { rawTlsClient, floodRecords } = await import('../tests/integration/lib/tls-raw.js');

const rssKb = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const mb = (kb) => (kb / 1024).toFixed(1);
const pause = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

const hellos = Buffer.alloc(16384);
for (let i = 0; i < hellos.length; i += 4) hellos[i] = 1;  // ClientHello, length 0

const scenarios = {
  'tls12-renegotiation': { version: 'TLSv1.2', next: (c) => c.seal(22, hellos) },
  'tls13-keyupdate': {
    version: 'TLSv1.3',
    next: (c) => {
      const batch = [];
      for (let i = 0; i < 200; i++) batch.push(c.keyUpdate(true));
      return Buffer.concat(batch);
    },
  },
};

async function run(name, { version, next }) {
  const srv = await Server.start({ name: 'tls-flood-rss', config: { hardware: { login_timeout: 600 } } });
  try {
    const pid = srv.proc.pid;
    await pause(500);
    const before = rssKb(pid);
    let max = before;
    const sampler = setInterval(() => { max = Math.max(max, rssKb(pid)); }, 100);
    const end = Date.now() + seconds * 1000;
    let bytes = 0;
    let closes = 0;
    let connections = 0;
    let last = null;
    while (Date.now() < end) {
      const c = await rawTlsClient({ port: srv.tlsPort, version, ca: srv.cert() });
      connections += 1;
      last = c;
      c.stopReading();
      const r = await floodRecords(c.raw, () => next(c), end - Date.now());
      bytes += r.bytes;
      if (!r.closedBySocket) break;
      closes += 1;
    }
    const atEnd = rssKb(pid);
    clearInterval(sampler);
    max = Math.max(max, atEnd);
    if (last) last.raw.destroy();
    await pause(2000);
    const after = rssKb(pid);
    const closedLines = (srv.log.match(/TLS: [^\n]*closing/g) || []);
    console.log(`${name} (${path.relative(process.cwd(), buildDir) || '.'}, ${seconds} s): RSS before ${mb(before)} MB, `
      + `max ${mb(max)} MB, at the end ${mb(atEnd)} MB, 2 s after the client left ${mb(after)} MB; `
      + `${(bytes / 1e6).toFixed(1)} MB written over ${connections} connection(s), ${closes} closed by the server`
      + (closedLines.length ? `; first log line: ${closedLines[0]}` : '; no TLS log line'));
  } finally {
    await srv.dispose();
  }
}

if (process.platform !== 'linux') {
  console.error('tls_flood_rss: reads /proc/PID/status (Linux only)');
  process.exit(2);
}
for (const [name, s] of Object.entries(scenarios)) {
  if (!args.only || args.only === name) await run(name, s);
}
