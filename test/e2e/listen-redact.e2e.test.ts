import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { killListeners, startListen } from '../helpers/listen-process.js';

/*
 * `listen --redact` with `--save` in front of an app: the app gets the real bytes, the files and the
 * history do not hold the personal data; `verify` and `replay` say why a redacted capture cannot be
 * checked or resent as it is.
 */

const SECRET = 'whsec_redact_e2e';
const dirs: string[] = [];
let app: Server;
let appPort = 0;
const appBodies: { body: Buffer; signature: string }[] = [];

beforeAll(async () => {
  app = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      appBodies.push({ body: Buffer.concat(chunks), signature: String(req.headers['facesign-signature']) });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  appPort = (app.address() as AddressInfo).port;
});
afterEach(() => killListeners());
afterAll(async () => {
  app.closeAllConnections();
  await new Promise((r) => app.close(r));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'fs-redact-'));
  dirs.push(d);
  return d;
}

const hmac = (body: Buffer | string, secret = SECRET) => createHmac('sha256', secret).update(body).digest('hex');

/** A session.verified body carrying personal data, as a real test-mode account would send. */
function personalEvent() {
  const id = `evt_red_${Math.random().toString(36).slice(2)}`;
  const body = JSON.stringify({
    id,
    type: 'session.verified',
    data: {
      id: 'vs_red',
      metadata: { user_id: 'usr_red' },
      verified_outputs: { first_name: 'Ada', date_of_birth: '1815-12-10', document_number: 'X-99' },
      contact: { email: 'ada@example.com' },
    },
  });
  return { id, body };
}

async function sendThrough(url: string) {
  const e = personalEvent();
  const res = await fetch(url, {
    method: 'POST',
    body: e.body,
    headers: { 'content-type': 'application/json', 'FaceSign-Signature': hmac(e.body), 'FaceSign-Event-Id': e.id },
    signal: AbortSignal.timeout(15_000),
  });
  expect(res.status).toBe(200);
  await res.text();
  return e;
}

function onlyFile(dir: string): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  expect(files).toHaveLength(1);
  return join(dir, files[0]!);
}

describe('listen --save --forward-to: redaction on by default', () => {
  it('the app gets the real bytes; the file and the history hold none of the personal data', async () => {
    const dir = tempDir();
    const l = await startListen(['--secret', SECRET, '--forward-to', `:${appPort}`, '--save', dir]);
    expect(l.ready).toMatchObject({ redact: true });
    const before = appBodies.length;
    const e = await sendThrough(l.url);
    await l.deliveries(1);
    expect(appBodies[before]!.body.toString()).toBe(e.body);

    const file = onlyFile(dir);
    const text = readFileSync(file, 'utf8');
    for (const secret of ['Ada', '1815-12-10', 'X-99', 'ada@example.com']) expect(text).not.toContain(secret);
    const capture = JSON.parse(text);
    expect(capture.redacted).toBe(true);
    expect(capture.raw_body_base64).toBeUndefined();
    const body = JSON.parse(Buffer.from(capture.body_base64, 'base64').toString());
    expect(body.data.verified_outputs).toEqual({
      first_name: '[redacted]',
      date_of_birth: '[redacted]',
      document_number: '[redacted]',
    });
    expect(body.id).toBe(e.id);
    const hist = await (await fetch(`${l.base}/__facesign/deliveries`)).text();
    expect(hist).not.toContain('Ada');
    expect(hist).toContain('"redacted":true');

    // verify: the reason, not a mismatch diagnosis.
    const v = await runCli(['verify', file, '--secret', SECRET]);
    expect(v.code).toBe(1);
    expect(v.stderr).toContain(
      'this capture is redacted (listen --redact): its body is not the signed bytes; use --keep-raw captures to verify',
    );
    expect(v.stdout).not.toMatch(/mismatch/i);

    // replay: refused as captured, allowed re-signed.
    const refused = await runCli(['replay', file, '--to', `:${appPort}`]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/error: cannot replay .* it is redacted/);
    expect(refused.stderr).toMatch(/hint: add --resign/);
    const n = appBodies.length;
    const resigned = await runCli(['replay', file, '--to', `:${appPort}`, '--resign', '--secret', 'whsec_new']);
    expect(resigned.code).toBe(0);
    expect(appBodies).toHaveLength(n + 1);
    const sent = appBodies[n]!;
    expect(sent.signature).toBe(hmac(sent.body, 'whsec_new'));
    expect(sent.body.toString()).not.toContain('Ada');
  });

  it('--keep-raw keeps the received bytes: verify checks them and replay resends them exactly', async () => {
    const dir = tempDir();
    const l = await startListen(['--secret', SECRET, '--forward-to', `:${appPort}`, '--save', dir, '--keep-raw']);
    const e = await sendThrough(l.url);
    await l.deliveries(1);
    const file = onlyFile(dir);
    const capture = JSON.parse(readFileSync(file, 'utf8'));
    expect(capture.redacted).toBe(true);
    expect(Buffer.from(capture.raw_body_base64, 'base64').toString()).toBe(e.body);
    expect(Buffer.from(capture.body_base64, 'base64').toString()).not.toContain('Ada');
    const v = await runCli(['verify', file, '--secret', SECRET]);
    expect(v.code).toBe(0);
    const n = appBodies.length;
    const r = await runCli(['replay', file, '--to', `:${appPort}`]);
    expect(r.code).toBe(0);
    expect(appBodies[n]!.body.toString()).toBe(e.body);
    expect(appBodies[n]!.signature).toBe(hmac(e.body));
  });

  it('--no-redact saves the bytes as received', async () => {
    const dir = tempDir();
    const l = await startListen(['--secret', SECRET, '--forward-to', `:${appPort}`, '--save', dir, '--no-redact']);
    expect(l.ready).toMatchObject({ redact: false });
    const e = await sendThrough(l.url);
    await l.deliveries(1);
    const capture = JSON.parse(readFileSync(onlyFile(dir), 'utf8'));
    expect(capture.redacted).toBeUndefined();
    expect(Buffer.from(capture.body_base64, 'base64').toString()).toBe(e.body);
  });

  it('--keep-raw without redaction is a usage error', async () => {
    const r = await runCli(['listen', '--port', '0', '--save', tempDir(), '--keep-raw']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --keep-raw keeps the received bytes of redacted captures/m);
  });
});
