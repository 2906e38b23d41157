import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo, type Socket } from 'node:net';
import { CliError, EXIT, usageError } from '../errors.js';
import { EVENT_ID_FIELD, SIGNATURE_FIELD } from '../signature/index.js';
import { captureJsonPieces, fitsInString, type Capture, type CaptureVerdict } from './capture.js';
import { createFaultPlan } from './faults.js';
import { judgeRequest, targetPath, type Judgement } from './judge.js';
import { describeFsError, prepareSaveDir, writeCaptureFile } from './store.js';

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

export interface ReceiverOptions {
  /** The endpoint secret every signature is checked against. */
  secret: string;
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
}

export interface ReceiverStats {
  /** Requests judged and recorded (everything but the history endpoint). */
  received: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  faults: number;
  /** Captures written to `saveDir`. */
  saved: number;
  saveErrors: number;
  /** Requests whose body never arrived in full (client went away or timed out). */
  incomplete: number;
  /** Connections that did not speak valid HTTP, or too slowly (answered 400/408/431 and closed). */
  badHttp: number;
}

export interface Receiver {
  /** The full webhook URL, e.g. http://127.0.0.1:PORT/webhooks/facesign. */
  url: string;
  host: string;
  port: number;
  path: string;
  /** The bounded history, oldest first. */
  deliveries(): Capture[];
  stats(): ReceiverStats;
  /** Stops accepting, lets in-flight requests finish (up to the grace period), writes every capture. */
  close(): Promise<void>;
}

interface Settings {
  secret: string;
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
}

/** Past the cap, the body is read and thrown away up to this much more, so the client sees the 413. */
const DRAIN_LIMIT_BYTES = 8 * 1024 * 1024;
const OVERFLOW_LINGER_MS = 2_000;
const MAX_PROCESSED_IDS = 100_000;
/** Event ids longer than this are remembered by their hash, so 100,000 remembered ids stay small. */
const MAX_ID_KEY_CHARS = 128;
const EMPTY = Buffer.alloc(0);

function checkInt(value: number | undefined, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw usageError(`${name} must be a whole number from ${min} to ${max} (got ${String(value)})`);
  }
  return value;
}

