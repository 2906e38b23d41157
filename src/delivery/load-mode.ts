import { buildEvent, type BuildOptions } from '../events/build.js';
import type { EventType } from '../events/types.js';
import { runWireLoad, wireRequestFactory, wireTarget, type LoadReport } from './load.js';
import { prepareRequest, type SignatureMode } from './request.js';
import { urlCredentials } from './target.js';

/** What `send --count` sends: N distinct signed events of these types over a pool of connections. */
export interface LoadModeOptions {
  types: EventType[];
  url: string;
  secret: string;
  /** The build options per type (the project config's per-type overrides differ by type). */
  build: (type: EventType) => BuildOptions;
  count: number;
  concurrency: number;
  timeoutMs: number;
  signature?: SignatureMode;
  headers?: string[];
  fromIp?: string | boolean;
}

/**
 * The raw requests, round-robin over the types: one template per type, with fresh ids spliced in
 * per request, so nothing grows with the count. A `user:password@` in the URL goes out as Basic
 * auth, as for single deliveries (deliver.ts), unless an Authorization header is given.
 */
export function loadRequestSource(options: Omit<LoadModeOptions, 'count' | 'concurrency' | 'timeoutMs'>) {
  const target = wireTarget(options.url);
  const credentials = urlCredentials(options.url);
  const headers = [...(options.headers ?? [])];
  if (credentials && !headers.some((h) => /^\s*authorization\s*:/i.test(h))) {
    const basic = Buffer.from(`${credentials.user}:${credentials.password}`, 'utf8').toString('base64');
    headers.push(`Authorization: Basic ${basic}`);
  }
  const factories = options.types.map((type) =>
    wireRequestFactory(
      prepareRequest(buildEvent(type, { ...options.build(type), eventId: undefined }), {
        url: options.url,
        secret: options.secret,
        signature: options.signature,
        headers,
        fromIp: options.fromIp,
      }),
      options.secret,
      target,
    ),
  );
  let n = 0;
  return { target, next: () => factories[n++ % factories.length]!() };
}

/**
 * Prepares the load (every request template built and checked now, so a bad header fails before
 * anything starts) and returns the run: it sends and measures; an abort cuts the requests in flight
 * and reports what finished.
 */
export function prepareLoadMode(options: LoadModeOptions): (signal?: AbortSignal) => Promise<LoadReport> {
  const { target, next } = loadRequestSource(options);
  return (signal) =>
    runWireLoad(target, next, {
      count: options.count,
      concurrency: options.concurrency,
      timeoutMs: options.timeoutMs,
      signal,
      cutOnAbort: true,
    });
}

/**
 * Keeps a long run's memory flat. Nothing is kept per request (after a full GC the live heap is
 * ~9 MiB whether 2,000 or 100,000 requests were sent), but V8 grows its young generation with the
 * allocation rate and collects old garbage lazily, so peak RSS still climbed with the count
 * (73 → 125 MiB from 2,000 to 200,000 requests). Pinning the young generation's size and running a
 * full collection once a second keeps it level at the same request rate. It changes V8 flags for
 * the whole process, so only the CLI calls it; returns the function that stops the collections.
 */
export async function boundHeap(): Promise<() => void> {
  const { setFlagsFromString } = await import('node:v8');
  const { runInNewContext } = await import('node:vm');
  setFlagsFromString('--semi-space-growth-factor=1');
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
  if (typeof gc !== 'function') return () => undefined;
  const timer = setInterval(() => (gc as () => void)(), 1_000);
  timer.unref();
  return () => clearInterval(timer);
}
