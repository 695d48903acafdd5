// App accounts on the TLS port and /dashws (protocol.md §2.2, §2.3, §10.1, §10.2; issue 12 "Accounts"):
// REGISTER, LOGIN right/wrong/unknown, an account made by `blynkd user add` logs in from the app,
// several sessions per user, what is refused before login, and hardware-over-TLS beside apps on the
// same port. Exact answers are the legacy server's (blynkkk/blynk-server 0.41.x): the handler or
// integration test each one was read from is named in the test.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, Cleanup, Cmd, Status } from '../lib/harness.js';
import { AppCmd, AppStatus, passHash } from '../lib/app_client.js';
import { openApp, newAccount, session, uniqueEmail } from '../lib/app_setup.js';
import { makeDevice } from '../lib/blynklib.js';

const cleanup = new Cleanup();
let srv;

before(async () => {
  srv = cleanup.add(await Server.start({ name: 'app-accounts' }));
});
after(() => cleanup.run());

describe('app accounts', () => {
  // MainWorkflowTest.createBasicProfile: register ok(1) then login ok(2) on the same connection.
  it('REGISTER a new e-mail is OK, and LOGIN on the same connection and on a new one is OK', async () => {
    const email = uniqueEmail('reg');
    const app = await openApp(srv, cleanup);
    await app.register(email, 'pass-1');
    await app.login(email, 'pass-1');
    await app.ping();
    const again = await session(srv, cleanup, email, 'pass-1');
    await again.ping();
    app.end();
    again.end();
  });

  // MobileRegisterHandler: userDao.isUserExists → alreadyRegistered.
  it('REGISTER an existing e-mail is USER_ALREADY_REGISTERED (4), also in other letter case', async () => {
    const { email } = await newAccount(srv, cleanup);
    const a = await openApp(srv, cleanup);
    await a.register(email, 'other', { expect: AppStatus.USER_ALREADY_REGISTERED });
    const b = await openApp(srv, cleanup);
    await b.register(email.toUpperCase(), 'other', { expect: AppStatus.USER_ALREADY_REGISTERED });
    a.end();
    b.end();
  });

  // MainWorkflowTest.registrationAllowedOnlyOncePerConnection: notAllowed(2), then closed
  // (the register handler leaves the pipeline; UserNotLoggedHandler answers REGISTER with NOT_ALLOWED and closes).
  it('a second REGISTER on a connection that registered is NOT_ALLOWED (6) and the connection is closed', async () => {
    const app = await openApp(srv, cleanup);
    await app.register(uniqueEmail('once'), 'x');
    await app.register(uniqueEmail('twice'), 'x', { expect: AppStatus.NOT_ALLOWED });
    await app.expectClose(3000);
  });

  // MainWorkflowTest.doNotAllowUsersWithQuestionMark: illegalCommand(1);
  // MobileRegisterHandler: fewer than 3 fields → illegalCommand.
  it('REGISTER with an invalid e-mail or without the app name is ILLEGAL_COMMAND (2); the connection stays usable', async () => {
    const app = await openApp(srv, cleanup);
    await app.expectStatus(AppCmd.REGISTER, ['te?st@test.com', passHash('te?st@test.com', '1'), 'Blynk'], AppStatus.ILLEGAL_COMMAND);
    await app.expectStatus(AppCmd.REGISTER, ['not-an-email', passHash('not-an-email', '1'), 'Blynk'], AppStatus.ILLEGAL_COMMAND);
    const email = uniqueEmail('short');
    await app.expectStatus(AppCmd.REGISTER, [email, passHash(email, '1')], AppStatus.ILLEGAL_COMMAND);
    // nothing was registered: the same e-mail registers now
    await app.register(email, '1');
    app.end();
  });

  // MobileLoginHandler.blynkLogin: unknown → notRegistered, wrong → notAuthenticated; no close:
  // MainWorkflowTest.testResetEmail logs in with the wrong password, then the right one, on one connection.
  it('LOGIN: right hash OK, wrong hash USER_NOT_AUTHENTICATED (5), unknown e-mail USER_NOT_REGISTERED (3); the connection stays open after a refusal', async () => {
    const { email, password } = await newAccount(srv, cleanup);
    const app = await openApp(srv, cleanup);
    await app.login(uniqueEmail('nobody'), 'x', { expect: AppStatus.USER_NOT_REGISTERED });
    await app.login(email, `${password}-wrong`, { expect: AppStatus.USER_NOT_AUTHENTICATED });
    await app.login(email, 'x', { expect: AppStatus.USER_NOT_AUTHENTICATED, hash: password });   // the plain password is not the hash
    await app.login(email, password);
    await app.ping();
    app.end();
  });

  // MobileLoginHandler: email lower-cased; fewer than 2 fields → illegalCommand; 2 fields → Blynk app.
  it('LOGIN lower-cases the e-mail, accepts `email\\0hash` alone, and a body of one field is ILLEGAL_COMMAND (2)', async () => {
    const { email, password } = await newAccount(srv, cleanup);
    const a = await openApp(srv, cleanup);
    await a.expectStatus(AppCmd.LOGIN, email, AppStatus.ILLEGAL_COMMAND);
    await a.expectStatus(AppCmd.LOGIN, [email.toUpperCase(), passHash(email, password)], AppStatus.OK);
    await a.ping();
    a.end();
  });

  it('an account made by `blynkd user add --password P` logs in from the app with the legacy hash of P, and not with another', async () => {
    const email = uniqueEmail('cli');
    const r = await srv.cli(['user', 'add', '--email', email, '--password', 'cli-secret-9']);
    assert.equal(r.code, 0, `user add failed: ${r.stderr}`);
    const app = await openApp(srv, cleanup);
    await app.login(email, 'cli-secret-9x', { expect: AppStatus.USER_NOT_AUTHENTICATED });
    await app.login(email, 'cli-secret-9');
    await app.ping();
    // the app can use it at once: a dashboard is created
    await app.createDash({ id: 1, name: 'from cli account' });
    app.end();
    // and REGISTER of that e-mail is refused
    const reg = await openApp(srv, cleanup);
    await reg.register(email, 'x', { expect: AppStatus.USER_ALREADY_REGISTERED });
    reg.end();
  });

  // Issue 12 item 5: a device added by the CLI lands in a dashboard the app can see.
  it('a device added by `blynkd device add` for an app account shows in the app\'s profile with its token', async () => {
    const { app, email } = await newAccount(srv, cleanup);
    const token = await srv.addDevice(email, 'cli-board');
    const profile = await app.loadProfile();
    const found = (profile.dashBoards || []).flatMap((d) => (d.devices || []).map((x) => ({ dash: d.id, ...x })))
      .filter((x) => x.name === 'cli-board');
    assert.equal(found.length, 1, JSON.stringify(profile));
    assert.equal(found[0].token, token);
    const listed = await app.getDevices(found[0].dash);
    assert.ok(listed.some((x) => x.token === token && x.status === 'OFFLINE'));
    app.end();
  });

  // MobileLoginHandler: several app channels per user (session.addAppChannel).
  it('several sessions of one user, on both transports, are logged in at once', async () => {
    const { app, email, password } = await newAccount(srv, cleanup);
    const b = await session(srv, cleanup, email, password, 'tls');
    const c = await session(srv, cleanup, email, password, 'ws');
    for (const s of [app, b, c]) await s.ping();
    for (const s of [app, b, c]) s.end();
  });

  // §10.2: a second LOGIN on a logged-in connection is ignored (the login handler left the pipeline).
  it('a second LOGIN on a logged-in connection gets no reply and the session goes on', async () => {
    const { app, email, password } = await newAccount(srv, cleanup);
    app.send(AppCmd.LOGIN, [email, passHash(email, password), 'Android', '2.27.0', 'Blynk']);
    await app.expectNothing(300);
    await app.ping();
    app.end();
  });

  // MobileLogoutLogic: ok(msgId) then ctx.close().
  it('LOGOUT is OK and then the connection is closed', async () => {
    const { app } = await newAccount(srv, cleanup);
    await app.expectStatus(AppCmd.LOGOUT, undefined, AppStatus.OK);
    await app.expectClose(3000);
  });

  // §4 GET_SERVER (accepted before login): cmd 40 with the host that serves the user.
  it('GET_SERVER before login answers cmd 40 with a host name, and LOGIN still works after it', async () => {
    const { email, password } = await newAccount(srv, cleanup);
    const app = await openApp(srv, cleanup);
    const f = await app.expectData(AppCmd.GET_SERVER, [email, 'Blynk']);
    assert.ok(f.text.length > 0 && !f.text.includes('\0'), `GET_SERVER body ${JSON.stringify(f.text)}`);
    await app.login(email, password);
    app.end();
  });

  // MobileGetServerHandler: < 2 fields → illegalCommand; an invalid e-mail → illegalCommandBody.
  it('GET_SERVER without the app name is ILLEGAL_COMMAND (2), with an invalid e-mail ILLEGAL_COMMAND_BODY (11)', async () => {
    const app = await openApp(srv, cleanup);
    await app.expectStatus(AppCmd.GET_SERVER, 'someone@example.com', AppStatus.ILLEGAL_COMMAND);
    await app.expectStatus(AppCmd.GET_SERVER, ['not an email', 'Blynk'], AppStatus.ILLEGAL_COMMAND_BODY);
    app.end();
  });

  // MainWorkflowTest.testClosedConnectionWhenNotLogged: getDevice before login → no reply, closed;
  // UserNotLoggedHandler closes on anything but the pre-login commands.
  for (const transport of ['tls', 'ws']) {
    for (const [what, cmd, body] of [
      ['PING', AppCmd.PING, undefined],
      ['MOBILE_GET_DEVICE', AppCmd.MOBILE_GET_DEVICE, ['1', '0']],
      ['CREATE_DASH', AppCmd.CREATE_DASH, '{"id":1,"name":"x"}'],
      ['LOAD_PROFILE_GZIPPED', AppCmd.LOAD_PROFILE_GZIPPED, undefined],
      ['HARDWARE', AppCmd.HARDWARE, ['1-0', 'vw', '1', '1']],
    ]) {
      it(`${transport}: ${what} before login closes the connection without a reply`, async () => {
        const app = await openApp(srv, cleanup, transport);
        app.send(cmd, body);
        const before = await app.expectClose(3000);
        assert.deepEqual(before, [], 'no frame expected before the close');
      });
    }
  }

  // MobileAndHttpsServer.initWebDashboardSocket: /dashws has only GetServer, Login and NotLogged
  // before login, so REGISTER meets UserNotLoggedHandler: NOT_ALLOWED, then close.
  it('ws: REGISTER on /dashws is NOT_ALLOWED (6) and closes; nothing was registered', async () => {
    const email = uniqueEmail('wsreg');
    const ws = await openApp(srv, cleanup, 'ws');
    await ws.register(email, 'x', { expect: AppStatus.NOT_ALLOWED });
    await ws.expectClose(3000);
    const app = await openApp(srv, cleanup);
    await app.login(email, 'x', { expect: AppStatus.USER_NOT_REGISTERED });
    app.end();
  });

  it('ws: LOGIN right/wrong/unknown on /dashws answers as on TLS', async () => {
    const { email, password } = await newAccount(srv, cleanup);
    const ws = await openApp(srv, cleanup, 'ws');
    await ws.login(uniqueEmail('nobody'), 'x', { expect: AppStatus.USER_NOT_REGISTERED });
    await ws.login(email, 'wrong', { expect: AppStatus.USER_NOT_AUTHENTICATED });
    await ws.login(email, password);
    await ws.ping();
    ws.end();
  });
});

