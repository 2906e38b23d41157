import type { Dispatcher } from 'undici';
import { readCapped } from './capped-body.js';
import { describeNetworkError, ProtocolError, type NetworkError } from './network-error.js';
import { localhostLookup, MAX_HEAD_BYTES, MAX_RESPONSE_BYTES } from './lookup.js';
import { validateHeaders, type WebhookRequest } from './request.js';
import { isLoopbackHost, urlCredentials } from './target.js';

export const DEFAULT_TIMEOUT_MS = 10_000;
export { localhostLookup, MAX_RESPONSE_BYTES };
export const RESPONSE_PREVIEW_CHARS = 200;
/** undici's Dispatcher: an `Agent`, `ProxyAgent`, `MockAgent`… of the caller's, for `deliver` and `checkEndpoint`. */
export type { Dispatcher };

export interface DeliveryResult {
  /** True for any 2xx (FaceSign's definition of success). */
  ok: boolean;
  status?: number;
  /** `Location` of a 3xx: redirects are reported, never followed. */
  location?: string;
  /** First 200 characters of the response body. */
  responseBody?: string;
  /** Bytes of the response body read (at most 64 KiB). */
  responseBytes: number;
  /** The response's headers, names lowercased, a repeated one once per value (absent without a response). */
  responseHeaders?: [string, string][];
  /** True when the body was longer than what was read. */
  truncated: boolean;
  error?: NetworkError;
  /** Milliseconds from sending to the end of the response (or the error). */
  latencyMs: number;
  /** Wall-clock time the attempt started (ms since the epoch). */
  startedAt: number;
}

export interface DeliverOptions {
  /** Whole-response deadline in ms (connect, headers and body). */
  timeoutMs?: number;
  /**
   * An undici Dispatcher to send through (your `Agent`, a `ProxyAgent`, a `MockAgent` in tests); it
   * is left open. Without one, each delivery opens a connection of its own (through
   * `HTTP_PROXY`/`HTTPS_PROXY` unless the target is loopback or in `NO_PROXY`) and closes it.
   */
  dispatcher?: Dispatcher;
  /** Aborts the attempt (e.g. on Ctrl-C). */
  signal?: AbortSignal;
  /** Accept any TLS certificate from the endpoint (self-signed ones). Not used with `dispatcher`. */
  insecure?: boolean;
  /** PEM CA certificate(s) to trust instead of Node's built-in list. Not used with `dispatcher`. */
  ca?: string | Buffer | (string | Buffer)[];
}

type Undici = typeof import('undici');
let undici: Promise<Undici> | undefined;
/**
 * undici costs tens of ms to load: only a delivery loads it, once. (A CommonJS module: its
 * exports are the default export of the CLI's bundled chunk, and named ones under plain Node.)
 */
const loadUndici = () =>
  (undici ??= import('undici').then((m) => ((m as { default?: Undici }).default ?? m) as Undici));

/** Headers the HTTP client writes itself or that describe a connection; never taken from the request. */
const CLIENT_HEADERS = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'proxy-connection',
]);

