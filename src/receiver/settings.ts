import { FieldError } from '../errors.js';
import type { Capture } from './capture.js';
import type { FaultSettings } from './faults.js';

export const DEFAULT_RECEIVER_HOST = '127.0.0.1';
export const DEFAULT_RECEIVER_PORT = 3000;
export const DEFAULT_RECEIVER_PATH = '/webhooks/facesign';
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export const DEFAULT_HISTORY_LIMIT = 1000;
export const DEFAULT_HISTORY_MAX_BYTES = 64 * 1024 * 1024;
/** The receiver's own endpoints live under this path; only a local Host may use them. */
export const RECEIVER_API_PREFIX = '/__facesign';
/** `GET` this path for the bounded history of what arrived (for CI scripts and tests). */
export const DELIVERIES_PATH = `${RECEIVER_API_PREFIX}/deliveries`;
/** The inspector page's own address (it is also at `/` unless the webhook path is `/`). */
export const UI_PATH = `${RECEIVER_API_PREFIX}/ui/`;
/** Server-Sent Events of every delivery recorded, for the inspector page. */
export const STREAM_PATH = `${RECEIVER_API_PREFIX}/stream`;
/** The inspector's state-changing actions (POST, with the run's token). */
export const ACTIONS_PATH = `${RECEIVER_API_PREFIX}/actions`;

export interface ReceiverOptions {
  /**
   * The endpoint secret every signature is checked against. May be left out only with `forwardTo`:
   * then signatures are not checked (`signature: "unchecked"`) and the app judges them.
   */
  secret?: string;
  /**
   * Forward every request that reaches the webhook path (POST, within the size cap) to this URL,
   * byte for byte, and answer the sender with the app's answer. Injected faults are answered in front of it.
   */
  forwardTo?: string;
  /** How long the app may take to answer a forwarded request, in ms (default 10000); then the sender gets 504. */
  forwardTimeoutMs?: number;
  /** With `forwardTo` at https://: accept the app's certificate unchecked (self-signed). */
  forwardInsecure?: boolean;
  /** With `forwardTo` at https://: trust these PEM CA certificates instead of Node's built-in list. */
  forwardCa?: string | Buffer | (string | Buffer)[];
  /** Replace personal data in the history and capture files (`"[redacted]"`); default false. */
  redact?: boolean;
  /** With `redact`: keep the received bytes too (`raw_body_base64`). */
  keepRaw?: boolean;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 3000; 0 picks a free port. */
  port?: number;
  /** Default /webhooks/facesign. */
  path?: string;
  /** Bodies over this many bytes are answered 413 (default 1 MiB). */
  maxBodyBytes?: number;
  /** The first N attempts of EACH event id get `failStatus`. */
  failFirst?: number;
  /** Status for --fail-first and --fail-rate (default 500). */
  failStatus?: number;
  /** Always answer this status; a 2xx one still processes the event. */
  status?: number;
  /** Hold every answer back this many milliseconds. */
  delayMs?: number;
  /** Never answer (the request stays open until the client gives up or the receiver closes). */
  hang?: boolean;
  /** Probability 0..1 that a delivery gets `failStatus`. */
  failRate?: number;
  seed?: number;
  /** Write every delivery to this directory as a capture file. */
  saveDir?: string;
  /** How many captures `deliveries()` keeps (default 1000, oldest dropped first). */
  historyLimit?: number;
  /**
   * How many bytes of bodies (and their headers) the history holds at most (default 64 MiB, oldest
   * dropped first). A body larger than this on its own is kept without its bytes (`body_omitted`).
   */
  historyMaxBytes?: number;
  /** Called once per delivery with its verdict decided (and its file written, with `saveDir`). */
  onDelivery?: (capture: Capture) => void;
  /** Called for problems that do not stop the receiver (e.g. a capture that could not be written). */
  onWarning?: (message: string) => void;
  /** A request must arrive whole within this many ms (default 30 s); slower clients get 408. */
  requestTimeoutMs?: number;
  /** Request headers must arrive within this many ms (default 10 s). */
  headersTimeoutMs?: number;
  /** How long `close()` lets in-flight requests finish before cutting them (default 5 s). */
  closeGraceMs?: number;
  /**
   * Serve the inspector page at `/` (and `/__facesign/ui/`), its event stream and its actions
   * (default true); false leaves only the JSON history.
   */
  ui?: boolean;
}

