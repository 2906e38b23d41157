import { createHmac } from 'node:crypto';
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  buildEvent,
  constructEvent,
  WebhookVerificationError,
  type WebhookVerificationReason,
} from '../../../src/index.js';
import { startServer, type TestServer } from '../../helpers/server.js';

const SECRET = 'whsec_construct_test';
// Signed here with node:crypto directly, not with the project's signPayload.
const hmac = (body: Buffer | string, secret = SECRET) => createHmac('sha256', secret).update(body).digest('hex');

function signed(event: unknown = buildEvent('session.verified')): { body: Buffer; signature: string } {
  const body = Buffer.from(JSON.stringify(event));
  return { body, signature: hmac(body) };
}

function refusal(fn: () => unknown): WebhookVerificationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WebhookVerificationError);
    return err as WebhookVerificationError;
  }
  throw new Error('expected a WebhookVerificationError, nothing was thrown');
}

describe('constructEvent', () => {
  it('returns the event of a correctly signed raw body, given as a Buffer, a Uint8Array or a string', () => {
    const event = buildEvent('session.failed', { userId: 'usr_7' });
    const { body, signature } = signed(event);
    expect(constructEvent(body, signature, SECRET)).toEqual(event);
    expect(constructEvent(new Uint8Array(body), signature, SECRET)).toEqual(event);
    expect(constructEvent(body.toString('utf8'), signature, SECRET)).toEqual(event);
    // A one-element array (what some frameworks give) and surrounding spaces are read as the value.
    expect(constructEvent(body, [` ${signature}`], SECRET).id).toBe(event.id);
  });

  it('verifies the exact bytes: pretty-printed JSON signed as sent is fine, any change to them is not', () => {
    const pretty = Buffer.from(JSON.stringify(buildEvent('session.created'), null, 2));
    expect(constructEvent(pretty, hmac(pretty), SECRET).type).toBe('session.created');
    const { body, signature } = signed();
    const tampered = Buffer.from(body.toString().replace('"livemode":false', '"livemode":true'));
    expect(tampered.equals(body)).toBe(false);
    expect(refusal(() => constructEvent(tampered, signature, SECRET)).reason).toBe('mismatch');
    expect(refusal(() => constructEvent(Buffer.concat([body, Buffer.from('\n')]), signature, SECRET)).reason).toBe(
      'mismatch',
    );
  });

  it('refuses a wrong secret', () => {
    const { body, signature } = signed();
    const err = refusal(() => constructEvent(body, signature, 'whsec_other'));
    expect(err.reason).toBe('mismatch');
    expect(err.name).toBe('WebhookVerificationError');
    expect(err.message).toMatch(/does not match/);
  });

  it('refuses a missing, blank or repeated signature', () => {
    const { body, signature } = signed();
    expect(refusal(() => constructEvent(body, undefined, SECRET)).reason).toBe('missing');
    expect(refusal(() => constructEvent(body, '', SECRET)).reason).toBe('missing');
    expect(refusal(() => constructEvent(body, '  ', SECRET)).reason).toBe('missing');
    expect(refusal(() => constructEvent(body, [], SECRET)).reason).toBe('missing');
    const twice = refusal(() => constructEvent(body, [signature, signature], SECRET));
    expect(twice.reason).toBe('malformed');
    expect(twice.message).toContain('exactly one');
  });

  it('refuses malformed signatures with a reason, never an exception from timingSafeEqual', () => {
    const { body, signature } = signed();
    const cases: [string, WebhookVerificationReason][] = [
      ['é'.repeat(32), 'malformed'], // 64 bytes of UTF-8, 32 characters
      ['é'.repeat(64), 'malformed'], // 64 characters, 128 bytes
      ['z'.repeat(64), 'malformed'], // right length, not hex
      [signature.slice(0, 63), 'malformed'],
      [`${signature}00`, 'malformed'],
      [`sha256=${signature}`, 'prefixed'],
      [signature.toUpperCase(), 'uppercase'],
      ['\u0000'.repeat(64), 'malformed'],
    ];
    for (const [value, reason] of cases)
      expect(refusal(() => constructEvent(body, value, SECRET)).reason, JSON.stringify(value)).toBe(reason);
  });

  it('refuses a parsed body with a TypeError that says to pass the raw body', () => {
    const event = buildEvent('session.verified');
    const { signature } = signed(event);
    for (const parsed of [event, {}, null, undefined, 42]) {
      expect(() => constructEvent(parsed as unknown as string, signature, SECRET)).toThrow(TypeError);
    }
    expect(() => constructEvent(event as unknown as string, signature, SECRET)).toThrow(
      /raw request body.*express\.raw/s,
    );
  });

  it('refuses to run without a secret (a TypeError: the server is misconfigured, not the request)', () => {
    const { body, signature } = signed();
    expect(() => constructEvent(body, signature, undefined as unknown as string)).toThrow(/FACESIGN_WEBHOOK_SECRET/);
    expect(() => constructEvent(body, signature, '')).toThrow(TypeError);
  });

  it('refuses a correctly signed body that is not JSON, or not an event envelope', () => {
    const notJson = Buffer.from('{"id": "evt_1",');
    expect(refusal(() => constructEvent(notJson, hmac(notJson), SECRET)).reason).toBe('invalid-json');
    const bom = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(JSON.stringify(buildEvent('session.created'))),
    ]);
    expect(refusal(() => constructEvent(bom, hmac(bom), SECRET)).reason).toBe('invalid-json');
    const latin1 = Buffer.from([0x7b, 0xff, 0x7d]);
    expect(refusal(() => constructEvent(latin1, hmac(latin1), SECRET)).reason).toBe('invalid-json');
    const shapes: unknown[] = [
      [1, 2],
      { ...buildEvent('session.created'), object: 'list' },
      { ...buildEvent('session.created'), id: 'abc' },
      { ...buildEvent('session.created'), created: '1706284800' },
      { ...buildEvent('session.created'), data: null },
      { ...buildEvent('session.created'), data: { ...buildEvent('session.created').data, id: 7 } },
    ];
    for (const shape of shapes) {
      const { body, signature } = signed(shape);
      expect(refusal(() => constructEvent(body, signature, SECRET)).reason, JSON.stringify(shape).slice(0, 80)).toBe(
        'invalid-event',
      );
    }
  });

  it('returns an event of a type it does not know, so a handler can acknowledge and ignore it', () => {
    const future = { ...buildEvent('session.verified'), type: 'session.reviewed' };
    const { body, signature } = signed(future);
    expect(constructEvent(body, signature, SECRET).type).toBe('session.reviewed');
  });
});

