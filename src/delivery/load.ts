import { newId } from '../events/build.js';
import { signPayload, SIGNATURE_HEADER, EVENT_ID_HEADER } from '../signature/index.js';
import { createDispatcher, deliver } from './deliver.js';
import { LatencyHistogram } from './histogram.js';
import type { WebhookRequest } from './request.js';

export interface LoadOptions {
  /** How many distinct events to send. */
  count: number;
  /** How many requests in flight at once (also the pool's connection count). */
  concurrency: number;
  timeoutMs: number;
  /** Stops starting new requests (e.g. on Ctrl-C); in-flight ones finish. */
  signal?: AbortSignal;
}

export interface LoadReport {
  sent: number;
  ok: number;
  durationMs: number;
  requestsPerSecond: number;
  latency: { p50: number; p95: number; p99: number; max: number; mean: number };
  /** Count per status code, plus one per network error kind (`error:timeout`, …). */
  statuses: Record<string, number>;
  interrupted: boolean;
}

/**
 * Makes the n-th request of a load run from a template: a fresh event id and session id spliced
 * into the serialized body, then signed. Every request is distinct and validly signed, and nothing
 * is kept per request, so memory stays flat however large the count.
 */
export function requestFactory(template: WebhookRequest, secret: string): () => WebhookRequest {
  // Cut the serialized template once at every occurrence of its ids; each request is then the
  // same pieces joined around fresh ids, with no search or split per request.
  const text = template.body.toString('utf8');
  const ids = [template.eventId, ...(template.sessionId ? [template.sessionId] : [])];
  const pieces: string[] = [];
  const slots: number[] = [];
  for (let at = 0; ; ) {
    let next = -1;
    let which = -1;
    for (const [i, id] of ids.entries()) {
      const found = text.indexOf(id, at);
      if (found >= 0 && (next < 0 || found < next)) [next, which] = [found, i];
    }
    if (next < 0) {
      pieces.push(text.slice(at));
      break;
    }
    pieces.push(text.slice(at, next));
    slots.push(which);
    at = next + ids[which]!.length;
  }
  const signed = template.signatureMode === 'valid';
  return () => {
    const fresh = [newId('evt'), template.sessionId ? newId('vs') : ''];
    let body = pieces[0]!;
    for (let i = 0; i < slots.length; i++) body += fresh[slots[i]!]! + pieces[i + 1]!;
    const bytes = Buffer.from(body, 'utf8');
    const headers: Record<string, string> = { ...template.headers, [EVENT_ID_HEADER]: fresh[0]! };
    if (signed) headers[SIGNATURE_HEADER] = signPayload(bytes, secret);
    return { ...template, body: bytes, headers, eventId: fresh[0]!, sessionId: template.sessionId ? fresh[1] : undefined };
  };
}

/** Sends `count` requests from `next()` with `concurrency` in flight, recording only aggregates. */
export async function runLoad(next: () => WebhookRequest, options: LoadOptions): Promise<LoadReport> {
  const dispatcher = createDispatcher(options.concurrency);
  const histogram = new LatencyHistogram();
  const statuses: Record<string, number> = {};
  let started = 0;
  let ok = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (started < options.count && !options.signal?.aborted) {
      started++;
      const res = await deliver(next(), { timeoutMs: options.timeoutMs, dispatcher });
      histogram.record(res.latencyMs);
      const key = res.error ? `error:${res.error.kind}` : String(res.status);
      statuses[key] = (statuses[key] ?? 0) + 1;
      if (res.ok) ok++;
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(options.concurrency, options.count) }, worker));
  } finally {
    await dispatcher.close().catch(() => undefined);
  }
  const durationMs = performance.now() - t0;
  return {
    sent: histogram.count,
    ok,
    durationMs,
    requestsPerSecond: histogram.count / (durationMs / 1000),
    latency: { p50: histogram.percentile(50), p95: histogram.percentile(95), p99: histogram.percentile(99), max: histogram.max, mean: histogram.mean },
    statuses,
    interrupted: options.signal?.aborted ?? false,
  };
}
