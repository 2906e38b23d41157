import { Agent, type Dispatcher } from 'undici';
import { describeNetworkError, type NetworkError } from './network-error.js';
import { localhostLookup, MAX_RESPONSE_BYTES } from './lookup.js';
import type { WebhookRequest } from './request.js';

export const DEFAULT_TIMEOUT_MS = 10_000;
export { localhostLookup, MAX_RESPONSE_BYTES };
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

/** The origin and path of a URL, parsed once per distinct URL (a load run reuses one). */
let lastUrl = '';
let lastTarget: { origin: string; path: string } = { origin: '', path: '' };
function splitUrl(url: string): { origin: string; path: string } {
  if (url !== lastUrl) {
    const u = new URL(url);
    lastTarget = { origin: u.origin, path: `${u.pathname}${u.search}` };
    lastUrl = url;
  }
  return lastTarget;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Sends one prepared request and reports what came back. Never throws for anything the network
 * or the endpoint does: refusals, resets, timeouts and huge or endless bodies become a result.
 * Uses undici's dispatch API directly: no stream per response, so a load run stays cheap.
 */
export function deliver(req: WebhookRequest, options: DeliverOptions = {}): Promise<DeliveryResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const signal = options.signal;
  const startedAt = Date.now();
  const t0 = performance.now();
  return new Promise<DeliveryResult>((resolve) => {
    let controller: Dispatcher.DispatchController | undefined;
    let settled = false;
    let timedOut = false;
    let status: number | undefined;
    let location: string | undefined;
    let contentLength: string | undefined;
    const chunks: Buffer[] = [];
    let bytes = 0;

    const settle = (result: Omit<DeliveryResult, 'latencyMs' | 'startedAt'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve({ ...result, latencyMs: performance.now() - t0, startedAt });
    };
    const fail = (err: unknown) =>
      settle({ ok: false, error: describeNetworkError(err, req.url, timeoutMs, timedOut), responseBytes: 0, truncated: false });
    const complete = (truncated: boolean) => {
      const s = status ?? 0;
      settle({
        ok: s >= 200 && s < 300,
        status: s,
        location: s >= 300 && s < 400 ? location : undefined,
        responseBody: Buffer.concat(chunks, bytes).toString('utf8').slice(0, RESPONSE_PREVIEW_CHARS),
        responseBytes: bytes,
        truncated,
      });
    };
    const abortWith = (err: Error) => {
      fail(err);
      controller?.abort(err);
    };
    const onAbort = () => abortWith(Object.assign(new Error('aborted'), { name: 'AbortError' }));
    const timer = setTimeout(() => {
      timedOut = true;
      abortWith(new Error(`no full response within ${timeoutMs} ms`));
    }, timeoutMs);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });

    let target: { origin: string; path: string };
    try {
      target = splitUrl(req.url);
    } catch (err) {
      return fail(err);
    }
    const dispatcher = options.dispatcher ?? sharedDispatcher();
    try {
      // The one deadline is ours (the timer above, over the whole response); undici's own
      // per-phase timers would only duplicate it on every request.
      dispatcher.dispatch(
        { origin: target.origin, path: target.path, method: req.method, headers: req.headers, body: req.body, headersTimeout: 0, bodyTimeout: 0 },
        {
          onRequestStart(c) {
            controller = c;
            if (settled) c.abort(new Error('already settled'));
          },
          onResponseStart(_c, statusCode, headers) {
            if (statusCode < 200) return; // 1xx informational: the real status follows
            status = statusCode;
            location = firstHeader(headers.location);
            contentLength = firstHeader(headers['content-length']);
          },
          onResponseData(c, chunk) {
            if (settled) return;
            const room = MAX_RESPONSE_BYTES - bytes;
            if (chunk.length <= room) {
              chunks.push(chunk);
              bytes += chunk.length;
              return;
            }
            // Past the cap: keep what fits, answer now, and drop the connection instead of reading on.
            if (room > 0) chunks.push(chunk.subarray(0, room));
            bytes += room;
            complete(true);
            c.abort(new Error('response body over the read cap'));
          },
          onResponseEnd() {
            complete(contentLength !== undefined && Number(contentLength) > bytes);
          },
          onResponseError(_c, err) {
            fail(err);
          },
        },
      );
    } catch (err) {
      fail(err);
    }
  });
}
