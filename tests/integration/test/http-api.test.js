// The http-api plugin end to end (plugins/http-api/README.md; docs/reference/http-api.md §2):
// every token-API route with its legacy status codes and texts, over Node's fetch, https and
// real curl, on the plain and TLS device ports; round trips with the real npm blynk-library
// device (HTTP update -> BLYNK_WRITE, virtualWrite -> GET /get, isHardwareConnected) and with a
// raw hardware connection (HARDWARE msgId 111 on the wire).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import zlib from 'node:zlib';
import { Server, Cmd, Cleanup, which } from '../lib/harness.js';
import { makeDevice, nextVirtualWrite } from '../lib/blynklib.js';

const cleanup = new Cleanup();
let srv;
let base;
let token;  // a device of the shared server, for the plain checks

const HTTP_TIMEOUT_MS = 5000;
const TEXT = 'text/plain;charset=utf-8';
const JSON_TYPE = 'application/json;charset=utf-8';
const CONTENT_TYPE_ERROR = 'Unexpected content type. Expecting application/json.';
const NO_PUSH_WIDGET = 'No notification widget.';
const UNKNOWN = 'A'.repeat(32);

const CURL = which('curl');
const ZBARIMG = which('zbarimg');

before(async () => {
  srv = cleanup.add(await Server.start({
    name: 'http-api',
    // Bad tokens on purpose, many of them: the login throttle (abuse.test.js) is off here.
    config: { plugins: { enabled: ['storage-sqlite', 'http-api'] }, security: { login_failures: 0 } },
  }));
  base = `http://127.0.0.1:${srv.hwPort}`;
  token = await srv.addDevice('http@example.com', 'http-dev');
});
after(() => cleanup.run());