/** TLS settings for the connections to the app. */
export interface ForwardTls {
  insecure: boolean;
  ca: string | Buffer | (string | Buffer)[] | undefined;
}

/** The receiver's options checked and with every default filled in; plain data. */
export interface ReceiverSettings {
  /** Undefined only when forwarding: signatures are then not checked. */
  secret: string | undefined;
  /** The app's URL, when forwarding. */
  forwardTo: string | undefined;
  forwardTimeoutMs: number;
  /** How the app's certificate is checked (https:// forward targets). */
  forwardTls: ForwardTls;
  redact: boolean;
  keepRaw: boolean;
  host: string;
  port: number;
  path: string;
  maxBodyBytes: number;
  delayMs: number;
  hang: boolean;
  historyLimit: number;
  historyMaxBytes: number;
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  closeGraceMs: number;
  /** The inspector page, its stream and actions are served. */
  ui: boolean;
  /** Where capture files go; undefined keeps them in the history only. */
  saveDir: string | undefined;
  /** The faults to inject, as given (checked). */
  faults: FaultSettings;
}

/** `value` when it is an integer from `min` to `max`, `fallback` when undefined; else a FieldError naming `field`. */
function checkInt(value: number | undefined, field: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new FieldError(field, `${field} must be a whole number from ${min} to ${max} (got ${String(value)})`);
  }
  return value;
}

/** The longest `forwardTimeoutMs` (and `listen --forward-timeout`) may be: one hour. */
export const MAX_FORWARD_TIMEOUT_MS = 3_600_000;

