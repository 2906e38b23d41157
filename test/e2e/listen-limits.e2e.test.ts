import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { killListeners, startListen } from '../helpers/listen-process.js';

const SECRET = 'whsec_listen_limits';
const dirs: string[] = [];
const sockets: Socket[] = [];

afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  killListeners();
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'fs-listen-limits-'));
  dirs.push(d);
  return d;
}

/** Signed here with node:crypto directly, not with the project's signer. */
const hmac = (body: Buffer) => createHmac('sha256', SECRET).update(body).digest('hex');
const eventBody = (id: string, pad = '') =>
  Buffer.from(
    `{"id":"${id}","object":"event","type":"session.verified","created":1,"data":{"id":"vs_1","metadata":{"user_id":"usr_1"}},"pad":${JSON.stringify(pad)}}`,
  );

interface Reply {
  status: number;
  body: Buffer;
}

/** One request over node:http (a test can set any Host), on a fresh connection, bounded by 60 s. */
function send(
  url: string,
  options: { method?: string; host?: string; body?: Buffer; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.host !== undefined) headers.host = options.host;
    const req = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: options.method ?? 'GET',
        headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error('no answer within 60 s')));
    req.on('error', reject);
    req.end(options.body);
  });
}

const deliver = (url: string, body: Buffer) =>
  send(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', 'facesign-signature': hmac(body) },
  });

describe('listen: bounded history', () => {
  it('stays up after 240 deliveries of 1 MiB and serves the history within --history-bytes (default 64 MiB)', async () => {
    const l = await startListen(['--secret', SECRET]);
    const body = Buffer.alloc(1024 * 1024, 'a');
    for (let i = 0; i < 240; i++) expect((await send(l.url, { method: 'POST', body })).status).toBe(400);
    const res = await send(`${l.base}/__facesign/deliveries`);
    expect(res.status).toBe(200);
    const h = JSON.parse(res.body.toString('utf8')) as {
      received: number;
      count: number;
      history_max_bytes: number;
      deliveries: { sequence: number; body_bytes: number }[];
    };
    expect(h).toMatchObject({ received: 240, history_max_bytes: 64 * 1024 * 1024 });
    expect(h.count).toBe(h.deliveries.length);
    expect(h.count).toBeGreaterThan(0);
    expect(h.deliveries.reduce((sum, d) => sum + d.body_bytes, 0)).toBeLessThanOrEqual(64 * 1024 * 1024);
    expect(h.deliveries.at(-1)!.sequence).toBe(240);
    expect((await deliver(l.url, eventBody('evt_after'))).status).toBe(200);
    expect(l.stderr()).not.toMatch(/RangeError|error/i);
  }, 120_000);

  it('--history-bytes takes a size; a bad one is a usage error', async () => {
    const l = await startListen(['--secret', SECRET, '--history-bytes', '3kb']);
    for (let i = 1; i <= 5; i++) await deliver(l.url, eventBody(`evt_hb${i}`, 'x'.repeat(1000)));
    const h = JSON.parse((await send(`${l.base}/__facesign/deliveries`)).body.toString()) as {
      count: number;
      deliveries: { verdict: { event_id: string } }[];
    };
    expect(h.count).toBeLessThan(5);
    expect(h.deliveries.at(-1)!.verdict.event_id).toBe('evt_hb5');
    const bad = await runCli(['listen', '--port', '0', '--secret', SECRET, '--history-bytes', 'lots']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--history-bytes "lots" is not a size/);
  });
});

