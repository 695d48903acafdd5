// Static files under /static/ from [http] static_dir (kernel/net/static_files.cpp; legacy
// docs/reference/http-api.md §4): GET and HEAD of regular files with a content type by extension,
// and nothing outside the folder, whatever the encoding of the path: every traversal attempt,
// encoded slash, backslash, NUL, absolute path, double encoding and symbolic link leading out
// is a 404 and never returns the content of the file beside the folder. Requests are written
// raw on the socket so that no client normalises the path; on the plain and the TLS port.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync, symlinkSync, rmSync, truncateSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import { Server, Cleanup, mkTmp, which, withTimeout } from '../lib/harness.js';

const cleanup = new Cleanup();
after(() => cleanup.run());

const HTTP_TIMEOUT_MS = 5000;
const A_TXT = 'hello from a.txt\n';
const B_HTML = '<!doctype html><title>b</title><p>sub/b.html</p>\n';
const SECRET = 'TOP-SECRET-4f1c9a: must never be served';
const ICON = Buffer.from([0, 0, 1, 0, 1, 0, 16, 16]);
// Five times the server's 1 MiB output cap: sent whole only if it is streamed as the reader reads.
const BIG = randomBytes(5 * 1024 * 1024);
const DOWNLOAD_TIMEOUT_MS = 60000;

const CURL = which('curl');

let srv;
let dir;

before(async () => {
  // <dir>/secret.txt beside the served folder <dir>/www
  dir = mkTmp('static');
  cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
  const www = path.join(dir, 'www');
  mkdirSync(path.join(www, 'sub'), { recursive: true });
  writeFileSync(path.join(www, 'a.txt'), A_TXT);
  writeFileSync(path.join(www, 'sub', 'b.html'), B_HTML);
  writeFileSync(path.join(www, 'favicon.ico'), ICON);
  writeFileSync(path.join(www, 'big.bin'), BIG);
  writeFileSync(path.join(dir, 'secret.txt'), SECRET);
  symlinkSync(path.join(dir, 'secret.txt'), path.join(www, 'link.txt'));        // a file outside
  symlinkSync('../secret.txt', path.join(www, 'sub', 'rel-link.txt'));          // relative, outside
  symlinkSync(dir, path.join(www, 'outdir'));                                   // a folder outside
  srv = cleanup.add(await Server.start({ name: 'static', config: { http: { static_dir: www } } }));
});

/**
 * Writes `target` verbatim in a request line (no normalisation) and reads the answer until
 * the server closes (Connection: close). Bounded.
 */
function raw(method, target, { secure = false } = {}) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let sock;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`${method} ${target}${secure ? ' (TLS)' : ''}: no complete answer within ${HTTP_TIMEOUT_MS} ms`));
    }, HTTP_TIMEOUT_MS);
    const send = () => sock.write(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    if (secure) {
      sock = tls.connect({ host: '127.0.0.1', port: srv.tlsPort, ca: srv.cert(), checkServerIdentity: () => undefined }, send);
    } else {
      sock = net.connect({ host: '127.0.0.1', port: srv.hwPort }, send);
    }
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    sock.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) {
        reject(new Error(`${method} ${target}: no complete response head: ${JSON.stringify(all.toString('latin1'))}`));
        return;
      }
      const lines = all.subarray(0, end).toString('latin1').split('\r\n');
      const m = lines[0].match(/^HTTP\/1\.[01] (\d{3})/);
      if (!m) {
        reject(new Error(`${method} ${target}: bad status line ${JSON.stringify(lines[0])}`));
        return;
      }
      const headers = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const body = all.subarray(end + 4);
      resolve({ status: Number(m[1]), headers, body, text: body.toString('utf8'), all: all.toString('latin1') });
    });
  });
}

/**
 * A slow reader: GET `target` with Connection: close, pausing `pauseMs` after every `pauseEvery`
 * bytes (a client on a slow link), until the server closes. `onHead(headers)` runs once the head
 * is in. Resolves {status, headers, body} (the body as received, however long). Bounded.
 */
