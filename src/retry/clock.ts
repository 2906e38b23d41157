/** Time as the retry runner sees it, so tests can run a 72-minute schedule instantly. */
export interface Clock {
  /** Milliseconds since the epoch, with sub-millisecond precision where the clock has it. */
  now(): number;
  /**
   * Resolves once `ms` have passed, or early (without throwing) when `signal` aborts: callers
   * check `signal.aborted` afterwards.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * How long before the target the coarse timer hands over to the fine wait. Node's timers fire a
 * millisecond or a few late; polling the last stretch removes that. Not longer: on a busy machine a
 * long poll gets the process preempted by the OS, which costs more than it saves.
 */
export const FINE_WAIT_MS = 10;

/**
 * The longest delay one setTimeout holds (2^31-1 ms, about 24.8 days); a longer one fires after
 * 1 ms. Longer sleeps chain timers of at most this length.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

function performanceNow(): number {
  return performance.timeOrigin + performance.now();
}

/** The real clock: monotonic time anchored to the epoch, with accurate sleeping (`fineWaitMs` is for experiments). */
export function createRealClock(options: { fineWaitMs?: number } = {}): Clock {
  const fineWaitMs = options.fineWaitMs ?? FINE_WAIT_MS;
  return {
    now: performanceNow,
    sleep(ms, signal) {
      const target = performanceNow() + ms;
      if (!(ms > 0) || signal?.aborted) return Promise.resolve();
      return new Promise<void>((resolve) => {
        let timer: NodeJS.Timeout | undefined;
        let immediate: NodeJS.Immediate | undefined;
        const done = () => {
          if (timer) clearTimeout(timer);
          if (immediate) clearImmediate(immediate);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        // setImmediate yields to I/O between checks, unlike a busy loop, and wakes within a tick.
        const poll = () => {
          immediate = undefined;
          if (performanceNow() >= target) done();
          else immediate = setImmediate(poll);
        };
        const arm = () => {
          const coarse = target - performanceNow() - fineWaitMs;
          if (coarse > MAX_TIMER_MS) timer = setTimeout(arm, MAX_TIMER_MS);
          else if (coarse > 0) timer = setTimeout(poll, coarse);
          else poll();
        };
        signal?.addEventListener('abort', done, { once: true });
        arm();
      });
    },
  };
}

/** The shared real clock. */
export const realClock: Clock = createRealClock();

/** A clock that only moves when told to: `sleep` jumps forward at once, `advance` simulates work. */
export interface FakeClock extends Clock {
  /** Moves time forward, e.g. to stand for an attempt's latency. */
  advance(ms: number): void;
  /** Every sleep asked for, in order (ms). */
  readonly sleeps: number[];
}

/**
 * `oversleepMs` makes every sleep end that much late, to exercise drift reporting.
 */
export function createFakeClock(start = Date.UTC(2026, 0, 1), options: { oversleepMs?: number } = {}): FakeClock {
  let current = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => current,
    advance(ms) {
      current += ms;
    },
    async sleep(ms, signal) {
      sleeps.push(ms);
      if (signal?.aborted) return;
      current += Math.max(0, ms) + (ms > 0 ? (options.oversleepMs ?? 0) : 0);
      await Promise.resolve();
    },
  };
}
