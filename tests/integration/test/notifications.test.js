// Devices' notifications end to end, through a real SMTP server (Debian python3-aiosmtpd, with
// STARTTLS and AUTH required: lib/smtp_server.py) and the mail-smtp plugin: a blynk-library
// device's Blynk.email and the HTTP API's /email arrive as proper MIME mail; the legacy statuses
// a device gets (no widget, frequency limit, daily quota, provider 4xx/5xx, hung provider, full
// queue); devices keep their latency while the provider hangs; what /metrics counts of it all;
// and `blynkd notify test` (connection refused, an untrusted certificate). One server for the
// whole file.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import {
  Server, Cleanup, Status, mkTmp, waitForFile, freePort, renderToml, BLYNKD_BIN, BUILD_DIR,
} from '../lib/harness.js';
import { newAccount, dashWithDevice, activate, libDevice } from '../lib/app_setup.js';
import { selfSigned } from '../lib/pki.js';
import { scrapeMetrics, deltas } from '../lib/metrics.js';
import {
  aiosmtpdPython, startSmtp, decodeWords, SMTP_USER, SMTP_PASSWORD,
} from '../lib/smtp.js';

// A push notifier that writes each push to a file (tests/sdk/push-recorder).
const PUSH_RECORDER = path.join(BUILD_DIR, 'bin', 'test-plugins', 'push-recorder-plugin.so');
const Notify = Object.freeze({ TWEET: 12, EMAIL: 13, PUSH: 14, SMS: 18 });
const NOTIFICATION_INVALID_BODY = 13;
const NOTIFICATION_NOT_AUTHORIZED = 14;
const NOTIFICATION_ERROR = 15;

const EMAIL_WIDGET = { type: 'EMAIL', id: 90, x: 0, y: 0, width: 1, height: 1, contentType: 'TEXT_PLAIN' };

const NOTIFICATIONS = 'blynk_notifications_total';
const RESULTS = ['sent', 'failed', 'queue_full', 'no_provider', 'quota', 'no_widget', 'invalid'];
/** Every blynk_notifications_total series of `channel`, for deltas(). */
const seriesOf = (channel) => RESULTS.map((result) => [NOTIFICATIONS, { channel, result }]);
/** What deltas(..., seriesOf(channel)) is when the results in `by` moved by their amounts and no other. */
const moved = (channel, by) => Object.fromEntries(RESULTS.map((result) =>
  [`${NOTIFICATIONS}${JSON.stringify({ channel, result })}`, by[result] ?? 0]));

