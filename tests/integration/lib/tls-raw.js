// A TLS client that does its handshake with Node's TLS stack and then writes its own records:
// the keys come from Node's `keylog` event (TLS 1.3: CLIENT_TRAFFIC_SECRET_0; TLS 1.2:
// CLIENT_RANDOM and the master secret, with the server random read from the ServerHello), so a
// test can send what no well-behaved client would (floods of KeyUpdates or renegotiation
// ClientHellos) and can stop reading altogether. One suite each: TLS_AES_128_GCM_SHA256 and
// ECDHE-RSA-AES128-GCM-SHA256 (RFC 8446 §5 and §7, RFC 5246 §6, RFC 5288).
import crypto from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { Duplex } from 'node:stream';
import { withTimeout } from './harness.js';

const TLS13_SUITE = 'TLS_AES_128_GCM_SHA256';
const TLS12_SUITE = 'ECDHE-RSA-AES128-GCM-SHA256';

function hmac(key, ...data) {
  const h = crypto.createHmac('sha256', key);
  for (const d of data) h.update(d);
  return h.digest();
}

/** HKDF-Expand-Label(secret, label, "", len) with SHA-256, len <= 32 (RFC 8446 §7.1). */
function expandLabel(secret, label, len) {
  const full = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.concat([Buffer.from([len >> 8, len & 0xff, full.length]), full, Buffer.from([0, 1])]);
  return hmac(secret, info).subarray(0, len);
}

/** The TLS 1.2 PRF with SHA-256 (RFC 5246 §5). */
function prf12(secret, label, seed, len) {
  const s = Buffer.concat([Buffer.from(label, 'latin1'), seed]);
  const out = [];
  let a = s;
  let have = 0;
  while (have < len) {
    a = hmac(secret, a);
    const block = hmac(secret, a, s);
    out.push(block);
    have += block.length;
  }
  return Buffer.concat(out).subarray(0, len);
}

/** Watches the records of one direction of a byte stream. */
class RecordWatch {
  constructor() {
    this.pending = Buffer.alloc(0);
    this.records = [];  // [type, length]
  }

  push(chunk) {
    this.pending = Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 5) {
      const len = this.pending.readUInt16BE(3);
      if (this.pending.length < 5 + len) break;
      this.records.push([this.pending[0], this.pending.subarray(5, 5 + len)]);
      this.pending = this.pending.subarray(5 + len);
    }
  }
}

/**
 * Connects to 127.0.0.1:`port`, does a `version` ('TLSv1.3' or 'TLSv1.2') handshake with Node's
 * TLS client (trusting `ca`), and returns once the client's Finished has gone out:
 *   { raw, version, seal(type, data, padding), keyUpdate(requested), resync(), stopReading(),
 *     serverRecords(), closed, tlsSocket }
 * where seal() returns a record under the client's write key (TLS 1.3: `type` is the inner
 * content type; a KeyUpdate sealed by keyUpdate() switches the key after it), raw is the TCP
 * socket to write them to, resync() catches up with records the TLS socket `tlsSocket` wrote
 * itself (a login), stopReading() stops reading the socket for good (what the server sends stays
 * in the kernel's buffers), and `closed` resolves once the socket is closed (by either side).
 */
