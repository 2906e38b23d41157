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
  /** A result that is a document of its own (a schema, a JUnit report): stdout as given, also under --json. */
  write(text: string): void;
  /** True when stderr is a terminal, where `status` can rewrite a line in place. */
  readonly statusLine: boolean;
  /** A status line on stderr rewritten in place (a countdown); `''` clears it. For terminals only. */
  status(text: string): void;
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
    statusLine: Boolean(stderr.isTTY),
    line(text = '') {
      if (!json) stdout.write(`${text}\n`);
    },
    record(obj) {
      if (json) stdout.write(`${JSON.stringify(obj)}\n`);
    },
    note(text) {
      stderr.write(`${text}\n`);
    },
    write(text) {
      stdout.write(text);
    },
    status(text) {
      stderr.write(`\r\x1b[2K${text}`);
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
    /** Writes out whatever is gathered and resolves once the target has taken it (pipes are asynchronous). */
    drained(): Promise<void> {
      flush();
      const pending = target as { writableLength?: number };
      if (!pending.writableLength) return Promise.resolve();
      return new Promise((resolve) => target.once('drain', () => resolve()));
    },
  };
}
