import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createFaultPlan, createSeededRandom } from '../../../src/receiver/faults.js';
import { judgeRequest, type JudgeContext, type ReceivedRequest } from '../../../src/receiver/judge.js';
import { startReceiver, type Receiver } from '../../../src/receiver/server.js';
import { parseByteSize, parseProbability, planListen } from '../../../src/commands/listen.js';
import { planReplay, replayHeaders } from '../../../src/replay/plan.js';
import type { Capture } from '../../../src/receiver/capture.js';
import { CliError } from '../../../src/errors.js';

const SECRET = 'whsec_unit';
const hmac = (body: string | Buffer, secret = SECRET) => createHmac('sha256', secret).update(body).digest('hex');
const EVENT = JSON.stringify({
  id: 'evt_1',
  object: 'event',
  type: 'session.verified',
  created: 1,
  data: { id: 'vs_1', metadata: { user_id: 'usr_1' } },
});

function received(overrides: Partial<ReceivedRequest> = {}): ReceivedRequest {
  const body = Buffer.from(EVENT);
  return {
    method: 'POST',
    target: '/webhooks/facesign',
    headers: { 'facesign-signature': hmac(body), 'facesign-event-id': 'evt_1' },
    body,
    bodyTooLarge: false,
    bodyBytesSeen: body.length,
    ...overrides,
  };
}

const ctx = (processed: string[] = []): JudgeContext => ({
  path: '/webhooks/facesign',
  secret: SECRET,
  maxBodyBytes: 1024,
  isProcessed: (id) => processed.includes(id),
});

describe('judgeRequest', () => {
  it.each<[string, Partial<ReceivedRequest>, number, string, string]>([
    ['a valid delivery', {}, 200, 'accepted', 'valid'],
    ['a query string on the right path', { target: '/webhooks/facesign?x=1' }, 200, 'accepted', 'valid'],
    ['a wrong path', { target: '/webhooks' }, 404, 'rejected', 'unchecked'],
    ['an absolute-form target', { target: 'http://evil/webhooks/facesign' }, 404, 'rejected', 'unchecked'],
    ['a PUT', { method: 'PUT' }, 405, 'rejected', 'unchecked'],
    [
      'a body over the cap',
      { body: Buffer.alloc(0), bodyTooLarge: true, bodyBytesSeen: 5000 },
      413,
      'rejected',
      'unchecked',
    ],
    ['no signature', { headers: {} }, 400, 'rejected', 'missing'],
    [
      'two signature values',
      { headers: { 'facesign-signature': [hmac(EVENT), hmac(EVENT)] as unknown as string } },
      400,
      'rejected',
      'malformed',
    ],
    ['a sha256= prefix', { headers: { 'facesign-signature': `sha256=${hmac(EVENT)}` } }, 400, 'rejected', 'prefixed'],
    ['uppercase hex', { headers: { 'facesign-signature': hmac(EVENT).toUpperCase() } }, 400, 'rejected', 'uppercase'],
    ['another secret', { headers: { 'facesign-signature': hmac(EVENT, 'other') } }, 400, 'rejected', 'mismatch'],
    [
      'signed garbage',
      { body: Buffer.from('nope{'), headers: { 'facesign-signature': hmac('nope{') } },
      400,
      'rejected',
      'valid',
    ],
    [
      'signed JSON without an id',
      { body: Buffer.from('[1,2]'), headers: { 'facesign-signature': hmac('[1,2]') } },
      400,
      'rejected',
      'valid',
    ],
  ])('%s → %i %s', (_name, overrides, status, outcome, signature) => {
    const j = judgeRequest(received(overrides), ctx());
    expect(j.verdict).toMatchObject({ status, outcome, signature });
    if (outcome === 'rejected') expect(j.verdict.reason).toBeTruthy();
  });

  it('reads the ids for the log even from a rejected delivery', () => {
    const j = judgeRequest(received({ headers: {} }), ctx());
    expect(j.verdict).toMatchObject({
      event_id: 'evt_1',
      event_type: 'session.verified',
      session_id: 'vs_1',
      user_id: 'usr_1',
    });
  });

  it('answers a processed event id "Already processed" with 200', () => {
    expect(judgeRequest(received(), ctx(['evt_1']))).toMatchObject({
      responseBody: 'Already processed',
      verdict: { status: 200, outcome: 'duplicate' },
    });
  });

  it('sets Allow on a 405', () => {
    expect(judgeRequest(received({ method: 'GET' }), ctx()).headers).toEqual({ Allow: 'POST' });
  });
});

