// blynkd admin web UI. Everything comes from the operator API (/api/v1/...):
// a login answers a session cookie (HttpOnly: this script never sees it) and a
// CSRF token that every change sends back in X-CSRF-Token; the live feed
// (/api/v1/events, server-sent events) brings devices going on- and offline
// and the server's numbers every few seconds, so nothing polls.
'use strict';

const $ = (id) => document.getElementById(id);
let csrf = '';
let feed = null;
const devices = new Map();  // "email|dashId|id" -> device (from /api/v1/devices and the feed)

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
  const res = await fetch(path, {
    method, headers, credentials: 'same-origin', cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let json = null;
  try { json = await res.json(); } catch { json = null; }
  if (!res.ok) {
    if (res.status === 401 && path !== '/api/v1/session') showLogin('Your session has ended; log in again.');
    throw new ApiError(res.status, json);
  }
  return json;
}

function show(view) {
  for (const v of ['login-view', 'password-view', 'app-view']) $(v).hidden = v !== view;
}

function notice(text) {
  $('notice').textContent = text || '';
  $('notice').hidden = !text;
}

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c ?? '')));
  return e;
}

// ------------------------------------------------------------------ session

function showLogin(message) {
  csrf = '';
  stopFeed();
  $('who').hidden = true;
  $('login-error').textContent = message || '';
  show('login-view');
  $('login-password').value = '';
}

function enter(session) {
  csrf = session.csrf;
  $('who-email').textContent = session.email;
  $('who').hidden = false;
  if (session.mustChangePassword) {
    show('password-view');
    $('pw-current').focus();
    return;
  }
  show('app-view');
  startFeed();
  refresh();
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('login-error').textContent = '';
  try {
    const s = await api('POST', '/api/v1/session', { email: $('login-email').value, password: $('login-password').value });
    $('login-password').value = '';
    enter(s);
  } catch (e) {
    $('login-error').textContent = e.message;
  }
});

$('password-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('password-error').textContent = '';
  if ($('pw-new').value !== $('pw-repeat').value) {
    $('password-error').textContent = 'The two new passwords differ.';
    return;
  }
  try {
    await api('POST', '/api/v1/session/password', { password: $('pw-current').value, newPassword: $('pw-new').value });
    for (const id of ['pw-current', 'pw-new', 'pw-repeat']) $(id).value = '';
    notice('Password changed.');
    enter(await api('GET', '/api/v1/session'));
  } catch (e) {
    $('password-error').textContent = e.message;
  }
});

$('logout').addEventListener('click', async () => {
  try { await api('DELETE', '/api/v1/session'); } catch { /* the session is gone either way */ }
  notice('');
  showLogin('Logged out.');
});

// ------------------------------------------------------------------ live feed

function startFeed() {
  stopFeed();
  feed = new EventSource('/api/v1/events');
  feed.addEventListener('open', () => setLive(true));
  feed.addEventListener('error', () => setLive(false));
  feed.addEventListener('stats', (ev) => showStats(JSON.parse(ev.data)));
  feed.addEventListener('device', (ev) => {
    const d = JSON.parse(ev.data);
    const old = devices.get(keyOf(d));
    if (!old) return;  // not one listed (another page added it): the next refresh shows it
    devices.set(keyOf(d), { ...old, ...d });
    renderDevices();
  });
  feed.addEventListener('ended', () => { stopFeed(); showLogin('Your session has ended; log in again.'); });
}

function stopFeed() {
  if (feed) feed.close();
  feed = null;
  setLive(false);
}

function setLive(on) {
  $('live').textContent = on ? 'live' : 'offline';
  $('live').className = on ? 'badge on' : 'badge off';
}

function duration(s) {
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  return d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : `${m} min ${s % 60} s`;
}

function bytes(n) {
  return n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : `${(n / (1 << 20)).toFixed(1)} MiB`;
}

function showStats(s) {
  $('stat-uptime').textContent = duration(s.uptimeSeconds);
  const c = s.connections;
  $('stat-connections').textContent = `${c.total} (TLS ${c.tls}, plain ${c.plain}; devices ${c.hardware}, live views ${c.live})`;
  $('stat-online').textContent = `${s.devicesOnline} of ${s.devices}`;
  $('stat-rate').textContent = s.messagesPerSecond;
  $('stat-memory').textContent = s.rssBytes ? bytes(s.rssBytes) : 'unknown';
  $('stat-storage').textContent = s.storage.healthy
    ? `healthy (${s.storage.queued} queued)` : `a call is hanging for ${Math.round(s.storage.busyMs / 1000)} s`;
  $('stat-plugins').textContent = s.plugins.join(', ');
  $('warning-count').textContent = s.warnings.length;
  $('warnings').replaceChildren(...s.warnings.slice().reverse().map((w) =>
    el('li', {}, el('span', { class: 'muted' }, `${new Date(w.at).toLocaleString()} ${w.level} `), w.text)));
}

// ------------------------------------------------------------------ devices and users

const keyOf = (d) => `${d.email}|${d.dashId}|${d.id}`;

