// Helpers for tests of the operator API (kernel/net/operator_api.cpp, operator_auth.cpp):
// HTTPS requests to /api/v1 trusting the server's generated certificate, its credentials,
// and the shape of its JSON errors.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';

export const HTTP_TIMEOUT_MS = 5000;
export const JSON_TYPE = 'application/json;charset=utf-8';
export const NO_CREDENTIALS = 'Administrator credentials required (HTTP Basic, or the operator token).';
export const WRONG_ADMIN = 'Wrong administrator e-mail or password.';

export const showRes = (r) => `HTTP ${r.status} ${r.text}`;

/** The administrator e-mail and password of the first start (its password file: stdout is a pipe). */
export const adminCredentials = (srv) => srv.adminCredentials();

export const operatorToken = (srv) => readFileSync(path.join(srv.dataDir, 'operator.token'), 'utf8').trim();
export const basic = (email, password) => `Basic ${Buffer.from(`${email}:${password}`).toString('base64')}`;
export const bearer = (srv) => `Bearer ${operatorToken(srv)}`;

function parseJson(text) {
  try { return JSON.parse(text); } catch { return undefined; }
}

/**
 * One request (bounded), by default HTTPS to the TLS port on 127.0.0.1 trusting the generated
 * certificate. {plain: true} sends plain HTTP to the hardware port instead; {host} connects to
 * another address of this machine, {localAddress} sends from one (127.0.0.2 is another peer);
 * {timeout} bounds the wait (ms).
 * A body that is not a string is sent as JSON with Content-Type: application/json unless
 * headers say otherwise.
 */
export function request(srv, method, urlPath, {
  auth, body, plain = false, headers = {}, host = '127.0.0.1', localAddress, timeout = HTTP_TIMEOUT_MS,
} = {}) {
  return new Promise((resolve, reject) => {
    const h = { Connection: 'close', ...headers };
    if (auth) h.Authorization = auth;
    const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    if (payload) {
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
      h['Content-Length'] = payload.length;
    }
    const opts = {
      host, method, path: urlPath, headers: h, agent: false, timeout, localAddress,
    };
    const mod = plain ? http : https;
    if (plain) {
      opts.port = srv.hwPort;
    } else {
      Object.assign(opts, { port: srv.tlsPort, ca: srv.cert(), checkServerIdentity: () => undefined });
    }
    const req = mod.request(opts, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode, headers: res.headers, type: res.headers['content-type'], text, json: parseJson(text) });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: no answer within ${timeout} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** An authorized operator-API call (operator token) that must answer `expect`; returns its JSON. */
export async function api(srv, method, urlPath, body, expect) {
  const r = await request(srv, method, urlPath, { auth: bearer(srv), body });
  assert.equal(r.status, expect, `${method} ${urlPath}: ${showRes(r)}`);
  assert.equal(r.type, JSON_TYPE, `${method} ${urlPath}: content type`);
  assert.notEqual(r.json, undefined, `${method} ${urlPath}: a JSON body: ${r.text}`);
  return r.json;
}

/** The answer must be `status` with {"error": message} (a RegExp matches the message). */
export function assertError(r, status, message, what) {
  assert.equal(r.status, status, `${what}: ${showRes(r)}`);
  assert.equal(r.type, JSON_TYPE, `${what}: content type`);
  if (message instanceof RegExp) {
    assert.equal(typeof r.json?.error, 'string', `${what}: ${r.text}`);
    assert.match(r.json.error, message, what);
  } else {
    assert.deepEqual(r.json, { error: message }, `${what}: ${r.text}`);
  }
}
