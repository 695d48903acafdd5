// blynkd import-legacy (kernel/app/import_legacy.cpp, kernel/host/legacy_user.cpp, legacy_import.cpp,
// kernel/net/operator_import.cpp): a legacy server's data folder, built here from the documented
// schema (docs/reference server-behaviour §4, §5), imported with the server stopped and while it
// runs; imported devices log in with their tokens and see their pin values; a damaged file is
// named with its reason and skipped whole; a second import changes nothing.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { Server, Cleanup, mkTmp, which, BLYNKD_BIN } from '../lib/harness.js';
import { makeDevice } from '../lib/blynklib.js';
import { request, basic, bearer, showRes, WRONG_ADMIN } from '../lib/operator.js';
import { AppCmd, AppStatus, inflate, passHash } from '../lib/app_client.js';
import { openApp, session } from '../lib/app_setup.js';

const cleanup = new Cleanup();
const SCRIPT = which('script');
// The CLI hashes every imported password (PBKDF2 at the test floor): more than the default 10 s.
const IMPORT_TIMEOUT_MS = 60000;

/** The legacy app's client-side password hash (protocol §10.1), which legacy files store as "pass". */
export function legacyClientHash(email, password) {
  const inner = createHash('sha256').update(email.toLowerCase(), 'utf8').digest();
  return createHash('sha256').update(Buffer.concat([Buffer.from(password, 'utf8'), inner])).digest('base64');
}

const tok = (c) => c.repeat(32);
const TOKEN = { alice: tok('a'), bob: tok('b'), carol: tok('c'), dave: tok('d'), erin: tok('e'), frank: tok('f') };
const CLONE_CODE = 'CloneCode0123456789abcdefABCDEF0';

function user(email, password, profile, extra = {}) {
  return {
    name: email.split('@')[0], email, appName: 'Blynk', region: 'local', ip: '10.1.1.1',
    pass: legacyClientHash(email, password), lastModifiedTs: 1500000000000, lastLoggedIP: '10.2.2.2',
    lastLoggedAt: 1500000000001, isFacebookUser: false, isSuperAdmin: false, energy: 2000, id: `${email}-Blynk`,
    profile, ...extra,
  };
}

function device(id, name, token, extra = {}) {
  return { id, name, boardType: 'ESP8266', token, vendor: 'Espressif', connectionType: 'WI_FI', status: 'ONLINE',
    lastLoggedIP: '10.3.3.3', ...extra };
}

const ALICE_DASH = {
  id: 1, parentId: -1, isPreview: false, name: 'Home', createdAt: 1500000000000, updatedAt: 1500000005000,
  theme: 'Blynk', keepScreenOn: true, isAppConnectedOn: false, isNotificationsOff: false, isShared: true,
  isActive: true, widgetBackgroundOn: false, color: -1, isDefaultColor: true, sharedToken: 'share-token-of-alice-0000000001',
  widgets: [
    { type: 'BUTTON', id: 11, x: 0, y: 0, width: 2, height: 2, deviceId: 0, pinType: 'DIGITAL', pin: 5, pwmMode: false,
      rangeMappingOn: false, min: 0, max: 1, value: '1', pushMode: false, label: 'Pump' },
    { type: 'SLIDER', id: 12, deviceId: 0, pinType: 'VIRTUAL', pin: 3, min: 0, max: 255, value: '77', sendOnReleaseOn: true },
    { type: 'RGB', id: 13, deviceId: 0, splitMode: false, pins: [
      { pin: 10, pinType: 'VIRTUAL', min: 0, max: 255 }, { pin: 11, pinType: 'VIRTUAL' }, { pin: 12, pinType: 'VIRTUAL' }] },
    { type: 'LABELED_VALUE_DISPLAY', id: 14, deviceId: 0, pinType: 'VIRTUAL', pin: 1, value: '21.5', frequency: 1000 },
    { type: 'ENHANCED_GRAPH', id: 15, dataStreams: [{ title: 'Temp', pin: { pin: 1, pinType: 'VIRTUAL' } }],
      period: 'DAY', someFutureField: { nested: [1, 'two', null] } },
    { type: 'TERMINAL', id: 16, deviceId: 0, pinType: 'VIRTUAL', pin: 6, autoScrollOn: true },
  ],
  devices: [device(0, 'esp', TOKEN.alice)],
  tags: [{ id: 100000, name: 'everything', deviceIds: [0] }],
};

