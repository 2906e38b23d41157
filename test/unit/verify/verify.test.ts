import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEvent } from '../../../src/events/build.js';
import { prepareRequest, type WebhookRequest } from '../../../src/delivery/request.js';
import { deliver } from '../../../src/delivery/deliver.js';
import { captureBody, type Capture } from '../../../src/receiver/capture.js';
import { readCaptureFile } from '../../../src/receiver/capture-file.js';
import { startReceiver, type Receiver } from '../../../src/receiver/server.js';
import { verifySignature } from '../../../src/signature/index.js';
import {
  checkEventShape,
  diagnoseSignature,
  parseHttpRequest,
  HttpRequestParseError,
  planBodyCandidates,
  verifyWebhook,
  type WebhookVerdict,
} from '../../../src/verify/index.js';
import { planVerify } from '../../../src/commands/verify.js';

// Published vectors (GitHub's webhook docs; @octokit/webhooks-methods' tests), not computed here.
const GITHUB = {
  secret: "It's a Secret to Everybody",
  body: 'Hello, World!',
  hex: '757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
};
const OCTOKIT = {
  secret: 'mysecret',
  body: '{"foo":"bar"}',
  hex: '4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3',
};

const SECRET = 'whsec_verify_unit_test_secret';

/** An HMAC computed here with node:crypto, so altered captures are re-signed independently of src/. */
function hmac(body: Buffer | string, secret = SECRET): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

describe('known-answer vectors', () => {
  it.each([GITHUB, OCTOKIT])(
    'verifySignature and diagnoseSignature accept the published vector for $secret',
    ({ secret, body, hex }) => {
      expect(verifySignature(body, hex, secret)).toMatchObject({ ok: true });
      expect(verifySignature(Buffer.from(body), hex, secret)).toMatchObject({ ok: true });
      expect(diagnoseSignature(Buffer.from(body), hex, secret)).toMatchObject({ ok: true, expected: hex });
    },
  );
  it('a wrong secret fails the published vector', () => {
    expect(verifySignature(GITHUB.body, GITHUB.hex, `${GITHUB.secret}.`)).toMatchObject({
      ok: false,
      reason: 'mismatch',
    });
  });
  it('diagnoses the octokit vector re-serialized with indentation', () => {
    const pretty = JSON.stringify(JSON.parse(OCTOKIT.body), null, 2);
    expect(diagnoseSignature(pretty, OCTOKIT.hex, OCTOKIT.secret).cause).toMatchObject({
      id: 'json-reserialized',
      signedForm: 'compact',
    });
  });
});

describe('verifySignature verdicts', () => {
  it.each([
    [undefined, 'missing'],
    ['', 'missing'],
    [' \t', 'missing'],
    [[], 'missing'],
    ['abc', 'malformed'],
    [42, 'malformed'],
    [{}, 'malformed'],
    [[GITHUB.hex, GITHUB.hex], 'malformed'],
    [`sha256=${GITHUB.hex}`, 'prefixed'],
    [GITHUB.hex.toUpperCase(), 'uppercase'],
    ['0'.repeat(64), 'mismatch'],
  ])('%j → %s, never an exception', (signature, reason) => {
    expect(verifySignature(GITHUB.body, signature, GITHUB.secret)).toMatchObject({ ok: false, reason });
  });
  it('reports the length seen and whether a prefixed or uppercase signature would match', () => {
    expect(verifySignature(GITHUB.body, GITHUB.hex.slice(0, 40), GITHUB.secret)).toMatchObject({
      reason: 'malformed',
      length: 40,
    });
    expect(verifySignature(GITHUB.body, `sha256=${GITHUB.hex}`, GITHUB.secret)).toMatchObject({ wouldMatch: true });
    expect(verifySignature(GITHUB.body, `sha256=${'1'.repeat(64)}`, GITHUB.secret)).toMatchObject({
      wouldMatch: false,
    });
    expect(verifySignature(GITHUB.body, GITHUB.hex.toUpperCase(), GITHUB.secret).message).toMatch(/would match/);
    expect(verifySignature(GITHUB.body, 'A'.repeat(64), GITHUB.secret).message).toMatch(/would not match/);
  });
  it('accepts a single-element array and HTTP whitespace around the value, nothing else', () => {
    expect(verifySignature(GITHUB.body, [GITHUB.hex], GITHUB.secret).ok).toBe(true);
    expect(verifySignature(GITHUB.body, ` ${GITHUB.hex}\t`, GITHUB.secret).ok).toBe(true);
    expect(verifySignature(GITHUB.body, `${GITHUB.hex}\n`, GITHUB.secret).ok).toBe(false);
  });
  it('fails closed on a missing secret or a body that is not bytes', () => {
    expect(verifySignature(GITHUB.body, GITHUB.hex, '')).toMatchObject({ ok: false, reason: 'no-secret' });
    expect(verifySignature(GITHUB.body, GITHUB.hex, undefined as unknown as string)).toMatchObject({
      ok: false,
      reason: 'no-secret',
    });
    expect(verifySignature(null as unknown as string, hmac(''), SECRET).ok).toBe(false);
    expect(verifySignature({} as unknown as string, hmac(''), SECRET).ok).toBe(false);
  });
});

