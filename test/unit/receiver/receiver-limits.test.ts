import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { captureJsonPieces, captureLimits, type Capture } from '../../../src/receiver/capture.js';
import { readCaptureFile } from '../../../src/receiver/capture-file.js';
import {
  isLocalHost,
  localHosts,
  startReceiver,
  type Receiver,
  type ReceiverOptions,
} from '../../../src/receiver/server.js';
import { prepareSaveDir } from '../../../src/receiver/store.js';
import { createSeededRandom } from '../../../src/random.js';

const SECRET = 'whsec_limits';
/** Signed here with node:crypto directly, not with the project's signer. */
const hmac = (body: string | Buffer, secret = SECRET) => createHmac('sha256', secret).update(body).digest('hex');
const eventBody = (id: string, pad = 0) =>
  Buffer.from(
    JSON.stringify({
      id,
      object: 'event',
      type: 'session.verified',
      created: 1,
      data: { id: 'vs_1', metadata: { user_id: 'usr_1' } },
      pad: 'p'.repeat(pad),
    }),
  );

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request over node:http (which lets a test set any Host), bounded by 30 s. */
function send(
  port: number,
  options: { method?: string; path?: string; host?: string; body?: Buffer; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.host !== undefined) headers.host = options.host;
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path ?? '/__facesign/deliveries',
        headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** POSTs a validly signed delivery. */
function deliver(r: Receiver, body: Buffer): Promise<Reply> {
  return send(r.port, {
    method: 'POST',
    path: r.path,
    body,
    headers: { 'content-type': 'application/json', 'facesign-signature': hmac(body) },
  });
}

async function history(
  r: Receiver,
  query = '',
): Promise<{ count: number; deliveries: Capture[]; [k: string]: unknown }> {
  const res = await send(r.port, { path: `/__facesign/deliveries${query}` });
  expect(res.status).toBe(200);
  return JSON.parse(res.body.toString('utf8'));
}

let receiver: Receiver | undefined;
const dirs: string[] = [];
afterEach(async () => {
  const r = receiver;
  receiver = undefined;
  await r?.close();
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function start(options: Partial<ReceiverOptions> = {}): Promise<Receiver> {
  receiver = await startReceiver({ secret: SECRET, port: 0, closeGraceMs: 1_000, ...options });
  return receiver;
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'fs-limits-'));
  dirs.push(d);
  return d;
}

/** Runs `fn` with the capture module's size limits lowered, then restores them. */
async function withLimits<T>(limits: Partial<typeof captureLimits>, fn: () => Promise<T> | T): Promise<T> {
  const saved = { ...captureLimits };
  Object.assign(captureLimits, limits);
  try {
    return await fn();
  } finally {
    Object.assign(captureLimits, saved);
  }
}

describe('captureJsonPieces', () => {
  /** Bytes that stress a split: multi-byte characters, invalid UTF-8, quotes, backslashes, control bytes. */
  const ALPHABET = [
    0x41, 0x22, 0x5c, 0x0a, 0x01, 0x7f, 0xc3, 0xa9, 0xe2, 0x9c, 0x93, 0xf0, 0x9f, 0x98, 0x80, 0xff, 0xed, 0xa0, 0xc0,
  ];

  function capture(body: Buffer, extra: Partial<Capture> = {}): Capture {
    return {
      version: 1,
      sequence: 7,
      received_at: '2026-01-02T03:04:05.678Z',
      remote_address: '127.0.0.1',
      remote_port: 5000,
      method: 'POST',
      path: '/webhooks/facesign?x="1"',
      headers: { 'facesign-signature': 'ab'.repeat(32), 'x-odd': 'é\u0001' },
      raw_headers: [
        ['FaceSign-Signature', 'ab'.repeat(32)],
        ['X-Odd', 'é\u0001'],
      ],
      body_base64: body.toString('base64'),
      body_text: body.toString('utf8'),
      body_bytes: body.length,
      ...extra,
      verdict: {
        status: 200,
        outcome: 'accepted',
        signature: 'valid',
        event_id: 'evt_1',
        event_type: 'session.verified',
        session_id: null,
        user_id: null,
        response_body: 'OK',
      },
    };
  }

  it('written in small pieces, gives exactly JSON.stringify of the capture, compact and indented', async () => {
    const random = createSeededRandom(11);
    for (let round = 0; round < 300; round++) {
      const body = Buffer.from(
        Array.from({ length: Math.floor(random() * 64) }, () => ALPHABET[Math.floor(random() * ALPHABET.length)]!),
      );
      const pieceBytes = 3 * (1 + Math.floor(random() * 5));
      const extra = round % 3 === 0 ? { body_omitted: true } : round % 3 === 1 ? { body_discarded: true } : {};
      const c = capture(body, extra);
      const { body_base64: _b, body_text: _t, ...meta } = c;
      await withLimits({ pieceBytes }, () => {
        for (const indent of [0, 2] as const) {
          const pieces = [...captureJsonPieces(meta, body, indent)];
          if (body.length > pieceBytes) expect(pieces.length).toBeGreaterThan(2);
          for (const p of pieces) expect(p.length).toBeLessThanOrEqual(Math.max(1_000, 6 * pieceBytes + 20));
          expect(pieces.join('')).toBe(JSON.stringify(c, null, indent));
        }
      });
    }
  });
});

describe('history bounded by bytes', () => {
  it('drops the oldest captures so the bodies held never pass historyMaxBytes; counts every delivery', async () => {
    const r = await start({ historyMaxBytes: 20_000, historyLimit: 100 });
    for (let i = 1; i <= 12; i++) expect((await deliver(r, eventBody(`evt_b${i}`, 4_000))).status).toBe(200);
    const kept = r.deliveries();
    expect(kept.length).toBeGreaterThanOrEqual(2);
    expect(kept.length).toBeLessThan(12);
    expect(kept.reduce((sum, c) => sum + c.body_bytes, 0)).toBeLessThanOrEqual(20_000);
    // The newest are kept, in order, with their bodies.
    expect(kept.map((c) => c.sequence)).toEqual(Array.from({ length: kept.length }, (_, i) => 13 - kept.length + i));
    expect(Buffer.from(kept.at(-1)!.body_base64, 'base64').equals(eventBody('evt_b12', 4_000))).toBe(true);
    const served = await history(r);
    expect(served).toMatchObject({ received: 12, accepted: 12, count: kept.length, history_max_bytes: 20_000 });
    expect(served.history_bytes).toBeLessThanOrEqual(20_000);
    expect(served.deliveries).toEqual(kept);
  });

  it('keeps a delivery whose body alone is over the cap, without its bytes (body_omitted); the file has them', async () => {
    const dir = tempDir();
    const r = await start({ historyMaxBytes: 1_000, saveDir: dir });
    const big = eventBody('evt_big', 5_000);
    expect((await deliver(r, big)).status).toBe(200);
    const [c] = r.deliveries();
    expect(c).toMatchObject({
      sequence: 1,
      body_bytes: big.length,
      body_omitted: true,
      body_base64: '',
      body_text: '',
      verdict: { outcome: 'accepted', event_id: 'evt_big' },
    });
    expect(Object.keys(c!).slice(-2)).toEqual(['body_omitted', 'verdict']);
    const [file] = readdirSync(dir);
    const saved = readCaptureFile(join(dir, file!));
    expect(Buffer.from(saved.body_base64, 'base64').equals(big)).toBe(true);
    expect('body_omitted' in saved).toBe(false);
  });

  it('serves ?limit= pages that continue with ?since=last_sequence, and rejects a bad query with 400', async () => {
    const r = await start();
    for (let i = 1; i <= 7; i++) await deliver(r, eventBody(`evt_p${i}`));
    const seen: string[] = [];
    let since = 0;
    for (let page = 0; page < 10; page++) {
      const h = await history(r, `?since=${since}&limit=3`);
      seen.push(...h.deliveries.map((d) => d.verdict.event_id!));
      expect(h.count).toBe(h.deliveries.length);
      if (!h.more) break;
      since = h.last_sequence as number;
    }
    expect(seen).toEqual(Array.from({ length: 7 }, (_, i) => `evt_p${i + 1}`));
    const bad = await send(r.port, { path: '/__facesign/deliveries?limit=abc' });
    expect(bad.status).toBe(400);
    expect(bad.body.toString()).toMatch(/limit must be a whole number/);
    expect((await send(r.port, { method: 'HEAD' })).status).toBe(200);
  });

  it('streams a history far larger than one string can hold (what ~240 deliveries of 1 MiB did to it before)', async () => {
    // The JSON of this history is about 590 MB: more than V8's longest string (~512 Mi chars).
    const r = await start({ historyMaxBytes: 300 * 1024 * 1024, historyLimit: 1000 });
    const body = Buffer.alloc(1024 * 1024, 'a');
    for (let i = 0; i < 240; i++) expect((await send(r.port, { method: 'POST', path: r.path, body })).status).toBe(400);
    const { bytes, tail, head } = await new Promise<{ bytes: number; tail: string; head: string }>(
      (resolve, reject) => {
        const req = httpRequest(
          { host: '127.0.0.1', port: r.port, path: '/__facesign/deliveries', agent: false },
          (res) => {
            let n = 0;
            let first = '';
            let last = Buffer.alloc(0);
            res.on('data', (c: Buffer) => {
              if (first.length < 200) first += c.subarray(0, 200).toString('latin1');
              n += c.length;
              last = Buffer.concat([last, c]).subarray(-200);
            });
            res.on('end', () => resolve({ bytes: n, tail: last.toString('latin1'), head: first }));
            res.on('error', reject);
          },
        );
        req.setTimeout(120_000, () => req.destroy(new Error('history not served within 120 s')));
        req.on('error', reject);
        req.end();
      },
    );
    expect(bytes).toBeGreaterThan(2 ** 29);
    expect(head).toMatch(/^\{"received":240,/);
    expect(tail).toMatch(/\],"count":240,"last_sequence":240,"more":false\}$/);
    // Still serving.
    expect((await deliver(r, eventBody('evt_after'))).status).toBe(200);
  }, 180_000);
});

