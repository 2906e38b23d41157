import { describe, expect, it } from 'vitest';
import { redactBody, redactInto, redactValue } from '../../../src/receiver/redact.js';

const R = '[redacted]';

describe('redactValue: personal data by key, anywhere', () => {
  it('replaces names, dates of birth, document numbers, addresses, emails and phones at any depth', () => {
    const input = {
      id: 'evt_1',
      type: 'session.verified',
      data: {
        id: 'vs_1',
        metadata: { user_id: 'usr_1' },
        person: {
          first_name: 'Ada',
          lastName: 'Lovelace',
          'Full-Name': 'Ada Lovelace',
          name: 'A. L.',
          date_of_birth: '1815-12-10',
          dob: '1815-12-10',
          document_number: 'X123',
          id_number: 'N456',
          home_address: { street: 'St James Sq', city: 'London' },
          email: 'ada@example.com',
          phone_number: '+44 20',
        },
      },
    };
    const { value, count } = redactValue(input);
    const p = (value as typeof input).data.person;
    expect(p).toEqual({
      first_name: R,
      lastName: R,
      'Full-Name': R,
      name: R,
      date_of_birth: R,
      dob: R,
      document_number: R,
      id_number: R,
      home_address: { street: R, city: R },
      email: R,
      phone_number: R,
    });
    expect(count).toBe(11);
    // Ids and types are not personal data: untouched.
    expect((value as typeof input).id).toBe('evt_1');
    expect((value as typeof input).data.metadata.user_id).toBe('usr_1');
    // The input is not changed.
    expect(input.data.person.first_name).toBe('Ada');
  });

  it('replaces every value under verified_outputs, keeping its keys and shape', () => {
    const { value } = redactValue({
      data: { verified_outputs: { age_over_18: true, nationality: 'GB', scores: [0.9, 0.8], extra: null } },
    });
    expect(value).toEqual({
      data: { verified_outputs: { age_over_18: R, nationality: R, scores: [R, R], extra: null } },
    });
  });

  it('walks arrays of objects', () => {
    const { value, count } = redactValue({ people: [{ name: 'a', role: 'x' }, { name: 'b' }], tags: ['name'] });
    expect(value).toEqual({ people: [{ name: R, role: 'x' }, { name: R }], tags: ['name'] });
    expect(count).toBe(2);
  });
});

describe('redactBody', () => {
  it('writes the redacted JSON and says so', () => {
    const r = redactBody(Buffer.from('{"id":"evt_1","data":{"first_name":"Ada"}}'));
    expect(r.redacted).toBe(true);
    expect(JSON.parse(r.body.toString())).toEqual({ id: 'evt_1', data: { first_name: R } });
  });

  it('leaves a body that is not JSON alone, with a note', () => {
    const body = Buffer.from('first_name=Ada&last_name=Lovelace');
    const r = redactBody(body);
    expect(r).toMatchObject({ redacted: false, note: expect.stringMatching(/not JSON/) });
    expect(r.body.equals(body)).toBe(true);
  });

  it('keeps the signed bytes when nothing personal is in them', () => {
    const body = Buffer.from('{ "id": "evt_1",  "type": "session.created" }');
    const r = redactBody(body);
    expect(r).toMatchObject({ redacted: false, note: expect.stringMatching(/no personal data/) });
    expect(r.body.equals(body)).toBe(true);
  });

  it('redactInto keeps the received bytes only when asked', () => {
    const body = Buffer.from('{"name":"Ada"}');
    const without: Record<string, unknown> = {};
    redactInto(without, body, false);
    expect(without).toEqual({ redacted: true });
    const withRaw: { rawBody?: Buffer } = {};
    redactInto(withRaw, body, true);
    expect(withRaw.rawBody?.equals(body)).toBe(true);
  });
});
