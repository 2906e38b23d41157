import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { FieldError, usageError } from '../errors.js';
import { deepMerge, isPlainObject, parseJsonOrThrow, type JsonObject } from '../events/json.js';
import type { BuildOptions } from '../events/build.js';
import { MAX_TIMER_MS } from '../retry/clock.js';
import { parseSchedule, ScheduleError } from '../retry/schedule.js';
import { describeMs } from '../report/format.js';
import { createOutput } from '../report/output.js';

/** Options every event-building command shares (`send`, `flow`, `fixtures`, `retry-sim`). */
export interface EventFlags {
  eventId?: string;
  sessionId?: string;
  userId?: string;
  set?: string[];
  unset?: string[];
  /** A JSON file (or `-` for stdin) merged over the type's fixture. */
  fixture?: string;
}

/** Options every sending command shares. */
export interface SendFlags {
  /** The project config file (else the one found upward). */
  config?: string;
  to?: string;
  secret?: string;
  timeout?: number;
  header?: string[];
  fromIp?: string | boolean;
  json?: boolean;
  /** Accept any TLS certificate from the endpoint. */
  insecure?: boolean;
  /** A PEM file of CA certificates to trust instead of the built-in list. */
  ca?: string;
}

/** Reads a file, or stdin for `-`, as bytes; a missing or unreadable file is a usage error. */
export function readInput(path: string, what: string, note = (line: string) => createOutput().note(line)): Buffer {
  if (path === '-' && process.stdin.isTTY) note(`reading the ${what} from the terminal; end it with Ctrl-D`);
  try {
    return readFileSync(path === '-' ? 0 : path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw usageError(`cannot read ${what} ${path === '-' ? 'from stdin' : `"${path}"`}: ${reason}`, 'check the path');
  }
}

export function readFixtureFile(path: string): JsonObject {
  const source = path === '-' ? '<stdin>' : path;
  const value = parseJsonOrThrow(readInput(path, 'fixture').toString('utf8'), source);
  if (!isPlainObject(value)) {
    throw usageError(
      `${source}: a fixture must be a JSON object (an event, or part of one)`,
      'e.g. {"data": {"metadata": {"user_id": "usr_42"}}}',
    );
  }
  return value;
}

/** Maps the shared flags onto the builder's options (reading the fixture file once). */
export function buildOptionsFrom(flags: EventFlags, fixture?: JsonObject): BuildOptions {
  return {
    eventId: flags.eventId,
    sessionId: flags.sessionId,
    userId: flags.userId,
    set: flags.set,
    unset: flags.unset,
    fixture: fixture ?? (flags.fixture ? readFixtureFile(flags.fixture) : undefined),
  };
}

/**
 * The build options for one type: the project config's overrides for it (`fixtures` in the
 * config) deep-merged under the --fixture file, so flags still win.
 */
export function withConfigFixture(base: BuildOptions, fromConfig: JsonObject | undefined): BuildOptions {
  if (fromConfig === undefined) return base;
  return { ...base, fixture: base.fixture ? (deepMerge(fromConfig, base.fixture) as JsonObject) : fromConfig };
}

/** Parses a positive integer flag value. */
export function positiveInt(
  value: string | number | undefined,
  flag: string,
  fallback: number,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < min)
    throw usageError(`${flag} must be a whole number of at least ${min} (got "${value}")`);
  if (n > max) throw usageError(`${flag} can be at most ${max} (got ${n})`);
  return n;
}

/**
 * `--timeout MS`: at least 1, at most what one timer holds (a longer one would fire at once).
 * Not given: `fallback`, by default undefined, so the project config's setting can apply.
 */
export function timeoutFlag(
  value: string | number | undefined,
  fallback?: number,
  flag = '--timeout',
): number | undefined {
  if (value === undefined) return fallback;
  const n = positiveInt(value, flag, 1);
  if (n > MAX_TIMER_MS)
    throw usageError(
      `${flag} can be at most ${MAX_TIMER_MS} ms ` +
        `(about ${describeMs(MAX_TIMER_MS)}, the longest a timer holds); got ${n}`,
    );
  return n;
}

/** `--schedule` as retry-sim reads it. */
export function scheduleFlag(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  try {
    return parseSchedule(value);
  } catch (err) {
    if (err instanceof ScheduleError) throw usageError(`--schedule "${value}": ${err.message}`, err.hint);
    throw err;
  }
}