/** One request with fetch (bounded); a Buffer body gets no Content-Type unless given. */
async function http(method, urlPath, { body, headers = {} } = {}) {
  const res = await fetch(`${base}${urlPath}`, {
    method,
    headers,
    body: body === undefined ? undefined : Buffer.from(body),
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  const buf = Buffer.from(await res.arrayBuffer());
  return { status: res.status, type: res.headers.get('content-type'), headers: res.headers, buf, text: buf.toString('utf8') };
}
const get = (p) => http('GET', p);
const putJson = (p, body, type = 'application/json') =>
  http('PUT', p, { body, headers: type ? { 'Content-Type': type } : {} });
const postJson = (p, body, type = 'application/json') =>
  http('POST', p, { body, headers: type ? { 'Content-Type': type } : {} });

/** One request over TLS to the TLS port, trusting the server's generated certificate. */
function httpsGet(urlPath) {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port: srv.tlsPort, path: urlPath, method: 'GET',
      ca: srv.cert(), checkServerIdentity: () => undefined, timeout: HTTP_TIMEOUT_MS,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        resolve({ status: res.statusCode, type: res.headers['content-type'], buf, text: buf.toString('utf8') });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`https GET ${urlPath}: no answer within ${HTTP_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Real curl; resolves {status, type, text}. */
function curl(args) {
  return new Promise((resolve, reject) => {
    execFile(CURL, ['-sS', '--max-time', '5', '-o', '-', '-w', '\n%{http_code} %{content_type}', ...args],
      { timeout: 10000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
        if (err) { reject(new Error(`curl ${args.join(' ')}: ${err.message} ${stderr}`)); return; }
        const nl = stdout.lastIndexOf('\n');
        const [code, type] = stdout.slice(nl + 1).split(' ');
        resolve({ status: Number(code), type: type || '', text: stdout.slice(0, nl) });
      });
  });
}

function assertText(r, status, text) {
  assert.equal(r.status, status, `expected ${status} ${JSON.stringify(text)}, got ${r.status} ${JSON.stringify(r.text)}`);
  assert.equal(r.text, text);
  assert.equal(r.type, TEXT);
}
function assertJson(r, value) {
  assert.equal(r.status, 200, `expected 200, got ${r.status} ${JSON.stringify(r.text)}`);
  assert.equal(r.type, JSON_TYPE);
  assert.deepEqual(JSON.parse(r.text), value);
}
function assertEmpty200(r) {
  assert.equal(r.status, 200, `expected 200, got ${r.status} ${JSON.stringify(r.text)}`);
  assert.equal(r.text, '');
}

/** Calls fn until pred(result) holds (bounded); returns the last result. */
async function pollUntil(fn, pred, what, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (pred(last)) return last;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const BAD_PINS = ['x8', 'v256', 'V', 'v-1', 'v1.5', 'vv1', '12'];

describe('tokens', () => {
  it('a malformed or unknown token is 400 "Invalid token." on every route, before the pin is looked at', async () => {
    for (const bad of ['short', UNKNOWN, `${token}x`, `${token.slice(0, 31)}!`]) {
      assertText(await get(`/${bad}/get/v1`), 400, 'Invalid token.');
      assertText(await get(`/${bad}/get/x8`), 400, 'Invalid token.');
      assertText(await get(`/${bad}/update/v1?value=1`), 400, 'Invalid token.');
      assertText(await putJson(`/${bad}/update/v1`, '["1"]'), 400, 'Invalid token.');
      assertText(await putJson(`/${bad}/pin/v1`, 'not json', 'text/plain'), 400, 'Invalid token.');
      assertText(await putJson(`/${bad}/extra/pin/v1`, '[{"value":"1"}]'), 400, 'Invalid token.');
      assertText(await get(`/${bad}/isHardwareConnected`), 400, 'Invalid token.');
      assertText(await get(`/${bad}/isAppConnected`), 400, 'Invalid token.');
      assertText(await get(`/${bad}/project`), 400, 'Invalid token.');
      assertText(await get(`/${bad}/rtc`), 400, 'Invalid token.');
      assertText(await postJson(`/${bad}/notify`, '{"body":"hi"}'), 400, 'Invalid token.');
      assertText(await postJson(`/${bad}/email`, '{"to":"a@b.c","subj":"s"}'), 400, 'Invalid token.');
      assertText(await get(`/${bad}/data/v1`), 400, 'Invalid token.');
      assertText(await get(`/${bad}/qr`), 400, 'Invalid token.');
    }
  });

  it('a device added with the CLI while the server runs is found (the kernel asks storage)', async () => {
    const t = await srv.addDevice('late@example.com', 'late');
    assertJson(await get(`/${t}/isHardwareConnected`), false);
    assertText(await get(`/${t}/get/v1`), 400, 'Requested pin doesn\'t exist in the app.');
  });

  it('unknown paths, methods and extra segments are 404 with an empty body (kernel)', async () => {
    for (const [m, p] of [['GET', `/${token}/nope`], ['GET', `/${token}/get`], ['GET', `/${token}/get/v1/x`],
      ['POST', `/${token}/get/v1`], ['DELETE', `/${token}/update/v1`], ['GET', `/${token}`]]) {
      const r = await http(m, p);
      assert.equal(r.status, 404, `${m} ${p}: ${r.status} ${r.text}`);
      assert.equal(r.text, '');
    }
  });
});

describe('GET /{token}/get/{pin} and GET /{token}/update/{pin}', () => {
  it('a pin never written is 400 "Requested pin doesn\'t exist in the app."; after an update it is a JSON array of strings', async () => {
    assertText(await get(`/${token}/get/v1`), 400, 'Requested pin doesn\'t exist in the app.');
    const r = await get(`/${token}/update/v1?value=1`);
    assertEmpty200(r);
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
    assertJson(await get(`/${token}/get/v1`), ['1']);
    assertJson(await get(`/${token}/get/V1`), ['1']);
    assertText(await get(`/${token}/get/d1`), 400, 'Requested pin doesn\'t exist in the app.');
  });

  it('pins: letter v/d/a in any case and 0..255, else 400 "Wrong pin format."', async () => {
    for (const pin of BAD_PINS) {
      assertText(await get(`/${token}/get/${pin}`), 400, 'Wrong pin format.');
      assertText(await get(`/${token}/update/${pin}?value=1`), 400, 'Wrong pin format.');
      assertText(await putJson(`/${token}/update/${pin}`, '["1"]'), 400, 'Wrong pin format.');
      assertText(await get(`/${token}/data/${pin}`), 400, 'Wrong pin format.');
    }
    for (const pin of ['v0', 'V255', 'd13', 'D0', 'a0', 'A15']) {
      assertEmpty200(await get(`/${token}/update/${pin}?value=p-${pin}`));
      assertJson(await get(`/${token}/get/${pin.toLowerCase()}`), [`p-${pin}`]);
    }
  });

  it('several values are joined: ?value=1&value=2&value=3 reads back as ["1","2","3"]; ?value= alone is no value', async () => {
    assertEmpty200(await get(`/${token}/update/v20?value=1&value=2&value=3`));
    assertJson(await get(`/${token}/get/v20`), ['1', '2', '3']);
    // an empty value is no value (the kernel, like the hardware protocol, refuses `vw\0pin\0`)
    assertText(await get(`/${token}/update/v21?value=`), 400, 'No pin for update provided.');
    assertText(await putJson(`/${token}/update/v21`, '[""]'), 400, 'No pin for update provided.');
    assertEmpty200(await get(`/${token}/update/v21?value=&value=x`));
    assertJson(await get(`/${token}/get/v21`), ['', 'x']);
    assertEmpty200(await get(`/${token}/update/v22?value=h%C3%A9llo+w%C3%B6rld%20%E2%9C%93`));
    assertJson(await get(`/${token}/get/v22`), ['héllo wörld ✓']);
  });

  it('no value and no property is 400 "Wrong request format."', async () => {
    assertText(await get(`/${token}/update/v1`), 400, 'Wrong request format.');
    assertText(await get(`/${token}/update/v1?values=2&Label=x`), 400, 'Wrong request format.');
  });

  it('a property (?label=...) is accepted with 200, changes no value and is not sent to the hardware', async () => {
    const t = await srv.addDevice('http@example.com', 'prop');
    const c = cleanup.add(await srv.login(t));
    assertEmpty200(await get(`/${t}/update/v3?value=v`));
    const f = await c.expectFrame();
    assert.equal(f.cmd, Cmd.HARDWARE);
    assertEmpty200(await get(`/${t}/update/v3?label=Hello`));
    assertEmpty200(await get(`/${t}/update/V3?color=%23FF0000`));
    assertEmpty200(await get(`/${t}/update/d4?max=10&min=1`));
    assertJson(await get(`/${t}/get/v3`), ['v']);
    await c.expectNothing(300);
    assertText(await get(`/${t}/update/q3?label=x`), 400, 'Wrong pin format.');
    c.end();
  });

  it('an update reaches the device\'s live connection as HARDWARE msgId 111 `vw\\0pin\\0values`', async () => {
    const t = await srv.addDevice('http@example.com', 'wire');
    const c = cleanup.add(await srv.login(t));
    assertEmpty200(await get(`/${t}/update/V7?value=42`));
    let f = await c.expectFrame();
    assert.equal(f.cmd, Cmd.HARDWARE);
    assert.equal(f.msgId, 111);
    assert.equal(f.body.toString('utf8'), 'vw\x007\x0042');
    assertEmpty200(await get(`/${t}/update/d2?value=1&value=0`));
    f = await c.expectFrame();
    assert.equal(f.body.toString('utf8'), 'dw\x002\x001\x000');
    assertEmpty200(await putJson(`/${t}/pin/a1`, '["512"]'));
    f = await c.expectFrame();
    assert.equal(f.msgId, 111);
    assert.equal(f.body.toString('utf8'), 'aw\x001\x00512');
    c.end();
  });
});

describe('PUT /{token}/update/{pin}, /pin/{pin}, /extra/pin/{pin}', () => {
  it('a JSON array of strings is written (values joined); [] is 400 "No pin for update provided."', async () => {
    assertEmpty200(await putJson(`/${token}/update/v30`, '["1","2"]'));
    assertJson(await get(`/${token}/get/v30`), ['1', '2']);
    assertEmpty200(await putJson(`/${token}/pin/v31`, '["legacy alias"]', 'application/json; charset=utf-8'));
    assertJson(await get(`/${token}/get/v31`), ['legacy alias']);
    assertEmpty200(await putJson(`/${token}/update/v32`, '[1, 2.5, true]'));
    assertJson(await get(`/${token}/get/v32`), ['1', '2.5', 'true']);
    assertText(await putJson(`/${token}/update/v30`, '[]'), 400, 'No pin for update provided.');
    assertText(await putJson(`/${token}/pin/v30`, '[]'), 400, 'No pin for update provided.');
  });

  it('without a JSON Content-Type: 500 "Unexpected content type. Expecting application/json."', async () => {
    assertText(await putJson(`/${token}/update/v30`, '["1"]', null), 500, CONTENT_TYPE_ERROR);
    assertText(await putJson(`/${token}/update/v30`, '["1"]', 'text/plain'), 500, CONTENT_TYPE_ERROR);
    assertText(await putJson(`/${token}/pin/v30`, '["1"]', 'application/x-www-form-urlencoded'), 500, CONTENT_TYPE_ERROR);
  });

  it('a body that is not a JSON array of scalars: 500 "Error parsing body param. <body>", the body cut to 256 bytes', async () => {
    for (const bad of ['', '[', '{"a":1}', '"1"', '["1",]', '[null]', '[["1"]]', "['1']"]) {
      assertText(await putJson(`/${token}/update/v30`, bad), 500, `Error parsing body param. ${bad}`);
    }
    const big = `["${'x'.repeat(1000)}`;
    assertText(await putJson(`/${token}/update/v30`, big), 500, `Error parsing body param. ${big.slice(0, 256)}`);
    assertJson(await get(`/${token}/get/v30`), ['1', '2']);  // nothing was written
  });

  it('a value that cannot fit in one HARDWARE frame (`vw\\0pin\\0value` > 65535 bytes) is 400 "Value is too long."', async () => {
    assertEmpty200(await putJson(`/${token}/update/v34`, JSON.stringify(['x'.repeat(65535 - 6)])));
    assertText(await putJson(`/${token}/update/v34`, JSON.stringify(['x'.repeat(65535 - 5)])), 400, 'Value is too long.');
    assert.equal((await get(`/${token}/get/v34`)).text.length, 65535 - 6 + 4);
  });

  it('extra: the first element\'s value becomes the pin value (timestamps are accepted, not stored)', async () => {
    const body = JSON.stringify([{ timestamp: Date.now() - 1000, value: 'first' }, { timestamp: Date.now(), value: 'second' }]);
    assertEmpty200(await putJson(`/${token}/extra/pin/v33`, body));
    assertJson(await get(`/${token}/get/v33`), ['first']);
    assertText(await putJson(`/${token}/extra/pin/v33`, '[]'), 400, 'No pin for update provided.');
    assertText(await putJson(`/${token}/extra/pin/v33`, '[{"timestamp":1}]'), 500, 'Error parsing body param. [{"timestamp":1}]');
    assertText(await putJson(`/${token}/extra/pin/v33`, '[{"value":"1"}]', 'text/plain'), 500, CONTENT_TYPE_ERROR);
  });
});

