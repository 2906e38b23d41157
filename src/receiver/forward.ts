import type { Dispatcher } from 'undici';
import { readCapped } from '../delivery/capped-body.js';
import { localhostLookup } from '../delivery/lookup.js';
import { describeNetworkError, ProtocolError, type NetworkError } from '../delivery/network-error.js';
import { displayUrl, urlCredentials } from '../delivery/target.js';
import type { CaptureVerdict, ForwardRecord } from './capture.js';
import type { ForwardTls } from './settings.js';

export type { ForwardRecord };

/** How much of the app's answer is recorded and passed back to the sender. */
export const FORWARD_PREVIEW_BYTES = 64 * 1024;
export const DEFAULT_FORWARD_TIMEOUT_MS = 10_000;

/** The request to forward, as it arrived. */
export interface ForwardRequest {
  method: string;
  /** The request target as received: its query string is passed on. */
  target: string;
  /** Node's raw header list: names as sent, in order. */
  rawHeaders: readonly string[];
  body: Buffer;
  remoteAddress: string | undefined;
}

/** Listen's own verdict with what the sender got in the end (the app's answer, or 502/504). */
export function forwardedVerdict(verdict: CaptureVerdict, got: ForwardAnswer, delayMs: number): CaptureVerdict {
  return {
    ...verdict,
    status: got.status,
    response_body: got.body.subarray(0, 1024).toString('utf8').slice(0, 200),
    ...(delayMs > 0 ? { delayed_ms: delayMs } : {}),
  };
}

/** What goes back to the sender: the app's answer, or 502/504 naming the cause. */
export interface ForwardAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  record: ForwardRecord;
}

export interface Forwarder {
  forward(req: ForwardRequest, signal: AbortSignal): Promise<ForwardAnswer>;
  close(): Promise<void>;
}

/** Connection-level headers (RFC 9110 §7.6.1) and Host: they describe one hop, never forwarded either way. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'expect',
]);

/** True for a header name that describes one hop (or is written by the HTTP client itself). */
export function isHopByHop(name: string): boolean {
  const lower = name.toLowerCase();
  return HOP_BY_HOP.has(lower) || lower.startsWith('proxy-');
}

/**
 * The headers to send the app: every one as received (names as sent, in order), without hop-by-hop
 * ones and those the Connection header names, and with the client's address appended to X-Forwarded-For.
 */
export function forwardHeaders(
  raw: readonly string[],
  remoteAddress: string | undefined,
  basicAuth?: string,
): string[] {
  const named = new Set<string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'connection') continue;
    for (const token of raw[i + 1]!.split(',')) named.add(token.trim().toLowerCase());
  }
  const out: string[] = [];
  let forwardedFor: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (isHopByHop(lower) || named.has(lower)) continue;
    if (lower === 'x-forwarded-for') {
      forwardedFor = forwardedFor === undefined ? raw[i + 1]! : `${forwardedFor}, ${raw[i + 1]!}`;
      continue;
    }
    out.push(name, raw[i + 1]!);
  }
  const client = remoteAddress?.replace(/^::ffff:/, '');
  const chain = [forwardedFor, client].filter((v): v is string => v !== undefined && v !== '').join(', ');
  if (chain !== '') out.push('X-Forwarded-For', chain);
  // The sender's own Authorization wins over the URL's `user:password@` (as for the sending commands).
  if (basicAuth !== undefined && !out.some((v, i) => i % 2 === 0 && v.toLowerCase() === 'authorization'))
    out.push('Authorization', basicAuth);
  return out;
}

/** The app's response headers as the sender gets them: hop-by-hop ones dropped, repeats kept apart (Set-Cookie). */
function answerHeaders(headers: Record<string, string | string[] | undefined>): {
  record: Record<string, string>;
  wire: Record<string, string | string[]>;
} {
  const record: Record<string, string> = {};
  const wire: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || isHopByHop(name)) continue;
    wire[name] = value;
    record[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return { record, wire };
}

/** The app's URL with the received request's query string added. */
function forwardPath(app: URL, target: string): string {
  const q = target.indexOf('?');
  const query = q >= 0 ? target.slice(q + 1) : '';
  const own = app.search.replace(/^\?/, '');
  const search = [own, query].filter((s) => s !== '').join('&');
  return `${app.pathname || '/'}${search ? `?${search}` : ''}`;
}