describe('long event ids', () => {
  it('are remembered by hash yet still de-duplicated and counted per id', async () => {
    const r = await start({ failFirst: 1 });
    const longId = `evt_${'x'.repeat(20_000)}`;
    const otherLong = `evt_${'x'.repeat(19_999)}y`;
    const statuses = [];
    for (const id of [longId, longId, longId, otherLong]) statuses.push((await deliver(r, eventBody(id))).status);
    expect(statuses).toEqual([500, 200, 200, 500]);
    expect(r.deliveries().map((c) => [c.verdict.outcome, c.verdict.attempt])).toEqual([
      ['fault', 1],
      ['accepted', 2],
      ['duplicate', 3],
      ['fault', 1],
    ]);
  });
});

describe('a body too large to be one string', () => {
  it('is judged, answered, saved whole and kept in the history without its bytes', async () => {
    const dir = tempDir();
    const body = eventBody('evt_huge', 3_000);
    await withLimits({ maxStringChars: 1_000, pieceBytes: 300 }, async () => {
      const r = await start({ saveDir: dir });
      const res = await deliver(r, body);
      expect(res.status).toBe(400);
      expect(res.body.toString()).toBe('Invalid JSON');
      const [c] = r.deliveries();
      expect(c).toMatchObject({
        body_bytes: body.length,
        body_omitted: true,
        verdict: { signature: 'valid', outcome: 'rejected' },
      });
      expect(c!.verdict.reason).toMatch(/more than one string can hold/);
      expect(r.stats()).toMatchObject({ received: 1, rejected: 1, saved: 1, saveErrors: 0 });
      const [file] = readdirSync(dir);
      const text = readFileSync(join(dir, file!), 'utf8');
      const saved = JSON.parse(text) as Capture;
      expect(Buffer.from(saved.body_base64, 'base64').equals(body)).toBe(true);
      expect(saved.body_text).toBe(body.toString('utf8'));
      expect(text).toBe(`${JSON.stringify(saved, null, 2)}\n`);
    });
  });
});

