// What blynkd leaves on disk is its owner's alone (docs/security.md, "Files and the first
// administrator password"): the data folder 0700 and everything secret in it 0600 whatever the
// umask it was started with, an older install tightened at start with one warning per path, a
// configured key elsewhere only warned about; and the first-start administrator password shown
// on a terminal, or else written to an owner-only file and never to the output or the log.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, readdirSync, realpathSync, rmSync, statSync,
  writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { Server, Cleanup, BLYNKD_BIN, READY_TIMEOUT_MS, STOP_TIMEOUT_MS, mkTmp, which, withTimeout }
  from '../lib/harness.js';
import { selfSigned } from '../lib/pki.js';

const cleanup = new Cleanup();
after(() => cleanup.run());

// The usual login umask (022), so what the test sees does not depend on the runner's own.
const UMASK_022 = ['sh', '-c', 'umask 022; exec "$0" "$@"'];
const SCRIPT = which('script');
const OPENSSL = which('openssl');
const IS_POSIX = process.platform !== 'win32';

const modeOf = (p) => statSync(p).mode & 0o777;
const octal = (m) => m.toString(8).padStart(4, '0');

function assertMode(p, want) {
  assert.ok(existsSync(p), `${p} exists`);
  assert.equal(octal(modeOf(p)), octal(want), `${p}`);
}

/** The paths a running server keeps in its data folder, with the mode each must have. */
function secretPaths(dataDir) {
  return [
    [dataDir, 0o700],
    [path.join(dataDir, 'blynk.db'), 0o600],
    [path.join(dataDir, 'blynk.db-wal'), 0o600],
    [path.join(dataDir, 'blynk.db-shm'), 0o600],
    [path.join(dataDir, 'operator.token'), 0o600],
    [path.join(dataDir, 'blynkd.run'), 0o600],
    [path.join(dataDir, 'initial-admin-password.txt'), 0o600],
    [path.join(dataDir, 'tls'), 0o700],
    [path.join(dataDir, 'tls', 'key.pem'), 0o600],
  ];
}

describe('file modes', { skip: IS_POSIX ? false : 'POSIX modes only' }, () => {
  it('a fresh start under umask 022: the data folder is 0700, the database, its -wal/-shm and every secret 0600', async () => {
    const srv = cleanup.add(await Server.start({ name: 'modes-fresh', wrap: UMASK_022 }));
    await srv.addDevice('modes@example.com', 'm');  // the database is written to while it runs
    for (const [p, mode] of secretPaths(srv.dataDir)) assertMode(p, mode);
    await srv.stop();
  });

  it('the CLI before any server start creates the store 0600 in a 0700 folder', async () => {
    const srv = cleanup.add(Server.create({ name: 'modes-cli', wrap: UMASK_022 }));
    await srv.addDevice('cold@example.com', 'early');
    assertMode(srv.dataDir, 0o700);
    for (const name of readdirSync(srv.dataDir)) assertMode(path.join(srv.dataDir, name), 0o600);
    assert.ok(existsSync(path.join(srv.dataDir, 'blynk.db')), 'the CLI made the database');
  });

  it('an install with a 0755 folder and 0644 files is tightened at start, one warning per path; other files are left alone', async () => {
    const srv = cleanup.add(await Server.start({ name: 'modes-old', wrap: UMASK_022 }));
    await srv.addDevice('old@example.com', 'o');
    await srv.kill();  // as a crash would: the -wal and -shm stay behind
    // what an older blynkd left: everything open to other local users
    const loose = secretPaths(srv.dataDir).filter(([p]) => p !== path.join(srv.dataDir, 'blynkd.run') && existsSync(p));
    assert.ok(loose.length >= 7, `the folder, the database with -wal and -shm, tls/ and the secrets: ${loose.join(' ')}`);
    for (const [p, mode] of loose) chmodSync(p, mode === 0o700 ? 0o755 : 0o644);
    // a file blynkd does not know (the operator's): it is not blynkd's to change
    const notes = path.join(srv.dataDir, 'notes.txt');
    writeFileSync(notes, 'not blynkd\'s\n');
    chmodSync(notes, 0o644);

    await srv.launch();
    const real = realpathSync(srv.dataDir);
    for (const [p, mode] of loose) {
      assertMode(p, mode);
      const shown = path.join(real, path.relative(srv.dataDir, p));
      const line = `${shown}: mode ${mode === 0o700 ? '0755' : '0644'} -> ${octal(mode)}`;
      assert.equal(srv.log.split(line).length - 1, 1, `one warning "${line}" in:\n${srv.log}`);
    }
    assertMode(notes, 0o644);
    assert.doesNotMatch(srv.log, /notes\.txt/);

    await srv.restart();
    assert.doesNotMatch(srv.log, / mode 0\d{3} -> /, 'a tight install is left alone and not reported');
    await srv.stop();
  });

  it('a configured tls.key outside the data folder readable by others: a warning, and its mode is kept', { skip: OPENSSL ? false : 'openssl not installed' }, async () => {
    const dir = mkTmp('modes-key');
    cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
    const { cert, key } = selfSigned(dir);
    chmodSync(key, 0o644);
    const srv = cleanup.add(await Server.start({ name: 'modes-key', wrap: UMASK_022, config: { tls: { cert, key } } }));
    assert.ok(srv.log.includes(`tls.key = ${key}: mode 0644 lets other local users read the private key`), srv.log);
    assertMode(key, 0o644);
    await srv.stop();
  });
});

