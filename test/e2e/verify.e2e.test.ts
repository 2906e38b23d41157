import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEvent } from '../../src/events/build.js';
import { deliver } from '../../src/delivery/deliver.js';
import type { Capture } from '../../src/receiver/capture.js';
import { startReceiver, type Receiver } from '../../src/receiver/server.js';
import { verifyWebhook } from '../../src/verify/index.js';
import { ndjson, runCli } from '../helpers/cli.js';

/*
 * End to end: real deliveries (the built `send`, and hand-made bodies) reach the real receiver,
 * which writes captures; the captures are altered on disk and the built CLI's `verify` judges them.
 * Tests within a block are independent (each writes its own files), so they run concurrently.
 */

const SECRET = 'whsec_verify_e2e_secret';
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

function hmac(body: Buffer | string, secret = SECRET): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

let dir: string;
let receiver: Receiver;
const captures: Record<string, { file: string; capture: Capture }> = {};

/** Hand-made bodies, each signed over exactly its bytes, so that removing the quirk is the alteration. */
function craftedBodies(): [string, Buffer][] {
  return [
    ['newline', Buffer.from(`${JSON.stringify(buildEvent('session.created'))}\n`)],
    ['crlf', Buffer.from(JSON.stringify(buildEvent('session.started'), null, 2).replace(/\n/g, '\r\n'))],
    ['lf', Buffer.from(JSON.stringify(buildEvent('session.cancelled'), null, 2))],
    ['bom', Buffer.concat([BOM, Buffer.from(JSON.stringify(buildEvent('session.failed')))])],
    ['four', Buffer.from(JSON.stringify(buildEvent('session.expired'), null, 4))],
  ];
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'verify-e2e-'));
  const saveDir = join(dir, 'captures');
  receiver = await startReceiver({ secret: SECRET, port: 0, saveDir });
  const names: string[] = [];
  // The first capture comes from the built CLI's own `send`.
  const sent = await runCli(['send', 'session.verified', '--to', receiver.url, '--secret', SECRET, '--json']);
  expect(sent.code, sent.stderr).toBe(0);
  names.push('sent');
  for (const [name, body] of craftedBodies()) {
    const id = (JSON.parse(body.toString('utf8').replace(/^\ufeff/, '')) as { id: string }).id;
    const headers = { 'Content-Type': 'application/json', 'FaceSign-Event-Id': id, 'FaceSign-Signature': hmac(body) };
    const res = await deliver(
      { url: receiver.url, method: 'POST', headers, body, eventId: id, eventType: 'x', signatureMode: 'valid' },
      { timeoutMs: 5_000 },
    );
    expect(res.error).toBeUndefined();
    names.push(name);
  }
  await receiver.close();
  const files = readdirSync(saveDir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  expect(files).toHaveLength(names.length);
  files.forEach((f, i) => {
    const file = join(saveDir, f);
    captures[names[i]!] = { file, capture: JSON.parse(readFileSync(file, 'utf8')) as Capture };
  });
});

afterAll(async () => {
  await receiver?.close();
  rmSync(dir, { recursive: true, force: true });
});

