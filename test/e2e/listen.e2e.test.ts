import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, connect, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { buildEvent } from '../../src/events/build.js';
import { runCli } from '../helpers/cli.js';
import { killListeners, startListen } from '../helpers/listen-process.js';

const SECRET = 'whsec_listen_e2e_secret';
const agent = new Agent({ connections: 64 });
const dirs: string[] = [];

afterEach(() => killListeners());
afterAll(async () => {
  await agent.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'fs-listen-'));
  dirs.push(d);
  return d;
}

/** Signed here with node:crypto directly, not with the project's signer. */
function hmac(body: Buffer | string, secret = SECRET): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

function eventBody(type: Parameters<typeof buildEvent>[0] = 'session.verified', eventId?: string): Buffer {
  return Buffer.from(JSON.stringify(buildEvent(type, { eventId })));
}

async function post(
  url: string,
  body: Buffer | string,
  headers: Record<string, string> = {},
  options: { method?: string; timeoutMs?: number; dispatcher?: Agent } = {},
) {
  const res = await request(url, {
    method: (options.method ?? 'POST') as 'POST',
    body: options.method === 'GET' ? undefined : body,
    headers: { 'content-type': 'application/json', ...headers },
    dispatcher: options.dispatcher ?? agent,
    headersTimeout: options.timeoutMs ?? 10_000,
    bodyTimeout: options.timeoutMs ?? 10_000,
  });
  return { status: res.statusCode, text: await res.body.text(), headers: res.headers };
}

/** POSTs a body with a valid signature and the event id header. */
async function sendSigned(url: string, body: Buffer, secret = SECRET) {
  const id = (JSON.parse(body.toString()) as { id: string }).id;
  return post(url, body, { 'FaceSign-Signature': hmac(body, secret), 'FaceSign-Event-Id': id });
}

async function history(base: string): Promise<{ count: number; accepted: number; deliveries: any[] }> {
  const res = await request(`${base}/__facesign/deliveries`, { dispatcher: agent });
  expect(res.statusCode).toBe(200);
  return (await res.body.json()) as { count: number; accepted: number; deliveries: any[] };
}

describe('listen: ready line and secret', () => {
  it('prints a ready object with the URL first under --json, and masks a given secret', async () => {
    const l = await startListen(['--secret', SECRET]);
    expect(l.records()[0]).toMatchObject({ type: 'ready', secret_source: 'flag', path: '/webhooks/facesign' });
    expect(l.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/webhooks\/facesign$/);
    expect(l.stdout()).not.toContain(SECRET);
    expect(l.stderr()).not.toContain(SECRET);
  });

  it('takes the secret from FACESIGN_WEBHOOK_SECRET', async () => {
    const l = await startListen([], { env: { FACESIGN_WEBHOOK_SECRET: SECRET } });
    expect(l.ready).toMatchObject({ secret_source: 'env' });
    expect((await sendSigned(l.url, eventBody())).status).toBe(200);
  });

  it('generates a secret when none is given, prints it once with the export line, and accepts it', async () => {
    const l = await startListen([], { json: false });
    const m = /^ {2}export FACESIGN_WEBHOOK_SECRET=(\S+)$/m.exec(l.stdout());
    expect(m).not.toBeNull();
    const generated = m![1]!;
    expect(l.stdout().split(generated).length - 1).toBe(1);
    expect((await sendSigned(l.url, eventBody(), generated)).status).toBe(200);
    expect((await sendSigned(l.url, eventBody(), SECRET)).status).toBe(400);
  });
});