describe('listen: DNS-rebinding guard', () => {
  it('answers 421 to /__facesign/* under a foreign Host (one warning), 200 under localhost, and takes webhooks from any Host', async () => {
    const l = await startListen(['--secret', SECRET]);
    const port = new URL(l.url).port;
    const body = eventBody('evt_rebind');
    expect(
      (
        await send(l.url, {
          method: 'POST',
          host: 'abc.tunnel.example',
          body,
          headers: { 'facesign-signature': hmac(body) },
        })
      ).status,
    ).toBe(200);
    const refused = await send(`${l.base}/__facesign/deliveries`, { host: `rebind.attacker.example:${port}` });
    expect(refused.status).toBe(421);
    expect(refused.body.toString()).not.toContain('evt_rebind');
    await send(`${l.base}/__facesign/deliveries`, { host: `rebind.attacker.example:${port}` });
    const ok = await send(`${l.base}/__facesign/deliveries`, { host: `localhost:${port}` });
    expect(ok.status).toBe(200);
    expect(ok.body.toString()).toContain('evt_rebind');
    const warnings = l
      .stderr()
      .split('\n')
      .filter((line) => line.includes('421'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^warning: .*rebind\.attacker\.example.*DNS-rebinding/);
  });
});

describe('listen: a second signal', () => {
  it('exits 130 at once, with the line of every delivery already answered on stdout', async () => {
    const l = await startListen(['--secret', SECRET]);
    const port = Number(new URL(l.url).port);
    // A request that never finishes keeps the first signal's graceful close waiting, so the second one is what ends the run.
    const stuck = connect(port, '127.0.0.1', () =>
      stuck.write(`POST /webhooks/facesign HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 100\r\n\r\n{"id":`),
    );
    sockets.push(stuck);
    stuck.on('error', () => undefined);
    const answered: string[] = [];
    let signalled = false;
    let n = 0;
    const worker = async () => {
      // Bounded: at most 400 deliveries per worker; stops at the first refused or cut connection.
      for (let i = 0; i < 400; i++) {
        const id = `evt_sig_${n++}`;
        try {
          const res = await deliver(l.url, eventBody(id));
          answered.push(`${id}:${res.status}`);
        } catch {
          return;
        }
        if (!signalled && answered.length >= 150) {
          signalled = true;
          l.child.kill('SIGTERM');
          l.child.kill('SIGINT');
        }
      }
    };
    await Promise.all(Array.from({ length: 12 }, worker));
    const { code } = await l.exited;
    expect(signalled).toBe(true);
    expect(code).toBe(130);
    const logged = new Set(
      l
        .records()
        .filter((r) => r.type === 'delivery')
        .map((r) => `${r.event_id}:${r.status}`),
    );
    const missing = answered.filter((a) => !logged.has(a));
    expect(missing).toEqual([]);
    expect(l.stdout().endsWith('\n')).toBe(true);
  }, 60_000);
});

describe('listen --save', () => {
  it('writes a capture of a several-MiB body in pieces, byte for byte, and keeps it in the history', async () => {
    const dir = tempDir();
    const l = await startListen(['--secret', SECRET, '--save', dir, '--max-body', '16mb']);
    // 10 MiB of text with multi-byte characters (split across the write's pieces) and escapes.
    const pad = 'é✓"\\\u0001'.repeat(1024 * 1024).slice(0, 3 * 1024 * 1024);
    const body = eventBody('evt_large', pad);
    expect(body.length).toBeGreaterThan(8 * 1024 * 1024);
    expect((await deliver(l.url, body)).status).toBe(200);
    const [record] = await l.deliveries(1);
    expect(record).toMatchObject({ event_id: 'evt_large', body_bytes: body.length, outcome: 'accepted' });
    const text = readFileSync(record!.file as string, 'utf8');
    const saved = JSON.parse(text) as { body_base64: string; body_text: string; body_bytes: number };
    expect(Buffer.from(saved.body_base64, 'base64').equals(body)).toBe(true);
    expect(saved.body_text).toBe(body.toString('utf8'));
    expect(text).toBe(`${JSON.stringify(saved, null, 2)}\n`);
    const h = JSON.parse((await send(`${l.base}/__facesign/deliveries`)).body.toString()) as {
      deliveries: { body_base64: string }[];
    };
    expect(Buffer.from(h.deliveries[0]!.body_base64, 'base64').equals(body)).toBe(true);
  }, 60_000);

  it.each([
    [
      'under /proc',
      '/proc/facesign-listen/captures',
      /^error: cannot create the capture directory "\/proc\/facesign-listen\/captures": /,
    ],
    ['not writable', '/proc/self', /^error: cannot write captures to "\/proc\/self": /],
  ])(
    'on a path that cannot be created or written (%s) fails at start: exit 2, one line naming it',
    async (_what, dir, message) => {
      const r = await runCli(['listen', '--port', '0', '--secret', SECRET, '--save', dir], { timeoutMs: 15_000 });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.split('\n').filter((line) => line.startsWith('error:'))).toHaveLength(1);
      expect(r.stdout).toBe('');
    },
  );

  it('a directory removed while listening: one warning, every delivery answered and counted', async () => {
    const dir = join(tempDir(), 'captures');
    const l = await startListen(['--secret', SECRET, '--save', dir]);
    expect((await deliver(l.url, eventBody('evt_rm1'))).status).toBe(200);
    rmSync(dir, { recursive: true });
    for (let i = 2; i <= 5; i++) expect((await deliver(l.url, eventBody(`evt_rm${i}`))).status).toBe(200);
    await l.deliveries(5);
    l.child.kill('SIGTERM');
    expect((await l.exited).code).toBe(0);
    expect(l.records().at(-1)).toMatchObject({ type: 'summary', received: 5, accepted: 5, saved: 1, save_errors: 4 });
    const warnings = l
      .stderr()
      .split('\n')
      .filter((line) => line.startsWith('warning:'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/could not write capture #2 to .*ENOENT/);
    expect(existsSync(dir)).toBe(false);
    expect(readdirSync(join(dir, '..'))).toEqual([]);
  });
});
