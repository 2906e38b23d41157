import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SCHEDULE,
  ScheduleError,
  createFakeClock,
  createRealClock,
  formatOffset,
  formatSchedule,
  parseSchedule,
  planRetries,
  runRetries,
  type WaitInfo,
} from '../../../src/retry/index.js';
import { planRetrySim } from '../../../src/commands/retry-sim.js';
import { CliError } from '../../../src/errors.js';

// From the provider docs ("Retries"): 5 s, 30 s, 2 min, 10 min, 1 h, written out by hand here.
const DOC_DELAYS = [5_000, 30_000, 120_000, 600_000, 3_600_000];
// Attempt 1 at 0, then each delay added: 5 s, 35 s, 2 m 35 s, 12 m 35 s, 1 h 12 m 35 s.
const DOC_OFFSETS = [0, 5_000, 35_000, 155_000, 755_000, 4_355_000];
const DOC_LABELS = ['+0s', '+5s', '+35s', '+2m35s', '+12m35s', '+1h12m35s'];

/** An attempt function that fails until `succeedOn` (never, when undefined), taking `latencyMs` of fake time. */
function scripted(clock: { advance(ms: number): void }, succeedOn?: number, latencyMs = 0) {
  const calls: number[] = [];
  return {
    calls,
    attempt: async (n: number) => {
      calls.push(n);
      clock.advance(latencyMs);
      return { ok: n === succeedOn, status: n === succeedOn ? 200 : 500 };
    },
  };
}