describe('diagnoseSignature', () => {
  const signed = Buffer.from('{\n  "id": "evt_1",\n  "n": 1\n}', 'utf8');
  const sig = hmac(signed);
  it.each([
    ['trailing-newline-added', Buffer.concat([signed, Buffer.from('\n')])],
    ['trailing-newline-added', Buffer.concat([signed, Buffer.from('\r\n')])],
    ['lf-to-crlf', Buffer.from(signed.toString().replace(/\n/g, '\r\n'))],
    ['bom-added', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), signed])],
  ])('names %s', (id, received) => {
    const d = diagnoseSignature(received, sig, SECRET);
    expect(d).toMatchObject({ ok: false, reason: 'mismatch', cause: { id } });
    expect(d.fix).toContain('express.raw');
  });
  it('names trailing-newline-removed, crlf-to-lf and bom-removed (signed bodies that had the quirk)', () => {
    const withNl = Buffer.concat([signed, Buffer.from('\n')]);
    expect(diagnoseSignature(signed, hmac(withNl), SECRET).cause?.id).toBe('trailing-newline-removed');
    const crlf = Buffer.from(signed.toString().replace(/\n/g, '\r\n'));
    expect(diagnoseSignature(signed, hmac(crlf), SECRET).cause?.id).toBe('crlf-to-lf');
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), signed]);
    expect(diagnoseSignature(signed, hmac(bom), SECRET).cause?.id).toBe('bom-removed');
  });
  it.each([
    ['compact', undefined],
    ['2-space', 2],
    ['4-space', 4],
    ['tab', '\t'],
  ] as const)('names JSON re-serialized from the %s form', (form, indent) => {
    const value = { id: 'evt_1', data: { note: 'é ü', list: [1, 2, { x: null }] } };
    const original = JSON.stringify(value, null, indent);
    const other = indent === undefined ? JSON.stringify(value, null, 2) : JSON.stringify(value);
    expect(diagnoseSignature(other, hmac(original), SECRET).cause).toMatchObject({
      id: 'json-reserialized',
      signedForm: form,
    });
  });
  it('says the secret or body differs when nothing explains it, with secret hints', () => {
    const plain = diagnoseSignature(signed, hmac(signed, 'another secret'), SECRET);
    expect(plain.reason).toBe('mismatch');
    expect([plain.cause, plain.secretHint]).toEqual([undefined, undefined]);
    expect(plain.message).toMatch(/secret or the body differs/);
    expect(diagnoseSignature(signed, sig, `${SECRET}\n`).secretHint).toMatchObject({
      id: 'secret-whitespace',
      matches: true,
    });
    expect(diagnoseSignature(signed, sig, `"${SECRET}"`).secretHint).toMatchObject({
      id: 'secret-quoted',
      matches: true,
    });
    expect(diagnoseSignature(signed, hmac(signed, 'x'), ` ${SECRET}`).secretHint).toMatchObject({
      id: 'secret-whitespace',
      matches: false,
    });
  });
  it('searches body changes behind a prefixed or uppercase signature that would not match as is', () => {
    const received = Buffer.concat([signed, Buffer.from('\n')]);
    expect(diagnoseSignature(received, `sha256=${sig}`, SECRET)).toMatchObject({
      reason: 'prefixed',
      wouldMatch: false,
      cause: { id: 'trailing-newline-added' },
    });
    expect(diagnoseSignature(received, sig.toUpperCase(), SECRET)).toMatchObject({
      reason: 'uppercase',
      wouldMatch: false,
      cause: { id: 'trailing-newline-added' },
    });
  });
  it('plans no candidate equal to the body itself', () => {
    for (const body of ['', '{}', '\n', '\r\n', 'a\nb', '\ufeff{"a":1}\n']) {
      const buf = Buffer.from(body);
      const candidates = planBodyCandidates(buf);
      expect(candidates.some((c) => c.bytes.equals(buf))).toBe(false);
      expect(new Set(candidates.map((c) => c.bytes.toString('hex'))).size).toBe(candidates.length);
    }
  });
});

