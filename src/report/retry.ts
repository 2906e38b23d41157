import type { DeliveryResult } from '../delivery/deliver.js';
import type { WebhookRequest } from '../delivery/request.js';
import { displayUrl } from '../delivery/target.js';
import type { AttemptReport, RetryRunResult, WaitInfo } from '../retry/run.js';
import { describeResponse } from './delivery.js';
import {
  formatCountdown,
  formatMs,
  formatOffset,
  formatSchedule,
  formatTimeOfDay,
  formatWallDuration,
  isoTime,
  maskSecret,
  plural,
  roundTo,
} from './format.js';
import type { Output } from './output.js';
import { safeText } from './text.js';

/** The NDJSON shape of one attempt (documented in the README; keep it stable). */
export function attemptRecord(req: WebhookRequest, a: AttemptReport<DeliveryResult>, startedAt: number) {
  const res = a.outcome;
  return {
    type: 'attempt',
    attempt: a.attempt,
    of: a.of,
    event_type: req.eventType,
    event_id: req.eventId,
    url: displayUrl(req.url),
    delay_ms: a.delayMs,
    wait_ms: roundTo(a.waitMs, 3),
    planned_offset_ms: a.plannedOffsetMs,
    planned_offset: formatOffset(a.plannedOffsetMs),
    planned_at: isoTime(a.plannedAt),
    actual_at: isoTime(a.actualAt),
    planned_wall_ms: roundTo(a.plannedAt - startedAt, 2),
    actual_wall_ms: roundTo(a.actualAt - startedAt, 2),
    drift_ms: roundTo(a.driftMs, 2),
    ok: res.ok,
    status: res.status ?? null,
    error: res.error ?? null,
    latency_ms: roundTo(a.latencyMs),
    response_body: res.responseBody ?? null,
    location: res.location ?? null,
    interrupted: a.interrupted,
  };
}

/** What a retry-sim run was asked for, as its summary record and lines name it. */
export interface RetrySimRun {
  req: WebhookRequest;
  url: string;
  builtIn: boolean;
  schedule: readonly number[];
  speed: number;
  expect: 'delivered' | 'failed';
  /** With the built-in receiver: how many attempts it fails first. */
  failFirst?: number;
}

/** The NDJSON summary of a retry-sim run (documented in the README; keep it stable). */
export function retrySummaryRecord(run: RetrySimRun, result: RetryRunResult<DeliveryResult>) {
  const last = result.attempts[result.attempts.length - 1];
  return {
    type: 'summary',
    outcome: result.outcome,
    delivered_on: result.deliveredOn ?? null,
    attempts: result.attempts.length,
    max_attempts: result.maxAttempts,
    event_type: run.req.eventType,
    event_id: run.req.eventId,
    url: displayUrl(run.url),
    receiver: run.builtIn ? 'built-in' : 'target',
    speed: run.speed,
    schedule: formatSchedule(run.schedule),
    schedule_ms: run.schedule,
    facesign_elapsed_ms: last?.plannedOffsetMs ?? 0,
    elapsed_ms: roundTo(result.elapsedMs),
    max_drift_ms: roundTo(result.maxDriftMs, 2),
    expected: run.expect,
    met: result.outcome === run.expect,
  };
}

const COLUMNS = ['#', 'FaceSign', 'planned', 'actual', 'drift', 'latency', 'result'] as const;
const WIDTHS = [3, 11, 13, 13, 9, 9];

function row(cells: string[]): string {
  return cells.map((cell, i) => (i < WIDTHS.length ? cell.padEnd(WIDTHS[i]!) : cell)).join(' ');
}

/** The attempts table's column titles, aligned like the rows. */
export function attemptHeader(): string {
  return row([...COLUMNS]);
}

/** One row of the attempts table (also used by `demo`). */
export function printAttempt(out: Output, a: AttemptReport<DeliveryResult>, indent = ''): void {
  const { c } = out;
  const mark = a.outcome.ok ? c.green('✔') : a.interrupted ? c.yellow('–') : c.red('✘');
  const result = a.interrupted ? c.yellow('interrupted') : describeResponse(out, a.outcome);
  const cells = [
    String(a.attempt),
    formatOffset(a.plannedOffsetMs),
    formatTimeOfDay(a.plannedAt),
    formatTimeOfDay(a.actualAt),
    formatMs(a.driftMs),
    formatMs(a.latencyMs),
  ];
  out.line(`${indent}${mark} ${row(cells)} ${result}`);
}

/** The run's head: what is sent where, on which schedule, and the table's titles. */
export function printRetryHead(out: Output, run: RetrySimRun, extra: { timeoutMs: number; secret: string }): void {
  const { c } = out;
  const { req, schedule, speed } = run;
  const pace = speed === 1 ? ', real time' : `, ×${speed} faster`;
  const to = safeText(displayUrl(run.url));
  out.line(`${c.bold('retry-sim')} ${c.bold(req.eventType)} ${c.dim(safeText(req.eventId))} → ${to}`);
  out.line(
    c.dim(
      `schedule ${formatSchedule(schedule)} (up to ${schedule.length + 1} attempts, ` +
        `each delay from the end of the attempt before)${pace}; ` +
        `timeout ${formatMs(extra.timeoutMs)} per attempt (real time)`,
    ),
  );
  if (run.builtIn) {
    out.note(
      out.ce.dim(
        `built-in receiver at ${run.url}: fails the first ${plural(run.failFirst ?? 0, 'attempt')} with a 500; ` +
          `secret ${maskSecret(extra.secret)}`,
      ),
    );
  }
  out.line(c.dim(`  ${attemptHeader()}`));
}

/** The countdown to the next attempt, for a terminal's stderr status line. */
export function countdownText(out: Output, wait: WaitInfo, leftMs: number): string {
  return out.ce.dim(
    `next: attempt ${wait.attempt} (FaceSign ${formatOffset(wait.plannedOffsetMs)}) ` +
      `in ${formatCountdown(Math.max(0, leftMs))} — Ctrl-C to stop`,
  );
}

/** The run's last line: delivered, marked failed, or interrupted, against what was expected. */
export function printRetryOutcome(out: Output, run: RetrySimRun, result: RetryRunResult<DeliveryResult>): void {
  const { c } = out;
  const n = result.attempts.length;
  const facesignMs = result.attempts[n - 1]?.plannedOffsetMs ?? 0;
  const mark = result.outcome === run.expect ? c.green('✔') : c.red('✘');
  const wall = `${formatWallDuration(result.elapsedMs)} wall`;
  const drift = `worst drift ${formatMs(result.maxDriftMs)}`;
  const expectNote = run.expect === 'failed' ? c.dim(` (expected: ${run.expect})`) : '';
  if (result.outcome === 'delivered') {
    out.line(
      `${mark} delivered on attempt ${result.deliveredOn} of ${result.maxAttempts} after ` +
        `${formatOffset(facesignMs).slice(1)} on FaceSign's clock (${wall}; ${drift})${expectNote}`,
    );
  } else if (result.outcome === 'failed') {
    out.line(
      `${mark} marked failed after ${n} attempts at FaceSign ${formatOffset(facesignMs)} (${wall}; ${drift}): ` +
        `FaceSign would not retry again${expectNote}`,
    );
  } else {
    const tail = n + 1 <= result.maxAttempts ? `; attempt ${n + 1} would have come next` : '';
    out.line(c.yellow(`interrupted after ${plural(n, 'attempt')} (${wall})${tail}`));
  }
}
