/*
 * One side of `npm run bench`'s load comparison, in its own process, timed from inside:
 *
 *   node scripts/bench-load-driver.mjs tool URL SECRET COUNT CONCURRENCY [WARM]
 *   node scripts/bench-load-driver.mjs autocannon URL SECRET COUNT CONCURRENCY [WARM]
 *
 * `tool` runs load mode's own code (dist/delivery/load.js: a distinct event built and signed per
 * request, as `send --count` does); `autocannon` resends one validly signed request. With WARM,
 * WARM requests run first in the same process (JIT and allocator warmed) and only the next COUNT
 * are timed: the steady state. Either way the clock runs from the first timed request to the
 * COUNT-th response. Prints one JSON line: count, ok (2xx), non2xx, errors, ms, cpu_ms.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

const [side, url, secret, countArg, concurrencyArg, warmArg = '0'] = process.argv.slice(2);
const count = Number(countArg);
const concurrency = Number(concurrencyArg);
const warm = Number(warmArg);
const dist = new URL('../dist/', import.meta.url);

async function toolRun(n) {
  const { buildEvent } = await import(new URL('events/build.js', dist).href);
  const { prepareRequest } = await import(new URL('delivery/request.js', dist).href);
  const { runWireLoad, wireRequestFactory, wireTarget } = await import(new URL('delivery/load.js', dist).href);
  const target = wireTarget(url);
  const next = wireRequestFactory(prepareRequest(buildEvent('session.verified'), { url, secret }), secret, target);
  const t0 = performance.now();
  const report = await runWireLoad(target, next, { count: n, concurrency, timeoutMs: 10_000 });
  const ms = performance.now() - t0;
  const ok = Object.entries(report.statuses).reduce((sum, [k, v]) => (/^2\d\d$/.test(k) ? sum + v : sum), 0);
  const errors = Object.entries(report.statuses).reduce((sum, [k, v]) => (k.startsWith('error:') ? sum + v : sum), 0);
  return { count: report.sent, ok, non2xx: report.sent - ok - errors, errors, ms };
}

const body = readFileSync(new URL('../fixtures/session.verified.json', import.meta.url));
const compact = Buffer.from(JSON.stringify(JSON.parse(body.toString('utf8'))));
const headers = {
  'content-type': 'application/json',
  'facesign-signature': createHmac('sha256', secret).update(compact).digest('hex'),
  'facesign-event-id': JSON.parse(compact.toString('utf8')).id,
};

async function autocannonRun(n) {
  const { default: autocannon } = await import('autocannon');
  return new Promise((resolve, reject) => {
    let ok = 0;
    let non2xx = 0;
    let errors = 0;
    let ms = 0;
    const t0 = performance.now();
    const seen = () => {
      if (ok + non2xx + errors === n) ms = performance.now() - t0;
    };
    const instance = autocannon(
      { url, connections: concurrency, amount: n, method: 'POST', body: compact, headers },
      (err) => {
        if (err) return reject(err);
        resolve({ count: ok + non2xx + errors, ok, non2xx, errors, ms: ms || performance.now() - t0 });
      },
    );
    instance.on('response', (_client, status) => {
      if (status >= 200 && status < 300) ok++;
      else non2xx++;
      seen();
    });
    instance.on('reqError', () => {
      errors++;
      seen();
    });
  });
}

const run = side === 'tool' ? toolRun : autocannonRun;
if (warm > 0) await run(warm);
const cpu0 = process.cpuUsage();
const result = await run(count);
const cpu = process.cpuUsage(cpu0);
process.stdout.write(`${JSON.stringify({ side, ...result, cpu_ms: (cpu.user + cpu.system) / 1000 })}\n`);
