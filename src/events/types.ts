import type { JsonValue } from './json.js';

/** The six session events FaceSign documents, with what triggers each. */
export const EVENT_TYPES = [
  'session.created',
  'session.started',
  'session.verified',
  'session.failed',
  'session.cancelled',
  'session.expired',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export const EVENT_DESCRIPTIONS: Record<EventType, string> = {
  'session.created': 'a new verification session is created',
  'session.started': 'the user begins the verification process',
  'session.verified': 'the session is successfully verified',
  'session.failed': 'verification fails (e.g. document rejected, face mismatch)',
  'session.cancelled': 'the session is cancelled by the user or via the API',
  'session.expired': 'the session expires without completion',
};

/** The statuses a session moves through (the simulator's assumption; FaceSign's docs show only `verified`). */
export const SESSION_STATUSES = ['created', 'in_progress', 'verified', 'failed', 'cancelled', 'expired'] as const;

export type SessionStatus = (typeof SESSION_STATUSES)[number];

/** Session status carried by each event (the simulator's assumption; see README). */
export const STATUS_BY_TYPE = {
  'session.created': 'created',
  'session.started': 'in_progress',
  'session.verified': 'verified',
  'session.failed': 'failed',
  'session.cancelled': 'cancelled',
  'session.expired': 'expired',
} as const satisfies Record<EventType, SessionStatus>;

/*
 * The events as TypeScript types: a union discriminated on `type`, so a handler's
 * `switch (event.type)` narrows `event.data`. Required fields are the ones FaceSign's docs show
 * (or the docs' own handler reads); the simulator's other session fields are optional, and the
 * per-type statuses, `last_error` and a null `verified_outputs` outside `session.verified` are
 * the simulator's assumptions. The JSON Schemas (`schema` command, src/events/schema.ts) say the same.
 */

/**
 * `data.verified_outputs` of a verified session. The docs show `first_name` and `last_name`, then
 * "other verification results".
 */
export interface VerifiedOutputs {
  first_name: string;
  last_name: string;
  /** Assumed by the simulator (ISO date); not in FaceSign's docs. */
  date_of_birth?: string;
  /** Assumed by the simulator (`passport`, …); not in FaceSign's docs. */
  document_type?: string;
  /** Assumed by the simulator (ISO 3166 alpha-2); not in FaceSign's docs. */
  document_country?: string;
  /** Assumed by the simulator; not in FaceSign's docs. */
  document_number_last4?: string;
  [key: string]: JsonValue | undefined;
}

/** Why a session failed. Assumed by the simulator; not in FaceSign's docs. */
export interface SessionError {
  /** e.g. `face_mismatch`, `document_rejected`. */
  code: string;
  reason: string;
}

/** Your own metadata on the session; the docs' handler reads `metadata.user_id`. */
export interface SessionMetadata {
  user_id?: string;
  [key: string]: JsonValue | undefined;
}

/** The session object in `data` (docs: "The full session object"). */
export interface VerificationSession<S extends SessionStatus = SessionStatus> {
  /** `vs_…` */
  id: string;
  object: 'verification_session';
  status: S;
  verified_outputs: VerifiedOutputs | null;
  metadata: SessionMetadata;
  /** The fields below are assumed by the simulator; not in FaceSign's docs. */
  livemode?: boolean;
  /** Unix seconds. */
  created?: number;
  expires_at?: number;
  started_at?: number | null;
  completed_at?: number | null;
  cancelled_at?: number | null;
  last_error?: SessionError | null;
}

/** A session that has no result yet, or ended without one. */
export interface UnverifiedSession<S extends SessionStatus> extends VerificationSession<S> {
  verified_outputs: null;
  last_error?: null;
}

export interface VerifiedSession extends VerificationSession<'verified'> {
  verified_outputs: VerifiedOutputs;
  last_error?: null;
}

export interface FailedSession extends VerificationSession<'failed'> {
  verified_outputs: null;
  last_error: SessionError;
}

/** The envelope every event follows (docs: "Event object structure"); `type` may be one this version does not know. */
export interface EventEnvelope {
  /** `evt_…`, also sent as the FaceSign-Event-Id header: use it to de-duplicate. */
  id: string;
  object: 'event';
  type: string;
  /** Unix seconds. */
  created: number;
  data: VerificationSession;
}

export interface SessionCreatedEvent extends EventEnvelope {
  type: 'session.created';
  data: UnverifiedSession<'created'>;
}
export interface SessionStartedEvent extends EventEnvelope {
  type: 'session.started';
  data: UnverifiedSession<'in_progress'>;
}
export interface SessionVerifiedEvent extends EventEnvelope {
  type: 'session.verified';
  data: VerifiedSession;
}
export interface SessionFailedEvent extends EventEnvelope {
  type: 'session.failed';
  data: FailedSession;
}
export interface SessionCancelledEvent extends EventEnvelope {
  type: 'session.cancelled';
  data: UnverifiedSession<'cancelled'>;
}
export interface SessionExpiredEvent extends EventEnvelope {
  type: 'session.expired';
  data: UnverifiedSession<'expired'>;
}

/** Any of the six events; narrow it with `event.type`. */
export type FaceSignEvent =
  | SessionCreatedEvent
  | SessionStartedEvent
  | SessionVerifiedEvent
  | SessionFailedEvent
  | SessionCancelledEvent
  | SessionExpiredEvent;

/** The event of one type: `FaceSignEventOf<'session.failed'>` is `SessionFailedEvent`. */
export type FaceSignEventOf<T extends EventType> = Extract<FaceSignEvent, { type: T }>;

export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}

/** Accepts `session.verified` or the short `verified`; returns undefined for anything else. */
export function normalizeEventType(value: string): EventType | undefined {
  const v = value.trim().toLowerCase();
  if (isEventType(v)) return v;
  const long = `session.${v}`;
  return isEventType(long) ? long : undefined;
}
