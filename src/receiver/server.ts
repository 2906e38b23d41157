import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { CliError, EXIT, usageError } from '../errors.js';
import { EVENT_ID_FIELD, SIGNATURE_FIELD } from '../signature/index.js';
import type { Capture, CaptureVerdict } from './capture.js';
import { createFaultPlan } from './faults.js';
import { judgeRequest, targetPath, type Judgement, type ReceivedRequest } from './judge.js';
import { prepareSaveDir, writeCaptureFile } from './store.js';

export const DEFAULT_RECEIVER_HOST = '127.0.0.1';
export const DEFAULT_RECEIVER_PORT = 3000;
export const DEFAULT_RECEIVER_PATH = '/webhooks/facesign';
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export const DEFAULT_HISTORY_LIMIT = 1000;
/** `GET` this path for the bounded history of what arrived (for CI scripts and tests). */
export const DELIVERIES_PATH = '/__facesign/deliveries';

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
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  closeGraceMs: number;
}

/** Past the cap, the body is read and thrown away up to this much more, so the client sees the 413. */
const DRAIN_LIMIT_BYTES = 8 * 1024 * 1024;
const OVERFLOW_LINGER_MS = 2_000;
/** History also stops holding bodies past this many bytes in total (oldest dropped first). */
const HISTORY_MAX_BYTES = 256 * 1024 * 1024;
const MAX_PROCESSED_IDS = 100_000;
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
  if (typeof options.secret !== 'string' || options.secret === '') throw usageError('the receiver needs a non-empty secret');
  const path = options.path ?? DEFAULT_RECEIVER_PATH;
  if (!path.startsWith('/') || /[\s?#]/.test(path)) throw usageError(`--path "${path}" must start with / and hold no spaces, ? or #`, 'e.g. --path /webhooks/facesign');
  if (path === DELIVERIES_PATH) throw usageError(`--path ${DELIVERIES_PATH} is reserved for the delivery history`);
  checkInt(options.failFirst, '--fail-first', 0, 1_000_000, 0);
  checkInt(options.failStatus, '--fail-status', 300, 599, 500);
  checkInt(options.status, '--status', 200, 599, 200);
  if (options.failRate !== undefined && !(options.failRate >= 0 && options.failRate <= 1)) {
    throw usageError(`--fail-rate must be a probability from 0 to 1 (got ${String(options.failRate)})`, 'e.g. --fail-rate 0.3 fails about 3 deliveries in 10');
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
    requestTimeoutMs,
    headersTimeoutMs: Math.min(requestTimeoutMs, checkInt(options.headersTimeoutMs, 'headersTimeoutMs', 100, 3_600_000, 10_000)),
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
  'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host', 'if-modified-since',
  'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'referer', 'retry-after', 'server', 'user-agent',
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
  ) {}

  get version(): 1 {
    return 1;
  }

  get received_at(): string {
    return new Date(this.receivedAt).toISOString();
  }

  get body_bytes(): number {
    return this.body.length;
  }

  get body_discarded(): true | undefined {
    return this.tooLarge ? true : undefined;
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
      verdict: this.verdict,
    };
  }
}

