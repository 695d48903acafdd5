// The command line and the config file as an operator meets them: --help and --version,
// `config check` on broken and valid files, the account commands end to end, and the
// administrator password of the first start: with stdout a pipe (as here, and under systemd or
// Docker) it goes to an owner-only file, never to the output or the log.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Server, Cmd, Status, Cleanup, BLYNKD_BIN, PLUGIN_DIR, CLI_TIMEOUT_MS, renderToml, mkTmp } from '../lib/harness.js';

const cleanup = new Cleanup();
after(() => cleanup.run());

/** Runs blynkd with args (bounded); resolves {code, stdout, stderr, timedOut}. */
function blynkd(args, { cwd } = {}) {
  return new Promise((resolve) => {
    execFile(BLYNKD_BIN, args, { cwd, timeout: CLI_TIMEOUT_MS, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr, timedOut: Boolean(err && err.killed) });
    });
  });
}

const show = (r) => `exit ${r.code}${r.timedOut ? ' (timed out)' : ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

function tmpDir(name) {
  const d = mkTmp(name);
  cleanup.add(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A config that is valid on its own: temp data and log folders, the build's plugins. */
function validConfig(dir) {
  return {
    server: { listen_address: '127.0.0.1', hardware_port: 0, tls_port: 0, data_dir: path.join(dir, 'data') },
    logging: { folder: path.join(dir, 'logs'), level: 'info' },
    plugins: { dir: PLUGIN_DIR, enabled: ['storage-sqlite'] },
  };
}

describe('blynkd --help and --version', () => {
  it('--help exits 0, prints the usage and the commands, device add among them', async () => {
    const r = await blynkd(['--help']);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /Usage:/);
    assert.match(r.stdout, /device add/);
    assert.match(r.stdout, /config check/);
    assert.match(r.stdout, /user add/);
  });

  it('--version exits 0 and prints the version', async () => {
    const r = await blynkd(['--version']);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^blynkd \d+\.\d+\.\d+\S* \(plugin ABI \d+\.\d+\)\n$/);
  });

  it('an unknown option exits 2 and names it', async () => {
    const r = await blynkd(['--frobnicate']);
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /unknown option --frobnicate/);
  });
});

describe('config check', () => {
  const dir = tmpDir('config-check');

  async function check(name, text) {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    const r = await blynkd(['--config', file, 'config', 'check'], { cwd: dir });
    return { r, file };
  }

  it('an unknown key in [server]: exit 2, stderr names the file and server.bogus', async () => {
    const cfg = validConfig(dir);
    cfg.server.bogus = 1;
    const { r, file } = await check('bad.toml', renderToml(cfg));
    assert.equal(r.code, 2, show(r));
    assert.equal(r.stdout, '', 'nothing on stdout');
    assert.ok(r.stderr.includes(file), `the file ${file} is named: ${r.stderr}`);
    assert.match(r.stderr, /server\.bogus: unknown key/);
    assert.match(r.stderr, /known keys in \[server\]: .*hardware_port/);
  });

  it('a port out of range: exit 2, names server.hardware_port and the allowed range', async () => {
    const cfg = validConfig(dir);
    cfg.server.hardware_port = 70000;
    const { r, file } = await check('bad-port.toml', renderToml(cfg));
    assert.equal(r.code, 2, show(r));
    assert.ok(r.stderr.includes(file), `the file ${file} is named: ${r.stderr}`);
    assert.match(r.stderr, /server\.hardware_port: is 70000; allowed: 0 to 65535/);
  });

  it('an unknown event loop: exit 2, names server.event_loop and the allowed ways', async () => {
    const cfg = validConfig(dir);
    cfg.server.event_loop = 'kqueue';
    const { r, file } = await check('bad-loop.toml', renderToml(cfg));
    assert.equal(r.code, 2, show(r));
    assert.ok(r.stderr.includes(file), `the file ${file} is named: ${r.stderr}`);
    assert.match(r.stderr, /server\.event_loop: is "kqueue"; allowed: "asio", "auto", "readiness", "readiness-in-asio"/);
  });

  it('a certificate watch interval out of range: exit 2, names tls.watch_interval_s and the allowed range', async () => {
    const cfg = validConfig(dir);
    cfg.tls = { watch_interval_s: 7200 };
    const { r, file } = await check('bad-watch.toml', renderToml(cfg));
    assert.equal(r.code, 2, show(r));
    assert.ok(r.stderr.includes(file), `the file ${file} is named: ${r.stderr}`);
    assert.match(r.stderr, /tls\.watch_interval_s: is 7200; allowed: 0 to 3600/);
  });

  it('a bad [metrics] allowed_ips entry or enabled value: exit 2, names the key and what is wrong', async () => {
    const cfg = validConfig(dir);
    cfg.metrics = { allowed_ips: ['127.0.0.1/33'] };
    const { r, file } = await check('bad-metrics.toml', renderToml(cfg));
    assert.equal(r.code, 2, show(r));
    assert.ok(r.stderr.includes(file), `the file ${file} is named: ${r.stderr}`);
    assert.match(r.stderr, /metrics\.allowed_ips: .*127\.0\.0\.1\/33/);
    cfg.metrics = { enabled: 'yes' };
    const bad = await check('bad-metrics-enabled.toml', renderToml(cfg));
    assert.equal(bad.r.code, 2, show(bad.r));
    assert.match(bad.r.stderr, /metrics\.enabled: must be true or false/);
  });

  it('a bad [history] pins value or retention: exit 2, names the key and what is allowed', async () => {
    const cfg = validConfig(dir);
    cfg.history = { pins: 'some' };
    const { r, file } = await check('bad-history.toml', renderToml(cfg));
    assert.equal(r.code, 2, show(r));
    assert.ok(r.stderr.includes(file), `the file ${file} is named: ${r.stderr}`);
    assert.match(r.stderr, /history\.pins: is "some"; allowed: "all", "charted"/);
    cfg.history = { raw_retention_days: -1 };
    const bad = await check('bad-history-retention.toml', renderToml(cfg));
    assert.equal(bad.r.code, 2, show(bad.r));
    assert.match(bad.r.stderr, /history\.raw_retention_days: is -1; allowed: 0 to 36500/);
  });

  it('a TOML syntax error: exit 2, names the file and the line', async () => {
    const lines = renderToml(validConfig(dir)).split('\n');
    // after `[server]`: the broken line's 1-based number is known exactly
    const at = lines.indexOf('[server]') + 1;
    lines.splice(at, 0, 'host = = "x"');
    const { r, file } = await check('bad-syntax.toml', lines.join('\n'));
    const lineNo = at + 1;
    assert.equal(r.code, 2, show(r));
    assert.ok(r.stderr.includes(`${file}:${lineNo}:`), `expected "${file}:${lineNo}:" in: ${r.stderr}`);
  });

  it('a config file that does not exist: exit 2, names it', async () => {
    const file = path.join(dir, 'missing.toml');
    const r = await blynkd(['--config', file, 'config', 'check'], { cwd: dir });
    assert.equal(r.code, 2, show(r));
    assert.ok(r.stderr.includes(file), r.stderr);
  });

  it('a valid config: exit 0, reports the file, the plugins and the storage', async () => {
    const { r, file } = await check('good.toml', renderToml(validConfig(dir)));
    assert.equal(r.code, 0, show(r));
    assert.ok(r.stdout.includes(`configuration OK: ${file}`), r.stdout);
    assert.match(r.stdout, /plugins: storage-sqlite/);
    assert.match(r.stdout, /storage: storage-sqlite/);
  });
});

describe('account commands', () => {
  it('user add / list / remove and device add / list / remove; a removed token is refused after a restart', async () => {
    const srv = cleanup.add(await Server.start({ name: 'cli-config' }));
    const email = 'a@b.co';

    // user add: a generated password, printed once on stdout and nowhere else
    const add = await srv.cli(['user', 'add', '--email', email]);
    assert.equal(add.code, 0, show(add));
    const pw = add.stdout.match(/^password: (\S+)\n$/);
    assert.ok(pw, `stdout must be exactly one "password: P" line: ${JSON.stringify(add.stdout)}`);
    assert.ok(pw[1].length >= 12, `a generated password of reasonable length: ${pw[1]}`);
    assert.ok(!add.stderr.includes(pw[1]), 'the password is not repeated on stderr');

    // again: refused
    const again = await srv.cli(['user', 'add', '--email', email]);
    assert.notEqual(again.code, 0, show(again));
    assert.match(again.stderr, /already exists/);
    assert.doesNotMatch(again.stdout, /password/);

    const users = await srv.cli(['user', 'list']);
    assert.equal(users.code, 0, show(users));
    assert.equal(users.stdout.split('\n').filter((l) => l.startsWith(`${email} `)).length, 1, users.stdout);

    // device add: exactly one token line on stdout
    const dev = await srv.cli(['device', 'add', '--email', email, '--name', 'x']);
    assert.equal(dev.code, 0, show(dev));
    const tok = dev.stdout.match(/^([A-Za-z0-9_-]{32})\n$/);
    assert.ok(tok, `stdout must be exactly one 32-char token line: ${JSON.stringify(dev.stdout)}`);
    const token = tok[1];

    const listed = await srv.cli(['device', 'list']);
    assert.equal(listed.code, 0, show(listed));
    const row = listed.stdout.split('\n').find((l) => l.includes(token));
    assert.ok(row, `device list shows the token:\n${listed.stdout}`);
    assert.match(row, new RegExp(`^${email.replace('.', '\\.')}\\s+1-0\\s+x\\s+${token}\\s`));

    const rm = await srv.cli(['device', 'remove', '--token', token]);
    assert.equal(rm.code, 0, show(rm));
    const listed2 = await srv.cli(['device', 'list']);
    assert.equal(listed2.code, 0, show(listed2));
    assert.ok(!listed2.stdout.includes(token), `device list still shows the removed token:\n${listed2.stdout}`);

    // removing it twice: an error, not a silent success
    const rm2 = await srv.cli(['device', 'remove', '--token', token]);
    assert.notEqual(rm2.code, 0, show(rm2));
    assert.match(rm2.stderr, /no device has this token/i);

    // a fresh start does not know the token
    await srv.restart();
    const c2 = cleanup.add(await srv.connect());
    c2.send(Cmd.HARDWARE_LOGIN, 1, token);
    await c2.expectResponse(1, Status.INVALID_TOKEN);
    c2.end();

    const urm = await srv.cli(['user', 'remove', '--email', email]);
    assert.equal(urm.code, 0, show(urm));
    const users2 = await srv.cli(['user', 'list']);
    assert.equal(users2.code, 0, show(users2));
    assert.ok(!users2.stdout.split('\n').some((l) => l.startsWith(`${email} `)), `user list still shows ${email}:\n${users2.stdout}`);
    await srv.stop();
  });

  it('a device removed while the server runs is disconnected at its next activity and its token stops working', async () => {
    const srv = cleanup.add(await Server.start({ name: 'cli-rm-live', config: { storage: { pin_flush_interval_ms: 100 } } }));
    const token = await srv.addDevice('live@example.com', 'live');
    const c = cleanup.add(await srv.login(token));
    const rm = await srv.cli(['device', 'remove', '--token', token]);
    assert.equal(rm.code, 0, show(rm));
    c.send(Cmd.HARDWARE, 2, ['vw', '1', '1']);
    await c.expectClose(5000);
    const c2 = cleanup.add(await srv.connect());
    c2.send(Cmd.HARDWARE_LOGIN, 1, token);
    await c2.expectResponse(1, Status.INVALID_TOKEN);
    c2.end();
    await srv.stop();
  });

  // The kernel stores a device's state (last seen) with update_devices, which never re-creates a
  // device that `device remove` took away while the server ran.
  it('a device that was online, removed while the server runs, stays removed after a restart', async () => {
    // flush only at stop, so the outcome does not depend on timing
    const srv = cleanup.add(await Server.start({ name: 'cli-rm-online', config: { storage: { pin_flush_interval_ms: 60000 } } }));
    const token = await srv.addDevice('online@example.com', 'was-online');
    const c = cleanup.add(await srv.login(token));
    c.end();
    const rm = await srv.cli(['device', 'remove', '--token', token]);
    assert.equal(rm.code, 0, show(rm));
    await srv.stop();
    const listed = await srv.cli(['device', 'list']);
    assert.equal(listed.code, 0, show(listed));
    assert.ok(!listed.stdout.includes(token), `the removed device is back in storage after the stop:\n${listed.stdout}`);
    await srv.launch();
    const c2 = cleanup.add(await srv.connect());
    c2.send(Cmd.HARDWARE_LOGIN, 1, token);
    await c2.expectResponse(1, Status.INVALID_TOKEN);
    c2.end();
    await srv.stop();
  });
});

describe('the administrator account at first start', () => {
  it('is created once; its password goes to an owner-only file, never to the output, the log file or the store', async () => {
    const srv = cleanup.add(await Server.start({ name: 'admin' }));
    const first = srv.log;
    const { email, password } = srv.adminCredentials();
    assert.equal(email, 'admin@blynkd.local');
    assert.ok(password.length >= 12, `a generated password of reasonable length: ${password}`);
    assert.equal(statSync(srv.adminPasswordPath).mode & 0o777, 0o600, 'the password file is owner-only');
    assert.ok(!first.includes(password), `the password is in the output:\n${first}`);
    assert.doesNotMatch(first, /Password \(shown only once\)/);
    assert.equal(first.split(`administrator account ${email} created`).length - 1, 1, `announced exactly once:\n${first}`);
    assert.ok(first.includes(`its password was written to ${srv.adminPasswordPath}`), `the log says where:\n${first}`);
    const fileText = readFileSync(srv.adminPasswordPath, 'utf8');

    const users = await srv.cli(['user', 'list']);
    assert.equal(users.code, 0, show(users));
    assert.match(users.stdout, new RegExp(`^${email.replace(/\./g, '\\.')}\\s+yes\\s`, 'm'), users.stdout);

    // second start on the same data folder: no new administrator, the same file, a reminder of it
    await srv.restart();
    assert.doesNotMatch(srv.log, /administrator account \S+ created/);
    assert.doesNotMatch(srv.log, /Password/);
    assert.ok(!srv.log.includes(password));
    assert.equal(readFileSync(srv.adminPasswordPath, 'utf8'), fileText, 'the password file is unchanged');
    assert.ok(srv.log.includes(`${srv.adminPasswordPath} still holds the password of the administrator ${email}`), srv.log);
    await srv.stop();

    const logFile = path.join(srv.dir, 'logs', 'blynkd.log');
    assert.ok(existsSync(logFile), `${logFile} exists`);
    const log = readFileSync(logFile, 'utf8');
    assert.equal(log.split('server ready').length - 1, 2, `the log file holds both starts:\n${log}`);
    assert.ok(!log.includes(password), 'the password is in the log file');

    // stored only as a slow hash: the plain password is in no other file of the data folder
    const walk = (d) => readdirSync(d).flatMap((n) => {
      const p = path.join(d, n);
      return statSync(p).isDirectory() ? walk(p) : [p];
    });
    for (const f of walk(srv.dataDir).filter((p) => p !== srv.adminPasswordPath)) {
      assert.ok(!readFileSync(f).includes(Buffer.from(password)), `the password is stored in plain text in ${f}`);
    }
  });
});
