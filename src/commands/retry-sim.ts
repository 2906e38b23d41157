import { randomBytes } from 'node:crypto';
import { buildEvent, resolveEventType } from '../events/build.js';
import { displayUrl, resolveTarget } from '../delivery/target.js';
import { prepareRequest, type WebhookRequest } from '../delivery/request.js';
import { deliver, DEFAULT_TIMEOUT_MS, type DeliverOptions, type DeliveryResult } from '../delivery/deliver.js';
import { EXIT, usageError } from '../errors.js';
import type { EventType } from '../events/types.js';
import { createOutput, formatMs, maskSecret, type Output } from '../report/output.js';
import { describeResponse } from '../report/delivery.js';
import { safeText } from '../report/text.js';
import { resolveSecret, SECRET_ENV, warnSecretAccident } from '../secret.js';
import { watchInterrupt } from '../interrupt.js';
import {
  DEFAULT_SCHEDULE,
  MAX_TIMER_MS,
  ScheduleError,
  formatDuration,
  formatOffset,
  formatSchedule,
  parseSchedule,
  realClock,
  runRetries,
  type AttemptReport,
  type Clock,
  type RetryRunResult,
  type WaitInfo,
} from '../retry/index.js';
import {
  buildOptionsFrom,
  describeMs,
  eventIdSource,
  positiveInt,
  readFixtureFile,
  timeoutFlag,
  tlsOptionsFrom,
  type EventFlags,
  type SendFlags,
} from './shared.js';

export const RETRY_EXPECTATIONS = ['delivered', 'failed'] as const;
export type RetryExpectation = (typeof RETRY_EXPECTATIONS)[number];
export const DEFAULT_FAIL_FIRST = 3;
export const DEFAULT_EVENT_TYPE = 'session.verified';

export interface RetrySimOptions extends EventFlags, SendFlags {
  /** An event type or its short name; session.verified by default. */
  type?: string;
  /** Divides every delay (1 = real time). */
  speed?: number | string;
  /** Replaces FaceSign's delays, e.g. `5s,30s,2m,10m,1h`. */
  schedule?: string;
  /** What the exit code asks for: delivered (default) or failed. */
  expect?: string;
  /** For the built-in receiver (no `to`): how many attempts it fails with a 500 first. */
  failFirst?: number | string;
  /** The clock to run on (tests); the real one by default. */
  clock?: Clock;
}

/** Everything a run needs, validated; no I/O yet. */
export interface RetrySimPlan {
  type: EventType;
  schedule: number[];
  speed: number;
  timeoutMs: number;
  expect: RetryExpectation;
  /** A target URL, or undefined for the built-in receiver. */
  url?: string;
  failFirst: number;
}

function parseSpeed(value: number | string | undefined): number {
  if (value === undefined) return 1;
  const n = typeof value === 'number' ? value : Number(String(value).trim());
  if (String(value).trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw usageError(
      `--speed must be a positive number (got "${value}")`,
      'e.g. --speed 1000 (an hour becomes 3.6 s) or --speed 3600 (an hour becomes a second)',
    );
  }
  return n;
}

/** Validates the options into a plan; throws usage errors (exit 2) for anything wrong. */
export function planRetrySim(options: RetrySimOptions, fixtureType?: unknown): RetrySimPlan {
  const name = options.type ?? (typeof fixtureType === 'string' ? fixtureType : DEFAULT_EVENT_TYPE);
  const type = resolveEventType(name);
  let schedule = [...DEFAULT_SCHEDULE];
  if (options.schedule !== undefined) {
    try {
      schedule = parseSchedule(options.schedule);
    } catch (err) {
      if (err instanceof ScheduleError) throw usageError(`--schedule "${options.schedule}": ${err.message}`, err.hint);
      throw err;
    }
  }
  const expect = (options.expect ?? 'delivered').trim().toLowerCase();
  if (!(RETRY_EXPECTATIONS as readonly string[]).includes(expect)) {
    throw usageError(
      `bad --expect "${options.expect}"`,
      'use delivered (exit 0 when an attempt succeeds) or failed (exit 0 when the delivery is marked failed)',
    );
  }
  if (options.to !== undefined && options.failFirst !== undefined) {
    throw usageError(
      '--fail-first only applies to the built-in receiver',
      'drop --to to run against the built-in receiver, or make your endpoint fail on its own',
    );
  }
  const speed = parseSpeed(options.speed);
  // A wait longer than one timer holds is refused here (the clock could chain timers, but a
  // run of weeks is a typo, not a test).
  const longest = Math.max(...schedule);
  if (longest / speed > MAX_TIMER_MS) {
    const flags = options.schedule !== undefined ? '--schedule and --speed make' : '--speed makes';
    throw usageError(
      `${flags} the ${formatDuration(longest)} wait ${describeMs(longest / speed)} long; the longest wait is ${MAX_TIMER_MS} ms (about ${describeMs(MAX_TIMER_MS)})`,
      `use --speed ${Math.ceil((longest / MAX_TIMER_MS) * 1000) / 1000} or more`,
    );
  }
  return {
    type,
    schedule,
    speed,
    timeoutMs: timeoutFlag(options.timeout, DEFAULT_TIMEOUT_MS),
    expect: expect as RetryExpectation,
    url: options.to !== undefined ? resolveTarget(options.to) : undefined,
    failFirst: positiveInt(options.failFirst, '--fail-first', DEFAULT_FAIL_FIRST, 0),
  };
}

