// Shared dashboards (protocol.md §4 SHARING/GET_SHARE_TOKEN/REFRESH_SHARE_TOKEN/SHARE_LOGIN, §10.2,
// §10.6; issue 12 "sharing"): a share session sees only its dashboard (public view, no tokens), gets
// the device writes of that dashboard and no other, drives the device, and owner-only commands do
// nothing; a refreshed share token closes the share sessions. Exact answers are the legacy server's
// (ShareProfileWorkflowTest, MobileShareLoginHandler, MobileShareHandler, MobileRefreshShareTokenLogic).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, Cleanup } from '../lib/harness.js';
import { AppCmd, AppStatus } from '../lib/app_client.js';
import {
  newAccount, session, openApp, dashWithDevice, libDevice, widget, activate,
} from '../lib/app_setup.js';
import { nextVirtualWrite } from '../lib/blynklib.js';

const cleanup = new Cleanup();
let srv;
let owner;       // {app, email, password}
let owner2;      // a second session of the owner (ws)
let stranger;
let dev1;        // device 0 of dash 1 (shared)
let dev2;        // device 0 of dash 2 (not shared)
let b1;          // library device of dash 1
let b2;          // library device of dash 2
let shareToken;

const isCmd = (cmd) => (f) => f.cmd === cmd;

before(async () => {
  srv = cleanup.add(await Server.start({ name: 'app-sharing' }));
  owner = await newAccount(srv, cleanup);
  owner2 = await session(srv, cleanup, owner.email, owner.password, 'ws');
  dev1 = await dashWithDevice(owner.app, { dashId: 1, widgets: [widget(1, 3, { type: 'SLIDER' })] });
  dev2 = await dashWithDevice(owner.app, { dashId: 2 });
  stranger = await newAccount(srv, cleanup);
  b1 = await libDevice(srv, cleanup, dev1.token);
  b2 = await libDevice(srv, cleanup, dev2.token);
  for (const id of [1, 2]) await activate(owner.app, id);
  owner.app.drain();
  owner2.drain();
});
after(() => cleanup.run());

async function shareSession(token = shareToken, email = owner.email) {
  const s = await openApp(srv, cleanup, 'tls');
  await s.shareLogin(email, token);
  return s;
}

