import type { IncomingHttpHeaders } from 'node:http';
import { verifySignature, EVENT_ID_FIELD, SIGNATURE_FIELD } from '../signature/index.js';
import { captureLimits, type CaptureVerdict } from './capture.js';

/** A request as the receiver read it: everything judging needs, nothing of the socket. */
export interface ReceivedRequest {
  method: string;
  /** The request target as sent (path and query). */
  target: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** True when the body went over the cap (then `body` is empty). */
  bodyTooLarge: boolean;
  /** Bytes the client sent in the body, kept or not. */
  bodyBytesSeen: number;
}

/** A fault the receiver was told to inject for a well-formed delivery. */
export interface InjectedFault {
  status: number;
  reason: string;
}

export interface JudgeContext {
  path: string;
  /** Undefined: signatures are not checked (forwarding without a secret); the verdict says `unchecked`. */
  secret: string | undefined;
  maxBodyBytes: number;
  /** True when this event id was already accepted once. */
  isProcessed(eventId: string): boolean;
  /** Decides an injected fault for a signed, parsed delivery (counting its attempt); undefined for none. */
  decideFault?(eventId: string): { fault?: InjectedFault; attempt: number; statusOverride?: number };
}

export interface Judgement {
  verdict: CaptureVerdict;
  responseBody: string;
  /** Extra response headers (e.g. `Allow` for a 405). */
  headers: Record<string, string>;
  /**
   * True when the receiver answers this one itself even in front of an app: the request is not a
   * delivery to its path (wrong path or method, too large) or a fault was injected.
   */
  ownAnswer?: true;
}

