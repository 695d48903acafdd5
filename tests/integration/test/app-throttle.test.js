// App logins and the [security] login throttle (kernel/core/app_accounts.cpp): wrong passwords
// count toward the block of the address as bad device tokens do, and a blocked address is
// refused even with the right password until the block ends.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, Cleanup } from '../lib/harness.js';
import { AppCmd, AppStatus, passHash } from '../lib/app_client.js';
import { openApp, newAccount, uniqueEmail } from '../lib/app_setup.js';

const FAILS = 3;
const cleanup = new Cleanup();
let srv;

before(async () => {
  srv = cleanup.add(await Server.start({
    name: 'app-throttle',
    config: { security: { login_failures: FAILS, login_failure_window: 60, login_block: 300 } },
  }));
});
after(() => cleanup.run());

describe('app logins and the login throttle', () => {
  it(`${FAILS} wrong app passwords block the address: the right password is then refused and the connection closed`, async () => {
    const { email, password, app } = await newAccount(srv, cleanup);
    app.close();
    const wrong = await openApp(srv, cleanup);
    for (let i = 0; i < FAILS; i++)
      await wrong.expectStatus(AppCmd.LOGIN, [email, passHash(email, `wrong-${i}`)], AppStatus.USER_NOT_AUTHENTICATED);
    const right = await openApp(srv, cleanup);
    await right.expectStatus(AppCmd.LOGIN, [email, passHash(email, password)], AppStatus.USER_NOT_AUTHENTICATED);
    await right.expectClose(3000);
    await srv.waitForLog(/refused logins within 60 s; logins from this address are refused/, 5000);
  });

  it('unknown accounts count too (no free guessing of e-mail addresses)', async () => {
    const fresh = cleanup.add(await Server.start({ name: 'app-throttle-unknown',
      config: { security: { login_failures: 2, login_failure_window: 60, login_block: 300 } } }));
    const c = await openApp(fresh, cleanup);
    for (let i = 0; i < 2; i++) {
      const email = uniqueEmail('nobody');
      await c.expectStatus(AppCmd.LOGIN, [email, passHash(email, 'x')], AppStatus.USER_NOT_REGISTERED);
    }
    const d = await openApp(fresh, cleanup);
    const email = uniqueEmail('nobody');
    await d.expectStatus(AppCmd.LOGIN, [email, passHash(email, 'x')], AppStatus.USER_NOT_AUTHENTICATED);
    await d.expectClose(3000);
  });
});
