import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { deliver } from '../../../src/delivery/deliver.js';
import { headerValueProblem, parseHeader, prepareRequest, validateHeader } from '../../../src/delivery/request.js';
import { buildEvent } from '../../../src/events/build.js';
import { planReplay } from '../../../src/replay/plan.js';
import type { Capture } from '../../../src/receiver/capture.js';
import { runCli } from '../../helpers/cli.js';
import { expectCliError } from '../../helpers/errors.js';
import { startRawServer, writes, type RawServer } from '../../helpers/raw-server.js';

/*
 * Every header the tool writes is valid HTTP, whatever its source: token names; values with no
 * CR, LF, NUL or other control byte (tab allowed) and nothing above U+00FF, which Latin-1 would
 * fold into another byte (U+010D → 0x0D, a CR). A bad one is exit 2 naming its source, and
 * nothing reaches the wire.
 */

const SECRET = 'whsec_header_validation';

describe('headerValueProblem', () => {
  it.each([
    ['evt_plain', undefined],
    ['tab\tinside', undefined],
    ['Café \xe9\xff', undefined],
    ['evt_1\r\nX-Evil: 1', 'contains a line break (CR)'],
    ['evt_1\nX-Evil: 1', 'contains a line break (LF)'],
    ['a\0b', 'contains a NUL byte'],
    ['a\x1bb', 'contains the control character 0x1b'],
    ['a\x7fb', 'contains the control character 0x7f'],
    ['evt_\u010dTransfer-Encoding: chunked', 'contains U+010D, above U+00FF (Latin-1 would fold it into a line break)'],
    ['evt_\u010a', 'contains U+010A, above U+00FF (Latin-1 would fold it into a line break)'],
    ['evt_\u0100', 'contains U+0100, above U+00FF (Latin-1 would fold it into NUL)'],
    ['snow \u2603', 'contains U+2603, above U+00FF'],
  ])('%j → %s', (value, problem) => {
    expect(headerValueProblem(value)).toBe(problem);
  });
});

describe('validateHeader / parseHeader / prepareRequest', () => {
  it('a bad header name is exit 2 naming the source', () => {
    const err = expectCliError(() => validateHeader('X Bad', 'v', 'capture file "c.json"'));
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe('capture file "c.json": "X Bad" is not a valid header name');
  });

  it('--header with a code point Latin-1 folds into CR is refused', () => {
    const err = expectCliError(() => parseHeader('X-A: evt\u010dX-Evil: 1'));
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe(
      'bad --header "X-A": the value contains U+010D, above U+00FF (Latin-1 would fold it into a line break)',
    );
  });

  it.each([
    ['--event-id', 'evt_1\r\nX-Injected: yes'],
    ['--set id=…', 'evt_\u010d\u010aTransfer-Encoding: chunked'],
    ['the fixture file "f.json"', 'evt_\0'],
  ])('an event id from %s that cannot be a header is exit 2 naming it', (source, id) => {
    const event = { ...buildEvent('session.verified'), id };
    const err = expectCliError(() =>
      prepareRequest(event, { url: 'http://127.0.0.1:9/x', secret: SECRET, eventIdSource: source }),
    );
    expect(err.exitCode).toBe(2);
    expect(err.message.startsWith(`${source}: the FaceSign-Event-Id header value `)).toBe(true);
    expect(err.message).not.toMatch(/[\r\n\0]/);
    expect(err.hint).toContain('U+00FF');
  });

  it('planReplay: a capture whose header value holds CR/LF is exit 2 naming the file and the header', () => {
    const capture = {
      version: 1,
      sequence: 1,
      received_at: '2026-01-01T00:00:00.000Z',
      method: 'POST',
      path: '/',
      headers: {},
      raw_headers: [['X-Trace', 'a\r\nTransfer-Encoding: chunked']],
      body_base64: Buffer.from('{}').toString('base64'),
      verdict: { status: 200, signature: 'unchecked', event_id: 'evt_x' },
    } as unknown as Capture;
    const err = expectCliError(() =>
      planReplay([{ file: 'caps/000001.json', capture }], { url: 'http://127.0.0.1:9/x' }),
    );
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe(
      'capture file "caps/000001.json": the X-Trace header value "a\\r\\nTransfer-Encoding: chunked" contains a line break (CR)',
    );
  });

  it('deliver() refuses a hand-built request with a bad header before anything is sent', async () => {
    const req = prepareRequest(buildEvent('session.verified'), { url: 'http://127.0.0.1:9/x', secret: SECRET });
    req.headers['X-Evil'] = 'a\r\nb';
    await expect(deliver(req, { timeoutMs: 1_000 })).rejects.toThrow(
      'the request: the X-Evil header value "a\\r\\nb" contains a line break (CR)',
    );
  });
});

