import { randomBytes } from 'node:crypto';
import { usageError } from '../errors.js';
import { loadFixture } from './fixtures.js';
import {
  deepMerge,
  isPlainObject,
  parseSetValue,
  setPath,
  unsetPath,
  type JsonObject,
  type JsonValue,
} from './json.js';
import { normalizeEventType, type EventType, type FaceSignEvent, type FaceSignEventOf } from './types.js';
import { unknownTypeHint } from './suggest.js';

export type { FaceSignEvent, VerificationSession } from './types.js';

/**
 * An event as the builder handles it: any JSON under the envelope's fields, since overrides may add
 * or change anything.
 */
interface BuiltEvent {
  id: string;
  object: 'event';
  type: string;
  created: number;
  data: BuiltSession;
  [key: string]: JsonValue;
}

interface BuiltSession {
  id: string;
  object: 'verification_session';
  status: string;
  metadata: { [key: string]: JsonValue };
  verified_outputs: JsonObject | null;
  [key: string]: JsonValue;
}

export interface BuildOptions {
  /** Pin the event id (`evt_…`). Fresh on every build otherwise. */
  eventId?: string;
  /** Pin the session id (`vs_…`). */
  sessionId?: string;
  /** Pin `data.metadata.user_id`. */
  userId?: string;
  /** Unix seconds the event is created at (default: now). */
  now?: number;
  /** Unix seconds the session was created; the event's time then follows the fixture's spacing. */
  sessionCreated?: number;
  /** A whole or partial event, deep-merged over the type's fixture (it may pin ids and times). */
  fixture?: JsonObject;
  /** `path=value` assignments, applied in order after everything else. */
  set?: string[];
  /** Paths to remove, applied last. */
  unset?: string[];
}

/** Session fields that hold unix-second timestamps and move with the session's clock. */
const SESSION_TIME_FIELDS = ['created', 'expires_at', 'started_at', 'completed_at', 'cancelled_at'] as const;

// Ids need uniqueness, not secrecy: draw them from a pooled buffer, since one randomBytes call per
// id costs ~13 µs and a load run makes two ids a request.
let pool = Buffer.alloc(0);
let poolOffset = 0;

/** `bytes` random bytes as lowercase hex, from a refilled pool. */
export function randomHex(bytes: number): string {
  if (poolOffset + bytes > pool.length) {
    pool = randomBytes(Math.max(4096, bytes));
    poolOffset = 0;
  }
  const hex = pool.toString('hex', poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return hex;
}

export function newId(prefix: 'evt' | 'vs' | 'usr'): string {
  return `${prefix}_${randomHex(12)}`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Seconds from the session's creation to this type's event, as the fixtures lay it out. */
export function eventOffset(type: EventType): number {
  const fixture = loadFixture(type) as unknown as BuiltEvent;
  return fixture.created - (fixture.data.created as number);
}

function shiftTimes(event: BuiltEvent, delta: number): void {
  event.created += delta;
  for (const field of SESSION_TIME_FIELDS) {
    const value = event.data[field];
    if (typeof value === 'number') event.data[field] = value + delta;
  }
}

/** Resolves a type name, or throws a usage error listing the six. */
export function resolveEventType(name: string): EventType {
  const type = normalizeEventType(name);
  if (!type) {
    throw usageError(`unknown event type "${name}"`, unknownTypeHint(name, ', or all where a command takes it'));
  }
  return type;
}

function parseAssignment(assignment: string): [string, JsonValue] {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw usageError(`bad --set "${assignment}": expected path=value`, 'e.g. --set data.metadata.plan=pro');
  return [assignment.slice(0, eq), parseSetValue(assignment.slice(eq + 1))];
}

/**
 * Builds a fresh event of a type: the type's fixture with new ids and times, then the user's
 * fixture merged over it, then pinned ids, then `set`/`unset`. Pure apart from ids and the clock.
 * It is typed as the event of its type; a `fixture`, `set` or `unset` can make it something else
 * on purpose (validate it with the type's schema when that matters).
 */
export function buildEvent<T extends EventType>(type: T, options: BuildOptions = {}): FaceSignEventOf<T> {
  const event = loadFixture(type) as unknown as BuiltEvent;
  const offset = event.created - (event.data.created as number);
  const sessionCreated = options.sessionCreated ?? (options.now ?? nowSeconds()) - offset;
  shiftTimes(event, sessionCreated - (event.data.created as number));
  event.id = newId('evt');
  event.data.id = newId('vs');
  event.data.metadata.user_id = newId('usr').slice(0, 12);

  let built: JsonObject = event as unknown as JsonObject;
  if (options.fixture) {
    if (!isPlainObject(options.fixture)) throw usageError('a fixture must be a JSON object (an event or part of one)');
    // A fixture naming another known type would give a body whose type and status disagree.
    const named = options.fixture.type;
    if (typeof named === 'string' && normalizeEventType(named) !== undefined && normalizeEventType(named) !== type) {
      throw usageError(
        `the fixture is a ${named} event, but ${type} was asked for`,
        'name no type (the fixture\'s own type is used), or remove "type" from the fixture to merge it over any type',
      );
    }
    built = deepMerge(built, options.fixture) as JsonObject;
  }
  if (options.eventId !== undefined) built.id = options.eventId;
  if (options.sessionId !== undefined) setPath(built, 'data.id', options.sessionId);
  if (options.userId !== undefined) setPath(built, 'data.metadata.user_id', options.userId);
  for (const assignment of options.set ?? []) {
    const [path, value] = parseAssignment(assignment);
    setPath(built, path, value);
  }
  for (const path of options.unset ?? []) unsetPath(built, path);
  return built as unknown as FaceSignEventOf<T>;
}

/** The outcomes a `flow` can end in. */
export const FLOW_OUTCOMES = ['verified', 'failed', 'cancelled', 'expired'] as const;
export type FlowOutcome = (typeof FLOW_OUTCOMES)[number];

export type FlowOptions = Omit<BuildOptions, 'eventId' | 'sessionCreated'> & {
  /** A fixture per stage's type (e.g. a project's per-type overrides); replaces `fixture` when given. */
  fixtureFor?: (type: EventType) => JsonObject | undefined;
};

/**
 * One session's life: created → started → outcome, with one `vs_` id, one user, and event times
 * rising as the fixtures space them (the outcome is `now`). An expired session is modelled as
 * one the user began but never finished.
 */
export function buildFlow(outcome: FlowOutcome, options: FlowOptions = {}): FaceSignEvent[] {
  if (!(FLOW_OUTCOMES as readonly string[]).includes(outcome)) {
    throw usageError(`unknown flow outcome "${outcome}"`, `use one of: ${FLOW_OUTCOMES.join(', ')}`);
  }
  const finalType = `session.${outcome}` as EventType;
  const stages: EventType[] = ['session.created', 'session.started', finalType];
  const now = options.now ?? nowSeconds();
  const sessionCreated = now - eventOffset(finalType);
  const sessionId = options.sessionId ?? newId('vs');
  const userId = options.userId ?? newId('usr').slice(0, 12);
  return stages.map((type) => {
    const fixture = options.fixtureFor ? options.fixtureFor(type) : options.fixture;
    return buildEvent(type, { ...options, fixture, sessionCreated, sessionId, userId });
  });
}