type Undici = typeof import('undici');
/** undici costs tens of ms to load: only a receiver with a forward target loads it. */
const loadUndici = () => import('undici').then((m) => ((m as { default?: Undici }).default ?? m) as Undici);

/** `Basic …` for a URL's `user:password@` (decoded, as curl sends it), else undefined. */
export function basicAuthFor(url: string): string | undefined {
  const credentials = urlCredentials(url);
  if (credentials === undefined) return undefined;
  return `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`, 'utf8').toString('base64')}`;
}

/** 504 for a timeout, 502 for everything else; the body names the cause in one line. */
function failedAnswer(url: string, error: NetworkError, latencyMs: number): ForwardAnswer {
  const status = error.kind === 'timeout' ? 504 : 502;
  const reason = status === 504 ? 'Gateway Timeout' : 'Bad Gateway';
  const text = `${reason}: your app at ${url} gave no answer: ${error.message}`;
  return {
    status,
    headers: { 'Content-Type': 'text/plain; charset=utf-8' },
    body: Buffer.from(text),
    record: {
      url,
      status: null,
      headers: {},
      body_preview: '',
      body_bytes: 0,
      body_truncated: false,
      latency_ms: latencyMs,
      error,
    },
  };
}

/**
 * Sends one request to the app over the run's keep-alive pool and returns what to answer the
 * sender. Never throws for anything the app does: refusals, resets, timeouts and protocol errors
 * become a 502/504 answer. Redirects are passed back as the app's answer, never followed.
 */
async function forwardOne(
  dispatcher: Dispatcher,
  app: URL,
  basicAuth: string | undefined,
  timeoutMs: number,
  req: ForwardRequest,
  signal: AbortSignal,
): Promise<ForwardAnswer> {
  const shown = displayUrl(app.href);
  const t0 = performance.now();
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(Object.assign(new Error('timeout'), { name: 'AbortError' }));
  }, timeoutMs);
  const onAbort = () => controller.abort(Object.assign(new Error('aborted'), { name: 'AbortError' }));
  if (signal.aborted) onAbort();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const res = await dispatcher.request({
      origin: app.origin,
      path: forwardPath(app, req.target),
      method: req.method as Dispatcher.HttpMethod,
      headers: forwardHeaders(req.rawHeaders, req.remoteAddress, basicAuth),
      body: req.body,
      signal: controller.signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      onInfo: ({ statusCode }) => {
        if (statusCode === 101) controller.abort(new ProtocolError('a 101 Switching Protocols answer'));
      },
    });
    const { body: bytes, truncated } = await readCapped(res.body as AsyncIterable<Buffer>, FORWARD_PREVIEW_BYTES);
    const { record, wire } = answerHeaders(res.headers);
    const latency = Math.round((performance.now() - t0) * 100) / 100;
    const preview = bytes.toString('utf8');
    const answer = { url: shown, status: res.statusCode, headers: record, body_preview: preview };
    return {
      status: res.statusCode,
      headers: wire as Record<string, string>,
      body: bytes,
      record: { ...answer, body_bytes: bytes.length, body_truncated: truncated, latency_ms: latency, error: null },
    };
  } catch (err) {
    const cause = controller.signal.reason instanceof ProtocolError ? controller.signal.reason : err;
    const error = describeNetworkError(cause, app.href, timeoutMs, timedOut);
    return failedAnswer(shown, error, Math.round(performance.now() - t0));
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * A forwarder to one app URL: one keep-alive pool for the whole run, closed with the receiver.
 * A `user:password@` in the URL goes to the app as Basic auth; `tls` says how its certificate is checked.
 */
export async function createForwarder(
  url: string,
  timeoutMs: number,
  tls: ForwardTls = { insecure: false, ca: undefined },
): Promise<Forwarder> {
  const app = new URL(url);
  const basicAuth = basicAuthFor(url);
  const { Agent } = await loadUndici();
  const connect = {
    lookup: localhostLookup,
    autoSelectFamily: true,
    noDelay: true,
    rejectUnauthorized: !tls.insecure,
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
  };
  const agent = new Agent({
    connect: connect as Record<string, unknown>,
    keepAliveTimeout: 4_000,
    maxHeaderSize: FORWARD_PREVIEW_BYTES,
  });
  return {
    forward: (req, signal) => forwardOne(agent, app, basicAuth, timeoutMs, req, signal),
    close: () => agent.close().catch(() => agent.destroy().catch(() => undefined)),
  };
}