function when(ms) {
  return ms ? new Date(ms).toLocaleString() : 'never';
}

function reported(info) {
  const parts = [];
  const names = { ver: 'library', dev: 'board', 'h-beat': 'heartbeat', fw: 'firmware', build: 'build', cpu: 'cpu', con: 'connection' };
  for (const [k, label] of Object.entries(names))
    if (info && info[k]) parts.push(`${label} ${info[k]}${k === 'h-beat' ? ' s' : ''}`);
  return parts.length ? parts.join(', ') : '–';
}

function renderDevices() {
  const rows = [...devices.values()].sort((a, b) => a.email.localeCompare(b.email) || a.id - b.id).map((d) => {
    const state = el('span', { class: d.online ? 'badge on state' : 'badge off state' }, d.online ? 'online' : 'offline');
    return el('tr', { 'data-key': keyOf(d), 'data-token': d.token, class: d.online ? 'online' : 'offline' },
      el('td', { 'data-label': 'Device' }, d.name, el('div', { class: 'muted' }, `${d.board || ''} #${d.id}`)),
      el('td', { 'data-label': 'Owner' }, d.email),
      el('td', { 'data-label': 'State' }, state, el('div', { class: 'muted' }, `last seen ${when(d.lastSeen)}`)),
      el('td', { 'data-label': 'Reported', class: 'reported' }, reported(d.hardwareInfo)),
      el('td', { 'data-label': 'Token' }, el('code', {}, d.token)),
      el('td', { class: 'actions' },
        el('button', { class: 'plain rotate', type: 'button', onclick: () => rotate(d) }, 'New token'),
        el('button', { class: 'danger remove', type: 'button', onclick: () => removeDevice(d) }, 'Remove')));
  });
  $('devices').tBodies[0].replaceChildren(...rows);
}

async function rotate(d) {
  if (!confirm(`Give ${d.name} a new token? It is disconnected and must be flashed with the new one.`)) return;
  try {
    const r = await api('POST', `/api/v1/devices/${encodeURIComponent(d.token)}/token`, {});
    notice(`${d.name} has a new token.`);
    devices.set(keyOf(d), { ...d, token: r.token, online: false });
    await refresh();
  } catch (e) { notice(e.message); }
}

async function removeDevice(d) {
  if (!confirm(`Remove ${d.name} of ${d.email}?`)) return;
  try {
    await api('DELETE', `/api/v1/devices/${encodeURIComponent(d.token)}`);
    notice(`${d.name} removed.`);
    await refresh();
  } catch (e) { notice(e.message); }
}

async function removeUser(u) {
  if (!confirm(`Remove ${u.email} and all of their devices?`)) return;
  try {
    await api('DELETE', `/api/v1/users/${encodeURIComponent(u.email)}`);
    notice(`${u.email} removed.`);
    await refresh();
  } catch (e) { notice(e.message); }
}

function renderUsers(users) {
  const me = $('who-email').textContent;
  $('users').tBodies[0].replaceChildren(...users.sort((a, b) => a.email.localeCompare(b.email)).map((u) =>
    el('tr', { 'data-email': u.email },
      el('td', { 'data-label': 'E-mail' }, u.email),
      el('td', { 'data-label': 'Name' }, u.name),
      el('td', { 'data-label': 'Role' }, u.admin ? 'administrator' : 'user'),
      el('td', { 'data-label': 'Devices' }, u.devices),
      el('td', { class: 'actions' }, u.email === me ? '' :
        el('button', { class: 'danger remove', type: 'button', onclick: () => removeUser(u) }, 'Remove')))));
}

async function refresh() {
  const [list, users, stats] = await Promise.all([
    api('GET', '/api/v1/devices'), api('GET', '/api/v1/users'), api('GET', '/api/v1/status')]);
  devices.clear();
  for (const d of list) devices.set(keyOf(d), d);
  renderDevices();
  renderUsers(users);
  showStats(stats);
}

$('device-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  try {
    const r = await api('POST', '/api/v1/devices',
      { email: $('device-email').value, name: $('device-name').value, board: $('device-board').value });
    const made = r.userPassword ? ` The account ${r.email} was created with the password ${r.userPassword} (shown once).` : '';
    $('device-result').textContent = `Device ${r.name} added; its token is ${r.token}.${made}`;
    $('device-result').hidden = false;
    $('device-name').value = '';
    await refresh();
  } catch (e) { notice(e.message); }
});

$('user-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  try {
    const r = await api('POST', '/api/v1/users',
      { email: $('user-email').value, name: $('user-name').value, admin: $('user-admin').checked });
    $('user-result').textContent = `User ${r.email} added; password ${r.password} (shown once).`;
    $('user-result').hidden = false;
    $('user-email').value = '';
    $('user-name').value = '';
    await refresh();
  } catch (e) { notice(e.message); }
});

// ------------------------------------------------------------------ start

(async () => {
  try {
    enter(await api('GET', '/api/v1/session'));
  } catch {
    showLogin('');
  }
})();
