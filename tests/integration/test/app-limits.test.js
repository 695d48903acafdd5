// App-side limits (issue 12 "Model and storage": legacy limits with their defaults and codes; the
// `[app]` keys of config/blynk.toml): dashboards per user, devices, profile size, body size on both
// transports, hourly registrations, and registration switched off. Small limits so that reaching
// them is cheap. Exact answers are the legacy server's where it had the limit (each test names the
// handler); where it had none (max_body's answer, allow_registration) the answer is the one the
// issue/task fixed for blynkd.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { Server, Cleanup, renderToml } from '../lib/harness.js';
import { AppCmd, AppStatus, encodeAppFrame } from '../lib/app_client.js';
import { openApp, session, uniqueEmail } from '../lib/app_setup.js';

const LIMITS = {
  registrations_per_hour: 12,
  max_dashboards: 2,
  max_devices: 2,
  max_profile_kb: 2,
  max_body: 8192,
  message_quota: 20,
  idle_timeout: 2,
};

const cleanup = new Cleanup();
let srv;
let registered = 0;    // successful REGISTERs in this file, for the hourly limit

before(async () => {
  srv = cleanup.add(await Server.start({ name: 'app-limits', config: { app: { ...LIMITS } } }));
});
after(() => cleanup.run());

async function account(transport = 'tls') {
  const email = uniqueEmail('lim');
  const reg = await openApp(srv, cleanup);
  await reg.register(email, 'pw');
  registered += 1;
  reg.close();
  return { app: await session(srv, cleanup, email, 'pw', transport), email };
}

