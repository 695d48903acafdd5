// The app test client itself (lib/app_client.js), checked without blynkd: its codec against the
// hand-made bytes of protocol.md §13 and §2.2/§2.3, the §10.1 password-hash test vector, and the
// client end to end against small stand-in servers (a TLS one speaking the 7-byte app frame and a
// `ws` one at /dashws) so that the raw, split, coalesced and fragmented writes are known to put
// exactly the intended bytes on the wire before they are used against the real server.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { deflateSync, gzipSync } from 'node:zlib';
import { WebSocketServer } from 'ws';
import {
  AppCmd, AppStatus, AppClient, AppStreamDecoder, passHash, encodeAppFrame, encodeAppResponse,
  encodeWsMessage, decodeWsMessage, wsClientFrame, inflate, describeAppFrame,
} from '../lib/app_client.js';
import { mkTmp, which, Cleanup } from '../lib/harness.js';
import { selfSigned } from '../lib/pki.js';

const hex = (s) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const cleanup = new Cleanup();
after(() => cleanup.run());

describe('app client codec (no server)', () => {
  it('passHash matches the §10.1 test vector and lower-cases the email', () => {
    assert.equal(passHash('test@gmail.com', '123'), '/pyQf3JCj5XoczfsYJ4LUb+y0DONGMl/AFzLiBTo8LA=');
    assert.equal(passHash('Test@GMAIL.com', '123'), '/pyQf3JCj5XoczfsYJ4LUb+y0DONGMl/AFzLiBTo8LA=');
    assert.notEqual(passHash('test@gmail.com', '1234'), passHash('test@gmail.com', '123'));
  });

  it('every command of §4 (92) and every status of §5 (18) is exported, frozen and unique', () => {
    assert.ok(Object.isFrozen(AppCmd) && Object.isFrozen(AppStatus));
    assert.equal(Object.keys(AppCmd).length, 92);
    assert.equal(new Set(Object.values(AppCmd)).size, 92);
    assert.equal(Object.keys(AppStatus).length, 18);
    assert.equal(new Set(Object.values(AppStatus)).size, 18);
    // spot checks against the table
    assert.equal(AppCmd.HARDWARE_CONNECTED, 4);
    assert.equal(AppCmd.LOAD_PROFILE_GZIPPED, 24);
    assert.equal(AppCmd.APP_SYNC, 25);
    assert.equal(AppCmd.CREATE_DEVICE, 42);
    assert.equal(AppCmd.DEVICE_OFFLINE, 71);
    assert.equal(AppCmd.RESET_PASSWORD, 81);
    assert.equal(AppCmd.HTTP_TOTAL, 94);
    assert.equal(AppStatus.ILLEGAL_COMMAND_BODY, 11);
    assert.equal(AppStatus.FACEBOOK_USER_LOGIN_WITH_PASS, 22);
  });

  it('§13: the app write of V1=1 to dash 1 device 0 with msgId 9 is 14 00 09 00 00 00 0A + 1-0\\0vw\\01\\01', () => {
    assert.deepEqual(encodeAppFrame(AppCmd.HARDWARE, 9, ['1-0', 'vw', 1, 1]),
      Buffer.concat([hex('14 00 09 00 00 00 0A'), Buffer.from('1-0\0vw\x001\x001')]));
    // the same message on /dashws: 3-byte header, no length
    assert.deepEqual(encodeWsMessage(AppCmd.HARDWARE, 9, ['1-0', 'vw', 1, 1]),
      Buffer.concat([hex('14 00 09'), Buffer.from('1-0\0vw\x001\x001')]));
    // an app LOGIN never looks like the hardware login the TLS port sniffs for (§1)
    const login = encodeAppFrame(AppCmd.LOGIN, 1, ['a@b.c', passHash('a@b.c', 'x')]);
    assert.notDeepEqual(login.subarray(0, 5), hex('02 00 01 00 20'));
  });

  it('§13: the forwarded device write and DEVICE_OFFLINE decode from every slicing of the stream', () => {
    const hw = Buffer.concat([hex('14 00 02 00 00 00 0B'), hex('31 2D 30 00 76 77 00 35 00 34 32')]);
    const off = Buffer.concat([hex('47 00 00 00 00 00 03'), Buffer.from('1-0')]);
    const ok = hex('00 00 05 00 00 00 C8');
    const stream = Buffer.concat([hw, ok, off]);
    const check = (frames) => {
      assert.equal(frames.length, 3);
      assert.deepEqual([frames[0].cmd, frames[0].msgId, frames[0].fields], [20, 2, ['1-0', 'vw', '5', '42']]);
      assert.deepEqual([frames[1].cmd, frames[1].msgId, frames[1].status, frames[1].body.length], [0, 5, 200, 0]);
      assert.deepEqual([frames[2].cmd, frames[2].msgId, frames[2].text], [AppCmd.DEVICE_OFFLINE, 0, '1-0']);
    };
    for (let a = 0; a <= stream.length; a++) {
      for (let b = a; b <= stream.length; b += 3) {
        const d = new AppStreamDecoder();
        check([...d.push(stream.subarray(0, a)), ...d.push(stream.subarray(a, b)), ...d.push(stream.subarray(b))]);
        assert.equal(d.pending, 0);
      }
    }
    const d = new AppStreamDecoder();
    const one = [];
    for (const byte of stream) one.push(...d.push(Buffer.from([byte])));
    check(one);
  });

  it('a RESPONSE is 7 bytes with a u32 status on both transports; /dashws rejects a short one', () => {
    assert.deepEqual(encodeAppResponse(7, AppStatus.ILLEGAL_COMMAND), hex('00 00 07 00 00 00 02'));
    const f = decodeWsMessage(hex('00 00 07 00 00 00 02'));
    assert.deepEqual([f.cmd, f.msgId, f.status], [0, 7, 2]);
    const g = decodeWsMessage(Buffer.concat([hex('2A 00 08'), Buffer.from('{"id":1}')]));
    assert.deepEqual([g.cmd, g.msgId, g.text], [42, 8, '{"id":1}']);
    assert.throws(() => decodeWsMessage(hex('00 00 07 00 C8')), /RESPONSE of 5 bytes/);
    assert.throws(() => decodeWsMessage(hex('00 00')), /less than the 3-byte header/);
    assert.match(describeAppFrame(f), /ILLEGAL_COMMAND 2/);
  });

  it('a server frame announcing a huge body is a protocol error, not a wait', () => {
    const d = new AppStreamDecoder({ maxBody: 1000 });
    assert.throws(() => d.push(hex('14 00 01 7F FF FF FF')), /announces a 2147483647-byte body/);
  });

  it('client websocket frames are masked and use the 7-, 16- and 64-bit length forms', () => {
    for (const [n, headLen] of [[0, 2], [125, 2], [126, 4], [65535, 4], [65536, 10]]) {
      const payload = Buffer.alloc(n, 0x5a);
      const fr = wsClientFrame(payload);
      assert.equal(fr[0], 0x82, 'FIN + binary');
      assert.equal(fr[1] & 0x80, 0x80, 'masked');
      assert.equal(fr.length, headLen + 4 + n);
      const mask = fr.subarray(headLen, headLen + 4);
      const un = Buffer.from(fr.subarray(headLen + 4)).map((b, i) => b ^ mask[i & 3]);
      assert.deepEqual(Buffer.from(un), payload);
    }
    const cont = wsClientFrame(Buffer.from('x'), { opcode: 0, fin: false });
    assert.equal(cont[0], 0x00);
  });

  it('inflate reads zlib (RFC 1950) bodies, as §10.6 says the server sends, and refuses gzip', () => {
    const json = { dashBoards: [{ id: 1, name: 'ü' }] };
    assert.deepEqual(inflate(deflateSync(Buffer.from(JSON.stringify(json)))), json);
    assert.throws(() => inflate(gzipSync(Buffer.from(JSON.stringify(json)))), /header/);
  });
});