describe('the receiver answers its own endpoints only to a local Host (DNS-rebinding guard)', () => {
  it.each<[string, number, string[]]>([
    ['127.0.0.1', 3000, ['127.0.0.1:3000', 'localhost:3000']],
    ['::1', 3000, ['[::1]:3000', 'localhost:3000']],
    ['0.0.0.0', 8080, ['0.0.0.0:8080', 'localhost:8080', '127.0.0.1:8080']],
    ['::', 8080, ['[::]:8080', 'localhost:8080', '127.0.0.1:8080', '[::1]:8080']],
    ['localhost', 4000, ['localhost:4000', '127.0.0.1:4000', '[::1]:4000']],
    ['192.168.1.5', 4000, ['192.168.1.5:4000', 'localhost:4000']],
  ])('bound to %s:%i → %j', (host, port, expected) => {
    expect(localHosts(host, port)).toEqual(expected);
  });

  it.each<[string | undefined, string, boolean]>([
    ['127.0.0.1:3000', '127.0.0.1', true],
    ['LOCALHOST:3000', '127.0.0.1', true],
    ['localhost:3001', '127.0.0.1', false],
    ['localhost', '127.0.0.1', false],
    ['evil.example:3000', '127.0.0.1', false],
    ['127.0.0.1.nip.io:3000', '127.0.0.1', false],
    ['localhost.evil.example:3000', '127.0.0.1', false],
    [undefined, '127.0.0.1', false],
    ['', '127.0.0.1', false],
    // The address a request arrived on is an IP, not a name anyone can point elsewhere.
    ['192.168.1.5:3000', '::ffff:192.168.1.5', true],
    ['192.168.1.6:3000', '192.168.1.5', false],
  ])('Host %j arriving on %s → %s', (header, local, allowed) => {
    expect(isLocalHost(header, localHosts('0.0.0.0', 3000), local, 3000)).toBe(allowed);
  });

  it('accepts a Host without a port when listening on port 80', () => {
    expect(isLocalHost('localhost', localHosts('127.0.0.1', 80), '127.0.0.1', 80)).toBe(true);
  });

  it('answers 421 to a foreign Host on /__facesign/*, warns once, and still takes webhooks from any Host', async () => {
    const warnings: string[] = [];
    const r = await start({ onWarning: (m) => warnings.push(m) });
    const body = eventBody('evt_host');
    const viaTunnel = await send(r.port, {
      method: 'POST',
      path: r.path,
      host: 'abc.tunnel.example',
      body,
      headers: { 'facesign-signature': hmac(body) },
    });
    expect(viaTunnel.status).toBe(200);
    const rebound = await send(r.port, { host: `attacker.example:${r.port}` });
    expect(rebound.status).toBe(421);
    expect(rebound.body.toString()).not.toContain('evt_host');
    expect(rebound.body.toString()).toContain(`localhost:${r.port}`);
    expect((await send(r.port, { host: `attacker.example:${r.port}`, path: '/__facesign/other' })).status).toBe(421);
    expect((await send(r.port, { host: `attacker.example:${r.port}`, path: '/__facesign' })).status).toBe(421);
    expect(warnings.filter((w) => /421/.test(w))).toHaveLength(1);
    expect(warnings[0]).toContain('attacker.example');
    for (const host of [`localhost:${r.port}`, `127.0.0.1:${r.port}`]) {
      const ok = await send(r.port, { host });
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body.toString()).deliveries[0].verdict.event_id).toBe('evt_host');
    }
    // Another path under the prefix is no delivery: 404, not recorded.
    expect(
      (await send(r.port, { host: `localhost:${r.port}`, path: '/__facesign/other', method: 'POST' })).status,
    ).toBe(404);
    expect(r.stats().received).toBe(1);
  });

  it('reserves the /__facesign/ prefix for --path', async () => {
    await expect(startReceiver({ secret: SECRET, port: 0, path: '/__facesign/hooks' })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/reserved/),
    });
  });
});

