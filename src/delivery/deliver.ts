import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { Agent, request, type Dispatcher } from 'undici';
import { describeNetworkError, type NetworkError } from './network-error.js';
import type { WebhookRequest } from './request.js';

export const DEFAULT_TIMEOUT_MS = 10_000;
/** Stop reading a response body after this many bytes: enough to show, bounded against hostile endpoints. */
export const MAX_RESPONSE_BYTES = 64 * 1024;
export const RESPONSE_PREVIEW_CHARS = 200;

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
  /** The connection pool to use; a shared one otherwise (close it with `closeSharedDispatcher`). */
  dispatcher?: Dispatcher;
  /** Aborts the attempt (e.g. on Ctrl-C). */
  signal?: AbortSignal;
}

let shared: Agent | undefined;

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * `localhost` must reach a server bound to 127.0.0.1 or to ::1, whatever /etc/hosts says, so it
 * resolves to both and the socket tries each in turn (happy eyeballs).
 */
export function localhostLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  if (hostname.toLowerCase() !== 'localhost') {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err || options.all) return callback(err, addresses);
      const first = addresses[0];
      callback(null, first?.address ?? '', first?.family);
    });
    return;
  }
  const both: LookupAddress[] = [
    { address: '127.0.0.1', family: 4 },
    { address: '::1', family: 6 },
  ];
  const wanted = options.family === 6 || options.family === 'IPv6' ? [both[1]!] : options.family === 4 || options.family === 'IPv4' ? [both[0]!] : both;
  if (options.all) callback(null, wanted);
  else callback(null, wanted[0]!.address, wanted[0]!.family);
}

/** A connection pool sized for `connections` parallel requests, never following redirects. */
export function createDispatcher(connections = 16): Agent {
  return new Agent({
    connections,
    pipelining: 1,
    keepAliveTimeout: 4_000,
    connect: { lookup: localhostLookup as never, autoSelectFamily: true, autoSelectFamilyAttemptTimeout: 250 },
  });
}

export function sharedDispatcher(): Agent {
  return (shared ??= createDispatcher());
}

export async function closeSharedDispatcher(): Promise<void> {
  const agent = shared;
  shared = undefined;
  if (agent) await agent.destroy().catch(() => undefined);
}

/**
 * Sends one prepared request and reports what came back. Never throws for anything the network
 * or the endpoint does: refusals, resets, timeouts and huge or endless bodies become a result.
 */
export async function deliver(req: WebhookRequest, options: DeliverOptions = {}): Promise<DeliveryResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const onAbort = () => controller.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const startedAt = Date.now();
  const t0 = performance.now();
  try {
    const res = await request(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      dispatcher: options.dispatcher ?? sharedDispatcher(),
      signal: controller.signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const chunks: Buffer[] = [];
    let bytes = 0;
    let truncated = false;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      const room = MAX_RESPONSE_BYTES - bytes;
      chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
      bytes += Math.min(chunk.length, room);
      if (chunk.length >= room) {
        truncated = chunk.length > room || res.headers['content-length'] !== String(MAX_RESPONSE_BYTES);
        break;
      }
    }
    if (truncated || bytes >= MAX_RESPONSE_BYTES) res.body.destroy();
    const latencyMs = performance.now() - t0;
    const status = res.statusCode;
    const location = res.headers.location;
    const text = Buffer.concat(chunks).toString('utf8');
    return {
      ok: status >= 200 && status < 300,
      status,
      location: status >= 300 && status < 400 ? (Array.isArray(location) ? location[0] : location) : undefined,
      responseBody: text.slice(0, RESPONSE_PREVIEW_CHARS),
      responseBytes: bytes,
      truncated,
      latencyMs,
      startedAt,
    };
  } catch (err) {
    return {
      ok: false,
      error: describeNetworkError(err, req.url, timeoutMs, timedOut),
      responseBytes: 0,
      truncated: false,
      latencyMs: performance.now() - t0,
      startedAt,
    };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}