// ------------------------------------------------------------------------------------------------
// The client against stand-in servers: what the server receives is exactly what the client meant.

describe('app client against stand-in servers (no blynkd)', { skip: which('openssl') ? false : 'openssl not on PATH' }, () => {
  let certs;
  let tlsServer;
  let tlsPort;
  let wsHttps;
  let wsPort;
  const tlsSeen = [];    // {chunks, frames} per connection
  const wsSeen = [];     // messages per connection

  before(async () => {
    const dir = mkTmp('appclient');
    certs = selfSigned(dir);
    const opts = { cert: readFileSync(certs.cert), key: readFileSync(certs.key) };
    // TLS stand-in: decodes app frames with the client's own decoder (its slicing was checked
    // above), answers PING with OK, LOGIN with OK, anything else with a data frame echoing it,
    // and pushes a HARDWARE frame after every CREATE_DASH.
    tlsServer = tls.createServer(opts, (sock) => {
      const seen = { chunks: [], frames: [] };
      tlsSeen.push(seen);
      const dec = new AppStreamDecoder();
      sock.on('data', (d) => {
        seen.chunks.push(Buffer.from(d));
        for (const f of dec.push(d)) {
          seen.frames.push(f);
          if (f.cmd === AppCmd.PING || f.cmd === AppCmd.LOGIN) sock.write(encodeAppResponse(f.msgId, AppStatus.OK));
          else if (f.cmd === AppCmd.CREATE_DASH) {
            sock.write(encodeAppFrame(AppCmd.HARDWARE, 77, ['1-0', 'vw', 1, 'push']));
            sock.write(encodeAppResponse(f.msgId, AppStatus.OK));
          } else if (f.cmd === AppCmd.LOGOUT) sock.end();
          else sock.write(encodeAppFrame(f.cmd, f.msgId, f.body));
        }
      });
      sock.on('error', () => {});
    });
    await new Promise((r) => tlsServer.listen(0, '127.0.0.1', r));
    tlsPort = tlsServer.address().port;
    cleanup.add(() => new Promise((r) => tlsServer.close(r)));

    // /dashws stand-in: one app message per binary websocket message (ws reassembles fragments).
    wsHttps = https.createServer(opts);
    const wss = new WebSocketServer({ server: wsHttps, path: '/dashws' });
    wss.on('connection', (ws) => {
      const msgs = [];
      wsSeen.push(msgs);
      ws.on('message', (data, isBinary) => {
        const m = Buffer.from(data);
        msgs.push({ m, isBinary });
        const cmd = m[0];
        const msgId = m.readUInt16BE(1);
        if (cmd === AppCmd.PING || cmd === AppCmd.LOGIN) ws.send(encodeAppResponse(msgId, AppStatus.OK));
        else ws.send(m);
      });
    });
    await new Promise((r) => wsHttps.listen(0, '127.0.0.1', r));
    wsPort = wsHttps.address().port;
    cleanup.add(() => new Promise((r) => { for (const c of wss.clients) c.terminate(); wsHttps.close(r); }));
  });

  it('tls: login sends the 7-byte frame with the §10.1 hash; request() takes the reply by msgId, next() the push', async () => {
    const app = cleanup.add(await AppClient.connect({ port: tlsPort, transport: 'tls' }));
    await app.login('Me@Example.com', 'pw');
    const seen = tlsSeen.at(-1);
    const login = seen.frames[0];
    assert.equal(login.cmd, AppCmd.LOGIN);
    assert.deepEqual(login.fields, ['Me@Example.com', passHash('me@example.com', 'pw'), 'Android', '2.27.0', 'Blynk']);
    // the push arrives before the reply; request() must still return the reply, next() the push
    await app.createDash({ id: 1, name: 'd' });
    const push = await app.next((f) => f.cmd === AppCmd.HARDWARE);
    assert.deepEqual([push.msgId, push.fields], [77, ['1-0', 'vw', '1', 'push']]);
    const echo = await app.expectData(AppCmd.GET_DEVICES, '1');
    assert.equal(echo.text, '1');
    // a HARDWARE frame echoing a HARDWARE request's msgId is a push, never its reply
    await assert.rejects(app.request(AppCmd.HARDWARE, ['1-0', 'vw', '1', '1'], { timeoutMs: 200 }), /no reply to msgId/);
    const pushed = await app.next((f) => f.cmd === AppCmd.HARDWARE);
    assert.equal(pushed.text, '1-0\0vw\x001\x001');
    await app.expectNothing(50);
    app.end();
  });

  it('tls: writeSplit puts one byte per TLS write; coalesce puts several frames in one write', async () => {
    const app = cleanup.add(await AppClient.connect({ port: tlsPort, transport: 'tls' }));
    await app.ping();   // the server has seen this connection (its callback may come after ours)
    const seen = tlsSeen.at(-1);
    seen.chunks.length = 0;
    const bytes = encodeAppFrame(AppCmd.PING, 500, undefined);
    await app.writeSplit(bytes);
    await app.next((f) => f.msgId === 500 && f.status === AppStatus.OK);
    // the pieces were separate TLS records; paced 1 ms apart, the server's reads saw them apart
    // (not always one read each: a busy machine may still hand two records to one read)
    const splitReads = seen.chunks.length;
    assert.ok(splitReads >= 3, `the 7 pieces came in ${splitReads} reads`);
    const ids = app.coalesce([[AppCmd.PING], [AppCmd.PING], [AppCmd.GET_TAGS, '3']]);
    for (const id of ids) await app.next((f) => f.msgId === id);
    assert.equal(seen.chunks.length, splitReads + 1, 'the three frames came in one read');
    assert.equal(seen.frames.length, 5);
    app.end();
  });

  it('tls: closed() resolves and expectClose() returns when the server ends the connection', async () => {
    const app = cleanup.add(await AppClient.connect({ port: tlsPort, transport: 'tls' }));
    app.send(AppCmd.LOGOUT);
    await app.expectClose(2000);
    assert.ok(await app.closed() > 0);
    await assert.rejects(app.expectNothing(10), /closed/);
  });

  it('ws: messages go to /dashws without a length; fragments of one byte reassemble to one message', async () => {
    const app = cleanup.add(await AppClient.connect({ port: wsPort, transport: 'ws' }));
    await app.login('a@b.c', 'x');
    const msgs = wsSeen.at(-1);
    assert.deepEqual(msgs[0].m.subarray(0, 3), Buffer.from([AppCmd.LOGIN, 0, app.nextId & 0xff]));
    assert.equal(msgs[0].isBinary, true);
    const id = app.sendFragmented(AppCmd.GET_WIDGET, ['1', '2']);
    const back = await app.next((f) => f.msgId === id);
    assert.deepEqual([back.cmd, back.fields], [AppCmd.GET_WIDGET, ['1', '2']]);
    assert.deepEqual(msgs.at(-1).m, encodeWsMessage(AppCmd.GET_WIDGET, id, ['1', '2']));
    const ids = app.coalesce([[AppCmd.PING], [AppCmd.GET_TAGS, '9']]);
    await app.next((f) => f.msgId === ids[0] && f.status === AppStatus.OK);
    await app.next((f) => f.msgId === ids[1] && f.text === '9');
    const frameBytes = app.wireBytes(AppCmd.PING, 900);
    await app.writeSplit(frameBytes);
    await app.next((f) => f.msgId === 900 && f.status === AppStatus.OK);
    app.end();
  });
});