describe('with the real blynk-library device', () => {
  it('an HTTP update reaches BLYNK_WRITE (VirtualPin write) with the value; several values arrive as a list', async () => {
    const t = await srv.addDevice('lib@example.com', 'lib-http');
    const b = cleanup.add(makeDevice(t, { port: srv.hwPort }));
    await b.whenConnected();
    let got = nextVirtualWrite(b, 5);
    assertEmpty200(await get(`/${t}/update/V5?value=from-http`));
    assert.deepEqual(await got, ['from-http']);
    got = nextVirtualWrite(b, 5);
    assertEmpty200(await putJson(`/${t}/update/v5`, '["a","b","c"]'));
    assert.deepEqual(await got, ['a', 'b', 'c']);
    got = nextVirtualWrite(b, 6);
    assertEmpty200(await putJson(`/${t}/extra/pin/v6`, '[{"timestamp":1,"value":"x1"},{"timestamp":2,"value":"x2"}]'));
    assert.deepEqual(await got, ['x1']);
    b.close();
  });

  it('a device virtualWrite is read back with GET /get', async () => {
    const t = await srv.addDevice('lib@example.com', 'lib-write');
    const b = cleanup.add(makeDevice(t, { port: srv.hwPort }));
    await b.whenConnected();
    b.virtualWrite(8, 'from-device');
    await pollUntil(() => get(`/${t}/get/v8`), (r) => r.text === '["from-device"]', 'V8 read back');
    b.virtualWrite(9, ['1', '2']);
    await pollUntil(() => get(`/${t}/get/v9`), (r) => r.text === '["1","2"]', 'V9 read back');
    b.close();
  });

  it('isHardwareConnected is true while the device is connected and false after it disconnects; isAppConnected is false', async () => {
    const t = await srv.addDevice('lib@example.com', 'lib-online');
    assertJson(await get(`/${t}/isHardwareConnected`), false);
    const b = cleanup.add(makeDevice(t, { port: srv.hwPort }));
    await b.whenConnected();
    assertJson(await get(`/${t}/isHardwareConnected`), true);
    assertJson(await get(`/${t}/isAppConnected`), false);
    b.close();
    await pollUntil(() => get(`/${t}/isHardwareConnected`), (r) => r.text === 'false', 'isHardwareConnected false');
    assertJson(await get(`/${t}/isHardwareConnected`), false);
  });
});

