import { Chalk, type ChalkInstance } from 'chalk';

/** Where a command writes: results to stdout (only NDJSON under --json), everything else to stderr. */
export interface Output {
  readonly json: boolean;
  /** Colours for stdout; plain when stdout is not a terminal or NO_COLOR is set. */
  readonly c: ChalkInstance;
  /** Colours for stderr. */
  readonly ce: ChalkInstance;
  /** A human result line (suppressed under --json). */
  line(text?: string): void;
  /** One NDJSON object (only under --json). */
  record(obj: Record<string, unknown>): void;
  /** Progress, hints and warnings: stderr, also under --json. */
  note(text: string): void;
}

/** Anything with a `write(text)`: a stream, or a batched stand-in. */
export type TextSink = { write(chunk: string): unknown; isTTY?: boolean };

export interface OutputOptions {
  json?: boolean;
  stdout?: TextSink;
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
  env?: NodeJS.ProcessEnv;
}

export function colorLevel(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): 0 | 1 {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return 1;
  return stream.isTTY ? 1 : 0;
}

export function createOutput(options: OutputOptions = {}): Output {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const env = options.env ?? process.env;
  const json = options.json ?? false;
  return {
    json,
    c: new Chalk({ level: colorLevel(stdout, env) }),
    ce: new Chalk({ level: colorLevel(stderr, env) }),
    line(text = '') {
      if (!json) stdout.write(`${text}\n`);
    },
    record(obj) {
      if (json) stdout.write(`${JSON.stringify(obj)}\n`);
    },
    note(text) {
      stderr.write(`${text}\n`);
    },
  };
}

/**
 * A stdout stand-in that gathers writes made in one turn of the event loop and passes them on as
 * one write: a receiver logging every delivery would otherwise make a system call per request.
 */
export function createBatchedStream(target: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout) {
  let pending: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    target.write(text);
  };
  return {
    isTTY: target.isTTY,
    write(chunk: string): boolean {
      pending.push(chunk);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
      return true;
    },
    /** Writes out whatever is gathered, now. */
    flush,
  };
}

/** `1234.5` → `1235 ms`, `12.3` → `12.3 ms`. */
export function formatMs(ms: number): string {
  return ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`;
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
