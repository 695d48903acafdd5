// Hardware login (docs/reference/protocol.md §6, §13), over plain TCP and TLS, raw and with blynk-library.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { existsSync } from 'node:fs';
import { Server, Cmd, Status, Cleanup, frame, RawClient } from '../lib/harness.js';
import { makeDevice } from '../lib/blynklib.js';

const cleanup = new Cleanup();
let srv;
let token;

before(async () => {
  srv = cleanup.add(await Server.start({ name: 'login' }));
  token = await srv.addDevice('login@example.com', 'esp32');
});
after(() => cleanup.run());

describe('hardware login', () => {
  it('HARDWARE_LOGIN (29) with a valid token gets OK echoing msgId 1 (the exact bytes of §13)', async () => {
    const c = cleanup.add(await srv.connect());
    c.write(Buffer.concat([Buffer.from([0x1d, 0x00, 0x01, 0x00, 0x20]), Buffer.from(token, 'ascii')]));
    const f = await c.expectFrame();
    assert.deepEqual({ cmd: f.cmd, msgId: f.msgId, status: f.status }, { cmd: 0, msgId: 1, status: 200 });
    await c.ping(2);
    c.end();
  });

  it('HARDWARE_LOGIN with another msgId is answered with that msgId', async () => {
    const c = cleanup.add(await srv.connect());
    c.send(Cmd.HARDWARE_LOGIN, 4242, token);
    await c.expectResponse(4242, Status.OK);
    c.end();
  });

  it('LOGIN (2) with a token is accepted like HARDWARE_LOGIN', async () => {
    const c = cleanup.add(await srv.connect());
    c.send(Cmd.LOGIN, 1, token);
    await c.expectResponse(1, Status.OK);
    // logged in for real: a write and a sync on this connection work
    c.send(Cmd.HARDWARE, 2, ['vw', 40, 'via-login-2']);
    const [f] = await c.sync(3, ['vr', 40], 1);
    assert.equal(f.body.toString(), 'vw\x0040\x00via-login-2');
    c.end();
  });

  it('a second login on a logged-in connection gets USER_ALREADY_REGISTERED (4) and the connection stays usable', async () => {
    const c = cleanup.add(await srv.login(token));
    c.send(Cmd.HARDWARE_LOGIN, 2, token);
    await c.expectResponse(2, Status.USER_ALREADY_REGISTERED);
    c.send(Cmd.LOGIN, 3, token);
    await c.expectResponse(3, Status.USER_ALREADY_REGISTERED);
    await c.ping(4);
    c.end();
  });

  for (const [what, cmd, body] of [
    ['PING', Cmd.PING, undefined],
    ['HARDWARE', Cmd.HARDWARE, ['vw', 1, 1]],
    ['HARDWARE_SYNC', Cmd.HARDWARE_SYNC, undefined],
    ['INTERNAL info', Cmd.INTERNAL, ['ver', '0.5.4', 'dev', 'js']],
  ]) {
    it(`${what} before login closes the connection without a reply`, async () => {
      const c = cleanup.add(await srv.connect());
      c.send(cmd, 7, body);
      const before = await c.expectClose(3000);
      assert.deepEqual(before, [], 'no frame expected before the close');
    });
  }

  it('unknown or ill-formed tokens get INVALID_TOKEN (9); the connection stays open and can still log in', async () => {
    const c = cleanup.add(await srv.connect());
    c.send(Cmd.HARDWARE_LOGIN, 1, 'ffffffffffffffffffffffffffffffff');
    await c.expectResponse(1, Status.INVALID_TOKEN);
    c.send(Cmd.HARDWARE_LOGIN, 2, 'abc');
    await c.expectResponse(2, Status.INVALID_TOKEN);
    c.send(Cmd.HARDWARE_LOGIN, 3, `${token.slice(0, 16)}\0${token.slice(17)}`);
    await c.expectResponse(3, Status.INVALID_TOKEN);
    c.send(Cmd.HARDWARE_LOGIN, 4, '');
    await c.expectResponse(4, Status.INVALID_TOKEN);
    c.send(Cmd.HARDWARE_LOGIN, 5, token);
    await c.expectResponse(5, Status.OK);
    c.end();
  });

  it('a token with surrounding whitespace (a pasted newline) is trimmed and accepted', async () => {
    const c = cleanup.add(await srv.connect());
    c.send(Cmd.HARDWARE_LOGIN, 1, `${token}\n`);
    await c.expectResponse(1, Status.OK);
    c.end();
    const d = cleanup.add(await srv.connect());
    d.send(Cmd.HARDWARE_LOGIN, 1, ` ${token} `);
    await d.expectResponse(1, Status.OK);
    d.end();
  });

  it('a login frame sent one byte at a time, and several frames in one write, are both understood', async () => {
    const c = cleanup.add(await srv.connect());
    const bytes = frame(Cmd.HARDWARE_LOGIN, 1, token);
    for (const b of bytes.subarray(0, bytes.length - 1)) {
      c.write(Buffer.from([b]));
      // Let each byte leave as its own segment (TCP_NODELAY is on): a bounded silence check.
      await c.expectNothing(2);
    }
    c.write(bytes.subarray(bytes.length - 1));
    await c.expectResponse(1, Status.OK);
    c.write(Buffer.concat([frame(Cmd.PING, 10), frame(Cmd.PING, 11), frame(Cmd.PING, 12)]));
    await c.expectResponse(10, Status.OK);
    await c.expectResponse(11, Status.OK);
    await c.expectResponse(12, Status.OK);
    c.end();
  });

  it('a login pipelined with commands in one write (token not loaded yet) is answered in order', async () => {
    const fresh = await srv.addDevice('login@example.com', 'pipelined');
    const c = cleanup.add(await srv.connect());
    c.write(Buffer.concat([
      frame(Cmd.HARDWARE_LOGIN, 1, fresh), frame(Cmd.PING, 2),
      frame(Cmd.HARDWARE, 3, ['vw', 1, 'early']), frame(Cmd.HARDWARE_SYNC, 4, ['vr', 1]),
    ]));
    await c.expectResponse(1, Status.OK);
    await c.expectResponse(2, Status.OK);
    const f = await c.expectFrame();
    assert.ok(f.cmd === Cmd.HARDWARE && f.msgId === 4, JSON.stringify(f));
    assert.equal(f.body.toString(), 'vw\x001\x00early');
    c.end();
  });

  it('10 simultaneous first logins with the same fresh token all get OK', async () => {
    const fresh = await srv.addDevice('login@example.com', 'stampede');
    const cs = await Promise.all(Array.from({ length: 10 }, () => srv.connect()));
    cs.forEach((c) => cleanup.add(c));
    cs.forEach((c) => c.send(Cmd.HARDWARE_LOGIN, 1, fresh));
    await Promise.all(cs.map((c) => c.expectResponse(1, Status.OK)));
    cs.forEach((c) => c.end());
  });

  it('200 devices connecting at once all log in and get their PING answered', async () => {
    const tokens = [token, await srv.addDevice('login@example.com', 'crowd')];
    const clients = await Promise.all(Array.from({ length: 200 }, () => srv.connect()));
    clients.forEach((c) => cleanup.add(c));
    await Promise.all(clients.map((c, i) => c.login(tokens[i % 2])));
    await Promise.all(clients.map((c, i) => c.ping(1000 + i)));
    clients.forEach((c) => c.end());
  });

  it('blynk-library (TcpClient) logs in and emits connect', async () => {
    const b = cleanup.add(makeDevice(token, { port: srv.hwPort }));
    await b.whenConnected(5000);
    assert.ok(!b.events.some((e) => e.ev === 'error'), JSON.stringify(b.events));
    b.close();
  });

  it('blynk-library with a bad token gets INVALID_TOKEN, stops trying, and the server keeps serving', async () => {
    const b = cleanup.add(makeDevice('0000000000000000000000000000beef', { port: srv.hwPort }));
    const [err] = await b.whenEvent('error', 5000);
    assert.equal(err, 'INVALID_TOKEN');
    assert.ok(!b.events.some((e) => e.ev === 'connect'));
    assert.equal(b.timerConn, null, 'the library should have stopped its reconnect loop');
    b.close();
    assert.ok(srv.running, 'server must still run');
    const c = cleanup.add(await srv.login(token));
    await c.ping(2);
    c.end();
  });
});

