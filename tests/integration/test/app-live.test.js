// Live traffic between app sessions and a real npm blynk-library device (protocol.md §4, §6, §8,
// §9, §10.4–10.6; issue 12 "Tests"): dashboard, device and token from the app; the device logs in
// with the token and every app session of the user is told; app writes reach BLYNK_WRITE; device
// writes reach every session of the user and none of another; DEACTIVATE stops forwarding; ACTIVATE
// replays the stored state; the profile (zlib); DEVICE_OFFLINE; REFRESH_TOKEN. The whole flow runs
// twice: once with the first session on TLS and once on /dashws (the second session of the user is
// always on the other transport). Exact answers are the legacy server's; each test names its source.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, Cleanup, Cmd, Status } from '../lib/harness.js';
import { AppCmd, AppStatus, ServerMsgId } from '../lib/app_client.js';
import { newAccount, session, dashWithDevice, libDevice, widget } from '../lib/app_setup.js';
import { nextVirtualWrite } from '../lib/blynklib.js';

const cleanup = new Cleanup();
let srv;

before(async () => {
  srv = cleanup.add(await Server.start({ name: 'app-live' }));
});
after(() => cleanup.run());

const isCmd = (cmd) => (f) => f.cmd === cmd;

for (const transport of ['tls', 'ws']) {
  const other = transport === 'tls' ? 'ws' : 'tls';

  describe(`live: first session on ${transport}, second on ${other}, a blynk-library device`, () => {
    let a1;          // the user's session on `transport`
    let a2;          // the same user's session on `other`
    let stranger;    // another user with the same dash and device ids, its dash active
    let dev;         // device JSON from CREATE_DEVICE (with token)
    let b;           // the npm blynk-library device

    before(async () => {
      const acc = await newAccount(srv, cleanup, { transport });
      a1 = acc.app;
      a2 = await session(srv, cleanup, acc.email, acc.password, other);
      dev = await dashWithDevice(a1, {
        dashId: 1, deviceId: 0, widgets: [widget(1, 5, { type: 'LABELED_VALUE_DISPLAY' }), widget(2, 6, { type: 'SLIDER' })],
      });
      const st = await newAccount(srv, cleanup, { transport });
      stranger = st.app;
      await dashWithDevice(stranger, { dashId: 1, deviceId: 0 });
      const r = await stranger.request(AppCmd.ACTIVATE_DASHBOARD, '1');
      assert.equal(r.status, AppStatus.DEVICE_NOT_IN_NETWORK);
    });

    // MainWorkflowTest.testGetTokenWorksWithNewFormats, DeviceWorkflowTest (getDevices status).
    it('CREATE_DEVICE answered cmd 42 with a 32-char token; the profile and GET_DEVICES (cmd 45) hold it, OFFLINE', async () => {
      assert.equal(dev.id, 0);
      assert.match(dev.token, /^[A-Za-z0-9_-]{32}$/);
      const devices = await a2.getDevices(1);
      assert.equal(devices.length, 1);
      assert.deepEqual([devices[0].id, devices[0].token, devices[0].status], [0, dev.token, 'OFFLINE']);
      const got = JSON.parse((await a1.expectData(AppCmd.MOBILE_GET_DEVICE, ['1', '0'])).text);
      assert.equal(got.token, dev.token);
      const profile = await a1.loadProfile();
      const dash = profile.dashBoards.find((d) => d.id === 1);
      assert.ok(dash, `dash 1 in ${JSON.stringify(profile)}`);
      assert.equal(dash.devices[0].token, dev.token, 'the owner view carries device tokens');
      assert.deepEqual(dash.widgets.map((w) => [w.id, w.type, w.pin]), [[1, 'LABELED_VALUE_DISPLAY', 5], [2, 'SLIDER', 6]]);
    });

    // MainWorkflowTest.testDashCommands: activate with no hardware online → DEVICE_NOT_IN_NETWORK.
    it('ACTIVATE with no device online is DEVICE_NOT_IN_NETWORK (7), echoed to the other session; the dashboard is active afterwards', async () => {
      const r = await a1.request(AppCmd.ACTIVATE_DASHBOARD, '1');
      assert.deepEqual([r.cmd, r.status], [AppCmd.RESPONSE, AppStatus.DEVICE_NOT_IN_NETWORK]);
      // the user's other session is told (ACTIVATE echoed with the request's msgId); no values yet, so no APP_SYNC
      const echo = await a2.next(isCmd(AppCmd.ACTIVATE_DASHBOARD), 3000, 'ACTIVATE echo');
      assert.deepEqual([echo.msgId, echo.text], [r.msgId, '1']);
      const dash = (await a1.loadProfile(1));
      assert.equal(dash.isActive, true);
      await a1.expectNothing(100);
      await a2.expectNothing(0);
    });

    // §6 step 4; MainWorkflowTest.testNoEmptyPMCommands: hardwareConnected(1, "1-1") with the login's msgId.
    it('the library device logs in with the token: every session of the user gets HARDWARE_CONNECTED (4) `1-0` with msgId 1; the other user none', async () => {
      b = await libDevice(srv, cleanup, dev.token);
      for (const s of [a1, a2]) {
        const f = await s.next(isCmd(AppCmd.HARDWARE_CONNECTED), 3000, 'HARDWARE_CONNECTED');
        assert.deepEqual([f.msgId, f.text], [1, '1-0']);
      }
      await stranger.expectNothing(200);
      const devices = await a1.getDevices(1);
      assert.equal(devices[0].status, 'ONLINE');
    });

    // §9 hardware → app; ShareProfileWorkflowTest.checkBothClientsReceiveMessage: hardware(1, "1-0 aw 3 151").
    it('a device virtualWrite reaches every session of the user as HARDWARE (20) `1-0\\0vw\\0pin\\0value` with the device\'s msgId; the other user gets nothing', async () => {
      b.virtualWrite(5, 'hello');
      const id = b.msg_id;
      for (const s of [a1, a2]) {
        const f = await s.next(isCmd(AppCmd.HARDWARE), 3000, 'forwarded device write');
        assert.deepEqual([f.msgId, f.text], [id, '1-0\0vw\x005\0hello']);
      }
      b.virtualWrite(5, ['x', 'y']);   // multi-value write keeps its fields
      const id2 = b.msg_id;
      const f = await a2.next(isCmd(AppCmd.HARDWARE));
      assert.deepEqual([f.msgId, f.text], [id2, '1-0\0vw\x005\0x\0y']);
      await a1.next(isCmd(AppCmd.HARDWARE));
      await stranger.expectNothing(300);
    });

    // §9 app → server; ShareProfileWorkflowTest.testMasterMasterSyncWorksWithoutToken: the other
    // session gets produce(msgId, APP_SYNC, "1 vw 1 1") (the original body); no reply on success.
    it('an app write reaches the device\'s BLYNK_WRITE; the user\'s other session gets APP_SYNC (25) with the body and msgId; the writer no reply', async () => {
      const onV6 = nextVirtualWrite(b, 6);
      const id = a1.send(AppCmd.HARDWARE, ['1-0', 'vw', 6, '42']);
      assert.deepEqual(await onV6, ['42']);
      const f = await a2.next(isCmd(AppCmd.APP_SYNC), 3000, 'APP_SYNC of the write');
      assert.deepEqual([f.msgId, f.text], [id, '1-0\0vw\x006\x0042']);
      // and the other way round
      const onV6b = nextVirtualWrite(b, 6);
      const id2 = a2.send(AppCmd.HARDWARE, ['1-0', 'vw', 6, '43']);
      assert.deepEqual(await onV6b, ['43']);
      const g = await a1.next(isCmd(AppCmd.APP_SYNC));
      assert.deepEqual([g.msgId, g.text], [id2, '1-0\0vw\x006\x0043']);
      await a1.expectNothing(300);
      await a2.expectNothing(0);
      await stranger.expectNothing(0);
    });

    // MainWorkflowTest.testAppNoActiveDashForHard / testActive2AndDeactivate1: after deactivate, nothing
    // forwarded; MobileDeActivateDashboardLogic echoes it through Session.sendToSharedApps, which
    // takes every other owner session (MobileStateHolder.contains is always true) and the shares.
    it('DEACTIVATE is OK, echoed to the other session, and stops forwarding: device writes reach no session (they are stored)', async () => {
      const d = await a1.expectStatus(AppCmd.DEACTIVATE_DASHBOARD, '1', AppStatus.OK);
      const echo = await a2.next(isCmd(AppCmd.DEACTIVATE_DASHBOARD), 3000, 'DEACTIVATE echo');
      assert.deepEqual([echo.msgId, echo.text], [d.msgId, '1']);
      b.virtualWrite(5, 'while-inactive');
      b.virtualWrite(7, 'no-widget');
      await a1.expectNothing(400);
      await a2.expectNothing(0);
      const dash = await a1.loadProfile(1);
      assert.equal(dash.isActive, false);
    });

    // §10.4; MobileActivateDashboardLogic: OK(msgId) when hardware is online; the other sessions get
    // ACTIVATE echoed; every session gets the APP_SYNC set (msgId 1111): DeviceWorkflowTest.testActivateAndGetSyncForMultiDevices.
    it('ACTIVATE replays the stored state: OK, the other session gets ACTIVATE echoed, every session APP_SYNC frames (msgId 1111) with the current values', async () => {
      const r = await a1.request(AppCmd.ACTIVATE_DASHBOARD, '1');
      assert.deepEqual([r.cmd, r.status], [AppCmd.RESPONSE, AppStatus.OK]);
      const echo = await a2.next(isCmd(AppCmd.ACTIVATE_DASHBOARD), 3000, 'ACTIVATE echo');
      assert.deepEqual([echo.msgId, echo.text], [r.msgId, '1']);
      const want = ['1-0\0vw\x005\0while-inactive', '1-0\0vw\x006\x0043', '1-0\0vw\x007\0no-widget'];
      for (const s of [a1, a2]) {
        for (const text of want) {
          const f = await s.next((x) => x.cmd === AppCmd.APP_SYNC && x.text === text, 3000, `APP_SYNC ${JSON.stringify(text)}`);
          assert.equal(f.msgId, ServerMsgId.APP_SYNC);
        }
        // nothing stale: no APP_SYNC of an older value of those pins
        const stale = s.drain().filter((x) => x.cmd === AppCmd.APP_SYNC && /^1-0\0vw\0[567]\0/.test(x.text));
        assert.deepEqual(stale.map((x) => x.text), []);
      }
      // forwarding is back
      b.virtualWrite(5, 'active-again');
      const f = await a1.next(isCmd(AppCmd.HARDWARE));
      assert.equal(f.text, '1-0\0vw\x005\0active-again');
      await a2.next(isCmd(AppCmd.HARDWARE));
    });

    // §10.6; MainWorkflowTest.createBasicProfile (loadProfileGzipped → {"dashBoards":[…]}), testDashCommands
    // ("loadProfileGzipped 10" → the dash alone; an unknown id → illegalCommand).
    it('LOAD_PROFILE_GZIPPED answers cmd 24 with zlib JSON: the whole profile, or one dashboard by id (unknown id ILLEGAL_COMMAND)', async () => {
      const f = await a2.expectData(AppCmd.LOAD_PROFILE_GZIPPED, undefined);
      assert.equal(f.body[0], 0x78, 'a zlib stream starts with 0x78');
      const profile = a2.inflate(f.body);
      assert.deepEqual(profile.dashBoards.map((d) => d.id), [1]);
      const dash = await a1.loadProfile(1);
      assert.equal(dash.id, 1);
      assert.equal(dash.devices[0].token, dev.token);
      const label = dash.widgets.find((w) => w.id === 1);
      assert.equal(label.value, 'active-again', 'the widget on V5 holds the last device write');
      const slider = dash.widgets.find((w) => w.id === 2);
      assert.equal(slider.value, '43', 'the widget on V6 holds the last app write');
      await a1.expectStatus(AppCmd.LOAD_PROFILE_GZIPPED, '77', AppStatus.ILLEGAL_COMMAND);
    });

    // §6 step 8; DeviceWorkflowTest.testCorrectOnlineStatusForDisconnect: deviceOffline(0, "1-0");
    // MainWorkflowTest.testSendPinModeCommandWhenHardwareGoesOnline: app write to an offline device → DEVICE_NOT_IN_NETWORK.
    it('the device disconnecting: every session gets DEVICE_OFFLINE (71) `1-0` with msgId 0; an app write then is DEVICE_NOT_IN_NETWORK (7)', async () => {
      b.close();
      for (const s of [a1, a2]) {
        const f = await s.next(isCmd(AppCmd.DEVICE_OFFLINE), 3000, 'DEVICE_OFFLINE');
        assert.deepEqual([f.msgId, f.text], [0, '1-0']);
      }
      await stranger.expectNothing(0);
      assert.equal((await a1.getDevices(1))[0].status, 'OFFLINE');
      const r = await a1.request(AppCmd.HARDWARE, ['1-0', 'vw', 6, '1']);
      assert.deepEqual([r.cmd, r.status], [AppCmd.RESPONSE, AppStatus.DEVICE_NOT_IN_NETWORK]);
    });

    // MainWorkflowTest.testRefreshTokenClosesExistingConnections: deviceOffline(0, "1-0") and the
    // hardware closed; deleteDashDeletesTokensAlso: a removed token → INVALID_TOKEN.
    it('REFRESH_TOKEN answers cmd 9 with a new token and closes the device\'s connection; the old token is INVALID_TOKEN, the new one logs in', async () => {
      const b2 = await libDevice(srv, cleanup, dev.token, { reconnect: false });
      await a1.next(isCmd(AppCmd.HARDWARE_CONNECTED));
      await a2.next(isCmd(AppCmd.HARDWARE_CONNECTED));
      const gone = b2.whenEvent('disconnect', 5000);
      const f = await a1.expectData(AppCmd.REFRESH_TOKEN, ['1', '0']);
      const fresh = f.text;
      assert.match(fresh, /^[A-Za-z0-9_-]{32}$/);
      assert.notEqual(fresh, dev.token);
      await gone;
      b2.close();
      const off = await a1.next(isCmd(AppCmd.DEVICE_OFFLINE), 3000, 'DEVICE_OFFLINE after the refresh');
      assert.deepEqual([off.msgId, off.text], [0, '1-0']);
      const old = cleanup.add(await srv.connect());
      old.send(Cmd.HARDWARE_LOGIN, 1, dev.token);
      await old.expectResponse(1, Status.INVALID_TOKEN);
      old.end();
      const neu = cleanup.add(await srv.login(fresh));
      await neu.ping(2);
      assert.equal((await a2.getDevices(1))[0].token, fresh);
      neu.end();
      a1.drain();
      a2.drain();
      dev.token = fresh;
    });
  });
}
