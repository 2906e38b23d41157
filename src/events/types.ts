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

/** Session status carried by each event (the simulator's assumption; see README). */
export const STATUS_BY_TYPE: Record<EventType, string> = {
  'session.created': 'created',
  'session.started': 'in_progress',
  'session.verified': 'verified',
  'session.failed': 'failed',
  'session.cancelled': 'cancelled',
  'session.expired': 'expired',
};

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