/** A webhook path: starts with /, no spaces, ? or #, and not under the receiver's own endpoints. */
export function checkPath(path: string): string {
  if (typeof path !== 'string' || !path.startsWith('/') || /[\s?#]/.test(path))
    throw new FieldError(
      'path',
      `path "${String(path)}" must start with / and hold no spaces, ? or #`,
      'e.g. /webhooks/facesign',
    );
  if (path === RECEIVER_API_PREFIX || path.startsWith(`${RECEIVER_API_PREFIX}/`))
    throw new FieldError(
      'path',
      `path ${path} is reserved: ${RECEIVER_API_PREFIX}/ holds the receiver's own endpoints (the delivery history)`,
    );
  return path;
}

function checkFaults(options: ReceiverOptions): FaultSettings {
  const { failFirst, failStatus, status, failRate, seed } = options;
  checkInt(failFirst, 'failFirst', 0, 1_000_000, 0);
  checkInt(failStatus, 'failStatus', 300, 599, 500);
  checkInt(status, 'status', 200, 599, 200);
  if (failRate !== undefined && !(failRate >= 0 && failRate <= 1)) {
    throw new FieldError(
      'failRate',
      `failRate must be a probability from 0 to 1 (got ${String(failRate)})`,
      'e.g. 0.3 fails about 3 deliveries in 10',
    );
  }
  checkInt(seed, 'seed', 0, 2 ** 32 - 1, 0);
  return { failFirst, failStatus, status, failRate, seed };
}

function checkForwardTo(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:'))
    throw new FieldError('forwardTo', `forwardTo must be an http(s) URL (got ${JSON.stringify(url.slice(0, 200))})`);
  return url;
}

/** True when `url` reaches this receiver itself: each forwarded delivery would arrive again, in a loop. */
function forwardsToItself(url: string, boundHost: string, port: number): boolean {
  const target = new URL(url);
  if (target.protocol !== 'http:' || Number(target.port || 80) !== port) return false;
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const bound = boundHost.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const loopback = (h: string) => h === 'localhost' || h === '::1' || h.startsWith('127.');
  if (host === bound) return true;
  if (['0.0.0.0', '::', 'localhost'].includes(bound)) return loopback(host);
  return host === 'localhost' && loopback(bound);
}

/** Validates the options and fills in the defaults. Pure: errors name the option's field. */
export function resolveReceiverSettings(options: ReceiverOptions): ReceiverSettings {
  const forwardTo = checkForwardTo(options.forwardTo);
  const unchecked = options.secret === undefined && forwardTo !== undefined;
  if (!unchecked && (typeof options.secret !== 'string' || options.secret === ''))
    throw new FieldError('secret', 'secret must be a non-empty string: the receiver needs it to check signatures');
  const path = checkPath(options.path ?? DEFAULT_RECEIVER_PATH);
  const faults = checkFaults(options);
  if (forwardTo !== undefined && faults.status !== undefined && faults.status < 300)
    throw new FieldError(
      'status',
      `status ${faults.status} cannot apply while forwarding: the app answers the deliveries that reach it`,
      'give a failing status (300-599) to answer in front of the app',
    );
  if (options.keepRaw && !options.redact)
    throw new FieldError('keepRaw', 'keepRaw keeps the received bytes of redacted captures: it needs redact');
  for (const field of ['forwardInsecure', 'forwardCa'] as const)
    if (options[field] !== undefined && options[field] !== false && forwardTo === undefined)
      throw new FieldError(field, `${field} sets how the app's certificate is checked: it needs forwardTo`);
  const requestTimeoutMs = checkInt(options.requestTimeoutMs, 'requestTimeoutMs', 100, 3_600_000, 30_000);
  const host = options.host ?? DEFAULT_RECEIVER_HOST;
  const port = checkInt(options.port, 'port', 0, 65535, DEFAULT_RECEIVER_PORT);
  if (forwardTo !== undefined && port !== 0 && forwardsToItself(forwardTo, host, port))
    throw new FieldError(
      'forwardTo',
      `forwardTo ${new URL(forwardTo).host} is this receiver's own address: it would forward each delivery to itself`,
      'forward to the port your app listens on; the receiver and the app each need their own port',
    );
  return {
    secret: options.secret,
    forwardTo,
    forwardTimeoutMs: checkInt(options.forwardTimeoutMs, 'forwardTimeoutMs', 1, MAX_FORWARD_TIMEOUT_MS, 10_000),
    forwardTls: { insecure: options.forwardInsecure === true, ca: options.forwardCa },
    redact: options.redact ?? false,
    keepRaw: options.keepRaw ?? false,
    host,
    port,
    path,
    maxBodyBytes: checkInt(options.maxBodyBytes, 'maxBodyBytes', 1, 1024 ** 3, DEFAULT_MAX_BODY_BYTES),
    delayMs: checkInt(options.delayMs, 'delayMs', 0, 3_600_000, 0),
    hang: options.hang ?? false,
    historyLimit: checkInt(options.historyLimit, 'historyLimit', 0, 1_000_000, DEFAULT_HISTORY_LIMIT),
    historyMaxBytes: checkInt(options.historyMaxBytes, 'historyMaxBytes', 1, 64 * 1024 ** 3, DEFAULT_HISTORY_MAX_BYTES),
    requestTimeoutMs,
    headersTimeoutMs: Math.min(
      requestTimeoutMs,
      checkInt(options.headersTimeoutMs, 'headersTimeoutMs', 100, 3_600_000, 10_000),
    ),
    closeGraceMs: checkInt(options.closeGraceMs, 'closeGraceMs', 0, 600_000, 5_000),
    ui: options.ui ?? true,
    saveDir: options.saveDir,
    faults,
  };
}
