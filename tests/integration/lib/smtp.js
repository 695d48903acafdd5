// The real SMTP server of the mail tests (lib/smtp_server.py, Debian python3-aiosmtpd, STARTTLS and
// AUTH required) from a test's side: start it, switch its mode, read what it received.
import { spawn, execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

import { waitForFile } from './harness.js';

const here = path.dirname(new URL(import.meta.url).pathname);
const SMTP_HELPER = path.join(here, 'smtp_server.py');
export const SMTP_USER = 'blynk-sender';
export const SMTP_PASSWORD = 'secret pass 1';

/** A python3 that has aiosmtpd (Debian's, when a pyenv or venv python3 comes first on PATH). */
export function aiosmtpdPython() {
  return new Promise((resolve) => {
    const tryOne = (list) => {
      if (!list.length) return resolve(null);
      execFile(list[0], ['-c', 'import aiosmtpd'], { timeout: 5000 },
        (err) => (err ? tryOne(list.slice(1)) : resolve(list[0])));
    };
    tryOne(['/usr/bin/python3', 'python3']);
  });
}

/** Starts lib/smtp_server.py; resolves {port, dir, setMode, nextMail, close}. */
export async function startSmtp(py, dir, cert) {
  const out = path.join(dir, 'mail');
  mkdirSync(out, { recursive: true });
  // Now and then (a loaded machine) the helper has been seen to stay silent: it is then killed
  // and started again, at most three times, each wait bounded.
  let proc;
  let port;
  let text = '';
  for (let attempt = 1; !port; attempt += 1) {
    proc = spawn(py, [SMTP_HELPER, '--dir', out, '--cert', cert.cert, '--key', cert.key,
      '--user', SMTP_USER, '--password', SMTP_PASSWORD], { stdio: ['pipe', 'pipe', 'pipe'] });
    text = '';
    proc.stderr.on('data', (d) => { text += d; });
    const p = proc;
    port = await new Promise((resolve, reject) => {
      const t = setTimeout(() => { p.kill('SIGKILL'); resolve(0); }, 5000);
      // Pipe reads may split the line ("READY" and " 40853\n" arrived apart): match what came so far.
      let said = '';
      p.stdout.on('data', (d) => {
        said += d;
        const m = /READY (\d+)\n/.exec(said);
        if (m) { clearTimeout(t); resolve(Number(m[1])); }
      });
      p.on('exit', (code) => { clearTimeout(t); if (code !== null) reject(new Error(`SMTP helper exited ${code}: ${text}`)); });
    });
    if (!port && attempt === 3) throw new Error(`SMTP helper not ready in 3 x 5 s: ${text}`);
  }
  let seen = 0;
  return {
    port,
    setMode: (m) => writeFileSync(path.join(out, 'mode'), m),
    /** The next message the server accepted: {headers, body, meta}. */
    async nextMail(timeoutMs = 5000) {
      seen += 1;
      const file = path.join(out, `${seen}.eml`);
      await waitForFile(file, () => existsSync(file), timeoutMs);
      return parseMail(readFileSync(file, 'latin1'), JSON.parse(readFileSync(path.join(out, `${seen}.json`), 'utf8')));
    },
    /** Resolves once n sends hang in DATA (mode 'hang'). */
    hanging: (n) => waitForFile(path.join(out, 'hung'), (t) => Number(t) >= n, 3000),
    count: () => { let n = seen; while (existsSync(path.join(out, `${n + 1}.eml`))) n += 1; return n; },
    close: () => { proc.stdin.end(); proc.kill('SIGKILL'); },
  };
}

/** Headers (unfolded, by lower-case name) and the decoded body of a raw message. */
export function parseMail(raw, meta) {
  const [head, ...rest] = raw.split('\r\n\r\n');
  const headers = {};
  for (const line of head.replace(/\r\n[ \t]/g, ' ').split('\r\n')) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  const encoded = rest.join('\r\n\r\n');
  const body = headers['content-transfer-encoding'] === 'base64'
    ? Buffer.from(encoded.replace(/\s+/g, ''), 'base64').toString('utf8') : encoded;
  return { headers, body, meta };
}

/** RFC 2047 =?UTF-8?B?...?= words (or plain text) back to a string. */
export function decodeWords(v) {
  // Whitespace between two adjacent encoded-words is not part of the text (RFC 2047 §6.2).
  return v.replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?UTF-8\?B\?([^?]*)\?=/gi, (_, b) => Buffer.from(b, 'base64').toString('utf8'));
}
