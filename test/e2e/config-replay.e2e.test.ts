import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ndjson, runCli } from '../helpers/cli.js';
import { killListeners, startListen } from '../helpers/listen-process.js';
import { startServer, type TestServer } from '../helpers/server.js';

/*
 * replay with a project config: captures made the real way (a `listen --save` run receiving three
 * deliveries), then replayed from a project folder whose config routes session.verified and
 * session.failed to two local servers and everything else to a third (`to`).
 */

const SECRET = 'whsec_config_replay_T4nP';
const hmac = (body: Buffer) => createHmac('sha256', SECRET).update(body).digest('hex');
const BODIES: Record<string, Buffer> = {
  'session.created': Buffer.from('{"id":"evt_c1","object":"event","type":"session.created","created":1,"data":{}}'),
  // Odd spacing and a trailing newline: replay must resend these bytes, not a re-serialization.
  'session.verified': Buffer.from(
    '{ "id" : "evt_c2", "object":"event", "type":"session.verified", "created":2, "data":{"n":"ü"} }\n',
  ),
  'session.failed': Buffer.from('{"id":"evt_c3","object":"event","type":"session.failed","created":3,"data":{}}'),
};

let root = '';
let captures = '';
let project = '';
let verified: TestServer;
let failed: TestServer;
let fallback: TestServer;
let override: TestServer;
const servers: TestServer[] = [];

const typesAt = (s: TestServer) => s.requests.map((r) => (JSON.parse(r.body.toString()) as { type: string }).type);
const reset = () => servers.forEach((s) => (s.requests.length = 0));

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'fsw-config-replay-'));
  captures = join(root, 'captures');
  const l = await startListen(['--secret', SECRET, '--save', captures]);
  for (const [type, body] of Object.entries(BODIES)) {
    const res = await fetch(l.url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'facesign-signature': hmac(body), 'facesign-event-id': type },
      signal: AbortSignal.timeout(10_000),
    });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  }
  await l.deliveries(3);
  l.child.kill('SIGTERM');
  expect((await l.exited).code).toBe(0);
  killListeners();
  expect(readdirSync(captures)).toHaveLength(3);

  verified = await startServer();
  failed = await startServer();
  fallback = await startServer();
  override = await startServer();
  servers.push(verified, failed, fallback, override);
  project = join(root, 'app');
  mkdirSync(join(project, '.git'), { recursive: true });
  writeFileSync(
    join(project, 'facesign-webhooks.config.json'),
    JSON.stringify({
      to: `127.0.0.1:${fallback.port}/fallback`,
      routes: {
        'session.verified': `127.0.0.1:${verified.port}/hooks/verified`,
        'session.failed': `127.0.0.1:${failed.port}/hooks/failed`,
      },
    }),
  );
});

afterAll(async () => {
  killListeners();
  await Promise.all(servers.map((s) => s.close()));
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('replay with a project config', () => {
  it("sends each capture to its type's route (else the config's to), byte for byte, naming each URL", async () => {
    reset();
    const r = await runCli(['replay', captures], { cwd: project });
    expect(r.code, r.stderr).toBe(0);
    expect(typesAt(verified)).toEqual(['session.verified']);
    expect(typesAt(failed)).toEqual(['session.failed']);
    expect(typesAt(fallback)).toEqual(['session.created']);
    expect(override.requests).toHaveLength(0);
    for (const [server, type, path] of [
      [verified, 'session.verified', '/hooks/verified'],
      [failed, 'session.failed', '/hooks/failed'],
      [fallback, 'session.created', '/fallback'],
    ] as const) {
      const got = server.requests[0]!;
      expect(got.body.equals(BODIES[type]!), type).toBe(true);
      expect(got.headers['facesign-signature']).toBe(hmac(BODIES[type]!));
      expect(got.url).toBe(path);
      expect(r.stdout).toContain(`http://127.0.0.1:${server.port}${path}`);
    }
  });

  it('--json records carry each capture’s URL', async () => {
    reset();
    const r = await runCli(['replay', captures, '--json'], { cwd: project });
    expect(r.code, r.stderr).toBe(0);
    const byId = Object.fromEntries(
      ndjson(r.stdout)
        .filter((x) => x.type === 'replay')
        .map((x) => [x.event_id, x.url]),
    );
    expect(byId).toEqual({
      evt_c1: `http://127.0.0.1:${fallback.port}/fallback`,
      evt_c2: `http://127.0.0.1:${verified.port}/hooks/verified`,
      evt_c3: `http://127.0.0.1:${failed.port}/hooks/failed`,
    });
  });

  it('--to (and $FACESIGN_WEBHOOKS_URL) override the routes: every capture goes to that one place', async () => {
    for (const how of ['flag', 'env'] as const) {
      reset();
      const target = `127.0.0.1:${override.port}/one`;
      const r =
        how === 'flag'
          ? await runCli(['replay', captures, '--to', target], { cwd: project })
          : await runCli(['replay', captures], { cwd: project, env: { FACESIGN_WEBHOOKS_URL: target } });
      expect(r.code, r.stderr).toBe(0);
      expect(typesAt(override), how).toEqual(['session.created', 'session.verified', 'session.failed']);
      expect(override.requests.every((q) => q.url === '/one')).toBe(true);
      for (const q of override.requests) {
        const type = (JSON.parse(q.body.toString()) as { type: string }).type;
        expect(q.body.equals(BODIES[type]!)).toBe(true);
      }
      expect(verified.requests.length + failed.requests.length + fallback.requests.length, how).toBe(0);
    }
  });
});