describe('listen: verdicts', () => {
  it('answers each kind of request as a correct FaceSign handler would, and logs one record each', async () => {
    const l = await startListen(['--secret', SECRET, '--max-body', '2kb']);
    const valid = eventBody('session.verified');
    const validId = (JSON.parse(valid.toString()) as { id: string }).id;
    const other = eventBody('session.failed');
    const notJson = Buffer.from('{"id": "evt_x", oops');

    const results: [string, { status: number; text: string; headers: Record<string, unknown> }][] = [];
    results.push(['valid', await sendSigned(l.url, valid)]);
    results.push(['duplicate', await sendSigned(l.url, valid)]);
    results.push(['wrong path', await post(`${l.base}/webhooks/other`, other, { 'FaceSign-Signature': hmac(other) })]);
    results.push(['wrong method', await post(l.url, '', {}, { method: 'GET' })]);
    results.push([
      'too large',
      await post(l.url, Buffer.alloc(4096, 'a'), { 'FaceSign-Signature': hmac(Buffer.alloc(4096, 'a')) }),
    ]);
    results.push(['missing signature', await post(l.url, other)]);
    results.push(['malformed signature', await post(l.url, other, { 'FaceSign-Signature': 'abc123' })]);
    results.push([
      'mismatched signature',
      await post(l.url, other, { 'FaceSign-Signature': hmac(other, 'another-secret') }),
    ]);
    results.push([
      'tampered body',
      await post(l.url, Buffer.from(other.toString().replace('session.failed', 'session.verified')), {
        'FaceSign-Signature': hmac(other),
      }),
    ]);
    results.push(['invalid JSON', await post(l.url, notJson, { 'FaceSign-Signature': hmac(notJson) })]);

    const byName = Object.fromEntries(results);
    expect(byName['valid']).toMatchObject({ status: 200, text: 'OK' });
    expect(byName['duplicate']).toMatchObject({ status: 200, text: 'Already processed' });
    expect(byName['wrong path']!.status).toBe(404);
    expect(byName['wrong method']!.status).toBe(405);
    expect(byName['wrong method']!.headers['allow']).toBe('POST');
    expect(byName['too large']!.status).toBe(413);
    expect(byName['missing signature']).toMatchObject({ status: 400 });
    expect(byName['missing signature']!.text).toMatch(/no FaceSign-Signature header/);
    expect(byName['malformed signature']!.status).toBe(400);
    expect(byName['malformed signature']!.text).toMatch(/64 lowercase hex|malformed|length/i);
    expect(byName['mismatched signature']!.text).toMatch(/does not match/);
    expect(byName['tampered body']!.status).toBe(400);
    expect(byName['invalid JSON']).toMatchObject({ status: 400, text: 'Invalid JSON' });

    const records = await l.deliveries(results.length);
    expect(records.map((r) => [r.outcome, r.status, r.signature])).toEqual([
      ['accepted', 200, 'valid'],
      ['duplicate', 200, 'valid'],
      ['rejected', 404, 'unchecked'],
      ['rejected', 405, 'unchecked'],
      ['rejected', 413, 'unchecked'],
      ['rejected', 400, 'missing'],
      ['rejected', 400, 'malformed'],
      ['rejected', 400, 'mismatch'],
      ['rejected', 400, 'mismatch'],
      ['rejected', 400, 'valid'],
    ]);
    expect(records[0]).toMatchObject({ event_type: 'session.verified', event_id: validId, sequence: 1 });
    expect(records[0]!.session_id).toMatch(/^vs_/);
    expect(records[0]!.user_id).toMatch(/^usr_/);
    const h = await history(l.base);
    expect(h.count).toBe(10);
    expect(h.accepted).toBe(1);
    expect(h.deliveries.map((d) => d.verdict.status)).toEqual(records.map((r) => r.status));
  });

  it('logs a human line per delivery with time, type, ids, verdict and the answer', async () => {
    const l = await startListen(['--secret', SECRET], { json: false });
    const body = Buffer.from(
      JSON.stringify(
        buildEvent('session.cancelled', { eventId: 'evt_human1', sessionId: 'vs_human1', userId: 'usr_human1' }),
      ),
    );
    await sendSigned(l.url, body);
    await post(l.url, body, { 'FaceSign-Signature': '0'.repeat(64) });
    await new Promise((r) => setTimeout(r, 200));
    const lines = l
      .stdout()
      .split('\n')
      .filter((line) => line.includes('evt_human1'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} {2}session\.cancelled {2}evt_human1 {2}vs_human1 {2}usr_human1 {2}✔ accepted {2}→ 200 "OK"$/,
    );
    expect(lines[1]).toMatch(/✘ rejected \(signature does not match the body and secret\) {2}→ 400/);
  });

  it('answers garbage that is not HTTP with 400 and keeps serving', async () => {
    const l = await startListen(['--secret', SECRET]);
    const port = Number(new URL(l.url).port);
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('\x00\x01GARBAGE \xff\r\n\r\n'));
      let data = '';
      socket.setEncoding('latin1').on('data', (d: string) => (data += d));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
      socket.setTimeout(5_000, () => socket.destroy());
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect((await sendSigned(l.url, eventBody())).status).toBe(200);
  });
});

