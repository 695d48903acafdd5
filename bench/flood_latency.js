#!/usr/bin/env node
// One user's flood against another user's latency (issue 5, part 4).
//
// Starts blynkd (build/bin/blynkd, temp data folder, free ports) with
// [hardware] message_quota = --quota, and measures user B's round trip: device
// B1 sends a bridged write to device B2 (BRIDGE 64 -> vw 5 <seq>), timed until
// B2 receives it, one at a time at --rate per second. First --seconds of quiet,
// then the same while user A floods from --devices connections as fast as the
// sockets take it (a separate process, so the flood does not share B's event
// loop). Prints B's p50/p99 in both phases and the ratios (target <= 2x).
//
//   node bench/flood_latency.js [--devices 4] [--seconds 10] [--rate 50] [--quota 100]
//
// FLOOD_DEBUG=1 prints progress and the server's close/warn lines on stderr.
// Uses the built binary and plugins (BLYNKD_BIN / BLYNKD_PLUGIN_DIR / BLYNK_BUILD_DIR as the
// integration tests); needs only node.
import { fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { Server, Cmd, Status, frame } from '../tests/integration/lib/harness.js';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : 'true']);
  return acc;
}, []));
const num = (k, d) => (args[k] === undefined ? d : Number(args[k]));

// ---------------------------------------------------------------------------------------------
// Flooder role: log in every token, then write HARDWARE frames as fast as the sockets drain.
if (args.role === 'flooder') {
  const port = num('port', 0);
  const tokens = args.tokens.split(',');
  const stats = { offered: 0, quotaLimit: 0, closed: 0 };
  let running = true;
  const batch = [];
  for (let i = 0; i < 1000; i++) batch.push(frame(Cmd.HARDWARE, 1 + i, ['vw', 1, `flood${i}`]));
  const chunk = Buffer.concat(batch);
  const one = (tok) => new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write(frame(Cmd.HARDWARE_LOGIN, 1, tok)));
    let buf = Buffer.alloc(0);
    let loggedIn = false;
    s.on('error', () => {});
    s.on('close', () => { stats.closed += 1; if (!loggedIn) reject(new Error('flooder closed before login')); });
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 5) {
        const cmd = buf.readUInt8(0);
        const len = buf.readUInt16BE(3);
        if (cmd === 0) {
          if (!loggedIn) {
            if (len !== Status.OK) return reject(new Error(`flooder login: status ${len}`));
            loggedIn = true;
            resolve(s);
          } else if (len === Status.QUOTA_LIMIT) stats.quotaLimit += 1;
          buf = buf.subarray(5);
        } else {
          if (buf.length < 5 + len) break;
          buf = buf.subarray(5 + len);
        }
      }
    });
  });
  process.on('disconnect', () => process.exit(0));  // the measuring process is gone
  const socks = await Promise.all(tokens.map(one));
  process.send({ ready: true });
  const t0 = performance.now();
  process.on('message', (m) => {
    if (!m.stop) return;
    // Stop at once: a paused reader may leave the pumps waiting for 'drain' for long.
    running = false;
    const seconds = (performance.now() - t0) / 1000;
    if (process.env.FLOOD_DEBUG) console.error('flooder', JSON.stringify(stats), seconds);
    process.send({ stats: { ...stats, seconds } }, () => {
      for (const s of socks) s.destroy();
      process.exit(0);
    });
  });
  const pump = async (s) => {
    while (running && !s.destroyed) {
      // counted once the kernel took it (write() true) or after 'drain'
      if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
      else await new Promise((r) => setImmediate(r));
      stats.offered += 1000;
    }
  };
  socks.forEach(pump);
  await new Promise(() => {});  // until told to stop
}

