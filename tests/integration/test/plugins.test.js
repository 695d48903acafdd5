// Plugins as an operator meets them: a third-party plugin built out of tree against the
// installed SDK, loaded into a running blynkd and fed real pin writes; and every way the
// loader refuses a start (wrong ABI, no entry symbol, missing file, bad settings, no storage),
// each with a non-zero exit and a message that says what to fix (docs/plugin-sdk.md,
// "Errors an operator sees").
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Server, Cleanup, BUILD_DIR, SOURCE_DIR, BLYNKD_BIN, PLUGIN_DIR, mkTmp, withTimeout } from '../lib/harness.js';
import { makeDevice } from '../lib/blynklib.js';

const cleanup = new Cleanup();
after(() => cleanup.run());

// Left there by tests/sdk/out_of_tree.sh (CTest: sdk_out_of_tree_build, fixture pin_logger_built).
const PIN_LOGGER = path.join(BUILD_DIR, 'tests', 'sdk', 'out-of-tree', 'pin-logger.so');
const TEST_PLUGINS = path.join(BUILD_DIR, 'bin', 'test-plugins');
// A start that must fail is given this long before it counts as hanging.
const FAIL_TIMEOUT_MS = 15000;

function requirePinLogger() {
  if (!existsSync(PIN_LOGGER)) {
    throw new Error(`pin-logger.so not found at ${PIN_LOGGER}: it is built out of tree by ` +
      '`ctest --test-dir <build> -R sdk_out_of_tree_build` (the pin_logger_built fixture), or by hand with ' +
      `\`bash ${path.join(SOURCE_DIR, 'tests', 'sdk', 'out_of_tree.sh')} ${BUILD_DIR} ${SOURCE_DIR}\``);
  }
}

function requireTestPlugin(file) {
  const p = path.join(TEST_PLUGINS, file);
  if (!existsSync(p)) {
    throw new Error(`${p} not found: build the test plugins first (cmake --build <build>; targets ` +
      'wrong-abi-plugin and no-entry-plugin from tests/sdk)');
  }
  return p;
}

