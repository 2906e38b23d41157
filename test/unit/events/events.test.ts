import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  buildEvent,
  buildFlow,
  FLOW_OUTCOMES,
  resolveEventType,
  type FaceSignEvent,
} from '../../../src/events/build.js';
import { FIXTURES_DIR } from '../../../src/events/fixtures.js';
import { EVENT_DESCRIPTIONS, EVENT_TYPES, normalizeEventType, STATUS_BY_TYPE } from '../../../src/events/types.js';
import { expectCliError } from '../../helpers/errors.js';

const NOW = 1_800_000_000;

describe('the shipped fixtures', () => {
  it.each(EVENT_TYPES)('%s is realistic and consistent with its type', (type) => {
    const raw = JSON.parse(readFileSync(`${FIXTURES_DIR}${type}.json`, 'utf8')) as FaceSignEvent;
    expect(raw.type).toBe(type);
    expect(raw.object).toBe('event');
    expect(raw.id).toMatch(/^evt_/);
    expect(raw.data.id).toMatch(/^vs_/);
    expect(raw.data.object).toBe('verification_session');
    expect(raw.data.status).toBe(STATUS_BY_TYPE[type]);
    expect(raw.data.livemode).toBe(false);
    expect(typeof raw.data.metadata.user_id).toBe('string');
    const session = raw.data as unknown as Record<string, number | null>;
    // The session starts first, the event comes at or after it, and nothing happens after expiry.
    expect(raw.created).toBeGreaterThanOrEqual(session.created!);
    expect(raw.created).toBeLessThanOrEqual(session.expires_at!);
    if (session.started_at !== null) expect(session.started_at).toBeGreaterThanOrEqual(session.created!);
  });

  it('all six describe the same session and user, with consistent times', () => {
    const all = EVENT_TYPES.map((t) => JSON.parse(readFileSync(`${FIXTURES_DIR}${t}.json`, 'utf8')) as FaceSignEvent);
    expect(new Set(all.map((e) => e.data.id)).size).toBe(1);
    expect(new Set(all.map((e) => e.data.metadata.user_id)).size).toBe(1);
    expect(new Set(all.map((e) => e.data.created)).size).toBe(1);
    expect(new Set(all.map((e) => e.id)).size).toBe(6);
  });
});

describe('event types', () => {
  it('lists the six documented types, each with a description and a status', () => {
    expect([...EVENT_TYPES]).toEqual([
      'session.created',
      'session.started',
      'session.verified',
      'session.failed',
      'session.cancelled',
      'session.expired',
    ]);
    for (const type of EVENT_TYPES) {
      expect(EVENT_DESCRIPTIONS[type].length).toBeGreaterThan(10);
      expect(STATUS_BY_TYPE[type]).toMatch(/^[a-z_]+$/);
    }
  });

  it('accepts short names and any case, and refuses unknown ones with exit 2', () => {
    expect(normalizeEventType('Verified')).toBe('session.verified');
    expect(resolveEventType('session.failed')).toBe('session.failed');
    const err = expectCliError(() => resolveEventType('session.approved'));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('session.approved');
    expect(err.hint).toContain('session.verified');
  });
});

