import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ndjson, runCli } from './helpers/cli.js';
import { killListeners, startListen } from './helpers/listen-process.js';
import { startServer, verifyingHandler, type TestServer } from './helpers/server.js';

const SECRET = 'whsec_replay_original';
const NEW_SECRET = 'whsec_replay_rotated';
const hmac = (body: Buffer, secret = SECRET) => createHmac('sha256', secret).update(body).digest('hex');

let dir: string;
const sent: { body: Buffer; headers: Record<string, string> }[] = [];
let server: TestServer | undefined;
const agent = new Agent({ connections: 4 });

/** Captures made the real way: a `listen --save` run of the CLI receiving three deliveries. */
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fs-replay-'));
  const l = await startListen(['--secret', SECRET, '--save', dir]);
  const bodies = [
    Buffer.from('{"id":"evt_r1","object":"event","type":"session.created","created":1,"data":{"id":"vs_r","metadata":{"user_id":"usr_r"}}}'),
    Buffer.from('{ "id" : "evt_r2", "object":"event", "type":"session.verified", "created":2, "data":{"id":"vs_r","note":"ünïcødé"} }\n'),
    Buffer.from('{"id":"evt_r3","object":"event","type":"session.failed","created":3,"data":{"id":"vs_r"}}'),
  ];
  for (const [i, body] of bodies.entries()) {
    // The third is signed with the wrong secret: replay must resend that signature as captured.
    const headers = { 'Content-Type': 'application/json', 'FaceSign-Signature': hmac(body, i === 2 ? 'not-the-secret' : SECRET), 'FaceSign-Event-Id': `evt_r${i + 1}`, 'User-Agent': 'original-sender/1.0' };
    const res = await request(l.url, { method: 'POST', body, headers, dispatcher: agent });
    await res.body.dump();
    sent.push({ body, headers });
  }
  l.child.kill('SIGTERM');
  expect((await l.exited).code).toBe(0);
  expect(readdirSync(dir)).toHaveLength(3);
});

afterEach(async () => {
  killListeners();
  await server?.close();
  server = undefined;
});
afterAll(async () => {
  await agent.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('replay', () => {
  it('resends every capture byte for byte with its original headers, in arrival order', async () => {
    server = await startServer();
    const r = await runCli(['replay', dir, '--to', server.hookUrl, '--json']);
    expect(r.code).toBe(0);
    expect(server.requests).toHaveLength(3);
    for (const [i, got] of server.requests.entries()) {
      expect(got.body.equals(sent[i]!.body)).toBe(true);
      expect(got.headers['facesign-signature']).toBe(sent[i]!.headers['FaceSign-Signature']);
      expect(got.headers['facesign-event-id']).toBe(`evt_r${i + 1}`);
      expect(got.headers['content-type']).toBe('application/json');
      expect(got.headers['user-agent']).toBe('original-sender/1.0');
      expect(got.method).toBe('POST');
    }
    const records = ndjson(r.stdout);
    expect(records.map((x) => x.type)).toEqual(['replay', 'replay', 'replay', 'summary']);
    expect(records[0]).toMatchObject({ event_id: 'evt_r1', status: 200, met: true, resigned: false, sequence: 1, original_status: 200 });
    expect(records[2]).toMatchObject({ event_id: 'evt_r3', original_status: 400 });
    expect(records[3]).toMatchObject({ replayed: 3, met: 3, missed: 0 });
  });

  it('reproduces the original verdicts against a verifying endpoint: exit 1 for the bad signature', async () => {
    server = await startServer(verifyingHandler(SECRET));
    const r = await runCli(['replay', dir, '--to', server.hookUrl]);
    expect(r.code).toBe(1);
    expect(server.requests).toHaveLength(3);
    expect(r.stdout).toMatch(/evt_r3 \[captured signature mismatch\] → 400/);
    expect(r.stdout).toMatch(/3 of 3 replayed, expected 2xx: 1 did not/);
  });

  it('--resign signs each body again with the given secret', async () => {
    server = await startServer(verifyingHandler(NEW_SECRET));
    const r = await runCli(['replay', dir, '--to', server.hookUrl, '--resign', '--secret', NEW_SECRET, '--json']);
    expect(r.code).toBe(0);
    for (const [i, got] of server.requests.entries()) {
      expect(got.body.equals(sent[i]!.body)).toBe(true);
      expect(got.headers['facesign-signature']).toBe(hmac(sent[i]!.body, NEW_SECRET));
    }
    expect(ndjson(r.stdout).at(-1)).toMatchObject({ type: 'summary', resigned: true, met: 3 });
    expect(r.stdout + r.stderr).not.toContain(NEW_SECRET);
  });

  it('--resign takes the secret from FACESIGN_WEBHOOK_SECRET', async () => {
    server = await startServer(verifyingHandler(NEW_SECRET));
    const r = await runCli(['replay', dir, '--to', server.hookUrl, '--resign'], { env: { FACESIGN_WEBHOOK_SECRET: NEW_SECRET } });
    expect(r.code).toBe(0);
    expect(server.requests).toHaveLength(3);
  });

  it('replays a single capture file into a running `listen`, which sees a duplicate', async () => {
    const first = join(dir, readdirSync(dir).sort()[0]!);
    const l = await startListen(['--secret', SECRET]);
    expect((await runCli(['replay', first, '--to', l.url])).code).toBe(0);
    expect((await runCli(['replay', first, '--to', l.url])).code).toBe(0);
    const got = l.records().filter((x) => x.type === 'delivery');
    expect(got.map((x) => [x.event_id, x.outcome])).toEqual([
      ['evt_r1', 'accepted'],
      ['evt_r1', 'duplicate'],
    ]);
  });

  describe.concurrent('bad input', () => {
    it('a missing path is a usage error', async () => {
      const r = await runCli(['replay', join(dir, 'nope'), '--to', ':1']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/cannot read captures from .*nope/);
    });

    it('a JSON file that is not a capture is a usage error naming it', async () => {
      const other = mkdtempSync(join(tmpdir(), 'fs-replay-bad-'));
      try {
        writeFileSync(join(other, 'x.json'), '{"hello": 1}');
        const r = await runCli(['replay', other, '--to', ':1']);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/x\.json" is not a capture: missing/);
        expect(r.stderr).not.toMatch(/\n\s+at /);
      } finally {
        rmSync(other, { recursive: true, force: true });
      }
    });

    it('an empty directory is a usage error', async () => {
      const empty = mkdtempSync(join(tmpdir(), 'fs-replay-empty-'));
      mkdirSync(join(empty, 'sub'));
      try {
        const r = await runCli(['replay', empty, '--to', ':1']);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(/no capture files/);
      } finally {
        rmSync(empty, { recursive: true, force: true });
      }
    });

    it('--resign without any secret is a usage error (no prompt without a terminal)', async () => {
      const r = await runCli(['replay', dir, '--to', ':1', '--resign']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/no webhook secret/);
    });

    it('an unreachable target exits 1 with a one-line network error', async () => {
      const r = await runCli(['replay', join(dir, readdirSync(dir).sort()[0]!), '--to', 'http://127.0.0.1:9/webhooks/facesign', '--timeout', '3000']);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/✘ .*evt_r1/);
    });
  });

  it('leaves the capture files unchanged', () => {
    for (const f of readdirSync(dir)) expect(() => JSON.parse(readFileSync(join(dir, f), 'utf8'))).not.toThrow();
  });
});
