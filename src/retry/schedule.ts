/**
 * FaceSign's retry schedule as data. Provider docs, "Retries": after a failed delivery FaceSign
 * retries after 5 s, 30 s, 2 min, 10 min and 1 h, then marks the delivery failed. We read that as
 * attempt 1 plus 5 retries (at most 6 attempts), each delay counted from the end of the attempt before.
 */

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** The documented delays, in ms, before retry 1..5. */
export const DEFAULT_SCHEDULE: readonly number[] = Object.freeze([
  5 * SECOND,
  30 * SECOND,
  2 * MINUTE,
  10 * MINUTE,
  1 * HOUR,
]);

/** A custom schedule may hold at most this many delays (so at most 21 attempts). */
export const MAX_SCHEDULE_ENTRIES = 20;
/** The longest single delay a custom schedule accepts. */
export const MAX_DELAY_MS = 24 * HOUR;

const UNIT_MS: Record<string, number> = { ms: 1, s: SECOND, m: MINUTE, h: HOUR };

/** A schedule that does not parse; the CLI turns it into a usage error (exit 2). */
export class ScheduleError extends Error {
  readonly hint: string;
  constructor(
    message: string,
    hint = 'write delays with a unit, comma-separated, e.g. 5s,30s,2m,10m,1h (units: ms, s, m, h)',
  ) {
    super(message);
    this.name = 'ScheduleError';
    this.hint = hint;
  }
}

/** One attempt of the plan, on FaceSign's clock (as if every attempt took no time). */
export interface PlannedAttempt {
  /** 1 for the first delivery, 2..N for the retries. */
  attempt: number;
  /** The delay before this attempt, counted from the end of the previous one (0 for attempt 1). */
  delayMs: number;
  /** When this attempt happens on FaceSign's clock, from the first attempt: 0, 5 s, 35 s, … */
  offsetMs: number;
}

/** `"2m"` → 120000. Throws a ScheduleError naming the entry. */
export function parseDuration(entry: string): number {
  const text = entry.trim();
  const match = /^(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)$/i.exec(text);
  if (!match) {
    if (text === '') throw new ScheduleError('empty delay in the schedule');
    if (/^\d+(?:\.\d+)?$/.test(text))
      throw new ScheduleError(`delay "${text}" has no unit`, `add a unit: ${text}s, ${text}m, ${text}ms or ${text}h`);
    throw new ScheduleError(`delay "${text}" is not a duration`);
  }
  const ms = Number(match[1]) * UNIT_MS[match[2]!.toLowerCase()]!;
  if (!(ms > 0)) throw new ScheduleError(`delay "${text}" must be positive`);
  if (ms > MAX_DELAY_MS)
    throw new ScheduleError(`delay "${text}" is longer than 24h`, 'use --speed to stretch or compress time instead');
  return ms;
}

/** `"5s,30s,2m,10m,1h"` → the delays in ms, validated. */
export function parseSchedule(text: string): number[] {
  if (text.trim() === '') throw new ScheduleError('the schedule is empty');
  const entries = text.split(',');
  if (entries.length > MAX_SCHEDULE_ENTRIES) {
    throw new ScheduleError(
      `the schedule has ${entries.length} delays; at most ${MAX_SCHEDULE_ENTRIES} are allowed`,
      'FaceSign itself uses 5: 5s,30s,2m,10m,1h',
    );
  }
  return entries.map(parseDuration);
}

/** The attempts a schedule allows: attempt 1, then one retry per delay, with their offsets. */
export function planRetries(schedule: readonly number[] = DEFAULT_SCHEDULE): PlannedAttempt[] {
  const plan: PlannedAttempt[] = [{ attempt: 1, delayMs: 0, offsetMs: 0 }];
  let offset = 0;
  schedule.forEach((delay, i) => {
    if (!(delay > 0) || !Number.isFinite(delay))
      throw new RangeError(`schedule delay ${i + 1} must be a positive number of ms (got ${delay})`);
    offset += delay;
    plan.push({ attempt: i + 2, delayMs: delay, offsetMs: offset });
  });
  return plan;
}

function trimNumber(n: number): string {
  return String(Math.round(n * 1000) / 1000);
}

/** 120000 → `2m`, 4355000 → `1h12m35s`, 250 → `250ms`, 0 → `0s`. */
export function formatDuration(ms: number): string {
  if (ms > 0 && ms < SECOND) return `${trimNumber(ms)}ms`;
  const h = Math.floor(ms / HOUR);
  const m = Math.floor((ms % HOUR) / MINUTE);
  const s = (ms % MINUTE) / SECOND;
  const parts = [h ? `${h}h` : '', m ? `${m}m` : '', s ? `${trimNumber(s)}s` : ''].join('');
  return parts || '0s';
}

/** An offset on FaceSign's clock as the report shows it: `+0s`, `+5s`, `+2m35s`. */
export function formatOffset(ms: number): string {
  return `+${formatDuration(ms)}`;
}

/** A schedule as its flag would write it: `5s,30s,2m,10m,1h`. */
export function formatSchedule(schedule: readonly number[]): string {
  return schedule.map(formatDuration).join(',');
}