/** The request's headers as they go on the wire, plus Basic auth from the URL's `user:password@` (as curl does). */
function wireHeaders(req: WebhookRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers))
    if (!CLIENT_HEADERS.has(name.toLowerCase())) headers[name] = value;
  const credentials = urlCredentials(req.url);
  if (credentials && !Object.keys(headers).some((k) => k.toLowerCase() === 'authorization')) {
    headers['Authorization'] =
      `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`, 'utf8').toString('base64')}`;
  }
  return headers;
}

/**
 * The proxy curl would use for this URL (`http_proxy`/`HTTP_PROXY`, `https_proxy`/`HTTPS_PROXY`);
 * never for loopback.
 */
function proxyFor(url: URL, env: NodeJS.ProcessEnv): string | undefined {
  if (isLoopbackHost(url.hostname)) return undefined;
  const proxy = url.protocol === 'https:' ? (env.https_proxy ?? env.HTTPS_PROXY) : (env.http_proxy ?? env.HTTP_PROXY);
  return proxy?.trim() ? proxy.trim() : undefined;
}

/** A dispatcher for one delivery: one connection, closed by the caller when the delivery is done. */
async function ownDispatcher(
  url: URL,
  options: DeliverOptions,
  timeoutMs: number,
): Promise<{ dispatcher: Dispatcher; proxied: boolean }> {
  const { Agent, EnvHttpProxyAgent } = await loadUndici();
  const tls = { rejectUnauthorized: !options.insecure, ...(options.ca !== undefined ? { ca: options.ca } : {}) };
  // `localhost` reaches a server on 127.0.0.1 or on ::1, whatever /etc/hosts says (happy eyeballs).
  const connect = {
    ...tls,
    timeout: timeoutMs,
    lookup: localhostLookup,
    autoSelectFamily: true,
    autoSelectFamilyAttemptTimeout: 250,
    noDelay: true,
  } as Record<string, unknown>;
  const base = {
    connections: 1,
    connect,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    maxHeaderSize: MAX_HEAD_BYTES,
  };
  const proxy = proxyFor(url, process.env);
  if (proxy === undefined) return { dispatcher: new Agent(base), proxied: false };
  // EnvHttpProxyAgent applies NO_PROXY; plain-HTTP targets go in absolute form (as curl sends them),
  // https ones through CONNECT.
  const dispatcher = new EnvHttpProxyAgent({
    ...base,
    httpProxy: proxy,
    httpsProxy: proxy,
    proxyTunnel: false,
    requestTls: tls,
  });
  return { dispatcher, proxied: true };
}

/**
 * True when something at the URL's host and port completes a TLS handshake (used to explain a
 * plain-HTTP request being dropped).
 */
async function speaksTls(url: URL, waitMs: number): Promise<boolean> {
  if (waitMs <= 0) return false;
  const [tls, { isIP }] = await Promise.all([import('node:tls'), import('node:net')]);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise<boolean>((resolve) => {
    const socket = tls.connect({
      host,
      port: Number(url.port || 80),
      rejectUnauthorized: false,
      servername: isIP(host) ? undefined : host,
      lookup: localhostLookup as never,
      autoSelectFamily: true,
    } as import('node:tls').ConnectionOptions);
    const finish = (yes: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(yes);
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.once('secureConnect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/** A control byte (HTAB aside) in a reason phrase or header value the parser let through. */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

function firstControl(statusText: string, headers: Record<string, string | string[] | undefined>): string | undefined {
  const hex = (s: string) => `0x${s.charCodeAt(s.search(CONTROL)).toString(16).padStart(2, '0')}`;
  if (CONTROL.test(statusText)) return `control character ${hex(statusText)} in the status line`;
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : [value ?? ''])
      if (CONTROL.test(v)) return `control character ${hex(v)} in the ${name} header`;
  }
  return undefined;
}

type Outcome = Omit<DeliveryResult, 'latencyMs' | 'startedAt'>;
type StopReason = 'timeout' | 'aborted' | ProtocolError;

const abortError = (message = 'aborted') => Object.assign(new Error(message), { name: 'AbortError' });

function failed(err: unknown, req: WebhookRequest, timeoutMs: number, timedOut = false): Outcome {
  return {
    ok: false,
    error: describeNetworkError(err, req.url, timeoutMs, timedOut),
    responseBytes: 0,
    truncated: false,
  };
}

/** When an attempt started, for its result's `startedAt` and `latencyMs`. */
class Clock {
  startedAt = Date.now();
  t0 = performance.now();
  restart(): void {
    this.startedAt = Date.now();
    this.t0 = performance.now();
  }
  stamp(outcome: Outcome): DeliveryResult {
    return { ...outcome, latencyMs: performance.now() - this.t0, startedAt: this.startedAt };
  }
}

/** One deadline over the whole exchange (connect, headers, body), and the caller's signal. */
class Exchange {
  readonly controller = new AbortController();
  /** Why the exchange was stopped, if it was: the first reason wins. */
  ended: StopReason | undefined;
  gotHeaders = false;
  readonly deadline: number;
  private readonly timer: NodeJS.Timeout;
  private readonly signal: AbortSignal | undefined;
  private readonly onAbort = () => this.stop('aborted');

  constructor(timeoutMs: number, signal: AbortSignal | undefined) {
    this.signal = signal;
    this.deadline = Date.now() + timeoutMs;
    this.timer = setTimeout(() => this.stop('timeout'), timeoutMs);
    if (signal?.aborted) this.onAbort();
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  stop(why: StopReason): void {
    this.ended ??= why;
    this.controller.abort(typeof why === 'string' ? abortError(why) : why);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this.onAbort);
  }
}

/** The request's URL, when it is one this client can send to. */
function targetUrl(raw: string): URL {
  const url = new URL(raw);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TypeError(`unsupported protocol ${url.protocol}`);
  return url;
}

/** Sends the request and waits for the response head. */
function dispatch(
  dispatcher: Dispatcher,
  url: URL,
  req: WebhookRequest,
  timeoutMs: number,
  exchange: Exchange,
): Promise<Dispatcher.ResponseData> {
  exchange.controller.signal.throwIfAborted();
  return dispatcher.request({
    origin: url.origin,
    path: `${url.pathname}${url.search}` || '/',
    method: 'POST',
    headers: wireHeaders(req),
    body: req.body,
    signal: exchange.controller.signal,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    // undici passes a 101 to a request that asked for no upgrade on as an interim answer (and then
    // trips over it): it is a protocol error at once, never a timeout or a later success.
    onInfo: ({ statusCode }) => {
      if (statusCode === 101)
        exchange.stop(new ProtocolError('a 101 Switching Protocols answer to a request that asked for no upgrade'));
    },
  });
}

/** What came back: status, a 3xx's Location, a preview of the body. Throws on control bytes in the head. */
async function readResponse(res: Dispatcher.ResponseData): Promise<Outcome> {
  const bad = firstControl(res.statusText ?? '', res.headers);
  if (bad) {
    res.body.on('error', () => undefined).destroy();
    throw new ProtocolError(bad);
  }
  const { body, truncated } = await readCapped(res.body as AsyncIterable<Buffer>, MAX_RESPONSE_BYTES);
  const status = res.statusCode;
  // undici keeps the optional whitespace after a header value; a Location is reported without it.
  const location = (Array.isArray(res.headers.location) ? res.headers.location[0] : res.headers.location)?.replace(
    /^[ \t]+|[ \t]+$/g,
    '',
  );
  return {
    ok: status >= 200 && status < 300,
    status,
    location: status >= 300 && status < 400 ? location : undefined,
    responseBody: body.toString('utf8').slice(0, RESPONSE_PREVIEW_CHARS),
    responseBytes: body.length,
    responseHeaders: Object.entries(res.headers).flatMap(([name, value]) =>
      (Array.isArray(value) ? value : [value ?? '']).map((v): [string, string] => [name, v]),
    ),
    truncated,
  };
}

/** Names what went wrong once a request was under way: the exchange's own stop first, else the error. */
async function explainFailure(
  err: unknown,
  req: WebhookRequest,
  url: URL,
  timeoutMs: number,
  exchange: Exchange,
  own: { proxied: boolean } | undefined,
): Promise<Outcome> {
  const ended = exchange.ended;
  if (ended instanceof ProtocolError) return failed(ended, req, timeoutMs);
  if (ended === 'timeout') return failed(err, req, timeoutMs, true);
  if (ended === 'aborted') return failed(abortError(), req, timeoutMs);
  const error = describeNetworkError(err, req.url, timeoutMs);
  if (error.code === 'UND_ERR_HEADERS_OVERFLOW' && own)
    error.message = error.message.replace('too large for the client', 'over 64 KiB');
  // A TLS server closes on a plain-HTTP request without a word: say so rather than "reset".
  const closedQuietly =
    error.code === 'UND_ERR_SOCKET' &&
    !exchange.gotHeaders &&
    url.protocol === 'http:' &&
    own !== undefined &&
    !own.proxied;
  if (closedQuietly && (await speaksTls(url, Math.min(1_000, exchange.deadline - Date.now())))) {
    const message = `${url.hostname}:${url.port || 80} speaks TLS — use https://`;
    return { ok: false, error: { kind: 'tls', code: error.code, message }, responseBytes: 0, truncated: false };
  }
  return { ok: false, error, responseBytes: 0, truncated: false };
}

