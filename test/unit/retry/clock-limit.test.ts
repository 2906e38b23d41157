import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRealClock, MAX_TIMER_MS } from '../../../src/retry/clock.js';

/*
 * A sleep longer than one setTimeout can hold (2^31-1 ms) must chain timers: Node fires an
 * overlong timer after 1 ms. Fake timers (which copy that overflow) let 30 days pass instantly.
 */
afterEach(() => {
  vi.useRealTimers();
});

describe('the real clock past the timer limit', () => {
  it('keeps the timer limit at 2^31-1 ms', () => {
    expect(MAX_TIMER_MS).toBe(2_147_483_647);
  });

  it('a 30-day sleep neither ends early nor spins, and ends on time', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'] });
    const clock = createRealClock();
    const thirtyDays = 30 * 24 * 3_600_000;
    const start = clock.now();
    let ended = false;
    void clock.sleep(thirtyDays).then(() => (ended = true));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(ended).toBe(false);
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS);
    expect(ended).toBe(false);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(thirtyDays - MAX_TIMER_MS - 60_000 + 50);
    expect(ended).toBe(true);
    expect(clock.now() - start).toBeGreaterThanOrEqual(thirtyDays);
  });

  it('an abort ends a chained sleep at once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'] });
    const clock = createRealClock();
    const controller = new AbortController();
    let ended = false;
    void clock.sleep(40 * 24 * 3_600_000, controller.signal).then(() => (ended = true));
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 1_000);
    expect(ended).toBe(false);
    controller.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(ended).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });
});
