import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { EXIT, usageError } from '../errors.js';
import { captureFileName, type Capture } from '../receiver/capture.js';
import {
  DELIVERIES_PATH,
  startReceiver,
  type Receiver,
  type ReceiverOptions,
  type ReceiverStats,
} from '../receiver/server.js';
import { createBatchedStream, createOutput, maskSecret, type Output } from '../report/output.js';
import { safeText } from '../report/text.js';
import { SECRET_ENV, warnSecretAccident } from '../secret.js';
import { watchInterrupt } from '../interrupt.js';

export interface ListenOptions {
  port?: number;
  host?: string;
  path?: string;
  secret?: string;
  failFirst?: number;
  failStatus?: number;
  status?: number;
  /** Milliseconds. */
  delay?: number;
  hang?: boolean;
  /** `0.3` or `30%`. */
  failRate?: string | number;
  seed?: number;
  save?: string;
  /** Bytes, or with a unit: `512kb`, `2mb`. */
  maxBody?: string | number;
  exitAfter?: number;
  /** Seconds (decimals allowed). */
  maxWait?: string | number;
  history?: number;
  /** Bytes, or with a unit: `64mb`. */
  historyBytes?: string | number;
  json?: boolean;
}

export type SecretSource = 'flag' | 'env' | 'generated';

export interface ListenPlan {
  receiver: Omit<ReceiverOptions, 'onDelivery' | 'onWarning'>;
  secretSource: SecretSource;
  exitAfter?: number;
  maxWaitMs?: number;
}

/** `0.3` or `30%` → 0.3; anything outside 0..1 is a usage error. */
export function parseProbability(value: string | number, flag = '--fail-rate'): number {
  const text = String(value).trim();
  const percent = text.endsWith('%');
  const n = Number(percent ? text.slice(0, -1) : text);
  const p = percent ? n / 100 : n;
  if (text === '' || text === '%' || !Number.isFinite(p) || p < 0 || p > 1) {
    throw usageError(
      `${flag} "${value}" is not a probability`,
      `give a number from 0 to 1 or a percentage, e.g. ${flag} 0.3 or ${flag} 30%`,
    );
  }
  return p;
}

/** `1048576`, `512kb`, `1mb`, `1MiB` → bytes (k and m are 1024-based). */
export function parseByteSize(value: string | number, flag = '--max-body'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib)?\s*$/i.exec(String(value));
  const unit = (m?.[2] ?? 'b').toLowerCase();
  const n = m ? Number(m[1]) * (unit.startsWith('m') ? 1024 * 1024 : unit.startsWith('k') ? 1024 : 1) : NaN;
  if (!Number.isFinite(n) || n < 1 || !Number.isInteger(Math.floor(n))) {
    throw usageError(
      `${flag} "${value}" is not a size`,
      `give bytes or a size with a unit, e.g. ${flag} 1mb or ${flag} 65536`,
    );
  }
  return Math.floor(n);
}

/** Seconds (decimals allowed) → milliseconds. */
export function parseSeconds(value: string | number, flag: string): number {
  const n = Number(String(value).trim());
  if (String(value).trim() === '' || !Number.isFinite(n) || n <= 0)
    throw usageError(`${flag} "${value}" is not a number of seconds`, `e.g. ${flag} 30`);
  return Math.round(n * 1000);
}

/** A secret for this run only: shown once, so the sender can use it. */
export function generateSecret(): string {
  return `whsec_${randomBytes(24).toString('base64url')}`;
}

/** Maps flags and the environment onto receiver options. Pure apart from generating a secret. */
export function planListen(options: ListenOptions, env: NodeJS.ProcessEnv = process.env): ListenPlan {
  if (options.secret === '')
    throw usageError('--secret is empty', `pass a secret, set ${SECRET_ENV}, or leave both out to get a generated one`);
  const fromEnv = env[SECRET_ENV] !== undefined && env[SECRET_ENV] !== '' ? env[SECRET_ENV] : undefined;
  const secretSource: SecretSource =
    options.secret !== undefined ? 'flag' : fromEnv !== undefined ? 'env' : 'generated';
  const secret = options.secret ?? fromEnv ?? generateSecret();
  if (options.seed !== undefined && options.failRate === undefined)
    throw usageError('--seed only makes sense with --fail-rate', 'e.g. --fail-rate 0.3 --seed 42');
  if (options.hang && (options.delay !== undefined || options.status !== undefined)) {
    throw usageError(
      '--hang never answers, so --delay and --status cannot apply',
      'use --hang alone, or --delay MS for a slow answer',
    );
  }
  return {
    secretSource,
    receiver: {
      secret,
      host: options.host,
      port: options.port,
      path: options.path,
      failFirst: options.failFirst,
      failStatus: options.failStatus,
      status: options.status,
      delayMs: options.delay,
      hang: options.hang,
      failRate: options.failRate !== undefined ? parseProbability(options.failRate) : undefined,
      // Picked here when not given, so the run can print it and be repeated with --seed.
      seed: options.failRate !== undefined ? (options.seed ?? Math.floor(Math.random() * 2 ** 31)) : undefined,
      saveDir: options.save,
      maxBodyBytes: options.maxBody !== undefined ? parseByteSize(options.maxBody) : undefined,
      historyLimit: options.history,
      historyMaxBytes:
        options.historyBytes !== undefined ? parseByteSize(options.historyBytes, '--history-bytes') : undefined,
    },
    exitAfter: options.exitAfter,
    maxWaitMs: options.maxWait !== undefined ? parseSeconds(options.maxWait, '--max-wait') : undefined,
  };
}

