import { projectSettings } from '../config/index.js';
import { resolveTarget } from '../delivery/target.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { DELIVERIES_PATH, startReceiver, type Receiver, type ReceiverOptions } from '../receiver/server.js';
import { createBatchedStream, createOutput } from '../report/output.js';
import {
  formatReceived,
  printListenStart,
  printListenSummary,
  receivedRecord,
  type SecretSource,
  type StopReason,
} from '../report/listen.js';
import { safeText } from '../report/text.js';
import { generateSecret, SECRET_ENV, secretFromEnv, warnSecretAccident } from '../secret.js';
import { watchInterrupt } from '../interrupt.js';
import { tlsOptionsFrom } from './shared.js';

export interface ListenOptions {
  /** The project config file (else the one found upward): listen.port, listen.path, timeouts.forward, secretEnv. */
  config?: string;
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
  /** The app to pass deliveries on to (the `--to` shorthand). */
  forwardTo?: string;
  /** Milliseconds. */
  forwardTimeout?: number;
  /** Accept the app's TLS certificate unchecked (with --forward-to). */
  insecure?: boolean;
  /** A PEM file of CA certificates to trust for the app (with --forward-to). */
  ca?: string;
  /** Undefined: on when both --save and --forward-to are given. */
  redact?: boolean;
  keepRaw?: boolean;
  /** False (`--no-ui`): no inspector page, stream or actions. */
  ui?: boolean;
  json?: boolean;
}

export type { SecretSource, StopReason };

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
      `give bytes or a size in kb or mb (1024-based), e.g. ${flag} 1mb or ${flag} 65536`,
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

/**
 * The secret and where it came from: the flag, the environment, else a generated one; none when
 * forwarding (the app judges signatures then, and listen says it did not).
 */
function planSecret(
  options: ListenOptions,
  env: NodeJS.ProcessEnv,
  secretEnv: string,
): { secret?: string; secretSource: SecretSource } {
  if (options.secret === '')
    throw usageError(
      '--secret is empty',
      options.forwardTo !== undefined
        ? `pass a secret, set ${secretEnv}, or leave both out: your app then judges signatures alone`
        : `pass a secret, set ${secretEnv}, or leave both out to get a generated one`,
    );
  const fromEnv = secretFromEnv(env, secretEnv);
  if (options.secret !== undefined) return { secret: options.secret, secretSource: 'flag' };
  if (fromEnv !== undefined) return { secret: fromEnv, secretSource: 'env' };
  if (options.forwardTo !== undefined) return { secretSource: 'none' };
  return { secret: generateSecret(), secretSource: 'generated' };
}

/** --forward-to resolved like --to; redaction on by default when deliveries from an app's traffic are saved. */
function planForward(options: ListenOptions, env: NodeJS.ProcessEnv) {
  let forwardTo: string | undefined;
  try {
    forwardTo = options.forwardTo !== undefined ? resolveTarget(options.forwardTo, env) : undefined;
  } catch (err) {
    // The same shorthand as --to, so the same errors, under this flag's name.
    if (err instanceof CliError) throw usageError(err.message.replace(/^--to\b/, '--forward-to'), err.hint);
    throw err;
  }
  if (forwardTo === undefined && (options.insecure || options.ca !== undefined)) {
    throw usageError(
      `${options.insecure ? '--insecure' : '--ca'} needs --forward-to: listen itself serves plain HTTP, ` +
        '--insecure and --ca only set how the app behind --forward-to is checked',
      'e.g. --forward-to https://localhost:8443/webhooks --ca ./dev-ca.pem',
    );
  }
  const redact = options.redact ?? (options.save !== undefined && forwardTo !== undefined);
  if (options.keepRaw && !redact) {
    throw usageError(
      '--keep-raw keeps the received bytes of redacted captures, and redaction is off',
      'add --redact (it is on by default only with --save and --forward-to)',
    );
  }
  return { forwardTo, forwardTimeoutMs: options.forwardTimeout, redact, keepRaw: options.keepRaw };
}

/** Maps flags and the environment onto receiver options. Pure apart from generating a secret. */
export function planListen(
  options: ListenOptions,
  env: NodeJS.ProcessEnv = process.env,
  secretEnv = SECRET_ENV,
): ListenPlan {
  const { secret, secretSource } = planSecret(options, env, secretEnv);
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
      ...planForward(options, env),
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
      ui: options.ui ?? true,
      historyMaxBytes:
        options.historyBytes !== undefined ? parseByteSize(options.historyBytes, '--history-bytes') : undefined,
    },
    exitAfter: options.exitAfter,
    maxWaitMs: options.maxWait !== undefined ? parseSeconds(options.maxWait, '--max-wait') : undefined,
  };
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

export async function runListen(options: ListenOptions): Promise<number> {
  const stdout = createBatchedStream();
  const out = createOutput({ json: options.json, stdout });
  // Port, path, forward timeout and the secret's variable: flag > project config > default.
  const settings = projectSettings(options.config, {
    port: options.port,
    path: options.path,
    forwardTimeoutMs: options.forwardTimeout,
  });
  const secretEnv = settings.secretEnv.value;
  const plan = planListen(
    {
      ...options,
      port: settings.listenPort.value,
      path: settings.listenPath.value,
      forwardTimeout: settings.forwardTimeoutMs.value,
    },
    process.env,
    secretEnv,
  );
  // Read (and checked) before the port opens: a bad --ca file stops the run with exit 2.
  const tls = plan.receiver.forwardTo !== undefined ? tlsOptionsFrom(options, out.note) : {};
  const secret = plan.receiver.secret;
  if (secret !== undefined && (plan.secretSource === 'flag' || plan.secretSource === 'env'))
    warnSecretAccident(secret, plan.secretSource, undefined, secretEnv);
  // A second Ctrl-C exits at once, but not before every line already decided is written out.
  const interrupt = watchInterrupt({ beforeExit: () => stdout.drained() });
  let accepted = 0;
  let reachExitAfter!: () => void;
  const reached = new Promise<void>((resolve) => (reachExitAfter = resolve));
  let receiver: Receiver;
  try {
    receiver = await startReceiver({
      ...plan.receiver,
      forwardInsecure: tls.insecure,
      forwardCa: tls.ca,
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

  const base = receiver.url.slice(0, receiver.url.length - receiver.path.length);
  printListenStart(out, {
    receiver,
    deliveriesUrl: `${base}${DELIVERIES_PATH}`,
    historyUrl: `${receiver.url.slice(0, -receiver.path.length)}${DELIVERIES_PATH}`,
    secret: plan.receiver.secret,
    secretSource: plan.secretSource,
    secretEnv,
    options: plan.receiver,
  });

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
  printListenSummary(out, {
    stats: receiver.stats(),
    reason,
    exitAfter: plan.exitAfter,
    saveDir: plan.receiver.saveDir,
    met,
  });
  stdout.flush();
  return met ? EXIT.ok : EXIT.failed;
}