describe('buildEvent', () => {
  it('gives fresh evt_/vs_ ids and user on every build', () => {
    const a = buildEvent('session.verified');
    const b = buildEvent('session.verified');
    expect(a.id).toMatch(/^evt_[0-9a-f]{24}$/);
    expect(a.data.id).toMatch(/^vs_[0-9a-f]{24}$/);
    expect(a.id).not.toBe(b.id);
    expect(a.data.id).not.toBe(b.data.id);
    expect(a.data.metadata.user_id).not.toBe(b.data.metadata.user_id);
  });

  it('stamps created with the current time unless told otherwise', () => {
    const before = Math.floor(Date.now() / 1000);
    const event = buildEvent('session.created');
    const after = Math.floor(Date.now() / 1000);
    expect(event.created).toBeGreaterThanOrEqual(before);
    expect(event.created).toBeLessThanOrEqual(after);
    expect(buildEvent('session.created', { now: NOW }).created).toBe(NOW);
  });

  it("moves the session's timestamps with the event, keeping the fixture's spacing", () => {
    const event = buildEvent('session.verified', { now: NOW });
    const s = event.data as unknown as Record<string, number>;
    expect(event.created).toBe(NOW);
    expect(s.completed_at).toBe(NOW);
    expect(s.created).toBe(NOW - 95);
    expect(s.started_at).toBe(NOW - 65);
    expect(s.expires_at).toBe(NOW - 95 + 3600);
  });

  it('is pinned by eventId, sessionId and userId', () => {
    const event = buildEvent('session.failed', { eventId: 'evt_pinned', sessionId: 'vs_pinned', userId: 'usr_42' });
    expect(event.id).toBe('evt_pinned');
    expect(event.data.id).toBe('vs_pinned');
    expect(event.data.metadata.user_id).toBe('usr_42');
  });

  it('--set takes JSON values when they parse, else the text', () => {
    const event = buildEvent('session.verified', {
      set: [
        'data.metadata.plan=pro',
        'data.metadata.seats=3',
        'data.livemode=true',
        'data.metadata.quoted="42"',
        'data.metadata.tags=["a","b"]',
        'data.metadata.extra={"nested":{"ok":1}}',
        'data.metadata.nothing=null',
        'data.metadata.eq=a=b',
      ],
    });
    const m = event.data.metadata;
    expect(m.plan).toBe('pro');
    expect(m.seats).toBe(3);
    expect(event.data.livemode).toBe(true);
    expect(m.quoted).toBe('42');
    expect(m.tags).toEqual(['a', 'b']);
    expect(m.extra).toEqual({ nested: { ok: 1 } });
    expect(m.nothing).toBeNull();
    expect(m.eq).toBe('a=b');
  });

  it('--set creates nested objects and writes array items by index', () => {
    const event = buildEvent('session.verified', {
      set: [
        'data.metadata.address.city=Oslo',
        'data.metadata.tags=["a","b"]',
        'data.metadata.tags[1]=c',
        'data.metadata.tags.2="d"',
      ],
    });
    expect(event.data.metadata.address).toEqual({ city: 'Oslo' });
    expect(event.data.metadata.tags).toEqual(['a', 'c', 'd']);
  });

  it('--unset removes a field, and names a missing one', () => {
    const event = buildEvent('session.failed', { unset: ['data.last_error', 'data.livemode'] });
    expect(event.data).not.toHaveProperty('last_error');
    expect(event.data).not.toHaveProperty('livemode');
    const err = expectCliError(() => buildEvent('session.failed', { unset: ['data.last_eror'] }));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('data has no field "last_eror"');
  });

  it('applies --set before --unset, after the pinned ids', () => {
    const event = buildEvent('session.created', { userId: 'usr_flag', set: ['data.metadata.user_id=usr_set'] });
    expect(event.data.metadata.user_id).toBe('usr_set');
  });

  it('deep-merges a partial fixture over the type fixture', () => {
    const event = buildEvent('session.verified', {
      now: NOW,
      fixture: { data: { metadata: { plan: 'pro' }, verified_outputs: { first_name: 'Ada' } } },
    });
    expect(event.data.metadata.plan).toBe('pro');
    expect(event.data.metadata.user_id).toMatch(/^usr_/);
    expect(event.data.verified_outputs).toMatchObject({
      first_name: 'Ada',
      last_name: 'Doe',
      document_type: 'passport',
    });
    expect(event.data.status).toBe('verified');
    expect(event.created).toBe(NOW);
  });

  it('lets a whole fixture pin ids and times, and flags still win over it', () => {
    const fixture = {
      id: 'evt_from_file',
      created: 1700000000,
      data: { id: 'vs_from_file', metadata: { user_id: 'usr_file' } },
    };
    const event = buildEvent('session.cancelled', { fixture });
    expect(event).toMatchObject({
      id: 'evt_from_file',
      created: 1700000000,
      data: { id: 'vs_from_file', metadata: { user_id: 'usr_file' } },
    });
    expect(buildEvent('session.cancelled', { fixture, sessionId: 'vs_flag' }).data.id).toBe('vs_flag');
  });

  it('refuses a fixture of another type rather than mixing type and status', () => {
    const err = expectCliError(() => buildEvent('session.verified', { fixture: { type: 'session.failed' } }));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('session.failed');
    expect(err.message).toContain('session.verified');
    expect(buildEvent('session.failed', { fixture: { type: 'session.failed' } }).type).toBe('session.failed');
  });

  it('a bad path is exit 2 naming where it goes wrong', () => {
    const scalar = expectCliError(() =>
      buildEvent('session.verified', { set: ['data.verified_outputs.first_name.x=1'] }),
    );
    expect(scalar.exitCode).toBe(2);
    expect(scalar.message).toContain('data.verified_outputs.first_name is "John", not an object');
    expect(scalar.hint).toBeTruthy();
    const empty = expectCliError(() => buildEvent('session.verified', { set: ['data..x=1'] }));
    expect(empty.message).toContain('empty segment at character 6');
    const noValue = expectCliError(() => buildEvent('session.verified', { set: ['data.metadata.plan'] }));
    expect(noValue.message).toContain('expected path=value');
    const index = expectCliError(() =>
      buildEvent('session.verified', { set: ['data.metadata.tags=[]', 'data.metadata.tags[3]=x'] }),
    );
    expect(index.message).toContain('is an array of 0');
  });

  it('never lets a path or a fixture reach a prototype', () => {
    const event = buildEvent('session.verified', {
      set: ['__proto__.polluted=1', 'data.constructor.x=2'],
      fixture: JSON.parse('{"data": {"__proto__": {"polluted": 3}}}') as never,
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(event)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(event.data)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(event)).__proto__).toEqual({ polluted: 1 });
    expect(JSON.parse(JSON.stringify(event)).data.constructor).toEqual({ x: 2 });
  });
});