let counter = 0;
/** An altered copy of a capture on disk, as someone editing (or a broken proxy) might leave it. */
function alter(
  name: string,
  change: {
    body?: (b: Buffer) => Buffer;
    signature?: (s: string) => string | undefined;
    headers?: (h: [string, string][]) => [string, string][];
  },
): string {
  const base = structuredClone(captures[name]!.capture);
  const body = change.body
    ? change.body(Buffer.from(base.body_base64, 'base64'))
    : Buffer.from(base.body_base64, 'base64');
  let raw = change.headers ? change.headers(base.raw_headers) : base.raw_headers;
  if (change.signature) {
    raw = raw.flatMap(([k, v]): [string, string][] => {
      if (k.toLowerCase() !== 'facesign-signature') return [[k, v]];
      const next = change.signature!(v);
      return next === undefined ? [] : [[k, next]];
    });
  }
  const headers = Object.fromEntries(raw.map(([k, v]) => [k.toLowerCase(), v]));
  const file = join(dir, `altered-${++counter}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        ...base,
        raw_headers: raw,
        headers,
        body_base64: body.toString('base64'),
        body_text: body.toString('utf8'),
        body_bytes: body.length,
      },
      null,
      2,
    ),
  );
  return file;
}

const reserialize = (indent?: number | string) => (b: Buffer) =>
  Buffer.from(JSON.stringify(JSON.parse(b.toString('utf8')), null, indent));

async function verifyJson(args: string[], env: Record<string, string> = {}) {
  const res = await runCli(['verify', ...args, '--json'], { env: { FACESIGN_WEBHOOK_SECRET: SECRET, ...env } });
  const lines = ndjson(res.stdout);
  expect(lines, res.stderr).toHaveLength(1);
  return { ...res, record: lines[0]! };
}

describe.concurrent('verify CAPTURE.json', () => {
  it('a capture the receiver wrote from `send` is valid: exit 0, human verdict', async () => {
    const res = await runCli(['verify', captures.sent!.file, '--secret', SECRET]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(
      /^✔ valid\s+signature matches \(session\.verified evt_\w+, \d+ bytes\)\n {2}listen {4}accepted this signature too\n$/,
    );
    expect(res.stdout).not.toContain(SECRET);
  });

  it('--json prints one object with the documented shape', async () => {
    const { code, record } = await verifyJson([captures.sent!.file]);
    const body = Buffer.from(captures.sent!.capture.body_base64, 'base64');
    expect(code).toBe(0);
    expect(record).toEqual({
      type: 'verify',
      source: 'capture',
      input: captures.sent!.file,
      ok: true,
      verdict: 'valid',
      reason: null,
      message: 'signature valid',
      signature: hmac(body),
      expected: hmac(body),
      length: null,
      would_match: null,
      cause: null,
      secret_hint: null,
      fix: null,
      body_bytes: body.length,
      event_id: captures.sent!.capture.verdict.event_id,
      event_type: 'session.verified',
      session_id: captures.sent!.capture.verdict.session_id,
      warnings: [],
      notes: [],
      strict: false,
      listen: {
        outcome: 'accepted',
        status: 200,
        signature: 'valid',
        reason: null,
        agrees: true,
        message: 'listen accepted this signature too',
      },
    });
  });

  it.each([
    ['no signature', { signature: () => undefined }, { reason: 'missing' }],
    ['a 40-character signature', { signature: (s: string) => s.slice(0, 40) }, { reason: 'malformed', length: 40 }],
    ['a non-hex signature', { signature: (s: string) => `${s.slice(0, 60)}zzzz` }, { reason: 'malformed', length: 64 }],
    [
      'a sha256= prefix that would match',
      { signature: (s: string) => `sha256=${s}` },
      { reason: 'prefixed', would_match: true },
    ],
    [
      'a sha256= prefix that would not match',
      { signature: () => `sha256=${'0'.repeat(64)}` },
      { reason: 'prefixed', would_match: false },
    ],
    [
      'uppercase hex that would match',
      { signature: (s: string) => s.toUpperCase() },
      { reason: 'uppercase', would_match: true },
    ],
    [
      'a trailing newline added',
      { body: (b: Buffer) => Buffer.concat([b, Buffer.from('\n')]) },
      { reason: 'mismatch', cause: { id: 'trailing-newline-added' } },
    ],
    [
      'a BOM added',
      { body: (b: Buffer) => Buffer.concat([BOM, b]) },
      { reason: 'mismatch', cause: { id: 'bom-added' } },
    ],
    [
      'JSON pretty-printed (2 spaces)',
      { body: reserialize(2) },
      { reason: 'mismatch', cause: { id: 'json-reserialized', signed_form: 'compact' } },
    ],
    [
      'JSON tab-indented',
      { body: reserialize('\t') },
      { reason: 'mismatch', cause: { id: 'json-reserialized', signed_form: 'compact' } },
    ],
    [
      'an edited amount (nothing explains it)',
      { body: (b: Buffer) => Buffer.from(b.toString().replace('"verified"', '"failed"')) },
      { reason: 'mismatch', cause: null, secret_hint: null },
    ],
  ])('%s: exit 1 with that diagnosis', async (_name, change, expected) => {
    const { code, record } = await verifyJson([alter('sent', change)]);
    expect(code).toBe(1);
    expect(record).toMatchObject({ ok: false, verdict: 'invalid', ...expected });
    expect(typeof record.fix).toBe('string');
  });

  it.each([
    [
      'newline',
      'a trailing newline removed',
      (b: Buffer) => b.subarray(0, b.length - 1),
      { id: 'trailing-newline-removed' },
    ],
    [
      'crlf',
      'CRLF turned into LF',
      (b: Buffer) => Buffer.from(b.toString().replace(/\r\n/g, '\n')),
      { id: 'crlf-to-lf' },
    ],
    [
      'lf',
      'LF turned into CRLF',
      (b: Buffer) => Buffer.from(b.toString().replace(/\n/g, '\r\n')),
      { id: 'lf-to-crlf' },
    ],
    ['bom', 'a BOM removed', (b: Buffer) => b.subarray(3), { id: 'bom-removed' }],
    [
      'four',
      'JSON written 4-space re-serialized compact',
      reserialize(),
      { id: 'json-reserialized', signed_form: '4-space' },
    ],
  ])('%s capture with %s: exit 1, named', async (name, _what, body, cause) => {
    // The unaltered capture is valid (checked in-process: cheaper than a spawn), so the alteration is what is named.
    const c = captures[name]!.capture;
    expect(
      verifyWebhook({
        body: Buffer.from(c.body_base64, 'base64'),
        headers: { list: c.raw_headers, complete: true },
        secret: SECRET,
      }).ok,
    ).toBe(true);
    const { code, record } = await verifyJson([alter(name, { body })]);
    expect(code).toBe(1);
    expect(record.cause).toMatchObject(cause);
  });

  it('human output names the cause and the fix', async () => {
    const res = await runCli(['verify', alter('sent', { body: reserialize(2) }), '--secret', SECRET]);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('✘ invalid: signature does not match the body and secret');
    expect(res.stdout).toMatch(/cause\s+the JSON was re-serialized after signing: the same JSON written compactly/);
    expect(res.stdout).toMatch(/fix\s+.*express\.raw\(\{ type: 'application\/json' \}\)/);
    expect(res.stdout).toMatch(/expected\s+[0-9a-f]{64}/);
  });

  it('a wrong secret: the secret or body differs; a secret with whitespace or quotes is called out', async () => {
    const [wrong, spaced, quoted] = await Promise.all([
      verifyJson([captures.sent!.file], { FACESIGN_WEBHOOK_SECRET: 'whsec_not_this_one' }),
      verifyJson([captures.sent!.file], { FACESIGN_WEBHOOK_SECRET: `${SECRET}\n` }),
      runCli(['verify', captures.sent!.file, '--secret', `"${SECRET}"`]),
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.record).toMatchObject({
      reason: 'mismatch',
      cause: null,
      secret_hint: null,
      message: 'signature does not match: the secret or the body differs from what was signed',
    });
    expect(spaced.record.secret_hint).toMatchObject({ id: 'secret-whitespace', matches: true });
    expect(quoted.code).toBe(1);
    expect(quoted.stdout).toMatch(
      /secret\s+the secret includes quote characters .*without them, the signature matches/,
    );
    expect(quoted.stdout + quoted.stderr).not.toContain(SECRET);
  });

  it('shape problems are warnings, failures under --strict', async () => {
    const file = alter('sent', {
      headers: (h) => h.map(([k, v]) => [k, k.toLowerCase() === 'facesign-event-id' ? 'evt_other' : v]),
    });
    const [loose, strict, human] = await Promise.all([
      verifyJson([file]),
      verifyJson([file, '--strict']),
      runCli(['verify', file, '--strict', '--secret', SECRET]),
    ]);
    expect(loose.code).toBe(0);
    expect(loose.record.warnings).toEqual([
      { code: 'event-id-header-mismatch', message: expect.stringContaining('"evt_other"') },
    ]);
    expect(strict.code).toBe(1);
    expect(strict.record).toMatchObject({ ok: false, verdict: 'valid', strict: true });
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/1 warning\(s\) fail --strict/);
    expect(human.stdout).toContain('FaceSign-Event-Id "evt_other" differs from the body\'s id');
  });

  it.each([
    ['no secret', (f: string) => ['verify', f], {}, /no webhook secret/],
    [
      'a missing file',
      () => ['verify', join(dir, 'nope.json'), '--secret', SECRET],
      {},
      /cannot read capture .*no such file/,
    ],
    [
      'a file that is not a capture',
      () => ['verify', join(dir, 'not-a-capture.json'), '--secret', SECRET],
      {},
      /is not a capture/,
    ],
    ['two inputs', (f: string) => ['verify', f, '--payload', f, '--secret', SECRET], {}, /give one input/],
    [
      '--signature with a capture',
      (f: string) => ['verify', f, '--signature', 'abc', '--secret', SECRET],
      {},
      /go with --payload/,
    ],
  ])('%s: exit 2, one error line, no stack', async (_name, args, env, message) => {
    writeFileSync(join(dir, 'not-a-capture.json'), '{"hello": 1}');
    const res = await runCli(args(captures.sent!.file), { env });
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(message);
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });
});

/** A capture turned back into the raw request text someone might have saved from `nc -l`. */
function requestText(name: string, eol: string, extra = ''): Buffer {
  const c = captures[name]!.capture;
  const head = [`${c.method} ${c.path} HTTP/1.1`, ...c.raw_headers.map(([k, v]) => `${k}: ${v}`)].join(eol);
  return Buffer.concat([Buffer.from(`${head}${eol}${eol}`), Buffer.from(c.body_base64, 'base64'), Buffer.from(extra)]);
}

describe.concurrent('verify --request FILE.http', () => {
  it.each([
    ['CRLF', '\r\n'],
    ['LF', '\n'],
  ])('a request saved with %s line endings and an editor newline after Content-Length is valid', async (_name, eol) => {
    const file = join(dir, `request-${eol.length}.http`);
    writeFileSync(file, requestText('sent', eol, '\n'));
    const { code, record } = await verifyJson(['--request', file]);
    expect(code).toBe(0);
    expect(record).toMatchObject({ source: 'request', verdict: 'valid', event_type: 'session.verified' });
    expect(record.warnings).toEqual([]);
    expect(record.notes).toEqual([
      `1 byte(s) after Content-Length (${captures.sent!.capture.body_bytes}) were ignored`,
    ]);
  });

  it('reads stdin with -, and finds the body bytes exact (a CRLF body stays CRLF)', async () => {
    const res = await runCli(['verify', '--request', '-', '--secret', SECRET, '--strict'], {
      input: requestText('crlf', '\n', '\r\n'),
    });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toMatch(/✔ valid/);
    // Bytes a saved file gained after Content-Length are a note about the file, not a --strict failure.
    expect(res.stderr).toMatch(/note: 2 byte\(s\) after Content-Length/);
  });

  it('without Content-Length, the trailing newline a file gained is diagnosed', async () => {
    const text = requestText('sent', '\r\n', '\r\n')
      .toString('latin1')
      .replace(/content-length: \d+\r\n/i, '');
    const file = join(dir, 'no-length.http');
    writeFileSync(file, Buffer.from(text, 'latin1'));
    const { code, record } = await verifyJson(['--request', file]);
    expect(code).toBe(1);
    expect(record.cause).toMatchObject({ id: 'trailing-newline-added' });
  });

  it('text that is not an HTTP request: exit 2 naming the line', async () => {
    const file = join(dir, 'bad.http');
    writeFileSync(file, '{"id":"evt_1"}\n');
    const res = await runCli(['verify', '--request', file, '--secret', SECRET]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/bad\.http is not a raw HTTP request: line 1 is not a request line/);
  });
});

describe.concurrent('verify --payload', () => {
  const body = () => Buffer.from(captures.sent!.capture.body_base64, 'base64');

  it('a file and --signature: valid, exit 0', async () => {
    const file = join(dir, 'payload.json');
    writeFileSync(file, body());
    const res = await runCli(['verify', '--payload', file, '--signature', hmac(body()), '--secret', SECRET]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^✔ valid/);
  });

  it('stdin with --header lines, the headers checked too', async () => {
    const id = captures.sent!.capture.verdict.event_id!;
    const args = [
      '--payload',
      '-',
      '--header',
      `FaceSign-Signature: ${hmac(body())}`,
      '--header',
      'FaceSign-Event-Id: evt_wrong',
      '--header',
      'Content-Type: application/json',
    ];
    const res = await runCli(['verify', ...args, '--json'], {
      input: body(),
      env: { FACESIGN_WEBHOOK_SECRET: SECRET },
    });
    expect(res.code).toBe(0);
    const [record] = ndjson(res.stdout);
    expect(record).toMatchObject({
      source: 'payload',
      input: '-',
      verdict: 'valid',
      event_id: id,
      warnings: [{ code: 'event-id-header-mismatch' }],
    });
  });

  it('the published GitHub vector, and a body with a trailing newline against it', async () => {
    const file = join(dir, 'hello.txt');
    writeFileSync(file, 'Hello, World!');
    const hex = '757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    const ok = await runCli([
      'verify',
      '--payload',
      file,
      '--signature',
      hex,
      '--secret',
      "It's a Secret to Everybody",
    ]);
    expect(ok.code).toBe(0);
    writeFileSync(file, 'Hello, World!\n');
    const nl = await verifyJson(['--payload', file, '--signature', hex], {
      FACESIGN_WEBHOOK_SECRET: "It's a Secret to Everybody",
    });
    expect(nl.code).toBe(1);
    expect(nl.record.cause).toMatchObject({ id: 'trailing-newline-added' });
  });

  it('no signature at all: exit 1, reason missing, a hint on stderr', async () => {
    const res = await runCli(['verify', '--payload', '-', '--secret', SECRET], { input: body() });
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/✘ invalid: no FaceSign-Signature header/);
    expect(res.stderr).toMatch(/hint: pass the signature with --signature/);
  });

  it.each([
    [
      'a missing payload file',
      ['--payload', '/nonexistent/body.json', '--signature', 'ab'],
      /cannot read payload "\/nonexistent\/body.json": no such file/,
    ],
    ['a bad --header', ['--payload', '-', '--header', 'FaceSign-Signature'], /bad --header/],
    ['nothing to verify', [], /nothing to verify/],
  ])('%s: exit 2', async (_name, args, message) => {
    const res = await runCli(['verify', ...args, '--secret', SECRET], { input: '{}' });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(message);
  });
});