function slowGet(target, { secure = false, pauseEvery = 256 * 1024, pauseMs = 20, onHead } = {}) {
  return withTimeout(new Promise((resolve, reject) => {
    const chunks = [];
    let received = 0;
    let sinceLastPause = 0;
    let head = null;
    let sock;
    const send = () => sock.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    sock = secure
      ? tls.connect({ host: '127.0.0.1', port: srv.tlsPort, ca: srv.cert(), checkServerIdentity: () => undefined }, send)
      : net.connect({ host: '127.0.0.1', port: srv.hwPort }, send);
    sock.on('data', (d) => {
      chunks.push(d);
      received += d.length;
      sinceLastPause += d.length;
      if (!head) {
        const all = Buffer.concat(chunks);
        const end = all.indexOf('\r\n\r\n');
        if (end >= 0) {
          const lines = all.subarray(0, end).toString('latin1').split('\r\n');
          const headers = {};
          for (const l of lines.slice(1)) {
            const i = l.indexOf(':');
            headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
          }
          head = { status: Number(lines[0].split(' ')[1]), headers, length: end + 4 };
          if (onHead) onHead(headers);
        }
      }
      if (sinceLastPause >= pauseEvery) {
        sinceLastPause = 0;
        sock.pause();
        setTimeout(() => sock.resume(), pauseMs);
      }
    });
    sock.on('error', reject);
    sock.on('close', () => {
      if (!head) {
        reject(new Error(`GET ${target}: closed after ${received} bytes without a complete head`));
        return;
      }
      resolve({ status: head.status, headers: head.headers, body: Buffer.concat(chunks).subarray(head.length) });
    });
  }), DOWNLOAD_TIMEOUT_MS, `GET ${target}${secure ? ' (TLS)' : ''} by a slow reader`);
}

