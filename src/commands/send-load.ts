import { buildEvent } from '../events/build.js';
import { EVENT_TYPES, type EventType } from '../events/types.js';
import { prepareRequest } from '../delivery/request.js';
import { displayUrl, urlCredentials } from '../delivery/target.js';
import { runWireLoad, wireRequestFactory, wireTarget, type LoadReport } from '../delivery/load.js';
import type { Expectation } from '../delivery/expect.js';
import { EXIT } from '../errors.js';
import { formatMs, type Output } from '../report/output.js';
import { safeText } from '../report/text.js';
import { watchInterrupt } from '../interrupt.js';
import type { BuildOptions } from '../events/build.js';
import type { SendOptions } from './send.js';

export interface LoadCommandInput {
  out: Output;
  types: EventType[];
  url: string;
  secret: string;
  build: BuildOptions;
  count: number;
  concurrency: number;
  timeoutMs: number;
  expect: Expectation;
  options: SendOptions;
}

/**
 * Keeps a long run's memory flat. Nothing is kept per request (after a full GC the live heap is
 * ~9 MiB whether 2,000 or 100,000 requests were sent), but V8 grows its young generation with the
 * allocation rate and collects old garbage lazily, so peak RSS still climbed with the count
 * (73 → 125 MiB from 2,000 to 200,000 requests). Pinning the young generation's size and running a
 * full collection once a second keeps it level at the same request rate.
 */
async function boundHeap(): Promise<() => void> {
  const { setFlagsFromString } = await import('node:v8');
  const { runInNewContext } = await import('node:vm');
  setFlagsFromString('--semi-space-growth-factor=1');
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
  if (typeof gc !== 'function') return () => undefined;
  const timer = setInterval(() => (gc as () => void)(), 1_000);
  timer.unref();
  return () => clearInterval(timer);
}

/** The load mode of `send`: N distinct signed events over a pool; rates, percentiles, status counts. */
export async function runLoadMode(input: LoadCommandInput): Promise<number> {
  const { out, types, count, concurrency } = input;
  // One template per type; ids are spliced in per request so nothing grows with the count.
  const target = wireTarget(input.url);
  // A user:password@ in the URL goes out as Basic auth, as for single deliveries (deliver.ts).
  const credentials = urlCredentials(input.url);
  const headers = [...(input.options.header ?? [])];
  if (credentials && !headers.some((h) => /^\s*authorization\s*:/i.test(h))) {
    headers.push(
      `Authorization: Basic ${Buffer.from(`${credentials.user}:${credentials.password}`, 'utf8').toString('base64')}`,
    );
  }
  const factories = types.map((type) =>
    wireRequestFactory(
      prepareRequest(buildEvent(type, { ...input.build, eventId: undefined }), {
        url: input.url,
        secret: input.secret,
        signature: input.options.signature,
        headers,
        fromIp: input.options.fromIp,
      }),
      input.secret,
      target,
    ),
  );
  let n = 0;
  const next = () => factories[n++ % factories.length]!();
  out.note(
    out.ce.dim(
      `sending ${count} ${types.length === EVENT_TYPES.length ? 'events (all six types)' : types[0]} to ${displayUrl(input.url)}, ${concurrency} at a time…`,
    ),
  );
  const interrupt = watchInterrupt();
  const releaseHeap = await boundHeap();
  let report: LoadReport;
  try {
    report = await runWireLoad(target, next, {
      count,
      concurrency,
      timeoutMs: input.timeoutMs,
      signal: interrupt.signal,
      cutOnAbort: true,
    });
  } finally {
    releaseHeap();
    interrupt.dispose();
  }
  const met = Object.entries(report.statuses).reduce(
    (sum, [key, n]) => (input.expect.matches(Number(key)) ? sum + n : sum),
    0,
  );
  const delivered = Object.entries(report.statuses).reduce(
    (sum, [key, n]) => (key.startsWith('error:') ? sum : sum + n),
    0,
  );
  const round = (x: number) => Math.round(x * 100) / 100;
  out.record({
    type: 'load',
    url: displayUrl(input.url),
    sent: report.sent,
    delivered,
    ok: report.ok,
    met,
    expected: input.expect.label,
    count,
    concurrency,
    duration_ms: round(report.durationMs),
    requests_per_second: round(report.requestsPerSecond),
    latency_ms: {
      p50: round(report.latency.p50),
      p95: round(report.latency.p95),
      p99: round(report.latency.p99),
      max: round(report.latency.max),
      mean: round(report.latency.mean),
    },
    statuses: report.statuses,
    errors: report.errors,
    interrupted: report.interrupted,
  });
  printLoadReport(out, report, { count, concurrency, delivered, met, expected: input.expect.label });
  if (report.interrupted) return EXIT.interrupted;
  return report.sent - met > 0 || report.sent === 0 ? EXIT.failed : EXIT.ok;
}

/**
 * The human summary. When nothing got an HTTP answer there are no rates or latencies to speak of,
 * only why: `0 of 200 delivered: connection refused at 127.0.0.1:1 — is the server running?`.
 */
function printLoadReport(
  out: Output,
  report: LoadReport,
  s: { count: number; concurrency: number; delivered: number; met: number; expected: string },
): void {
  const { c } = out;
  const errorKinds = Object.entries(report.errors).sort(
    ([a], [b]) => (report.statuses[b] ?? 0) - (report.statuses[a] ?? 0),
  );
  const stop = report.interrupted ? c.yellow(`interrupted after ${report.sent} of ${s.count}`) : '';
  if (s.delivered === 0) {
    const why = errorKinds[0] ? `: ${safeText(errorKinds[0][1])}` : '';
    out.line(c.red(`0 of ${report.sent} delivered${why}`));
    for (const [key, message] of errorKinds.slice(1))
      out.line(c.red(`  ${report.statuses[key]}× ${safeText(message)}`));
    if (stop) out.line(stop);
    return;
  }
  out.line(
    `${c.bold(String(report.sent))} requests in ${formatMs(report.durationMs)} — ${c.bold(report.requestsPerSecond.toFixed(0))} req/s, ${s.concurrency} concurrent`,
  );
  out.line(
    `latency  p50 ${formatMs(report.latency.p50)}  p95 ${formatMs(report.latency.p95)}  p99 ${formatMs(report.latency.p99)}  max ${formatMs(report.latency.max)}`,
  );
  out.line(
    `statuses ${Object.entries(report.statuses)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ')}`,
  );
  if (errorKinds.length > 0) {
    out.line(c.red(`${report.sent - s.delivered} of ${report.sent} got no HTTP answer:`));
    for (const [key, message] of errorKinds) out.line(c.red(`  ${report.statuses[key]}× ${safeText(message)}`));
  }
  const missed = report.sent - s.met;
  out.line(
    missed
      ? c.red(`${missed} of ${report.sent} did not meet ${s.expected}`)
      : c.green(`all ${report.sent} met ${s.expected}`),
  );
  if (stop) out.line(stop);
}
