// App framing and bad input (protocol.md §2.2, §2.3, §4, §5; issue 12 "frames split and coalesced
// at every byte on both transports; bad bodies get ILLEGAL_COMMAND / ILLEGAL_COMMAND_BODY"). On TLS
// the app stream is cut at every byte position and coalesced; on /dashws the websocket frames are
// cut at every byte under the websocket, coalesced in one write, and one app message is sent as
// one-byte websocket fragments. Bad bodies get the legacy answers (handler/test named per case) and
// leave the session usable.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, Cleanup } from '../lib/harness.js';
import { AppCmd, AppStatus, encodeAppFrame, describeAppFrame, passHash } from '../lib/app_client.js';
import { newAccount, openApp, session, dashWithDevice, widget, activate } from '../lib/app_setup.js';

const cleanup = new Cleanup();
let srv;
let acc;

before(async () => {
  srv = cleanup.add(await Server.start({ name: 'app-framing' }));
  acc = await newAccount(srv, cleanup);
  await dashWithDevice(acc.app, { dashId: 1, deviceId: 0, widgets: [widget(1, 1)] });
  await activate(acc.app, 1);   // app writes to an inactive dashboard are dropped before any check
});
after(() => cleanup.run());

/** The next frame, which must be the reply to msgId (in order: nothing else may come first). */
async function nextReply(app, msgId) {
  const f = await app.next(() => true, 3000, `reply to ${msgId}`);
  assert.equal(f.msgId, msgId, `replies out of order: expected msgId ${msgId} first, got ${describeAppFrame(f)}`);
  return f;
}

function assertOk(f) {
  assert.deepEqual([f.cmd, f.status], [AppCmd.RESPONSE, AppStatus.OK], describeAppFrame(f));
}

function assertDevices(f) {
  assert.equal(f.cmd, AppCmd.GET_DEVICES, describeAppFrame(f));
  assert.deepEqual(JSON.parse(f.text).map((d) => d.id), [0]);
}

for (const transport of ['tls', 'ws']) {
  describe(`framing on ${transport}`, () => {
    it(`${transport}: a LOGIN written one byte per write is answered OK`, async () => {
      const app = await openApp(srv, cleanup, transport);
      const bytes = app.wireBytes(AppCmd.LOGIN, 1, [acc.email, passHash(acc.email, acc.password), 'Android', '2.27.0', 'Blynk']);
      await app.writeSplit(bytes);
      assertOk(await nextReply(app, 1));
      await app.ping();
      app.end();
    });

    it(`${transport}: PING, GET_DEVICES, PING cut at every byte position are answered in order`, async () => {
      const app = await session(srv, cleanup, acc.email, acc.password, transport);
      const probe = app.wireBytes(AppCmd.PING, 1, undefined).length * 2 + app.wireBytes(AppCmd.GET_DEVICES, 1, '1').length;
      for (let cut = 1; cut < probe; cut++) {
        const [a, b, c] = [app.id(), app.id(), app.id()];
        const buf = Buffer.concat([
          app.wireBytes(AppCmd.PING, a, undefined),
          app.wireBytes(AppCmd.GET_DEVICES, b, '1'),
          app.wireBytes(AppCmd.PING, c, undefined),
        ]);
        assert.equal(buf.length, probe);
        await app.writeSplit(buf, [cut]);
        assertOk(await nextReply(app, a));
        assertDevices(await nextReply(app, b));
        assertOk(await nextReply(app, c));
      }
      await app.expectNothing(100);
      app.end();
    });

    it(`${transport}: 30 messages coalesced in one write are all answered, in order`, async () => {
      const app = await session(srv, cleanup, acc.email, acc.password, transport);
      const msgs = [];
      for (let i = 0; i < 30; i++) msgs.push(i % 3 === 1 ? [AppCmd.GET_DEVICES, '1'] : [AppCmd.PING]);
      const ids = app.coalesce(msgs);
      for (let i = 0; i < ids.length; i++) {
        const f = await nextReply(app, ids[i]);
        if (i % 3 === 1) assertDevices(f); else assertOk(f);
      }
      app.end();
    });
  });
}

describe('framing on /dashws only', () => {
  it('ws: one app message sent as one-byte websocket fragments is one message', async () => {
    const app = await session(srv, cleanup, acc.email, acc.password, 'ws');
    const id = app.sendFragmented(AppCmd.GET_DEVICES, '1');
    assertDevices(await nextReply(app, id));
    const id2 = app.sendFragmented(AppCmd.PING, undefined, { size: 2 });
    assertOk(await nextReply(app, id2));
    app.end();
  });

  it('ws: a LOGIN as one-byte websocket fragments, each written on its own, is answered OK', async () => {
    const app = await openApp(srv, cleanup, 'ws');
    // the fragments (one per websocket frame) with every byte of them written separately
    const frag = [];
    const orig = app.writeRaw.bind(app);
    app.writeRaw = (b) => frag.push(b);
    app.sendFragmented(AppCmd.LOGIN, [acc.email, passHash(acc.email, acc.password)], { msgId: 3 });
    app.writeRaw = orig;
    await app.writeSplit(Buffer.concat(frag));
    assertOk(await nextReply(app, 3));
    app.end();
  });
});