/** The server's resident set size in bytes (Linux). */
function serverRss() {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${srv.proc.pid}/status`, 'utf8'))[1]) * 1024;
}

/** Runs curl (bounded); resolves {code, stdout, stderr}. */
function curl(args) {
  return new Promise((resolve) => {
    execFile(CURL, ['-sS', '--max-time', String(HTTP_TIMEOUT_MS / 1000), ...args],
      { timeout: HTTP_TIMEOUT_MS + 2000, killSignal: 'SIGKILL', encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr, timedOut: Boolean(err && err.killed) });
      });
  });
}

// Each must be a 404 without the secret (the legacy server let some of these escape).
const TRAVERSALS = [
  '/static/../secret.txt',
  '/static/%2e%2e/secret.txt',
  '/static/%2E%2E/secret.txt',
  '/static/.%2e/secret.txt',
  '/static/..%2fsecret.txt',
  '/static/..%2Fsecret.txt',
  '/static/sub/..%2F..%2Fsecret.txt',
  '/static/sub/../../secret.txt',
  '/static/%2e%2e%2fsecret.txt',
  '/static/..%5csecret.txt',
  '/static/..\\secret.txt',
  '/static/sub%5c..%5c..%5csecret.txt',
  '/static/%2fetc%2fpasswd',
  `/static/%2f${'..%2f'.repeat(12)}etc%2fpasswd`,
  '/static/a.txt%00.png',
  '/static/%00',
  '/static/%252e%252e/secret.txt',
  '/static/%252e%252e%252fsecret.txt',
  '/static/link.txt',
  '/static/sub/rel-link.txt',
  '/static/outdir/secret.txt',
  '/static/./a.txt',
  '/static/sub/../a.txt',
  '/static//a.txt',
  '/static/C:%5cWindows%5cwin.ini',
  '/static/..',
  '/static/%2e%2e',
  '/static/../../../../../../etc/passwd',
];

for (const secure of [false, true]) {
  const port = secure ? 'the TLS port (https)' : 'the plain port';
  describe(`static files on ${port}`, () => {
    it('GET /static/a.txt: 200, text/plain, the content; with a query string too', async () => {
      for (const target of ['/static/a.txt', '/static/a.txt?v=1']) {
        const r = await raw('GET', target, { secure });
        assert.equal(r.status, 200, `${target}: ${r.all}`);
        assert.match(r.headers['content-type'] || '', /^text\/plain\b/, r.all);
        assert.equal(r.text, A_TXT);
        assert.equal(Number(r.headers['content-length']), Buffer.byteLength(A_TXT), r.all);
        assert.match(r.headers['cache-control'] || '', /max-age=60/, r.all);
      }
    });

    it('HEAD /static/a.txt: 200 without a body', async () => {
      const r = await raw('HEAD', '/static/a.txt', { secure });
      assert.equal(r.status, 200, r.all);
      assert.match(r.headers['content-type'] || '', /^text\/plain\b/, r.all);
      assert.equal(r.body.length, 0, `no body after the head: ${r.all}`);
    });

    // RFC 9110 §9.3.2: HEAD carries the length GET would send (or none).
    it('HEAD /static/a.txt: Content-Length is the length GET would send, or absent', {
    }, async () => {
      const r = await raw('HEAD', '/static/a.txt', { secure });
      assert.equal(r.status, 200, r.all);
      if ('content-length' in r.headers) {
        assert.equal(Number(r.headers['content-length']), Buffer.byteLength(A_TXT), r.all);
      }
    });

    it('GET /static/sub/b.html: text/html; /favicon.ico from the folder', async () => {
      const r = await raw('GET', '/static/sub/b.html', { secure });
      assert.equal(r.status, 200, r.all);
      assert.match(r.headers['content-type'] || '', /^text\/html\b/, r.all);
      assert.equal(r.text, B_HTML);
      const ico = await raw('GET', '/favicon.ico', { secure });
      assert.equal(ico.status, 200, ico.all);
      assert.match(ico.headers['content-type'] || '', /^image\/x-icon\b/, ico.all);
      assert.deepEqual(ico.body, ICON);
    });

    it('the folder itself, a subfolder and missing files: 404', async () => {
      for (const target of ['/static/', '/static/sub', '/static/sub/', '/static/missing.txt', '/static/sub/missing.html',
        '/static/a.txt/x']) {
        const r = await raw('GET', target, { secure });
        assert.equal(r.status, 404, `${target}: ${r.all}`);
      }
    });

    // Finding 9 of the security review: a file over the 1 MiB output cap used to fail.
    it('a 5 MB file downloads whole and byte-identical by a slow reader; HEAD gives its length', async () => {
      const r = await slowGet('/static/big.bin', { secure });
      assert.equal(r.status, 200, JSON.stringify(r.headers));
      assert.equal(r.headers['content-type'], 'application/octet-stream');
      assert.equal(Number(r.headers['content-length']), BIG.length);
      assert.equal(r.body.length, BIG.length, 'the whole file, nothing more');
      assert.ok(r.body.equals(BIG), 'the same bytes as the file');
      const h = await raw('HEAD', '/static/big.bin', { secure });
      assert.equal(h.status, 200, h.all);
      assert.equal(Number(h.headers['content-length']), BIG.length, h.all);
      assert.equal(h.body.length, 0, 'no body after the head of a HEAD');
    });

    it('10 concurrent slow downloads of the 5 MB file: each whole, and the server\'s RSS grows by far less than the files', {
      skip: process.platform === 'linux' ? false : 'reads /proc',
    }, async (t) => {
      await raw('GET', '/static/a.txt', { secure });   // the first answer's one-time allocations are not counted
      const before = serverRss();
      let peak = before;
      const sampler = setInterval(() => { peak = Math.max(peak, serverRss()); }, 20);
      let results;
      try {
        results = await Promise.all(Array.from({ length: 10 }, () => slowGet('/static/big.bin', { secure, pauseMs: 50 })));
      } finally {
        clearInterval(sampler);
      }
      peak = Math.max(peak, serverRss());
      for (const r of results) {
        assert.equal(r.status, 200);
        assert.equal(r.body.length, BIG.length);
        assert.ok(r.body.equals(BIG), 'the same bytes as the file');
      }
      const growth = peak - before;
      t.diagnostic(`server RSS ${(before / 1048576).toFixed(1)} MB before, ${(peak / 1048576).toFixed(1)} MB at most during the downloads`);
      // Whole files in memory would be 10 x 5 MB; one 64 KiB chunk per download is about 1 MB.
      assert.ok(growth < 16 * 1024 * 1024, `RSS grew by ${(growth / 1048576).toFixed(1)} MB during 10 downloads of 5 MB`);
    });

    it('requests pipelined behind a large file are answered after it, in order', async () => {
      const sock = secure
        ? tls.connect({ host: '127.0.0.1', port: srv.tlsPort, ca: srv.cert(), checkServerIdentity: () => undefined })
        : net.connect({ host: '127.0.0.1', port: srv.hwPort });
      const got = await withTimeout(new Promise((resolve, reject) => {
        const chunks = [];
        sock.once(secure ? 'secureConnect' : 'connect', () => sock.write(
          'GET /static/big.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /static/a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
        sock.on('data', (d) => chunks.push(d));
        sock.on('error', reject);
        sock.on('close', () => resolve(Buffer.concat(chunks)));
      }), DOWNLOAD_TIMEOUT_MS, 'two pipelined answers');
      const end1 = got.indexOf('\r\n\r\n');
      const head1 = got.subarray(0, end1).toString('latin1');
      assert.match(head1, /^HTTP\/1\.1 200 /);
      assert.match(head1, new RegExp(`\r\ncontent-length: ${BIG.length}\r?$`, 'im'));
      assert.ok(got.subarray(end1 + 4, end1 + 4 + BIG.length).equals(BIG), 'the first body is the big file');
      const second = got.subarray(end1 + 4 + BIG.length).toString('latin1');
      assert.match(second, /^HTTP\/1\.1 200 /, second.slice(0, 200));
      assert.ok(second.endsWith(`\r\n\r\n${A_TXT}`), second);
    });

    it('traversal attempts, encoded or not, and symbolic links leading out: all 404, never the secret', async () => {
      for (const target of TRAVERSALS) {
        for (const method of ['GET', 'HEAD']) {
          const r = await raw(method, target, { secure });
          assert.ok(!r.all.includes(SECRET), `${method} ${target} returned the secret:\n${r.all}`);
          assert.ok(!/root:.*:0:0:/.test(r.all), `${method} ${target} returned /etc/passwd:\n${r.all}`);
          assert.equal(r.status, 404, `${method} ${target}: ${r.all}`);
        }
      }
      // the server is fine afterwards
      const ok = await raw('GET', '/static/a.txt', { secure });
      assert.equal(ok.status, 200, ok.all);
    });

    it('real curl --path-as-is: a.txt is served, the traversals are 404', { skip: CURL ? false : 'curl not installed' }, async () => {
      const name = srv.certName();
      const hostPort = secure ? `${name}:${srv.tlsPort}` : `127.0.0.1:${srv.hwPort}`;
      const tlsArgs = secure
        ? [...(/^[0-9.]+$/.test(name) ? [] : ['--resolve', `${hostPort}:127.0.0.1`]), '--cacert', srv.certPath]
        : [];
      const base = `${secure ? 'https' : 'http'}://${hostPort}`;
      const ok = await curl([...tlsArgs, '-w', '\n%{http_code} %{content_type}', `${base}/static/a.txt`]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.ok(ok.stdout.startsWith(A_TXT), ok.stdout);
      assert.match(ok.stdout, /\n200 text\/plain/);
      for (const target of ['/static/../secret.txt', '/static/%2e%2e/secret.txt', '/static/..%2fsecret.txt',
        '/static/link.txt']) {
        const r = await curl([...tlsArgs, '--path-as-is', '-w', '\n%{http_code}', `${base}${target}`]);
        assert.equal(r.code, 0, r.stderr);
        assert.ok(!r.stdout.includes(SECRET), `${target} returned the secret: ${r.stdout}`);
        assert.match(r.stdout, /\n404$/, `${target}: ${r.stdout}`);
      }
    });
  });
}

