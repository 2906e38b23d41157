/*
 * Type-level tests of the event types: compiled by test/unit/events/types.test.ts with tsc (strict), never run.
 * A wrong type here is a compile error, so that test fails.
 */
import { expectTypeOf } from 'vitest';
import {
  buildEvent,
  buildFlow,
  constructEvent,
  type EventType,
  type FaceSignEvent,
  type FaceSignEventOf,
  type SessionCreatedEvent,
  type SessionError,
  type SessionFailedEvent,
  type SessionVerifiedEvent,
  type VerifiedOutputs,
} from '../../../src/index.js';

export function handler(rawBody: Buffer, signature: string | string[] | undefined, secret: string): string {
  const event = constructEvent(rawBody, signature, secret);
  expectTypeOf(event).toEqualTypeOf<FaceSignEvent>();
  switch (event.type) {
    case 'session.verified':
      expectTypeOf(event).toEqualTypeOf<SessionVerifiedEvent>();
      expectTypeOf(event.data.verified_outputs).toEqualTypeOf<VerifiedOutputs>();
      expectTypeOf(event.data.verified_outputs.first_name).toBeString();
      expectTypeOf(event.data.status).toEqualTypeOf<'verified'>();
      return event.data.verified_outputs.last_name;
    case 'session.failed':
      expectTypeOf(event).toEqualTypeOf<SessionFailedEvent>();
      expectTypeOf(event.data.last_error).toEqualTypeOf<SessionError>();
      expectTypeOf(event.data.verified_outputs).toBeNull();
      return event.data.last_error.code;
    default:
      expectTypeOf(event.type).toEqualTypeOf<
        'session.created' | 'session.started' | 'session.cancelled' | 'session.expired'
      >();
      expectTypeOf(event.data.status).toEqualTypeOf<'created' | 'in_progress' | 'cancelled' | 'expired'>();
      expectTypeOf(event.data.verified_outputs).toBeNull();
      // Fields FaceSign's docs do not show are optional: a handler has to check them.
      expectTypeOf(event.data.expires_at).toEqualTypeOf<number | undefined>();
      expectTypeOf(event.data.metadata.user_id).toEqualTypeOf<string | undefined>();
      return event.id;
  }
}

export function envelope(event: FaceSignEvent): void {
  expectTypeOf(event.id).toBeString();
  expectTypeOf(event.object).toEqualTypeOf<'event'>();
  expectTypeOf(event.created).toBeNumber();
  expectTypeOf(event.type).toEqualTypeOf<EventType>();
  expectTypeOf(event.data.object).toEqualTypeOf<'verification_session'>();
}

export function builder(type: EventType): void {
  expectTypeOf(buildEvent('session.verified')).toEqualTypeOf<SessionVerifiedEvent>();
  expectTypeOf(buildEvent('session.created')).toEqualTypeOf<SessionCreatedEvent>();
  expectTypeOf(buildEvent(type)).toEqualTypeOf<FaceSignEvent>();
  expectTypeOf(buildFlow('failed')).toEqualTypeOf<FaceSignEvent[]>();
  expectTypeOf<FaceSignEventOf<'session.failed'>>().toEqualTypeOf<SessionFailedEvent>();
  expectTypeOf(constructEvent).parameter(0).toEqualTypeOf<Buffer | Uint8Array | string>();
  expectTypeOf(constructEvent).parameter(1).toEqualTypeOf<string | string[] | undefined>();
}

export function misuse(event: FaceSignEvent): void {
  // @ts-expect-error without narrowing, verified_outputs may be null
  void event.data.verified_outputs.first_name;
  // @ts-expect-error not one of the six types: the comparison can never be true
  if (event.type === 'session.reviewed') return;
  // @ts-expect-error a created session has no results
  void buildEvent('session.created').data.verified_outputs.first_name;
  // @ts-expect-error a parsed object is not a raw body
  constructEvent({ id: 'evt_1' }, 'sig', 'secret');
}
