import { SIGNATURE_HEADER, bodyBytes } from '../signature/index.js';
import { diagnoseSignature, type SignatureDiagnosis } from './diagnose.js';
import { headerValues } from './http-request.js';
import { checkEventShape, type ShapeHeaders, type ShapeWarning } from './shape.js';

export interface VerifyWebhookInput {
  /** The raw body bytes as received. */
  body: Uint8Array | string;
  /** The headers received (their FaceSign-Signature is used unless `signature` is given). */
  headers?: ShapeHeaders;
  /** The signature to check, when it does not come from `headers`. */
  signature?: unknown;
  secret: string;
  /** The request method, when known (FaceSign sends POST). */
  method?: string;
  /** Shape warnings fail the verdict. */
  strict?: boolean;
  /** What reading the input noticed (e.g. bytes after Content-Length): reported, never a failure. */
  inputNotes?: string[];
}

export interface WebhookVerdict {
  /** The signature is valid and (under strict) there are no warnings: exit code 0. */
  ok: boolean;
  signature: SignatureDiagnosis;
  /** The signature value checked (several header values joined by ", "), or null. */
  received: string | null;
  warnings: ShapeWarning[];
  /** Notes about the input itself (not the webhook), such as bytes ignored after Content-Length. */
  notes: string[];
  strict: boolean;
  bodyBytes: number;
  eventId: string | null;
  eventType: string | null;
  sessionId: string | null;
}

function signatureFrom(input: VerifyWebhookInput): unknown {
  if (input.signature !== undefined || !input.headers) return input.signature;
  const values = headerValues(input.headers.list, SIGNATURE_HEADER);
  return values.length <= 1 ? values[0] : values;
}

function showReceived(signature: unknown): string | null {
  if (typeof signature === 'string') return signature;
  if (Array.isArray(signature)) return signature.map(String).join(', ');
  return signature === undefined || signature === null ? null : String(signature);
}

/**
 * The whole verdict on one received webhook: the signature with its diagnosis, and the shape of
 * the event and its headers. Pure: no I/O, never throws on untrusted input.
 */
export function verifyWebhook(input: VerifyWebhookInput): WebhookVerdict {
  const signature = signatureFrom(input);
  const diagnosis = diagnoseSignature(input.body, signature, input.secret);
  const shape = checkEventShape(input.body, input.headers);
  const warnings = [...shape.warnings];
  if (input.method !== undefined && input.method.toUpperCase() !== 'POST') {
    warnings.unshift({
      code: 'method',
      message: `the request was ${JSON.stringify(input.method)}; FaceSign sends POST`,
    });
  }
  const strict = input.strict ?? false;
  return {
    ok: diagnosis.ok && !(strict && warnings.length > 0),
    signature: diagnosis,
    received: showReceived(signature),
    warnings,
    notes: [...(input.inputNotes ?? [])],
    strict,
    bodyBytes: bodyBytes(input.body)?.length ?? 0,
    eventId: shape.eventId,
    eventType: shape.eventType,
    sessionId: shape.sessionId,
  };
}

/** The `--json` object for a verdict: one stable, documented shape (see README "verify"). */
export function verdictRecord(
  verdict: WebhookVerdict,
  source: { source: string; input: string },
): Record<string, unknown> {
  const s = verdict.signature;
  return {
    type: 'verify',
    source: source.source,
    input: source.input,
    ok: verdict.ok,
    verdict: s.ok ? 'valid' : 'invalid',
    reason: s.reason ?? null,
    message: s.message,
    signature: verdict.received,
    expected: s.expected ?? null,
    length: s.length ?? null,
    would_match: s.wouldMatch ?? null,
    cause: s.cause
      ? { id: s.cause.id, signed_form: s.cause.signedForm ?? null, message: s.cause.message, fix: s.cause.fix }
      : null,
    secret_hint: s.secretHint ?? null,
    fix: s.fix ?? null,
    body_bytes: verdict.bodyBytes,
    event_id: verdict.eventId,
    event_type: verdict.eventType,
    session_id: verdict.sessionId,
    warnings: verdict.warnings,
    notes: verdict.notes,
    strict: verdict.strict,
  };
}
