// Bridge traffic between two logged-in hardware connections, used by the TLS tests to push
// many records each way through whichever record layer a connection is on.
import assert from 'node:assert/strict';
import { Cmd, Status } from './harness.js';

/**
 * `from` → `to` over a bridge: `count` writes of `size` bytes each (`to` reports a 4 KB
 * buffer), all arriving in order at `to`; then `pings` pings of `to`, answered in order.
 */
export async function bridgeTraffic(from, to, toToken, { count, size = 900, tag, pings = 10 }) {
  to.send(Cmd.INTERNAL, 3, ['ver', '0.5.4', 'buff-in', '4096', 'dev', 'js']);
  await to.expectResponse(3, Status.OK);
  from.send(Cmd.BRIDGE, 2, [1, 'i', toToken]);
  await from.expectResponse(2, Status.OK);
  const value = (i) => `${tag}${i}:`.padEnd(size, 'x');
  for (let i = 0; i < count; i++) from.send(Cmd.BRIDGE, 100 + (i % 60000), [1, 'vw', 7, value(i)]);
  for (let i = 0; i < count; i++) {
    const f = await to.expectFrame();
    assert.equal(f.cmd, Cmd.BRIDGE);
    assert.equal(f.body.toString('utf8'), `vw\x007\x00${value(i)}`, `write ${i} of ${count}`);
  }
  for (let i = 0; i < pings; i++) to.send(Cmd.PING, 500 + i);
  for (let i = 0; i < pings; i++) await to.expectResponse(500 + i, Status.OK);
}