describe('createFaultPlan', () => {
  it('counts attempts per event id for --fail-first', () => {
    const plan = createFaultPlan({ failFirst: 2, failStatus: 502 });
    const seen = ['a', 'a', 'b', 'a', 'b', 'b'].map((id) => plan.decide(id).fault?.status ?? 200);
    expect(seen).toEqual([502, 502, 502, 200, 502, 200]);
  });

  it('repeats a --fail-rate pattern for the same seed, and differs for another', () => {
    const run = (seed: number) => {
      const plan = createFaultPlan({ failRate: 0.5, seed });
      return Array.from({ length: 40 }, (_, i) => (plan.decide(`e${i}`).fault ? 1 : 0)).join('');
    };
    expect(run(1)).toBe(run(1));
    expect(run(1)).not.toBe(run(2));
    expect(run(1)).toMatch(/1/);
    expect(run(1)).toMatch(/0/);
  });

  it('seeded random is the published mulberry32 sequence', () => {
    // First output of mulberry32(1), computed independently with a Python port of the reference algorithm.
    expect(createSeededRandom(1)()).toBeCloseTo(0.6270739405881613, 12);
  });
});

describe('listen option parsing', () => {
  it.each([
    ['0.25', 0.25],
    ['30%', 0.3],
    ['1', 1],
    ['0', 0],
  ])('--fail-rate %s → %d', (input, p) => expect(parseProbability(input)).toBeCloseTo(p));

  it.each(['1.5', '-0.1', 'half', '', '%'])('--fail-rate %j is rejected', (input) =>
    expect(() => parseProbability(input)).toThrow(/not a probability/),
  );

  it.each([
    ['1048576', 1048576],
    ['1mb', 1048576],
    ['512KB', 524288],
    ['2MiB', 2097152],
  ])('--max-body %s → %i', (input, n) => expect(parseByteSize(input)).toBe(n));

  it('uses --secret, then the environment, else generates one', () => {
    expect(planListen({ secret: 'a' }, { FACESIGN_WEBHOOK_SECRET: 'b' })).toMatchObject({
      secretSource: 'flag',
      receiver: { secret: 'a' },
    });
    expect(planListen({}, { FACESIGN_WEBHOOK_SECRET: 'b' })).toMatchObject({
      secretSource: 'env',
      receiver: { secret: 'b' },
    });
    const generated = planListen({}, {});
    expect(generated.secretSource).toBe('generated');
    expect(generated.receiver.secret).toMatch(/^whsec_[A-Za-z0-9_-]{32}$/);
    expect(planListen({}, {}).receiver.secret).not.toBe(generated.receiver.secret);
  });

  it('an empty --secret (an unset variable in "$VAR") is refused with a hint true for the run', () => {
    const hintFor = (options: Parameters<typeof planListen>[0]): string | undefined => {
      try {
        planListen(options, {});
      } catch (err) {
        expect((err as CliError).message).toBe('--secret is empty');
        return (err as CliError).hint;
      }
      throw new Error('accepted an empty --secret');
    };
    expect(hintFor({ secret: '' })).toMatch(/leave both out to get a generated one$/);
    expect(hintFor({ secret: '', forwardTo: ':4000' })).toMatch(
      /leave both out: your app then judges signatures alone$/,
    );
  });

  it('picks a seed for --fail-rate when none is given, so the run can be repeated', () => {
    expect(planListen({ secret: 'a', failRate: '0.2' }, {}).receiver.seed).toEqual(expect.any(Number));
    expect(planListen({ secret: 'a', failRate: '0.2', seed: 9 }, {}).receiver.seed).toBe(9);
  });
});

