// Plugin ABI compatibility: SDK ABI 1.1 appended HTTP routes and kernel services to ABI 1.0. A plugin
// built against the frozen 1.0 headers (tests/sdk/abi-1.0, target abi10-plugin, include path only to
// that copy) must still load into this server and receive pin writes like any plugin.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import {
  Server, Cmd, Cleanup, BUILD_DIR, mkTmp, waitForFile,
} from '../lib/harness.js';

const cleanup = new Cleanup();
after(() => cleanup.run());

const ABI10_PLUGIN = path.join(BUILD_DIR, 'bin', 'test-plugins', 'abi10-plugin.so');
const ABI11_PLUGIN = path.join(BUILD_DIR, 'bin', 'test-plugins', 'abi11-plugin.so');

function requirePlugin() {
  if (!existsSync(ABI10_PLUGIN)) {
    throw new Error(`${ABI10_PLUGIN} not found: build it first (cmake --build <build> --target abi10-plugin; ` +
      'tests/sdk/CMakeLists.txt, only with BLYNK_BUILD_TESTS)');
  }
}

const reEscape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');


describe('a plugin built against the ABI 1.0 SDK', () => {
  it('loads beside storage-sqlite by path, logs through the host, and appends a line per pin write', async () => {
    requirePlugin();
    const dir = mkTmp('abi10');
    cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'pins.txt');

    const srv = cleanup.add(await Server.start({
      name: 'abi10',
      config: { plugins: { enabled: ['storage-sqlite', ABI10_PLUGIN], 'abi10-plugin': { file } } },
    }));
    assert.match(srv.log, new RegExp(`plugin abi10-plugin 1\\.0\\.0 loaded from ${reEscape(ABI10_PLUGIN)}`));
    assert.match(srv.log, /plugin storage-sqlite \S+ loaded from/);
    // the plugin's own line, through the 1.0 host table: it was built for 1.0 and runs on a newer 1.x host
    const m = srv.log.match(/abi10-plugin: built for ABI 1\.0, host offers 1\.(\d+) \(host table (\d+) bytes, 1\.0 table (\d+)\); counting pin writes into (.*)/);
    assert.ok(m, `no line from the plugin's init in the log:\n${srv.log}`);
    assert.ok(Number(m[1]) >= 1, `the host offers ABI 1.${m[1]}, expected a minor after 1.0`);
    assert.ok(Number(m[2]) > Number(m[3]), `the host table (${m[2]} bytes) grew beyond the 1.0 table (${m[3]} bytes)`);
    assert.equal(m[4].trim(), file);
    assert.doesNotMatch(srv.log, /is set but no enabled plugin has that name/);
    assert.ok(existsSync(file), 'init opens (creates) the file');
    assert.equal(readFileSync(file, 'utf8'), '');

    const token = await srv.addDevice('abi@example.com', 'abi10-dev');
    const d = cleanup.add(await srv.login(token));
    d.send(Cmd.HARDWARE, 2, ['vw', 5, 42]);
    d.send(Cmd.HARDWARE, 3, ['vw', 6, 'a', 'b']);
    d.send(Cmd.HARDWARE, 4, ['vw', 5, 43]);
    d.send(Cmd.HARDWARE, 5, ['dw', 2, 1]);
    const text = await waitForFile(file, (t) => t.split('\n').length >= 5);
    assert.deepEqual(text.split('\n'), [
      '1 abi@example.com 1-0 v5 42',
      '1 abi@example.com 1-0 v6 a b',
      '2 abi@example.com 1-0 v5 43',
      '1 abi@example.com 1-0 d2 1',
      '',
    ]);
    await d.ping(6);                                     // the device is unaffected
    d.end();

    await srv.stop();                                    // shutdown with the 1.0 plugin loaded: exit 0
    assert.equal(readFileSync(file, 'utf8'), text, 'nothing more is written at stop');
  });

  it('refuses an unknown key in its settings table through the 1.0 init path (non-zero exit, key named)', async () => {
    requirePlugin();
    const srv = cleanup.add(Server.create({
      name: 'abi10-bad',
      config: { plugins: { enabled: ['storage-sqlite', ABI10_PLUGIN], 'abi10-plugin': { fiel: 'x' } } },
    }));
    const r = await srv.cli([], 15000);
    const out = `${r.stdout}${r.stderr}`;
    assert.ok(!r.timedOut, `blynkd still ran after 15 s:\n${out}`);
    assert.notEqual(r.code, 0, out);
    assert.match(out, /abi10-plugin/);
    assert.match(out, /unknown key 'fiel'/);
  });
});

describe('a plugin built against the ABI 1.1 SDK', () => {
  it('loads beside an ABI 1.0 plugin, serves its route through the 1.1 kernel functions and gets pin events', async () => {
    requirePlugin();
    assert.ok(existsSync(ABI11_PLUGIN), `${ABI11_PLUGIN} not found: build it (cmake --build <build> --target abi11-plugin)`);
    const dir = mkTmp('abi11');
    cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'pins.txt');
    const srv = cleanup.add(Server.create({
      name: 'abi11',
      config: {
        plugins: {
          enabled: ['storage-sqlite', ABI10_PLUGIN, ABI11_PLUGIN],
          'abi10-plugin': { file: path.join(dir, 'abi10.txt') },
          'abi11-plugin': { file },
        },
      },
    }));
    const token = await srv.addDevice('abi11@example.com', 'abi11-dev');
    await srv.launch();
    assert.match(srv.log, /plugin abi11-plugin 1\.1\.0 loaded from/);
    assert.match(srv.log, /abi11-plugin: built for ABI 1\.1, host offers 1\.(\d+)/);
    const d = cleanup.add(await srv.login(token));
    d.send(Cmd.HARDWARE, 2, ['vw', 3, 'x']);
    await d.ping(3);
    const text = await waitForFile(file, (t) => t.includes('\n'));
    assert.equal(text, 'abi11@example.com v3 x\n');
    const res = await fetch(`http://127.0.0.1:${srv.hwPort}/abi11/${token}/3`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'x');
    d.end();
    await srv.stop();
  });
});
