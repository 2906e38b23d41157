import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, ndjson, runCli } from '../helpers/cli.js';
import { closedPort, startServer, type TestServer } from '../helpers/server.js';

/* Load mode's summary when things go wrong: nothing delivered, some failed on the wire, Ctrl-C. */

const SECRET = 'whsec_load_summary';
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('send --count: a summary that says what happened', () => {
  it('a dead port: "0 of N delivered" with the reason, no rates, exit 1', async () => {
    const port = await closedPort();
    const r = await runCli([
      'send',
      'verified',
      '--count',
      '200',
      '--concurrency',
      '8',
      '--to',
      `127.0.0.1:${port}`,
      '--secret',
      SECRET,
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`0 of 200 delivered: connection refused at 127.0.0.1:${port} — is the server running?\n`);
    expect(r.stdout).not.toMatch(/req\/s|latency/);
  });

  it('a dead port under --json: delivered 0 and the first message of each error kind', async () => {
    const port = await closedPort();
    const r = await runCli([
      'send',
      'verified',
      '--count',
      '20',
      '--to',
      `127.0.0.1:${port}`,
      '--secret',
      SECRET,
      '--json',
    ]);
    expect(r.code).toBe(1);
    const [load] = ndjson(r.stdout);
    expect(load).toMatchObject({
      type: 'load',
      sent: 20,
      delivered: 0,
      ok: 0,
      met: 0,
      count: 20,
      statuses: { 'error:refused': 20 },
      interrupted: false,
    });
    expect(load!.errors).toEqual({
      'error:refused': `connection refused at 127.0.0.1:${port} — is the server running?`,
    });
  });

  it('some requests cut on the wire: the report names how many got no HTTP answer, and why', async () => {
    // Every third request has its connection destroyed instead of an answer.
    server = await startServer((req, _body, res, i) => (i % 3 === 2 ? req.socket.destroy() : res.end('OK')));
    const r = await runCli([
      'send',
      'verified',
      '--count',
      '30',
      '--concurrency',
      '1',
      '--to',
      server.hookUrl,
      '--secret',
      SECRET,
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^30 requests in /m);
    expect(r.stdout).toMatch(
      /^10 of 30 got no HTTP answer:\n {2}10× connection reset by 127\.0\.0\.1:\d+ before a full response$/m,
    );
    expect(r.stdout).toContain('10 of 30 did not meet 2xx');
  });

  it('Ctrl-C during a run against a slow server: "interrupted after N of 20000", exit 130, without waiting for answers in flight', async () => {
    let interrupt: () => void = () => undefined;
    // Eight slow answers, then none: with --timeout 60000 only cutting the requests in flight can end
    // the run. The 10th request shows both lanes have read their last answer, so Ctrl-C comes then.
    server = await startServer((_req, _body, res, i) => {
      if (i < 8) setTimeout(() => res.end('OK'), 30);
      else if (i === 9) interrupt();
    });
    const env = { ...process.env, NO_COLOR: '1', CI: 'true' } as NodeJS.ProcessEnv;
    delete env.FACESIGN_WEBHOOK_SECRET;
    const child = spawn(
      process.execPath,
      [
        BIN,
        'send',
        'verified',
        '--count',
        '20000',
        '--concurrency',
        '2',
        '--timeout',
        '60000',
        '--to',
        server.hookUrl,
        '--secret',
        SECRET,
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    interrupt = () => child.kill('SIGINT');
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    clearTimeout(killer);
    expect(code, stderr).toBe(130);
    const m = /^interrupted after (\d+) of 20000$/m.exec(stdout);
    expect(m, stdout).not.toBeNull();
    const sent = Number(m![1]);
    expect(sent).toBeGreaterThanOrEqual(8);
    expect(sent).toBeLessThan(20000);
    // The summary counts the answers, not the requests cut in flight.
    expect(sent).toBe(8);
    expect(server.requests).toHaveLength(10);
    expect(stdout).toMatch(new RegExp(`^${sent} requests in `, 'm'));
  });
});