describe('replay planning', () => {
  const capture = (sequence: number, receivedAt: string, extra: Partial<Capture> = {}): Capture => ({
    version: 1,
    sequence,
    received_at: receivedAt,
    remote_address: '127.0.0.1',
    remote_port: 1,
    method: 'POST',
    path: '/webhooks/facesign',
    headers: {},
    raw_headers: [
      ['Host', 'old:1'],
      ['Content-Type', 'application/json'],
      ['FaceSign-Signature', 'ab'.repeat(32)],
      ['FaceSign-Event-Id', `evt_${sequence}`],
      ['Content-Length', '2'],
      ['Connection', 'keep-alive'],
      ['X-Dup', 'one'],
      ['x-dup', 'two'],
    ],
    body_base64: Buffer.from(`{"n":${sequence}}`).toString('base64'),
    body_text: '',
    body_bytes: 0,
    verdict: {
      status: 200,
      outcome: 'accepted',
      signature: 'valid',
      event_id: `evt_${sequence}`,
      event_type: 'session.verified',
      session_id: null,
      user_id: null,
    },
    ...extra,
  });

  it('keeps captured header names and values, dropping connection headers', () => {
    expect(replayHeaders(capture(1, '2026-01-01T00:00:00.000Z'))).toEqual({
      'Content-Type': 'application/json',
      'FaceSign-Signature': 'ab'.repeat(32),
      'FaceSign-Event-Id': 'evt_1',
      'X-Dup': 'one, two',
    });
  });

  it('orders by arrival and re-signs only when asked', () => {
    const items = planReplay(
      [
        { file: 'b.json', capture: capture(2, '2026-01-01T00:00:01.000Z') },
        { file: 'a.json', capture: capture(1, '2026-01-01T00:00:00.000Z') },
      ],
      { url: 'http://127.0.0.1:1/x', resignWith: 'new' },
    );
    expect(items.map((i) => i.request.eventId)).toEqual(['evt_1', 'evt_2']);
    expect(items[0]!.request.body.toString()).toBe('{"n":1}');
    expect(items[0]!.request.headers['FaceSign-Signature']).toBe(hmac('{"n":1}', 'new'));
    const kept = planReplay([{ file: 'a.json', capture: capture(1, '2026-01-01T00:00:00.000Z') }], {
      url: 'http://127.0.0.1:1/x',
    });
    expect(kept[0]!.request.headers['FaceSign-Signature']).toBe('ab'.repeat(32));
  });
});