describe('checkEventShape', () => {
  const good = buildEvent('session.failed');
  const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));
  it('finds nothing wrong with a built event and FaceSign headers', () => {
    const shape = checkEventShape(bytes(good), {
      list: [
        ['Content-Type', 'application/json'],
        ['FaceSign-Event-Id', good.id],
      ],
      complete: true,
    });
    expect(shape).toMatchObject({
      warnings: [],
      eventId: good.id,
      eventType: 'session.failed',
      sessionId: good.data.id,
    });
  });
  it.each([
    ['not-json', Buffer.from('{"id": "evt_1",}')],
    ['not-utf8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
    ['empty', Buffer.alloc(0)],
    ['not-object', Buffer.from('[1,2]')],
  ])('%s', (code, body) => {
    expect(checkEventShape(body).warnings.map((w) => w.code)).toEqual([code]);
  });
  it('names where JSON breaks', () => {
    expect(checkEventShape('{\n  "id": "evt_1",\n}').warnings[0]?.message).toMatch(/line 3, column 1/);
  });
  it.each([
    ['id-type', { id: 42 }],
    ['id-prefix', { id: 'event_1' }],
    ['object', { object: 'session' }],
    ['type-type', { type: null }],
    ['type-unknown', { type: 'session.approved' }],
    ['created-type', { created: '2024-01-01' }],
    ['created-type', { created: 1706284800.5 }],
    ['created-milliseconds', { created: 1706284800000 }],
    ['data-type', { data: [] }],
  ])('%s', (code, patch) => {
    expect(checkEventShape(bytes({ ...good, ...patch })).warnings.map((w) => w.code)).toEqual([code]);
  });
  it.each([
    ['data-id-type', { id: undefined }],
    ['data-id-prefix', { id: 'sess_1' }],
    ['data-object', { object: 'session' }],
    ['status', { status: 'verified' }],
  ])('%s', (code, patch) => {
    expect(checkEventShape(bytes({ ...good, data: { ...good.data, ...patch } })).warnings.map((w) => w.code)).toEqual([
      code,
    ]);
  });
  it('warns about a BOM and still reads the event behind it', () => {
    const shape = checkEventShape(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes(good)]));
    expect(shape.warnings.map((w) => w.code)).toEqual(['bom']);
    expect(shape.eventId).toBe(good.id);
  });
  it('checks headers: missing ones only when the list is complete', () => {
    expect(checkEventShape(bytes(good), { list: [], complete: true }).warnings.map((w) => w.code)).toEqual([
      'event-id-header-missing',
      'content-type-missing',
    ]);
    expect(checkEventShape(bytes(good), { list: [], complete: false }).warnings).toEqual([]);
    const wrong = checkEventShape(bytes(good), {
      list: [
        ['faceSign-event-id', 'evt_other'],
        ['content-type', 'text/plain'],
      ],
      complete: false,
    });
    expect(wrong.warnings.map((w) => w.code)).toEqual(['event-id-header-mismatch', 'content-type']);
    const charset = checkEventShape(bytes(good), {
      list: [['Content-Type', 'application/json; charset=utf-8']],
      complete: false,
    });
    expect(charset.warnings).toEqual([]);
  });
});