describe('notifications through mail-smtp and a real SMTP server', () => {
  const cleanup = new Cleanup();
  let py;
  let smtp;
  let srv;
  let dir;
  let skip = null;

  /** A new account with dashboard 1 (active) holding the widgets and one device: its token. */
  async function deviceWith(widgets, { deviceId = 0 } = {}) {
    const { app } = await newAccount(srv, cleanup);
    const dev = await dashWithDevice(app, { widgets, deviceId });
    await activate(app, 1);
    return dev.token;
  }

  before(async () => {
    if (!existsSync(PUSH_RECORDER)) throw new Error(`${PUSH_RECORDER} not found: build push-recorder-plugin`);
    py = await aiosmtpdPython();
    if (!py) { skip = 'python3-aiosmtpd is not installed (scripts/deps.sh --test)'; return; }
    dir = mkTmp('notify');
    const cert = selfSigned(dir, 'smtp');
    smtp = await startSmtp(py, dir, cert);
    cleanup.add(smtp);
    srv = cleanup.add(await Server.start({
      name: 'notify',
      config: {
        plugins: {
          enabled: ['storage-sqlite', 'http-api', 'mail-smtp', PUSH_RECORDER],
          'push-recorder': { file: path.join(dir, 'pushes.txt') },
          'mail-smtp': {
            host: '127.0.0.1', port: smtp.port, tls: 'starttls', ca_file: cert.cert,
            username: SMTP_USER, password: SMTP_PASSWORD, from: 'blynk@example.com', from_name: 'Blynk Sërver',
            timeout_s: 1, retries: 1, retry_delay_ms: 50,
          },
        },
        // One send thread and one waiting place: the hung-provider case fills them quickly.
        notifications: { frequency_ms: 60000, mail_daily_quota: 3, threads: 1, queue: 1 },
      },
    }));
  });
  after(() => cleanup.run());

  it('a blynk-library device\'s Blynk.email arrives over STARTTLS with AUTH, as proper MIME', async (t) => {
    if (skip) return t.skip(skip);
    smtp.setMode('ok');
    const token = await deviceWith([EMAIL_WIDGET]);
    const b = await libDevice(srv, cleanup, token);
    b.email('reader@example.org', 'Boiler report', 'Water at 61 C.\n.\nEnd.');
    const m = await smtp.nextMail();
    assert.equal(m.meta.tls, true, 'STARTTLS was used');
    assert.equal(m.meta.authenticated, true, 'AUTH was used');
    assert.equal(m.meta.mail_from, 'blynk@example.com');
    assert.deepEqual(m.meta.rcpt_tos, ['reader@example.org']);
    assert.equal(m.headers.to, '<reader@example.org>');
    assert.equal(decodeWords(m.headers.from), 'Blynk Sërver <blynk@example.com>');
    assert.equal(m.headers.subject, 'Boiler report');
    assert.equal(m.headers['content-type'], 'text/plain; charset=UTF-8');
    assert.match(m.headers.date, /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
    assert.match(m.headers['message-id'], /^<[^@\s]+@example\.com>$/);
    assert.equal(m.body, 'Water at 61 C.\n.\nEnd.', 'the body, a lone dot line included, arrives intact');
  });

  it('a UTF-8 subject arrives as an encoded-word, and the device hears OK only after the send', async (t) => {
    if (skip) return t.skip(skip);
    smtp.setMode('ok');
    const token = await deviceWith([EMAIL_WIDGET]);
    const c = cleanup.add(await srv.login(token));
    const subject = 'Température élevée ☀ {DEVICE_NAME}';
    c.send(Notify.EMAIL, 5, ['to@example.org', subject, 'Zürich: 31 °C']);
    await c.expectResponse(5, Status.OK);
    const m = await smtp.nextMail(1000);  // already there: OK came after the server accepted it
    assert.match(m.headers.subject, /^=\?UTF-8\?B\?/);
    assert.equal(decodeWords(m.headers.subject), 'Température élevée ☀ device 0');
    assert.equal(m.body, 'Zürich: 31 °C');
    // The frequency limit: one mail a connection per frequency_ms.
    c.send(Notify.EMAIL, 6, ['to@example.org', 's', 'b']);
    await c.expectResponse(6, Status.QUOTA_LIMIT);
  });

  it('without the widget a device gets the legacy statuses and nothing is sent', async (t) => {
    if (skip) return t.skip(skip);
    const before = smtp.count();
    const token = await deviceWith([]);
    const c = cleanup.add(await srv.login(token));
    c.send(Notify.EMAIL, 2, ['to@example.org', 's', 'b']);
    await c.expectResponse(2, Status.NOT_ALLOWED);
    c.send(Notify.PUSH, 3, ['hello']);
    await c.expectResponse(3, NOTIFICATION_NOT_AUTHORIZED);
    c.send(Notify.SMS, 4, ['hello']);
    await c.expectResponse(4, NOTIFICATION_NOT_AUTHORIZED);
    c.send(Notify.TWEET, 5, ['x'.repeat(141)]);
    await c.expectResponse(5, NOTIFICATION_INVALID_BODY);
    c.send(Notify.TWEET, 6, ['hello']);
    await c.expectResponse(6, NOTIFICATION_NOT_AUTHORIZED);
    await c.ping(7);
    assert.equal(smtp.count(), before);
  });

  it('the daily mail quota is the user\'s: the fourth mail of the day is QUOTA_LIMIT', async (t) => {
    if (skip) return t.skip(skip);
    smtp.setMode('ok');
    const token = await deviceWith([EMAIL_WIDGET]);
    for (let i = 0; i < 3; i += 1) {
      const c = cleanup.add(await srv.login(token));  // a new connection each: no frequency limit
      c.send(Notify.EMAIL, 10 + i, ['q@example.org', `quota ${i}`, 'b']);
      await c.expectResponse(10 + i, Status.OK);
      await smtp.nextMail(1000);
      c.close();
    }
    const c = cleanup.add(await srv.login(token));
    c.send(Notify.EMAIL, 20, ['q@example.org', 'one too many', 'b']);
    await c.expectResponse(20, Status.QUOTA_LIMIT);
  });

  it('a provider that refuses (5xx) or defers (4xx, after the retry) gives NOTIFICATION_ERROR', async (t) => {
    if (skip) return t.skip(skip);
    const token = await deviceWith([EMAIL_WIDGET]);
    const before = smtp.count();
    for (const [mode, id] of [['5xx', 30], ['4xx', 31]]) {
      smtp.setMode(mode);
      const c = cleanup.add(await srv.login(token));
      c.send(Notify.EMAIL, id, ['x@example.org', mode, 'b']);
      await c.expectResponse(id, NOTIFICATION_ERROR, 3000);
      c.close();
    }
    smtp.setMode('ok');
    assert.equal(smtp.count(), before);
    await srv.waitForLog(/notify: mail via plugin mail-smtp failed: .*550/);
    assert.doesNotMatch(srv.log, new RegExp(SMTP_PASSWORD), 'the SMTP password is never logged');
  });

  it('a hung provider: devices keep their latency, the send fails at its timeout, a full queue is QUOTA_LIMIT at once', async (t) => {
    if (skip) return t.skip(skip);
    smtp.setMode('hang');
    const tokens = [await deviceWith([EMAIL_WIDGET]), await deviceWith([EMAIL_WIDGET]), await deviceWith([EMAIL_WIDGET])];
    const [a, b, c] = await Promise.all(tokens.map((tk) => srv.login(tk)));
    for (const x of [a, b, c]) cleanup.add(x);
    const beforeHang = await scrapeMetrics(srv);
    const start = Date.now();
    a.send(Notify.EMAIL, 40, ['h@example.org', 'hangs', 'b']);  // taken by the one send thread: hangs
    await smtp.hanging(1);  // a's send is under way on the one thread before b's comes
    b.send(Notify.EMAIL, 41, ['h@example.org', 'waits', 'b']);  // the one place in the queue
    await b.ping(44);
    c.send(Notify.EMAIL, 43, ['h@example.org', 'no room', 'b']);
    const full = await c.expectFrame(500);
    assert.equal(full.msgId, 43);
    assert.equal(full.status, Status.QUOTA_LIMIT, 'no room in the queue: answered at once');
    // /metrics: b's mail waits behind a's, c's was refused for the full queue.
    const during = await scrapeMetrics(srv);
    assert.equal(during.value('blynk_notifications_waiting'), 1, during.text);
    assert.equal(during.value(NOTIFICATIONS, { channel: 'mail', result: 'queue_full' }) -
      beforeHang.value(NOTIFICATIONS, { channel: 'mail', result: 'queue_full' }), 1, during.text);
    // While the provider hangs, every device's ping is answered promptly.
    let worst = 0;
    for (let i = 0; i < 10; i += 1) {
      const t0 = Date.now();
      await c.ping(100 + i, 1000);
      worst = Math.max(worst, Date.now() - t0);
    }
    assert.ok(worst < 200, `ping answered within 200 ms during the hung send (worst ${worst} ms)`);
    await a.expectResponse(40, NOTIFICATION_ERROR, 4000);
    assert.ok(Date.now() - start < 3500, 'the hung send ended at the plugin\'s timeout_s');
    await b.expectResponse(41, NOTIFICATION_ERROR, 4000);
    smtp.setMode('ok');
    const after = await scrapeMetrics(srv);
    assert.equal(after.value('blynk_notifications_waiting'), 0, after.text);
    // a's and b's sends failed at the timeout; c's found the queue full.
    assert.deepEqual(deltas(beforeHang, after, seriesOf('mail')), moved('mail', { failed: 2, queue_full: 1 }), after.text);
  });

  it('/metrics counts a sent mail, a provider\'s refusal, a quota hit and a missing widget', async (t) => {
    if (skip) return t.skip(skip);
    smtp.setMode('ok');
    const token = await deviceWith([EMAIL_WIDGET]);
    const before = await scrapeMetrics(srv);
    // Each count is made before the device hears its status: no waiting for the scrape.
    const c = cleanup.add(await srv.login(token));
    c.send(Notify.EMAIL, 50, ['m@example.org', 'counted', 'b']);
    await c.expectResponse(50, Status.OK);
    await smtp.nextMail(1000);
    c.send(Notify.EMAIL, 51, ['m@example.org', 'too soon', 'b']);  // frequency_ms: the quota
    await c.expectResponse(51, Status.QUOTA_LIMIT);
    c.send(Notify.PUSH, 52, ['no notification widget']);
    await c.expectResponse(52, NOTIFICATION_NOT_AUTHORIZED);
    smtp.setMode('5xx');
    const d = cleanup.add(await srv.login(token));
    d.send(Notify.EMAIL, 53, ['m@example.org', 'refused', 'b']);
    await d.expectResponse(53, NOTIFICATION_ERROR, 3000);
    smtp.setMode('ok');
    const after = await scrapeMetrics(srv);
    assert.deepEqual(deltas(before, after, seriesOf('mail')), moved('mail', { sent: 1, failed: 1, quota: 1 }), after.text);
    assert.deepEqual(deltas(before, after, seriesOf('push')), moved('push', { no_widget: 1 }), after.text);
    assert.deepEqual(deltas(before, after, seriesOf('sms')), moved('sms', {}), after.text);
    assert.equal(after.value('blynk_notifications_waiting'), 0, after.text);
  });

  it('HTTP /TOKEN/email sends a plain-text mail and answers 200 once it is sent', async (t) => {
    if (skip) return t.skip(skip);
    smtp.setMode('ok');
    const token = await deviceWith([EMAIL_WIDGET]);
    const r = await fetch(`http://127.0.0.1:${srv.hwPort}/${token}/email`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ to: 'web@example.org', subj: 'From HTTP', title: 'the text' }),
    });
    assert.equal(r.status, 200, await r.text());
    const m = await smtp.nextMail(1000);
    assert.equal(m.headers.subject, 'From HTTP');
    assert.equal(m.body, 'the text');
    assert.deepEqual(m.meta.rcpt_tos, ['web@example.org']);
    const bad = await fetch(`http://127.0.0.1:${srv.hwPort}/${token}/email`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ to: 'not an address', subj: 's' }),
    });
    assert.deepEqual([bad.status, await bad.text()], [400, 'Invalid mail receiver.']);
  });

  it('blynkd notify test: sends through the set-up, and says why when it cannot', async (t) => {
    if (skip) return t.skip(skip);
    smtp.setMode('ok');
    let r = await srv.cli(['notify', 'test', '--channel', 'mail', '--to', 'cli@example.org']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /sent in \d+ ms/);
    const m = await smtp.nextMail(1000);
    assert.deepEqual(m.meta.rcpt_tos, ['cli@example.org']);
    // The same configuration, but a closed port, then a server whose certificate is not trusted.
    const closed = await freePort();
    const variants = [
      [(m) => { m.port = closed; }, /connect/i],
      [(m) => { delete m.ca_file; }, /certificate|SSL/i],
    ];
    for (const [change, why] of variants) {
      const cfg = JSON.parse(JSON.stringify(srv.config));
      cfg.server.data_dir = mkTmp('notify-cli');
      change(cfg.plugins['mail-smtp']);
      const file = path.join(dir, 'variant.toml');
      writeFileSync(file, renderToml(cfg));
      r = await new Promise((resolve) => execFile(BLYNKD_BIN, ['--config', file, 'notify', 'test', '--channel', 'mail',
        '--to', 'cli@example.org'], { timeout: 10000 },
      (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr })));
      assert.equal(r.code, 1, `${String(change)}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, why);
      assert.doesNotMatch(r.stdout + r.stderr, new RegExp(SMTP_PASSWORD));
    }
    r = await srv.cli(['config', 'check']);
    assert.match(r.stdout, /notifications: mail via mail-smtp, sms off, push via push-recorder/);
  });

  it('an offline notification fires once after the ignore period, and not for a quick reconnect', async (t) => {
    if (skip) return t.skip(skip);
    const pushes = path.join(dir, 'pushes.txt');
    const widget = (period) => ({
      type: 'NOTIFICATION', id: 91, x: 0, y: 1, width: 1, height: 1, notifyWhenOffline: true,
      notifyWhenOfflineIgnorePeriod: period, androidTokens: { app1: 'push-token-1' },
    });
    const quick = await deviceWith([widget(1000)], { deviceId: 3 });
    const gone = await deviceWith([widget(1000)], { deviceId: 7 });
    const now = await deviceWith([widget(0)], { deviceId: 9 });
    // quick goes and comes back within its period; gone goes after it and stays away.
    (await srv.login(quick)).close();
    cleanup.add(await srv.login(quick));
    (await srv.login(gone)).close();
    const lines = (text) => text.split('\n').filter(Boolean);
    // gone's period ends after quick's: when gone's push is there, quick's would be too.
    let text = await waitForFile(pushes, (x) => lines(x).length >= 1, 4000);
    assert.deepEqual(lines(text), ['Blynk Notification|Your device 7 went offline.|1']);
    // No ignore period: at once; and gone's push was sent only once.
    (await srv.login(now)).close();
    text = await waitForFile(pushes, (x) => lines(x).length >= 2, 3000);
    assert.deepEqual(lines(text), ['Blynk Notification|Your device 7 went offline.|1',
      'Blynk Notification|Your device 9 went offline.|1']);
  });
});