describe('startReceiver against hostile and awkward clients', () => {
  let receiver: Receiver | undefined;
  const dirs: string[] = [];
  const agent = new Agent({ connections: 8 });
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
  });
  afterAll(async () => {
    await agent.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** Writes raw bytes, then collects what comes back until the server closes (bounded by 8 s). */
  function rawExchange(port: number, chunks: string[], pauseMs = 0): Promise<{ data: string; closedAfterMs: number }> {
    return new Promise((resolve, reject) => {
      const t0 = Date.now();
      let data = '';
      const socket = connect(port, '127.0.0.1', async () => {
        for (const c of chunks) {
          socket.write(c);
          if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
        }
      });
      socket.setEncoding('utf8').on('data', (d: string) => (data += d));
      socket.on('close', () => resolve({ data, closedAfterMs: Date.now() - t0 }));
      socket.on('error', () => undefined);
      setTimeout(() => {
        socket.destroy();
        reject(new Error(`no close within 8 s; got ${JSON.stringify(data)}`));
      }, 8_000).unref();
    });
  }

  it('answers 408 and hangs up on a client whose headers never finish', async () => {
    receiver = await startReceiver({ secret: SECRET, port: 0, headersTimeoutMs: 500, requestTimeoutMs: 800 });
    const { data } = await rawExchange(receiver.port, ['POST /webhooks/facesign HTTP/1.1\r\nHost: x\r\nX-Slow: '], 0);
    expect(data).toMatch(/^HTTP\/1\.1 408 /);
    expect(receiver.stats()).toMatchObject({ received: 0, badHttp: 1 });
  });

  it('drops a request whose body never arrives in full, without recording half a delivery', async () => {
    receiver = await startReceiver({ secret: SECRET, port: 0, headersTimeoutMs: 500, requestTimeoutMs: 800 });
    await rawExchange(
      receiver.port,
      ['POST /webhooks/facesign HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"id":'],
      0,
    );
    expect(receiver.stats()).toMatchObject({ received: 0, incomplete: 1 });
    expect(receiver.deliveries()).toEqual([]);
  });

  it('answers 413 to a body far past the cap and keeps working', async () => {
    receiver = await startReceiver({ secret: SECRET, port: 0, maxBodyBytes: 1024 });
    const huge = Buffer.alloc(12 * 1024 * 1024, 'x');
    // Past cap + 8 MiB the receiver answers 413 at once and closes, rather than reading forever.
    const res = await request(receiver.url, { method: 'POST', body: huge, dispatcher: agent });
    expect(res.statusCode).toBe(413);
    await res.body.dump();
    const ok = await request(receiver.url, {
      method: 'POST',
      body: EVENT,
      headers: { 'facesign-signature': hmac(EVENT) },
      dispatcher: agent,
    });
    expect(ok.statusCode).toBe(200);
    await ok.body.dump();
    expect(receiver.deliveries()[0]).toMatchObject({ body_discarded: true, body_bytes: 0, verdict: { status: 413 } });
  });

  it('close() lets an in-flight delivery finish and writes its capture', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-recv-'));
    dirs.push(dir);
    receiver = await startReceiver({ secret: SECRET, port: 0, delayMs: 400, saveDir: dir });
    const pending = request(receiver.url, {
      method: 'POST',
      body: EVENT,
      headers: { 'facesign-signature': hmac(EVENT) },
      dispatcher: agent,
    });
    // In flight: judged (its answer held back by the delay) before close() is called.
    for (const deadline = Date.now() + 10_000; receiver.stats().received < 1 && Date.now() < deadline;)
      await new Promise((r) => setTimeout(r, 10));
    expect(receiver.stats().received).toBe(1);
    const closing = receiver.close();
    const res = await pending;
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('OK');
    await closing;
    expect(readdirSync(dir)).toHaveLength(1);
  });

  it('keeps a bounded history and serves it, with ?since=', async () => {
    receiver = await startReceiver({ secret: SECRET, port: 0, historyLimit: 3 });
    for (let i = 1; i <= 5; i++) {
      const body = EVENT.replace('evt_1', `evt_h${i}`);
      const r = await request(receiver.url, {
        method: 'POST',
        body,
        headers: { 'facesign-signature': hmac(body) },
        dispatcher: agent,
      });
      await r.body.dump();
    }
    expect(receiver.deliveries().map((c) => c.sequence)).toEqual([3, 4, 5]);
    const res = await request(`${new URL(receiver.url).origin}/__facesign/deliveries?since=4`, { dispatcher: agent });
    const body = (await res.body.json()) as { received: number; accepted: number; deliveries: Capture[] };
    expect(body).toMatchObject({ received: 5, accepted: 5, save_errors: 0, bad_http: 0, forward_errors: 0 });
    // Every field name is snake_case, like the rest of the tool's JSON.
    expect(Object.keys(body).filter((k) => /[A-Z]/.test(k))).toEqual([]);
    expect(body.deliveries.map((c) => c.verdict.event_id)).toEqual(['evt_h5']);
  });

  it('refuses to start without a secret or on a port in use', async () => {
    await expect(startReceiver({ secret: '', port: 0 })).rejects.toThrow(/secret/);
    receiver = await startReceiver({ secret: SECRET, port: 0 });
    await expect(startReceiver({ secret: SECRET, port: receiver.port })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/already in use/),
    });
  });
});