describe('planRetries', () => {
  it("lays out FaceSign's six attempts and their offsets", () => {
    expect(DEFAULT_SCHEDULE).toEqual(DOC_DELAYS);
    const plan = planRetries();
    expect(plan.map((p) => p.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(plan.map((p) => p.delayMs)).toEqual([0, ...DOC_DELAYS]);
    expect(plan.map((p) => p.offsetMs)).toEqual(DOC_OFFSETS);
    expect(plan.map((p) => formatOffset(p.offsetMs))).toEqual(DOC_LABELS);
  });

  it('plans a custom schedule with one attempt more than it has delays', () => {
    expect(planRetries([250, 1_000])).toEqual([
      { attempt: 1, delayMs: 0, offsetMs: 0 },
      { attempt: 2, delayMs: 250, offsetMs: 250 },
      { attempt: 3, delayMs: 1_000, offsetMs: 1_250 },
    ]);
    expect(planRetries([])).toEqual([{ attempt: 1, delayMs: 0, offsetMs: 0 }]);
  });

  it('refuses a delay that is not positive', () => {
    expect(() => planRetries([5_000, 0])).toThrow(RangeError);
    expect(() => planRetries([Number.NaN])).toThrow(RangeError);
  });
});

describe('parseSchedule', () => {
  it('reads the documented schedule and round-trips it', () => {
    expect(parseSchedule('5s,30s,2m,10m,1h')).toEqual(DOC_DELAYS);
    expect(formatSchedule(DOC_DELAYS)).toBe('5s,30s,2m,10m,1h');
  });

  it('accepts ms, decimals, spaces and upper case', () => {
    expect(parseSchedule('250ms, 1.5s ,2M,0.5h')).toEqual([250, 1_500, 120_000, 1_800_000]);
  });

  it.each([
    ['', /empty/],
    ['   ', /empty/],
    ['5', /no unit/],
    ['5s,30', /"30" has no unit/],
    ['5x', /not a duration/],
    ['-5s', /not a duration/],
    ['0s', /positive/],
    ['5s,,1m', /empty delay/],
    ['25h', /longer than 24h/],
    ['abc', /not a duration/],
    [Array(21).fill('1s').join(','), /21 delays; at most 20/],
  ])('rejects %j with a clear message', (text, message) => {
    let caught: unknown;
    try {
      parseSchedule(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ScheduleError);
    expect((caught as Error).message).toMatch(message);
  });

  it('formats offsets in FaceSign clock notation', () => {
    expect([0, 250, 1_250, 61_000, 3_600_000].map(formatOffset)).toEqual(['+0s', '+250ms', '+1.25s', '+1m1s', '+1h']);
  });
});

describe('runRetries on a fake clock', () => {
  it('plays the whole 72-minute schedule when every attempt fails', async () => {
    const clock = createFakeClock();
    const script = scripted(clock);
    const started = clock.now();
    const result = await runRetries({ attempt: script.attempt, clock });
    expect(result.outcome).toBe('failed');
    expect(result.deliveredOn).toBeUndefined();
    expect(script.calls).toEqual([1, 2, 3, 4, 5, 6]);
    expect(result.attempts.map((a) => a.plannedOffsetMs)).toEqual(DOC_OFFSETS);
    expect(result.attempts.map((a) => a.plannedAt - started)).toEqual(DOC_OFFSETS);
    expect(result.attempts.map((a) => a.driftMs)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(result.attempts.every((a) => a.of === 6)).toBe(true);
    expect(clock.sleeps).toEqual(DOC_DELAYS);
    expect(result.elapsedMs).toBe(4_355_000);
  });

  it.each([1, 3, 6])('stops at the first success (attempt %i)', async (succeedOn) => {
    const clock = createFakeClock();
    const script = scripted(clock, succeedOn);
    const result = await runRetries({ attempt: script.attempt, clock });
    expect(result.outcome).toBe('delivered');
    expect(result.deliveredOn).toBe(succeedOn);
    expect(script.calls).toEqual(Array.from({ length: succeedOn }, (_, i) => i + 1));
    expect(result.attempts.map((a) => a.outcome.ok)).toEqual(
      Array.from({ length: succeedOn }, (_, i) => i + 1 === succeedOn),
    );
    expect(clock.sleeps).toEqual(DOC_DELAYS.slice(0, succeedOn - 1));
  });

  it('counts each delay from the end of the attempt before', async () => {
    const clock = createFakeClock();
    const started = clock.now();
    const script = scripted(clock, undefined, 700);
    const result = await runRetries({ attempt: script.attempt, clock });
    // Attempt k starts after k-1 attempts of 700 ms each plus the delays so far.
    expect(result.attempts.map((a) => a.plannedAt - started)).toEqual(DOC_OFFSETS.map((o, i) => o + 700 * i));
    expect(result.attempts.map((a) => a.latencyMs)).toEqual([700, 700, 700, 700, 700, 700]);
    // FaceSign's clock stays the plan's, whatever the attempts took.
    expect(result.attempts.map((a) => a.plannedOffsetMs)).toEqual(DOC_OFFSETS);
    expect(result.elapsedMs).toBe(4_355_000 + 6 * 700);
  });

  it('compresses the waits, not the attempts, by the speed', async () => {
    const clock = createFakeClock();
    const script = scripted(clock, undefined, 3);
    const result = await runRetries({ attempt: script.attempt, clock, speed: 1000 });
    expect(clock.sleeps).toEqual([5, 30, 120, 600, 3_600]);
    expect(result.attempts.map((a) => a.waitMs)).toEqual([0, 5, 30, 120, 600, 3_600]);
    expect(result.attempts.map((a) => a.plannedOffsetMs)).toEqual(DOC_OFFSETS);
    expect(result.elapsedMs).toBe(4_355 + 6 * 3);
  });

  it('reports drift when the clock wakes late', async () => {
    const clock = createFakeClock(0, { oversleepMs: 3 });
    const result = await runRetries({ attempt: scripted(clock).attempt, clock, schedule: [100, 200] });
    expect(result.attempts.map((a) => a.driftMs)).toEqual([0, 3, 3]);
    expect(result.maxDriftMs).toBe(3);
  });

  it('announces each wait before it starts', async () => {
    const clock = createFakeClock(0);
    const waits: WaitInfo[] = [];
    const seen: number[] = [];
    await runRetries({
      attempt: scripted(clock, 3).attempt,
      clock,
      speed: 10,
      onWait: (w) => waits.push(w),
      onAttempt: (a) => seen.push(a.attempt),
    });
    expect(seen).toEqual([1, 2, 3]);
    expect(waits).toEqual([
      { attempt: 2, delayMs: 5_000, waitMs: 500, plannedOffsetMs: 5_000, plannedAt: 500 },
      { attempt: 3, delayMs: 30_000, waitMs: 3_000, plannedOffsetMs: 35_000, plannedAt: 3_500 },
    ]);
  });

  it('stops during a wait when the signal aborts, keeping the attempts so far', async () => {
    const clock = createFakeClock();
    const controller = new AbortController();
    const script = scripted(clock);
    const result = await runRetries({
      attempt: script.attempt,
      clock,
      signal: controller.signal,
      onWait: (w) => {
        if (w.attempt === 3) controller.abort();
      },
    });
    expect(result.outcome).toBe('interrupted');
    expect(script.calls).toEqual([1, 2]);
    expect(result.attempts.map((a) => a.interrupted)).toEqual([false, false]);
  });

  it('marks an attempt cut short by the signal as interrupted, not as a verdict', async () => {
    const clock = createFakeClock();
    const controller = new AbortController();
    const result = await runRetries({
      attempt: async (n) => {
        if (n === 2) controller.abort();
        return { ok: false };
      },
      clock,
      signal: controller.signal,
    });
    expect(result.outcome).toBe('interrupted');
    expect(result.attempts.map((a) => a.interrupted)).toEqual([false, true]);
  });

  it('refuses a speed that is not positive', async () => {
    const clock = createFakeClock();
    await expect(runRetries({ attempt: scripted(clock).attempt, clock, speed: 0 })).rejects.toThrow(RangeError);
    await expect(
      runRetries({ attempt: scripted(clock).attempt, clock, speed: Number.POSITIVE_INFINITY }),
    ).rejects.toThrow(RangeError);
  });
});

describe('the real clock', () => {
  it('sleeps at least as long as asked', async () => {
    const clock = createRealClock();
    for (const ms of [3, 40]) {
      const t0 = clock.now();
      await clock.sleep(ms);
      expect(clock.now() - t0).toBeGreaterThanOrEqual(ms);
    }
  });

  it('wakes early when the signal aborts', async () => {
    const clock = createRealClock();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    const t0 = clock.now();
    await clock.sleep(60_000, controller.signal);
    expect(controller.signal.aborted).toBe(true);
    expect(clock.now() - t0).toBeLessThan(10_000);
  });
});

describe('planRetrySim (options → plan)', () => {
  it('defaults to session.verified on the documented schedule at real time', () => {
    expect(planRetrySim({})).toEqual({
      type: 'session.verified',
      schedule: DOC_DELAYS,
      speed: 1,
      timeoutMs: 10_000,
      expect: 'delivered',
      url: undefined,
      failFirst: 3,
    });
  });

  it('maps the flags', () => {
    const plan = planRetrySim({
      type: 'failed',
      to: ':4000',
      speed: '3600',
      schedule: '1s,2s',
      timeout: 500,
      expect: 'failed',
    });
    expect(plan).toEqual({
      type: 'session.failed',
      schedule: [1_000, 2_000],
      speed: 3600,
      timeoutMs: 500,
      expect: 'failed',
      url: 'http://localhost:4000/webhooks/facesign',
      failFirst: 3,
    });
    expect(planRetrySim({ failFirst: '0' }).failFirst).toBe(0);
  });

  it.each([
    [{ speed: '0' }, /--speed must be a positive number/],
    [{ speed: 'fast' }, /--speed must be a positive number/],
    [{ speed: '-2' }, /--speed must be a positive number/],
    [{ schedule: '5s,soon' }, /--schedule "5s,soon": delay "soon" is not a duration/],
    [{ expect: 'maybe' }, /bad --expect "maybe"/],
    [{ to: ':4000', failFirst: 2 }, /--fail-first only applies to the built-in receiver/],
    [{ failFirst: '-1' }, /--fail-first must be a whole number/],
    [{ type: 'session.unknown' }, /unknown event type/],
  ])('turns %j into a usage error (exit 2)', (options, message) => {
    let caught: unknown;
    try {
      planRetrySim(options);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CliError);
    expect((caught as CliError).exitCode).toBe(2);
    expect((caught as CliError).message).toMatch(message);
  });
});
