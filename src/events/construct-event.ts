import { bodyBytes, verifySignature, type SignatureFailure } from '../signature/index.js';
import type { FaceSignEvent } from './types.js';

/** Why `constructEvent` refused a delivery: the signature's verdict, or a body that is not an event. */
export type WebhookVerificationReason = Exclude<SignatureFailure, 'no-secret'> | 'invalid-json' | 'invalid-event';

/**
 * A delivery that is not an authentic FaceSign event: answer it with a 400. Thrown by
 * `constructEvent`; `reason` says which check refused it.
 */
export class WebhookVerificationError extends Error {
  readonly reason: WebhookVerificationReason;

  constructor(reason: WebhookVerificationReason, message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
    this.reason = reason;
  }
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? `an object (${value.constructor?.name ?? 'Object'})` : `a ${typeof value}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The envelope's documented fields, or the first one that is wrong. */
function envelopeProblem(event: unknown): string | undefined {
  if (!isObject(event)) return `the body is JSON ${describeValue(event)}, not an event object`;
  if (typeof event.id !== 'string' || !event.id.startsWith('evt_')) return '"id" is not an "evt_…" string';
  if (event.object !== 'event') return '"object" is not "event"';
  if (typeof event.type !== 'string' || event.type === '') return '"type" is not a string';
  if (typeof event.created !== 'number' || !Number.isInteger(event.created))
    return '"created" is not whole unix seconds';
  const data = event.data;
  if (!isObject(data)) return '"data" is not a session object';
  if (typeof data.id !== 'string' || !data.id.startsWith('vs_')) return '"data.id" is not a "vs_…" string';
  if (data.object !== 'verification_session') return '"data.object" is not "verification_session"';
  return undefined;
}

/**
 * Verifies a FaceSign delivery and returns its event, typed as a union on `type` so that a
 * handler's `switch (event.type)` narrows `event.data` (the model is Stripe's `constructEvent`).
 *
 * - `rawBody`: the exact bytes received (a Buffer, Uint8Array or string), e.g. `req.body` under
 *   `express.raw({ type: 'application/json' })`. A parsed object is refused with a TypeError:
 *   re-serializing JSON does not give back the signed bytes.
 * - `signature`: the FaceSign-Signature header as Node gives it (`req.headers['facesign-signature']`).
 * - `secret`: the endpoint secret.
 *
 * Throws `WebhookVerificationError` (answer 400) when the signature is missing, malformed or wrong
 * (checked in constant time), or when a correctly signed body is not JSON or not an event envelope.
 * An event of a type this version does not know is returned as it is: acknowledge it and ignore it.
 */
export function constructEvent(
  rawBody: Buffer | Uint8Array | string,
  signature: string | string[] | undefined,
  secret: string,
): FaceSignEvent {
  const bytes = bodyBytes(rawBody);
  if (bytes === undefined) {
    throw new TypeError(
      'constructEvent needs the raw request body (a Buffer, Uint8Array or string), ' +
        `but got ${describeValue(rawBody)}. ` +
        'A body already parsed as JSON cannot be verified: the signature covers the exact bytes sent. ' +
        "Read the raw body on this route instead, e.g. express.raw({ type: 'application/json' }).",
    );
  }
  if (typeof secret !== 'string' || secret === '') {
    throw new TypeError(
      `constructEvent needs the endpoint secret as a non-empty string, but got ${describeValue(secret)} ` +
        '(is FACESIGN_WEBHOOK_SECRET set?)',
    );
  }
  const verdict = verifySignature(bytes, signature, secret);
  if (!verdict.ok) {
    const reason = verdict.reason === undefined || verdict.reason === 'no-secret' ? 'mismatch' : verdict.reason;
    throw new WebhookVerificationError(reason, `invalid signature: ${verdict.message}`);
  }
  let event: unknown;
  try {
    event = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch (err) {
    throw new WebhookVerificationError(
      'invalid-json',
      `the signed body is not valid UTF-8 JSON: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const problem = envelopeProblem(event);
  if (problem !== undefined)
    throw new WebhookVerificationError('invalid-event', `the signed body is not a FaceSign event: ${problem}`);
  return event as FaceSignEvent;
}