// A file that changes while it is sent: the answer never goes past its Content-Length, and a
// file that became shorter ends the connection (the client sees a short body) instead of a hang
// or bytes that are not the file's.
describe('a static file that changes size while it is sent', () => {
  // Bigger than what socket buffers take while the reader waits, so the server is still reading it.
  const SIZE = 24 * 1024 * 1024;

  it('shrunk: the connection closes short of Content-Length, with only the file\'s own bytes, and the server says so', async () => {
    const content = randomBytes(SIZE);
    const file = path.join(dir, 'www', 'shrinking.bin');
    writeFileSync(file, content);
    const from = srv.log.length;
    const r = await slowGet('/static/shrinking.bin', { onHead: () => truncateSync(file, 1024 * 1024) });
    assert.equal(r.status, 200);
    assert.equal(Number(r.headers['content-length']), SIZE);
    assert.ok(r.body.length < SIZE, `a short body (${r.body.length} of ${SIZE} bytes) marks the failed download`);
    assert.ok(r.body.equals(content.subarray(0, r.body.length)), 'what came is the start of the file, nothing else');
    await srv.waitForLog(/static file shrinking\.bin ended \d+ bytes before the length announced/, 5000, from);
    const ok = await raw('GET', '/static/a.txt');
    assert.equal(ok.text, A_TXT, 'the server goes on');
  });

  it('grown: exactly Content-Length bytes, the file as it was when the answer began', async () => {
    const content = randomBytes(SIZE);
    const file = path.join(dir, 'www', 'growing.bin');
    writeFileSync(file, content);
    const r = await slowGet('/static/growing.bin', { onHead: () => appendFileSync(file, randomBytes(1024 * 1024)) });
    assert.equal(r.status, 200);
    assert.equal(Number(r.headers['content-length']), SIZE);
    assert.equal(r.body.length, SIZE, 'nothing past Content-Length');
    assert.ok(r.body.equals(content));
  });
});
