import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, ndjson, runCli } from '../helpers/cli.js';
import { closedPort, independentSignatureOk, startServer, type Handler, type TestServer } from '../helpers/server.js';

const SECRET = 'whsec_retry_sim_e2e_secret';
// Written out from the provider docs, not taken from the code under test.
const DOC_LABELS = ['+0s', '+5s', '+35s', '+2m35s', '+12m35s', '+1h12m35s'];
const FAST = ['--schedule', '10ms,10ms,10ms,10ms,10ms'];

let servers: TestServer[] = [];
let children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children = [];
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function serve(handler: Handler): Promise<TestServer> {
  const server = await startServer(handler);
  servers.push(server);
  return server;
}

const answer =
  (...statuses: number[]): Handler =>
  (_req, _body, res, index) => {
    const status = statuses[Math.min(index, statuses.length - 1)]!;
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(status === 200 ? 'OK' : `status ${status}`);
  };

/** Every request the server got carried the same bytes, a valid signature of them and the same event id. */
function expectIdenticalDeliveries(server: TestServer, eventId: string): void {
  const [first, ...rest] = server.requests;
  expect(first).toBeDefined();
  expect(JSON.parse(first!.body.toString('utf8')).id).toBe(eventId);
  expect(first!.headers['facesign-event-id']).toBe(eventId);
  expect(independentSignatureOk(first!.body, first!.headers['facesign-signature'], SECRET)).toBe(true);
  for (const r of rest) {
    expect(r.method).toBe('POST');
    expect(r.body.equals(first!.body)).toBe(true);
    expect(r.headers['facesign-signature']).toBe(first!.headers['facesign-signature']);
    expect(r.headers['facesign-event-id']).toBe(eventId);
  }
}

function attemptsOf(stdout: string) {
  const records = ndjson(stdout);
  return {
    attempts: records.filter((r) => r.type === 'attempt'),
    summary: records.find((r) => r.type === 'summary'),
    records,
  };
}

