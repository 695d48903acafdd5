// Shared set-up for the app-protocol tests (test/app-*.test.js): accounts, dashboards with a device,
// and a real npm blynk-library device, all through the public protocol only.
import { AppClient, AppCmd, AppStatus } from './app_client.js';
import { makeDevice } from './blynklib.js';

let counter = 0;

/** A fresh e-mail address, unique in this process. */
export function uniqueEmail(tag = 'user') {
  counter += 1;
  return `${tag}-${process.pid}-${counter}@example.com`;
}

/** An app connection to srv's TLS port ('tls' or 'ws'), registered with cleanup. */
export async function openApp(srv, cleanup, transport = 'tls') {
  return cleanup.add(await AppClient.connect({ port: srv.tlsPort, transport }));
}

/**
 * REGISTERs email on its own TLS connection (REGISTER is not accepted on /dashws, §2.3) and returns
 * a logged-in session on transport.
 */
export async function newAccount(srv, cleanup, { email = uniqueEmail(), password = 'pw-1', transport = 'tls' } = {}) {
  const reg = await openApp(srv, cleanup, 'tls');
  await reg.register(email, password);
  reg.close();
  const app = await openApp(srv, cleanup, transport);
  await app.login(email, password);
  return { app, email, password };
}

/** Another logged-in session of an existing account. */
export async function session(srv, cleanup, email, password, transport = 'tls') {
  const app = await openApp(srv, cleanup, transport);
  await app.login(email, password);
  return app;
}

/**
 * CREATE_DASH dashId (with widgets), CREATE_DEVICE deviceId in it; returns the device JSON of the
 * reply (with its token). The dashboard is left inactive, as a created one is.
 */
export async function dashWithDevice(app, { dashId = 1, deviceId = 0, name = `dash ${dashId}`, widgets = [] } = {}) {
  await app.createDash({ id: dashId, name, createdAt: 1, widgets });
  const dev = await app.createDevice(dashId, { id: deviceId, name: `device ${deviceId}`, boardType: 'ESP8266' });
  if (typeof dev.token !== 'string' || dev.token.length !== 32) {
    throw new Error(`CREATE_DEVICE reply has no 32-char token: ${JSON.stringify(dev)}`);
  }
  return dev;
}

/**
 * ACTIVATE dashId and return the reply: OK when a device of the dash is online, else
 * DEVICE_NOT_IN_NETWORK (legacy MobileActivateDashboardLogic; MainWorkflowTest.testDashCommands).
 */
export async function activate(app, dashId) {
  const f = await app.request(AppCmd.ACTIVATE_DASHBOARD, String(dashId));
  if (f.cmd !== AppCmd.RESPONSE || (f.status !== AppStatus.OK && f.status !== AppStatus.DEVICE_NOT_IN_NETWORK)) {
    throw new Error(`ACTIVATE ${dashId}: unexpected reply cmd ${f.cmd} status ${f.status}`);
  }
  return f;
}

/**
 * A real npm blynk-library device logged in with token on the plain hardware port; reconnect false
 * for one the server will close (see blynklib.makeDevice).
 */
export async function libDevice(srv, cleanup, token, { reconnect = true } = {}) {
  const b = makeDevice(token, { port: srv.hwPort, reconnect });
  cleanup.add(b);
  await b.whenConnected();
  return b;
}

/** A widget JSON for a one-pin widget (legacy Widget/OnePinWidget fields, server-behaviour.md §5). */
export function widget(id, pin, { type = 'BUTTON', pinType = 'VIRTUAL', deviceId = 0, value } = {}) {
  const w = { type, id, x: 0, y: id, width: 2, height: 1, label: `w${id}`, deviceId, pinType, pin };
  if (value !== undefined) w.value = String(value);
  return w;
}
