import type { Socket } from 'node:net';
import type * as Tls from 'node:tls';
import { describeNetworkError, type NetworkError } from './network-error.js';
import { localhostLookup, MAX_RESPONSE_BYTES } from './lookup.js';
import type { WebhookRequest } from './request.js';
import { ResponseReader, type ReadResponse } from './response-reader.js';
import { connect, resetError, serializeRequest, wireTarget, type WireTarget } from './wire.js';

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

/**
 * The connections of a group of deliveries, so they can be cut together (e.g. when a run is
 * stopped). Each delivery has a connection of its own, closed once its response is read.
 */
export interface Dispatcher {
  /** Waits for nothing: a delivery closes its own connection. Kept for symmetry with `destroy`. */
  close(): Promise<void>;
  /** Cuts every connection still open in the group; their deliveries end with an error. */
  destroy(): Promise<void>;
}

export interface DeliverOptions {
  /** Whole-response deadline in ms (connect, headers and body). */
  timeoutMs?: number;
  /** The group the delivery's connection belongs to; a shared one otherwise (`closeSharedDispatcher` cuts it). */
  dispatcher?: Dispatcher;
  /** Aborts the attempt (e.g. on Ctrl-C). */
  signal?: AbortSignal;
}

class ConnectionGroup implements Dispatcher {
  /** How to cut each delivery still running in the group (connecting or not). */
  readonly running = new Set<(err: Error) => void>();
  private destroyed = false;
  async close(): Promise<void> {}
  async destroy(): Promise<void> {
    this.destroyed = true;
    for (const cut of [...this.running]) cut(resetError('the connection was cut'));
    this.running.clear();
  }
  /** Adds a delivery; a group already destroyed cuts it at once. */
  add(cut: (err: Error) => void): void {
    if (this.destroyed) cut(resetError('the connection was cut'));
    else this.running.add(cut);
  }
}

let shared = new ConnectionGroup();

/** A group for deliveries that should be cut together. (`connections` is accepted for compatibility; each delivery has its own.) */
export function createDispatcher(_connections?: number): Dispatcher {
  return new ConnectionGroup();
}

/** Cuts the connections of deliveries made without a `dispatcher`. */
export async function closeSharedDispatcher(): Promise<void> {
  const group = shared;
  shared = new ConnectionGroup();
  await group.destroy();
}

let tlsModule: typeof Tls | undefined;

/** The origin and path of a URL, parsed once per distinct URL (a run of deliveries reuses one). */
let lastUrl = '';
let lastTarget: WireTarget | undefined;
function targetOf(url: string): WireTarget {
  if (url !== lastUrl || lastTarget === undefined) {
    lastTarget = wireTarget(url);
    lastUrl = url;
  }
  return lastTarget;
}

/**
 * Sends one prepared request over a connection of its own and reports what came back. Never
 * throws for anything the network or the endpoint does: refusals, resets, timeouts, garbage and
 * huge or endless bodies become a result. Redirects are reported, never followed; at most 64 KiB
 * of a body is read, then the connection is dropped.
 */
export function deliver(req: WebhookRequest, options: DeliverOptions = {}): Promise<DeliveryResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const signal = options.signal;
  // Anything but a group made by createDispatcher (an object from another HTTP library, say) is ignored.
  const group = options.dispatcher instanceof ConnectionGroup ? options.dispatcher : shared;
  const startedAt = Date.now();
  const t0 = performance.now();
  return new Promise<DeliveryResult>((resolve) => {
    let settled = false;
    let timedOut = false;
    let socket: Socket | undefined;

    const settle = (result: Omit<DeliveryResult, 'latencyMs' | 'startedAt'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      group.running.delete(fail);
      socket?.destroy();
      resolve({ ...result, latencyMs: performance.now() - t0, startedAt });
    };
    // A function declaration: the group's cut list refers to it before `settle` runs.
    function fail(err: unknown): void {
      settle({ ok: false, error: describeNetworkError(err, req.url, timeoutMs, timedOut), responseBytes: 0, truncated: false });
    }
    const complete = (r: ReadResponse) =>
      settle({
        ok: r.status >= 200 && r.status < 300,
        status: r.status,
        location: r.status >= 300 && r.status < 400 ? r.location : undefined,
        responseBody: (r.body ?? Buffer.alloc(0)).toString('utf8').slice(0, RESPONSE_PREVIEW_CHARS),
        responseBytes: r.bodyBytes,
        truncated: r.truncated,
      });
    const onAbort = () => fail(Object.assign(new Error('aborted'), { name: 'AbortError' }));
    const timer = setTimeout(() => {
      timedOut = true;
      fail(new Error(`no full response within ${timeoutMs} ms`));
    }, timeoutMs);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });

    // In the group from the start, so cutting it also stops a delivery still loading node:tls.
    group.add(fail);
    if (settled) return;
    let target: WireTarget;
    try {
      target = targetOf(req.url);
    } catch (err) {
      return fail(err);
    }
    const start = (tls: typeof Tls | undefined) => {
      if (settled) return;
      try {
        socket = connect(target, tls);
      } catch (err) {
        return fail(err);
      }
        const s = socket;
      const reader = new ResponseReader(MAX_RESPONSE_BYTES, true);
      let error: Error | undefined;
      s.on('data', (chunk: Buffer) => {
        if (settled) return;
        let read;
        try {
          read = reader.push(chunk);
        } catch (err) {
          return fail(err);
        }
        if (read) complete(read.response);
      });
      s.on('error', (err) => (error ??= err));
      s.on('close', () => {
        if (settled) return;
        const response = reader.end();
        if (response) complete(response);
        else fail(error ?? resetError());
      });
      s.write(serializeRequest(req, target));
    };
    if (!target.https) start(undefined);
    else if (tlsModule) start(tlsModule);
    else
      import('node:tls').then(
        (tls) => start((tlsModule = tls)),
        (err: unknown) => fail(err),
      );
  });
}