// The profile-level pinsStorage (newer form): a plain value, a bounded queue (its last value
// counts) and a widget property.
const ALICE_PINS = {
  '1-0-v5': 'from-profile-map',
  '1-0-v6': { type: 'TERMINAL', values: ['first', 'second', 'last line'] },
  '1-0-v1-label': 'Temperature',
};

// bob: the older per-dashboard pinsStorage ("deviceId-<pt><pin>"), two dashboards.
const BOB_DASH = {
  id: 2, name: 'Garage', createdAt: 1400000000000, isActive: true,
  // A value written as a JSON number, as some older app versions did.
  widgets: [{ type: 'GAUGE', id: 21, deviceId: 0, pinType: 'VIRTUAL', pin: 9, value: 3.3 }],
  devices: [device(0, 'door', TOKEN.bob, { boardType: 'Arduino UNO', connectionType: 'ETHERNET' })],
  pinsStorage: { '0-v7': 'per-dash-value', '0-v9-color': '#FF0000' },
};

function writeFolder(dir, files) {
  mkdirSync(path.join(dir, 'clone'), { recursive: true });
  for (const [name, content] of Object.entries(files))
    writeFileSync(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  return dir;
}

let srv;
let legacy;
let firstImport;

async function importLegacy(folder, ...args) {
  const r = await srv.cli(['import-legacy', folder, ...args], IMPORT_TIMEOUT_MS);
  assert.equal(r.timedOut, false, `import-legacy timed out\n${r.stdout}\n${r.stderr}`);
  return r;
}

async function pollUntil(fn, pred, what, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (pred(last)) return last;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function httpGet(urlPath) {
  const res = await fetch(`http://127.0.0.1:${srv.hwPort}${urlPath}`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, text: await res.text() };
}

before(async () => {
  srv = cleanup.add(Server.create({ name: 'import-legacy', config: { plugins: { enabled: ['storage-sqlite', 'http-api'] } } }));
  legacy = writeFolder(mkTmp('legacy-data'), {
    'alice@example.com.Blynk.user': user('alice@example.com', 'alice-pass', { dashBoards: [ALICE_DASH], pinsStorage: ALICE_PINS }),
    'bob@example.com.Blynk.user': user('bob@example.com', 'bob-pass', {
      dashBoards: [BOB_DASH, { id: 3, name: 'Empty', createdAt: 1400000000001, isActive: false }] }),
    // The older file name form; this one has no "email" field: the name says it.
    'u_carol@example.com.user': (() => {
      const u = user('carol@example.com', 'carol-pass', { dashBoards: [{ id: 1, name: 'Old', isActive: true,
        widgets: [{ type: 'LED', id: 31, deviceId: 0, pinType: 'VIRTUAL', pin: 2, value: '255' }],
        devices: [device(0, 'old-board', TOKEN.carol)] }] });
      delete u.email;
      return u;
    })(),
    'dave@example.com.Blynk.user': user('dave@example.com', 'dave-pass', { dashBoards: [{ id: 1, name: 'Admin',
      isActive: true, devices: [device(0, 'lab', TOKEN.dave)] }] }, { isSuperAdmin: true }),
    // Damaged: cut off in the middle (a disk full while the legacy server wrote it).
    'broken@example.com.Blynk.user': '{"email":"broken@example.com","pass":"x","profile":{"dashBoards":[{"id":1,"widg',
  });
  writeFileSync(path.join(legacy, 'clone', CLONE_CODE), JSON.stringify({ id: 1, name: 'Cloned', widgets: [] }));
  // With the server stopped: storage directly.
  firstImport = await importLegacy(legacy);
  await srv.launch();
});
after(() => cleanup.run());

describe('import-legacy with the server stopped', () => {
  it('the legacy client hash helper matches the documented test vector', () => {
    assert.equal(legacyClientHash('test@gmail.com', '123'), '/pyQf3JCj5XoczfsYJ4LUb+y0DONGMl/AFzLiBTo8LA=');
  });

  it('imports every valid user and names the damaged file with its reason, skipping it whole', () => {
    const out = firstImport.stdout;
    assert.equal(firstImport.code, 1, `a skipped file makes the exit code 1\n${out}\n${firstImport.stderr}`);
    assert.match(out, /users: 4 imported, 0 replaced, 0 unchanged, 1 skipped/);
    assert.match(out, /written: 5 dashboard\(s\), 4 device\(s\)/);
    assert.match(out, /clone codes: 1 stored, 0 unchanged/);
    assert.match(out, /broken@example\.com\.Blynk\.user: invalid JSON/);
    // A progress bar is for terminals only: stdout and stderr are pipes here.
    assert.doesNotMatch(firstImport.stderr, /\d+\/\d+ users/);
  });

  it('an imported device logs in with its legacy token and its virtualWrite is stored', async () => {
    const b = cleanup.add(makeDevice(TOKEN.alice, { port: srv.hwPort }));
    await b.whenConnected();
    b.virtualWrite(20, 'hello from an old board');
    await pollUntil(() => httpGet(`/${TOKEN.alice}/get/v20`), (r) => r.text === '["hello from an old board"]', 'V20');
    b.close();
  });

  it('pin values come from widget values and from both pinsStorage forms', async () => {
    const expect = [
      [TOKEN.alice, 'V3', '["77"]'],              // a slider's value
      [TOKEN.alice, 'v1', '["21.5"]'],            // a display's value
      [TOKEN.alice, 'v5', '["from-profile-map"]'], // the profile's map
      [TOKEN.alice, 'v6', '["last line"]'],       // a bounded queue: its last value
      [TOKEN.alice, 'd5', '["1"]'],               // a button's digital pin
      [TOKEN.bob, 'v7', '["per-dash-value"]'],    // a dashboard's older map
      [TOKEN.bob, 'v9', '["3.3"]'],
      [TOKEN.carol, 'v2', '["255"]'],             // the u_<email>.user form
    ];
    for (const [t, pin, body] of expect) {
      const r = await httpGet(`/${t}/get/${pin}`);
      assert.equal(r.status, 200, `${pin}: ${r.text}`);
      assert.equal(r.text, body, pin);
    }
  });

  it('/TOKEN/project shows the dashboard with its widgets, unknown fields kept, no tokens', async () => {
    const r = await httpGet(`/${TOKEN.alice}/project`);
    assert.equal(r.status, 200, r.text);
    const p = JSON.parse(r.text);
    assert.equal(p.name, 'Home');
    assert.deepEqual(p.widgets.map((w) => w.type),
      ['BUTTON', 'SLIDER', 'RGB', 'LABELED_VALUE_DISPLAY', 'ENHANCED_GRAPH', 'TERMINAL']);
    assert.deepEqual(p.widgets[2].pins.map((x) => x.pin), [10, 11, 12]);
    assert.deepEqual(p.widgets[4].someFutureField, { nested: [1, 'two', null] });
    assert.equal(p.widgets[1].value, '77');
    assert.equal(p.theme, 'Blynk');
    assert.equal(p.devices[0].vendor, 'Espressif');
    assert.doesNotMatch(r.text, new RegExp(TOKEN.alice), 'the public view carries no token');
    assert.doesNotMatch(r.text, /10\.2\.2\.2|10\.1\.1\.1/, 'per-server addresses are not imported');
  });

  it('the clone code is served by /{code}/clone', async () => {
    const r = await httpGet(`/${CLONE_CODE}/clone`);
    assert.equal(r.status, 200, r.text);
    assert.equal(JSON.parse(r.text).name, 'Cloned');
  });

  it('a legacy super admin is an administrator here, with the legacy password', async () => {
    const r = await request(srv, 'GET', '/api/v1/users', { auth: basic('dave@example.com', 'dave-pass') });
    assert.equal(r.status, 200, showRes(r));
    const users = JSON.parse(r.text);
    assert.deepEqual(users.filter((u) => u.email.endsWith('@example.com')).map((u) => [u.email, u.admin]).sort(), [
      ['alice@example.com', false], ['bob@example.com', false], ['carol@example.com', false], ['dave@example.com', true]]);
    const notAdmin = await request(srv, 'GET', '/api/v1/users', { auth: basic('alice@example.com', 'alice-pass') });
    assert.equal(notAdmin.status, 401, `alice is no admin: ${showRes(notAdmin)}`);
    assert.equal(notAdmin.json.error, WRONG_ADMIN);
  });

  it('an app logs in with an imported password and loads the imported dashboard with its device token', async () => {
    const app = await session(srv, cleanup, 'alice@example.com', 'alice-pass');
    const r = await app.request(AppCmd.LOAD_PROFILE_GZIPPED, []);
    assert.equal(r.cmd, AppCmd.LOAD_PROFILE_GZIPPED);
    const profile = inflate(r.body);
    const home = profile.dashBoards.find((d) => d.name === 'Home');
    assert.ok(home, 'the imported dashboard');
    assert.equal(home.devices[0].token, TOKEN.alice, 'the owner sees the imported token');
    const wrong = await openApp(srv, cleanup);
    await wrong.expectStatus(AppCmd.LOGIN, ['alice@example.com', passHash('alice@example.com', 'not-hers')],
      AppStatus.USER_NOT_AUTHENTICATED);
  });
});

describe('the store after an import', () => {
  it('holds the legacy passwords only as PBKDF2 hashes, and the import printed none of them', async () => {
    await srv.stop();
    const db = path.join(srv.dataDir, 'blynk.db');
    const bytes = [db, `${db}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f).toString('latin1')).join('');
    for (const [email, pw] of [['alice@example.com', 'alice-pass'], ['dave@example.com', 'dave-pass']]) {
      const legacyHash = legacyClientHash(email, pw);
      assert.equal(bytes.includes(legacyHash), false, `the legacy hash of ${email} is stored as it came`);
      assert.equal((firstImport.stdout + firstImport.stderr).includes(legacyHash), false);
    }
    assert.equal((bytes.match(/pbkdf2-sha256\$100000\$/g) || []).length >= 4, true, 'four imported PBKDF2 hashes');
    await srv.launch();
  });
});

describe('importing again', () => {
  it('reports every user and the clone code unchanged and writes nothing', async () => {
    await srv.stop();
    const r = await importLegacy(legacy);
    assert.match(r.stdout, /users: 0 imported, 0 replaced, 4 unchanged, 1 skipped/, r.stdout + r.stderr);
    assert.match(r.stdout, /clone codes: 0 stored, 1 unchanged/);
    await srv.launch();
    // The value the device wrote after the first import is still there.
    assert.equal((await httpGet(`/${TOKEN.alice}/get/v20`)).text, '["hello from an old board"]');
  });
});

describe('import-legacy while the server runs', () => {
  it('goes through the operator API and the imported device logs in at once', async () => {
    const dir = writeFolder(mkTmp('legacy-live'), {
      'erin@example.com.Blynk.user': user('erin@example.com', 'erin-pass', { dashBoards: [{ id: 4, name: 'Live',
        isActive: true, widgets: [{ type: 'SLIDER', id: 41, deviceId: 0, pinType: 'VIRTUAL', pin: 1, value: '12' }],
        devices: [device(0, 'live', TOKEN.erin)] }] }),
      // A token that belongs to alice already: this account is skipped, not half-imported.
      'frank@example.com.Blynk.user': user('frank@example.com', 'frank-pass', { dashBoards: [{ id: 1, name: 'Thief',
        isActive: true, devices: [device(0, 'copy', TOKEN.alice), device(1, 'own', TOKEN.frank)] }] }),
    });
    const r = await importLegacy(dir);
    assert.match(r.stdout, /through the running server/, r.stdout + r.stderr);
    assert.match(r.stdout, /users: 1 imported, 0 replaced, 0 unchanged, 1 skipped/, r.stdout + r.stderr);
    assert.match(r.stdout, /frank@example\.com\.Blynk\.user: the token of device 0 of dashboard 1 belongs to another account \(alice@example\.com\)/);
    const b = cleanup.add(makeDevice(TOKEN.erin, { port: srv.hwPort }));
    await b.whenConnected();
    assert.equal((await httpGet(`/${TOKEN.erin}/get/v1`)).text, '["12"]');
    b.close();
    // Nothing of frank was written: his own token is unknown.
    assert.equal((await httpGet(`/${TOKEN.frank}/get/v1`)).status, 400);
  });
});

describe('PUT /api/v1/users/{email}/profile', () => {
  const put = (email, body, { query = '', auth = bearer(srv) } = {}) =>
    request(srv, 'PUT', `/api/v1/users/${encodeURIComponent(email)}/profile${query}`, { auth, body });
  const gina = (password, name = 'Gina') => ({ ...user('gina@example.com', password, { dashBoards: [{ id: 1,
    name, isActive: true, devices: [device(0, 'g', tok('g'))] }] }) });

  it('needs administrator credentials', async () => {
    const r = await put('gina@example.com', gina('gina-pass'), { auth: null });
    assert.equal(r.status, 401, showRes(r));
  });

  it('refuses a body that is not a legacy profile, naming why, and one whose email is not the path\'s', async () => {
    let r = await put('gina@example.com', '{"profile":');
    assert.equal(r.status, 400, showRes(r));
    assert.match(r.json.error, /^Not a legacy profile: invalid JSON/);
    r = await put('gina@example.com', { ...gina('gina-pass'), email: 'other@example.com' });
    assert.equal(r.status, 400, showRes(r));
    assert.match(r.json.error, /other@example\.com/);
  });

  it('imports (201), then answers unchanged (200), a different account is a conflict (409) unless overwrite', async () => {
    let r = await put('gina@example.com', gina('gina-pass'));
    assert.equal(r.status, 201, showRes(r));
    assert.deepEqual(r.json, { email: 'gina@example.com', result: 'imported', dashboards: 1, devices: 1, pins: 0 });
    r = await put('gina@example.com', gina('gina-pass'));
    assert.equal(r.status, 200, showRes(r));
    assert.equal(r.json.result, 'unchanged');
    r = await put('gina@example.com', gina('another-pass'));
    assert.equal(r.status, 409, showRes(r));
    assert.equal(r.json.result, 'exists');
    assert.match(r.json.error, /--overwrite replaces it/);
    r = await put('gina@example.com', gina('another-pass', 'Renamed'), { query: '?overwrite=1' });
    assert.equal(r.status, 200, showRes(r));
    assert.equal(r.json.result, 'replaced');
    const p = await httpGet(`/${tok('g')}/project`);
    assert.equal(JSON.parse(p.text).name, 'Renamed', 'the live model has the replacement');
  });
});

describe('the progress bar', () => {
  it('is drawn on a terminal (a pty from script(1)) and ends full', { skip: SCRIPT ? false : 'script (util-linux) not installed' }, async () => {
    const other = cleanup.add(Server.create({ name: 'import-tty' }));
    const dir = writeFolder(mkTmp('legacy-tty'), Object.fromEntries([1, 2, 3].map((i) => [`tty${i}@example.com.Blynk.user`,
      user(`tty${i}@example.com`, 'pw', { dashBoards: [{ id: 1, name: 'T', isActive: true,
        devices: [device(0, 't', `${'t'.repeat(31)}${i}`)] }] })])));
    const quote = (x) => `'${x.replace(/'/g, "'\\''")}'`;
    const out = await new Promise((resolve) => {
      execFile(SCRIPT, ['-qfec', `${quote(BLYNKD_BIN)} --config ${quote(other.configPath)} import-legacy ${quote(dir)}`, '/dev/null'],
        { cwd: other.dir, timeout: IMPORT_TIMEOUT_MS, killSignal: 'SIGKILL' }, (err, stdout, stderr) => resolve(stdout + stderr));
    });
    assert.match(out, /\[=+\] 3\/3 users/, out);
    assert.match(out, /users: 3 imported/, out);
  });
});
