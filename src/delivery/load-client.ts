import type { Socket } from 'node:net';
import { MAX_RESPONSE_BYTES } from './lookup.js';
import { connect, resetError, type WireTarget } from './wire.js';
import { LatencyHistogram } from './histogram.js';
import { describeNetworkError } from './network-error.js';
import { ResponseReader, type ReadResponse } from './response-reader.js';

export interface LoadOptions {
  /** How many distinct events to send. */
  count: number;
  /** How many requests in flight at once (also the number of connections). */
  concurrency: number;
  /** Deadline for each whole response, connecting included. */
  timeoutMs: number;
  /** Stops starting new requests (e.g. on Ctrl-C); in-flight ones finish, unless `cutOnAbort`. */
  signal?: AbortSignal;
  /** On abort, also cut the requests in flight (not counted) instead of waiting for their answers. */
  cutOnAbort?: boolean;
}

export interface LoadReport {
  sent: number;
  ok: number;
  durationMs: number;
  requestsPerSecond: number;
  latency: { p50: number; p95: number; p99: number; max: number; mean: number };
  /** Count per status code, plus one per network error kind (`error:timeout`, `error:protocol`, …). */
  statuses: Record<string, number>;
  /** The first message of each network error kind, keyed like `statuses` (`error:refused` → "connection refused at …"). */
  errors: Record<string, string>;
  interrupted: boolean;
}

/** One connection and the one request it carries at a time. */
interface Lane {
  socket: Socket | undefined;
  reader: ResponseReader;
  busy: boolean;
  startedAt: number;
  /** The socket's last error, named when it closes. */
  error: Error | undefined;
}

/**
 * The load mode's HTTP/1.1 client: `concurrency` keep-alive connections, each sending one complete
 * request (from `next()`, already serialized) and reading its response before the next, as a
 * webhook sender does. It reads only what a report needs (status, where the response ends), so the
 * tool, not the client, sets the pace. Everything the endpoint does wrong (refusing, resetting,
 * closing early, hanging, answering garbage or endless bodies) is counted, never thrown; a
 * connection that breaks is replaced for the next request.
 */
export async function runWireLoad(
  target: WireTarget,
  next: () => string | Buffer,
  options: LoadOptions,
): Promise<LoadReport> {
  const { count, timeoutMs, signal } = options;
  const tls = target.https ? await import('node:tls') : undefined;
  const histogram = new LatencyHistogram();
  const statuses: Record<string, number> = {};
  const errors: Record<string, string> = {};
  let started = 0;
  let ok = 0;
  let idle = 0;
  const lanes: Lane[] = [];
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));

  const tally = (key: string) => {
    statuses[key] = (statuses[key] ?? 0) + 1;
  };

  function done(lane: Lane, response: ReadResponse): void {
    lane.busy = false;
    histogram.record(performance.now() - lane.startedAt);
    tally(String(response.status));
    if (response.status >= 200 && response.status < 300) ok++;
  }

  function failed(lane: Lane, err: Error, timedOut = false): void {
    lane.busy = false;
    histogram.record(performance.now() - lane.startedAt);
    // A response that breaks HTTP/1.1's framing (a ResponseProtocolError, HPE_ coded) is named
    // `protocol`, as undici's parse errors are; messages name host:port, never a URL's password.
    const error = describeNetworkError(err, target.url, timeoutMs, timedOut);
    tally(`error:${error.kind}`);
    errors[`error:${error.kind}`] ??= error.message;
  }

  function drop(lane: Lane): void {
    const socket = lane.socket;
    lane.socket = undefined;
    socket?.destroy();
  }

  function open(lane: Lane): Socket {
    const onChunk = (chunk: Buffer) => {
      if (lane.socket !== socket) return;
      if (!lane.busy) return drop(lane); // bytes nobody asked for: this connection cannot be trusted
      let read;
      try {
        read = lane.reader.push(chunk);
      } catch (err) {
        failed(lane, err as Error);
        drop(lane);
        return send(lane);
      }
      if (read === undefined) return;
      done(lane, read.response);
      if (!read.response.keepAlive || read.leftover > 0) drop(lane);
      send(lane);
    };
    const socket = connect(target, tls, onChunk);
    lane.socket = socket;
    lane.error = undefined;
    if (tls) socket.on('data', onChunk);
    socket.on('error', (err) => {
      if (lane.socket === socket) lane.error = err;
    });
    socket.on('close', () => {
      if (lane.socket !== socket) return;
      lane.socket = undefined;
      if (!lane.busy) return;
      const response = lane.reader.end();
      if (response) done(lane, response);
      else failed(lane, lane.error ?? resetError());
      send(lane);
    });
    return socket;
  }

  /** Starts the lane's next request, or parks it when there is none left. */
  function send(lane: Lane): void {
    if (started >= count || signal?.aborted) {
      drop(lane);
      if (++idle === lanes.length) finish();
      return;
    }
    started++;
    const wire = next();
    const socket = lane.socket ?? open(lane);
    lane.reader.reset();
    lane.busy = true;
    lane.startedAt = performance.now();
    socket.write(wire);
  }

  // One sweep for every deadline instead of a timer per request.
  const tick = Math.max(5, Math.min(100, Math.floor(timeoutMs / 10)));
  const sweeper = setInterval(() => {
    const now = performance.now();
    for (const lane of lanes) {
      if (lane.busy && now - lane.startedAt >= timeoutMs) {
        failed(lane, new Error(`no full response within ${timeoutMs} ms`), true);
        drop(lane);
        send(lane);
      }
    }
  }, tick);

  // A Ctrl-C should not wait out a hung endpoint's timeout: cut what is in flight, count only answers.
  const onAbort = () => {
    for (const lane of lanes) {
      lane.busy = false;
      drop(lane);
    }
    finish();
  };
  if (options.cutOnAbort) signal?.addEventListener('abort', onAbort, { once: true });

  const t0 = performance.now();
  const width = Math.max(0, Math.min(options.concurrency, count));
  for (let i = 0; i < width; i++)
    lanes.push({
      socket: undefined,
      reader: new ResponseReader(MAX_RESPONSE_BYTES),
      busy: false,
      startedAt: 0,
      error: undefined,
    });
  if (width === 0) finish();
  for (const lane of lanes) send(lane);
  try {
    await finished;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    clearInterval(sweeper);
    for (const lane of lanes) drop(lane);
  }
  const durationMs = performance.now() - t0;
  return {
    sent: histogram.count,
    ok,
    durationMs,
    requestsPerSecond: histogram.count / (durationMs / 1000),
    latency: {
      p50: histogram.percentile(50),
      p95: histogram.percentile(95),
      p99: histogram.percentile(99),
      max: histogram.max,
      mean: histogram.mean,
    },
    statuses,
    errors,
    interrupted: signal?.aborted ?? false,
  };
}