/** The NDJSON shape of one received delivery (documented; keep it stable). */
export function receivedRecord(capture: Capture, saveDir?: string) {
  const v = capture.verdict;
  return {
    type: 'delivery',
    sequence: capture.sequence,
    received_at: capture.received_at,
    method: capture.method,
    path: capture.path,
    remote_address: capture.remote_address,
    event_type: v.event_type,
    event_id: v.event_id,
    session_id: v.session_id,
    user_id: v.user_id,
    outcome: v.outcome,
    signature: v.signature,
    reason: v.reason ?? null,
    status: v.status === 0 ? null : v.status,
    response_body: v.response_body ?? null,
    attempt: v.attempt ?? null,
    delayed_ms: v.delayed_ms ?? 0,
    body_bytes: capture.body_bytes,
    file: saveDir !== undefined ? join(saveDir, captureFileName(capture)) : null,
  };
}

function localTime(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** One log line: time, type, event id, session id, user id, verdict, and the answer given. */
export function formatReceived(out: Output, capture: Capture): string {
  const { c } = out;
  const v = capture.verdict;
  const dash = c.dim('-');
  const marks = {
    accepted: c.green('✔ accepted'),
    duplicate: c.yellow('↺ duplicate'),
    rejected: c.red('✘ rejected'),
    fault: c.magenta('⚡ fault'),
  };
  // Everything but the marks came in the request: escaped, so a request cannot forge a line.
  const what =
    v.event_type !== null ? safeText(v.event_type) : c.dim(safeText(`${capture.method} ${capture.path.slice(0, 60)}`));
  const attempt = v.attempt !== undefined && v.attempt > 1 ? c.dim(` attempt ${v.attempt}`) : '';
  const reason = v.reason && v.outcome !== 'duplicate' ? ` ${c.dim(`(${safeText(v.reason)})`)}` : '';
  const colour = v.status >= 200 && v.status < 300 ? c.green : c.red;
  const answer =
    v.status === 0
      ? c.magenta('no answer')
      : `${colour(String(v.status))} ${c.dim(safeText(JSON.stringify(v.response_body ?? '')))}`;
  const delay = v.delayed_ms ? c.dim(` after ${v.delayed_ms} ms`) : '';
  const shown = (value: string | null) => (value === null ? dash : safeText(value));
  return [
    c.dim(localTime(capture.received_at)),
    c.bold(what),
    shown(v.event_id),
    shown(v.session_id),
    shown(v.user_id),
    `${marks[v.outcome]}${attempt}${reason}`,
    `→ ${answer}${delay}`,
  ].join('  ');
}

function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

export type StopReason = 'interrupted' | 'exit-after' | 'max-wait';

function printSummary(out: Output, stats: ReceiverStats, reason: StopReason, plan: ListenPlan, met: boolean): void {
  out.record({
    type: 'summary',
    reason,
    received: stats.received,
    accepted: stats.accepted,
    duplicates: stats.duplicates,
    rejected: stats.rejected,
    faults: stats.faults,
    saved: stats.saved,
    save_errors: stats.saveErrors,
    incomplete: stats.incomplete,
    bad_http: stats.badHttp,
    exit_after: plan.exitAfter ?? null,
    met,
  });
  const { c } = out;
  const why =
    reason === 'interrupted'
      ? 'stopped'
      : reason === 'exit-after'
        ? c.green(`got ${plural(plan.exitAfter ?? 0, 'accepted delivery', 'accepted deliveries')}`)
        : met
          ? 'time is up (--max-wait)'
          : c.red(`--max-wait: only ${stats.accepted} of ${plan.exitAfter} accepted deliveries arrived in time`);
  const parts = [
    `${stats.accepted} accepted`,
    plural(stats.duplicates, 'duplicate'),
    `${stats.rejected} rejected`,
    plural(stats.faults, 'fault'),
  ];
  let line = `${why}: ${plural(stats.received, 'request')} received (${parts.join(', ')})`;
  if (plan.receiver.saveDir !== undefined) line += `; ${plural(stats.saved, 'capture')} in ${plan.receiver.saveDir}`;
  if (stats.saveErrors) line += c.red(`; ${stats.saveErrors} could not be written`);
  out.line(line);
}

function describeFaults(r: ListenPlan['receiver']): string[] {
  const f: string[] = [];
  if (r.failFirst) f.push(`the first ${r.failFirst} attempts of each event id get ${r.failStatus ?? 500}`);
  if (r.status !== undefined) f.push(`every delivery gets ${r.status}`);
  if (r.failRate !== undefined)
    f.push(`${Math.round(r.failRate * 1000) / 10}% get ${r.failStatus ?? 500} (--seed ${r.seed})`);
  if (r.delayMs) f.push(`answers wait ${r.delayMs} ms`);
  if (r.hang) f.push('no request is ever answered (--hang)');
  return f;
}

/** Waits for the first of: a signal, `--exit-after` accepted deliveries, or `--max-wait`. */
function waitForStop(signal: AbortSignal, maxWaitMs: number | undefined, reached: Promise<void>): Promise<StopReason> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (reason: StopReason) => {
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(reason);
    };
    const onAbort = () => done('interrupted');
    if (signal.aborted) return done('interrupted');
    signal.addEventListener('abort', onAbort, { once: true });
    if (maxWaitMs !== undefined) timer = setTimeout(() => done('max-wait'), maxWaitMs);
    void reached.then(() => done('exit-after'));
  });
}

