import { setMaxListeners } from 'node:events';
import { deliver, DEFAULT_TIMEOUT_MS, type DeliverOptions } from '../delivery/deliver.js';
import type { NetworkError } from '../delivery/network-error.js';
import { displayUrl } from '../delivery/target.js';
import { planCheck, type CheckCase, type PlanOptions } from './cases.js';
import { judgeCase, type CaseResult, type CheckDelivery } from './judge.js';

export interface RunCheckOptions {
  /** Per-request deadline in ms (default 10 s). */
  timeoutMs?: number;
  /** Stops between cases (the case in flight is dropped, not reported as failed). */
  signal?: AbortSignal;
  /** Called as each case is judged, for streaming output. */
  onCase?: (result: CaseResult) => void;
  /** An undici Dispatcher to send every case through (e.g. a `MockAgent`); one connection a delivery otherwise. */
  dispatcher?: DeliverOptions['dispatcher'];
  /** Accept a self-signed certificate; or trust these PEM CA certificates (see `deliver`). */
  insecure?: boolean;
  ca?: DeliverOptions['ca'];
}

export interface CheckReport {
  url: string;
  cases: CaseResult[];
  passed: number;
  warned: number;
  failed: number;
  durationMs: number;
  startedAt: number;
  interrupted: boolean;
  /** Set when the very first case could not reach the endpoint at all; the run stops there. */
  unreachable?: NetworkError;
}

/** Errors meaning nothing is listening there (as opposed to a handler that misbehaves). */
const UNREACHABLE = new Set(['refused', 'dns']);

async function runCase(c: CheckCase, timeoutMs: number, signal: AbortSignal | undefined, via: Pick<DeliverOptions, 'dispatcher' | 'insecure' | 'ca'>): Promise<CheckDelivery[]> {
  // One listener per request in flight: a per-case signal keeps the caller's below Node's warning limit.
  const controller = new AbortController();
  setMaxListeners(c.steps.length + 10, controller.signal);
  const onAbort = () => controller.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) controller.abort();
  try {
    const send = async (step: CheckCase['steps'][number]): Promise<CheckDelivery> => ({
      label: step.label,
      request: step.request,
      result: await deliver(step.request, { ...via, timeoutMs, signal: controller.signal }),
    });
    if (c.parallel) return await Promise.all(c.steps.map(send));
    const deliveries: CheckDelivery[] = [];
    for (const step of c.steps) {
      if (controller.signal.aborted) break;
      deliveries.push(await send(step));
    }
    return deliveries;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Delivers a planned suite case by case and judges each; never throws for what the endpoint does. */
export async function runCheck(plan: CheckCase[], url: string, options: RunCheckOptions = {}): Promise<CheckReport> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const startedAt = Date.now();
  const t0 = performance.now();
  const cases: CaseResult[] = [];
  let unreachable: NetworkError | undefined;
  for (const c of plan) {
    if (options.signal?.aborted) break;
    const c0 = performance.now();
    const deliveries = await runCase(c, timeoutMs, options.signal, { dispatcher: options.dispatcher, insecure: options.insecure, ca: options.ca });
    if (options.signal?.aborted) break;
    if (cases.length === 0 && deliveries.length > 0 && deliveries.every((d) => d.result.error && UNREACHABLE.has(d.result.error.kind))) {
      unreachable = deliveries[0]?.result.error;
      break;
    }
    const result = judgeCase(c, deliveries, { timeoutMs, durationMs: performance.now() - c0 });
    cases.push(result);
    options.onCase?.(result);
  }
  return {
    url: displayUrl(url),
    cases,
    passed: cases.filter((r) => r.outcome === 'pass').length,
    warned: cases.filter((r) => r.outcome === 'warn').length,
    failed: cases.filter((r) => r.outcome === 'fail').length,
    durationMs: performance.now() - t0,
    startedAt,
    interrupted: options.signal?.aborted ?? false,
    unreachable,
  };
}

export interface CheckEndpointOptions extends PlanOptions, RunCheckOptions {}

/**
 * The whole conformance suite against one endpoint, for use from a test suite:
 * `const report = await checkEndpoint({ url, secret }); expect(report.failed).toBe(0)`.
 */
export async function checkEndpoint(options: CheckEndpointOptions): Promise<CheckReport> {
  return runCheck(planCheck(options), options.url, options);
}