export async function rawTlsClient({ port, version, ca, timeoutMs = 5000 }) {
  const raw = net.connect(port, '127.0.0.1');
  raw.setNoDelay(true);
  await withTimeout(new Promise((resolve, reject) => { raw.once('connect', resolve); raw.once('error', reject); }),
    timeoutMs, 'TCP connect');
  const closed = new Promise((resolve) => raw.once('close', resolve));
  raw.on('error', () => {});
  const up = new RecordWatch();
  const down = new RecordWatch();
  let reading = true;
  const duplex = new Duplex({
    read() {},
    write(chunk, _enc, cb) {
      up.push(chunk);
      if (raw.destroyed) cb();
      else raw.write(chunk, () => cb());
    },
  });
  raw.on('data', (d) => {
    if (!reading) return;
    down.push(d);
    duplex.push(d);
  });
  raw.on('end', () => duplex.push(null));

  const keylog = [];
  const s = tls.connect({
    socket: duplex, ca, servername: 'localhost', checkServerIdentity: () => undefined,
    minVersion: version, maxVersion: version, ciphers: version === 'TLSv1.3' ? TLS13_SUITE : TLS12_SUITE,
  });
  s.on('keylog', (line) => keylog.push(line.toString('latin1').trim()));
  await withTimeout(new Promise((resolve, reject) => { s.once('secureConnect', resolve); s.once('error', reject); }),
    timeoutMs, `${version} handshake`);
  s.on('error', () => {});
  if (s.getProtocol() !== version) throw new Error(`negotiated ${s.getProtocol()}, not ${version}`);

  // The client's Finished must be on its way before any record of ours: TLS 1.3, the first
  // record of outer type 23 (under the handshake key); TLS 1.2, the record after its
  // ChangeCipherSpec. The sequence number of our first record follows from it.
  const finishedSent = () => {
    const types = up.records.map((r) => r[0]);
    return version === 'TLSv1.3' ? types.includes(23) : types.indexOf(20) >= 0 && types.indexOf(20) < types.length - 1;
  };
  await withTimeout(new Promise((resolve) => {
    const check = () => (finishedSent() ? resolve() : setImmediate(check));
    check();
  }), timeoutMs, 'the client Finished');

  const field = (label) => {
    const line = keylog.find((l) => l.startsWith(`${label} `));
    if (!line) throw new Error(`no ${label} in the key log`);
    return line.split(' ');
  };
  let key;
  let iv;
  let seq;
  let secret;
  let serverKey;
  let serverIv;
  if (version === 'TLSv1.3') {
    secret = Buffer.from(field('CLIENT_TRAFFIC_SECRET_0')[2], 'hex');
    key = expandLabel(secret, 'key', 16);
    iv = expandLabel(secret, 'iv', 12);
    seq = up.records.filter((r) => r[0] === 23).length - 1;  // records after the Finished
  } else {
    const [, clientRandomHex, masterHex] = field('CLIENT_RANDOM');
    const hello = down.records.find((r) => r[0] === 22 && r[1][0] === 2);  // ServerHello
    if (!hello) throw new Error('no ServerHello seen');
    const serverRandom = hello[1].subarray(4 + 2, 4 + 2 + 32);
    const block = prf12(Buffer.from(masterHex, 'hex'), 'key expansion',
      Buffer.concat([serverRandom, Buffer.from(clientRandomHex, 'hex')]), 2 * 16 + 2 * 4);
    key = block.subarray(0, 16);
    iv = block.subarray(32, 36);
    serverKey = block.subarray(16, 32);
    serverIv = block.subarray(36, 40);
    seq = up.records.length - 1 - up.records.map((r) => r[0]).indexOf(20);  // Finished and after
  }

  const seqBytes = () => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(seq));
    return b;
  };
  const seal = (type, data, padding = 0) => {
    const body = Buffer.from(data);
    let record;
    if (version === 'TLSv1.3') {
      const inner = Buffer.concat([body, Buffer.from([type]), Buffer.alloc(padding)]);
      const header = Buffer.from([23, 3, 3, (inner.length + 16) >> 8, (inner.length + 16) & 0xff]);
      const nonce = Buffer.from(iv);
      const sb = seqBytes();
      for (let i = 0; i < 8; i++) nonce[4 + i] ^= sb[i];
      const c = crypto.createCipheriv('aes-128-gcm', key, nonce);
      c.setAAD(header);
      record = Buffer.concat([header, c.update(inner), c.final(), c.getAuthTag()]);
    } else {
      const explicit = seqBytes();
      const aad = Buffer.concat([explicit, Buffer.from([type, 3, 3, body.length >> 8, body.length & 0xff])]);
      const c = crypto.createCipheriv('aes-128-gcm', key, Buffer.concat([iv, explicit]));
      c.setAAD(aad);
      const len = 8 + body.length + 16;
      record = Buffer.concat([Buffer.from([type, 3, 3, len >> 8, len & 0xff]), explicit, c.update(body), c.final(),
        c.getAuthTag()]);
    }
    seq += 1;
    return record;
  };
  // TLS 1.3: a KeyUpdate record; our write key moves on after it (RFC 8446 §4.6.3, §7.2).
  const keyUpdate = (requested) => {
    const record = seal(22, Buffer.from([24, 0, 0, 1, requested ? 1 : 0]));
    secret = expandLabel(secret, 'traffic upd', 32);
    key = expandLabel(secret, 'key', 16);
    iv = expandLabel(secret, 'iv', 12);
    seq = 0;
    return record;
  };
  // After records written through the TLS socket itself (a login, say): our sequence number
  // follows from every record the client wrote (TLS 1.2 only after the ChangeCipherSpec).
  const resync = () => {
    const types = up.records.map((r) => r[0]);
    seq = version === 'TLSv1.3' ? types.filter((t) => t === 23).length - 1 : types.length - 1 - types.indexOf(20);
  };
  const stopReading = () => {
    reading = false;
    raw.pause();
  };
  // TLS 1.2: the server's records after its Finished, decrypted: [{ type, data }] (a record
  // that fails authentication throws).
  const serverRecords = () => {
    if (version !== 'TLSv1.2') throw new Error('serverRecords: TLS 1.2 only');
    const ccs = down.records.map((r) => r[0]).indexOf(20);
    return down.records.slice(ccs + 2).map(([type, body], i) => {
      const explicit = body.subarray(0, 8);
      const text = body.subarray(8, body.length - 16);
      const sb = Buffer.alloc(8);
      sb.writeBigUInt64BE(BigInt(1 + i));
      const d = crypto.createDecipheriv('aes-128-gcm', serverKey, Buffer.concat([serverIv, explicit]));
      d.setAAD(Buffer.concat([sb, Buffer.from([type, 3, 3, text.length >> 8, text.length & 0xff])]));
      d.setAuthTag(body.subarray(body.length - 16));
      return { type, data: Buffer.concat([d.update(text), d.final()]) };
    });
  };
  return { raw, version, seal, keyUpdate, resync, stopReading, serverRecords, closed, tlsSocket: s };
}

/**
 * Writes records from `next()` (a Buffer of one or more records, or null to stop) to `raw` as
 * fast as the socket takes them, until next() returns null, the socket closes, or `ms` pass.
 * Resolves with { bytes, closedBySocket } (closedBySocket: the socket ended or failed first).
 */
export function floodRecords(raw, next, ms) {
  return new Promise((resolve) => {
    let bytes = 0;
    let done = false;
    const finish = (closedBySocket) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ bytes, closedBySocket });
    };
    const timer = setTimeout(() => finish(false), ms);
    raw.once('close', () => finish(true));
    // A socket that takes every write at once never makes write() return false: after a few
    // writes the loop yields anyway, so that timers (ours, the caller's) still run.
    const pump = () => {
      for (let i = 0; i < 16; i++) {
        if (done || raw.destroyed) return undefined;
        const chunk = next();
        if (!chunk) return finish(false);
        bytes += chunk.length;
        if (!raw.write(chunk)) {
          raw.once('drain', pump);
          return undefined;
        }
      }
      setImmediate(pump);
      return undefined;
    };
    pump();
  });
}