describe('retry-sim against a real endpoint', () => {
  it('retries a 500 and stops at the 200, resending the identical request', async () => {
    const server = await serve(answer(500, 200));
    const { code, stdout, stderr } = await runCli([
      'retry-sim',
      'session.failed',
      '--to',
      server.hookUrl,
      '--secret',
      SECRET,
      '--speed',
      '1000',
      '--json',
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const { attempts, summary, records } = attemptsOf(stdout);
    expect(records.map((r) => r.type)).toEqual(['attempt', 'attempt', 'summary']);
    expect(attempts.map((a) => [a.attempt, a.status, a.ok, a.planned_offset])).toEqual([
      [1, 500, false, '+0s'],
      [2, 200, true, '+5s'],
    ]);
    expect(attempts[1]!.wait_ms).toBe(5);
    expect(summary).toMatchObject({
      outcome: 'delivered',
      delivered_on: 2,
      attempts: 2,
      max_attempts: 6,
      event_type: 'session.failed',
      receiver: 'target',
      expected: 'delivered',
      met: true,
    });
    expect(server.requests).toHaveLength(2);
    expectIdenticalDeliveries(server, summary!.event_id);
    expect(attempts.every((a) => a.event_id === summary!.event_id)).toBe(true);
  });

  it('plays the documented schedule compressed and marks an always-500 delivery failed (exit 1)', async () => {
    const server = await serve(answer(500));
    const { code, stdout } = await runCli([
      'retry-sim',
      '--to',
      server.hookUrl,
      '--secret',
      SECRET,
      '--speed',
      '3600',
      '--json',
    ]);
    expect(code).toBe(1);
    const { attempts, summary } = attemptsOf(stdout);
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(attempts.map((a) => a.planned_offset)).toEqual(DOC_LABELS);
    expect(attempts.map((a) => a.status)).toEqual([500, 500, 500, 500, 500, 500]);
    expect(summary).toMatchObject({
      outcome: 'failed',
      delivered_on: null,
      attempts: 6,
      schedule: '5s,30s,2m,10m,1h',
      facesign_elapsed_ms: 4_355_000,
      met: false,
    });
    // Each retry waited at least its compressed delay after the previous attempt (5 s / 3600 … 1 h / 3600).
    for (const [i, a] of attempts.entries()) {
      if (i === 0) continue;
      expect(a.actual_wall_ms - attempts[i - 1]!.actual_wall_ms).toBeGreaterThanOrEqual(a.wait_ms);
    }
    expect(server.requests).toHaveLength(6);
    const gapMs = server.requests[5]!.receivedAt - server.requests[4]!.receivedAt;
    expect(gapMs).toBeGreaterThanOrEqual(1_000 - 2);
    expectIdenticalDeliveries(server, summary!.event_id);
  });

  it('counts a 302 as a failure, never follows it, and reports it in the human table', async () => {
    const server = await serve((_req, _body, res) => {
      res.writeHead(302, { location: '/login' });
      res.end();
    });
    const { code, stdout, stderr } = await runCli([
      'retry-sim',
      'verified',
      '--to',
      server.hookUrl,
      '--secret',
      SECRET,
      ...FAST,
    ]);
    expect(code).toBe(1);
    expect(server.requests).toHaveLength(6);
    expect(server.requests.every((r) => r.url === '/webhooks/facesign')).toBe(true);
    const rows = stdout.split('\n').filter((l) => /^✘ \d /.test(l));
    expect(rows).toHaveLength(6);
    expect(rows.map((r) => r.split(/\s+/)[1])).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(rows.every((r) => r.includes('302 redirect to /login (not followed)'))).toBe(true);
    expect(stdout).toMatch(/marked failed after 6 attempts at FaceSign \+50ms/);
    // Not a terminal: no countdown escape codes on stderr.
    expect(stderr).not.toContain('\x1b[');
    expectIdenticalDeliveries(server, String(server.requests[0]!.headers['facesign-event-id']));
  });

  it('gives up on a hung endpoint after --timeout of real time, not compressed time', async () => {
    const server = await serve(() => undefined);
    const t0 = Date.now();
    const { code, stdout } = await runCli([
      'retry-sim',
      '--to',
      server.hookUrl,
      '--secret',
      SECRET,
      '--timeout',
      '300',
      '--speed',
      '1000',
      '--schedule',
      '10ms,10ms',
      '--json',
    ]);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(code).toBe(1);
    const { attempts, summary } = attemptsOf(stdout);
    expect(attempts.map((a) => a.error?.kind)).toEqual(['timeout', 'timeout', 'timeout']);
    expect(attempts.every((a) => a.status === null && a.latency_ms >= 290)).toBe(true);
    expect(summary).toMatchObject({ outcome: 'failed', attempts: 3, max_attempts: 3 });
    expect(server.requests).toHaveLength(3);
    expectIdenticalDeliveries(server, summary!.event_id);
  });

  it('treats a refused connection as a failed attempt and keeps retrying', async () => {
    const port = await closedPort();
    const { code, stdout } = await runCli([
      'retry-sim',
      '--to',
      `127.0.0.1:${port}`,
      '--secret',
      SECRET,
      ...FAST,
      '--json',
    ]);
    expect(code).toBe(1);
    const { attempts, summary } = attemptsOf(stdout);
    expect(attempts.map((a) => a.error?.kind)).toEqual([
      'refused',
      'refused',
      'refused',
      'refused',
      'refused',
      'refused',
    ]);
    expect(summary).toMatchObject({ outcome: 'failed', attempts: 6 });
  });

  it('exits 0 for a failed delivery under --expect failed, and 1 for a delivered one', async () => {
    const failing = await serve(answer(503));
    const failed = await runCli([
      'retry-sim',
      '--to',
      failing.hookUrl,
      '--secret',
      SECRET,
      ...FAST,
      '--expect',
      'failed',
      '--json',
    ]);
    expect(failed.code).toBe(0);
    expect(attemptsOf(failed.stdout).summary).toMatchObject({ outcome: 'failed', expected: 'failed', met: true });

    const ok = await serve(answer(200));
    const delivered = await runCli([
      'retry-sim',
      '--to',
      ok.hookUrl,
      '--secret',
      SECRET,
      ...FAST,
      '--expect',
      'failed',
    ]);
    expect(delivered.code).toBe(1);
    expect(delivered.stdout).toMatch(/delivered on attempt 1 of 6/);
    expect(ok.requests).toHaveLength(1);
  });
});

describe('retry-sim with the built-in receiver', () => {
  it('watches the receiver fail the first attempts, then deliver', async () => {
    const { code, stdout, stderr } = await runCli([
      'retry-sim',
      '--speed',
      '3600',
      '--fail-first',
      '2',
      '--secret',
      SECRET,
      '--json',
    ]);
    expect(code).toBe(0);
    const { attempts, summary } = attemptsOf(stdout);
    expect(attempts.map((a) => a.status)).toEqual([500, 500, 200]);
    expect(attempts.map((a) => a.planned_offset)).toEqual(DOC_LABELS.slice(0, 3));
    expect(summary).toMatchObject({ outcome: 'delivered', delivered_on: 3, receiver: 'built-in' });
    expect(summary!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/webhooks\/facesign$/);
    expect(stderr).toMatch(/built-in receiver .* fails the first 2 attempts/);
    expect(stderr).not.toContain(SECRET);
  });

  it('fails the first 3 by default and works without a secret', async () => {
    const { code, stdout } = await runCli(['retry-sim', 'session.expired', ...FAST]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/retry-sim session\.expired evt_/);
    expect(
      stdout
        .split('\n')
        .filter((l) => /^[✘✔] \d /.test(l))
        .map((l) => l[0]),
    ).toEqual(['✘', '✘', '✘', '✔']);
    expect(stdout).toMatch(/delivered on attempt 4 of 6 after 30ms on FaceSign's clock/);
  });

  it('is marked failed when the receiver fails every attempt', async () => {
    const { code, stdout } = await runCli(['retry-sim', '--fail-first', '6', '--speed', '3600', '--json']);
    expect(code).toBe(1);
    const { attempts, summary } = attemptsOf(stdout);
    expect(attempts.map((a) => a.status)).toEqual([500, 500, 500, 500, 500, 500]);
    expect(summary).toMatchObject({ outcome: 'failed', attempts: 6 });
  });
});

describe('retry-sim interrupted', () => {
  it('prints the attempts so far and exits 130 on Ctrl-C', async () => {
    const server = await serve(answer(500));
    const child = spawn(process.execPath, [BIN, 'retry-sim', '--to', server.hookUrl, '--secret', SECRET], {
      env: { ...process.env, NO_COLOR: '1', CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stdout = '';
    child.stdout!.setEncoding('utf8');
    const exited = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    // Real time: after attempt 1 fails, the next comes in 5 s; interrupt during that wait.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`attempt 1 never reported; stdout: ${stdout}`)), 10_000);
      child.stdout!.on('data', (d: string) => {
        stdout += d;
        if (/^✘ 1 /m.test(stdout)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGINT');
    const code = await exited;
    expect(code).toBe(130);
    expect(server.requests).toHaveLength(1);
    expect(stdout).toMatch(/^✘ 1 +\+0s .* 500/m);
    expect(stdout).not.toMatch(/^✘ 2 /m);
    expect(stdout).toMatch(/interrupted after 1 attempt .*attempt 2 would have come next/);
  });
});

describe('retry-sim usage errors', () => {
  it.each([
    [['--schedule', '5s,soon'], /--schedule "5s,soon": delay "soon" is not a duration/],
    [['--speed', '0'], /--speed must be a positive number/],
    [['--to', ':4000', '--fail-first', '2'], /--fail-first only applies to the built-in receiver/],
    [['--expect', 'maybe'], /--expect/],
    [['--to', ':4000'], /no webhook secret/],
  ])('retry-sim %j exits 2 with one clear line', async (args, message) => {
    const { code, stdout, stderr } = await runCli(['retry-sim', ...args]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