export interface SimulateRetriesOptions {
  /** Delays in ms before each retry; FaceSign's by default. */
  schedule?: readonly number[];
  speed?: number;
  /** Response deadline per attempt, in real time (never compressed). */
  timeoutMs?: number;
  clock?: Clock;
  signal?: AbortSignal;
  onAttempt?: (report: AttemptReport<DeliveryResult>) => void;
  onWait?: (wait: WaitInfo) => void;
  /** Sent through this undici Dispatcher; see `deliver`. */
  dispatcher?: DeliverOptions['dispatcher'];
  insecure?: boolean;
  ca?: DeliverOptions['ca'];
}

/**
 * Delivers one prepared request on FaceSign's retry schedule: the identical bytes, signature and
 * event id every attempt, until a 2xx or the last retry.
 */
export function simulateRetries(
  req: WebhookRequest,
  options: SimulateRetriesOptions = {},
): Promise<RetryRunResult<DeliveryResult>> {
  return runRetries<DeliveryResult>({
    attempt: () =>
      deliver(req, {
        dispatcher: options.dispatcher,
        insecure: options.insecure,
        ca: options.ca,
        timeoutMs: options.timeoutMs,
        signal: options.signal,
      }),
    schedule: options.schedule,
    speed: options.speed,
    clock: options.clock,
    signal: options.signal,
    onAttempt: options.onAttempt,
    onWait: options.onWait,
  });
}

const round = (n: number, places = 1) => Math.round(n * 10 ** places) / 10 ** places;

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
    wait_ms: round(a.waitMs, 3),
    planned_offset_ms: a.plannedOffsetMs,
    planned_offset: formatOffset(a.plannedOffsetMs),
    planned_at: new Date(a.plannedAt).toISOString(),
    actual_at: new Date(a.actualAt).toISOString(),
    planned_wall_ms: round(a.plannedAt - startedAt, 2),
    actual_wall_ms: round(a.actualAt - startedAt, 2),
    drift_ms: round(a.driftMs, 2),
    ok: res.ok,
    status: res.status ?? null,
    error: res.error ?? null,
    latency_ms: round(a.latencyMs),
    response_body: res.responseBody ?? null,
    location: res.location ?? null,
    interrupted: a.interrupted,
  };
}

/** `12:04:05.123`, local time. */
function timeOfDay(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function wallDuration(ms: number): string {
  if (ms < 1_000) return formatMs(ms);
  if (ms < 60_000) return `${(ms / 1_000).toFixed(2)} s`;
  return formatOffset(Math.round(ms)).slice(1);
}

const COLUMNS = ['#', 'FaceSign', 'planned', 'actual', 'drift', 'latency', 'result'] as const;
const WIDTHS = [3, 11, 13, 13, 9, 9];

function row(cells: string[]): string {
  return cells.map((cell, i) => (i < WIDTHS.length ? cell.padEnd(WIDTHS[i]!) : cell)).join(' ');
}

/** The table's column titles, aligned like the rows. */
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
    timeOfDay(a.plannedAt),
    timeOfDay(a.actualAt),
    formatMs(a.driftMs),
    formatMs(a.latencyMs),
  ];
  out.line(`${indent}${mark} ${row(cells)} ${result}`);
}

/** A one-line countdown on a terminal's stderr, rewritten in place. */
function startCountdown(out: Output, clock: Clock, wait: WaitInfo): () => void {
  const render = () => {
    const left = Math.max(0, wait.plannedAt - clock.now());
    const shown =
      left < 60_000 ? `${(left / 1_000).toFixed(1)} s` : formatOffset(Math.ceil(left / 1_000) * 1_000).slice(1);
    process.stderr.write(
      `\r\x1b[2K${out.ce.dim(`next: attempt ${wait.attempt} (FaceSign ${formatOffset(wait.plannedOffsetMs)}) in ${shown} — Ctrl-C to stop`)}`,
    );
  };
  render();
  const timer = setInterval(render, 100);
  return () => {
    clearInterval(timer);
    process.stderr.write('\r\x1b[2K');
  };
}

interface BuiltInReceiver {
  url: string;
  close(): Promise<void>;
}

async function openBuiltInReceiver(secret: string, failFirst: number): Promise<BuiltInReceiver> {
  const { startReceiver } = await import('../receiver/server.js');
  return startReceiver({ secret, port: 0, failFirst });
}

