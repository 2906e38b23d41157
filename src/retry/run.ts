import { realClock, type Clock } from './clock.js';
import { DEFAULT_SCHEDULE, planRetries } from './schedule.js';

/** What an attempt must report: whether it succeeded (for FaceSign, any 2xx). */
export interface AttemptOutcome {
  ok: boolean;
}

/** One attempt as it happened. Times are the clock's (ms since the epoch); durations in ms. */
export interface AttemptReport<O extends AttemptOutcome = AttemptOutcome> {
  attempt: number;
  /** The most attempts the schedule allows (1 + its length). */
  of: number;
  /** The scheduled delay before this attempt on FaceSign's clock (0 for attempt 1). */
  delayMs: number;
  /** That delay compressed by the speed: what the runner actually waited for. */
  waitMs: number;
  /** When FaceSign would make this attempt, from the first one, if attempts took no time. */
  plannedOffsetMs: number;
  /** When this attempt should start on the wall clock: the end of the previous one plus `waitMs`. */
  plannedAt: number;
  /** When it did start. */
  actualAt: number;
  /** `actualAt - plannedAt`. */
  driftMs: number;
  endedAt: number;
  latencyMs: number;
  outcome: O;
  /** The run was interrupted while this attempt was in flight (its outcome is then not a verdict). */
  interrupted: boolean;
}

/** Announced before each wait, so a caller can show a countdown. */
export interface WaitInfo {
  /** The attempt that comes after the wait. */
  attempt: number;
  delayMs: number;
  waitMs: number;
  plannedOffsetMs: number;
  plannedAt: number;
}

export type RetryOutcome = 'delivered' | 'failed' | 'interrupted';

export interface RetryRunResult<O extends AttemptOutcome = AttemptOutcome> {
  outcome: RetryOutcome;
  attempts: AttemptReport<O>[];
  maxAttempts: number;
  /** The attempt that succeeded, when one did. */
  deliveredOn?: number;
  speed: number;
  schedule: number[];
  startedAt: number;
  endedAt: number;
  elapsedMs: number;
  /** The largest |drift| over the attempts (0 with none). */
  maxDriftMs: number;
}

export interface RunRetriesOptions<O extends AttemptOutcome> {
  /** Makes attempt `n` (1-based). Every attempt should send the identical request. */
  attempt: (n: number) => Promise<O>;
  /** Delays in ms before retry 1, 2, …; FaceSign's by default. */
  schedule?: readonly number[];
  /** Divides every delay: 1 is real time, 3600 turns an hour into a second. */
  speed?: number;
  clock?: Clock;
  /** Stops the run between or during attempts. */
  signal?: AbortSignal;
  onAttempt?: (report: AttemptReport<O>) => void;
  onWait?: (wait: WaitInfo) => void;
}

/**
 * Delivers on the schedule: attempt 1, then while attempts fail, wait `delay / speed` counted from
 * the end of the previous attempt and try again; stop at the first success or after the last retry.
 * Only the waits are compressed; an attempt takes the time it takes.
 */
export async function runRetries<O extends AttemptOutcome>(options: RunRetriesOptions<O>): Promise<RetryRunResult<O>> {
  const schedule = [...(options.schedule ?? DEFAULT_SCHEDULE)];
  const plan = planRetries(schedule);
  const speed = options.speed ?? 1;
  if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError(`speed must be a positive number (got ${speed})`);
  const clock = options.clock ?? realClock;
  const { signal } = options;
  const attempts: AttemptReport<O>[] = [];
  const startedAt = clock.now();
  let outcome: RetryOutcome = 'failed';
  let plannedAt = startedAt;

  for (const step of plan) {
    const waitMs = step.delayMs / speed;
    if (step.attempt > 1) {
      const previousEnd = attempts[attempts.length - 1]!.endedAt;
      plannedAt = previousEnd + waitMs;
      options.onWait?.({
        attempt: step.attempt,
        delayMs: step.delayMs,
        waitMs,
        plannedOffsetMs: step.offsetMs,
        plannedAt,
      });
      // Sleep to the planned instant, not for waitMs: time spent reporting must not add drift.
      await clock.sleep(Math.max(0, plannedAt - clock.now()), signal);
    }
    if (signal?.aborted) {
      outcome = 'interrupted';
      break;
    }
    const actualAt = clock.now();
    const result = await options.attempt(step.attempt);
    const endedAt = clock.now();
    const interrupted = Boolean(signal?.aborted) && !result.ok;
    const report: AttemptReport<O> = {
      attempt: step.attempt,
      of: plan.length,
      delayMs: step.delayMs,
      waitMs,
      plannedOffsetMs: step.offsetMs,
      plannedAt,
      actualAt,
      driftMs: actualAt - plannedAt,
      endedAt,
      latencyMs: endedAt - actualAt,
      outcome: result,
      interrupted,
    };
    attempts.push(report);
    options.onAttempt?.(report);
    if (result.ok) {
      outcome = 'delivered';
      break;
    }
    if (interrupted) {
      outcome = 'interrupted';
      break;
    }
  }

  const endedAt = clock.now();
  return {
    outcome,
    attempts,
    maxAttempts: plan.length,
    deliveredOn: outcome === 'delivered' ? attempts[attempts.length - 1]!.attempt : undefined,
    speed,
    schedule,
    startedAt,
    endedAt,
    elapsedMs: endedAt - startedAt,
    maxDriftMs: attempts.reduce((max, a) => Math.max(max, Math.abs(a.driftMs)), 0),
  };
}
