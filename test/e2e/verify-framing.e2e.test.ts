import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

/*
 * `verify --request` holds a saved request to the framing rules load mode holds responses to,
 * with one documented leniency: bare LF line endings (a file saved by hand). What breaks framing
 * is exit 2 with one error line naming the problem, never a verdict on a guessed body.
 */

const SECRET = 'whsec_framing_test';
const BODY =
  '{"id":"evt_framing","object":"event","type":"session.verified","created":1706284800,"data":{"id":"vs_framing"}}';
const SIG = createHmac('sha256', SECRET).update(BODY).digest('hex');
const dir = mkdtempSync(join(tmpdir(), 'fw-framing-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function request(lines: string[], eol = '\r\n'): string {
  return `${lines.join(eol)}${eol}${eol}${BODY}`;
}
const head = [
  'POST /webhooks/facesign HTTP/1.1',
  'Host: localhost',
  'Content-Type: application/json',
  `FaceSign-Signature: ${SIG}`,
];

async function verifyFile(name: string, text: string) {
  const file = join(dir, name);
  writeFileSync(file, text, 'latin1');
  return runCli(['verify', '--request', file, '--secret', SECRET]);
}

describe.concurrent('verify --request framing', () => {
  it.each([
    ['CRLF', '\r\n'],
    ['bare LF (a hand-saved file)', '\n'],
  ])('%s line endings: valid, exit 0', async (_name, eol) => {
    const res = await verifyFile(`ok-${eol.length}.http`, request([...head, `Content-Length: ${BODY.length}`], eol));
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
  });

  it.each([
    ['obs-fold', [...head, 'X-Folded: a', '  b'], /line 6 is not a header .*obs-fold/],
    ['a NUL in a header', [...head, 'X-Nul: a\0b'], /line 5 .*control byte 0x00/],
    ['a lone CR in a header', [...head, 'X-Cr: a\rb'], /line 5 .*control byte 0x0d/],
    [
      'two Content-Length headers',
      [...head, `Content-Length: ${BODY.length}`, `Content-Length: ${BODY.length}`],
      /Content-Length appears 2 times/,
    ],
    [
      'Content-Length with Transfer-Encoding',
      [...head, `Content-Length: ${BODY.length}`, 'Transfer-Encoding: chunked'],
      /Content-Length and Transfer-Encoding together/,
    ],
    ['a header line without a colon', [...head, 'X-No-Colon'], /line 5 is not a header .*no colon/],
  ])('%s: exit 2 with one error line naming it', async (name, lines, reason) => {
    const res = await verifyFile(`${name.replace(/\W+/g, '-')}.http`, request(lines));
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    const [first] = res.stderr.split('\n');
    expect(first).toMatch(/^error: .* is not a raw HTTP request: /);
    expect(first).toMatch(reason);
    expect(res.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