describe('parseHttpRequest', () => {
  const body = '{"id":"evt_1"}\r\n';
  it.each([
    ['CRLF', '\r\n'],
    ['LF', '\n'],
  ])('takes the body bytes exactly after a %s head', (_name, eol) => {
    const raw = Buffer.from(
      ['POST /webhooks/facesign HTTP/1.1', 'Host: x', 'FaceSign-Signature: abc', '', body].join(eol),
    );
    const req = parseHttpRequest(raw);
    expect(req).toMatchObject({
      method: 'POST',
      target: '/webhooks/facesign',
      version: 'HTTP/1.1',
      headers: [
        ['Host', 'x'],
        ['FaceSign-Signature', 'abc'],
      ],
    });
    expect(req.body.toString()).toBe(body);
  });
  it('honours Content-Length and notes what it cut', () => {
    const raw = Buffer.from(`POST / HTTP/1.1\nContent-Length: 14\n\n{"id":"evt_1"}\n`);
    const req = parseHttpRequest(raw);
    expect(req.body.toString()).toBe('{"id":"evt_1"}');
    expect(req.notes[0]).toMatch(/1 byte\(s\) after Content-Length/);
    expect(parseHttpRequest(Buffer.from('POST / HTTP/1.1\nContent-Length: 99\n\n{}')).notes[0]).toMatch(/truncated/);
  });
  it('de-chunks a chunked body', () => {
    const raw = Buffer.from(
      'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX-Long: a\r\n\r\n5\r\n{"id"\r\n9\r\n:"evt_1"}\r\n0\r\n\r\n',
    );
    const req = parseHttpRequest(raw);
    expect(req.body.toString()).toBe('{"id":"evt_1"}');
    expect(req.headers).toContainEqual(['X-Long', 'a']);
  });
  it('keeps invalid UTF-8 body bytes unchanged', () => {
    const bytes = Buffer.from([0xff, 0x00, 0xc3, 0x28, 0x0d, 0x0a]);
    const raw = Buffer.concat([Buffer.from('POST / HTTP/1.1\r\n\r\n'), bytes]);
    expect(parseHttpRequest(raw).body.equals(bytes)).toBe(true);
  });
  it.each([
    ['', /empty/],
    ['{"id":"evt_1"}', /line 1 is not a request line/],
    ['POST / HTTP/1.1\nnot a header\n\n{}', /line 2 is not a header/],
    ['POST / HTTP/1.1\nContent-Length: ten\n\n{}', /Content-Length/],
    ['POST / HTTP/1.1\nTransfer-Encoding: chunked\n\nzz\n', /chunk size/],
    // The framing rules load mode holds responses to (src/delivery/http-framing.ts); only bare LF is allowed here.
    ['POST / HTTP/1.1\r\nX-Long: a\r\n  b\r\n\r\n{}', /line 3 is not a header.*obs-fold/],
    ['POST / HTTP/1.1\r\nX-A: a\0b\r\n\r\n{}', /line 2 .*control byte 0x00/],
    ['POST / HTTP/1.1\r\nX-A: a\rb\r\n\r\n{}', /line 2 .*control byte 0x0d/],
    ['POST /\x01 HTTP/1.1\r\n\r\n{}', /line 1 is not a request line/],
    ['POST / HTTP/1.1\r\nContent-Length : 2\r\n\r\n{}', /whitespace between the header name and its colon/],
    ['POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}', /Content-Length appears 2 times/],
    ['POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}', /Content-Length appears 2 times/],
    ['POST / HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\n{}', /not one whole number/],
    [
      'POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      /Content-Length and Transfer-Encoding together/,
    ],
  ])('rejects %j with a reason', (text, reason) => {
    expect(() => parseHttpRequest(Buffer.from(text))).toThrow(HttpRequestParseError);
    expect(() => parseHttpRequest(Buffer.from(text))).toThrow(reason);
  });
});

