import { randomBytes } from 'node:crypto';
import { buildEvent, resolveEventType } from '../events/build.js';
import { loadConfig, resolveSettings, type LoadedConfig, type ProjectSettings } from '../config/index.js';
import { displayUrl } from '../delivery/target.js';
import { prepareRequest } from '../delivery/request.js';
import { deliver, type DeliveryResult } from '../delivery/deliver.js';
import { EXIT, usageError } from '../errors.js';
import type { EventType } from '../events/types.js';
import { createOutput, type Output } from '../report/output.js';
import { describeMs, formatDuration } from '../report/format.js';
import {
  attemptRecord,
  countdownText,
  printAttempt,
  printRetryHead,
  printRetryOutcome,
  retrySummaryRecord,
  type RetrySimRun,
} from '../report/retry.js';
import { resolveSecret, warnSecretAccident } from '../secret.js';
import { watchInterrupt } from '../interrupt.js';
import { MAX_TIMER_MS, realClock, runRetries, type Clock, type WaitInfo } from '../retry/index.js';
import {
  buildOptionsFrom,
  eventIdSource,
  positiveInt,
  readFixtureFile,
  timeoutFlag,
  scheduleFlag,
  tlsOptionsFrom,
  withConfigFixture,
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

/** The project settings retry-sim reads (schedule, timeout, routes, secretEnv): flags over the config. */
export function retrySimSettings(options: RetrySimOptions, config?: LoadedConfig): ProjectSettings {
  const flags = {
    to: options.to,
    timeoutMs: timeoutFlag(options.timeout),
    schedule: scheduleFlag(options.schedule),
  };
  return resolveSettings({ flags, config });
}

/**
 * Validates the options into a plan; throws usage errors (exit 2) for anything wrong. Without
 * --to, the event goes to its type's route in the project config, else to the built-in receiver.
 */
export function planRetrySim(
  options: RetrySimOptions,
  fixtureType?: unknown,
  settings: ProjectSettings = retrySimSettings(options),
): RetrySimPlan {
  const name = options.type ?? (typeof fixtureType === 'string' ? fixtureType : DEFAULT_EVENT_TYPE);
  const type = resolveEventType(name);
  const schedule = [...settings.schedule.value];
  const route = options.to === undefined ? settings.route(type) : undefined;
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
  if (route && options.failFirst !== undefined && route.source.kind === 'config') {
    throw usageError(
      `--fail-first only applies to the built-in receiver, and ${route.source.key} in ${route.source.label} sends ` +
        `${type} to ${displayUrl(route.value)}`,
      'make your endpoint fail on its own, or run with --config pointing at a config without that route',
    );
  }
  const speed = parseSpeed(options.speed);
  // A wait longer than one timer holds is refused here (the clock could chain timers, but a
  // run of weeks is a typo, not a test).
  const longest = Math.max(...schedule);
  if (longest / speed > MAX_TIMER_MS) {
    const flags = options.schedule !== undefined ? '--schedule and --speed make' : '--speed makes';
    throw usageError(
      `${flags} the ${formatDuration(longest)} wait ${describeMs(longest / speed)} long; ` +
        `the longest wait is ${MAX_TIMER_MS} ms (about ${describeMs(MAX_TIMER_MS)})`,
      `use --speed ${Math.ceil((longest / MAX_TIMER_MS) * 1000) / 1000} or more`,
    );
  }
  return {
    type,
    schedule,
    speed,
    timeoutMs: settings.timeoutMs.value,
    expect: expect as RetryExpectation,
    url: options.to !== undefined ? settings.target(type).value : route?.value,
    failFirst: positiveInt(options.failFirst, '--fail-first', DEFAULT_FAIL_FIRST, 0),
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

/** The secret: the one given (flag or environment); for the built-in receiver, else one made up (never asked). */
async function secretFor(options: RetrySimOptions, builtIn: boolean, envName: string): Promise<string> {
  if (!builtIn || options.secret !== undefined) return resolveSecret(options.secret, process.env, envName);
  const fromEnv = process.env[envName];
  if (fromEnv) warnSecretAccident(fromEnv, 'env', undefined, envName);
  return fromEnv || `whsec_${randomBytes(18).toString('base64url')}`;
}

/** A one-line countdown on a terminal's stderr, rewritten in place. */
function startCountdown(out: Output, clock: Clock, wait: WaitInfo): () => void {
  const render = () => out.status(countdownText(out, wait, wait.plannedAt - clock.now()));
  render();
  const timer = setInterval(render, 100);
  return () => {
    clearInterval(timer);
    out.status('');
  };
}

export async function runRetrySim(options: RetrySimOptions): Promise<number> {
  const out = createOutput({ json: options.json });
  const fixture = options.fixture ? readFixtureFile(options.fixture) : undefined;
  const settings = retrySimSettings(options, loadConfig({ file: options.config }));
  const plan = planRetrySim(options, fixture?.type, settings);
  const builtIn = plan.url === undefined;
  const secret = await secretFor(options, builtIn, settings.secretEnv.value);
  const event = buildEvent(
    plan.type,
    withConfigFixture(buildOptionsFrom(options, fixture), settings.fixture(plan.type)),
  );
  const tls = tlsOptionsFrom(options, out.note);
  const clock = options.clock;
  const interrupt = watchInterrupt();
  let receiver: BuiltInReceiver | undefined;
  let stopCountdown: (() => void) | undefined;
  const stop = () => {
    stopCountdown?.();
    stopCountdown = undefined;
  };
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
    const run: RetrySimRun = { ...plan, req, url, builtIn };
    printRetryHead(out, run, { timeoutMs: plan.timeoutMs, secret });
    const countdown = !out.json && out.statusLine;
    let startedAt = 0;
    const result = await runRetries<DeliveryResult>({
      attempt: () => {
        stop();
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
    stop();
    out.record(retrySummaryRecord(run, result));
    printRetryOutcome(out, run, result);
    if (result.outcome === 'interrupted') return EXIT.interrupted;
    return result.outcome === plan.expect ? EXIT.ok : EXIT.failed;
  } finally {
    stop();
    interrupt.dispose();
    await receiver?.close();
  }
}
