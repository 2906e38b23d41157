/**
 * The one set of formatters every output shares: times, durations, sizes, secrets, shell words.
 * Plain strings, no chalk, so the core (the check judge, the receiver) and the library use them too.
 */

/** The schedule's notation (`2m35s`, `+5s`) lives with the schedule, which imports nothing of the project. */
import { formatDuration } from '../retry/schedule.js';
export { formatDuration, formatOffset, formatSchedule } from '../retry/schedule.js';

/** `1234.5` → `1235 ms`, `12.3` → `12.3 ms`. */
export function formatMs(ms: number): string {
  return ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`;
}

/** About how long a number of milliseconds is, for limits: `24.8 days`, `30 s`. */
export function describeMs(ms: number): string {
  return ms >= 86_400_000 ? `${Math.floor(ms / 8_640_000) / 10} days` : `${Math.round(ms / 1000)} s`;
}

/** A wall-clock span: `12.3 ms` below a second, `4.25 s` below a minute, then `2m35s`. */
export function formatWallDuration(ms: number): string {
  if (ms < 1_000) return formatMs(ms);
  if (ms < 60_000) return `${(ms / 1_000).toFixed(2)} s`;
  return formatDuration(Math.round(ms));
}

/** A countdown: `4.2 s` below a minute, then whole seconds as `1m5s`. */
export function formatCountdown(ms: number): string {
  return ms < 60_000 ? `${(ms / 1_000).toFixed(1)} s` : formatDuration(Math.ceil(ms / 1_000) * 1_000);
}

/** `12:04:05.123`, local time, from epoch milliseconds or an ISO string. */
export function formatTimeOfDay(time: number | string): string {
  const d = new Date(time);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Epoch milliseconds as the ISO 8601 UTC time every record carries: `2025-01-02T03:04:05.678Z`. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** A number rounded to `places` decimals, as the NDJSON records carry measurements. */
export function roundTo(n: number, places = 1): number {
  return Math.round(n * 10 ** places) / 10 ** places;
}

/** `1048576` → `1 MiB`, `65536` → `64 KiB`; sizes that are not whole KiB or MiB in bytes. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/** `3 requests`, `1 request`; `many` for an irregular plural. */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/** Shows the last four characters of a secret at most, never the whole. */
export function maskSecret(secret: string): string {
  if (secret.length <= 8) return '*'.repeat(Math.max(4, secret.length));
  return `${'*'.repeat(Math.min(12, secret.length - 4))}${secret.slice(-4)}`;
}

/** Quotes a string for a POSIX shell. */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_./:=@%+-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