/** Polls a file (bounded) until pred(text) is true; returns the text. */
async function waitForFile(file, pred, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  for (;;) {
    text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (pred(text)) return text;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${file}; it holds:\n${JSON.stringify(text)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts blynkd with the given config where the start must fail: resolves with its exit code
 * and all it printed (the process has exited and its pipes are drained).
 */
async function failedStart(name, config, env = {}) {
  const srv = cleanup.add(Server.create({ name, config, env }));
  const r = await srv.cli([], FAIL_TIMEOUT_MS);   // no command: run the server
  const output = `${r.stdout}${r.stderr}`;
  assert.ok(!r.timedOut, `blynkd was expected to refuse the start, but still ran after ${FAIL_TIMEOUT_MS} ms:\n${output}`);
  assert.doesNotMatch(output, /server ready/, `the server must not become ready:\n${output}`);
  assert.notEqual(r.code, 0, `expected a non-zero exit, got 0:\n${output}`);
  return { code: r.code, output, srv };
}

describe('an out-of-tree plugin in a running server (pin-logger)', () => {
  it('loads by path beside storage-sqlite, and logs V5=42 and a multi-value V6 in the README line format', async () => {
    requirePinLogger();
    const pinsDir = mkTmp('pins');
    cleanup.add(() => rmSync(pinsDir, { recursive: true, force: true }));
    const pins = path.join(pinsDir, 'pins.txt');

    const srv = cleanup.add(await Server.start({
      name: 'pin-logger',
      config: { plugins: { enabled: ['storage-sqlite', PIN_LOGGER], 'pin-logger': { file: pins } } },
    }));
    // the server's log says it loaded, from that file, and the plugin logs through the host
    assert.match(srv.log, new RegExp(`plugin pin-logger \\S+ loaded from ${PIN_LOGGER.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(srv.log, /plugin storage-sqlite \S+ loaded from/);
    assert.ok(srv.log.includes(`[pin-logger] pin-logger: appending pin writes to ${pins}`),
      `no "appending pin writes to ${pins}" line in the log:\n${srv.log}`);
    assert.doesNotMatch(srv.log, /is set but no enabled plugin has that name/);
    assert.ok(existsSync(pins), 'the file is created when the server starts');
    assert.equal(readFileSync(pins, 'utf8'), '', 'nothing is logged before any write');

    const token = await srv.addDevice('pins@example.com', 'logger-dev');
    const before = Date.now();
    const b = cleanup.add(makeDevice(token, { port: srv.hwPort }));
    await b.whenConnected();
    b.virtualWrite(5, 42);
    b.virtualWrite(6, ['a', 'b']);

    const text = await waitForFile(pins, (t) => / v5 /.test(t) && / v6 /.test(t));
    const done = Date.now();
    b.close();

    assert.ok(text.endsWith('\n'), `every line ends with a newline: ${JSON.stringify(text)}`);
    const lines = text.slice(0, -1).split('\n');
    assert.equal(lines.length, 2, `exactly one line per write: ${JSON.stringify(text)}`);
    const re = /^(\d+) (\S+) (\d+)-(\d+) ([vda])(\d+) (.*)$/;
    const [l5, l6] = lines.map((l) => {
      const m = l.match(re);
      assert.ok(m, `line does not match "<at_ms> <email> <dash_id>-<device_id> <pin_type><pin> <value>": ${JSON.stringify(l)}`);
      return { at: Number(m[1]), email: m[2], dash: m[3], dev: m[4], type: m[5], pin: m[6], value: m[7] };
    });
    // in write order, for device 0 of dashboard 1 (the first device `device add` creates)
    assert.deepEqual({ ...l5, at: 0 }, { at: 0, email: 'pins@example.com', dash: '1', dev: '0', type: 'v', pin: '5', value: '42' });
    assert.deepEqual({ ...l6, at: 0 }, { at: 0, email: 'pins@example.com', dash: '1', dev: '0', type: 'v', pin: '6', value: 'a b' });
    for (const l of [l5, l6]) {
      assert.ok(l.at >= before - 1000 && l.at <= done + 1000,
        `at_ms ${l.at} is not the time of the write (between ${before} and ${done})`);
    }
    assert.ok(l6.at >= l5.at, 'lines are in the order of the writes');

    await srv.stop();   // shutdown with the plugin loaded is clean (exit 0)
    assert.equal(readFileSync(pins, 'utf8'), text, 'nothing more is written at stop');
  });
});

describe('plugins the server refuses to start with', () => {
  it('a plugin built for another ABI major: names the file and both ABI versions', async () => {
    const so = requireTestPlugin('wrong-abi-plugin.so');
    const { code, output } = await failedStart('wrong-abi', { plugins: { enabled: ['storage-sqlite', so] } });
    assert.equal(code, 2, output);
    const line = output.split('\n').find((l) => l.includes('built for plugin ABI'));
    assert.ok(line, `no "built for plugin ABI" message:\n${output}`);
    assert.ok(line.includes(so), `the message names the file ${so}: ${line}`);
    assert.match(line, /built for plugin ABI 2\.\d+, but this server speaks ABI 1\.\d+\b/);
    assert.match(line, /rebuild the plugin against this server's SDK/);
    assert.match(line, /\berror\b/);
  });

  it('two plugins claiming the same HTTP route: refused at load, naming both', async () => {
    const so = requireTestPlugin('route-clash-plugin.so');
    const { code, output } = await failedStart('route-clash', {
      plugins: { enabled: ['storage-sqlite', 'http-api', so] },
    });
    assert.equal(code, 2, output);
    const line = output.split('\n').find((l) => l.includes('is already served by'));
    assert.ok(line, `no route conflict message:\n${output}`);
    assert.match(line, /HTTP route GET \/\{auth\}\/get\/\{which\} of plugin route-clash is already served by plugin http-api \(GET \/\{token\}\/get\/\{pin\}\)/);
  });

  it('the same plugin without the clash loads and serves its own route', async () => {
    const so = requireTestPlugin('route-clash-plugin.so');
    const srv = cleanup.add(await Server.start({ name: 'route-own', config: { plugins: { enabled: ['storage-sqlite', so] } } }));
    const res = await fetch(`http://127.0.0.1:${srv.hwPort}/route-clash/ping`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'pong');
    await srv.stop();
  });

  it('a handler that never answers: 504 after http.request_timeout (1 s) and the connection closes; one warning; other requests are served meanwhile; a late answer is dropped', async () => {
    const so = requireTestPlugin('route-clash-plugin.so');
    const srv = cleanup.add(await Server.start({
      name: 'route-never',
      config: { plugins: { enabled: ['storage-sqlite', so] }, http: { request_timeout: 1 } },
    }));
    const from = srv.log.length;
    const started = Date.now();
    let answeredAt = 0;
    let written;
    const sent = new Promise((resolve) => { written = resolve; });
    const pending = withTimeout(new Promise((resolve, reject) => {
      let got = '';
      const sock = net.connect({ host: '127.0.0.1', port: srv.hwPort }, () => {
        sock.write('GET /route-clash/never HTTP/1.1\r\nHost: x\r\n\r\n', written);
      });
      sock.on('data', (d) => { if (!answeredAt) answeredAt = Date.now(); got += d.toString(); });
      sock.on('error', reject);
      sock.on('close', () => resolve(got));
    }), 10000, 'the 504 and the close');
    // While that request waits for its handler, other requests are served.
    await withTimeout(sent, 5000, 'the request written');
    const ping = await fetch(`http://127.0.0.1:${srv.hwPort}/route-clash/ping`);
    assert.equal(await ping.text(), 'pong');
    assert.equal(answeredAt, 0, 'the 504 came before a request served meanwhile');
    const raw = await pending;
    const waited = answeredAt - started;
    assert.match(raw, /^HTTP\/1\.1 504 /, raw);
    assert.match(raw, /The request took too long\./);
    assert.ok(waited >= 1000 && waited < 1000 + 3000, `answered after ${waited} ms, expected 1 s + one sweep`);
    await srv.waitForLog(/a handler did not answer within 1 s/, 2000, from);
    // The plugin answers the abandoned request now: the kernel drops it, serves the rest.
    const rel = await fetch(`http://127.0.0.1:${srv.hwPort}/route-clash/release`);
    assert.equal(await rel.text(), 'released 1');
    const again = await fetch(`http://127.0.0.1:${srv.hwPort}/route-clash/ping`);
    assert.equal(await again.text(), 'pong');
    assert.equal(srv.log.slice(from).match(/did not answer/g).length, 1, srv.log.slice(from));
    await srv.stop();
  });

  it('a library without the entry symbol: names the file and blynk_plugin_entry', async () => {
    const so = requireTestPlugin('no-entry-plugin.so');
    const { code, output } = await failedStart('no-entry', { plugins: { enabled: ['storage-sqlite', so] } });
    assert.equal(code, 2, output);
    const line = output.split('\n').find((l) => l.includes('entry symbol'));
    assert.ok(line, `no "entry symbol" message:\n${output}`);
    assert.ok(line.includes(so), `the message names the file ${so}: ${line}`);
    assert.match(line, /has no entry symbol 'blynk_plugin_entry'/);
    assert.match(line, /docs\/plugin-sdk\.md/);
  });

  it('a plugin file that does not exist: lists every path looked at', async () => {
    const { code, output } = await failedStart('no-file', { plugins: { enabled: ['storage-sqlite', 'does-not-exist'] } });
    assert.equal(code, 2, output);
    assert.match(output, /plugin 'does-not-exist': file not found; looked for:/);
    const exeDir = path.dirname(realpathSync(BLYNKD_BIN));
    for (const p of [
      path.join(PLUGIN_DIR, 'does-not-exist.so'),                                  // [plugins] dir
      path.join(exeDir, 'plugins', 'does-not-exist.so'),                           // beside the binary
      path.normalize(path.join(exeDir, '..', 'lib', 'blynkd', 'plugins', 'does-not-exist.so')),  // installed layout
    ]) {
      assert.ok(output.includes(`\n  ${p}\n`), `the candidate ${p} is not listed:\n${output}`);
    }
    assert.match(output, /set \[plugins\] dir, or give the path in plugins\.enabled/);
  });

  it('an unknown key in a plugin\'s settings: names the key, the table and the config file', async () => {
    const { code, output, srv } = await failedStart('bad-settings', {
      plugins: { 'storage-sqlite': { paht: 'x' } },
    });
    assert.equal(code, 2, output);
    const line = output.split('\n').find((l) => l.includes('paht'));
    assert.ok(line, `the key 'paht' is not named:\n${output}`);
    assert.match(line, /plugin 'storage-sqlite': invalid settings in \[plugins\.storage-sqlite\]/);
    assert.ok(line.includes(srv.configPath), `the config file is named: ${line}`);
    assert.match(line, /unknown key 'paht'; known keys: .*\bpath\b/);
  });

  it('no storage plugin enabled: says so and names one to enable', async () => {
    const { code, output } = await failedStart('no-storage', { plugins: { enabled: [] } });
    assert.equal(code, 2, output);
    assert.match(output, /no storage plugin is enabled \(plugins\.enabled = \[\]\); enable one, e\.g\. "storage-sqlite"/);
  });

  it('pin-logger alone is not enough: it provides no storage', async () => {
    requirePinLogger();
    const { code, output } = await failedStart('only-logger', {
      plugins: { enabled: [PIN_LOGGER], 'pin-logger': { file: '/dev/null' } },
    });
    assert.equal(code, 2, output);
    assert.match(output, /no storage plugin is enabled \(plugins\.enabled = \[pin-logger\]\)/);
  });
});

// Finding 8 of the security review: a plugin is code run inside the server, so it comes only
// from where the operator put it, and only if no one else may change it.
describe('where a plugin is loaded from, and who may write it', () => {
  /** A copy of the route-clash test plugin as `file` in a fresh folder (mode 0700); returns its path. */
  function pluginCopy(tag, file = 'copied-plugin.so') {
    const dir = mkTmp(tag);
    cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
    const so = path.join(dir, file);
    copyFileSync(requireTestPlugin('route-clash-plugin.so'), so);
    chmodSync(so, 0o755);
    return so;
  }

  it('a bare file name that exists only in a folder on LD_LIBRARY_PATH is not loaded: file not found, the plugin folders listed', async () => {
    const so = pluginCopy('ld-path', 'ld-path-only.so');
    const { code, output } = await failedStart('ld-path', { plugins: { enabled: ['storage-sqlite', 'ld-path-only.so'] } },
      { LD_LIBRARY_PATH: path.dirname(so) });
    assert.equal(code, 2, output);
    assert.doesNotMatch(output, /plugin route-clash \S* ?loaded from/, output);
    assert.match(output, /plugin 'ld-path-only': file not found; looked for:/);
    assert.ok(output.includes(`\n  ${path.join(PLUGIN_DIR, 'ld-path-only.so')}\n`), output);
    assert.ok(!output.includes(`\n  ${so}`), `the LD_LIBRARY_PATH folder is not a candidate:\n${output}`);
  });

  it('a bare file name is not taken from the working folder either: only the plugin folders are searched', async () => {
    const srv = cleanup.add(Server.create({ name: 'cwd-plugin', config: { plugins: { enabled: ['storage-sqlite', 'cwd-plugin.so'] } } }));
    copyFileSync(requireTestPlugin('route-clash-plugin.so'), path.join(srv.dir, 'cwd-plugin.so'));   // the server's cwd
    const r = await srv.cli([], FAIL_TIMEOUT_MS);
    const output = `${r.stdout}${r.stderr}`;
    assert.ok(!r.timedOut, `still running after ${FAIL_TIMEOUT_MS} ms (the plugin was loaded from the working folder):\n${output}`);
    assert.equal(r.code, 2, output);
    assert.doesNotMatch(output, /server ready|plugin route-clash \S* ?loaded from/, output);
    assert.match(output, /plugin 'cwd-plugin': file not found; looked for:/);
  });

  for (const [what, fileMode, dirMode, who, blamed] of [
    ['a plugin file of mode 0666', 0o666, 0o700, 'group and others', 'file'],
    ['a plugin file of mode 0646', 0o646, 0o700, 'others', 'file'],
    ['a plugin file of mode 0664', 0o664, 0o700, 'group', 'file'],
    ['a plugin in a folder of mode 0777', 0o755, 0o777, 'group and others', 'folder'],
  ]) {
    it(`${what} is refused, at start and by \`config check\`, naming the file and who may write it`, async () => {
      const so = pluginCopy('perm');
      chmodSync(so, fileMode);
      chmodSync(path.dirname(so), dirMode);
      const { code, output, srv } = await failedStart('perm', { plugins: { enabled: ['storage-sqlite', so] } });
      assert.equal(code, 2, output);
      const blamedPath = realpathSync(blamed === 'file' ? so : path.dirname(so));
      const line = output.split('\n').find((l) => l.includes('refused:'));
      assert.ok(line, `no refusal:\n${output}`);
      assert.ok(line.includes(`plugin 'copied-plugin' (${so}): refused: ${blamed === 'file' ? 'the file' : 'its folder'} ${blamedPath} is writable by ${who},`), line);
      assert.ok(line.includes(`chmod go-w ${blamedPath}`), line);
      assert.doesNotMatch(output, /loaded from .*copied-plugin/, output);

      const check = await srv.cli(['config', 'check']);
      assert.equal(check.code, 2, `${check.stdout}${check.stderr}`);
      assert.doesNotMatch(check.stdout, /configuration OK/);
      assert.ok(check.stderr.includes(`is writable by ${who}`), check.stderr);
    });
  }

  it('the same plugin with mode 0755 in a folder of mode 0700 loads, by path and by bare name from [plugins] dir', async () => {
    const so = pluginCopy('perm-ok');
    const byPath = cleanup.add(await Server.start({ name: 'perm-ok', config: { plugins: { enabled: ['storage-sqlite', so] } } }));
    assert.ok(byPath.log.includes(`plugin route-clash`) && byPath.log.includes(`loaded from ${so}`), byPath.log);
    await byPath.stop();
    // [plugins] dir holds the storage plugin too: a folder of the operator's with both.
    copyFileSync(path.join(PLUGIN_DIR, 'storage-sqlite.so'), path.join(path.dirname(so), 'storage-sqlite.so'));
    const byName = cleanup.add(await Server.start({
      name: 'perm-ok-name',
      config: { plugins: { dir: path.dirname(so), enabled: ['storage-sqlite', 'copied-plugin'] } },
    }));
    assert.ok(byName.log.includes(`loaded from ${so}`), byName.log);
    await byName.stop();
    const check = await byName.cli(['config', 'check']);
    assert.equal(check.code, 0, `${check.stdout}${check.stderr}`);
    assert.match(check.stdout, /plugins: storage-sqlite, route-clash/);
  });
});
