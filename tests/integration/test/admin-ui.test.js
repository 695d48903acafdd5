// The admin web UI (plugins/admin-ui) in headless Chromium, driven by playwright-core: log in
// with the generated password, the forced password change, create a user and a device, see the
// device go online when a real blynk-library device connects (no reload), give it a new token
// (the device is disconnected and the old token refused), remove it, log out; a page on another
// origin cannot act through the logged-in browser (CSRF); the page works on a phone-sized screen.
// Screenshots go to <build>/test-artifacts/admin-ui/ (the path is printed).
// Skipped, saying why, when Chromium or playwright-core is not installed
// (scripts/deps.sh --test installs chromium; npm ci installs playwright-core).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Server, Cleanup, Cmd, Status, BUILD_DIR } from '../lib/harness.js';
import { adminCredentials, api, request } from '../lib/operator.js';
import { makeDevice } from '../lib/blynklib.js';

const CHROMIUM = process.env.BLYNK_CHROMIUM || '/usr/bin/chromium';
let chromium = null;
let skip = false;
if (!existsSync(CHROMIUM)) {
  skip = `Chromium not found at ${CHROMIUM} (Debian: apt-get install chromium; scripts/deps.sh --test installs it)`;
} else {
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    skip = `playwright-core is not installed (npm ci in tests/integration): ${e.message}`;
  }
}
if (skip) console.log(`# admin-ui browser test skipped: ${skip}`);

const cleanup = new Cleanup();
after(() => cleanup.run());

const WAIT_MS = 5000;  // every wait for the page is bounded by this
const NEW_PASSWORD = 'correct horse battery staple';
const ARTIFACTS = path.join(BUILD_DIR, 'test-artifacts', 'admin-ui');