describe('a bad header from each source never reaches the wire (built CLI)', () => {
  let server: RawServer;
  const dir = mkdtempSync(join(tmpdir(), 'fsw-headers-'));

  afterEach(async () => {
    await server?.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function expectRefused(args: string[], message: string | RegExp) {
    server = await startRawServer(writes('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    const r = await runCli([...args, '--to', server.hookUrl, '--secret', SECRET], { timeoutMs: 15_000 });
    expect(r.code).toBe(2);
    const [first, ...rest] = r.stderr.split('\n').filter(Boolean);
    if (typeof message === 'string') expect(first).toBe(`error: ${message}`);
    else expect(first).toMatch(message);
    expect(rest.every((l) => l.startsWith('  hint: '))).toBe(true);
    expect(r.stdout).toBe('');
    // Nothing was sent: no connection at all.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.received).toHaveLength(0);
  }

  it('--event-id with CR LF', async () => {
    await expectRefused(
      ['send', 'verified', '--event-id', 'evt_1\r\nX-Injected: yes'],
      '--event-id: the FaceSign-Event-Id header value "evt_1\\r\\nX-Injected: yes" contains a line break (CR)',
    );
  });

  it('--set id=… with U+010D (Latin-1 would fold it into CR): no Transfer-Encoding smuggling', async () => {
    await expectRefused(
      ['send', 'verified', '--set', 'id=evt_\u010d\u010aTransfer-Encoding: chunked'],
      '--set id=…: the FaceSign-Event-Id header value "evt_\\u010d\\u010aTransfer-Encoding: chunked" contains U+010D, above U+00FF (Latin-1 would fold it into a line break)',
    );
  });

  it('a fixture file whose id holds LF', async () => {
    const fixture = join(dir, 'bad-id.json');
    writeFileSync(fixture, JSON.stringify({ type: 'session.verified', id: 'evt_1\nX-Injected: yes' }));
    await expectRefused(
      ['send', '--fixture', fixture],
      `the fixture file "${fixture}": the FaceSign-Event-Id header value "evt_1\\nX-Injected: yes" contains a line break (LF)`,
    );
  });

  it('--header with a control character', async () => {
    await expectRefused(
      ['send', 'verified', '--header', 'X-A: a\x01b'],
      'bad --header "X-A": the value contains the control character 0x01',
    );
  });

  it('a capture file (replay) with a bad header value', async () => {
    const capture = join(dir, '000001-capture.json');
    writeFileSync(
      capture,
      JSON.stringify({
        version: 1,
        sequence: 1,
        received_at: '2026-01-01T00:00:00.000Z',
        method: 'POST',
        path: '/webhooks/facesign',
        headers: {},
        raw_headers: [['FaceSign-Event-Id', 'evt_\u010d\u010aContent-Length: 0']],
        body_base64: Buffer.from('{}').toString('base64'),
        verdict: { status: 200, signature: 'unchecked', event_id: 'evt_x' },
      }),
    );
    server = await startRawServer(writes('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    const r = await runCli(['replay', capture, '--to', server.hookUrl], { timeoutMs: 15_000 });
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(
      `error: capture file "${capture}": the FaceSign-Event-Id header value "evt_\\u010d\\u010aContent-Length: 0" contains U+010D, above U+00FF (Latin-1 would fold it into a line break)`,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.received).toHaveLength(0);
  });
});
