// SDK 1.2 as a user of blynkd sees it: one plugin file (tests/sdk/instance-probe) run as two
// instances with their own settings ([plugins.NAME] plugin_file), events that carry the device's
// token, and plugins' access control: a denied login gets INVALID_TOKEN, a denied pin write
// NOT_ALLOWED and is neither stored nor routed, and a hook that keeps overrunning its budget is
// switched off and then fails closed (docs/plugin-sdk.md, "Access control").
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  Server, Cmd, Status, Cleanup, BUILD_DIR, renderToml, mkTmp, waitForFile,
} from '../lib/harness.js';

const cleanup = new Cleanup();
after(() => cleanup.run());

const PROBE = path.join(BUILD_DIR, 'bin', 'test-plugins', 'instance-probe-plugin.so');
const HTTP_TIMEOUT_MS = 5000;

function requirePlugin() {
  if (!existsSync(PROBE)) {
    throw new Error(`${PROBE} not found: build it first (cmake --build <build> --target instance-probe-plugin)`);
  }
}


async function get(srv, urlPath) {
  const res = await fetch(`http://127.0.0.1:${srv.hwPort}${urlPath}`, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  return { status: res.status, text: await res.text() };
}

/** Creates a server, adds devices through the CLI, then sets the config (which may name their tokens) and starts it. */
async function startWithDevices(name, emails, configOf) {
  const srv = cleanup.add(Server.create({ name, config: { plugins: { enabled: ['storage-sqlite'] } } }));
  const tokens = [];
  for (const e of emails) tokens.push(await srv.addDevice(e, 'dev'));
  srv.config.plugins = { dir: srv.config.plugins.dir, ...configOf(tokens) };
  writeFileSync(srv.configPath, `# written by sdk12.test.js\n${renderToml(srv.config)}\n`);
  await srv.launch();
  return { srv, tokens };
}

describe('SDK 1.2', () => {
  it('runs one plugin file as two instances, each with its own settings; events carry the token; '
    + 'the access hook refuses a login and a pin', async () => {
    requirePlugin();
    const dir = mkTmp('sdk12');
    cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
    const fa = path.join(dir, 'a.txt');
    const fb = path.join(dir, 'b.txt');
    const { srv, tokens } = await startWithDevices('sdk12-two', ['one@example.com', 'two@example.com'], (t) => ({
      enabled: ['storage-sqlite', 'http-api', 'probe-a', 'probe-b'],
      'probe-a': { plugin_file: PROBE, label: 'a', file: fa, deny_token: t[1], deny_pin: 'v7' },
      'probe-b': { plugin_file: PROBE, label: 'b', file: fb },
    }));
    const [t1, t2] = tokens;
    assert.match(srv.log, /plugin probe-a \(instance-probe 1\.2\.0\) loaded from /);
    assert.match(srv.log, /plugin probe-b \(instance-probe 1\.2\.0\) loaded from /);
    assert.doesNotMatch(srv.log, /is set but no enabled plugin has that name/);
    assert.deepEqual(await get(srv, '/probe/a'), { status: 200, text: `a ${fa}` });
    assert.deepEqual(await get(srv, '/probe/b'), { status: 200, text: `b ${fb}` });

    const d = cleanup.add(await srv.login(t1));
    d.send(Cmd.HARDWARE, 2, ['vw', 7, 1]);                  // denied by probe-a
    await d.expectResponse(2, Status.NOT_ALLOWED);
    d.send(Cmd.HARDWARE, 3, ['vw', 5, 42]);
    await d.ping(4);                                       // v5 is accepted silently, as always
    await d.sync(5, ['vr', 7], 0);                         // v7 was not stored
    const [v5] = await d.sync(6, ['vr', 5], 1);
    assert.deepEqual(v5.body.toString().split('\0'), ['vw', '5', '42']);
    const api = await get(srv, `/${t1}/update/v7?value=3`);  // the HTTP API's write is asked too
    assert.deepEqual(api, { status: 403, text: 'Writing this pin is not allowed.' });
    await d.sync(7, ['vr', 7], 0);

    const refused = cleanup.add(await srv.connect());
    refused.send(Cmd.HARDWARE_LOGIN, 1, t2);                // denied by probe-a's login hook
    await refused.expectResponse(1, Status.INVALID_TOKEN);

    const want = (t) => t.includes(`pin one@example.com ${t1} v5 42`) && t.includes('login 0  ');
    for (const f of [fa, fb]) {
      const text = await waitForFile(f, want);
      assert.match(text, new RegExp(`^login 1 one@example\\.com ${t1}$`, 'm'));
      assert.match(text, new RegExp(`^online one@example\\.com ${t1}$`, 'm'));
      assert.doesNotMatch(text, / v7 /, 'a denied write is no event');
      assert.doesNotMatch(text, new RegExp(t2), 'a refused login carries no token');
    }
    d.end();
    refused.end();
    await srv.stop();
  });

  it('switches off an access hook that keeps overrunning its budget, logs why, and then fails closed', async () => {
    requirePlugin();
    const { srv, tokens } = await startWithDevices('sdk12-slow', ['slow@example.com'], () => ({
      enabled: ['storage-sqlite', 'probe-slow'],
      auth_budget_us: 1000,
      auth_max_overruns: 2,
      'probe-slow': { plugin_file: PROBE, hook_delay_us: 20000 },
    }));
    // Overruns 1 and 2 are within the allowance, the third switches the hook off after it answered.
    for (let i = 0; i < 3; i++) {
      const c = cleanup.add(await srv.login(tokens[0]));
      c.end();
    }
    assert.match(srv.log, /plugin 'probe-slow': access hook took \d+ us, over its budget of 1000 us/);
    assert.match(srv.log, /plugin 'probe-slow': access hook switched off: over its budget of 1000 us in 3 of 3 calls/);
    assert.match(srv.log, /what it was asked is denied \(\[plugins\] auth_fail = "closed"\)/);
    const c = cleanup.add(await srv.connect());
    c.send(Cmd.HARDWARE_LOGIN, 1, tokens[0]);
    await c.expectResponse(1, Status.INVALID_TOKEN);        // closed: the switched-off hook denies
    c.end();
    await srv.stop();
  });
});