/** Validates the options and fills in the defaults. Pure. */
export function resolveReceiverSettings(options: ReceiverOptions): Settings {
  if (typeof options.secret !== 'string' || options.secret === '')
    throw usageError('the receiver needs a non-empty secret');
  const path = options.path ?? DEFAULT_RECEIVER_PATH;
  if (!path.startsWith('/') || /[\s?#]/.test(path))
    throw usageError(`--path "${path}" must start with / and hold no spaces, ? or #`, 'e.g. --path /webhooks/facesign');
  if (path === RECEIVER_API_PREFIX || path.startsWith(`${RECEIVER_API_PREFIX}/`))
    throw usageError(
      `--path ${path} is reserved: ${RECEIVER_API_PREFIX}/ holds the receiver's own endpoints (the delivery history)`,
    );
  checkInt(options.failFirst, '--fail-first', 0, 1_000_000, 0);
  checkInt(options.failStatus, '--fail-status', 300, 599, 500);
  checkInt(options.status, '--status', 200, 599, 200);
  if (options.failRate !== undefined && !(options.failRate >= 0 && options.failRate <= 1)) {
    throw usageError(
      `--fail-rate must be a probability from 0 to 1 (got ${String(options.failRate)})`,
      'e.g. --fail-rate 0.3 fails about 3 deliveries in 10',
    );
  }
  checkInt(options.seed, '--seed', 0, 2 ** 32 - 1, 0);
  const requestTimeoutMs = checkInt(options.requestTimeoutMs, 'requestTimeoutMs', 100, 3_600_000, 30_000);
  return {
    secret: options.secret,
    host: options.host ?? DEFAULT_RECEIVER_HOST,
    port: checkInt(options.port, '--port', 0, 65535, DEFAULT_RECEIVER_PORT),
    path,
    maxBodyBytes: checkInt(options.maxBodyBytes, '--max-body', 1, 1024 * 1024 * 1024, DEFAULT_MAX_BODY_BYTES),
    delayMs: checkInt(options.delayMs, '--delay', 0, 3_600_000, 0),
    hang: options.hang ?? false,
    historyLimit: checkInt(options.historyLimit, '--history', 0, 1_000_000, DEFAULT_HISTORY_LIMIT),
    historyMaxBytes: checkInt(options.historyMaxBytes, '--history-bytes', 1, 64 * 1024 ** 3, DEFAULT_HISTORY_MAX_BYTES),
    requestTimeoutMs,
    headersTimeoutMs: Math.min(
      requestTimeoutMs,
      checkInt(options.headersTimeoutMs, 'headersTimeoutMs', 100, 3_600_000, 10_000),
    ),
    closeGraceMs: checkInt(options.closeGraceMs, 'closeGraceMs', 0, 600_000, 5_000),
  };
}

/** `127.0.0.1` → itself, `::1` → `[::1]`, and the wildcard addresses → a loopback one a client can reach. */
export function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Node builds `IncomingMessage.headers` from the first 1000 header lines only (its default maxHeadersCount is 2000 entries). */
const MAX_HEADER_FIELDS = 1000;

/** Header fields of which Node keeps only the first copy (as `IncomingMessage.headers` does). */
const SINGLE_VALUE_HEADERS = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/**
 * `IncomingMessage.headers` flattened to strings, made from the raw name/value list with Node's
 * rules: names lowercased; repeats dropped for single-value fields, joined with "; " for cookie
 * and with ", " otherwise.
 */
export function headersFromRaw(raw: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const end = Math.min(raw.length, MAX_HEADER_FIELDS * 2);
  for (let i = 0; i + 1 < end; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    // An own-property test: a field named like an Object method ("constructor") is still new.
    if (!Object.hasOwn(out, name)) out[name] = value;
    else if (!SINGLE_VALUE_HEADERS.has(name)) out[name] = `${out[name]}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return out;
}

/**
 * The two fields judging reads (signature and event id), from the raw list in one pass, repeats
 * joined with ", " as Node joins them: Node's full header object is made only if a capture is read whole.
 */
function judgedHeaders(raw: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const end = Math.min(raw.length, MAX_HEADER_FIELDS * 2);
  for (let i = 0; i + 1 < end; i += 2) {
    const name = raw[i]!;
    if (name.length !== SIGNATURE_FIELD.length && name.length !== EVENT_ID_FIELD.length) continue;
    const field = name.toLowerCase();
    if (field !== SIGNATURE_FIELD && field !== EVENT_ID_FIELD) continue;
    out[field] = out[field] === undefined ? raw[i + 1]! : `${out[field]}, ${raw[i + 1]!}`;
  }
  return out;
}

/**
 * One delivery's capture, kept small because the history holds a thousand of them: the request's
 * raw header list and body bytes, the verdict, and a few numbers. The encodings a capture file
 * shows (headers, base64 and text of the body, the ISO time) are made when read.
 * `JSON.stringify` gives the full capture file (through `toJSON`).
 */
class ReceivedCapture implements Capture {
  constructor(
    readonly sequence: number,
    private readonly receivedAt: number,
    readonly remote_address: string | null,
    readonly remote_port: number | null,
    readonly method: string,
    readonly path: string,
    /** The raw header list joined with NUL (which no header can hold): one string to keep, not dozens. */
    private readonly rawHeaderText: string,
    private readonly body: Buffer,
    private readonly tooLarge: boolean,
    readonly verdict: CaptureVerdict,
    /** The body's size when `body` was left out (the history's copy of a body over its byte cap). */
    private readonly omittedBytes?: number,
  ) {}

  /** The same capture without its body bytes, for a history that cannot hold them. */
  withoutBody(): ReceivedCapture {
    return new ReceivedCapture(
      this.sequence,
      this.receivedAt,
      this.remote_address,
      this.remote_port,
      this.method,
      this.path,
      this.rawHeaderText,
      EMPTY,
      this.tooLarge,
      this.verdict,
      this.body.length,
    );
  }

  /** What keeping this capture costs, roughly in bytes: body, headers and the ids read from the body. */
  get weight(): number {
    const v = this.verdict;
    return (
      this.body.length +
      this.rawHeaderText.length +
      (v.event_id?.length ?? 0) +
      (v.event_type?.length ?? 0) +
      (v.session_id?.length ?? 0) +
      (v.user_id?.length ?? 0) +
      (v.reason?.length ?? 0)
    );
  }

  /** The bytes the capture file's body fields are made from. */
  get bodyBuffer(): Buffer {
    return this.body;
  }

  /** The capture's JSON in bounded pieces (see `captureJsonPieces`). */
  jsonPieces(indent: 0 | 2 = 0): Generator<string> {
    return captureJsonPieces(this, this.body, indent);
  }

  get version(): 1 {
    return 1;
  }

  get received_at(): string {
    return new Date(this.receivedAt).toISOString();
  }

  get body_bytes(): number {
    return this.omittedBytes ?? this.body.length;
  }

  get body_discarded(): true | undefined {
    return this.tooLarge ? true : undefined;
  }

  get body_omitted(): true | undefined {
    return this.omittedBytes !== undefined ? true : undefined;
  }

  get headers(): Record<string, string> {
    return headersFromRaw(this.rawHeaderList());
  }

  private rawHeaderList(): string[] {
    return this.rawHeaderText === '' ? [] : this.rawHeaderText.split('\0');
  }

  get raw_headers(): [string, string][] {
    const raw = this.rawHeaderList();
    const out: [string, string][] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
    return out;
  }

  get body_base64(): string {
    return this.body.toString('base64');
  }

  get body_text(): string {
    return this.body.toString('utf8');
  }

  /** The capture as a plain object, in the file's field order. */
  toJSON(): Capture {
    return {
      version: 1,
      sequence: this.sequence,
      received_at: this.received_at,
      remote_address: this.remote_address,
      remote_port: this.remote_port,
      method: this.method,
      path: this.path,
      headers: this.headers,
      raw_headers: this.raw_headers,
      body_base64: this.body_base64,
      body_text: this.body_text,
      body_bytes: this.body_bytes,
      ...(this.tooLarge ? { body_discarded: true as const } : {}),
      ...(this.omittedBytes !== undefined ? { body_omitted: true as const } : {}),
      verdict: this.verdict,
    };
  }
}

/** The verdict a capture records: the judgement's, with what was answered (or that nothing was). */
function recordedVerdict(judgement: Judgement, hang: boolean, delayMs: number): CaptureVerdict {
  const verdict = judgement.verdict;
  if (hang) {
    // The judgement is kept (signature, ids); only the answer is withheld.
    return {
      ...verdict,
      status: 0,
      outcome: 'fault',
      reason: `no answer (--hang)${verdict.reason ? `; would have been ${verdict.status}: ${verdict.reason}` : ''}`,
    };
  }
  verdict.response_body = judgement.responseBody;
  if (delayMs > 0) verdict.delayed_ms = delayMs;
  return verdict;
}

/**
 * Starts the built-in receiver: judges every request like a correct FaceSign handler, records
 * it (bounded history, optional capture files) and answers, with the faults it was asked to
 * inject. Resolves once it accepts connections.
 */
export async function startReceiver(options: ReceiverOptions): Promise<Receiver> {
  const settings = resolveReceiverSettings(options);
  if (options.saveDir !== undefined) prepareSaveDir(options.saveDir);
  const faults = createFaultPlan(options);
  const stats: ReceiverStats = {
    received: 0,
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    faults: 0,
    saved: 0,
    saveErrors: 0,
    incomplete: 0,
    badHttp: 0,
  };
  /** The history by sequence, in the order captures were recorded (a Map drops its oldest in O(1)). */
  const history = new Map<number, ReceivedCapture>();
  let historyBytes = 0;
  const processed = new Set<string>();
  /** Save failures already reported, by kind: each kind is warned about once, then only counted. */
  const saveFailuresSeen = new Set<string>();
  let refusedHostWarned = false;
  /** Requests still being read or answered; `close()` waits (up to its grace) for them. */
  let active = 0;
  let onDrained: (() => void) | undefined;
  /** Handlers that went asynchronous (capture files, --delay): `close()` lets every one finish. */
  const jobs = new Set<Promise<void>>();
  const hung = new Set<ServerResponse>();
  const stopDelays = new AbortController();
  let sequence = 0;
  let closing = false;
  /** The Host values the receiver's own endpoints answer to (known once listening). */
  let hosts: string[] = [];
  let port = 0;
  const warn = (message: string) => options.onWarning?.(message);

  /** Adds a capture to the history, then drops the oldest until both the count and the byte caps hold. */
  function remember(capture: ReceivedCapture): void {
    if (settings.historyLimit === 0) return;
    const kept =
      capture.weight > settings.historyMaxBytes || !fitsInString(capture.bodyBuffer.length)
        ? capture.withoutBody()
        : capture;
    history.set(kept.sequence, kept);
    historyBytes += kept.weight;
    for (const [seq, old] of history) {
      if (history.size <= settings.historyLimit && historyBytes <= settings.historyMaxBytes) break;
      history.delete(seq);
      historyBytes -= old.weight;
    }
  }

  /** Long event ids are remembered by their hash: the id sets stay small whatever the bodies hold. */
  function idKey(eventId: string): string {
    return eventId.length <= MAX_ID_KEY_CHARS
      ? eventId
      : `sha256:${createHash('sha256').update(eventId).digest('base64')}`;
  }

  function markProcessed(eventId: string): void {
    processed.add(idKey(eventId));
    if (processed.size > MAX_PROCESSED_IDS) processed.delete(processed.values().next().value as string);
  }

  function count(capture: Capture): void {
    stats.received++;
    const outcome = capture.verdict.outcome;
    if (outcome === 'accepted') stats.accepted++;
    else if (outcome === 'duplicate') stats.duplicates++;
    else if (outcome === 'rejected') stats.rejected++;
    else stats.faults++;
  }

  function answer(
    res: ServerResponse,
    status: number,
    body: string,
    headers?: Record<string, string>,
    contentType = 'text/plain; charset=utf-8',
  ): void {
    if (res.headersSent || res.destroyed) return;
    const all: Record<string, string> =
      headers === undefined || Object.keys(headers).length === 0
        ? { 'Content-Type': contentType }
        : { 'Content-Type': contentType, ...headers };
    if (closing) all.Connection = 'close';
    res.writeHead(status, all);
    res.end(body);
  }

  /** `/__facesign/*`: only for a Host naming this receiver (see `isLocalHost`), so no other site can read it. */
  function serveApi(req: IncomingMessage, res: ServerResponse, path: string): void {
    req.resume();
    if (!isLocalHost(req.headers.host, hosts, req.socket.localAddress, port)) {
      if (!refusedHostWarned) {
        refusedHostWarned = true;
        warn(
          `answered 421 to ${path} for Host ${JSON.stringify((req.headers.host ?? '').slice(0, 100))}: the receiver's own endpoints answer only to ${hosts.join(' or ')} (DNS-rebinding guard)`,
        );
      }
      return answer(res, 421, `Misdirected Request: ${path} answers only to Host ${hosts.join(' or ')}`);
    }
    if (path !== DELIVERIES_PATH) return answer(res, 404, `Not found: the receiver's history is at ${DELIVERIES_PATH}`);
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return answer(res, 405, 'Method not allowed: GET the history', { Allow: 'GET, HEAD' });
    const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    const since = readQueryInt(query, 'since', 0);
    const limit = readQueryInt(query, 'limit', 1);
    if (typeof since === 'string' || typeof limit === 'string')
      return answer(res, 400, (typeof since === 'string' ? since : limit) as string);
    streamHistory(res, since ?? 0, limit, req.method === 'HEAD').catch((err: unknown) => {
      warn(`serving the history failed: ${(err as Error).message}`);
      res.destroy();
    });
  }

  /**
   * Writes the history as one JSON object, one capture at a time and waiting for the client to
   * read each, so a large history never becomes one string. It lists the captures recorded when
   * the request came (after `since`, at most `limit`); one dropped meanwhile is left out, and
   * `count` (after the list) says how many were written.
   */
  async function streamHistory(
    res: ServerResponse,
    since: number,
    limit: number | undefined,
    headOnly: boolean,
  ): Promise<void> {
    const sequences: number[] = [];
    let more = false;
    for (const seq of history.keys()) {
      if (seq <= since) continue;
      if (limit !== undefined && sequences.length === limit) {
        more = true;
        break;
      }
      sequences.push(seq);
    }
    const head = {
      ...stats,
      history_limit: settings.historyLimit,
      history_max_bytes: settings.historyMaxBytes,
      history_bytes: historyBytes,
    };
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-store',
      ...(closing ? { Connection: 'close' } : {}),
    });
    if (headOnly) return void res.end();
    const send = async (text: string): Promise<boolean> => {
      if (res.destroyed) return false;
      if (!res.write(text)) await drained(res);
      return !res.destroyed;
    };
    if (!(await send(`${JSON.stringify(head).slice(0, -1)},"deliveries":[`))) return;
    let count = 0;
    let last: number | null = null;
    for (const seq of sequences) {
      const capture = history.get(seq);
      if (capture === undefined) continue;
      if (count > 0 && !(await send(','))) return;
      for (const piece of capture.jsonPieces(0)) if (!(await send(piece))) return;
      count++;
      last = seq;
    }
    res.end(`],"count":${count},"last_sequence":${last},"more":${more}}`);
  }

  function settle(): void {
    if (--active === 0 && onDrained) onDrained();
  }

  /** Reads one request's body (up to the cap), then judges, records and answers it. */
  function receive(req: IncomingMessage, res: ServerResponse): void {
    active++;
    const receivedAt = Date.now();
    const seq = ++sequence;
    const remoteAddress = req.socket.remoteAddress;
    const remotePort = req.socket.remotePort;
    const cap = settings.maxBodyBytes;
    const chunks: Buffer[] = [];
    let seen = 0;
    let done = false;
    const finish = (complete: boolean) => {
      if (done) return;
      done = true;
      if (!complete) {
        stats.incomplete++;
        return settle();
      }
      const tooLarge = seen > cap;
      try {
        processRequest(req, res, {
          seq,
          receivedAt,
          remoteAddress,
          remotePort,
          body: tooLarge ? EMPTY : Buffer.concat(chunks),
          tooLarge,
          seen,
        });
      } catch (err) {
        // Not expected for any request; the receiver must still answer and keep serving.
        warn(`request failed: ${(err as Error).message}`);
        answer(res, 500, 'Internal error in the receiver');
        settle();
      }
    };
    req.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen <= cap) chunks.push(chunk);
      else if (chunks.length > 0) chunks.length = 0;
      if (seen > cap + DRAIN_LIMIT_BYTES && !done) {
        // A client that keeps sending far past the cap gets its 413 now; the rest is still read and
        // dropped for a moment (cutting at once can reset the socket before the 413 is read), then cut.
        answer(res, 413, `Payload too large: the limit is ${cap} bytes`, { Connection: 'close' });
        setTimeout(() => req.socket.destroy(), OVERFLOW_LINGER_MS).unref();
        finish(true);
      }
    });
    req.on('end', () => finish(true));
    req.on('error', () => finish(false));
    req.on('close', () => finish(req.complete));
  }

  function processRequest(
    req: IncomingMessage,
    res: ServerResponse,
    read: {
      seq: number;
      receivedAt: number;
      remoteAddress: string | undefined;
      remotePort: number | undefined;
      body: Buffer;
      tooLarge: boolean;
      seen: number;
    },
  ): void {
    const method = req.method ?? '';
    const target = req.url ?? '';
    const raw = req.rawHeaders;
    const headers = judgedHeaders(raw);
    const judgement = judgeRequest(
      { method, target, headers, body: read.body, bodyTooLarge: read.tooLarge, bodyBytesSeen: read.seen },
      { path: settings.path, secret: settings.secret, maxBodyBytes: settings.maxBodyBytes, isProcessed, decideFault },
    );
    const hang = settings.hang && !read.tooLarge;
    const delayMs = hang ? 0 : settings.delayMs;
    const capture = new ReceivedCapture(
      read.seq,
      read.receivedAt,
      read.remoteAddress ?? null,
      read.remotePort ?? null,
      method,
      target,
      raw.join('\0'),
      read.body,
      read.tooLarge,
      recordedVerdict(judgement, hang, delayMs),
    );
    if (capture.verdict.outcome === 'accepted' && capture.verdict.event_id) markProcessed(capture.verdict.event_id);
    count(capture);
    remember(capture);
    if (options.saveDir !== undefined || hang || delayMs > 0) {
      // The slow path: a file to write, or an answer to hold back.
      const job = finishSlowly(res, capture, judgement, hang, delayMs)
        .catch((err: unknown) => {
          warn(`request failed: ${(err as Error).message}`);
          answer(res, 500, 'Internal error in the receiver');
        })
        .finally(() => {
          jobs.delete(job);
          settle();
        });
      jobs.add(job);
      return;
    }
    deliver(capture);
    answer(res, judgement.verdict.status, judgement.responseBody, judgement.headers);
    settle();
  }

  /** Tells the caller about a recorded delivery; a failing callback never breaks the receiver. */
  function deliver(capture: Capture): void {
    try {
      options.onDelivery?.(capture);
    } catch (err) {
      warn(`onDelivery failed: ${(err as Error).message}`);
    }
  }

  async function finishSlowly(
    res: ServerResponse,
    capture: ReceivedCapture,
    judgement: Judgement,
    hang: boolean,
    delayMs: number,
  ): Promise<void> {
    if (options.saveDir !== undefined) {
      try {
        await writeCaptureFile(options.saveDir, capture, capture.bodyBuffer);
        stats.saved++;
      } catch (err) {
        stats.saveErrors++;
        const kind = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        if (!saveFailuresSeen.has(kind)) {
          saveFailuresSeen.add(kind);
          warn(
            `could not write capture #${capture.sequence} to ${options.saveDir}: ${describeFsError(err)}; the delivery is still answered and in the history, and further ${kind} failures are only counted`,
          );
        }
      }
    }
    deliver(capture);
    if (hang) {
      hung.add(res);
      res.on('close', () => hung.delete(res));
      if (closing) res.destroy();
      return;
    }
    if (delayMs > 0) await sleep(delayMs, stopDelays.signal);
    answer(res, judgement.verdict.status, judgement.responseBody, judgement.headers);
  }

  const isProcessed = (id: string) => processed.has(idKey(id));
  const decideFault = (id: string) => faults.decide(idKey(id));

  const server = createServer(
    {
      requestTimeout: settings.requestTimeoutMs,
      headersTimeout: settings.headersTimeoutMs,
      // Node checks the two timeouts above on this interval (30 s by default: too coarse).
      connectionsCheckingInterval: Math.min(1_000, settings.headersTimeoutMs),
      keepAliveTimeout: 5_000,
    },
    (req, res) => {
      const url = req.url ?? '';
      if (url.startsWith(RECEIVER_API_PREFIX)) {
        const path = targetPath(url);
        if (path === RECEIVER_API_PREFIX || path?.startsWith(`${RECEIVER_API_PREFIX}/`))
          return serveApi(req, res, path);
      }
      receive(req, res);
    },
  );
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return socket.destroy();
    stats.badHttp++;
    const [status, text] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout']
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'Request Header Fields Too Large']
          : [400, 'Bad Request'];
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`,
    );
    socket.destroySoon?.();
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(listenError(err, settings.host, settings.port));
    server.once('error', onError);
    server.listen({ port: settings.port, host: settings.host, backlog: 2048 }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => warn(`server error: ${err.message}`));
  port = (server.address() as AddressInfo).port;
  const url = `http://${urlHost(settings.host)}:${port}${settings.path}`;
  hosts = localHosts(settings.host, port);

  let closed: Promise<void> | undefined;
  async function close(): Promise<void> {
    closing = true;
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    for (const res of hung) res.destroy();
    const drained = new Promise<void>((resolve) => (active === 0 ? resolve() : (onDrained = resolve)));
    const grace = new Promise<void>((resolve) => setTimeout(resolve, settings.closeGraceMs).unref());
    await Promise.race([drained, grace]);
    stopDelays.abort();
    server.closeAllConnections();
    // Every handler finishes its capture write even when its connection was cut.
    while (jobs.size > 0) await Promise.allSettled([...jobs]);
    await serverClosed;
  }

  return {
    url,
    host: settings.host,
    port,
    path: settings.path,
    deliveries: () => [...history.values()].map((c) => c.toJSON()),
    stats: () => ({ ...stats }),
    close: () => (closed ??= close()),
  };
}