describe('constructEvent in a real handler (node:http on 127.0.0.1)', () => {
  let server: TestServer | undefined;
  afterEach(async () => server?.close());

  it('the handler narrows on event.type and answers 200 to a signed delivery, 400 to a tampered one', async () => {
    const seen: string[] = [];
    server = await startServer((req, body, res) => {
      try {
        const event = constructEvent(body, req.headers['facesign-signature'], SECRET);
        if (event.type === 'session.verified') seen.push(`verified ${event.data.verified_outputs.first_name}`);
        else if (event.type === 'session.failed') seen.push(`failed ${event.data.last_error.code}`);
        else seen.push(event.type);
        res.writeHead(200).end('OK');
      } catch (err) {
        res
          .writeHead(err instanceof WebhookVerificationError ? 400 : 500)
          .end(err instanceof Error ? err.message : 'error');
      }
    });
    const post = (body: Buffer, signature: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          server!.hookUrl,
          { method: 'POST', headers: { 'content-type': 'application/json', 'facesign-signature': signature } },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    const verified = signed(buildEvent('session.verified'));
    const failed = signed(buildEvent('session.failed'));
    expect(await post(verified.body, verified.signature)).toBe(200);
    expect(await post(failed.body, failed.signature)).toBe(200);
    expect(await post(Buffer.from(verified.body.toString().replace('John', 'Jane')), verified.signature)).toBe(400);
    expect(seen).toEqual(['verified John', 'failed face_mismatch']);
  });
});