/** One HTTPS request to the operator API with Basic credentials; resolves the status. */
function operatorStatus(port, cert, email, password) {
  return withTimeout(new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port, path: '/api/v1/users', method: 'GET', agent: false, ca: cert,
      checkServerIdentity: () => undefined,
      headers: { Authorization: `Basic ${Buffer.from(`${email}:${password}`).toString('base64')}`, Connection: 'close' },
    }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    req.on('error', reject);
    req.end();
  }), 5000, 'operator API request');
}

describe('the first-start administrator password', () => {
  it('stdout not a terminal: written to a 0600 file the log names; never in stdout, stderr or the log file', async () => {
    const srv = cleanup.add(await Server.start({ name: 'admin-file' }));
    const { email, password } = srv.adminCredentials();
    if (IS_POSIX) assertMode(srv.adminPasswordPath, 0o600);
    assert.ok(srv.log.includes(`its password was written to ${srv.adminPasswordPath}`), srv.log);
    assert.equal(await operatorStatus(srv.tlsPort, srv.cert(), email, password), 200, 'the password in the file works');
    await srv.stop();
    assert.ok(!srv.allLogs.includes(password), `the password is in stdout/stderr:\n${srv.allLogs}`);
    const logFile = readFileSync(path.join(srv.dir, 'logs', 'blynkd.log'), 'utf8');
    assert.ok(!logFile.includes(password), 'the password is in the log file');
    assert.ok(logFile.includes(srv.adminPasswordPath), 'the log file names the password file');
  });

  it('stdout a terminal (a pty from script(1)): printed once, no file written', { skip: SCRIPT ? false : 'script (util-linux) not installed' }, async () => {
    const srv = cleanup.add(Server.create({ name: 'admin-tty' }));
    const quote = (s) => `'${s.replace(/'/g, "'\\''")}'`;
    // detached: its own process group, so the whole session is ended below and nothing is left
    const proc = spawn(SCRIPT, ['-qfec', `${quote(BLYNKD_BIN)} --config ${quote(srv.configPath)}`, '/dev/null'],
      { cwd: srv.dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const exited = new Promise((resolve) => proc.on('exit', resolve));
    let out = '';
    let wake = () => {};
    const onData = (d) => { out += d.toString('utf8'); wake(); };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    cleanup.add(() => { try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* gone */ } });
    await withTimeout(new Promise((resolve) => {
      wake = () => { if (/server ready/.test(out)) resolve(); };
      wake();
    }), READY_TIMEOUT_MS, 'blynkd on a pty to be ready').catch((e) => {
      throw new Error(`${e.message}; its output:\n${out}`);
    });

    const m = out.match(/Administrator account created: (\S+)\s+Password \(shown only once\): (\S+)/);
    assert.ok(m, `no administrator banner on the terminal:\n${out}`);
    const [, email, password] = m;
    assert.equal(out.split(password).length - 1, 1, 'the password is shown once');
    assert.ok(!existsSync(srv.adminPasswordPath), 'no password file when a terminal showed the password');
    const port = Number(out.match(/listening hardware-tls \S*?:(\d+)/)[1]);
    assert.equal(await operatorStatus(port, srv.cert(), email, password), 200, 'the password shown works');

    process.kill(-proc.pid, 'SIGTERM');
    await withTimeout(exited, STOP_TIMEOUT_MS, 'script and blynkd to exit');
    const logFile = readFileSync(path.join(srv.dir, 'logs', 'blynkd.log'), 'utf8');
    assert.ok(!logFile.includes(password), 'the password is in the log file');
  });

  it('the file stays while its password opens the account, and is removed at the start after it no longer does', async () => {
    const srv = cleanup.add(await Server.start({ name: 'admin-stale' }));
    const { email } = srv.adminCredentials();
    await srv.stop();
    // another administrator, then the first one removed: the file's password opens nothing now
    let r = await srv.cli(['user', 'add', '--email', 'second-admin@example.com', '--admin']);
    assert.equal(r.code, 0, r.stderr);
    await srv.launch();
    assert.ok(existsSync(srv.adminPasswordPath), 'still valid: kept');
    await srv.stop();
    r = await srv.cli(['user', 'remove', '--email', email]);
    assert.equal(r.code, 0, r.stderr);
    await srv.launch();
    assert.ok(!existsSync(srv.adminPasswordPath), `the stale password file is still there:\n${srv.log}`);
    assert.ok(srv.log.includes(`removed ${srv.adminPasswordPath}: the password in it no longer opens`), srv.log);
    assert.doesNotMatch(srv.log, /administrator account \S+ created/, 'an administrator exists: none is created');
    await srv.stop();
  });
});