/** The Host values (host:port) the receiver's own endpoints answer to: its bound address and localhost. */
export function localHosts(boundHost: string, port: number): string[] {
  const bound = boundHost.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  const names = new Set([bound, 'localhost']);
  // A wildcard (or the name localhost) is reached through a loopback address.
  if (bound === '0.0.0.0' || bound === '::' || bound === 'localhost') names.add('127.0.0.1');
  if (bound === '::' || bound === 'localhost') names.add('::1');
  return [...names].map((h) => `${h.includes(':') ? `[${h}]` : h}:${port}`);
}

/**
 * True when a request's Host names this receiver: one of `hosts`, or the IP address the request
 * arrived on. A DNS-rebinding page always sends its own domain name, never an IP address, so this
 * keeps a page in the user's browser from reading the captured deliveries.
 */
export function isLocalHost(
  header: string | undefined,
  hosts: readonly string[],
  localAddress: string | undefined,
  port: number,
): boolean {
  if (header === undefined || header === '') return false;
  let host = header.trim().toLowerCase();
  if (port === 80 && !/:\d+$/.test(host)) host = `${host}:80`;
  if (hosts.includes(host)) return true;
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(host);
  const address = m?.[1] ?? m?.[2];
  if (!m || address === undefined || Number(m[3]) !== port || isIP(address) === 0 || localAddress === undefined)
    return false;
  const plain = (a: string) => a.toLowerCase().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  return plain(address) === plain(localAddress);
}