describe('admin web UI in a browser', { skip }, () => {
  let srv;
  let browser;
  let page;
  let origin;
  const pageErrors = [];  // script errors and CSP violations of the admin page
  const shot = async (name) => {
    const file = path.join(ARTIFACTS, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  };

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    console.log(`# admin-ui screenshots: ${ARTIFACTS}`);
    srv = cleanup.add(await Server.start({
      name: 'admin-ui',
      config: { plugins: { enabled: ['storage-sqlite', 'admin-ui'] }, admin: { allowed_ips: ['127.0.0.1/32'] } },
    }));
    origin = `https://127.0.0.1:${srv.tlsPort}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
      timeout: 20000,
    });
    cleanup.add({ close: () => browser.close() });
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    page.on('dialog', (d) => d.accept());  // the page confirms a removal or a new token
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) pageErrors.push(m.text()); });
  });

  it('log in with the generated password, choose a new one, manage a device that goes online live, log out', async () => {
    const { email, password } = adminCredentials(srv);
    await page.goto(`${origin}/admin`);
    await page.locator('#login-view').waitFor();
    await shot('1-login');
    await page.fill('#login-email', email);
    await page.fill('#login-password', password);
    await page.click('#login-form button[type=submit]');

    // the forced change: nothing else is shown until it is done
    await page.locator('#password-view').waitFor();
    assert.equal(await page.locator('#app-view').isVisible(), false);
    await shot('2-forced-password-change');
    await page.fill('#pw-current', password);
    await page.fill('#pw-new', NEW_PASSWORD);
    await page.fill('#pw-repeat', NEW_PASSWORD);
    await page.click('#password-form button[type=submit]');
    await page.locator('#app-view').waitFor();
    await page.locator('#live.on').waitFor();  // the live feed is open
    await page.waitForFunction(() => document.getElementById('stat-plugins').textContent.includes('admin-ui'));

    // a user, then a device of that user
    await page.fill('#user-email', 'owner@example.com');
    await page.fill('#user-name', 'Owner');
    await page.click('#user-form button[type=submit]');
    await page.locator('#users tr[data-email="owner@example.com"]').waitFor();
    await page.fill('#device-email', 'owner@example.com');
    await page.fill('#device-name', 'greenhouse');
    await page.fill('#device-board', 'ESP32');
    await page.click('#device-form button[type=submit]');
    const row = page.locator('#devices tbody tr', { hasText: 'greenhouse' });
    await row.waitFor();
    const token = await row.getAttribute('data-token');
    assert.match(token, /^[A-Za-z0-9_-]{32}$/);
    assert.equal(await row.getAttribute('class'), 'offline');
    await shot('3-device-added');

    // a real device connects: the row turns online without a reload
    const navigations = [];
    page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations.push(f.url()); });
    const dev = cleanup.add(makeDevice(token, { port: srv.hwPort }));
    await dev.whenConnected();
    await page.locator(`#devices tr[data-token="${token}"].online`).waitFor();
    await page.locator(`#devices tr[data-token="${token}"] .reported`, { hasText: 'library 0.5.4' }).waitFor();
    assert.deepEqual(navigations, [], 'no reload');
    await shot('4-device-online');

    // a new token: the device is disconnected, its old token refused
    const disconnected = dev.whenEvent('disconnect', WAIT_MS);
    await page.click(`#devices tr[data-token="${token}"] button.rotate`);
    await disconnected;
    dev.close();
    const newRow = page.locator('#devices tbody tr', { hasText: 'greenhouse' });
    await page.waitForFunction((old) => {
      const r = [...document.querySelectorAll('#devices tbody tr')].find((x) => x.textContent.includes('greenhouse'));
      return r && r.dataset.token !== old;
    }, token);
    const newToken = await newRow.getAttribute('data-token');
    assert.notEqual(newToken, token);
    const raw = cleanup.add(await srv.connect());
    raw.send(Cmd.HARDWARE_LOGIN, 1, token);
    await raw.expectResponse(1, Status.INVALID_TOKEN);
    raw.end();
    await shot('5-token-rotated');

    // remove it
    await page.click(`#devices tr[data-token="${newToken}"] button.remove`);
    await page.locator(`#devices tr[data-token="${newToken}"]`).waitFor({ state: 'detached' });
    const left = await api(srv, 'GET', '/api/v1/devices?email=owner%40example.com', undefined, 200);
    assert.deepEqual(left, [], 'the device is gone from the server');

    // log out: the login form again, and the session is over
    await page.click('#logout');
    await page.locator('#login-view').waitFor();
    await shot('6-logged-out');
    const status = await page.evaluate(async () => (await fetch('/api/v1/users')).status);
    assert.equal(status, 401, 'the browser holds no session after logout');
  });

  it('a page on another origin cannot act through the logged-in browser (CSRF)', async () => {
    // log in again (with the new password)
    await page.goto(`${origin}/admin`);
    await page.fill('#login-email', adminCredentials(srv).email);
    await page.fill('#login-password', NEW_PASSWORD);
    await page.click('#login-form button[type=submit]');
    await page.locator('#app-view').waitFor();

    // the attacker's page, on a second local HTTP server: a form post, a no-preflight fetch and a
    // JSON fetch (which needs a preflight the server does not grant), all at the admin API
    const target = `${origin}/api/v1/users`;
    const evil = `<!doctype html><title>prize</title><body>
<form id="f" method="POST" action="${target}" enctype="text/plain">
<input name='{"email":"evil-form@example.com","x":"' value='"}'></form>
<iframe name="sink"></iframe>
<script>
(async () => {
  const out = [];
  try { await fetch('${target}', { method: 'POST', mode: 'no-cors', credentials: 'include',
    headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify({ email: 'evil-fetch@example.com' }) }); out.push('sent'); }
  catch (e) { out.push('fetch failed'); }
  try { const r = await fetch('${target}', { method: 'POST', credentials: 'include',
    headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email: 'evil-json@example.com' }) });
    out.push('json ' + r.status); }
  catch (e) { out.push('json blocked'); }
  try { const r = await fetch('${origin}/api/v1/session', { credentials: 'include' }); out.push('read ' + r.status + ' ' + await r.text()); }
  catch (e) { out.push('read blocked'); }
  document.getElementById('f').target = 'sink';
  document.getElementById('f').submit();
  document.title = 'done: ' + out.join('; ');
})();
</script></body>`;
    const attacker = http.createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(evil);
    });
    await new Promise((ok) => attacker.listen(0, '127.0.0.1', ok));
    cleanup.add({ close: () => attacker.close() });
    const evilPage = await page.context().newPage();
    evilPage.setDefaultTimeout(WAIT_MS);
    await evilPage.goto(`http://127.0.0.1:${attacker.address().port}/`);
    await evilPage.waitForFunction(() => document.title.startsWith('done'));
    const title = await evilPage.title();
    assert.ok(!/read 200/.test(title), `the other origin cannot read the session or its CSRF token: ${title}`);
    // the form's post lands (or not) in the iframe; wait for the server to have answered it
    await srv.waitForLog(/operator API refused: .*(Cross-site|JSON bodies only)/, WAIT_MS);
    await evilPage.close();

    const users = await api(srv, 'GET', '/api/v1/users', undefined, 200);
    const evilOnes = users.filter((u) => u.email.startsWith('evil'));
    assert.deepEqual(evilOnes, [], 'nothing was created from the other origin');
    // the admin's own page still works
    await page.bringToFront();
    await page.fill('#user-email', 'after-csrf@example.com');
    await page.click('#user-form button[type=submit]');
    await page.locator('#users tr[data-email="after-csrf@example.com"]').waitFor();
  });

  it('on a phone-sized screen nothing overflows sideways', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('#app-view').waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than the screen`);
    await shot('7-phone');
  });

  it('the admin page had no script error and no Content-Security-Policy violation', () => {
    assert.deepEqual(pageErrors, []);
  });

  it('an address outside [admin] allowed_ips gets nothing from /admin', async () => {
    const r = await request(srv, 'GET', '/admin', { localAddress: '127.0.0.2' });
    assert.equal(r.status, 403);
    assert.ok(!/<html/i.test(r.text), 'no page');
  });
});