describe('listen: fault injection', () => {
  it('--fail-first N fails the first N attempts of each event id with --fail-status', async () => {
    const l = await startListen(['--secret', SECRET, '--fail-first', '2', '--fail-status', '503']);
    const a = eventBody('session.verified');
    const b = eventBody('session.created');
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await sendSigned(l.url, a)).status);
    const bFirst = await sendSigned(l.url, b);
    expect(statuses).toEqual([503, 503, 200, 200]);
    expect(bFirst.status).toBe(503);
    const records = await l.deliveries(5);
    expect(records.map((r) => [r.outcome, r.attempt])).toEqual([
      ['fault', 1],
      ['fault', 2],
      ['accepted', 3],
      ['duplicate', 4],
      ['fault', 1],
    ]);
  });

  it('--status CODE answers every signed delivery with it; bad signatures still get 400', async () => {
    const l = await startListen(['--secret', SECRET, '--status', '410']);
    const body = eventBody();
    expect((await sendSigned(l.url, body)).status).toBe(410);
    expect((await sendSigned(l.url, body)).status).toBe(410);
    expect((await post(l.url, body, { 'FaceSign-Signature': hmac(body, 'wrong') })).status).toBe(400);
    expect((await history(l.base)).accepted).toBe(0);
  });

  it('--status with a 2xx code still processes the event (a repeat is a duplicate)', async () => {
    const l = await startListen(['--secret', SECRET, '--status', '202']);
    const body = eventBody();
    expect(await sendSigned(l.url, body)).toMatchObject({ status: 202, text: 'OK' });
    expect(await sendSigned(l.url, body)).toMatchObject({ status: 202, text: 'Already processed' });
  });

  it('--delay MS holds the answer back', async () => {
    const l = await startListen(['--secret', SECRET, '--delay', '400']);
    const t0 = Date.now();
    const res = await sendSigned(l.url, eventBody());
    expect(res.status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(390);
    expect((await l.deliveries(1))[0]).toMatchObject({ delayed_ms: 400 });
  });

  it('--hang never answers; the sender times out, and SIGTERM still ends the receiver with exit 0', async () => {
    const l = await startListen(['--secret', SECRET, '--hang']);
    const body = eventBody();
    const err = await post(l.url, body, { 'FaceSign-Signature': hmac(body) }, { timeoutMs: 600 }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err).not.toBeNull();
    const record = await l.waitForRecord((r) => r.type === 'delivery');
    expect(record).toMatchObject({ outcome: 'fault', status: null, signature: 'valid' });
    const t0 = Date.now();
    l.child.kill('SIGTERM');
    const { code } = await l.exited;
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('--fail-rate P --seed S fails a repeatable share of deliveries', async () => {
    const ids = Array.from({ length: 24 }, (_, i) => `evt_rate_${i}`);
    const pattern = async () => {
      const l = await startListen(['--secret', SECRET, '--fail-rate', '50%', '--seed', '7']);
      const out: number[] = [];
      for (const id of ids) out.push((await sendSigned(l.url, eventBody('session.verified', id))).status);
      l.child.kill('SIGTERM');
      await l.exited;
      return out;
    };
    const first = await pattern();
    const second = await pattern();
    expect(second).toEqual(first);
    expect(first).toContain(500);
    expect(first).toContain(200);
    expect(first.every((s) => s === 200 || s === 500)).toBe(true);
  });
});

describe('listen: captures', () => {
  it('--save writes each delivery as a complete capture, bytes identical to what was sent, in arrival order', async () => {
    const dir = tempDir();
    const l = await startListen(['--secret', SECRET, '--save', dir]);
    // Unusual but valid bytes: spacing, unicode, escapes, no trailing newline.
    const first = Buffer.from(
      `{ "id":"evt_bytes_1" ,"object":"event","type":"session.verified","created":1,"data":{"id":"vs_1","metadata":{"user_id":"usr_é✓"},"note":"tab\\tline\\n"} }`,
    );
    const second = eventBody('session.failed');
    const third = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    await sendSigned(l.url, first);
    await sendSigned(l.url, second);
    await post(l.url, third, { 'FaceSign-Signature': hmac(third), 'X-Custom-Case': 'Kept' });
    const files = readdirSync(dir);
    expect(files.filter((f) => f.startsWith('.'))).toEqual([]);
    expect(files).toHaveLength(3);
    const captures = [...files].sort().map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
    expect(captures.map((c) => c.sequence)).toEqual([1, 2, 3]);
    expect(files.sort()[0]).toMatch(/^000001-\d{8}T\d{6}\.\d{3}Z-evt_bytes_1\.json$/);
    expect(Buffer.from(captures[0].body_base64, 'base64').equals(first)).toBe(true);
    expect(captures[0].body_text).toBe(first.toString('utf8'));
    expect(captures[0].body_bytes).toBe(first.length);
    expect(Buffer.from(captures[1].body_base64, 'base64').equals(second)).toBe(true);
    expect(Buffer.from(captures[2].body_base64, 'base64').equals(third)).toBe(true);
    expect(captures[0].headers['facesign-signature']).toBe(hmac(first));
    expect(captures[0].headers['facesign-event-id']).toBe('evt_bytes_1');
    expect(captures[2].raw_headers).toContainEqual(['X-Custom-Case', 'Kept']);
    expect(captures[0]).toMatchObject({
      version: 1,
      method: 'POST',
      path: '/webhooks/facesign',
      remote_address: '127.0.0.1',
    });
    expect(captures[0].verdict).toMatchObject({
      outcome: 'accepted',
      status: 200,
      event_id: 'evt_bytes_1',
      user_id: 'usr_é✓',
    });
    expect(captures[2].verdict).toMatchObject({ outcome: 'rejected', status: 400 });
    // Log lines are written in batches, within a turn of the event loop after the answer.
    const records = await l.deliveries(3);
    expect(records.map((r) => r.file)).toEqual(files.sort().map((f) => join(dir, f)));
  });

  it('SIGTERM lets in-flight deliveries finish, leaves every capture complete, prints a summary and exits 0', async () => {
    const dir = tempDir();
    const l = await startListen(['--secret', SECRET, '--save', dir, '--delay', '700']);
    const bodies = Array.from({ length: 5 }, () => eventBody());
    const inFlight = bodies.map((b) => sendSigned(l.url, b));
    // All five have arrived (their records print before the delayed answers).
    await l.waitForRecord(() => l.records().filter((r) => r.type === 'delivery').length === 5);
    l.child.kill('SIGTERM');
    const answers = await Promise.all(inFlight);
    const { code } = await l.exited;
    expect(code).toBe(0);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    const summary = l.records().at(-1);
    expect(summary).toMatchObject({
      type: 'summary',
      reason: 'interrupted',
      received: 5,
      accepted: 5,
      saved: 5,
      save_errors: 0,
    });
    const files = readdirSync(dir);
    expect(files).toHaveLength(5);
    const saved = files.map((f) =>
      Buffer.from(JSON.parse(readFileSync(join(dir, f), 'utf8')).body_base64, 'base64').toString(),
    );
    expect(saved.sort()).toEqual(bodies.map((b) => b.toString()).sort());
  });
});

describe('listen: for CI', () => {
  it('--exit-after N exits 0 once N deliveries are accepted (rejected and duplicate ones do not count)', async () => {
    const l = await startListen(['--secret', SECRET, '--exit-after', '2']);
    const body = eventBody();
    await post(l.url, body, { 'FaceSign-Signature': hmac(body, 'wrong') });
    await sendSigned(l.url, body);
    await sendSigned(l.url, body);
    const res = await sendSigned(l.url, eventBody('session.expired'));
    expect(res.status).toBe(200);
    const { code } = await l.exited;
    expect(code).toBe(0);
    expect(l.records().at(-1)).toMatchObject({
      type: 'summary',
      reason: 'exit-after',
      accepted: 2,
      duplicates: 1,
      rejected: 1,
      met: true,
    });
  });

  it('--max-wait exits 1 when --exit-after is not reached in time', async () => {
    const l = await startListen(['--secret', SECRET, '--exit-after', '3', '--max-wait', '1']);
    await sendSigned(l.url, eventBody());
    const { code } = await l.exited;
    expect(code).toBe(1);
    expect(l.records().at(-1)).toMatchObject({
      type: 'summary',
      reason: 'max-wait',
      accepted: 1,
      exit_after: 3,
      met: false,
    });
  });

  it('--max-wait alone just bounds the run: exit 0', async () => {
    const l = await startListen(['--secret', SECRET, '--max-wait', '0.5']);
    const { code } = await l.exited;
    expect(code).toBe(0);
    expect(l.records().at(-1)).toMatchObject({ type: 'summary', reason: 'max-wait', met: true });
  });

  it('answers and records 1,000 concurrent deliveries', async () => {
    const dir = tempDir();
    const l = await startListen(['--secret', SECRET, '--save', dir, '--history', '2000']);
    const wide = new Agent({ connections: 1000, pipelining: 1 });
    try {
      const bodies = Array.from({ length: 1000 }, (_, i) =>
        eventBody('session.verified', `evt_burst_${String(i).padStart(4, '0')}`),
      );
      const results = await Promise.all(
        bodies.map((b) => post(l.url, b, { 'FaceSign-Signature': hmac(b) }, { dispatcher: wide, timeoutMs: 30_000 })),
      );
      expect(results.filter((r) => r.status === 200)).toHaveLength(1000);
      const h = await history(l.base);
      expect(h.count).toBe(1000);
      expect(h.accepted).toBe(1000);
      expect(new Set(h.deliveries.map((d) => d.verdict.event_id)).size).toBe(1000);
      expect(readdirSync(dir).filter((f) => f.endsWith('.json') && !f.startsWith('.'))).toHaveLength(1000);
      await l.waitForRecord(() => l.records().filter((r) => r.type === 'delivery').length === 1000);
    } finally {
      await wide.close();
    }
  }, 60_000);
});

describe.concurrent('listen: bad input', () => {
  it.each([
    [['--port', '70000'], /--port must be a whole number from 0 to 65535/],
    [['--fail-rate', '2'], /--fail-rate "2" is not a probability/],
    [['--max-body', 'huge'], /--max-body "huge" is not a size/],
    [['--max-body', '1gb'], /--max-body "1gb" is not a size\n {2}hint: give bytes or a size in kb or mb/],
    [['--fail-status', '200'], /--fail-status must be/],
    [['--path', 'no-slash'], /--path "no-slash" must start with \//],
    [['--seed', '3'], /--seed only makes sense with --fail-rate/],
    [['--hang', '--delay', '10'], /--hang never answers/],
  ])('%j is a usage error (exit 2, one line, no stack)', async (args, message) => {
    const r = await runCli(['listen', '--secret', SECRET, ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
  });

  it('a --save path that is a file is a usage error', async () => {
    const file = join(tempDir(), 'file');
    writeFileSync(file, 'x');
    const r = await runCli(['listen', '--port', '0', '--secret', SECRET, '--save', join(file, 'sub')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot create the capture directory/);
  });

  it('a port in use is a usage error naming the port', async () => {
    const blocker: NetServer = createNetServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await runCli(['listen', '--port', String(port), '--secret', SECRET]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