/** A whole number from the query, at least `min`; undefined when absent, the error line when not a number. */
function readQueryInt(query: URLSearchParams, name: string, min: number): number | undefined | string {
  const text = query.get(name);
  if (text === null || text === '') return undefined;
  const n = Number(text);
  return /^\d+$/.test(text) && Number.isSafeInteger(n) && n >= min
    ? n
    : `Bad request: ${name} must be a whole number from ${min} (got ${JSON.stringify(text.slice(0, 40))})`;
}

/** Resolves once a response can take more data, or is gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function listenError(err: NodeJS.ErrnoException, host: string, port: number): CliError {
  switch (err.code) {
    case 'EADDRINUSE':
      return new CliError(`port ${port} on ${host} is already in use`, {
        exitCode: EXIT.usage,
        hint: 'stop the other server, pick another --port, or use --port 0 for a free one',
      });
    case 'EACCES':
      return new CliError(`not allowed to listen on port ${port}`, {
        exitCode: EXIT.usage,
        hint: 'ports below 1024 need privileges; use e.g. --port 3000',
      });
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new CliError(`cannot listen on host "${host}" (${err.code})`, {
        exitCode: EXIT.usage,
        hint: 'use an address of this machine, e.g. --host 127.0.0.1',
      });
    default:
      return new CliError(`cannot listen on ${host}:${port}: ${err.message}`, { exitCode: EXIT.usage });
  }
}