describe('sharing', () => {
  // MobileGetShareTokenLogic: an existing dash.sharedToken is returned again.
  it('GET_SHARE_TOKEN answers cmd 30 with a 32-char token, the same one when asked again', async () => {
    const f = await owner.app.expectData(AppCmd.GET_SHARE_TOKEN, '1');
    shareToken = f.text;
    assert.match(shareToken, /^[A-Za-z0-9_-]{32}$/);
    const g = await owner.app.expectData(AppCmd.GET_SHARE_TOKEN, '1');
    assert.equal(g.text, shareToken);
  });

  // MobileShareLoginHandler: !dash.isShared → notAllowed; wrong token or e-mail → notAllowed
  // (ShareProfileWorkflowTest.wrongSharedToken).
  it('SHARE_LOGIN is NOT_ALLOWED (6) while the dashboard is not shared, with a wrong token, or with another e-mail', async () => {
    const a = await openApp(srv, cleanup);
    await a.shareLogin(owner.email, shareToken, { expect: AppStatus.NOT_ALLOWED });
    await owner.app.expectStatus(AppCmd.SHARING, ['1', 'on'], AppStatus.OK);
    await a.shareLogin(owner.email, `${shareToken}a`, { expect: AppStatus.NOT_ALLOWED });
    await a.shareLogin(stranger.email, shareToken, { expect: AppStatus.NOT_ALLOWED });
    await a.shareLogin(owner.email, shareToken);
    await a.ping();
    a.end();
  });

  // LoadSharedProfileGzippedLogic: empty body → a profile of the shared dash alone, "restrictive"
  // (public) view; ShareProfileWorkflowTest.loadGzippedProfileForSharedBoard: no device tokens, no sharedToken.
  it('a share session\'s LOAD_PROFILE_GZIPPED holds its dashboard alone, without device tokens or the share token; the owner\'s holds both', async () => {
    const s = await shareSession();
    const profile = await s.loadProfile();
    assert.deepEqual(profile.dashBoards.map((d) => d.id), [1]);
    const dash = profile.dashBoards[0];
    assert.equal(dash.sharedToken, undefined);
    assert.equal(JSON.stringify(dash).includes(dev1.token), false, 'no device token in the shared view');
    assert.deepEqual(dash.widgets.map((w) => w.id), [1]);
    const own = await owner.app.loadProfile();
    assert.deepEqual(own.dashBoards.map((d) => d.id).sort(), [1, 2]);
    const ownDash = own.dashBoards.find((d) => d.id === 1);
    assert.equal(ownDash.sharedToken, shareToken);
    assert.equal(ownDash.devices[0].token, dev1.token);
    s.end();
  });

  // ShareProfileWorkflowTest.checkBothClientsReceiveMessage and
  // testSharedProjectDoesntReceiveCommandFromOtherProjects.
  it('a device write on the shared dashboard reaches the owner\'s sessions and the share session; one on another dashboard only the owner\'s; another user nothing', async () => {
    const s = await shareSession();
    b1.virtualWrite(3, 'shared');
    const id = b1.msg_id;
    for (const a of [owner.app, owner2, s]) {
      const f = await a.next(isCmd(AppCmd.HARDWARE), 3000, 'device write of dash 1');
      assert.deepEqual([f.msgId, f.text], [id, '1-0\0vw\x003\0shared']);
    }
    b2.virtualWrite(3, 'private');
    for (const a of [owner.app, owner2]) {
      const f = await a.next(isCmd(AppCmd.HARDWARE), 3000, 'device write of dash 2');
      assert.equal(f.text, '2-0\0vw\x003\0private');
    }
    await s.expectNothing(300);
    await stranger.app.expectNothing(0);
    s.end();
  });

  // ShareProfileWorkflowTest.getShareTokenAndLoginViaIt: a share write → owner APP_SYNC with its
  // msgId; an owner write → APP_SYNC to the share session; checkStateWasChanged: it reaches the hardware.
  it('a share session\'s write reaches BLYNK_WRITE and the owner gets APP_SYNC with its msgId; an owner write reaches the share session as APP_SYNC', async () => {
    const s = await shareSession();
    const onV3 = nextVirtualWrite(b1, 3);
    const id = s.send(AppCmd.HARDWARE, ['1-0', 'vw', 3, '150']);
    assert.deepEqual(await onV3, ['150']);
    for (const a of [owner.app, owner2]) {
      const f = await a.next((x) => x.cmd === AppCmd.APP_SYNC && x.msgId === id, 3000, 'APP_SYNC of the share write');
      assert.deepEqual([f.msgId, f.text], [id, '1-0\0vw\x003\x00150']);
    }
    const onV3b = nextVirtualWrite(b1, 3);
    const id2 = owner.app.send(AppCmd.HARDWARE, ['1-0', 'vw', 3, '151']);
    assert.deepEqual(await onV3b, ['151']);
    const g = await s.next(isCmd(AppCmd.APP_SYNC));
    assert.deepEqual([g.msgId, g.text], [id2, '1-0\0vw\x003\x00151']);
    await owner2.next((x) => x.cmd === AppCmd.APP_SYNC && x.msgId === id2);
    s.end();
  });

  // MobileShareHandler: its switch handles HARDWARE, LOAD_PROFILE_GZIPPED, ADD_PUSH_TOKEN,
  // GET_ENHANCED_GRAPH_DATA, GET_DEVICES, PING, APP_SYNC, LOGOUT, DELETE_DEVICE_DATA and has no
  // default: anything else gets no reply, changes nothing, and the connection stays open.
  it('owner-only commands from a share session get no reply, change nothing, and the session stays open', async () => {
    const s = await shareSession();
    const refused = [
      [AppCmd.CREATE_DASH, '{"id":9,"name":"intruder"}'],
      [AppCmd.DELETE_DASH, '1'],
      [AppCmd.CREATE_DEVICE, ['1', '{"id":5,"name":"intruder"}']],
      [AppCmd.REFRESH_TOKEN, ['1', '0']],
      [AppCmd.GET_SHARE_TOKEN, '1'],
      [AppCmd.REFRESH_SHARE_TOKEN, '1'],
      [AppCmd.SHARING, ['1', 'off']],
      [AppCmd.CREATE_WIDGET, ['1', JSON.stringify(widget(50, 9))]],
      [AppCmd.DEACTIVATE_DASHBOARD, '1'],
    ];
    for (const [cmd, body] of refused) s.send(cmd, body);
    await s.expectNothing(500);
    await s.ping();
    const own = await owner.app.loadProfile();
    assert.deepEqual(own.dashBoards.map((d) => d.id).sort(), [1, 2]);
    const d1 = own.dashBoards.find((d) => d.id === 1);
    assert.deepEqual([d1.isShared, d1.isActive, d1.sharedToken], [true, true, shareToken]);
    assert.deepEqual(d1.devices.map((d) => [d.id, d.token]), [[0, dev1.token]]);
    assert.deepEqual(d1.widgets.map((w) => w.id), [1]);
    s.end();
  });

  // ShareProfileWorkflowTest.testDeactivateAndActivateForSubscriptions: produce(2, DEACTIVATE_DASHBOARD, "1"),
  // produce(3, ACTIVATE_DASHBOARD, "1") to the share sessions.
  it('DEACTIVATE and ACTIVATE of the shared dashboard are echoed to the share session with the owner\'s msgId', async () => {
    const s = await shareSession();
    const d = await owner.app.expectStatus(AppCmd.DEACTIVATE_DASHBOARD, '1', AppStatus.OK);
    const e1 = await s.next(isCmd(AppCmd.DEACTIVATE_DASHBOARD), 3000, 'DEACTIVATE echo');
    assert.deepEqual([e1.msgId, e1.text], [d.msgId, '1']);
    const a = await activate(owner.app, 1);
    const e2 = await s.next(isCmd(AppCmd.ACTIVATE_DASHBOARD), 3000, 'ACTIVATE echo');
    assert.deepEqual([e2.msgId, e2.text], [a.msgId, '1']);
    s.end();
    owner.app.drain();
    owner2.drain();
  });

  // ShareProfileWorkflowTest.checkSharingMessageWasReceived: produce(2, SHARING, "1 off"); then
  // MobileShareLoginHandler refuses the unshared dash.
  it('SHARING `1\\0off` is echoed to the share session as SHARING (26); a new SHARE_LOGIN is then NOT_ALLOWED until it is on again', async () => {
    const s = await shareSession();
    const r = await owner.app.expectStatus(AppCmd.SHARING, ['1', 'off'], AppStatus.OK);
    const f = await s.next(isCmd(AppCmd.SHARING), 3000, 'SHARING echo');
    assert.deepEqual([f.msgId, f.text], [r.msgId, '1\0off']);
    const t = await openApp(srv, cleanup);
    await t.shareLogin(owner.email, shareToken, { expect: AppStatus.NOT_ALLOWED });
    await owner.app.expectStatus(AppCmd.SHARING, ['1', 'on'], AppStatus.OK);
    await t.shareLogin(owner.email, shareToken);
    s.end();
    t.end();
  });

  // ShareProfileWorkflowTest.revokeSharedToken / testGetShareTokenAndRefresh; MobileRefreshShareTokenLogic:
  // notAllowed(request msgId) to the share sessions of that dash, then close.
  it('REFRESH_SHARE_TOKEN answers cmd 31 with a new token; share sessions get NOT_ALLOWED and are closed; the owner stays; the old token is refused, the new one works', async () => {
    const s1 = await shareSession();
    const s2 = await shareSession();
    const f = await owner.app.expectData(AppCmd.REFRESH_SHARE_TOKEN, '1');
    const fresh = f.text;
    assert.match(fresh, /^[A-Za-z0-9_-]{32}$/);
    assert.notEqual(fresh, shareToken);
    for (const s of [s1, s2]) {
      const n = await s.next((x) => x.cmd === AppCmd.RESPONSE, 3000, 'NOT_ALLOWED to the share session');
      assert.deepEqual([n.msgId, n.status], [f.msgId, AppStatus.NOT_ALLOWED]);
      await s.expectClose(3000);
    }
    await owner.app.ping();
    await owner2.ping();
    const old = await openApp(srv, cleanup);
    await old.shareLogin(owner.email, shareToken, { expect: AppStatus.NOT_ALLOWED });
    shareToken = fresh;
    const s3 = await shareSession();
    await s3.ping();
    s3.end();
    old.end();
  });

  // MobileAndHttpsServer.initWebDashboardSocket: no share-login handler on /dashws; UserNotLoggedHandler closes.
  it('ws: SHARE_LOGIN on /dashws closes the connection without a reply', async () => {
    const w = await openApp(srv, cleanup, 'ws');
    w.send(AppCmd.SHARE_LOGIN, [owner.email, shareToken, 'Android', '24']);
    assert.deepEqual(await w.expectClose(3000), []);
  });
});