describe('capture directory', () => {
  it.each([
    [
      'a path under /proc',
      '/proc/facesign-x/y',
      /cannot create the capture directory "\/proc\/facesign-x\/y": .*ENOENT/,
    ],
    ['a directory nothing can be written to', '/proc/self', /cannot write captures to "\/proc\/self"/],
  ])('%s fails at once with a usage error naming it', (_name, dir, message) => {
    let thrown: unknown;
    try {
      prepareSaveDir(dir);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ exitCode: 2, message: expect.stringMatching(message) });
  });

  it('a path whose parent is a file fails naming the file', () => {
    const file = join(tempDir(), 'plain');
    writeFileSync(file, 'x');
    expect(() => prepareSaveDir(join(file, 'a', 'b'))).toThrow(
      /cannot create the capture directory .*: .*ENOTDIR|is a file/,
    );
  });

  it('creates missing parents', () => {
    const dir = join(tempDir(), 'a', 'b', 'c');
    prepareSaveDir(dir);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a save that fails later warns once per kind of failure; deliveries are still answered and kept', async () => {
    const warnings: string[] = [];
    const dir = join(tempDir(), 'captures');
    const r = await start({ saveDir: dir, onWarning: (m) => warnings.push(m) });
    expect((await deliver(r, eventBody('evt_s1'))).status).toBe(200);
    rmSync(dir, { recursive: true });
    for (let i = 2; i <= 4; i++) expect((await deliver(r, eventBody(`evt_s${i}`))).status).toBe(200);
    writeFileSync(dir, 'now a file');
    for (let i = 5; i <= 6; i++) expect((await deliver(r, eventBody(`evt_s${i}`))).status).toBe(200);
    expect(r.stats()).toMatchObject({ received: 6, accepted: 6, saved: 1, saveErrors: 5 });
    expect(r.deliveries().map((c) => c.verdict.event_id)).toEqual([
      'evt_s1',
      'evt_s2',
      'evt_s3',
      'evt_s4',
      'evt_s5',
      'evt_s6',
    ]);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/could not write capture #2 .*ENOENT.*still answered/);
    expect(warnings[1]).toMatch(/could not write capture #5 .*ENOTDIR/);
  });
});