/**
 * Sends one prepared request through undici and reports what came back. Never throws for anything
 * the network or the endpoint does: refusals, resets, timeouts, protocol errors, huge or endless
 * bodies become a result. Redirects are reported, never followed; at most 64 KiB of a body is
 * read, then the response is dropped. Throws (a usage error) only for a header that is not valid HTTP.
 */
export async function deliver(req: WebhookRequest, options: DeliverOptions = {}): Promise<DeliveryResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  validateHeaders(req.headers, 'the request');
  const clock = new Clock();
  let url: URL;
  try {
    url = targetUrl(req.url);
  } catch (err) {
    return clock.stamp(failed(err, req, timeoutMs));
  }

  // Loading undici (the first time) is the tool's own start-up, not the endpoint's time: the
  // deadline and the latency start once it is loaded.
  if (options.signal?.aborted) return clock.stamp(failed(abortError(), req, timeoutMs));
  let own: { dispatcher: Dispatcher; proxied: boolean } | undefined;
  if (!options.dispatcher) {
    try {
      own = await ownDispatcher(url, options, timeoutMs);
    } catch (err) {
      return clock.stamp(failed(err, req, timeoutMs));
    }
    clock.restart();
  }

  const exchange = new Exchange(timeoutMs, options.signal);
  try {
    const res = await dispatch(options.dispatcher ?? own!.dispatcher, url, req, timeoutMs, exchange);
    exchange.gotHeaders = true;
    return clock.stamp(await readResponse(res));
  } catch (err) {
    return clock.stamp(await explainFailure(err, req, url, timeoutMs, exchange, own));
  } finally {
    exchange.dispose();
    await own?.dispatcher.destroy().catch(() => undefined);
  }
}
