// `blynkd migrate-config` as an operator runs it: a full legacy configuration
// (tests/data/legacy/: server.properties with every key, mail.properties, sms.properties)
// becomes a blynk.toml that `blynkd config check` accepts; keys with no equivalent are
// named with the reason on stderr; the file is owner-only since it holds the mail password.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, statSync, rmSync } from 'node:fs';
import path from 'node:path';
import { BLYNKD_BIN, SOURCE_DIR, CLI_TIMEOUT_MS, Cleanup, mkTmp, requireBinary } from '../lib/harness.js';

const cleanup = new Cleanup();
after(() => cleanup.run());

const legacy = (f) => path.join(SOURCE_DIR, 'tests', 'data', 'legacy', f);
const SECRETS = ['KeyPassSecret1', 'AdminPassSecret2', 'Secret3', 'NexmoKeySecret4', 'NexmoSecretSecret5'];

function blynkd(args, { cwd } = {}) {
  return new Promise((resolve) => {
    execFile(BLYNKD_BIN, args, { cwd, timeout: CLI_TIMEOUT_MS, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr, timedOut: Boolean(err && err.killed) });
    });
  });
}
const show = (r) => `exit ${r.code}${r.timedOut ? ' (timed out)' : ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

describe('blynkd migrate-config', () => {
  requireBinary();
  const dir = mkTmp('migrate');
  cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'blynk.toml');

  it('writes an owner-only blynk.toml that `config check` accepts; no-equivalent keys are named on stderr', async () => {
    const r = await blynkd(['migrate-config', legacy('server.properties'), legacy('mail.properties'),
      legacy('sms.properties'), '-o', out]);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, '', 'with -o nothing goes to stdout');
    assert.equal(statSync(out).mode & 0o777, 0o600, 'the file holds the mail password: owner-only');
    assert.match(r.stderr, /^no equivalent: hardware\.mqtt\.port — blynkd has no MQTT listener/m);
    assert.match(r.stderr, /^no equivalent: admin\.pass — .*not copied/m);
    assert.match(r.stderr, /^not translated: allowed\.administrator\.ips — left out 0\.0\.0\.0\/0, ::\/0/m);
    assert.match(r.stderr, /keys translated, \d+ reported; wrote /);
    for (const s of SECRETS) assert.ok(!r.stderr.includes(s), `stderr must not show ${s}`);

    const toml = readFileSync(out, 'utf8');
    assert.match(toml, /^hardware_port = 8081 /m);
    assert.match(toml, /^\[plugins\.mail-smtp\]$/m);
    assert.match(toml, /^password = "Mail=Pass\\\\Secret3\\"q"/m);
    assert.match(toml, /^api_secret = "NexmoSecretSecret5"/m);
    assert.ok(!toml.includes('AdminPassSecret2') && !toml.includes('KeyPassSecret1'));

    const check = await blynkd(['--config', out, '--data-dir', path.join(dir, 'data'), 'config', 'check'], { cwd: dir });
    assert.equal(check.code, 0, show(check));
    assert.match(check.stdout, /configuration OK/);
    assert.match(check.stdout, /hardware port: 8081, TLS port: 9444/);
    // The notifier plugins are not installed yet: their tables are kept with a warning, not an error.
    assert.match(check.stderr, /\[plugins\.mail-smtp\] is set but no enabled plugin has that name/);
  });

  it('without -o the TOML goes to stdout and the report to stderr', async () => {
    const r = await blynkd(['migrate-config', legacy('server.properties')]);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^\[server\]$/m);
    assert.match(r.stdout, /^#   data\.folder \(.*server\.properties:\d+\): .*import-legacy/m);
    assert.ok(!/^no equivalent:/m.test(r.stdout), 'the report is not mixed into the TOML');
    assert.match(r.stderr, /^no equivalent: data\.folder — /m);
  });

  it('a missing file or no file at all: exit 2 with the reason, nothing written', async () => {
    const missing = await blynkd(['migrate-config', path.join(dir, 'nope.properties'), '-o', path.join(dir, 'x.toml')]);
    assert.equal(missing.code, 2, show(missing));
    assert.match(missing.stderr, /cannot read .*nope\.properties/);
    assert.throws(() => statSync(path.join(dir, 'x.toml')));
    const none = await blynkd(['migrate-config']);
    assert.equal(none.code, 2, show(none));
    assert.match(none.stderr, /needs server\.properties/);
  });
});
