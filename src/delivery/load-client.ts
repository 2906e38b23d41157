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
  /**
   * The first message of each network error kind, keyed like `statuses`
   * (`error:refused` → "connection refused at …").
   */
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
  const tls = target.https ? await import('node:tls') : undefined;
  const load = new WireLoad(target, tls, next, options);
  const t0 = performance.now();
  await load.run();
  return load.report(performance.now() - t0);
}

/** One load run: its lanes, its tallies, and the callbacks that move each lane from request to request. */
class WireLoad {
  private readonly target: WireTarget;
  private readonly tls: typeof import('node:tls') | undefined;
  private readonly next: () => string | Buffer;
  private readonly options: LoadOptions;
  private readonly histogram = new LatencyHistogram();
  private readonly statuses: Record<string, number> = {};
  private readonly errors: Record<string, string> = {};
  private readonly lanes: Lane[] = [];
  private started = 0;
  private ok = 0;
  private idle = 0;
  private finish!: () => void;
  private readonly finished: Promise<void>;

  constructor(
    target: WireTarget,
    tls: typeof import('node:tls') | undefined,
    next: () => string | Buffer,
    options: LoadOptions,
  ) {
    this.target = target;
    this.tls = tls;
    this.next = next;
    this.options = options;
    this.finished = new Promise<void>((resolve) => (this.finish = resolve));
  }

  /** Sends until `count` requests are answered or failed (or the signal stops it). */
  async run(): Promise<void> {
    const { count, timeoutMs, signal } = this.options;
    // One sweep for every deadline instead of a timer per request.
    const tick = Math.max(5, Math.min(100, Math.floor(timeoutMs / 10)));
    const sweeper = setInterval(this.sweep, tick);
    if (this.options.cutOnAbort) signal?.addEventListener('abort', this.cut, { once: true });
    const width = Math.max(0, Math.min(this.options.concurrency, count));
    for (let i = 0; i < width; i++)
      this.lanes.push({
        socket: undefined,
        reader: new ResponseReader(MAX_RESPONSE_BYTES),
        busy: false,
        startedAt: 0,
        error: undefined,
      });
    if (width === 0) this.finish();
    for (const lane of this.lanes) this.send(lane);
    try {
      await this.finished;
    } finally {
      signal?.removeEventListener('abort', this.cut);
      clearInterval(sweeper);
      for (const lane of this.lanes) this.drop(lane);
    }
  }

  report(durationMs: number): LoadReport {
    const histogram = this.histogram;
    return {
      sent: histogram.count,
      ok: this.ok,
      durationMs,
      requestsPerSecond: histogram.count / (durationMs / 1000),
      latency: {
        p50: histogram.percentile(50),
        p95: histogram.percentile(95),
        p99: histogram.percentile(99),
        max: histogram.max,
        mean: histogram.mean,
      },
      statuses: this.statuses,
      errors: this.errors,
      interrupted: this.options.signal?.aborted ?? false,
    };
  }

  /** Fails every request past its deadline and moves its lane on. */
  private readonly sweep = (): void => {
    const now = performance.now();
    const timeoutMs = this.options.timeoutMs;
    for (const lane of this.lanes) {
      if (lane.busy && now - lane.startedAt >= timeoutMs) {
        this.failed(lane, new Error(`no full response within ${timeoutMs} ms`), true);
        this.drop(lane);
        this.send(lane);
      }
    }
  };

  // A Ctrl-C should not wait out a hung endpoint's timeout: cut what is in flight, count only answers.
  private readonly cut = (): void => {
    for (const lane of this.lanes) {
      lane.busy = false;
      this.drop(lane);
    }
    this.finish();
  };

  private tally(key: string): void {
    this.statuses[key] = (this.statuses[key] ?? 0) + 1;
  }

  private done(lane: Lane, response: ReadResponse): void {
    lane.busy = false;
    this.histogram.record(performance.now() - lane.startedAt);
    this.tally(String(response.status));
    if (response.status >= 200 && response.status < 300) this.ok++;
  }

  private failed(lane: Lane, err: Error, timedOut = false): void {
    lane.busy = false;
    this.histogram.record(performance.now() - lane.startedAt);
    // A response that breaks HTTP/1.1's framing (a ResponseProtocolError, HPE_ coded) is named
    // `protocol`, as undici's parse errors are; messages name host:port, never a URL's password.
    const error = describeNetworkError(err, this.target.url, this.options.timeoutMs, timedOut);
    this.tally(`error:${error.kind}`);
    this.errors[`error:${error.kind}`] ??= error.message;
  }

  private drop(lane: Lane): void {
    const socket = lane.socket;
    lane.socket = undefined;
    socket?.destroy();
  }

  /** Opens the lane's connection; its callbacks are made once per connection, not per request. */
  private open(lane: Lane): Socket {
    const onChunk = (chunk: Buffer) => this.receive(lane, socket, chunk);
    const socket = connect(this.target, this.tls, onChunk);
    lane.socket = socket;
    lane.error = undefined;
    if (this.tls) socket.on('data', onChunk);
    socket.on('error', (err) => {
      if (lane.socket === socket) lane.error = err;
    });
    socket.on('close', () => {
      if (lane.socket !== socket) return;
      lane.socket = undefined;
      if (!lane.busy) return;
      const response = lane.reader.end();
      if (response) this.done(lane, response);
      else this.failed(lane, lane.error ?? resetError());
      this.send(lane);
    });
    return socket;
  }

  /** Bytes from the lane's connection: the response so far, counted once complete. */
  private receive(lane: Lane, socket: Socket, chunk: Buffer): void {
    if (lane.socket !== socket) return;
    if (!lane.busy) return this.drop(lane); // bytes nobody asked for: this connection cannot be trusted
    let read;
    try {
      read = lane.reader.push(chunk);
    } catch (err) {
      this.failed(lane, err as Error);
      this.drop(lane);
      return this.send(lane);
    }
    if (read === undefined) return;
    this.done(lane, read.response);
    if (!read.response.keepAlive || read.leftover > 0) this.drop(lane);
    this.send(lane);
  }

  /** Starts the lane's next request, or parks it when there is none left. */
  private send(lane: Lane): void {
    if (this.started >= this.options.count || this.options.signal?.aborted) {
      this.drop(lane);
      if (++this.idle === this.lanes.length) this.finish();
      return;
    }
    this.started++;
    const wire = this.next();
    const socket = lane.socket ?? this.open(lane);
    lane.reader.reset();
    lane.busy = true;
    lane.startedAt = performance.now();
    socket.write(wire);
  }
}
