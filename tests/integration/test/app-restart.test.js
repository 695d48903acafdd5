// A restart keeps what apps made (issue 12: "everything survives a restart"; "account changes are
// durable before they are acknowledged"): the account and its password, dashboards with their
// widgets and settings, devices with their tokens, the share token, and pin values (widget values and
// values of pins without a widget), replayed on ACTIVATE after the restart.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, Cleanup, Cmd, Status } from '../lib/harness.js';
import { AppCmd, AppStatus, ServerMsgId } from '../lib/app_client.js';
import { newAccount, session, openApp, dashWithDevice, libDevice, widget, activate } from '../lib/app_setup.js';

const cleanup = new Cleanup();
let srv;

before(async () => {
  srv = cleanup.add(await Server.start({ name: 'app-restart' }));
});
after(() => cleanup.run());

describe('restart', () => {
  it('after a clean restart the account logs in with its password; dashboards, widgets, settings, devices, tokens, share token and pin values are all there; deleted ones stay deleted', async () => {
    const acc = await newAccount(srv, cleanup);
    const app = acc.app;
    const dev = await dashWithDevice(app, {
      dashId: 1, deviceId: 0, name: 'kept', widgets: [widget(1, 4, { type: 'SLIDER' }), widget(2, 8, { type: 'LABELED_VALUE_DISPLAY' })],
    });
    await dashWithDevice(app, { dashId: 2, deviceId: 3, name: 'second' });
    const dev1 = await app.createDevice(1, { id: 1, name: 'second board' });
    // removed before the restart, and they must stay removed
    const gone = await dashWithDevice(app, { dashId: 3, deviceId: 0, name: 'deleted' });
    await app.expectStatus(AppCmd.DELETE_DASH, '3', AppStatus.OK);
    const goneDev = await app.createDevice(2, { id: 4, name: 'deleted board' });
    await app.expectStatus(AppCmd.DELETE_DEVICE, ['2', '4'], AppStatus.OK);
    await app.expectStatus(AppCmd.UPDATE_PROJECT_SETTINGS, ['1', JSON.stringify({
      name: 'kept', isShared: true, isAppConnectedOn: false, isNotificationsOff: false, theme: 'BlynkLight', keepScreenOn: true,
    })], AppStatus.OK);
    const share = (await app.expectData(AppCmd.GET_SHARE_TOKEN, '1')).text;
    const b = await libDevice(srv, cleanup, dev.token);
    await activate(app, 1);
    // values: an app write (widget V4), a device write (widget V8), a device write without widget (V20)
    app.send(AppCmd.HARDWARE, ['1-0', 'vw', 4, '77']);
    b.virtualWrite(8, 'from-device');
    b.virtualWrite(20, 'no-widget');
    await app.next((f) => f.cmd === AppCmd.HARDWARE && f.text === '1-0\0vw\x0020\0no-widget', 3000, 'the last device write');
    const before = await app.loadProfile();
    b.close();
    app.close();

    await srv.restart();

    const again = await session(srv, cleanup, acc.email, acc.password);
    const wrong = await openApp(srv, cleanup);
    await wrong.login(acc.email, `${acc.password}x`, { expect: AppStatus.USER_NOT_AUTHENTICATED });
    wrong.end();
    const after = await again.loadProfile();
    const pick = (p) => p.dashBoards.map((d) => ({
      id: d.id,
      name: d.name,
      theme: d.theme,
      keepScreenOn: d.keepScreenOn,
      isShared: d.isShared,
      sharedToken: d.sharedToken,
      widgets: (d.widgets || []).map((w) => [w.id, w.type, w.pin, w.value]),
      devices: (d.devices || []).map((x) => [x.id, x.name, x.token]),
    })).sort((x, y) => x.id - y.id);
    assert.deepEqual(pick(after).map((d) => [d.id, d.devices.map((x) => x[0])]), [[1, [0, 1]], [2, [3]]],
      'the deleted dashboard 3 and device 4 stay deleted');
    assert.deepEqual(pick(after), pick(before));
    for (const token of [gone.token, goneDev.token]) {
      const hw = cleanup.add(await srv.connect());
      hw.send(Cmd.HARDWARE_LOGIN, 1, token);
      await hw.expectResponse(1, Status.INVALID_TOKEN);
      hw.end();
    }
    const d1 = pick(after)[0];
    assert.deepEqual(d1.widgets, [[1, 'SLIDER', 4, '77'], [2, 'LABELED_VALUE_DISPLAY', 8, 'from-device']]);
    assert.deepEqual(d1.devices, [[0, 'device 0', dev.token], [1, 'second board', dev1.token]]);
    assert.deepEqual([d1.theme, d1.keepScreenOn, d1.isShared, d1.sharedToken], ['BlynkLight', true, true, share]);

    // the tokens still log in: the device, and a share session
    const b2 = await libDevice(srv, cleanup, dev.token);
    const hc = await again.next((f) => f.cmd === AppCmd.HARDWARE_CONNECTED, 3000, 'HARDWARE_CONNECTED after the restart');
    assert.equal(hc.text, '1-0');
    const s = await openApp(srv, cleanup);
    await s.shareLogin(acc.email, share);

    // ACTIVATE replays the values kept across the restart, the pin without a widget included
    const r = await again.request(AppCmd.ACTIVATE_DASHBOARD, '1');
    assert.deepEqual([r.cmd, r.status], [AppCmd.RESPONSE, AppStatus.OK]);
    for (const text of ['1-0\0vw\x004\x0077', '1-0\0vw\x008\0from-device', '1-0\0vw\x0020\0no-widget']) {
      const f = await again.next((x) => x.cmd === AppCmd.APP_SYNC && x.text === text, 3000, `APP_SYNC ${JSON.stringify(text)}`);
      assert.equal(f.msgId, ServerMsgId.APP_SYNC);
    }
    b2.close();
    s.end();
    again.end();
  });
});