describe('TLS port', () => {
  it('generates a self-signed certificate into <data_dir>/tls/ at first start', () => {
    assert.ok(existsSync(srv.certPath), srv.certPath);
    assert.ok(existsSync(srv.keyPath), srv.keyPath);
  });

  it('the generated certificate verifies as its own CA for its name', async () => {
    const name = srv.certName();
    const sock = tls.connect({ host: '127.0.0.1', port: srv.tlsPort, ca: srv.cert(), servername: name, rejectUnauthorized: false });
    try {
      await new Promise((resolve, reject) => { sock.once('secureConnect', resolve); sock.once('error', reject); });
      assert.equal(sock.authorized, true, `not authorized for ${name}: ${sock.authorizationError}`);
      assert.ok(['TLSv1.2', 'TLSv1.3'].includes(sock.getProtocol()), sock.getProtocol());
    } finally {
      sock.destroy();
    }
  });

  it('raw HARDWARE_LOGIN over TLS gets OK and PING works', async () => {
    const c = cleanup.add(await srv.connect({ tls: true }));
    await c.login(token);
    await c.ping(77);
    c.end();
  });

  it('LOGIN (2) over TLS is recognised as hardware too', async () => {
    const c = cleanup.add(await srv.connect({ tls: true }));
    c.send(Cmd.LOGIN, 1, token);
    await c.expectResponse(1, Status.OK);
    await c.ping(2);
    c.end();
  });

  it('TLS 1.1 is refused (TLS 1.2 minimum)', async () => {
    const sock = tls.connect({
      host: '127.0.0.1', port: srv.tlsPort, rejectUnauthorized: false,
      minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0',
    });
    const outcome = await new Promise((resolve) => {
      const t = setTimeout(() => resolve('timeout'), 5000);
      sock.once('secureConnect', () => { clearTimeout(t); resolve(`connected with ${sock.getProtocol()}`); });
      sock.once('error', (e) => { clearTimeout(t); resolve(`error: ${e.code || e.message}`); });
      sock.once('close', () => { clearTimeout(t); resolve('closed'); });
    });
    sock.destroy();
    assert.match(outcome, /^(error|closed)/, outcome);
  });

  it('blynk-library (SslClient) with the generated cert as CA logs in, and its virtualWrite is stored', async () => {
    const b = cleanup.add(makeDevice(token, { port: srv.tlsPort, tls: { ca: srv.cert(), servername: srv.certName() } }));
    await b.whenConnected(5000);
    b.virtualWrite(41, 'over-tls');
    const c = cleanup.add(await srv.login(token));
    await c.pollPin(41, ['over-tls']);
    c.end();
    b.close();
  });

  it('a TLS connection that sends plain bytes does not disturb the server', async () => {
    const c = cleanup.add(await RawClient.connect(srv.tlsPort));   // plain TCP to the TLS port
    c.send(Cmd.HARDWARE_LOGIN, 1, token);
    await c.expectClose(5000).catch(() => c.close());
    const ok = cleanup.add(await srv.login(token, { tls: true }));
    await ok.ping(3);
    ok.end();
  });
});
