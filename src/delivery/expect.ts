import { usageError } from '../errors.js';

/** What counts as success for the exit code: a status class (`2xx`) or one exact status. */
export interface Expectation {
  label: string;
  matches(status: number | undefined): boolean;
}

export function parseExpectation(value = '2xx'): Expectation {
  const v = value.trim().toLowerCase();
  const cls = /^([1-5])xx$/.exec(v);
  if (cls) {
    const base = Number(cls[1]) * 100;
    return { label: v, matches: (s) => s !== undefined && s >= base && s < base + 100 };
  }
  if (/^[1-5]\d\d$/.test(v)) {
    const exact = Number(v);
    return { label: v, matches: (s) => s === exact };
  }
  throw usageError(`bad --expect "${value}"`, 'use a class such as 2xx or 4xx, or an exact status such as 409');
}
