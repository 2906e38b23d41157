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
  const text = template.body.toString('utf8');
  const eventId = template.eventId;
  const sessionId = template.sessionId;
  const parts = text.split(eventId);
  const signed = template.signatureMode === 'valid';
  return () => {
    const evt = newId('evt');
    let body = parts.join(evt);
    let session = sessionId;
    if (sessionId) {
      session = newId('vs');
      body = body.split(sessionId).join(session);
    }
    const bytes = Buffer.from(body, 'utf8');
    const headers: Record<string, string> = { ...template.headers, [EVENT_ID_HEADER]: evt };
    if (signed) headers[SIGNATURE_HEADER] = signPayload(bytes, secret);
    return { ...template, body: bytes, headers, eventId: evt, sessionId: session };
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