describe('app limits', () => {
  // MobileCreateDashLogic: profile.dashBoards.length >= dashboardsLimit → QuotaLimitException.
  it('max_dashboards (2): the third CREATE_DASH is QUOTA_LIMIT (1) and creates nothing', async () => {
    const { app } = await account();
    await app.createDash({ id: 1, name: 'one' });
    await app.createDash({ id: 2, name: 'two' });
    await app.createDash({ id: 3, name: 'three' }, { expect: AppStatus.QUOTA_LIMIT });
    const profile = await app.loadProfile();
    assert.deepEqual(profile.dashBoards.map((d) => d.id).sort(), [1, 2]);
    // deleting one makes room again
    await app.expectStatus(AppCmd.DELETE_DASH, '2', AppStatus.OK);
    await app.createDash({ id: 3, name: 'three' });
    app.end();
  });

  // MobileCreateDeviceLogic: dash.devices.length > deviceLimit → NotAllowedException. (The legacy
  // check lets one device past the limit — `>` where `>=` was meant; either is accepted for the
  // device just past it, the one after must be refused.)
  it('max_devices (2): CREATE_DEVICE past the limit is NOT_ALLOWED (6) and the refused device does not exist', async () => {
    const { app } = await account();
    await app.createDash({ id: 1, name: 'devices' });
    for (const id of [0, 1]) {
      const d = await app.createDevice(1, { id, name: `d${id}` });
      assert.equal(d.id, id);
    }
    let refusedId = -1;
    for (const id of [2, 3]) {
      const f = await app.request(AppCmd.CREATE_DEVICE, ['1', JSON.stringify({ id, name: `d${id}` })]);
      if (f.cmd === AppCmd.RESPONSE) {
        assert.equal(f.status, AppStatus.NOT_ALLOWED, `device ${id}`);
        refusedId = id;
        break;
      }
      assert.equal(f.cmd, AppCmd.CREATE_DEVICE);
      assert.equal(id, 2, 'at most one device past the limit (the legacy off-by-one)');
    }
    assert.ok(refusedId >= 2, 'a device past the limit was refused');
    const devices = await app.getDevices(1);
    assert.ok(!devices.some((d) => d.id === refusedId), `the refused device ${refusedId} is not listed`);
    assert.ok(devices.length <= LIMITS.max_devices + 1);
    app.end();
  });

  // MobileCreateDashLogic: dashString.length > profileSizeLimitBytes → NotAllowedException.
  it('max_profile_kb (2): a dashboard JSON larger than the profile limit is NOT_ALLOWED (6) and not created', async () => {
    const { app } = await account();
    const big = { id: 7, name: 'big', widgets: [] };
    for (let i = 0; JSON.stringify(big).length <= 3000; i++) {
      big.widgets.push({ type: 'BUTTON', id: i + 1, x: 0, y: i, width: 1, height: 1, label: `button number ${i}`, pinType: 'VIRTUAL', pin: i % 100 });
    }
    await app.createDash(big, { expect: AppStatus.NOT_ALLOWED });
    const profile = await app.loadProfile();
    assert.ok(!(profile.dashBoards || []).some((d) => d.id === 7));
    await app.ping();
    app.end();
  });

  for (const transport of ['tls', 'ws']) {
    it(`${transport}: max_body (8192): a body of max_body is read; one byte more is ILLEGAL_COMMAND (2) and the connection is closed`, async () => {
      const { app } = await account(transport);
      const atLimit = await app.request(AppCmd.PING, Buffer.alloc(LIMITS.max_body, 0x61));
      assert.deepEqual([atLimit.cmd, atLimit.status], [AppCmd.RESPONSE, AppStatus.OK]);
      const id = app.send(AppCmd.PING, Buffer.alloc(LIMITS.max_body + 1, 0x61));
      const f = await app.next(() => true, 3000, 'the answer to the oversized frame');
      assert.deepEqual([f.cmd, f.msgId, f.status], [AppCmd.RESPONSE, id, AppStatus.ILLEGAL_COMMAND]);
      await app.expectClose(3000);
    });
  }

  it('tls: a header announcing a 4 GB body is ILLEGAL_COMMAND (2) and closed at once, without waiting for the body', async () => {
    const { app } = await account();
    const head = encodeAppFrame(AppCmd.CREATE_DASH, 4242, undefined);
    head.writeUInt32BE(0xffffffff, 3);
    app.writeRaw(head);
    const f = await app.next(() => true, 3000, 'the answer to the huge header');
    assert.deepEqual([f.cmd, f.msgId, f.status], [AppCmd.RESPONSE, 4242, AppStatus.ILLEGAL_COMMAND]);
    await app.expectClose(3000);
  });

  // §11 (QuotaLimitChecker, per connection, as hardware): over the quota messages are dropped and
  // at most one QUOTA_LIMIT a minute is sent, with a dropped message's msgId; the connection stays.
  it('message_quota (20/s): a flood of PINGs gets exactly one QUOTA_LIMIT (1) among fewer OKs than PINGs; the session stays open', async () => {
    const { app } = await account();
    const sent = new Set();
    let quota = null;
    for (let round = 0; round < 4 && !quota; round++) {
      const ids = app.coalesce(Array.from({ length: 200 }, () => [AppCmd.PING]));
      for (const id of ids) sent.add(id);
      try {
        quota = await app.next((f) => f.cmd === AppCmd.RESPONSE && f.status !== AppStatus.OK, 1200, 'QUOTA_LIMIT');
      } catch (e) {
        if (app.isClosed) throw e;
      }
    }
    assert.ok(quota, 'no QUOTA_LIMIT after 800 PINGs');
    assert.equal(quota.status, AppStatus.QUOTA_LIMIT);
    assert.ok(sent.has(quota.msgId), `QUOTA_LIMIT msgId ${quota.msgId} is one of the PINGs`);
    const rest = await app.collect(() => true, { quietMs: 500, timeoutMs: 3000 });
    const all = [...app.received];
    assert.equal(all.filter((f) => f.status === AppStatus.QUOTA_LIMIT).length, 1, 'one QUOTA_LIMIT');
    assert.ok(all.filter((f) => f.status === AppStatus.OK).length < sent.size, 'some PINGs were dropped');
    assert.ok(rest.every((f) => f.cmd === AppCmd.RESPONSE));
    assert.equal(app.isClosed, false);
    app.close();
  });

  // Limits.appIdleTimeout (app.socket.idle.timeout): reader-idle → the socket is closed.
  it('idle_timeout (2 s): a session that sends nothing is closed after about 2 s; one that pings is not', async () => {
    const { app: busy } = await account('ws');
    const pinger = setInterval(() => { if (!busy.isClosed) busy.send(AppCmd.PING); }, 500);
    try {
      const { app: idle } = await account();
      await idle.expectClose(6000);
      const after = idle.closedAt - idle.lastSentAt;
      assert.ok(after >= 1900, `closed ${after} ms after its last message, before the 2 s idle timeout`);
      assert.equal(busy.isClosed, false, 'the session that pings is still open');
    } finally {
      clearInterval(pinger);
    }
    busy.close();
  });

  // MobileRegisterHandler: registrationLimitChecker.isLimitReached() → notAllowed (no close);
  // RegistrationLimitCheckTest: 100 OK, the 101st NOT_ALLOWED.
  it('registrations_per_hour (12): the REGISTER after the twelfth of the hour is NOT_ALLOWED (6) and registers nothing', async () => {
    while (registered < LIMITS.registrations_per_hour) await account();
    const email = uniqueEmail('late');
    const app = await openApp(srv, cleanup);
    await app.register(email, 'pw', { expect: AppStatus.NOT_ALLOWED });
    await app.login(email, 'pw', { expect: AppStatus.USER_NOT_REGISTERED });
    app.end();
  });

  // No legacy switch; a refused REGISTER is NOT_ALLOWED as for the hourly limit.
  it('allow_registration = false: REGISTER is NOT_ALLOWED (6); existing accounts still log in', async () => {
    const email = uniqueEmail('when-off');
    // restart with registration off and an hourly budget so large that only the switch can refuse
    await srv.stop();
    srv.config.app = { ...LIMITS, registrations_per_hour: 1000, allow_registration: false };
    writeFileSync(srv.configPath, `${renderToml(srv.config)}\n`);
    await srv.launch();
    const app = await openApp(srv, cleanup);
    await app.register(email, 'pw', { expect: AppStatus.NOT_ALLOWED });
    app.end();
    const cli = uniqueEmail('cli-when-off');
    const r = await srv.cli(['user', 'add', '--email', cli, '--password', 'pw2']);
    assert.equal(r.code, 0, r.stderr);
    await (await session(srv, cleanup, cli, 'pw2')).ping();
  });
});
