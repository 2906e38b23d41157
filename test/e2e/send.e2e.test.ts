import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EVENT_TYPES, STATUS_BY_TYPE } from '../../src/events/types.js';
import { runSend, type SendOptions } from '../../src/commands/send.js';
import { CliError } from '../../src/errors.js';
import { ndjson, runCli, type CliResult, type RunOptions } from '../helpers/cli.js';
import {
  closedPort,
  hugeBodyHandler,
  independentSignatureOk,
  startServer,
  verifyingHandler,
  type Handler,
  type TestServer,
} from '../helpers/server.js';

// Long and distinctive, so finding it in any output would be no accident.
const SECRET = 'whsec_e2e_Zq8vT3kPp0LmX7aa';
const servers: TestServer[] = [];
const dir = mkdtempSync(join(tmpdir(), 'fsw-send-'));

/** Runs the built CLI and checks, for every run, that the secret never appears in its output. */
async function cli(args: string[], options?: RunOptions): Promise<CliResult> {
  const result = await runCli(args, options);
  expect(result.stdout).not.toContain(SECRET);
  expect(result.stderr).not.toContain(SECRET);
  expect(result.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  return result;
}

async function serve(handler: Handler = verifyingHandler(SECRET), host?: string): Promise<TestServer> {
  const server = await startServer(handler, host);
  servers.push(server);
  return server;
}

/** Whether each request the server recorded carries a valid signature, checked without the project's code. */
/** Waits (at most 5 s) until the server has recorded `n` requests: a busy test process may parse late. */
async function recorded(server: TestServer, n: number): Promise<number> {
  for (const deadline = Date.now() + 5_000; server.requests.length < n && Date.now() < deadline;)
    await new Promise((r) => setTimeout(r, 20));
  return server.requests.length;
}

function verdicts(server: TestServer): boolean[] {
  return server.requests.map((r) => independentSignatureOk(r.body, r.headers['facesign-signature'], SECRET));
}

// Tests run concurrently (spawning is slow on a busy machine), so servers close once, at the end.
afterAll(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

describe.concurrent('send: each type', () => {
  it.each(EVENT_TYPES)('%s arrives signed, with its status, and exits 0', async (type) => {
    const server = await serve();
    const r = await cli(['send', type, '--to', server.hookUrl, '--secret', SECRET]);
    expect(r.code).toBe(0);
    expect(server.requests).toHaveLength(1);
    expect(verdicts(server)).toEqual([true]);
    const got = server.requests[0]!;
    const body = JSON.parse(got.body.toString());
    expect(body).toMatchObject({
      type,
      object: 'event',
      data: { status: STATUS_BY_TYPE[type], object: 'verification_session' },
    });
    expect(got.headers['facesign-event-id']).toBe(body.id);
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['user-agent']).toMatch(/^facesign-webhooks\/\d+\.\d+\.\d+/);
    expect(r.stdout).toMatch(new RegExp(`^✔ ${type.replace('.', '\\.')} ${body.id} → 200 "OK" [\\d.]+ ms\\n$`));
  });

  it('all: the six types in order, each with fresh ids, exit 0', async () => {
    const server = await serve();
    const r = await cli(['send', 'all', '--to', server.hookUrl, '--secret', SECRET]);
    expect(r.code).toBe(0);
    const bodies = server.requests.map((q) => JSON.parse(q.body.toString()));
    expect(bodies.map((b) => b.type)).toEqual([...EVENT_TYPES]);
    expect(new Set(bodies.map((b) => b.id)).size).toBe(6);
    expect(verdicts(server)).toEqual(Array(6).fill(true));
    expect(r.stdout).toContain('6 deliveries, expected 2xx: all did');
  });

  it('accepts the short name and reads the secret and target from the environment', async () => {
    const server = await serve();
    const r = await cli(['send', 'cancelled'], {
      env: { FACESIGN_WEBHOOK_SECRET: SECRET, FACESIGN_WEBHOOKS_URL: `${server.url}/env-hook` },
    });
    expect(r.code).toBe(0);
    expect(server.requests[0]!.url).toBe('/env-hook');
    expect(JSON.parse(server.requests[0]!.body.toString()).type).toBe('session.cancelled');
    expect(verdicts(server)).toEqual([true]);
  });

  it('--to localhost:PORT reaches a server bound only to ::1', async () => {
    const server = await serve(verifyingHandler(SECRET), '::1');
    const r = await cli(['send', 'verified', '--to', `localhost:${server.port}`, '--secret', SECRET]);
    expect(r.code).toBe(0);
    expect(server.requests[0]!.url).toBe('/webhooks/facesign');
  });
});

describe.concurrent('send: building the event', () => {
  it('pins ids, sets and unsets fields, adds headers and X-Forwarded-For', async () => {
    const server = await serve();
    const r = await cli([
      'send',
      'failed',
      '--to',
      server.hookUrl,
      '--secret',
      SECRET,
      '--event-id',
      'evt_pinned_1',
      '--session-id',
      'vs_pinned_1',
      '--user-id',
      'usr_77',
      '--set',
      'data.metadata.plan=pro',
      '--set',
      'data.metadata.seats=5',
      '--set',
      'data.last_error.code=document_rejected',
      '--unset',
      'data.livemode',
      '--header',
      'X-Request-Id: abc-123',
      '--from-ip',
    ]);
    expect(r.code).toBe(0);
    const got = server.requests[0]!;
    const body = JSON.parse(got.body.toString());
    expect(body.id).toBe('evt_pinned_1');
    expect(got.headers['facesign-event-id']).toBe('evt_pinned_1');
    expect(body.data).toMatchObject({
      id: 'vs_pinned_1',
      metadata: { user_id: 'usr_77', plan: 'pro', seats: 5 },
      last_error: { code: 'document_rejected' },
    });
    expect(body.data).not.toHaveProperty('livemode');
    expect(got.headers['x-request-id']).toBe('abc-123');
    expect(got.headers['x-forwarded-for']).toBe('52.89.214.238');
    expect(verdicts(server)).toEqual([true]);
  });

  it('--fixture FILE: the type comes from the file, the rest is merged over the fixture', async () => {
    const server = await serve();
    const file = join(dir, 'partial-failed.json');
    writeFileSync(
      file,
      JSON.stringify({
        type: 'session.failed',
        data: { metadata: { user_id: 'usr_from_file' }, last_error: { code: 'document_rejected' } },
      }),
    );
    const r = await cli(['send', '--fixture', file, '--to', server.hookUrl, '--secret', SECRET]);
    expect(r.code).toBe(0);
    const body = JSON.parse(server.requests[0]!.body.toString());
    expect(body).toMatchObject({
      type: 'session.failed',
      data: {
        status: 'failed',
        metadata: { user_id: 'usr_from_file' },
        last_error: { code: 'document_rejected', reason: expect.any(String) },
      },
    });
    expect(body.id).toMatch(/^evt_/);
  });

  it('--fixture - reads stdin', async () => {
    const server = await serve();
    const r = await cli(['send', 'verified', '--fixture', '-', '--to', server.hookUrl, '--secret', SECRET], {
      input: '{"data":{"metadata":{"plan":"stdin"}}}',
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(server.requests[0]!.body.toString()).data.metadata.plan).toBe('stdin');
  });

  it('a broken fixture is exit 2 naming file:line:col, and nothing is sent', async () => {
    const server = await serve();
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{\n  "type": "session.failed",\n  "data": { "status": verified }\n}\n');
    const r = await cli(['send', '--fixture', file, '--to', server.hookUrl, '--secret', SECRET]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: ${file}:3:23: invalid JSON (Unexpected token 'v')`);
    expect(r.stderr).toContain('hint: fix the JSON at that position');
    expect(server.requests).toHaveLength(0);
  });
});

describe.concurrent('send: signature modes', () => {
  it.each([
    ['valid', 200, 0],
    ['invalid', 400, 1],
    ['missing', 400, 1],
    ['malformed', 400, 1],
    ['tampered', 400, 1],
  ] as const)('--signature %s: the server answers %i, the CLI exits %i', async (mode, status, code) => {
    const server = await serve();
    const r = await cli(['send', 'verified', '--signature', mode, '--to', server.hookUrl, '--secret', SECRET]);
    expect(r.code).toBe(code);
    expect(verdicts(server)).toEqual([mode === 'valid']);
    expect(r.stdout).toContain(`→ ${status}`);
    const got = server.requests[0]!;
    const sig = got.headers['facesign-signature'];
    if (mode === 'missing') expect(sig).toBeUndefined();
    if (mode === 'malformed') expect(sig).not.toMatch(/^[0-9a-f]{64}$/);
    if (mode === 'invalid') expect(sig).toMatch(/^[0-9a-f]{64}$/);
    if (mode === 'tampered') {
      expect(sig).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.parse(got.body.toString()).type).toBe('session.verified');
    }
    if (mode !== 'valid') expect(r.stdout).toContain(`[signature ${mode}]`);
  });

  it('--signature invalid --expect 4xx exits 0 when the endpoint rejects it', async () => {
    const server = await serve();
    const r = await cli([
      'send',
      'verified',
      '--signature',
      'invalid',
      '--expect',
      '4xx',
      '--to',
      server.hookUrl,
      '--secret',
      SECRET,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^✔ .*→ 400 "Invalid signature"/);
  });

  it('--signature invalid --expect 4xx exits 1 when the endpoint wrongly accepts it', async () => {
    const server = await serve((_req, _body, res) => res.end('OK'));
    const r = await cli([
      'send',
      'verified',
      '--signature',
      'invalid',
      '--expect',
      '4xx',
      '--to',
      server.hookUrl,
      '--secret',
      SECRET,
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^✘ .*→ 200/);
  });
});

describe.concurrent('send: --repeat and --expect', () => {
  it('--repeat 3 delivers the identical request three times', async () => {
    const server = await serve();
    const r = await cli(['send', 'verified', '--repeat', '3', '--to', server.hookUrl, '--secret', SECRET]);
    expect(r.code).toBe(0);
    expect(server.requests).toHaveLength(3);
    const [first, ...rest] = server.requests;
    for (const other of rest) {
      expect(other.body.equals(first!.body)).toBe(true);
      expect(other.headers['facesign-signature']).toBe(first!.headers['facesign-signature']);
      expect(other.headers['facesign-event-id']).toBe(first!.headers['facesign-event-id']);
    }
    expect(verdicts(server)).toEqual([true, true, true]);
    expect(r.stdout).toContain('#1/3');
    expect(r.stdout).toContain('#3/3');
    expect(r.stdout).toContain('3 deliveries, expected 2xx: all did');
  });

  it('an idempotent endpoint: --repeat 2 --expect 2xx passes when the duplicate gets 200', async () => {
    const seen = new Set<string>();
    const server = await serve((req, _body, res) => {
      const id = String(req.headers['facesign-event-id']);
      res.end(seen.has(id) ? 'Already processed' : (seen.add(id), 'OK'));
    });
    const r = await cli(['send', 'verified', '--repeat', '2', '--json', '--to', server.hookUrl, '--secret', SECRET]);
    expect(r.code).toBe(0);
    expect(
      ndjson(r.stdout)
        .filter((o) => o.type === 'delivery')
        .map((o) => o.response_body),
    ).toEqual(['OK', 'Already processed']);
  });

  it.each([
    ['409', 409, 0],
    ['4xx', 409, 0],
    ['4xx', 200, 1],
  ])('--expect %s with a %i response exits %i', async (expectation, status, code) => {
    const server = await serve((_req, _body, res) => {
      res.writeHead(status);
      res.end(`status ${status}`);
    });
    const r = await cli(['send', 'verified', '--expect', expectation, '--to', server.hookUrl, '--secret', SECRET]);
    expect(r.code).toBe(code);
    expect(r.stdout).toContain(`→ ${status} "status ${status}"`);
  });

  it('--expect 4xx does not count a network error as met', async () => {
    const port = await closedPort();
    const r = await cli(['send', 'verified', '--expect', '4xx', '--to', `127.0.0.1:${port}`, '--secret', SECRET]);
    expect(r.code).toBe(1);
  });
});

describe.concurrent('send: responses and network failures', () => {
  it.each([
    [404, 1],
    [503, 1],
  ])('a %i response exits %i', async (status, code) => {
    const server = await serve((_req, _body, res) => {
      res.writeHead(status);
      res.end();
    });
    const r = await cli(['send', 'verified', '--to', server.hookUrl, '--secret', SECRET]);
    expect(r.code).toBe(code);
    expect(r.stdout).toContain(`${code === 0 ? '✔' : '✘'} session.verified`);
    expect(r.stdout).toContain(`→ ${status}`);
  });

  it('connection refused: exit 1 with one line naming host:port', async () => {
    const port = await closedPort();
    const r = await cli(['send', 'verified', '--to', `127.0.0.1:${port}`, '--secret', SECRET]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`→ connection refused at 127.0.0.1:${port} — is the server running?`);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('timeout: a server that never answers, --timeout 500, exits 1 within a few seconds', async () => {
    const server = await serve(() => undefined);
    const r = await cli(['send', 'verified', '--timeout', '500', '--to', server.hookUrl, '--secret', SECRET]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`→ timeout after 500 ms — no full response from 127.0.0.1:${server.port}`);
    // The CLI's own clock (spawning on a busy machine is slow): it gave up near 500 ms, not at the 10 s default.
    expect(Number(/ (\d+) ms\n$/.exec(r.stdout)?.[1])).toBeLessThan(5_000);
    expect(await recorded(server, 1)).toBe(1);
  });

  it('a 302 redirect: exit 1, Location shown, not followed', async () => {
    const target = await serve();
    const server = await serve((_req, _body, res) => {
      res.writeHead(302, { location: `${target.url}/moved` });
      res.end();
    });
    const r = await cli(['send', 'verified', '--to', server.hookUrl, '--secret', SECRET]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`→ 302 redirect to ${target.url}/moved (not followed)`);
    expect(target.requests).toHaveLength(0);
  });

  it('a connection reset: exit 1, named', async () => {
    const server = await serve((req) => req.socket.destroy());
    const r = await cli(['send', 'verified', '--to', server.hookUrl, '--secret', SECRET]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`→ connection reset by 127.0.0.1:${server.port} before a full response`);
  });

  it('a huge streamed body: read up to 64 KiB, then the connection is dropped; finishes quickly', async () => {
    const TOTAL = 512 * 1024 * 1024;
    const huge = hugeBodyHandler(TOTAL, 'z');
    const server = await serve(huge.handler);
    const r = await cli(['send', 'verified', '--json', '--to', server.hookUrl, '--secret', SECRET]);
    expect(r.code).toBe(0);
    const [delivery] = ndjson(r.stdout);
    expect(delivery).toMatchObject({
      status: 200,
      ok: true,
      error: null,
      response_truncated: true,
      response_body: 'z'.repeat(200),
    });
    // Measured by the CLI itself: done well before its 10 s timeout, so it stopped reading rather than timing out.
    expect(delivery!.latency_ms).toBeLessThan(5_000);
    await Promise.race([
      huge.state.clientGone,
      new Promise((_, reject) => setTimeout(() => reject(new Error('the client never went away')), 5_000)),
    ]);
    expect(huge.state.finished).toBe(false);
    expect(huge.state.written).toBeLessThan(TOTAL / 8);
  });
});

describe.concurrent('send: --dry-run, --curl and --json', () => {
  it('--dry-run prints the exact request and sends nothing', async () => {
    const server = await serve();
    const r = await cli(['send', 'verified', '--dry-run', '--to', server.hookUrl, '--secret', SECRET]);
    expect(r.code).toBe(0);
    expect(server.requests).toHaveLength(0);
    const [head, body] = r.stdout.split('\n\n');
    const lines = head!.split('\n');
    expect(lines[0]).toBe(`POST ${server.hookUrl}`);
    const headers = Object.fromEntries(
      lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 2)]),
    );
    const printed = Buffer.from(body!.trimEnd());
    expect(headers['content-type']).toBe('application/json');
    expect(headers['facesign-event-id']).toBe(JSON.parse(printed.toString()).id);
    expect(independentSignatureOk(printed, headers['facesign-signature'], SECRET)).toBe(true);
  });

  it('--dry-run --json prints one request object per event', async () => {
    const r = await cli(['send', 'all', '--dry-run', '--json', '--secret', SECRET]);
    expect(r.code).toBe(0);
    const records = ndjson(r.stdout);
    expect(records).toHaveLength(6);
    for (const rec of records) {
      expect(rec).toMatchObject({ type: 'request', method: 'POST', url: 'http://localhost:3000/webhooks/facesign' });
      expect(independentSignatureOk(Buffer.from(rec.body), rec.headers['FaceSign-Signature'], SECRET)).toBe(true);
    }
  });

  it('--curl prints a command that, run by a shell, delivers a request that verifies', async () => {
    const server = await serve();
    const r = await cli([
      'send',
      'verified',
      '--curl',
      '--header',
      "X-Quote: it's",
      '--to',
      server.hookUrl,
      '--secret',
      SECRET,
    ]);
    expect(r.code).toBe(0);
    expect(server.requests).toHaveLength(0);
    const command = r.stdout.trim();
    expect(command).toMatch(/^curl -sS -X POST /);
    expect(command).toContain(`-H 'FaceSign-Event-Id: evt_`);
    const curl = '/usr/bin/curl';
    if (!existsSync(curl)) return; // The shape is checked above; running it needs curl.
    const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.on('close', (code) => (clearTimeout(timer), resolve({ code, out })));
    });
    expect(result).toEqual({ code: 0, out: 'OK' });
    expect(verdicts(server)).toEqual([true]);
    expect(server.requests[0]!.headers['x-quote']).toBe("it's");
    expect(server.requests[0]!.headers['facesign-event-id']).toBe(JSON.parse(server.requests[0]!.body.toString()).id);
  });

  it('--json: every line parses, one delivery object each and a summary', async () => {
    const server = await serve((_req, _body, res, index) => {
      res.writeHead(index === 0 ? 200 : 500);
      res.end(index === 0 ? 'OK' : 'nope');
    });
    const r = await cli(['send', 'verified', '--repeat', '2', '--json', '--to', server.hookUrl, '--secret', SECRET]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    const [a, b, summary] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const keys = [
      'type',
      'event_type',
      'event_id',
      'session_id',
      'url',
      'signature_mode',
      'repeat',
      'status',
      'ok',
      'expected',
      'met',
      'latency_ms',
      'response_body',
      'response_truncated',
      'location',
      'error',
      'started_at',
    ];
    expect(Object.keys(a!)).toEqual(keys);
    expect(a).toMatchObject({
      type: 'delivery',
      event_type: 'session.verified',
      url: server.hookUrl,
      signature_mode: 'valid',
      repeat: 1,
      status: 200,
      ok: true,
      expected: '2xx',
      met: true,
      response_body: 'OK',
      response_truncated: false,
      location: null,
      error: null,
    });
    expect(b).toMatchObject({ type: 'delivery', repeat: 2, status: 500, ok: false, met: false, response_body: 'nope' });
    expect(a!.event_id).toBe(server.requests[0]!.headers['facesign-event-id']);
    expect(a!.session_id).toBe(JSON.parse(server.requests[0]!.body.toString()).data.id);
    expect(typeof a!.latency_ms).toBe('number');
    expect(new Date(String(a!.started_at)).toISOString()).toBe(a!.started_at);
    expect(summary).toEqual({ type: 'summary', sent: 2, met: 1, missed: 1, expected: '2xx', interrupted: false });
  });

  it('--json names a network error as an object', async () => {
    const port = await closedPort();
    const r = await cli(['send', 'verified', '--json', '--to', `127.0.0.1:${port}`, '--secret', SECRET]);
    expect(r.code).toBe(1);
    const [delivery] = ndjson(r.stdout);
    expect(delivery).toMatchObject({
      status: null,
      ok: false,
      met: false,
      error: { kind: 'refused', code: 'ECONNREFUSED' },
    });
  });
});

describe.concurrent('send: usage errors exit 2 and send nothing', () => {
  it('no secret and no terminal: names --secret and FACESIGN_WEBHOOK_SECRET', async () => {
    const server = await serve();
    const r = await cli(['send', 'verified', '--to', server.hookUrl]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--secret');
    expect(r.stderr).toContain('FACESIGN_WEBHOOK_SECRET');
    expect(r.stdout).toBe('');
    expect(server.requests).toHaveLength(0);
  });

  it.each([
    [['send', 'session.approved'], 'unknown event type "session.approved"'],
    [['send'], 'no event type given'],
    [['send', 'verified', '--frobnicate'], "unknown option '--frobnicate'"],
    [['send', 'verified', '--signature', 'forged'], 'forged'],
    [['send', 'verified', '--repeat', '0'], '--repeat'],
    [['send', 'verified', '--timeout', 'soon'], '--timeout'],
  ])('%j', async (args, fragment) => {
    const server = await serve();
    const r = await cli([...args, '--secret', SECRET, ...(args.includes('--to') ? [] : ['--to', server.hookUrl])]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(fragment);
    expect(r.stdout).toBe('');
    expect(server.requests).toHaveLength(0);
  });
});

describe('runSend: input errors are CliErrors with exit 2, thrown before anything is sent', () => {
  it.each([
    [{ unset: ['data.nope'] }, 'data has no field "nope"'],
    [{ set: ['data.status.x=1'] }, 'data.status is "verified", not an object'],
    [{ expect: '6xx' }, 'bad --expect "6xx"'],
    [{ to: 'localhost:99999' }, 'invalid port "99999"'],
    [{ header: ['no-colon'] }, 'bad --header'],
    [{ header: ['X-A: b\r\nX-Injected: 1'] }, 'line break'],
    [{ fromIp: '10.0.0.1' }, 'not a FaceSign address'],
    [{ fixture: '/nonexistent/x.json' }, 'no such file'],
    [{ secret: '' }, '--secret is empty'],
    [{ to: 'ftp://x.test/' }, 'only http and https'],
    [
      { type: 'all', fixture: join(dir, 'typed.json') },
      'the fixture is a session.failed event, but session.created was asked for',
    ],
  ] as [Partial<SendOptions>, string][])('%j', async (options, fragment) => {
    writeFileSync(join(dir, 'typed.json'), '{"type": "session.failed"}');
    const server = await serve();
    let caught: unknown;
    try {
      await runSend({ type: 'verified', to: server.hookUrl, secret: SECRET, ...options });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CliError);
    expect((caught as CliError).exitCode).toBe(2);
    expect((caught as CliError).message).toContain(fragment);
    expect(server.requests).toHaveLength(0);
  });
});
