import { deliver, type DeliverOptions, type DeliveryResult } from '../delivery/deliver.js';
import type { WebhookRequest } from '../delivery/request.js';
import { FieldError } from '../errors.js';
import type { Clock } from './clock.js';
import { runRetries, type AttemptReport, type RetryRunResult, type WaitInfo } from './run.js';

/*
 * Not re-exported from retry/index.ts: the schedule and its runner import nothing of the project,
 * while this joins them to the delivery layer.
 */

export interface SimulateRetriesOptions {
  /** Delays in ms before each retry; FaceSign's by default. */
  schedule?: readonly number[];
  speed?: number;
  /** Response deadline per attempt, in real time (never compressed). */
  timeoutMs?: number;
  clock?: Clock;
  signal?: AbortSignal;
  onAttempt?: (report: AttemptReport<DeliveryResult>) => void;
  onWait?: (wait: WaitInfo) => void;
  /** Sent through this undici Dispatcher; see `deliver`. */
  dispatcher?: DeliverOptions['dispatcher'];
  insecure?: boolean;
  ca?: DeliverOptions['ca'];
}

function checkOptions(options: SimulateRetriesOptions): void {
  const { speed, timeoutMs } = options;
  if (speed !== undefined && !(Number.isFinite(speed) && speed > 0))
    throw new FieldError('speed', `speed must be a positive number (got ${speed})`);
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0))
    throw new FieldError('timeoutMs', `timeoutMs must be a positive number of milliseconds (got ${timeoutMs})`);
}

/**
 * Delivers one prepared request on FaceSign's retry schedule: the identical bytes, signature and
 * event id every attempt, until a 2xx or the last retry.
 */
export async function simulateRetries(
  req: WebhookRequest,
  options: SimulateRetriesOptions = {},
): Promise<RetryRunResult<DeliveryResult>> {
  checkOptions(options);
  return runRetries<DeliveryResult>({
    attempt: () =>
      deliver(req, {
        dispatcher: options.dispatcher,
        insecure: options.insecure,
        ca: options.ca,
        timeoutMs: options.timeoutMs,
        signal: options.signal,
      }),
    schedule: options.schedule,
    speed: options.speed,
    clock: options.clock,
    signal: options.signal,
    onAttempt: options.onAttempt,
    onWait: options.onWait,
  });
}
