import { InvalidArgumentError } from 'commander';
import { MAX_TIMER_MS } from '../retry/clock.js';

/*
 * Flag values as commander parses them. A bad value throws InvalidArgumentError, which commander
 * reports naming the flag, and which the CLI turns into exit 2. Core functions validate their own
 * inputs again: the library can be called without this layer.
 */

/** A repeatable flag: every value, in order. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** What a number flag counts: a plain count, milliseconds or seconds (both bounded by what a timer holds). */
export interface NumberSpec {
  /** The smallest whole number accepted (counts and milliseconds); seconds must be above 0. */
  min?: number;
  unit?: 'ms' | 's';
}

/** The one number parser of the CLI: whole numbers (counts, ports, ms) and decimal seconds. */
export function numberArg(flag: string, { min = 0, unit }: NumberSpec = {}): (value: string) => number {
  const seconds = unit === 's';
  // A Node timer holds at most 2^31-1 ms; a longer one fires after 1 ms, so such values are refused.
  const max = unit === 'ms' ? MAX_TIMER_MS : seconds ? Math.floor(MAX_TIMER_MS / 1000) : undefined;
  return (value: string) => {
    const text = value.trim();
    const n = Number(text);
    const valid = seconds
      ? text !== '' && Number.isFinite(n) && n > 0
      : /^\d+$/.test(text) && Number.isSafeInteger(n) && n >= min;
    if (!valid) {
      const wanted = seconds ? 'a positive number of seconds' : `a whole number${min > 0 ? ` of at least ${min}` : ''}`;
      throw new InvalidArgumentError(`${flag} takes ${wanted}.`);
    }
    if (max !== undefined && n > max) {
      const why = `${seconds ? 'seconds' : 'ms'}, about 24.8 days: the longest a timer holds`;
      throw new InvalidArgumentError(`${flag} can be at most ${max} (${why}).`);
    }
    return n;
  };
}
