import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { usageError } from '../errors.js';
import { isPlainObject, parseJsonOrThrow, type JsonObject } from '../events/json.js';
import type { BuildOptions } from '../events/build.js';
import { MAX_TIMER_MS } from '../retry/clock.js';

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
export function readInput(path: string, what: string): Buffer {
  if (path === '-' && process.stdin.isTTY)
    process.stderr.write(`reading the ${what} from the terminal; end it with Ctrl-D\n`);
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

/** About how long a number of milliseconds is, for limits: `24.8 days`. */
export function describeMs(ms: number): string {
  return ms >= 86_400_000 ? `${Math.floor(ms / 8_640_000) / 10} days` : `${Math.round(ms / 1000)} s`;
}

/** `--timeout MS`: at least 1, at most what one timer holds (a longer one would fire at once). */
export function timeoutFlag(value: string | number | undefined, fallback: number, flag = '--timeout'): number {
  const n = positiveInt(value, flag, fallback);
  if (n > MAX_TIMER_MS)
    throw usageError(
      `${flag} can be at most ${MAX_TIMER_MS} ms (about ${describeMs(MAX_TIMER_MS)}, the longest a timer holds); got ${n}`,
    );
  return n;
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
      "give a PEM file of CA certificates (-----BEGIN CERTIFICATE----- …), e.g. the CA that signed the endpoint's certificate";
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
      "warning: --insecure: the endpoint's TLS certificate is not checked; anyone in between could read and change the deliveries",
    );
  return { insecure: flags.insecure || undefined, ca };
}
