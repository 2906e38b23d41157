import { setMaxListeners } from 'node:events';
import { deliver, DEFAULT_TIMEOUT_MS, type DeliverOptions } from '../delivery/deliver.js';
import type { NetworkError } from '../delivery/network-error.js';
import { displayUrl } from '../delivery/target.js';
import { planCheck, type CheckCase, type CheckCaseId, type PlanOptions } from './cases.js';
import {
  judgeCase,
  readFindings,
  type CaseResult,
  type CheckDelivery,
  type CheckDiagnosis,
  type DeliveredCase,
} from './judge.js';

export interface RunCheckOptions {
  /** Per-request deadline in ms (default 10 s). */
  timeoutMs?: number;
  /** Stops between cases (the case in flight is dropped, not reported as failed). */
  signal?: AbortSignal;
  /**
   * Called as each case is judged, in plan order, for streaming output. A failure that only the
   * rest of the run can explain (every signed event refused: the secret?) is held back until it can.
   */
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
  /** The ids of the failed cases, in run order: `expect(report.failedIds).toEqual([])` names them when it fails. */
  failedIds: CheckCaseId[];
  /** One line: `2 of 17 cases failed: raw-body.utf8, malformed-signature`, `all 17 cases passed`, … */
  summary: string;
  /**
   * A finding about the whole run: `secret-mismatch` when every validly signed event (in every byte
   * form sent) was refused with a 4xx, as was every bad signature: the secrets most likely differ.
   */
  diagnosis?: CheckDiagnosis;
  durationMs: number;
  startedAt: number;
  interrupted: boolean;
  /** Set when the very first case could not reach the endpoint at all; the run stops there. */
  unreachable?: NetworkError;
}

/**
 * Errors meaning the URL does not lead to an HTTP endpoint at all (nothing listens, no such host, a
 * failed TLS handshake, not HTTP/1.x), as opposed to a handler that misbehaves. Kinds are compared
 * as strings: the delivery layer may name more of them than this module knows.
 */
const UNREACHABLE = new Set<string>(['refused', 'dns', 'tls', 'protocol']);

function isUnreachable(error: NetworkError | undefined): boolean {
  if (!error) return false;
  return UNREACHABLE.has(error.kind) || (error.code?.startsWith('HPE_') ?? false);
}

/** The report's one-line summary. */
export function summarizeCheck(
  report: Pick<CheckReport, 'url' | 'cases' | 'failedIds' | 'diagnosis' | 'interrupted' | 'unreachable'>,
  planned: number,
): string {
  if (report.unreachable) return `cannot reach ${report.url}: ${report.unreachable.message}`;
  const n = report.cases.length;
  const failed = report.failedIds.length;
  const warnedIds = report.cases.filter((r) => r.outcome === 'warn').map((r) => r.id);
  const head = report.interrupted ? `interrupted after ${n} of ${planned} cases; ` : '';
  const cases = `${n} ${n === 1 ? 'case' : 'cases'}`;
  const secret =
    report.diagnosis === 'secret-mismatch'
      ? 'the secrets most likely differ (every validly signed event was rejected with 4xx); '
      : '';
  let line =
    failed > 0
      ? `${secret}${head}${failed} of ${cases} failed: ${report.failedIds.join(', ')}`
      : `${head}${report.interrupted ? `${cases} passed` : `all ${cases} passed`}`;
  if (warnedIds.length > 0) line += `; ${warnedIds.length} warned: ${warnedIds.join(', ')}`;
  return line;
}

async function runCase(
  c: CheckCase,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  via: Pick<DeliverOptions, 'dispatcher' | 'insecure' | 'ca'>,
): Promise<CheckDelivery[]> {
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
  const done: DeliveredCase[] = [];
  let unreachable: NetworkError | undefined;
  let unreachableUrl: string | undefined;
  // Judges and hands out every delivered case not yet judged, with what the run has shown so far.
  const release = (findings: ReturnType<typeof readFindings>) => {
    for (const item of done.slice(cases.length)) {
      const result = judgeCase(item.c, item.deliveries, {
        timeoutMs,
        durationMs: item.durationMs,
        accepted: findings.accepted,
        diagnosis: findings.diagnosis,
      });
      cases.push(result);
      options.onCase?.(result);
    }
  };
  for (const c of plan) {
    if (options.signal?.aborted) break;
    const c0 = performance.now();
    const deliveries = await runCase(c, timeoutMs, options.signal, {
      dispatcher: options.dispatcher,
      insecure: options.insecure,
      ca: options.ca,
    });
    if (options.signal?.aborted) break;
    if (done.length === 0 && deliveries.length > 0 && deliveries.every((d) => isUnreachable(d.result.error))) {
      unreachable = deliveries[0]?.result.error;
      // With per-type routes the first case may go elsewhere than `url`: the report names where.
      unreachableUrl = deliveries[0]?.request.url;
      break;
    }
    done.push({ c, deliveries, durationMs: performance.now() - c0 });
    const findings = readFindings(done, false);
    if (findings.settled) release(findings);
  }
  const interrupted = options.signal?.aborted ?? false;
  const findings = readFindings(done, !interrupted && !unreachable && done.length === plan.length);
  release(findings);
  const failedIds = cases.filter((r) => r.outcome === 'fail').map((r) => r.id);
  const report: CheckReport = {
    url: displayUrl(unreachableUrl ?? url),
    cases,
    passed: cases.filter((r) => r.outcome === 'pass').length,
    warned: cases.filter((r) => r.outcome === 'warn').length,
    failed: failedIds.length,
    failedIds,
    summary: '',
    diagnosis: findings.diagnosis,
    durationMs: performance.now() - t0,
    startedAt,
    interrupted,
    unreachable,
  };
  report.summary = summarizeCheck(report, plan.length);
  return report;
}

export interface CheckEndpointOptions extends PlanOptions, RunCheckOptions {}

/**
 * The whole conformance suite against one endpoint, for use from a test suite:
 * `const report = await checkEndpoint({ url, secret }); expect(report.failed).toBe(0)`.
 */
export async function checkEndpoint(options: CheckEndpointOptions): Promise<CheckReport> {
  return runCheck(planCheck(options), options.url, options);
}