/** The verdict a capture records: the judgement's, with what was answered (or that nothing was). */
function recordedVerdict(judgement: Judgement, hang: boolean, delayMs: number): CaptureVerdict {
  const verdict = judgement.verdict;
  if (hang) {
    // The judgement is kept (signature, ids); only the answer is withheld.
    return { ...verdict, status: 0, outcome: 'fault', reason: `no answer (--hang)${verdict.reason ? `; would have been ${verdict.status}: ${verdict.reason}` : ''}` };
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
  const stats: ReceiverStats = { received: 0, accepted: 0, duplicates: 0, rejected: 0, faults: 0, saved: 0, saveErrors: 0, incomplete: 0, badHttp: 0 };
  const history: ReceivedCapture[] = [];
  let historyBytes = 0;
  const processed = new Set<string>();
  /** Requests still being read or answered; `close()` waits (up to its grace) for them. */
  let active = 0;
  let onDrained: (() => void) | undefined;
  /** Handlers that went asynchronous (capture files, --delay): `close()` lets every one finish. */
  const jobs = new Set<Promise<void>>();
  const hung = new Set<ServerResponse>();
  const stopDelays = new AbortController();
  let sequence = 0;
  let closing = false;
  const warn = (message: string) => options.onWarning?.(message);

  function remember(capture: ReceivedCapture): void {
    if (settings.historyLimit === 0) return;
    history.push(capture);
    historyBytes += capture.body_bytes;
    while (history.length > settings.historyLimit || (historyBytes > HISTORY_MAX_BYTES && history.length > 1)) {
      historyBytes -= history.shift()!.body_bytes;
    }
  }

  function markProcessed(eventId: string): void {
    processed.add(eventId);
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

  function answer(res: ServerResponse, status: number, body: string, headers?: Record<string, string>, contentType = 'text/plain; charset=utf-8'): void {
    if (res.headersSent || res.destroyed) return;
    const all: Record<string, string> = headers === undefined || Object.keys(headers).length === 0 ? { 'Content-Type': contentType } : { 'Content-Type': contentType, ...headers };
    if (closing) all.Connection = 'close';
    res.writeHead(status, all);
    res.end(body);
  }

  function serveHistory(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(res, 405, 'Method not allowed: GET the history', { Allow: 'GET' });
    const since = Number(new URLSearchParams((req.url ?? '').split('?')[1] ?? '').get('since') ?? 0);
    const list = Number.isFinite(since) && since > 0 ? history.filter((c) => c.sequence > since) : history;
    const body = JSON.stringify({ ...stats, history_limit: settings.historyLimit, count: list.length, deliveries: list });
    answer(res, 200, body, {}, 'application/json');
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
        processRequest(req, res, { seq, receivedAt, remoteAddress, remotePort, body: tooLarge ? EMPTY : Buffer.concat(chunks), tooLarge, seen });
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

  function processRequest(req: IncomingMessage, res: ServerResponse, read: { seq: number; receivedAt: number; remoteAddress: string | undefined; remotePort: number | undefined; body: Buffer; tooLarge: boolean; seen: number }): void {
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
    const capture = new ReceivedCapture(read.seq, read.receivedAt, read.remoteAddress ?? null, read.remotePort ?? null, method, target, raw.join('\0'), read.body, read.tooLarge, recordedVerdict(judgement, hang, delayMs));
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

  async function finishSlowly(res: ServerResponse, capture: ReceivedCapture, judgement: Judgement, hang: boolean, delayMs: number): Promise<void> {
    if (options.saveDir !== undefined) {
      try {
        await writeCaptureFile(options.saveDir, capture);
        stats.saved++;
      } catch (err) {
        stats.saveErrors++;
        warn(`could not write capture #${capture.sequence} to ${options.saveDir}: ${(err as Error).message}`);
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

  const isProcessed = (id: string) => processed.has(id);
  const decideFault = (id: string) => faults.decide(id);

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
      if (url.startsWith(DELIVERIES_PATH) && targetPath(url) === DELIVERIES_PATH) {
        req.resume();
        return serveHistory(req, res);
      }
      receive(req, res);
    },
  );
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return socket.destroy();
    stats.badHttp++;
    const [status, text] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout'] : err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large'] : [400, 'Bad Request'];
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`);
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
  const port = (server.address() as AddressInfo).port;
  const url = `http://${urlHost(settings.host)}:${port}${settings.path}`;

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
    deliveries: () => history.map((c) => c.toJSON()),
    stats: () => ({ ...stats }),
    close: () => (closed ??= close()),
  };
}

function listenError(err: NodeJS.ErrnoException, host: string, port: number): CliError {
  switch (err.code) {
    case 'EADDRINUSE':
      return new CliError(`port ${port} on ${host} is already in use`, { exitCode: EXIT.usage, hint: 'stop the other server, pick another --port, or use --port 0 for a free one' });
    case 'EACCES':
      return new CliError(`not allowed to listen on port ${port}`, { exitCode: EXIT.usage, hint: 'ports below 1024 need privileges; use e.g. --port 3000' });
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new CliError(`cannot listen on host "${host}" (${err.code})`, { exitCode: EXIT.usage, hint: 'use an address of this machine, e.g. --host 127.0.0.1' });
    default:
      return new CliError(`cannot listen on ${host}:${port}: ${err.message}`, { exitCode: EXIT.usage });
  }
}