/** Writes out the batched lines and resolves once stdout has taken them (pipes are asynchronous). */
function flushed(
  stdout: { flush(): void },
  target: NodeJS.WritableStream & { writableLength?: number } = process.stdout,
): Promise<void> {
  stdout.flush();
  if (!target.writableLength) return Promise.resolve();
  return new Promise((resolve) => target.once('drain', () => resolve()));
}

export async function runListen(options: ListenOptions): Promise<number> {
  const stdout = createBatchedStream();
  const out = createOutput({ json: options.json, stdout });
  const plan = planListen(options);
  if (plan.secretSource !== 'generated') warnSecretAccident(plan.receiver.secret, plan.secretSource);
  // A second Ctrl-C exits at once, but not before every line already decided is written out.
  const interrupt = watchInterrupt({ beforeExit: () => flushed(stdout) });
  let accepted = 0;
  let reachExitAfter!: () => void;
  const reached = new Promise<void>((resolve) => (reachExitAfter = resolve));
  let receiver: Receiver;
  try {
    receiver = await startReceiver({
      ...plan.receiver,
      onDelivery(capture) {
        if (out.json) out.record(receivedRecord(capture, plan.receiver.saveDir));
        else out.line(formatReceived(out, capture));
        if (capture.verdict.outcome === 'accepted' && ++accepted === plan.exitAfter) reachExitAfter();
      },
      onWarning: (message) => out.note(out.ce.yellow(`warning: ${safeText(message)}`)),
    });
  } catch (err) {
    interrupt.dispose();
    throw err;
  }

  const { c, ce } = out;
  const secret = plan.receiver.secret;
  if (plan.secretSource === 'generated' && !out.json) {
    out.line(`No secret given, so this run uses a new one. In the terminal you send from:`);
    out.line(`  export ${SECRET_ENV}=${secret}`);
  }
  out.record({
    type: 'ready',
    url: receiver.url,
    host: receiver.host,
    port: receiver.port,
    path: receiver.path,
    deliveries_url: `${receiver.url.slice(0, receiver.url.length - receiver.path.length)}${DELIVERIES_PATH}`,
    secret_source: plan.secretSource,
    // Only a secret made for this run is printed whole (once); a user's own stays masked.
    secret: plan.secretSource === 'generated' ? secret : maskSecret(secret),
    save_dir: plan.receiver.saveDir ?? null,
  });
  out.line(`Listening on ${c.bold(receiver.url)}`);
  const source = plan.secretSource === 'flag' ? '--secret' : plan.secretSource === 'env' ? SECRET_ENV : 'generated';
  out.note(
    ce.dim(
      `secret ${maskSecret(secret)} (${source}); history at ${receiver.url.slice(0, -receiver.path.length)}${DELIVERIES_PATH}`,
    ),
  );
  for (const fault of describeFaults(plan.receiver)) out.note(ce.magenta(`fault: ${fault}`));
  if (plan.receiver.saveDir !== undefined) out.note(ce.dim(`saving every delivery to ${plan.receiver.saveDir}`));
  if (!out.json) {
    const to =
      receiver.host === '127.0.0.1' || receiver.host === 'localhost' ? `localhost:${receiver.port}` : receiver.url;
    out.note(
      ce.dim(
        `try: facesign-webhooks send session.verified --to ${to}${plan.receiver.path && plan.receiver.path !== '/webhooks/facesign' ? plan.receiver.path : ''}   (Ctrl-C to stop)`,
      ),
    );
  }

  const reason = await waitForStop(
    interrupt.signal,
    plan.maxWaitMs,
    plan.exitAfter !== undefined ? reached : new Promise(() => undefined),
  );
  try {
    await receiver.close();
  } finally {
    interrupt.dispose();
  }
  const met = reason !== 'max-wait' || plan.exitAfter === undefined || accepted >= plan.exitAfter;
  printSummary(out, receiver.stats(), reason, plan, met);
  stdout.flush();
  return met ? EXIT.ok : EXIT.failed;
}
