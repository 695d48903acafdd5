// Helpers for the admin web UI's tests: a browser session of the operator API (its cookie and
// CSRF token) and the live feed (server-sent events) read as a client would.
import https from 'node:https';
import assert from 'node:assert/strict';
import { request, showRes, HTTP_TIMEOUT_MS } from './operator.js';

export const COOKIE = '__Host-blynkd-session';

/** The session cookie's value from a Set-Cookie answer, and the whole header. */
export function sessionCookie(res) {
  const all = res.headers['set-cookie'] || [];
  const line = all.find((c) => c.startsWith(`${COOKIE}=`));
  return line ? { value: line.slice(COOKIE.length + 1).split(';')[0], line } : null;
}

/** POST /api/v1/session; returns {res, cookie, csrf}. */
export async function login(srv, email, password, opts = {}) {
  const res = await request(srv, 'POST', '/api/v1/session', { body: { email, password }, ...opts });
  const c = sessionCookie(res);
  return { res, cookie: c?.value, csrf: res.json?.csrf };
}

/**
 * A request in a browser session: the cookie, and for a change the CSRF token and the Origin a
 * browser sends (`origin: null` leaves it out, `csrf: null` the token).
 */
export function inSession(srv, s, method, urlPath, { body, csrf = s.csrf, origin, headers = {}, ...rest } = {}) {
  const h = { Cookie: `${COOKIE}=${s.cookie}`, ...headers };
  if (method !== 'GET' && method !== 'HEAD') {
    if (csrf !== null) h['X-CSRF-Token'] = csrf;
    const o = origin === undefined ? `https://127.0.0.1:${srv.tlsPort}` : origin;
    if (o !== null) h.Origin = o;
  }
  return request(srv, method, urlPath, { body, headers: { Host: `127.0.0.1:${srv.tlsPort}`, ...h }, ...rest });
}

/** A logged-in session that must succeed. */
export async function mustLogin(srv, email, password) {
  const s = await login(srv, email, password);
  assert.equal(s.res.status, 200, `login of ${email}: ${showRes(s.res)}`);
  assert.ok(s.cookie && s.csrf, `login of ${email}: a cookie and a CSRF token: ${showRes(s.res)}`);
  return s;
}

/**
 * GET /api/v1/events in session `s`: {status, headers, events, next(pred, ms), close()}, where
 * events collects {event, data} as they arrive and next() waits (bounded) for one matching pred.
 */
export function openFeed(srv, s, { localAddress } = {}) {
  return new Promise((resolve, reject) => {
    const events = [];
    const waiters = [];
    let ended = false;
    const wake = () => {
      for (const w of [...waiters]) w();
    };
    const req = https.request({
      host: '127.0.0.1', port: srv.tlsPort, method: 'GET', path: '/api/v1/events', agent: false, localAddress,
      ca: srv.cert(), checkServerIdentity: () => undefined,
      headers: { Cookie: `${COOKIE}=${s.cookie}`, Accept: 'text/event-stream', Host: `127.0.0.1:${srv.tlsPort}` },
    }, (res) => {
      let buf = '';
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
        buf += chunk;
        let cut;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const ev = { event: 'message', data: '' };
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) ev.event = line.slice(7);
            else if (line.startsWith('data: ')) ev.data += line.slice(6);
          }
          if (block.startsWith('retry:')) continue;
          try { ev.json = JSON.parse(ev.data); } catch { /* not JSON */ }
          events.push(ev);
        }
        wake();
      });
      res.on('end', () => { ended = true; wake(); });
      res.on('error', () => { ended = true; wake(); });
      const feed = {
        status: res.statusCode,
        headers: res.headers,
        events,
        get ended() { return ended; },
        get body() { return body; },
        next(pred, ms = 5000, what = 'an event') {
          return new Promise((ok, fail) => {
            const check = () => {
              const hit = events.find(pred);
              if (hit) { done(); ok(hit); return true; }
              return false;
            };
            const timer = setTimeout(() => {
              done();
              fail(new Error(`no ${what} within ${ms} ms; got ${JSON.stringify(events.map((e) => e.event))}`));
            }, ms);
            const done = () => { clearTimeout(timer); waiters.splice(waiters.indexOf(check), 1); };
            waiters.push(check);
            check();
          });
        },
        until_end(ms = 5000) {
          return new Promise((ok, fail) => {
            if (ended) return ok();
            const check = () => { if (ended) { done(); ok(); } };
            const timer = setTimeout(() => { done(); fail(new Error(`the feed did not end within ${ms} ms`)); }, ms);
            const done = () => { clearTimeout(timer); waiters.splice(waiters.indexOf(check), 1); };
            waiters.push(check);
          });
        },
        close() { req.destroy(); },
      };
      resolve(feed);
    });
    req.setTimeout(HTTP_TIMEOUT_MS, () => req.destroy(new Error('no answer to GET /api/v1/events')));
    req.on('error', reject);
    req.end();
  });
}