describe('bad bodies', () => {
  // [what, cmd, body, status, where the legacy answer was read]
  const cases = [
    ['CREATE_DASH with broken JSON', AppCmd.CREATE_DASH, '{"id":5,', AppStatus.ILLEGAL_COMMAND_BODY, 'JsonParser.parse → IllegalCommandBodyException'],
    ['CREATE_DASH with an empty body', AppCmd.CREATE_DASH, '', AppStatus.ILLEGAL_COMMAND, 'MobileCreateDashLogic: empty → IllegalCommandException'],
    ['CREATE_DASH of an existing id', AppCmd.CREATE_DASH, '{"id":1,"name":"again"}', AppStatus.NOT_ALLOWED, 'MainWorkflowTest.testDashCommands notAllowed(3)'],
    ['UPDATE_DASH of an unknown id', AppCmd.UPDATE_DASH, '{"id":10,"name":"x"}', AppStatus.ILLEGAL_COMMAND, 'MainWorkflowTest.testDashCommands illegalCommand(1)'],
    ['DELETE_DASH of an unknown id', AppCmd.DELETE_DASH, '10', AppStatus.ILLEGAL_COMMAND, 'MainWorkflowTest.testDashCommands illegalCommand(6)'],
    ['ACTIVATE of an unknown dash', AppCmd.ACTIVATE_DASHBOARD, '2', AppStatus.ILLEGAL_COMMAND, 'MainWorkflowTest.testActivateWorkflow illegalCommand(1)'],
    ['DEACTIVATE of an unknown dash', AppCmd.DEACTIVATE_DASHBOARD, '2', AppStatus.ILLEGAL_COMMAND, 'MainWorkflowTest.testActivateWorkflow illegalCommand(2)'],
    ['ACTIVATE of a non-number', AppCmd.ACTIVATE_DASHBOARD, 'abc', AppStatus.ILLEGAL_COMMAND, '§5: parse errors → ILLEGAL_COMMAND'],
    ['CREATE_DEVICE without the device JSON', AppCmd.CREATE_DEVICE, '1', AppStatus.ILLEGAL_COMMAND, 'MobileCreateDeviceLogic: < 2 fields'],
    ['CREATE_DEVICE with broken JSON', AppCmd.CREATE_DEVICE, ['1', '{"id":'], AppStatus.ILLEGAL_COMMAND_BODY, 'JsonParser.parseDevice'],
    ['CREATE_DEVICE in an unknown dash', AppCmd.CREATE_DEVICE, ['10', '{"id":3,"name":"x"}'], AppStatus.ILLEGAL_COMMAND, 'Profile.getDashByIdOrThrow'],
    ['CREATE_DEVICE with a non-number dash id', AppCmd.CREATE_DEVICE, ['x', '{"id":3,"name":"x"}'], AppStatus.ILLEGAL_COMMAND, 'Integer.parseInt → §5 parse error'],
    ['CREATE_DEVICE of an existing id', AppCmd.CREATE_DEVICE, ['1', '{"id":0,"name":"dup"}'], AppStatus.NOT_ALLOWED, 'MobileCreateDeviceLogic: same id'],
    ['MOBILE_GET_DEVICE of an unknown device', AppCmd.MOBILE_GET_DEVICE, ['1', '7'], AppStatus.ILLEGAL_COMMAND_BODY, 'MainWorkflowTest.testGetTokenWorksWithNewFormats illegalCommandBody(6)'],
    ['REFRESH_TOKEN of an unknown device', AppCmd.REFRESH_TOKEN, ['1', '7'], AppStatus.ILLEGAL_COMMAND_BODY, '§4 REFRESH_TOKEN: ILLEGAL_COMMAND_BODY if no device'],
    ['CREATE_WIDGET with broken JSON', AppCmd.CREATE_WIDGET, ['1', '{"type":"BUTTON",'], AppStatus.ILLEGAL_COMMAND_BODY, 'JsonParser.parseWidget'],
    ['CREATE_WIDGET of width 0', AppCmd.CREATE_WIDGET, ['1', JSON.stringify({ ...widget(5, 5), width: 0 })], AppStatus.NOT_ALLOWED, 'MobileCreateWidgetLogic: wrong dimensions'],
    ['CREATE_WIDGET of an existing id', AppCmd.CREATE_WIDGET, ['1', JSON.stringify(widget(1, 9))], AppStatus.NOT_ALLOWED, 'MobileCreateWidgetLogic: same id'],
    ['CREATE_WIDGET without the widget', AppCmd.CREATE_WIDGET, '1', AppStatus.ILLEGAL_COMMAND, 'MobileCreateWidgetLogic: < 2 fields'],
    ['DELETE_WIDGET of an unknown widget', AppCmd.DELETE_WIDGET, ['1', '99'], AppStatus.ILLEGAL_COMMAND, 'MainWorkflowTest.createBasicProfile illegalCommand(2)'],
    ['HARDWARE to an unknown dash', AppCmd.HARDWARE, ['10-0', 'vw', '1', '1'], AppStatus.ILLEGAL_COMMAND, 'MobileHardwareLogic: getDashByIdOrThrow'],
    ['HARDWARE write without a value', AppCmd.HARDWARE, ['1-0', 'vw', '1'], AppStatus.ILLEGAL_COMMAND_BODY, 'MobileHardwareLogic: split3 < 3 → illegalCommandBody'],
    ['HARDWARE write to an offline device', AppCmd.HARDWARE, ['1-0', 'vw', '1', '1'], AppStatus.DEVICE_NOT_IN_NETWORK, 'MainWorkflowTest.testSendPinModeCommandWhenHardwareGoesOnline'],
    ['GET_SHARE_TOKEN without a dash id', AppCmd.GET_SHARE_TOKEN, '', AppStatus.NOT_ALLOWED, 'ShareProfileWorkflowTest.testGetShareTokenNoDashId notAllowed(1)'],
    ['LOAD_PROFILE_GZIPPED of an unknown dash', AppCmd.LOAD_PROFILE_GZIPPED, '10', AppStatus.ILLEGAL_COMMAND, 'MainWorkflowTest.testDashCommands illegalCommand(3)'],
  ];

  for (const transport of ['tls', 'ws']) {
    it(`${transport}: each bad body gets its legacy status with the request's msgId, and the session stays usable`, async () => {
      const app = await session(srv, cleanup, acc.email, acc.password, transport);
      const wrong = [];
      for (const [what, cmd, body, status, source] of cases) {
        const f = await app.request(cmd, body);
        if (f.cmd !== AppCmd.RESPONSE || f.status !== status) {
          wrong.push(`${what}: expected status ${status} (${source}), got ${describeAppFrame(f)}`);
        }
      }
      assert.deepEqual(wrong, []);
      await app.ping();
      // and nothing was changed by them
      const dash = await app.loadProfile(1);
      assert.deepEqual([dash.name, dash.widgets.map((w) => w.id), dash.devices.map((d) => d.id)], ['dash 1', [1], [0]]);
      app.end();
    });
  }

  // §4: codes < 100 without a handler are accepted and ignored.
  it('a command code without a handler (73 TRACK_DEVICE, 75 RESOLVE_EVENT) gets no reply; the session goes on', async () => {
    const app = await session(srv, cleanup, acc.email, acc.password);
    app.send(AppCmd.TRACK_DEVICE, '1');
    app.send(AppCmd.RESOLVE_EVENT, '1');
    await app.expectNothing(300);
    await app.ping();
    app.end();
  });

  // §4: codes >= 100 raise UnsupportedCommandException in MobileMessageDecoder, wrapped in a
  // DecoderException → DefaultExceptionHandler closes the connection.
  it('tls: a command code of 100 or more closes the connection', async () => {
    const app = await session(srv, cleanup, acc.email, acc.password, 'tls');
    app.send(150, 'x');
    assert.deepEqual(await app.expectClose(3000), []);
  });

  // On /dashws the legacy server threw the same exception in WSMessageDecoder.channelRead, and Netty
  // handed it to that handler's own exceptionCaught, which only logs handshake errors: the message
  // was dropped and the connection stayed. blynkd closes, as on TLS. Both leave nothing answered,
  // which is what an app could notice; the other sessions of the user go on.
  it('ws: a command code of 100 or more gets no reply (legacy: dropped; blynkd: closed as on TLS); other sessions go on', async () => {
    const other = await session(srv, cleanup, acc.email, acc.password, 'ws');
    const app = await session(srv, cleanup, acc.email, acc.password, 'ws');
    app.send(150, 'x');
    await app.waitFor(() => (app.isClosed ? true : undefined), 300, 'close').catch(() => {});
    assert.deepEqual(app.drain(), [], 'no reply to a command >= 100');
    if (!app.isClosed) await app.ping();
    await other.ping();
    app.close();
    other.end();
  });

  it('tls: a LOGIN whose header says more than it sends is not answered until the rest comes', async () => {
    const app = await openApp(srv, cleanup);
    const full = encodeAppFrame(AppCmd.LOGIN, 9, [acc.email, passHash(acc.email, acc.password)]);
    app.writeRaw(full.subarray(0, full.length - 1));
    await app.expectNothing(300);
    app.writeRaw(full.subarray(full.length - 1));
    assertOk(await nextReply(app, 9));
    app.end();
  });
});
