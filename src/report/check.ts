import type { CheckCase } from '../check/cases.js';
import type { CaseResult, CheckOutcome } from '../check/judge.js';
import type { CheckReport } from '../check/run.js';
import { displayUrl } from '../delivery/target.js';
import { formatMs, roundTo } from './format.js';
import type { Output } from './output.js';

/** The NDJSON shape of one case (documented in the README; keep it stable). */
export function caseRecord(r: CaseResult) {
  return {
    type: 'case',
    id: r.id,
    title: r.title,
    outcome: r.outcome,
    expected: r.expected,
    happened: r.happened,
    hint: r.hint ?? null,
    note: r.note ?? null,
    duration_ms: roundTo(r.durationMs),
    deliveries: r.deliveries.map((d) => ({
      label: d.label,
      url: displayUrl(d.request.url),
      event_id: d.request.eventId,
      event_type: d.request.eventType,
      signature_mode: d.request.signatureMode,
      status: d.result.status ?? null,
      ok: d.result.ok,
      latency_ms: roundTo(d.result.latencyMs),
      response_body: d.result.responseBody ?? null,
      error: d.result.error ?? null,
    })),
  };
}

/** The NDJSON summary of a check run (documented in the README; keep it stable). */
export function summaryRecord(report: CheckReport) {
  return {
    type: 'summary',
    url: report.url,
    cases: report.cases.length,
    passed: report.passed,
    warned: report.warned,
    failed: report.failed,
    failed_ids: report.failedIds,
    warned_ids: report.cases.filter((r) => r.outcome === 'warn').map((r) => r.id),
    diagnosis: report.diagnosis ?? null,
    summary: report.summary,
    duration_ms: Math.round(report.durationMs),
    interrupted: report.interrupted,
    unreachable: report.unreachable ?? null,
    ok: report.failed === 0 && !report.interrupted && !report.unreachable,
  };
}

/** Prints the table one row at a time, with column widths fixed from the plan. */
export function createCheckTable(out: Output, plan: CheckCase[]) {
  const { c } = out;
  const idWidth = Math.max(4, ...plan.map((p) => p.id.length));
  const expWidth = Math.max(8, ...plan.map((p) => p.expected.length));
  const mark: Record<CheckOutcome, string> = { pass: c.green('PASS'), warn: c.yellow('WARN'), fail: c.red('FAIL') };
  return {
    header() {
      out.line(c.bold(`${'RESULT'}  ${'CASE'.padEnd(idWidth)}  ${'EXPECTED'.padEnd(expWidth)}  HAPPENED`));
    },
    row(r: CaseResult) {
      out.line(`${mark[r.outcome]}    ${r.id.padEnd(idWidth)}  ${r.expected.padEnd(expWidth)}  ${r.happened}`);
      if (r.hint) out.line(`${' '.repeat(8)}${c.dim('hint:')} ${r.hint}`);
      if (r.note) out.line(`${' '.repeat(8)}${c.dim('note:')} ${r.note}`);
    },
  };
}

/** The table's head line: the target, the secret (masked), the timeout and how many cases run. */
export function checkHeadLine(out: Output, s: { url: string; secret: string; timeoutMs: number; of: string }): string {
  return `check ${out.c.bold(s.url)} ${out.c.dim(`(secret ${s.secret}, timeout ${s.timeoutMs} ms, ${s.of} cases)`)}`;
}

/** With per-type routes: each case that goes elsewhere than the default target, and where. */
export function checkRouteLines(out: Output, plan: CheckCase[], defaultUrl: string): string[] {
  const lines: string[] = [];
  for (const c of plan) {
    const url = c.steps[0]?.request.url;
    if (url !== undefined && url !== defaultUrl) lines.push(`  ${out.c.dim(`${c.id} →`)} ${displayUrl(url)}`);
  }
  return lines.length > 0 ? [out.c.dim('  routes (the other cases go to the target above):'), ...lines] : [];
}

/** The secret-mismatch diagnosis, naming where the secret this run signed with came from. */
export function secretMismatchLine(out: Output, source: string): string {
  return out.c.red(
    'the secrets most likely differ: every validly signed event was rejected with 4xx, in every byte form sent, ' +
      `and so was every bad signature. This run signed with ${source}: give check the secret your app verifies with.`,
  );
}

/** `OK: 17 cases, 17 passed, 0 warned, 0 failed in 812 ms`. */
export function checkSummaryLine(out: Output, report: CheckReport): string {
  const { c } = out;
  const n = report.cases.length;
  const parts = [
    c.green(`${report.passed} passed`),
    report.warned ? c.yellow(`${report.warned} warned`) : `0 warned`,
    report.failed ? c.red(`${report.failed} failed`) : '0 failed',
  ];
  const names = report.failedIds.length ? ` (${report.failedIds.join(', ')})` : '';
  const verdict = report.interrupted ? c.yellow('interrupted') : report.failed ? c.red('FAIL') : c.green('OK');
  const cases = `${n} ${n === 1 ? 'case' : 'cases'}`;
  return `${verdict}: ${cases}, ${parts.join(', ')}${names} in ${formatMs(report.durationMs)}`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

const TLS_UNTRUSTED_HINT =
  "the server's certificate is not trusted here (self-signed or a private CA)? " +
  'trust its CA with --ca FILE, or skip the check with --insecure';

/**
 * Why a run could not reach its endpoint at all, in one line and a hint that names the fix
 * (start the app, the other scheme, trust the CA). Undefined when the endpoint was reached.
 */
export function describeUnreachable(report: CheckReport): { message: string; hint?: string } | undefined {
  const error = report.unreachable;
  if (!error) return undefined;
  const kind: string = error.kind;
  const at = `cannot reach ${report.url}`;
  if (kind === 'refused')
    return {
      message:
        `connection refused at ${report.url} — is your app running? ` + 'start it (and wait for its port) before check',
    };
  if (kind === 'tls') {
    // The delivery layer names the case (network-error.ts); the hint says which flag or scheme fixes it.
    if (/answered in plain HTTP/.test(error.message))
      return {
        message: `${at}: the TLS handshake failed (the port answered in plain HTTP)`,
        hint: 'https:// to a plain-HTTP port? use http://',
      };
    if (/ speaks TLS/.test(error.message))
      return { message: `${at}: the port speaks TLS, not plain HTTP`, hint: 'http:// to a TLS port? use https://' };
    const text = oneLine(error.message);
    const reason = /^TLS error talking to [^:]+:\d+: (.*?)(?: — .*)?$/.exec(text)?.[1] ?? text;
    return { message: `${at}: the TLS handshake failed (${reason})`, hint: TLS_UNTRUSTED_HINT };
  }
  if (kind === 'protocol' || error.code?.startsWith('HPE_')) {
    return {
      message: `${at}: the answer is not HTTP/1.x (${oneLine(error.message)})`,
      hint: 'http:// to a TLS port? use https://; else check --to points at your web server, not another service',
    };
  }
  return { message: `${at}: ${oneLine(error.message)}` };
}