describe('statuses, last_error and verified_outputs per type', () => {
  it.each(EVENT_TYPES)('%s', (type) => {
    const event = buildEvent(type);
    expect(event.type).toBe(type);
    expect(event.data.status).toBe(STATUS_BY_TYPE[type]);
    if (type === 'session.failed') {
      expect(event.data.last_error).toMatchObject({
        code: expect.stringMatching(/^[a-z_]+$/),
        reason: expect.any(String),
      });
    } else expect(event.data.last_error ?? null).toBeNull();
    if (type === 'session.verified') {
      expect(event.data.verified_outputs).toMatchObject({
        first_name: expect.any(String),
        last_name: expect.any(String),
      });
    } else expect(event.data.verified_outputs).toBeNull();
  });
});

describe('buildFlow', () => {
  it.each(FLOW_OUTCOMES)('%s: created → started → outcome, one session, rising times', (outcome) => {
    const events = buildFlow(outcome, { now: NOW });
    expect(events.map((e) => e.type)).toEqual(['session.created', 'session.started', `session.${outcome}`]);
    expect(new Set(events.map((e) => e.data.id)).size).toBe(1);
    expect(events[0]!.data.id).toMatch(/^vs_/);
    expect(new Set(events.map((e) => e.data.metadata.user_id)).size).toBe(1);
    expect(new Set(events.map((e) => e.id)).size).toBe(3);
    expect(events[0]!.created).toBeLessThan(events[1]!.created);
    expect(events[1]!.created).toBeLessThan(events[2]!.created);
    expect(events[2]!.created).toBe(NOW);
    // The session's own creation time is the same in every event of the flow.
    expect(new Set(events.map((e) => e.data.created)).size).toBe(1);
    expect(events.map((e) => e.data.status)).toEqual(
      events.map((e) => STATUS_BY_TYPE[e.type as keyof typeof STATUS_BY_TYPE]),
    );
  });

  it('uses pinned session and user ids, and fresh ones per flow otherwise', () => {
    const pinned = buildFlow('verified', { sessionId: 'vs_x', userId: 'usr_y' });
    expect(pinned.every((e) => e.data.id === 'vs_x' && e.data.metadata.user_id === 'usr_y')).toBe(true);
    expect(buildFlow('failed')[0]!.data.id).not.toBe(buildFlow('failed')[0]!.data.id);
  });

  it('refuses an unknown outcome with exit 2', () => {
    const err = expectCliError(() => buildFlow('approved' as never));
    expect(err.exitCode).toBe(2);
    expect(err.hint).toContain('verified, failed, cancelled, expired');
  });
});
