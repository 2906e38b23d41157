import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ndjson, runCli } from '../helpers/cli.js';
import { killListeners, startListen } from '../helpers/listen-process.js';
import { startServer, verifyingHandler, type TestServer } from '../helpers/server.js';

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
    Buffer.from(
      '{"id":"evt_r1","object":"event","type":"session.created","created":1,"data":{"id":"vs_r","metadata":{"user_id":"usr_r"}}}',
    ),
    Buffer.from(
      '{ "id" : "evt_r2", "object":"event", "type":"session.verified", "created":2, "data":{"id":"vs_r","note":"ünïcødé"} }\n',
    ),
    Buffer.from('{"id":"evt_r3","object":"event","type":"session.failed","created":3,"data":{"id":"vs_r"}}'),
  ];
  for (const [i, body] of bodies.entries()) {
    // The third is signed with the wrong secret: replay must resend that signature as captured.
    const headers = {
      'Content-Type': 'application/json',
      'FaceSign-Signature': hmac(body, i === 2 ? 'not-the-secret' : SECRET),
      'FaceSign-Event-Id': `evt_r${i + 1}`,
      'User-Agent': 'original-sender/1.0',
    };
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
    expect(records[0]).toMatchObject({
      event_id: 'evt_r1',
      status: 200,
      met: true,
      resigned: false,
      sequence: 1,
      original_status: 200,
    });
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

  it('--resign signs again only what listen found validly signed; the bad capture keeps its signature, with a note', async () => {
    server = await startServer(verifyingHandler(NEW_SECRET));
    const r = await runCli(['replay', dir, '--to', server.hookUrl, '--resign', '--secret', NEW_SECRET, '--json']);
    expect(r.code).toBe(1);
    expect(server.requests).toHaveLength(3);
    for (const [i, got] of server.requests.entries()) {
      expect(got.body.equals(sent[i]!.body)).toBe(true);
      // The third was signed with a wrong secret on purpose: it is never turned into a valid one.
      expect(got.headers['facesign-signature']).toBe(
        i === 2 ? sent[2]!.headers['FaceSign-Signature'] : hmac(sent[i]!.body, NEW_SECRET),
      );
    }
    const records = ndjson(r.stdout);
    expect(records.map((x) => x.resigned)).toEqual([true, true, false, true]);
    expect(records.at(-1)).toMatchObject({ type: 'summary', resigned: true, resigned_count: 2, met: 2, missed: 1 });
    expect(r.stderr).toMatch(
      /note: 1 capture keeps its captured signature, since listen did not find it valid \(000003-\S+evt_r3\.json: mismatch\); add --resign-all to sign it too/,
    );
    expect(r.stdout + r.stderr).not.toContain(NEW_SECRET);
  });

  it('--resign-all signs every capture again, the deliberately bad one too', async () => {
    server = await startServer(verifyingHandler(NEW_SECRET));
    const r = await runCli(['replay', dir, '--to', server.hookUrl, '--resign-all', '--secret', NEW_SECRET, '--json']);
    expect(r.code, r.stderr).toBe(0);
    for (const [i, got] of server.requests.entries())
      expect(got.headers['facesign-signature']).toBe(hmac(sent[i]!.body, NEW_SECRET));
    expect(ndjson(r.stdout).at(-1)).toMatchObject({ type: 'summary', resigned: true, resigned_count: 3, met: 3 });
    expect(r.stderr).not.toMatch(/note:/);
  });

  it('--resign takes the secret from FACESIGN_WEBHOOK_SECRET', async () => {
    server = await startServer(verifyingHandler(NEW_SECRET));
    const r = await runCli(['replay', dir, '--to', server.hookUrl, '--resign', '--only', 'accepted'], {
      env: { FACESIGN_WEBHOOK_SECRET: NEW_SECRET },
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(server.requests).toHaveLength(2);
    expect(r.stdout).toMatch(/2 of 2 replayed \(picked from 3\) \(signed again\), expected 2xx: all did/);
  });

  it('a target with another secret: one hint at the end says --resign would fix it', async () => {
    server = await startServer(verifyingHandler(NEW_SECRET));
    const r = await runCli(['replay', dir, '--to', server.hookUrl]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/evt_r1 → 400 "Invalid signature", expected 2xx/);
    const hints = r.stderr.split('\n').filter((l) => l.startsWith('hint:'));
    expect(hints).toEqual([
      "hint: the target rejects the captured signatures (400 to 2 of 2 that listen accepted): its secret differs from the one these were signed with — add --resign --secret <the target's secret> (or set FACESIGN_WEBHOOK_SECRET) to sign them again",
    ]);
  });

  it('no --resign hint when the target accepts what listen accepted', async () => {
    server = await startServer(verifyingHandler(SECRET));
    const r = await runCli(['replay', dir, '--to', server.hookUrl]);
    expect(r.code).toBe(1); // evt_r3's bad signature is rejected, as it was by listen
    expect(r.stderr).not.toMatch(/hint:/);
  });

  describe.concurrent('picking captures', () => {
    it.each([
      [
        ['--only', 'accepted'],
        ['evt_r1', 'evt_r2'],
      ],
      [['--only', 'rejected'], ['evt_r3']],
      [
        ['--only', 'rejected,accepted'],
        ['evt_r1', 'evt_r2', 'evt_r3'],
      ],
      [['--type', 'failed'], ['evt_r3']],
      [
        ['--type', 'session.created', '--type', 'verified'],
        ['evt_r1', 'evt_r2'],
      ],
      [
        ['--event-id', 'evt_r2,evt_r3'],
        ['evt_r2', 'evt_r3'],
      ],
      [['--only', 'accepted', '--type', 'verified,failed'], ['evt_r2']],
    ])('%j replays %j', async (args, ids) => {
      const target = await startServer();
      try {
        const r = await runCli(['replay', dir, '--to', target.hookUrl, ...args, '--json']);
        expect(r.code, r.stderr).toBe(0);
        expect(target.requests.map((q) => q.headers['facesign-event-id'])).toEqual(ids);
        expect(ndjson(r.stdout).at(-1)).toMatchObject({
          type: 'summary',
          replayed: ids.length,
          selected: ids.length,
          captures: 3,
        });
      } finally {
        await target.close();
      }
    });

    it('an empty selection is exit 2 saying what was filtered and what there is', async () => {
      const r = await runCli(['replay', dir, '--to', ':1', '--only', 'rejected', '--type', 'created']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`error: no capture in "${dir}" matches --only rejected --type session.created`);
      expect(r.stderr).toMatch(
        /hint: the 3 there: 2 accepted, 1 rejected; session\.created ×1, session\.verified ×1, session\.failed ×1/,
      );
    });

    it('an unknown type suggests the nearest; an unknown verdict lists the four', async () => {
      const t = await runCli(['replay', dir, '--to', ':1', '--type', 'verifed']);
      expect(t.code).toBe(2);
      expect(t.stderr).toMatch(
        /error: unknown event type "verifed" in --type\n {2}hint: did you mean session\.verified\?/,
      );
      const o = await runCli(['replay', dir, '--to', ':1', '--only', 'acepted']);
      expect(o.code).toBe(2);
      expect(o.stderr).toMatch(/bad --only "acepted".*\n {2}hint: use accepted, duplicate, rejected, fault/);
    });
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
      const r = await runCli([
        'replay',
        join(dir, readdirSync(dir).sort()[0]!),
        '--to',
        'http://127.0.0.1:9/webhooks/facesign',
        '--timeout',
        '3000',
      ]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/✘ .*evt_r1/);
    });
  });

  it('leaves the capture files unchanged', () => {
    for (const f of readdirSync(dir)) expect(() => JSON.parse(readFileSync(join(dir, f), 'utf8'))).not.toThrow();
  });
});
