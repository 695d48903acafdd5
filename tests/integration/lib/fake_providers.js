// Fake notification providers for the sms-nexmo and push-fcm plugins' tests: one local HTTPS
// server (a throw-away CA and leaf made with pki.js) that speaks the documented parts of
//   - Vonage/Nexmo's SMS API: POST /sms/json (form fields, messages[].status codes);
//   - Google's OAuth token endpoint: POST /token with a JWT bearer grant, whose RS256 signature
//     is checked with the public half of the service account key made here, and its claims;
//   - FCM HTTP v1: POST /v1/projects/blynk-test/messages:send (bearer token checked).
// Tests script answers ahead (HTTP errors, statuses, hangs) and read what arrived, over
// /_control/*. Run as `node fake_providers.js DIR`: writes ca.pem and service-account.json
// (mode 0600) into DIR and prints one JSON line {pid, port, ca, serviceAccount}.
import { generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { caWithLeaves } from './pki.js';

export const PROJECT_ID = 'blynk-test';
export const CLIENT_EMAIL = 'blynkd@blynk-test.iam.gserviceaccount.com';
export const NEXMO_KEY = 'test-key';
export const NEXMO_SECRET = 'test-secret';
const SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const LIFETIME_MS = 300000; // a forgotten server ends on its own

function readBody(req, limit = 65536) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const parts = [];
    req.on('data', (c) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('body too large'));
        req.destroy();
      } else parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function b64urlJson(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

export async function startFakeProviders(dir) {
  const { ca, leaves } = caWithLeaves(dir, ['provider']);
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const state = { sms: [], tokenRequests: 0, jwtErrors: [], pushes: [], hung: 0 };
  const scripts = { sms: [], token: [], push: [] };
  const issued = new Set();
  const hanging = [];
  let tokenUri = '';
  let messageNo = 0;

  const send = (res, code, obj, headers = {}) => {
    res.writeHead(code, { 'Content-Type': 'application/json', ...headers });
    res.end(typeof obj === 'string' ? obj : JSON.stringify(obj));
  };
  // A scripted answer, if one is queued for this endpoint; true when it answered (or hung).
  const scripted = (kind, res, nexmoShape) => {
    const step = scripts[kind].shift();
    if (!step) return false;
    if (step.hang) {
      state.hung += 1;
      hanging.push(res);
      return true;
    }
    if (step.http) {
      const headers = step.retryAfter !== undefined ? { 'Retry-After': String(step.retryAfter) } : {};
      send(res, step.http, step.body ?? fcmError(step.http, step.status ?? 'INTERNAL', step.errorCode), headers);
      return true;
    }
    if (nexmoShape && step.status !== undefined) {
      send(res, 200, { 'message-count': '1', messages: [{ status: String(step.status), 'error-text': 'scripted' }] });
      return true;
    }
    scripts[kind].unshift(step); // not for this shape: leave it
    return false;
  };

  function fcmError(code, status, errorCode) {
    const error = { code, message: `fake ${status}`, status };
    if (errorCode) error.details = [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }];
    return { error };
  }

  async function sms(req, res) {
    const form = Object.fromEntries(new URLSearchParams(await readBody(req)));
    state.sms.push(form);
    if (scripted('sms', res, true)) return;
    const missing = ['api_key', 'api_secret', 'from', 'to', 'text'].filter((k) => !form[k]);
    if (missing.length) return send(res, 200, { 'message-count': '1', messages: [{ status: '2', 'error-text': 'Missing ' + missing }] });
    if (form.api_key !== NEXMO_KEY || form.api_secret !== NEXMO_SECRET)
      return send(res, 200, { 'message-count': '1', messages: [{ status: '4', 'error-text': 'Bad Credentials' }] });
    send(res, 200, { 'message-count': '1', messages: [{ to: form.to, 'message-id': randomBytes(8).toString('hex'),
      status: '0', 'remaining-balance': '10.00', 'message-price': '0.05', network: '26201' }] });
  }

  async function token(req, res) {
    const form = Object.fromEntries(new URLSearchParams(await readBody(req)));
    state.tokenRequests += 1;
    if (scripted('token', res, false)) return;
    const refuse = (why) => {
      state.jwtErrors.push(why);
      send(res, 400, { error: 'invalid_grant', error_description: why });
    };
    if (form.grant_type !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return refuse('wrong grant_type');
    const parts = (form.assertion || '').split('.');
    if (parts.length !== 3) return refuse('the assertion is not a JWT');
    let header, claims;
    try {
      header = b64urlJson(parts[0]);
      claims = b64urlJson(parts[1]);
    } catch {
      return refuse('the JWT parts are not base64url JSON');
    }
    if (header.alg !== 'RS256' || header.typ !== 'JWT') return refuse('header is not {alg: RS256, typ: JWT}');
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    if (!verify('sha256', signed, publicKey, Buffer.from(parts[2], 'base64url'))) return refuse('Invalid JWT Signature.');
    const now = Math.floor(Date.now() / 1000);
    if (claims.iss !== CLIENT_EMAIL) return refuse('iss is not the service account');
    if (claims.scope !== SCOPE) return refuse('scope is not firebase.messaging');
    if (claims.aud !== tokenUri) return refuse('aud is not the token URI');
    if (!Number.isInteger(claims.iat) || Math.abs(claims.iat - now) > 300) return refuse('iat is not now');
    if (!Number.isInteger(claims.exp) || claims.exp <= now || claims.exp - claims.iat > 3600) return refuse('bad exp');
    const value = `ya29.fake-${randomBytes(12).toString('hex')}`;
    issued.add(value);
    send(res, 200, { access_token: value, expires_in: 3599, token_type: 'Bearer' });
  }

  async function push(req, res, project) {
    const auth = req.headers.authorization || '';
    let body;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return send(res, 400, fcmError(400, 'INVALID_ARGUMENT'));
    }
    const bearer = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    const message = body.message || {};
    state.pushes.push({ project, authorized: issued.has(bearer), message });
    if (!issued.has(bearer)) return send(res, 401, fcmError(401, 'UNAUTHENTICATED'));
    if (project !== PROJECT_ID) return send(res, 404, fcmError(404, 'NOT_FOUND'));
    if (scripted('push', res, false)) return;
    const tok = String(message.token || '');
    if (!tok) return send(res, 400, fcmError(400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT'));
    if (tok.startsWith('unregistered')) return send(res, 404, fcmError(404, 'NOT_FOUND', 'UNREGISTERED'));
    if (tok.startsWith('invalid')) return send(res, 400, fcmError(400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT'));
    messageNo += 1;
    send(res, 200, { name: `projects/${project}/messages/${messageNo}` });
  }

  let server;
  async function control(req, res, what) {
    const text = req.method === 'POST' ? await readBody(req) : '';
    if (what === 'state') return send(res, 200, state);
    if (what === 'script') {
      const s = JSON.parse(text || '{}');
      for (const k of Object.keys(scripts)) if (Array.isArray(s[k])) scripts[k].push(...s[k]);
      return send(res, 200, { ok: true });
    }
    if (what === 'revoke') {
      issued.clear();
      return send(res, 200, { ok: true });
    }
    if (what === 'exit') {
      send(res, 200, { ok: true });
      return stop();
    }
    send(res, 404, { error: 'no such control' });
  }

  const route = async (req, res) => {
    const url = new URL(req.url, 'https://localhost');
    try {
      if (url.pathname.startsWith('/_control/')) return await control(req, res, url.pathname.slice(10));
      if (req.method === 'POST' && url.pathname === '/sms/json') return await sms(req, res);
      if (req.method === 'POST' && url.pathname === '/token') return await token(req, res);
      const m = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(url.pathname);
      if (req.method === 'POST' && m) return await push(req, res, m[1]);
      send(res, 404, { error: 'not found' });
    } catch (e) {
      if (!res.headersSent) send(res, 400, { error: String(e.message || e) });
    }
  };

  server = https.createServer({ cert: readFileSync(leaves.provider.chain), key: readFileSync(leaves.provider.key) },
    (req, res) => { route(req, res); });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  tokenUri = `https://127.0.0.1:${port}/token`;
  const serviceAccount = path.join(dir, 'service-account.json');
  writeFileSync(serviceAccount, JSON.stringify({
    type: 'service_account', project_id: PROJECT_ID, private_key_id: randomBytes(20).toString('hex'),
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }), client_email: CLIENT_EMAIL,
    token_uri: tokenUri }, null, 2), { mode: 0o600 });
  chmodSync(serviceAccount, 0o600);

  function stop() {
    for (const res of hanging.splice(0)) res.destroy();
    server.closeAllConnections?.();
    return new Promise((resolve) => server.close(() => resolve()));
  }
  return { port, ca, serviceAccount, state, scripts, stop };
}

// CLI: used by the plugins' GoogleTest suites, which cannot run JavaScript themselves.
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: node fake_providers.js DIR\n');
    process.exit(2);
  }
  const fp = await startFakeProviders(dir);
  const lifetime = setTimeout(() => process.exit(0), LIFETIME_MS);
  lifetime.unref();
  process.on('SIGTERM', () => fp.stop().then(() => process.exit(0)));
  process.stdout.write(JSON.stringify({ pid: process.pid, port: fp.port, ca: fp.ca,
    serviceAccount: fp.serviceAccount }) + '\n');
}