describe('project, rtc, data, notify, email', () => {
  it('project is the dashboard JSON without tokens', async () => {
    const r = await get(`/${token}/project`);
    assert.equal(r.status, 200);
    assert.equal(r.type, JSON_TYPE);
    const p = JSON.parse(r.text);
    assert.equal(typeof p, 'object');
    assert.ok(!r.text.includes(token), 'the project JSON must not contain the token');
  });

  it('rtc is [UTC epoch seconds]', async () => {
    const before = Math.floor(Date.now() / 1000);
    const r = await get(`/${token}/rtc`);
    const after = Math.floor(Date.now() / 1000);
    assert.equal(r.status, 200);
    assert.equal(r.type, JSON_TYPE);
    assert.match(r.text, /^\[\d+\]$/);
    const [t] = JSON.parse(r.text);
    assert.ok(t >= before - 1 && t <= after + 1, `${t} not within [${before}, ${after}]`);
  });

  it('data: a bad pin is "Wrong pin format.", a pin nothing was written to "No data." (history: history.test.js)', async () => {
    assertText(await get(`/${token}/data/v120`), 400, 'No data.');
    assertText(await get(`/${token}/data/A3`), 400, 'No data.');
    assertText(await get(`/${token}/data/v256`), 400, 'Wrong pin format.');
  });

  it('notify: the body is validated, then the kernel wants a notification widget ("No notification widget.")', async () => {
    const p = `/${token}/notify`;
    assertText(await postJson(p, '{"body":"hi"}'), 400, NO_PUSH_WIDGET);
    assertText(await postJson(p, JSON.stringify({ body: 'x'.repeat(255) })), 400, NO_PUSH_WIDGET);
    for (const bad of ['{"body":""}', '{}', JSON.stringify({ body: 'x'.repeat(256) })]) {
      assertText(await postJson(p, bad), 400, 'Body is empty or larger than 255 chars.');
    }
    assertText(await postJson(p, '{"body":"hi"}', null), 500, CONTENT_TYPE_ERROR);
    assertText(await postJson(p, '{"body":'), 500, 'Error parsing body param. {"body":');
  });

  it('email: to and subj are required, then the kernel wants a mail widget ("No email widget.")', async () => {
    const p = `/${token}/email`;
    const wrong = 'Email body is wrong. Missing or empty fields \'to\', \'subj\'.';
    assertText(await postJson(p, '{"to":"a@b.c","subj":"s","title":"t"}'), 400, 'No email widget.');
    for (const bad of ['{"subj":"s"}', '{"to":"a@b.c"}', '{"to":"","subj":"s"}', '{"to":"a@b.c","subj":""}']) {
      assertText(await postJson(p, bad), 400, wrong);
    }
    assertText(await postJson(p, '{"to":"a@b.c","subj":"s"}', 'text/plain'), 500, CONTENT_TYPE_ERROR);
    assertText(await postJson(p, 'x'), 500, 'Error parsing body param. x');
  });
});

