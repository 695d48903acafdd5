// /metrics for tests: the Prometheus text parsed into series, and a bounded scrape from loopback
// (inside [metrics] allowed_ips by default).
import assert from 'node:assert/strict';

export const SCRAPE_TIMEOUT_MS = 5000;

/** The text's series: {text, value(name, labels)}; a series the text lacks is 0. */
export function parseMetrics(text) {
  const series = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    series.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  const value = (name, labels = {}) => {
    const l = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',');
    return series.get(l ? `${name}{${l}}` : name) ?? 0;
  };
  return { text, value };
}

/** GET /metrics on the server's plain device port, parsed. */
export async function scrapeMetrics(srv) {
  const r = await fetch(`http://127.0.0.1:${srv.hwPort}/metrics`, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
  const text = await r.text();
  assert.equal(r.status, 200, `GET /metrics: HTTP ${r.status} ${text}`);
  return parseMetrics(text);
}

/** How much each of `series` ([name, labels] pairs) moved from `before` to `after`, as an object keyed
 * "name{labels}" (for one deepEqual that shows every difference at once). */
export function deltas(before, after, series) {
  const out = {};
  for (const [name, labels] of series) {
    const key = `${name}${JSON.stringify(labels)}`;
    out[key] = after.value(name, labels) - before.value(name, labels);
  }
  return out;
}