export async function runRetrySim(options: RetrySimOptions): Promise<number> {
  const out = createOutput({ json: options.json });
  const fixture = options.fixture ? readFixtureFile(options.fixture) : undefined;
  const plan = planRetrySim(options, fixture?.type);
  const builtIn = plan.url === undefined;
  // The built-in receiver needs no real secret: use the given one, else make one up (never prompt).
  const fromEnv = process.env[SECRET_ENV];
  if (builtIn && options.secret === undefined && fromEnv) warnSecretAccident(fromEnv, 'env');
  const secret =
    builtIn && options.secret === undefined
      ? fromEnv || `whsec_${randomBytes(18).toString('base64url')}`
      : await resolveSecret(options.secret);
  const event = buildEvent(plan.type, buildOptionsFrom(options, fixture));
  const tls = tlsOptionsFrom(options, out.note);
  const clock = options.clock;
  const interrupt = watchInterrupt();
  let receiver: BuiltInReceiver | undefined;
  let stopCountdown: (() => void) | undefined;
  try {
    receiver = builtIn ? await openBuiltInReceiver(secret, plan.failFirst) : undefined;
    const url = plan.url ?? receiver!.url;
    const req = prepareRequest(event, {
      url,
      secret,
      headers: options.header,
      fromIp: options.fromIp,
      eventIdSource: eventIdSource(options, fixture),
    });
    const maxAttempts = plan.schedule.length + 1;
    const { c } = out;

    out.line(
      `${c.bold('retry-sim')} ${c.bold(req.eventType)} ${c.dim(safeText(req.eventId))} → ${safeText(displayUrl(url))}`,
    );
    out.line(
      c.dim(
        `schedule ${formatSchedule(plan.schedule)} (up to ${maxAttempts} attempts, each delay from the end of the attempt before)` +
          `${plan.speed === 1 ? ', real time' : `, ×${plan.speed} faster`}; timeout ${formatMs(plan.timeoutMs)} per attempt (real time)`,
      ),
    );
    if (receiver) {
      out.note(
        out.ce.dim(
          `built-in receiver at ${url}: fails the first ${plan.failFirst} attempt${plan.failFirst === 1 ? '' : 's'} with a 500; secret ${maskSecret(secret)}`,
        ),
      );
    }
    out.line(c.dim(`  ${attemptHeader()}`));

    const countdown = !out.json && Boolean(process.stderr.isTTY);
    let startedAt = 0;
    const result = await runRetries<DeliveryResult>({
      attempt: () => {
        stopCountdown?.();
        stopCountdown = undefined;
        return deliver(req, { ...tls, timeoutMs: plan.timeoutMs, signal: interrupt.signal });
      },
      schedule: plan.schedule,
      speed: plan.speed,
      clock,
      signal: interrupt.signal,
      onAttempt: (a) => {
        if (a.attempt === 1) startedAt = a.plannedAt;
        out.record(attemptRecord(req, a, startedAt));
        printAttempt(out, a);
      },
      onWait: countdown ? (wait) => (stopCountdown = startCountdown(out, clock ?? realClock, wait)) : undefined,
    });
    stopCountdown?.();
    stopCountdown = undefined;

    const last = result.attempts[result.attempts.length - 1];
    const facesignMs = last?.plannedOffsetMs ?? 0;
    const met = result.outcome === plan.expect;
    out.record({
      type: 'summary',
      outcome: result.outcome,
      delivered_on: result.deliveredOn ?? null,
      attempts: result.attempts.length,
      max_attempts: result.maxAttempts,
      event_type: req.eventType,
      event_id: req.eventId,
      url: displayUrl(url),
      receiver: receiver ? 'built-in' : 'target',
      speed: plan.speed,
      schedule: formatSchedule(plan.schedule),
      schedule_ms: plan.schedule,
      facesign_elapsed_ms: facesignMs,
      elapsed_ms: round(result.elapsedMs),
      max_drift_ms: round(result.maxDriftMs, 2),
      expected: plan.expect,
      met,
    });

    const wall = `${wallDuration(result.elapsedMs)} wall`;
    const expectNote = plan.expect === 'failed' ? c.dim(` (expected: ${plan.expect})`) : '';
    if (result.outcome === 'delivered') {
      const mark = met ? c.green('✔') : c.red('✘');
      out.line(
        `${mark} delivered on attempt ${result.deliveredOn} of ${result.maxAttempts} after ${formatOffset(facesignMs).slice(1)} on FaceSign's clock (${wall}; worst drift ${formatMs(result.maxDriftMs)})${expectNote}`,
      );
    } else if (result.outcome === 'failed') {
      const mark = met ? c.green('✔') : c.red('✘');
      out.line(
        `${mark} marked failed after ${result.attempts.length} attempts at FaceSign ${formatOffset(facesignMs)} (${wall}; worst drift ${formatMs(result.maxDriftMs)}): FaceSign would not retry again${expectNote}`,
      );
    } else {
      const next = result.attempts.length + 1;
      const tail = next <= result.maxAttempts ? `; attempt ${next} would have come next` : '';
      out.line(
        c.yellow(
          `interrupted after ${result.attempts.length} attempt${result.attempts.length === 1 ? '' : 's'} (${wall})${tail}`,
        ),
      );
    }
    if (result.outcome === 'interrupted') return EXIT.interrupted;
    return met ? EXIT.ok : EXIT.failed;
  } finally {
    stopCountdown?.();
    interrupt.dispose();
    await receiver?.close();
  }
}
