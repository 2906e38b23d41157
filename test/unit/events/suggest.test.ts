import { describe, expect, it } from 'vitest';
import { closestName, editDistance, suggestEventType, unknownTypeHint } from '../../../src/events/suggest.js';
import { resolveEventType } from '../../../src/events/build.js';
import { parseOutcome } from '../../../src/commands/flow.js';
import { expectCliError } from '../../helpers/errors.js';

describe('editDistance', () => {
  it('counts inserts, deletes, substitutions and swapped neighbours', () => {
    expect(editDistance('verified', 'verified')).toBe(0);
    expect(editDistance('verifed', 'verified')).toBe(1);
    expect(editDistance('faield', 'failed')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});

describe('suggestEventType', () => {
  it.each([
    ['verifed', 'session.verified'],
    ['VERIFIED ', 'session.verified'],
    ['sesion.verified', 'session.verified'],
    ['session.faild', 'session.failed'],
    ['canceled', 'session.cancelled'],
    ['cancel', 'session.cancelled'],
    ['exp', 'session.expired'],
    ['stared', 'session.started'],
    ['creatd', 'session.created'],
  ])('%s → %s', (input, want) => {
    expect(suggestEventType(input)).toBe(want);
  });

  it.each(['bogus', 'payment.succeeded', 'x', '', 'session', 'a'.repeat(200)])('suggests nothing for %j', (input) => {
    expect(suggestEventType(input)).toBeUndefined();
  });

  it('closestName refuses a tie', () => {
    expect(closestName('ab', ['aa', 'bb'])).toBeUndefined();
    expect(closestName('abd', ['abc', 'xyz'])).toBe('abc');
  });

  it('the hint names the nearest type, else lists the six', () => {
    expect(unknownTypeHint('verifed')).toMatch(/^did you mean session\.verified\? \(types: session\.created, /);
    expect(unknownTypeHint('bogus')).toMatch(/^use one of the types: session\.created, /);
  });
});

describe('commands that take a type say what was meant', () => {
  it('resolveEventType: unknown type, did you mean', () => {
    const err = expectCliError(() => resolveEventType('verifed'));
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe('unknown event type "verifed"');
    expect(err.hint).toMatch(/^did you mean session\.verified\?/);
  });

  it('flow outcomes: the nearest outcome; created and started explained', () => {
    expect(parseOutcome('Verified')).toBe('verified');
    expect(parseOutcome('session.failed')).toBe('failed');
    expect(expectCliError(() => parseOutcome('verifed')).hint).toMatch(
      /^did you mean verified\? \(outcomes: verified, failed, cancelled, expired\)/,
    );
    expect(expectCliError(() => parseOutcome('canceled')).hint).toMatch(/^did you mean cancelled\?/);
    expect(expectCliError(() => parseOutcome('started')).message).toBe(
      'unknown flow outcome "started": every flow starts with created and started',
    );
    expect(expectCliError(() => parseOutcome('nope')).hint).toMatch(/^use one of the outcomes/);
  });
});