describe('hardware and apps on the one TLS port (the first-bytes sniffing of §1)', () => {
  // §1: `1D 00 01 00 20` or `02 00 01 00 20` first → hardware pipeline; anything else → app.
  async function hardwareOverTls(token) {
    const hw = cleanup.add(await srv.connect({ tls: true }));
    hw.write(Buffer.concat([Buffer.from([0x1d, 0x00, 0x01, 0x00, 0x20]), Buffer.from(token, 'ascii')]));
    await hw.expectResponse(1, Status.OK);
    await hw.ping(2);
    // LOGIN (2) with a token, msgId 1, 32-byte body is hardware too (`02 00 01 00 20`)
    const hw2 = cleanup.add(await srv.connect({ tls: true }));
    hw2.send(Cmd.LOGIN, 1, token);
    await hw2.expectResponse(1, Status.OK);
    await hw2.ping(2);
    // the real library over TLS
    const b = makeDevice(token, { port: srv.tlsPort, tls: { ca: srv.cert(), servername: srv.certName() } });
    cleanup.add(b);
    await b.whenConnected();
    return [hw, hw2, b];
  }

  it('a hardware login over TLS (1D 00 01 00 20 + token, or 02 00 01 00 20) is OK, raw and with the library', async () => {
    const token = await srv.addDevice(uniqueEmail('hw'), 'tls-board');
    const [hw, hw2, b] = await hardwareOverTls(token);
    b.close();
    hw.end();
    hw2.end();
  });

  it('the same, while app sessions (TLS and /dashws) are open on that port and keep working', async () => {
    const { app, email, password } = await newAccount(srv, cleanup);
    const ws = await session(srv, cleanup, email, password, 'ws');
    const token = await srv.addDevice(uniqueEmail('hw'), 'tls-board-2');
    const [hw, hw2, b] = await hardwareOverTls(token);
    await app.ping();
    await ws.ping();
    await hw.ping(3);
    b.close();
    for (const c of [hw, hw2, app, ws]) c.end();
  });
});