/** IHDR of a PNG after checking the signature: {width, height, depth, colour}. */
function pngHeader(buf) {
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(buf.subarray(12, 16).toString('latin1'), 'IHDR');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20), depth: buf[24], colour: buf[25] };
}

/** The pixel rows of an 8-bit grayscale PNG whose rows all use filter 0. */
function pngRows(buf, { width, height }) {
  const idat = [];
  for (let at = 8; at < buf.length;) {
    const len = buf.readUInt32BE(at);
    const type = buf.subarray(at + 4, at + 8).toString('latin1');
    if (type === 'IDAT') idat.push(buf.subarray(at + 8, at + 8 + len));
    at += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  assert.equal(raw.length, (width + 1) * height);
  const rows = [];
  for (let y = 0; y < height; y++) rows.push(raw.subarray(y * (width + 1) + 1, (y + 1) * (width + 1)));
  return rows;
}

function cloneCodes() {
  const dir = path.join(srv.dataDir, 'http-api', 'clones');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)) : [];
}

describe('qr and clone', () => {
  it('qr is a PNG QR code of blynk://token/clone/<code>?server=<host>&port=<tls port>, and /<code>/clone answers the project', async (t) => {
    const before = new Set(cloneCodes());
    const r = await get(`/${token}/qr`);
    if (r.status === 501) {
      assertText(r, 501, 'QR codes are not available on this server.');
      t.skip('blynkd was built without libqrencode');
      return;
    }
    assert.equal(r.status, 200, r.text);
    assert.equal(r.type, 'image/png');
    const h = pngHeader(r.buf);
    assert.equal(h.width, h.height);
    assert.ok(h.width >= 400 && h.width <= 500, `side ${h.width}`);
    assert.deepEqual([h.depth, h.colour], [8, 0]);
    const rows = pngRows(r.buf, h);
    // black and white only, a white quiet zone, the top-left finder pattern's black corner
    assert.ok(rows.every((row) => row.every((v) => v === 0 || v === 255)));
    assert.ok(rows[0].every((v) => v === 255));
    const dark = rows.findIndex((row) => row.includes(0));
    assert.ok(dark > 0 && rows[dark].indexOf(0) === dark, 'finder pattern at the top left, after a square quiet zone');

    const added = cloneCodes().filter((c) => !before.has(c));
    assert.equal(added.length, 1, 'one clone saved per /qr');
    const [code] = added;
    assert.match(code, /^[A-Za-z0-9_-]{32}$/);
    if (ZBARIMG) {
      const file = path.join(srv.dir, 'qr.png');
      writeFileSync(file, r.buf);
      const text = execFileSync(ZBARIMG, ['-q', '--raw', file], { encoding: 'utf8', timeout: 10000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      // over plain HTTP the app port is the default TLS port (README: qr_port)
      assert.equal(text, `blynk://token/clone/${code}?server=127.0.0.1&port=9443`);
    }
    const clone = await get(`/${code}/clone`);
    assert.equal(clone.status, 200);
    assert.equal(clone.type, JSON_TYPE);
    assert.deepEqual(JSON.parse(clone.text), JSON.parse((await get(`/${token}/project`)).text));
  });

  it('qr over TLS names the TLS port the request came to', { skip: !ZBARIMG && 'zbarimg (zbar-tools) is not installed' }, async (t) => {
    const before = new Set(cloneCodes());
    const r = await httpsGet(`/${token}/qr`);
    if (r.status === 501) { t.skip('built without libqrencode'); return; }
    assert.equal(r.status, 200, r.text);
    const [code] = cloneCodes().filter((c) => !before.has(c));
    const file = path.join(srv.dir, 'qr-tls.png');
    writeFileSync(file, r.buf);
    const text = execFileSync(ZBARIMG, ['-q', '--raw', file], { encoding: 'utf8', timeout: 10000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    assert.equal(text, `blynk://token/clone/${code}?server=127.0.0.1&port=${srv.tlsPort}`);
  });

  it('an unknown or malformed clone code is 500 "Requested QR not found."', async () => {
    assertText(await get(`/${UNKNOWN}/clone`), 500, 'Requested QR not found.');
    assertText(await get('/short/clone'), 500, 'Requested QR not found.');
    assertText(await get('/..%2F..%2Fetc%2Fpasswd/clone'), 500, 'Requested QR not found.');
  });
});

describe('TLS port and curl', () => {
  it('the same API answers over HTTPS on the TLS port', async () => {
    const t = await srv.addDevice('tls@example.com', 'tls-dev');
    assertText(await httpsGet(`/${t}/get/v1`), 400, 'Requested pin doesn\'t exist in the app.');
    assert.equal((await httpsGet(`/${t}/update/v1?value=tls`)).status, 200);
    assertJson(await httpsGet(`/${t}/get/v1`), ['tls']);
    assertText(await httpsGet(`/${UNKNOWN}/get/v1`), 400, 'Invalid token.');
  });

  it('curl, as users run it (docs/reference/http-api.md §2.3)', { skip: !CURL && 'curl is not installed' }, async () => {
    const t = await srv.addDevice('curl@example.com', 'curl-dev');
    const b = cleanup.add(makeDevice(t, { port: srv.hwPort }));
    await b.whenConnected();
    const got = nextVirtualWrite(b, 1);
    let r = await curl([`${base}/${t}/update/V1?value=42`]);
    assert.deepEqual([r.status, r.text], [200, '']);
    assert.deepEqual(await got, ['42']);
    r = await curl([`${base}/${t}/get/V1`]);
    assert.deepEqual([r.status, r.type, r.text], [200, JSON_TYPE, '["42"]']);
    r = await curl(['-X', 'PUT', '-H', 'Content-Type: application/json', '-d', '["43","44"]', `${base}/${t}/update/V1`]);
    assert.deepEqual([r.status, r.text], [200, '']);
    r = await curl([`${base}/${t}/get/V1`]);
    assert.equal(r.text, '["43","44"]');
    r = await curl([`${base}/${t}/isHardwareConnected`]);
    assert.deepEqual([r.status, r.text], [200, 'true']);
    r = await curl(['-X', 'PUT', '-d', '["1"]', `${base}/${t}/update/V1`]);  // curl -d sends form-urlencoded
    assert.deepEqual([r.status, r.type, r.text], [500, TEXT, CONTENT_TYPE_ERROR]);
    r = await curl(['-X', 'POST', '-H', 'Content-Type: application/json', '-d', '{"body":"hi"}', `${base}/${t}/notify`]);
    assert.deepEqual([r.status, r.text], [400, NO_PUSH_WIDGET]);
    r = await curl([`${base}/${t}/update/V1?label=Hello`]);
    assert.equal(r.status, 200);
    r = await curl([`${base}/${UNKNOWN}/get/V1`]);
    assert.deepEqual([r.status, r.type, r.text], [400, TEXT, 'Invalid token.']);
    r = await curl(['-k', `https://127.0.0.1:${srv.tlsPort}/${t}/get/V1`]);
    assert.deepEqual([r.status, r.text], [200, '["43","44"]']);
    b.close();
  });
});

describe('robustness', () => {
  it('odd but well-formed requests never break the server', async () => {
    const odd = [
      `/${token}/get/${'v'.repeat(2000)}`,
      `/${token}/update/v1?${'value=1&'.repeat(500)}`,
      `/${token}/update/v1?value=%00%01%FF`,
      `/${token}/update/v1?value=%zz`,
      `/${token}/update/v1?=&&&=x&value`,
      `/${'%41'.repeat(32)}/get/v1`,
      `/${token}/get/%76%31`,
    ];
    for (const p of odd) {
      const r = await get(p);
      assert.ok([200, 400, 404].includes(r.status), `${p}: ${r.status} ${r.text}`);
    }
    assert.ok(srv.running);
    const deep = '['.repeat(100000);
    assert.equal((await putJson(`/${token}/update/v40`, deep)).status, 500);
    const many = await Promise.all(Array.from({ length: 50 }, (_, i) => get(`/${token}/update/v41?value=${i}`)));
    assert.ok(many.every((r) => r.status === 200));
    assertJson(await get(`/${token}/isHardwareConnected`), false);
  });
});