// ---------------------------------------------------------------------------------------------
const DEVICES = num('devices', 4);
const SECONDS = num('seconds', 10);
const RATE = num('rate', 50);
const QUOTA = num('quota', 100);

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const srv = await Server.start({
  name: 'flood-latency',
  config: { hardware: { message_quota: QUOTA } },
});
try {
  const aTokens = [];
  for (let i = 0; i < DEVICES; i++) aTokens.push(await srv.addDevice('flooder@example.com', `a${i}`));
  const b1Tok = await srv.addDevice('quiet@example.com', 'b1');
  const b2Tok = await srv.addDevice('quiet@example.com', 'b2');
  const b1 = await srv.login(b1Tok);
  const b2 = await srv.login(b2Tok);
  b1.send(Cmd.BRIDGE, 2, [64, 'i', b2Tok]);
  await b1.expectResponse(2, Status.OK);

  let seq = 0;
  let lost = 0;
  // B's closed loop: one bridged write at a time, paced at RATE per second.
  const measure = async (seconds) => {
    const out = [];
    const end = performance.now() + seconds * 1000;
    const gap = 1000 / RATE;
    let next = performance.now();
    while (performance.now() < end) {
      const id = 100 + (seq++ % 60000);
      const value = `b${seq}`;
      const t0 = performance.now();
      b1.send(Cmd.BRIDGE, id, [64, 'vw', 5, value]);
      for (;;) {
        let f;
        try {
          f = await b2.expectFrame(5000);
        } catch {
          lost += 1;
          break;
        }
        if (f.cmd === Cmd.BRIDGE && f.fields[2] === value) {
          out.push(performance.now() - t0);
          break;
        }
      }
      next += gap;
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      else next = performance.now();
    }
    return out;
  };

  await measure(1);  // warm-up
  const quiet = await measure(SECONDS);

  const child = fork(fileURLToPath(import.meta.url),
    ['--role', 'flooder', '--port', String(srv.hwPort), '--tokens', aTokens.join(',')], { stdio: 'inherit' });
  const fromChild = (key) => new Promise((resolve, reject) => {
    const onMsg = (m) => { if (m[key]) { child.off('message', onMsg); resolve(m[key]); } };
    child.on('message', onMsg);
    child.once('exit', (code) => reject(new Error(`flooder exited ${code} before ${key}`)));
  });
  await fromChild('ready');
  if (process.env.FLOOD_DEBUG) console.error('flood started');
  await measure(0.5);  // let the flood reach its steady state
  const flooded = await measure(SECONDS);
  if (process.env.FLOOD_DEBUG) console.error('flood measured', flooded.length);
  const statsP = fromChild('stats');
  child.send({ stop: true });
  const stats = await statsP;
  b1.close();
  b2.close();

  const q50 = pct(quiet, 50); const q99 = pct(quiet, 99);
  const f50 = pct(flooded, 50); const f99 = pct(flooded, 99);
  const fmt = (x) => x.toFixed(3).padStart(8);
  console.log(`flood_latency: message_quota ${QUOTA}/s per connection; user B: bridged writes at ${RATE}/s, ${SECONDS} s per phase`);
  console.log(`user A: ${DEVICES} connections pushed ${Math.round(stats.offered / stats.seconds)} msgs/s into their sockets in total (${(stats.offered / stats.seconds / DEVICES / QUOTA).toFixed(0)}x the quota each); QUOTA_LIMIT answers ${stats.quotaLimit}; A connections closed by the server: ${stats.closed}`);
  console.log(`phase    samples   p50 ms   p99 ms`);
  console.log(`quiet    ${String(quiet.length).padStart(7)} ${fmt(q50)} ${fmt(q99)}`);
  console.log(`flood    ${String(flooded.length).padStart(7)} ${fmt(f50)} ${fmt(f99)}`);
  console.log(`ratio flood/quiet: p50 ${(f50 / q50).toFixed(2)}x, p99 ${(f99 / q99).toFixed(2)}x (target <= 2x); B writes lost: ${lost}`);
  console.log(`RESULT quiet_p50_ms=${q50.toFixed(3)} quiet_p99_ms=${q99.toFixed(3)} flood_p50_ms=${f50.toFixed(3)} flood_p99_ms=${f99.toFixed(3)} ratio_p50=${(f50 / q50).toFixed(2)} ratio_p99=${(f99 / q99).toFixed(2)} lost=${lost} offered_msgs_s=${Math.round(stats.offered / stats.seconds)}`);
  if (process.env.FLOOD_DEBUG) console.error(srv.log.split('\n').filter((l) => /clos|warn/i.test(l)).slice(0, 20).join('\n'));
  await srv.stop();
  process.exitCode = lost ? 1 : 0;
} finally {
  await srv.dispose();
}