describe('planVerify', () => {
  it('takes exactly one input and keeps --signature/--header with --payload', () => {
    expect(planVerify({ capture: 'c.json' })).toMatchObject({ source: 'capture', path: 'c.json' });
    expect(planVerify({ payload: '-', header: ['FaceSign-Signature: abc'] })).toMatchObject({
      source: 'payload',
      headers: [['FaceSign-Signature', 'abc']],
    });
    expect(() => planVerify({})).toThrow(/nothing to verify/);
    expect(() => planVerify({ capture: 'c.json', request: 'r.http' })).toThrow(/give one input/);
    expect(() => planVerify({ request: 'r.http', signature: 'abc' })).toThrow(/go with --payload/);
    expect(() => planVerify({ payload: 'b', signature: 'a', header: ['facesign-signature: b'] })).toThrow(
      /both --signature/,
    );
    expect(() => planVerify({ payload: 'b', header: ['no colon'] })).toThrow(/bad --header/);
  });
});

describe('diagnoses from real captures made by the receiver', () => {
  let receiver: Receiver;
  let dir: string;
  const captures: Record<string, Capture> = {};

  function rawRequest(url: string, body: Buffer, headers: Record<string, string>): WebhookRequest {
    return {
      url,
      method: 'POST',
      headers,
      body,
      eventId: 'evt_x',
      eventType: 'session.verified',
      signatureMode: 'valid',
    };
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verify-unit-'));
    receiver = await startReceiver({ secret: SECRET, port: 0, saveDir: join(dir, 'captures') });
    const event = buildEvent('session.verified');
    const deliveries: [string, WebhookRequest][] = [
      ['compact', prepareRequest(event, { url: receiver.url, secret: SECRET })],
    ];
    // Bodies FaceSign never sends, signed over exactly those bytes, so removing the quirk is the alteration.
    const variants: [string, Buffer][] = [
      ['newline', Buffer.from(`${JSON.stringify(buildEvent('session.created'))}\n`)],
      ['crlf', Buffer.from(JSON.stringify(buildEvent('session.started'), null, 2).replace(/\n/g, '\r\n'))],
      [
        'bom',
        Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(buildEvent('session.failed')))]),
      ],
      ['four', Buffer.from(JSON.stringify(buildEvent('session.expired'), null, 4))],
    ];
    for (const [name, body] of variants) {
      const id = (JSON.parse(body.toString('utf8').replace(/^\ufeff/, '')) as { id: string }).id;
      deliveries.push([
        name,
        rawRequest(receiver.url, body, {
          'Content-Type': 'application/json',
          'FaceSign-Event-Id': id,
          'FaceSign-Signature': hmac(body),
        }),
      ]);
    }
    for (const [name, req] of deliveries) {
      const res = await deliver(req, { timeoutMs: 5_000 });
      // The receiver checks signatures too; a BOM body is not valid JSON to it, so it may refuse that one.
      if (name !== 'bom') expect(res.status).toBe(200);
    }
    await receiver.close();
    const files = readdirSync(join(dir, 'captures'))
      .filter((f) => f.endsWith('.json'))
      .sort();
    expect(files).toHaveLength(deliveries.length);
    files.forEach((file, i) => (captures[deliveries[i]![0]] = readCaptureFile(join(dir, 'captures', file))));
  });

  afterAll(async () => {
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes an altered copy of a capture and reads it back through the capture reader. */
  function alter(
    name: string,
    change: { body?: (b: Buffer) => Buffer; headers?: (h: [string, string][]) => [string, string][] },
  ): Capture {
    const base = structuredClone(captures[name]!);
    const body = change.body ? change.body(captureBody(base)) : captureBody(base);
    const raw = change.headers ? change.headers(base.raw_headers) : base.raw_headers;
    const altered: Capture = {
      ...base,
      body_base64: body.toString('base64'),
      body_text: body.toString('utf8'),
      body_bytes: body.length,
      raw_headers: raw,
    };
    const path = join(dir, `altered-${name}-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(path, JSON.stringify(altered, null, 2));
    return readCaptureFile(path);
  }

  function verify(capture: Capture, secret = SECRET, strict = false): WebhookVerdict {
    return verifyWebhook({
      body: captureBody(capture),
      headers: { list: capture.raw_headers, complete: true },
      secret,
      strict,
    });
  }

  const setSig = (value: (sig: string) => string | undefined) => (h: [string, string][]) =>
    h.flatMap(([k, v]): [string, string][] => {
      if (k.toLowerCase() !== 'facesign-signature') return [[k, v]];
      const next = value(v);
      return next === undefined ? [] : [[k, next]];
    });

  it('the untouched capture is valid with no warnings', () => {
    const v = verify(captures.compact!);
    expect(v).toMatchObject({ ok: true, warnings: [], eventType: 'session.verified' });
    expect(v.signature.expected).toBe(hmac(captureBody(captures.compact!)));
  });
  it('no signature', () => {
    expect(verify(alter('compact', { headers: setSig(() => undefined) })).signature).toMatchObject({
      ok: false,
      reason: 'missing',
    });
  });
  it('not 64 hex characters, with the length seen', () => {
    expect(verify(alter('compact', { headers: setSig((s) => s.slice(0, 40)) })).signature).toMatchObject({
      reason: 'malformed',
      length: 40,
    });
    const nonHex = verify(alter('compact', { headers: setSig((s) => `${s.slice(0, 63)}g`) })).signature;
    expect(nonHex).toMatchObject({ reason: 'malformed', length: 64 });
    expect(nonHex.message).toMatch(/not all hex/);
  });
  it('a sha256= prefix, saying whether the hex after it would match', () => {
    expect(verify(alter('compact', { headers: setSig((s) => `sha256=${s}`) })).signature).toMatchObject({
      reason: 'prefixed',
      wouldMatch: true,
    });
    expect(
      verify(alter('compact', { headers: setSig((s) => `sha256=${s.replace(/^./, (c) => (c === '0' ? '1' : '0'))}`) }))
        .signature,
    ).toMatchObject({ reason: 'prefixed', wouldMatch: false });
  });
  it('uppercase hex, saying whether it would match in lowercase', () => {
    expect(verify(alter('compact', { headers: setSig((s) => s.toUpperCase()) })).signature).toMatchObject({
      reason: 'uppercase',
      wouldMatch: true,
    });
  });
  it('a trailing newline added or removed', () => {
    expect(verify(alter('compact', { body: (b) => Buffer.concat([b, Buffer.from('\n')]) })).signature.cause?.id).toBe(
      'trailing-newline-added',
    );
    expect(verify(alter('newline', { body: (b) => b.subarray(0, b.length - 1) })).signature.cause?.id).toBe(
      'trailing-newline-removed',
    );
  });
  it('CRLF and LF swapped either way', () => {
    expect(
      verify(alter('crlf', { body: (b) => Buffer.from(b.toString('utf8').replace(/\r\n/g, '\n')) })).signature.cause
        ?.id,
    ).toBe('crlf-to-lf');
    const lfBody = Buffer.from(captureBody(captures.crlf!).toString('utf8').replace(/\r\n/g, '\n'));
    const lfSigned = alter('crlf', { body: () => lfBody, headers: setSig(() => hmac(lfBody)) });
    expect(verify(lfSigned).ok).toBe(true);
    const back = Buffer.from(lfBody.toString('utf8').replace(/\n/g, '\r\n'));
    expect(verify(alter('crlf', { body: () => back, headers: setSig(() => hmac(lfBody)) })).signature.cause?.id).toBe(
      'lf-to-crlf',
    );
  });
  it('a byte-order mark added or removed', () => {
    const added = verify(alter('compact', { body: (b) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b]) }));
    expect(added.signature.cause?.id).toBe('bom-added');
    expect(added.warnings.map((w) => w.code)).toContain('bom');
    expect(verify(alter('bom', { body: (b) => b.subarray(3) })).signature.cause?.id).toBe('bom-removed');
  });
  it('JSON parsed and re-serialized: compact, indented with 2 or 4 spaces, or tabs', () => {
    const reserialize = (indent: number | string) => (b: Buffer) =>
      Buffer.from(JSON.stringify(JSON.parse(b.toString('utf8')), null, indent));
    expect(verify(alter('compact', { body: reserialize(2) })).signature.cause).toMatchObject({
      id: 'json-reserialized',
      signedForm: 'compact',
    });
    expect(verify(alter('compact', { body: reserialize('\t') })).signature.cause).toMatchObject({
      id: 'json-reserialized',
      signedForm: 'compact',
    });
    expect(
      verify(alter('four', { body: (b) => Buffer.from(JSON.stringify(JSON.parse(b.toString('utf8')))) })).signature
        .cause,
    ).toMatchObject({ id: 'json-reserialized', signedForm: '4-space' });
  });
  it('none matches: the secret or the body differs, with the secret hints', () => {
    const edited = verify(
      alter('compact', { body: (b) => Buffer.from(b.toString('utf8').replace('"verified"', '"failed"')) }),
    );
    expect(edited.signature.reason).toBe('mismatch');
    expect([edited.signature.cause, edited.signature.secretHint]).toEqual([undefined, undefined]);
    expect(edited.signature.message).toMatch(/secret or the body differs/);
    const otherSecret = verify(captures.compact!, 'whsec_another').signature;
    expect([otherSecret.reason, otherSecret.cause]).toEqual(['mismatch', undefined]);
    expect(verify(captures.compact!, `${SECRET}\n`).signature.secretHint).toMatchObject({
      id: 'secret-whitespace',
      matches: true,
    });
    expect(verify(captures.compact!, `'${SECRET}'`).signature.secretHint).toMatchObject({
      id: 'secret-quoted',
      matches: true,
    });
  });
  it('shape warnings from altered headers, and --strict makes them fail', () => {
    const wrongId = alter('compact', {
      headers: (h) => h.map(([k, v]) => [k, k.toLowerCase() === 'facesign-event-id' ? 'evt_someone_else' : v]),
    });
    const v = verify(wrongId);
    expect(v).toMatchObject({ ok: true, warnings: [{ code: 'event-id-header-mismatch' }] });
    expect(verify(wrongId, SECRET, true).ok).toBe(false);
    const noType = alter('compact', { headers: (h) => h.filter(([k]) => k.toLowerCase() !== 'content-type') });
    expect(verify(noType).warnings.map((w) => w.code)).toEqual(['content-type-missing']);
  });
  it('a method other than POST is a warning; input notes are reported but never fail --strict', () => {
    const c = captures.compact!;
    const v = verifyWebhook({
      body: captureBody(c),
      headers: { list: c.raw_headers, complete: true },
      method: 'PUT',
      secret: SECRET,
      strict: true,
      inputNotes: ['1 byte(s) after Content-Length (9) were ignored'],
    });
    expect(v.warnings.map((w) => w.code)).toEqual(['method']);
    expect(v.ok).toBe(false);
    const noted = verifyWebhook({
      body: captureBody(c),
      headers: { list: c.raw_headers, complete: true },
      method: 'post',
      secret: SECRET,
      strict: true,
      inputNotes: ['a note'],
    });
    expect(noted).toMatchObject({ ok: true, warnings: [], notes: ['a note'] });
  });
  it('a re-signed capture with an inconsistent status warns about it', () => {
    const body = (b: Buffer) => Buffer.from(b.toString('utf8').replace('"status":"verified"', '"status":"failed"'));
    const changed = body(captureBody(captures.compact!));
    expect(changed.equals(captureBody(captures.compact!))).toBe(false);
    const v = verify(alter('compact', { body, headers: setSig(() => hmac(changed)) }));
    expect(v.ok).toBe(true);
    expect(v.warnings.map((w) => w.code)).toEqual(['status']);
  });
});