interface EventFacts {
  event_id: string | null;
  event_type: string | null;
  session_id: string | null;
  user_id: string | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Reads the ids a log line shows from a parsed body (any shape; missing parts are null). */
export function readEventFacts(value: unknown, headerEventId: string | null): EventFacts {
  const event =
    typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  const data = typeof event.data === 'object' && event.data !== null ? (event.data as Record<string, unknown>) : {};
  const metadata =
    typeof data.metadata === 'object' && data.metadata !== null ? (data.metadata as Record<string, unknown>) : {};
  return {
    event_id: str(event.id) ?? headerEventId,
    event_type: str(event.type),
    session_id: str(data.id),
    user_id: str(metadata.user_id),
  };
}

/** Shared by every judgement that adds no response header; never modified. */
const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

function headerValue(headers: IncomingHttpHeaders, lowerName: string): string | null {
  const v = headers[lowerName];
  return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
}

/** The path part of a request target, without query; `null` when it is not a path at all. */
export function targetPath(target: string): string | null {
  if (!target.startsWith('/')) return null;
  const q = target.search(/[?#]/);
  return q >= 0 ? target.slice(0, q) : target;
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

type SignatureVerdict = CaptureVerdict['signature'];

/** Each verdict is made in one shape: status, outcome, signature, the ids, then reason and attempt. */
function makeVerdict(
  facts: EventFacts,
  status: number,
  outcome: CaptureVerdict['outcome'],
  signature: SignatureVerdict,
  reason: string | undefined,
  attempt?: number,
): CaptureVerdict {
  const v: CaptureVerdict = {
    status,
    outcome,
    signature,
    event_id: facts.event_id,
    event_type: facts.event_type,
    session_id: facts.session_id,
    user_id: facts.user_id,
  };
  if (reason !== undefined) v.reason = reason;
  if (attempt !== undefined) v.attempt = attempt;
  return v;
}

function rejection(
  facts: EventFacts,
  status: number,
  signature: SignatureVerdict,
  reason: string,
  responseBody: string,
  headers: Record<string, string> = NO_HEADERS,
): Judgement {
  return { verdict: makeVerdict(facts, status, 'rejected', signature, reason), responseBody, headers };
}

/** The first thing wrong with where and how the request came (path, method, size); undefined when none. */
function envelopeProblem(req: ReceivedRequest, ctx: JudgeContext, facts: EventFacts): Judgement | undefined {
  const path = targetPath(req.target);
  const wanted = ctx.path.replace(/\/+$/, '') || '/';
  if (path === null || (path !== wanted && path !== `${wanted}/`)) {
    return rejection(
      facts,
      404,
      'unchecked',
      `wrong path ${JSON.stringify(req.target.slice(0, 200))}; webhooks go to ${ctx.path}`,
      `Not found: POST webhooks to ${ctx.path}`,
    );
  }
  if (req.method !== 'POST') {
    return rejection(
      facts,
      405,
      'unchecked',
      `wrong method ${req.method}; FaceSign sends POST`,
      'Method not allowed: FaceSign webhooks are POST',
      { Allow: 'POST' },
    );
  }
  if (req.bodyTooLarge) {
    const cap = formatBytes(ctx.maxBodyBytes);
    const reason = `body of ${req.bodyBytesSeen} bytes or more is over the ${cap} cap`;
    return rejection(facts, 413, 'unchecked', reason, `Payload too large: the limit is ${cap}`);
  }
  return undefined;
}

/** The first thing wrong with the body (signature, JSON, event id); undefined when none. */
function bodyProblem(
  req: ReceivedRequest,
  ctx: JudgeContext,
  facts: EventFacts,
  parsed: unknown,
  jsonError: string | undefined,
): Judgement | undefined {
  const sig =
    ctx.secret === undefined
      ? { ok: true as const }
      : verifySignature(req.body, req.headers[SIGNATURE_FIELD], ctx.secret);
  if (!sig.ok) {
    const kind =
      sig.reason === 'missing' || sig.reason === 'prefixed' || sig.reason === 'uppercase' || sig.reason === 'malformed'
        ? sig.reason
        : 'mismatch';
    return rejection(facts, 400, kind, sig.message, `Invalid signature: ${sig.message}`);
  }
  const checked: SignatureVerdict = ctx.secret === undefined ? 'unchecked' : 'valid';
  if (jsonError !== undefined) {
    return rejection(facts, 400, checked, `body is not valid JSON (${jsonError})`, 'Invalid JSON');
  }
  if (facts.event_id === null || typeof (parsed as { id?: unknown })?.id !== 'string') {
    return rejection(facts, 400, checked, 'body is not a FaceSign event: no string "id"', 'Invalid event: no id');
  }
  return undefined;
}

/**
 * Judges one request the way a correct FaceSign handler would (provider docs, "Complete webhook
 * handler"): path, method, size, signature over the raw bytes, JSON, then injected faults, then
 * idempotency by event id. Pure apart from the two callbacks; never throws on any input.
 */
export function judgeRequest(req: ReceivedRequest, ctx: JudgeContext): Judgement {
  let parsed: unknown;
  let jsonError: string | undefined;
  if (!req.bodyTooLarge && req.body.length > captureLimits.maxStringChars) {
    jsonError = `${req.body.length} bytes are more than one string can hold, so it cannot be parsed`;
  } else if (!req.bodyTooLarge) {
    try {
      parsed = JSON.parse(req.body.toString('utf8'));
    } catch (err) {
      jsonError = (err as Error).message;
    }
  }
  const facts = readEventFacts(parsed, headerValue(req.headers, EVENT_ID_FIELD));
  const envelope = envelopeProblem(req, ctx, facts);
  if (envelope !== undefined) return { ...envelope, ownAnswer: true };
  const problem = bodyProblem(req, ctx, facts, parsed, jsonError);
  if (problem !== undefined) return problem;
  const signature: SignatureVerdict = ctx.secret === undefined ? 'unchecked' : 'valid';
  const eventId = facts.event_id as string;
  const decision = ctx.decideFault?.(eventId) ?? { attempt: 1 };
  if (decision.fault) {
    return {
      verdict: makeVerdict(facts, decision.fault.status, 'fault', signature, decision.fault.reason, decision.attempt),
      responseBody: `Internal error (injected: ${decision.fault.reason})`,
      headers: NO_HEADERS,
      ownAnswer: true,
    };
  }
  // A 2xx --status still processes the event; it only changes the code the sender sees.
  const status = decision.statusOverride ?? 200;
  if (ctx.isProcessed(eventId)) {
    return {
      verdict: makeVerdict(facts, status, 'duplicate', signature, 'event id already processed', decision.attempt),
      responseBody: 'Already processed',
      headers: NO_HEADERS,
    };
  }
  return {
    verdict: makeVerdict(facts, status, 'accepted', signature, undefined, decision.attempt),
    responseBody: 'OK',
    headers: NO_HEADERS,
  };
}
