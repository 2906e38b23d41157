import type { LoadReport } from '../delivery/load.js';
import { displayUrl } from '../delivery/target.js';
import { formatMs, roundTo } from './format.js';
import type { Output } from './output.js';
import { safeText } from './text.js';

/** What a load run was asked for, and what it was expected to get. */
export interface LoadRun {
  url: string;
  count: number;
  concurrency: number;
  expected: string;
  /** Whether a status meets the expectation. */
  matches(status: number): boolean;
}

/** How many requests met the expectation, and how many got an HTTP answer at all. */
export function loadTotals(report: LoadReport, run: Pick<LoadRun, 'matches'>) {
  const entries = Object.entries(report.statuses);
  const met = entries.reduce((sum, [key, n]) => (run.matches(Number(key)) ? sum + n : sum), 0);
  const delivered = entries.reduce((sum, [key, n]) => (key.startsWith('error:') ? sum : sum + n), 0);
  return { met, delivered };
}

/** The NDJSON `load` record (documented in the README; keep it stable). */
export function loadRecord(report: LoadReport, run: LoadRun) {
  const { met, delivered } = loadTotals(report, run);
  const round = (x: number) => roundTo(x, 2);
  return {
    type: 'load',
    url: displayUrl(run.url),
    sent: report.sent,
    delivered,
    ok: report.ok,
    met,
    expected: run.expected,
    count: run.count,
    concurrency: run.concurrency,
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
  };
}

/** The line before a run: what goes where, how many at a time. */
export function loadStartNote(out: Output, run: LoadRun, what: string): string {
  return out.ce.dim(`sending ${run.count} ${what} to ${displayUrl(run.url)}, ${run.concurrency} at a time…`);
}

/**
 * The record and the human summary. When nothing got an HTTP answer there are no rates or latencies
 * to speak of, only why: `0 of 200 delivered: connection refused at 127.0.0.1:1 — is the server running?`.
 */
export function printLoadReport(out: Output, report: LoadReport, run: LoadRun): void {
  out.record(loadRecord(report, run));
  const { c } = out;
  const { met, delivered } = loadTotals(report, run);
  const errorKinds = Object.entries(report.errors).sort(
    ([a], [b]) => (report.statuses[b] ?? 0) - (report.statuses[a] ?? 0),
  );
  const errorLine = ([key, message]: [string, string]) => c.red(`  ${report.statuses[key]}× ${safeText(message)}`);
  const stop = report.interrupted ? c.yellow(`interrupted after ${report.sent} of ${run.count}`) : '';
  if (delivered === 0) {
    const why = errorKinds[0] ? `: ${safeText(errorKinds[0][1])}` : '';
    out.line(c.red(`0 of ${report.sent} delivered${why}`));
    for (const kind of errorKinds.slice(1)) out.line(errorLine(kind));
    if (stop) out.line(stop);
    return;
  }
  const { p50, p95, p99, max } = report.latency;
  const rate = c.bold(report.requestsPerSecond.toFixed(0));
  out.line(
    `${c.bold(String(report.sent))} requests in ${formatMs(report.durationMs)} — ${rate} req/s, ` +
      `${run.concurrency} concurrent`,
  );
  out.line(`latency  p50 ${formatMs(p50)}  p95 ${formatMs(p95)}  p99 ${formatMs(p99)}  max ${formatMs(max)}`);
  out.line(
    `statuses ${Object.entries(report.statuses)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ')}`,
  );
  if (errorKinds.length > 0) {
    out.line(c.red(`${report.sent - delivered} of ${report.sent} got no HTTP answer:`));
    for (const kind of errorKinds) out.line(errorLine(kind));
  }
  const missed = report.sent - met;
  out.line(
    missed
      ? c.red(`${missed} of ${report.sent} did not meet ${run.expected}`)
      : c.green(`all ${report.sent} met ${run.expected}`),
  );
  if (stop) out.line(stop);
}
