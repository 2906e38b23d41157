import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  FACESIGN_IPS,
  parseHeader,
  prepareRequest,
  SIGNATURE_MODES,
  USER_AGENT,
} from '../../../src/delivery/request.js';
import { buildEvent } from '../../../src/events/build.js';
import { CliError } from '../../../src/errors.js';
import { independentSignatureOk } from '../../helpers/server.js';

const SECRET = 'whsec_request_test_secret';
const TARGET = 'http://127.0.0.1:9/webhooks/facesign';
const version = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

function header(headers: Record<string, string>, name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : headers[key];
}

describe('prepareRequest', () => {
  const event = buildEvent('session.verified');

  it('serializes once and signs exactly the bytes it sends', () => {
    const req = prepareRequest(event, { url: TARGET, secret: SECRET });
    expect(req.method).toBe('POST');
    expect(req.url).toBe(TARGET);
    expect(req.body.equals(Buffer.from(JSON.stringify(event)))).toBe(true);
    expect(independentSignatureOk(req.body, header(req.headers, 'FaceSign-Signature'), SECRET)).toBe(true);
    expect(independentSignatureOk(req.body, header(req.headers, 'FaceSign-Signature'), `${SECRET}x`)).toBe(false);
  });

  it('sends the documented headers and a User-Agent naming the tool and version', () => {
    const req = prepareRequest(event, { url: TARGET, secret: SECRET });
    expect(header(req.headers, 'Content-Type')).toBe('application/json');
    expect(header(req.headers, 'FaceSign-Event-Id')).toBe(event.id);
    expect(JSON.parse(req.body.toString()).id).toBe(header(req.headers, 'FaceSign-Event-Id'));
    expect(header(req.headers, 'User-Agent')).toBe(USER_AGENT);
    expect(USER_AGENT).toContain(`facesign-webhooks/${version}`);
    expect(header(req.headers, 'FaceSign-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(req).toMatchObject({
      eventId: event.id,
      eventType: 'session.verified',
      sessionId: event.data.id,
      signatureMode: 'valid',
    });
  });

  it('is deterministic: the same event gives the same bytes and signature', () => {
    const a = prepareRequest(event, { url: TARGET, secret: SECRET });
    const b = prepareRequest(event, { url: TARGET, secret: SECRET });
    expect(a.body.equals(b.body)).toBe(true);
    expect(a.headers).toEqual(b.headers);
  });

  it('--header adds headers and replaces existing ones whatever their case', () => {
    const req = prepareRequest(event, {
      url: TARGET,
      secret: SECRET,
      headers: ['X-Request-Id: 42', 'content-type: application/json; charset=utf-8', 'X-Empty:', 'X-Colon: a: b'],
    });
    expect(header(req.headers, 'X-Request-Id')).toBe('42');
    expect(header(req.headers, 'Content-Type')).toBe('application/json; charset=utf-8');
    expect(Object.keys(req.headers).filter((k) => k.toLowerCase() === 'content-type')).toHaveLength(1);
    expect(header(req.headers, 'X-Empty')).toBe('');
    expect(header(req.headers, 'X-Colon')).toBe('a: b');
  });

  it.each(['no colon', ': value', 'Bad Name: x', `X-Injected: a\r\nX-Evil: 1`, 'X-Nul: a\u0000b'])(
    '--header %j is exit 2',
    (line) => {
      let caught: unknown;
      try {
        prepareRequest(event, { url: TARGET, secret: SECRET, headers: [line] });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(CliError);
      expect((caught as CliError).exitCode).toBe(2);
    },
  );

  it('--from-ip sets X-Forwarded-For to a documented FaceSign address', () => {
    expect(FACESIGN_IPS).toEqual(['52.89.214.238', '34.212.75.30', '54.218.53.128', '52.32.178.7']);
    expect(
      header(prepareRequest(event, { url: TARGET, secret: SECRET, fromIp: true }).headers, 'X-Forwarded-For'),
    ).toBe('52.89.214.238');
    expect(
      header(prepareRequest(event, { url: TARGET, secret: SECRET, fromIp: '52.32.178.7' }).headers, 'X-Forwarded-For'),
    ).toBe('52.32.178.7');
    expect(header(prepareRequest(event, { url: TARGET, secret: SECRET }).headers, 'X-Forwarded-For')).toBeUndefined();
    expect(() => prepareRequest(event, { url: TARGET, secret: SECRET, fromIp: '10.0.0.1' })).toThrow(
      'not a FaceSign address',
    );
  });

  describe('signature modes', () => {
    const prepare = (mode: (typeof SIGNATURE_MODES)[number]) =>
      prepareRequest(event, { url: TARGET, secret: SECRET, signature: mode });

    it('valid: verifies', () => {
      const req = prepare('valid');
      expect(independentSignatureOk(req.body, header(req.headers, 'FaceSign-Signature'), SECRET)).toBe(true);
    });

    it('invalid: 64 lowercase hex characters that do not verify', () => {
      const req = prepare('invalid');
      const sig = header(req.headers, 'FaceSign-Signature');
      expect(sig).toMatch(/^[0-9a-f]{64}$/);
      expect(independentSignatureOk(req.body, sig, SECRET)).toBe(false);
      expect(req.body.equals(prepare('valid').body)).toBe(true);
    });

    it('missing: no signature header at all', () => {
      const req = prepare('missing');
      expect(header(req.headers, 'FaceSign-Signature')).toBeUndefined();
      expect(header(req.headers, 'FaceSign-Event-Id')).toBe(event.id);
    });

    it('malformed: present but not 64 hex characters', () => {
      const sig = header(prepare('malformed').headers, 'FaceSign-Signature');
      expect(sig).toBeTruthy();
      expect(sig).not.toMatch(/^[0-9a-fA-F]{64}$/);
    });

    it('tampered: a valid signature of the original bytes over a changed body', () => {
      const req = prepare('tampered');
      const valid = prepare('valid');
      const sig = header(req.headers, 'FaceSign-Signature');
      expect(req.body.equals(valid.body)).toBe(false);
      expect(sig).toBe(header(valid.headers, 'FaceSign-Signature'));
      expect(independentSignatureOk(valid.body, sig, SECRET)).toBe(true);
      expect(independentSignatureOk(req.body, sig, SECRET)).toBe(false);
      // Still a parseable event with the same id, so only the signature check can catch it.
      expect(JSON.parse(req.body.toString()).id).toBe(event.id);
    });

    it('refuses an unknown mode with exit 2', () => {
      expect(() => prepare('forged' as never)).toThrow(CliError);
    });
  });
});

describe('parseHeader', () => {
  it('trims the name and value', () => {
    expect(parseHeader('  X-A  :  b c  ')).toEqual(['X-A', 'b c']);
  });
});