/** Names where the event id came from, for an error about it: the last of fixture < --event-id < --set id=…. */
export function eventIdSource(flags: EventFlags, fixture?: JsonObject): string {
  if ((flags.set ?? []).some((a) => a.slice(0, a.indexOf('=')).trim() === 'id')) return '--set id=…';
  if (flags.eventId !== undefined) return '--event-id';
  if (fixture && 'id' in fixture) return `the fixture file ${flags.fixture === '-' ? '<stdin>' : `"${flags.fixture}"`}`;
  return 'the event id';
}

/**
 * `--insecure` and `--ca FILE` as delivery options: the CA file is read and each certificate in it
 * parsed up front (an unreadable or invalid file is a usage error), and `--insecure` says once on
 * stderr that certificates go unchecked.
 */
export function tlsOptionsFrom(
  flags: Pick<SendFlags, 'insecure' | 'ca'>,
  warn: (line: string) => void,
): { insecure?: boolean; ca?: string } {
  let ca: string | undefined;
  if (flags.ca !== undefined) {
    ca = readInput(flags.ca, '--ca file').toString('utf8');
    const blocks = ca.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    const hint =
      'give a PEM file of CA certificates (-----BEGIN CERTIFICATE----- …), ' +
      "e.g. the CA that signed the endpoint's certificate";
    if (blocks.length === 0) throw usageError(`--ca "${flags.ca}" holds no PEM certificate`, hint);
    for (const block of blocks) {
      try {
        new X509Certificate(block);
      } catch (err) {
        throw usageError(`--ca "${flags.ca}" holds a certificate that does not parse: ${(err as Error).message}`, hint);
      }
    }
  }
  if (flags.insecure)
    warn(
      "warning: --insecure: the endpoint's TLS certificate is not checked; " +
        'anyone in between could read and change the deliveries',
    );
  return { insecure: flags.insecure || undefined, ca };
}

/**
 * `message` with its last mention of `field` (a whole word outside quotes, where the value a user
 * gave appears) written as `flag`: `unknown event type "x" in type` → `… in --type`.
 */
function underFlag(message: string, field: string, flag: string): string {
  const parts = message.split(/("(?:[^"\\]|\\.)*")/);
  const word = new RegExp(`(?<![\\w-])${field.replace(/\W/g, '')}(?![\\w-])`, 'g');
  for (let i = parts.length - 1; i >= 0; i -= 1) {
    if (i % 2 === 1) continue;
    const hits = [...parts[i]!.matchAll(word)];
    const last = hits[hits.length - 1];
    if (last?.index === undefined) continue;
    parts[i] = `${parts[i]!.slice(0, last.index)}${flag}${parts[i]!.slice(last.index + last[0].length)}`;
    return parts.join('');
  }
  return message;
}

/**
 * Runs a core call whose input came from flags: a FieldError about one of `flags`' fields is
 * shown under its flag (`burst must be …` → `--burst must be …`), as a usage error.
 */
export function asFlags<T>(flags: Record<string, string>, run: () => T): T {
  try {
    return run();
  } catch (err) {
    const flag = err instanceof FieldError ? flags[err.field] : undefined;
    if (flag === undefined) throw err;
    const { field, message, hint } = err as FieldError;
    throw usageError(underFlag(message, field, flag), hint);
  }
}

/**
 * `--dry-run` and `--curl` print instead of sending: both together, or either with a flag that only
 * sending uses (`sendingOnly`, in the order to name them), is a usage error naming both flags.
 */
export function checkPreviewFlags(
  options: { dryRun?: boolean; curl?: boolean },
  sendingOnly: readonly (readonly [string, unknown])[],
  what: { requests: string; them: string; commands: string },
): void {
  if (options.dryRun && options.curl)
    throw usageError(
      `--dry-run and --curl both print the ${what.requests} instead of sending ${what.them}`,
      `pick one: --dry-run for the ${what.requests} as sent, --curl for ${what.commands}`,
    );
  const preview = options.dryRun ? '--dry-run' : options.curl ? '--curl' : undefined;
  const given = preview === undefined ? undefined : sendingOnly.find(([, value]) => value !== undefined);
  if (given)
    throw usageError(
      `${preview} sends nothing, so ${given[0]} cannot apply`,
      `drop ${given[0]}, or drop ${preview} to send`,
    );
}
