// SMS and push end to end: a device's SMS and PUSH_NOTIFICATION (Blynk.sms, Blynk.notify) go
// through the kernel's notification rules to the sms-nexmo and push-fcm plugins, and from them
// to the fake Vonage, OAuth and FCM endpoints of lib/fake_providers.js (HTTPS with a throw-away
// CA the plugins trust through ca_file; the JWT's RS256 signature and claims are checked there).
// The plugins' own behaviour (each error class, retries, timeouts, the token cache) is tested at
// plugin level in plugins/*/tests; this file checks the wiring. One server for the whole file.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Server, Cleanup, Status, mkTmp, which } from '../lib/harness.js';
import { newAccount, dashWithDevice, activate } from '../lib/app_setup.js';
import { startFakeProviders, NEXMO_KEY, NEXMO_SECRET } from '../lib/fake_providers.js';
import { scrapeMetrics } from '../lib/metrics.js';

const Notify = Object.freeze({ PUSH: 14, SMS: 18 });
const NOTIFICATION_ERROR = 15;

const SMS_WIDGET = { type: 'SMS', id: 91, x: 0, y: 0, width: 1, height: 1, to: '+49 151 2345678' };
const PUSH_WIDGET = {
  type: 'NOTIFICATION', id: 92, x: 0, y: 1, width: 1, height: 1, priority: 'high',
  androidTokens: { 'uid-a': 'tok-android-1' }, iOSTokens: { 'uid-i': 'tok-ios-1' },
};

describe('SMS through sms-nexmo and push through push-fcm, from a device', () => {
  const cleanup = new Cleanup();
  let providers;
  let srv;
  let skip = null;

  /** A new account with dashboard 1 (active) holding the widgets and one device: its token. */
  async function deviceWith(widgets) {
    const { app } = await newAccount(srv, cleanup);
    const dev = await dashWithDevice(app, { widgets });
    await activate(app, 1);
    return dev.token;
  }

  before(async () => {
    if (!which('openssl')) { skip = 'openssl is not installed (scripts/deps.sh --test)'; return; }
    providers = await startFakeProviders(mkTmp('providers'));
    cleanup.add(() => providers.stop());
    const base = `https://127.0.0.1:${providers.port}`;
    srv = cleanup.add(await Server.start({
      name: 'notify-providers',
      config: {
        plugins: {
          enabled: ['storage-sqlite', 'http-api', 'sms-nexmo', 'push-fcm'],
          'sms-nexmo': { api_key: NEXMO_KEY, api_secret: NEXMO_SECRET, from: 'Blynk', base_url: base,
            ca_file: providers.ca, timeout_s: 2, retries: 0 },
          'push-fcm': { service_account_file: providers.serviceAccount, fcm_base_url: base, ca_file: providers.ca,
            timeout_s: 2 },
        },
      },
    }));
  });
  after(() => cleanup.run());

  it('Blynk.sms reaches Vonage with the widget\'s number in international form; the device hears OK', async (t) => {
    if (skip) return t.skip(skip);
    const token = await deviceWith([SMS_WIDGET]);
    const c = cleanup.add(await srv.login(token));
    c.send(Notify.SMS, 5, ['Door open at 21:00']);
    await c.expectResponse(5, Status.OK);
    const sms = providers.state.sms.at(-1);
    assert.equal(sms.to, '491512345678');
    assert.equal(sms.text, 'Door open at 21:00');
    assert.equal(sms.from, 'Blynk');
    assert.equal(sms.api_key, NEXMO_KEY);
  });

  it('Blynk.notify reaches the widget\'s Android and iOS tokens through FCM with a signed JWT', async (t) => {
    if (skip) return t.skip(skip);
    const token = await deviceWith([PUSH_WIDGET]);
    const before = providers.state.pushes.length;
    const c = cleanup.add(await srv.login(token));
    c.send(Notify.PUSH, 6, ['Too hot in {DEVICE_NAME}']);
    await c.expectResponse(6, Status.OK);
    const sent = providers.state.pushes.slice(before);
    assert.equal(sent.length, 2);
    assert.deepEqual(providers.state.jwtErrors, []);
    assert.equal(providers.state.tokenRequests, 1);
    const android = sent.find((p) => p.message.token === 'tok-android-1');
    const ios = sent.find((p) => p.message.token === 'tok-ios-1');
    assert.ok(android.authorized && ios.authorized, 'both carried the access token the fake issued');
    assert.equal(android.message.data.message, 'Too hot in device 0');
    assert.equal(android.message.android.priority, 'HIGH');
    assert.equal(ios.message.apns.payload.aps.alert.body, 'Too hot in device 0');
  });

  it('a provider\'s refusal is NOTIFICATION_ERROR for the device and a log line without secrets', async (t) => {
    if (skip) return t.skip(skip);
    const token = await deviceWith([SMS_WIDGET, PUSH_WIDGET]);
    const before = await scrapeMetrics(srv);
    providers.scripts.sms.push({ status: '9' });
    const c = cleanup.add(await srv.login(token));
    c.send(Notify.SMS, 7, ['no credit']);
    await c.expectResponse(7, NOTIFICATION_ERROR);
    await srv.waitForLog(/notify: sms via plugin sms-nexmo failed: .*not enough credit/);
    providers.scripts.push.push({ http: 403, status: 'PERMISSION_DENIED', errorCode: 'SENDER_ID_MISMATCH' },
      { http: 403, status: 'PERMISSION_DENIED', errorCode: 'SENDER_ID_MISMATCH' });
    const d = cleanup.add(await srv.login(token));
    d.send(Notify.PUSH, 8, ['not ours']);
    await d.expectResponse(8, NOTIFICATION_ERROR);
    await srv.waitForLog(/notify: push via plugin push-fcm failed: .*SENDER_ID_MISMATCH/);
    for (const secret of [NEXMO_SECRET, 'PRIVATE KEY', 'ya29.', 'tok-android-1', 'tok-ios-1'])
      assert.ok(!srv.log.includes(secret), `the log holds ${secret}`);
    // /metrics: one failed send a channel (counted before the device heard it), none sent.
    const after = await scrapeMetrics(srv);
    const delta = (channel, result) => after.value('blynk_notifications_total', { channel, result }) -
      before.value('blynk_notifications_total', { channel, result });
    assert.deepEqual([delta('sms', 'failed'), delta('push', 'failed'), delta('sms', 'sent'), delta('push', 'sent')],
      [1, 1, 0, 0], after.text);
  });
});
