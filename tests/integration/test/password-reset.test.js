// The mails the server sends itself, end to end through the mail-smtp plugin and a real SMTP server
// (lib/smtp_server.py, STARTTLS and AUTH): the app's RESET_PASSWORD (start mails a one-time token,
// verify, reset, then only the new password logs in), the same over HTTP on the device port
// (POST /resetPassword, GET /landing, POST /updatePassword), the per-address request limit, and the
// app's EMAIL command (a dashboard's device tokens to the account owner).
// One server for the whole file.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Server, Cleanup, mkTmp } from '../lib/harness.js';
import { AppCmd, AppStatus, passHash } from '../lib/app_client.js';
import { newAccount, openApp, uniqueEmail, dashWithDevice } from '../lib/app_setup.js';
import { selfSigned } from '../lib/pki.js';
import { aiosmtpdPython, startSmtp, SMTP_USER, SMTP_PASSWORD } from '../lib/smtp.js';

/** The 64-hex-character reset code a reset mail carries. */
function tokenIn(mail) {
  const m = /^([0-9a-f]{64})$/m.exec(mail.body);
  assert.ok(m, `a reset code in the mail: ${mail.body}`);
  return m[1];
}

/** A form POST or a GET on the device port's HTTP: {status, type, text}. */
async function http(srv, method, urlPath, form) {
  const res = await fetch(`http://127.0.0.1:${srv.hwPort}${urlPath}`, {
    method,
    headers: form ? { 'content-type': 'application/x-www-form-urlencoded' } : {},
    body: form ? new URLSearchParams(form).toString() : undefined,
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

describe('password reset and the server\'s own mails through mail-smtp', () => {
  const cleanup = new Cleanup();
  let smtp;
  let srv;
  let skip = null;

  before(async () => {
    const py = await aiosmtpdPython();
    if (!py) { skip = 'python3-aiosmtpd is not installed (scripts/deps.sh --test)'; return; }
    const dir = mkTmp('reset');
    const cert = selfSigned(dir, 'smtp');
    smtp = cleanup.add(await startSmtp(py, dir, cert));
    smtp.setMode('ok');
    srv = cleanup.add(await Server.start({
      name: 'reset',
      config: {
        plugins: {
          enabled: ['storage-sqlite', 'http-api', 'mail-smtp'],
          'mail-smtp': {
            host: '127.0.0.1', port: smtp.port, tls: 'starttls', ca_file: cert.cert,
            username: SMTP_USER, password: SMTP_PASSWORD, from: 'blynk@example.com',
            timeout_s: 2, retries: 0,
          },
        },
      },
    }));
  });
  after(() => cleanup.run());

  it('RESET_PASSWORD start mails a code; verify, reset; only the new password logs in; the code works once',
    async (t) => {
      if (skip) return t.skip(skip);
      const { email } = await newAccount(srv, cleanup, { password: 'old-pass' });
      const app = await openApp(srv, cleanup);
      await app.expectStatus(AppCmd.RESET_PASSWORD, ['start', email.toUpperCase(), 'Blynk'], AppStatus.OK);
      const mail = await smtp.nextMail();
      assert.deepEqual(mail.meta.rcpt_tos, [email]);
      const token = tokenIn(mail);
      assert.ok(mail.body.includes(`/restore?token=${token}&email=`), 'the app link carries the code');
      // Opened in a browser (the legacy app that caught this link is retired), it is the reset page.
      const page = await http(srv, 'GET', `/restore?token=${token}&email=${encodeURIComponent(email)}`);
      assert.equal(page.status, 200);
      assert.ok(page.text.includes(`value="${token}"`) && /action="\/updatePassword"/.test(page.text),
        '/restore serves the reset form for the code');
      // A second start while the code lives is refused (legacy) and sends nothing.
      await app.expectStatus(AppCmd.RESET_PASSWORD, ['start', email, 'Blynk'], AppStatus.NOT_ALLOWED);

      await app.expectStatus(AppCmd.RESET_PASSWORD, ['verify', token], AppStatus.OK);
      await app.expectStatus(AppCmd.RESET_PASSWORD, ['verify', 'f'.repeat(64)], AppStatus.NOT_ALLOWED);
      await app.expectStatus(AppCmd.RESET_PASSWORD, ['reset', token, passHash(email, 'new-pass')], AppStatus.OK);
      const confirm = await smtp.nextMail();
      assert.deepEqual(confirm.meta.rcpt_tos, [email]);
      assert.doesNotMatch(confirm.body, /[0-9a-f]{64}/, 'the confirmation carries no code');

      // Single use: the code is gone.
      await app.expectStatus(AppCmd.RESET_PASSWORD, ['verify', token], AppStatus.NOT_ALLOWED);
      await app.expectStatus(AppCmd.RESET_PASSWORD, ['reset', token, passHash(email, 'third')], AppStatus.NOT_ALLOWED);

      const fresh = await openApp(srv, cleanup);
      await fresh.login(email, 'old-pass', { expect: AppStatus.USER_NOT_AUTHENTICATED });
      const again = await openApp(srv, cleanup);
      await again.login(email, 'new-pass');
      assert.doesNotMatch(srv.allLogs, new RegExp(token), 'the code is never logged');
    });

  it('an unknown account, a malformed e-mail and an unknown code get the legacy answers; no mail goes out',
    async (t) => {
      if (skip) return t.skip(skip);
      const before = smtp.count();
      const app = await openApp(srv, cleanup);
      await app.expectStatus(AppCmd.RESET_PASSWORD, ['start', uniqueEmail('nobody'), 'Blynk'], AppStatus.ILLEGAL_COMMAND);
      await app.expectStatus(AppCmd.RESET_PASSWORD, ['start', 'not-an-email', 'Blynk'], AppStatus.ILLEGAL_COMMAND);
      await app.expectStatus(AppCmd.RESET_PASSWORD, ['start', 'x@example.com'], AppStatus.ILLEGAL_COMMAND);
      await app.expectStatus(AppCmd.RESET_PASSWORD, ['reset', 'a'.repeat(64), 'hash'], AppStatus.NOT_ALLOWED);
      await app.expectStatus(AppCmd.RESET_PASSWORD, ['verify', 'short'], AppStatus.NOT_ALLOWED);
      assert.equal(smtp.count(), before, 'nothing was mailed');
    });

  it('the HTTP reset: /resetPassword mails a /landing link, the page has the form, /updatePassword sets the hash once',
    async (t) => {
      if (skip) return t.skip(skip);
      const { email } = await newAccount(srv, cleanup, { password: 'web-old' });
      let r = await http(srv, 'POST', '/resetPassword', { email: ` ${email.toUpperCase()} ` });
      assert.deepEqual([r.status, r.text], [200, 'Email was sent.']);
      const mail = await smtp.nextMail();
      assert.deepEqual(mail.meta.rcpt_tos, [email]);
      const token = tokenIn(mail);
      assert.ok(mail.body.includes(`/landing?token=${token}`), 'the mail links the landing page');

      r = await http(srv, 'GET', `/landing?token=${token}`);
      assert.equal(r.status, 200);
      assert.match(r.type, /^text\/html/);
      assert.ok(r.text.includes(email) && r.text.includes(`value="${token}"`), 'the page names the account, carries the code');
      assert.match(r.text, /action="\/updatePassword"/);

      r = await http(srv, 'POST', '/updatePassword', { password: passHash(email, 'web-new'), token });
      assert.deepEqual([r.status, r.text], [200, 'Password was successfully reset.']);
      await smtp.nextMail();  // the confirmation
      r = await http(srv, 'POST', '/updatePassword', { password: passHash(email, 'again'), token });
      assert.deepEqual([r.status, r.text], [400, 'Invalid token. Please repeat all steps.']);
      r = await http(srv, 'GET', `/landing?token=${token}`);
      assert.deepEqual([r.status, r.text], [400, 'Your token was not found or it is outdated. Please try again.']);
      r = await http(srv, 'GET', '/landing?token=<script>');
      assert.deepEqual([r.status, r.text], [400, 'Invalid request parameters.']);

      assert.doesNotMatch(srv.allLogs, new RegExp(token), 'the code is never logged, the landing address neither');
      await (await openApp(srv, cleanup)).login(email, 'web-old', { expect: AppStatus.USER_NOT_AUTHENTICATED });
      await (await openApp(srv, cleanup)).login(email, 'web-new');

      r = await http(srv, 'POST', '/resetPassword', { email: 'not an email' });
      assert.deepEqual([r.status, r.text], [400, 'not an email email has not valid format.']);
      r = await http(srv, 'POST', '/resetPassword', { email: uniqueEmail('nobody') });
      assert.deepEqual([r.status, r.text], [400, 'Sorry, this account does not exist.']);
    });

  it('the app\'s EMAIL mails the dashboard\'s device tokens to the account owner only', async (t) => {
    if (skip) return t.skip(skip);
    const { app, email } = await newAccount(srv, cleanup);
    const first = await dashWithDevice(app, { dashId: 1, deviceId: 0, name: 'Greenhouse' });
    await app.expectStatus(AppCmd.EMAIL, ['1'], AppStatus.OK);
    let m = await smtp.nextMail();
    assert.deepEqual(m.meta.rcpt_tos, [email]);
    assert.equal(m.headers.subject, 'Auth Token for Greenhouse project and device device 0');
    assert.ok(m.body.startsWith(`Auth Token : ${first.token}\n`), m.body);

    const second = await app.createDevice(1, { id: 1, name: 'Pump', boardType: 'ESP32' });
    await app.expectStatus(AppCmd.EMAIL, ['1'], AppStatus.OK);
    m = await smtp.nextMail();
    assert.equal(m.headers.subject, 'Auth Tokens for Greenhouse project and 2 devices');
    assert.ok(m.body.includes(`Auth Token for device 'device 0' : ${first.token}\n`), m.body);
    assert.ok(m.body.includes(`Auth Token for device 'Pump' : ${second.token}\n`), m.body);

    await app.expectStatus(AppCmd.EMAIL, ['1', '1'], AppStatus.OK);
    m = await smtp.nextMail();
    assert.equal(m.headers.subject, 'Auth Token for Greenhouse project and device Pump');
    assert.deepEqual(m.meta.rcpt_tos, [email]);

    const before = smtp.count();
    await app.expectStatus(AppCmd.EMAIL, ['7'], AppStatus.ILLEGAL_COMMAND);
    await app.expectStatus(AppCmd.EMAIL, ['1', '9'], AppStatus.ILLEGAL_COMMAND_BODY);
    await app.expectStatus(AppCmd.EMAIL, ['1', 'someone@else.example'], AppStatus.ILLEGAL_COMMAND_BODY);
    assert.equal(smtp.count(), before, 'nothing else was mailed');
    assert.doesNotMatch(srv.allLogs, new RegExp(second.token), 'tokens are not logged');
  });

  // Last: it uses up this address's hourly reset requests.
  it('one address gets at most 5 reset requests an hour, so the reset cannot mail-bomb an account', async (t) => {
    if (skip) return t.skip(skip);
    const app = await openApp(srv, cleanup);
    let refused = 0;
    for (let i = 0; i < 6 && !refused; i += 1) {
      const f = await app.request(AppCmd.RESET_PASSWORD, ['start', uniqueEmail('flood'), 'Blynk']);
      if (f.status === AppStatus.NOT_ALLOWED) refused = i + 1;
      else assert.equal(f.status, AppStatus.ILLEGAL_COMMAND);
    }
    assert.ok(refused > 0, 'refused within 6 requests (5 an hour; earlier tests used some)');
    const r = await http(srv, 'POST', '/resetPassword', { email: uniqueEmail('flood') });
    assert.deepEqual([r.status, r.text], [400, 'Too many reset requests from this address. Please try again later.']);
  });
});
