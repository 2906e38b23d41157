import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ndjson, runCli, type CliResult, type RunOptions } from '../helpers/cli.js';
import { killListeners, startListen } from '../helpers/listen-process.js';
import {
  closedPort,
  independentSignatureOk,
  startServer,
  verifyingHandler,
  type TestServer,
} from '../helpers/server.js';
import { createHmac } from 'node:crypto';

/*
 * Inputs that used to be silently wrong, through the built CLI: secret accidents warn, flags that
 * cannot be honoured are usage errors, timers refuse what they cannot hold, and deep or wrong-typed
 * JSON is one line with exit 2.
 */

const SECRET_BODY = 'whsec_inputs_Kf93nQ0zLw';
const servers: TestServer[] = [];
const dir = mkdtempSync(join(tmpdir(), 'fsw-inputs-'));

afterEach(async () => {
  killListeners();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI; no run may print a stack trace, call itself unexpected, or print the secret. */
async function cli(args: string[], options?: RunOptions): Promise<CliResult> {
  const result = await runCli(args, options);
  for (const text of [result.stdout, result.stderr]) {
    expect(text).not.toContain(SECRET_BODY);
    expect(text).not.toMatch(/\n\s+at .+:\d+:\d+|this is unexpected/);
  }
  return result;
}

async function serve(secret: string): Promise<TestServer> {
  const server = await startServer(verifyingHandler(secret));
  servers.push(server);
  return server;
}

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const warningLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('warning: the secret'));

describe('a secret with a copy-paste accident', () => {
  it('warns once on stderr naming --secret, is used as given (the endpoint has the same bytes), and keeps NDJSON clean', async () => {
    const secret = `${SECRET_BODY}\n`;
    const server = await serve(secret);
    const r = await cli(['send', 'verified', '--to', server.hookUrl, '--secret', secret, '--json']);
    expect(r.code).toBe(0);
    expect(warningLines(r.stderr)).toEqual([
      "warning: the secret from --secret has a trailing newline; it is used as given — if your endpoint's secret does not, remove it where the secret is set",
    ]);
    expect(ndjson(r.stdout).map((x) => x.type)).toEqual(['delivery', 'summary']);
    expect(
      independentSignatureOk(server.requests[0]!.body, server.requests[0]!.headers['facesign-signature'], secret),
    ).toBe(true);
  });

  it('names $FACESIGN_WEBHOOK_SECRET when the variable carries the quotes', async () => {
    const env = { FACESIGN_WEBHOOK_SECRET: `"${SECRET_BODY}"` };
    const r = await cli(['send', 'verified', '--dry-run', '--json'], { env });
    expect(r.code).toBe(0);
    expect(warningLines(r.stderr)).toEqual([
      "warning: the secret from $FACESIGN_WEBHOOK_SECRET has surrounding double quotes; it is used as given — if your endpoint's secret does not, remove them where the secret is set",
    ]);
    expect(ndjson(r.stdout)[0]).toMatchObject({ type: 'request' });
  });

  it('every command that signs or verifies warns: flow, retry-sim, check, sign, verify, replay --resign, listen', async () => {
    const env = { FACESIGN_WEBHOOK_SECRET: ` ${SECRET_BODY}` };
    const body = file('body.json', '{"id":"evt_1"}');
    const dead = `127.0.0.1:${await closedPort()}`;
    const capture = file(
      'capture.json',
      JSON.stringify({
        version: 1,
        method: 'POST',
        path: '/',
        headers: {},
        raw_headers: [['Content-Type', 'application/json']],
        body_base64: Buffer.from('{}').toString('base64'),
      }),
    );
    const runs: [string, string[]][] = [
      ['flow', ['flow', 'verified', '--dry-run']],
      ['retry-sim', ['retry-sim', '--speed', '100000', '--fail-first', '0']],
      ['check', ['check', '--to', dead]],
      ['sign', ['sign', '--payload', body]],
      ['verify', ['verify', '--payload', body, '--signature', 'a'.repeat(64)]],
      ['replay', ['replay', capture, '--to', dead, '--resign']],
    ];
    for (const [name, args] of runs) {
      const r = await cli(args, { env });
      expect(r.code, `${name}: ${r.stderr}`).not.toBe(2);
      expect(warningLines(r.stderr), name).toEqual([
        expect.stringContaining('the secret from $FACESIGN_WEBHOOK_SECRET has a leading space;'),
      ]);
    }
    const listen = await startListen(['--secret', `'${SECRET_BODY}'`]);
    // stderr and stdout are separate pipes: wait (bounded) for the warning rather than assume an order.
    for (const deadline = Date.now() + 5_000; warningLines(listen.stderr()).length === 0 && Date.now() < deadline;)
      await new Promise((r) => setTimeout(r, 20));
    expect(warningLines(listen.stderr())).toEqual([
      expect.stringContaining('the secret from --secret has surrounding single quotes;'),
    ]);
    expect(listen.stdout() + listen.stderr()).not.toContain(SECRET_BODY);
  });

  it('a clean secret gets no warning', async () => {
    const r = await cli(['send', 'verified', '--dry-run', '--secret', SECRET_BODY]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('warning');
  });
});

describe('no flag silently ignored', () => {
  it.each([
    [
      ['send', 'verified', '--count', '3', '--repeat', '2'],
      ['--count', '--repeat'],
    ],
    [
      ['send', 'verified', '--count', '3', '--dry-run'],
      ['--dry-run', '--count'],
    ],
    [
      ['send', 'verified', '--count', '3', '--curl'],
      ['--curl', '--count'],
    ],
    [
      ['send', 'all', '--event-id', 'evt_1'],
      ['send all', '--event-id'],
    ],
    [
      ['send', 'verified', '--count', '3', '--event-id', 'evt_1'],
      ['--event-id', '--count'],
    ],
    [
      ['send', 'verified', '--count', '3', '--set', 'id=evt_1'],
      ['--set id=evt_1', '--count'],
    ],
    [
      ['send', 'verified', '--count', '3', '--session-id', 'vs_1'],
      ['--session-id', '--count'],
    ],
    [
      ['send', 'verified', '--concurrency', '4'],
      ['--concurrency', '--count'],
    ],
    [
      ['send', 'verified', '--dry-run', '--expect', '4xx'],
      ['--dry-run', '--expect'],
    ],
    [
      ['send', 'verified', '--dry-run', '--curl'],
      ['--dry-run', '--curl'],
    ],
    [
      ['flow', 'verified', '--seed', '7'],
      ['--seed', '--shuffle'],
    ],
    [
      ['sign', '--to', ':3000'],
      ['--to', '--curl'],
    ],
    [
      ['sign', '--headers', '--curl'],
      ['--headers', '--curl'],
    ],
  ])('%j is exit 2 naming both flags, and sends nothing', async (args, flags) => {
    const server = await serve(SECRET_BODY);
    const r = await cli([...args, '--secret', SECRET_BODY, ...(args[0] === 'sign' ? [] : ['--to', server.hookUrl])], {
      input: '{}',
    });
    expect(r.code).toBe(2);
    const first = r.stderr.split('\n')[0]!;
    for (const flag of flags) expect(first).toContain(flag);
    expect(server.requests).toHaveLength(0);
  });

  it('load mode with a fixture that pins ids says the ids are replaced, and sends fresh ones', async () => {
    const server = await serve(SECRET_BODY);
    const fixture = file('pinned.json', JSON.stringify({ id: 'evt_pinned', data: { id: 'vs_pinned' } }));
    const r = await cli([
      'send',
      'verified',
      '--fixture',
      fixture,
      '--count',
      '3',
      '--concurrency',
      '1',
      '--to',
      server.hookUrl,
      '--secret',
      SECRET_BODY,
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      "note: load mode gives every event a fresh event id and session id; the fixture's are replaced",
    );
    const ids = server.requests.map((q) => JSON.parse(q.body.toString('utf8')).id as string);
    expect(new Set(ids).size).toBe(3);
    expect(ids).not.toContain('evt_pinned');
  });
});

describe('sign and verify refuse an empty body', () => {
  it('sign with an empty stdin or file is exit 2, not a signature', async () => {
    const fromStdin = await cli(['sign', '--secret', SECRET_BODY], { input: '' });
    expect(fromStdin.code).toBe(2);
    expect(fromStdin.stdout).toBe('');
    expect(fromStdin.stderr).toContain('error: the payload from stdin is empty (0 bytes): there is nothing to sign');
    const empty = file('empty.json', '');
    const fromFile = await cli(['sign', '--payload', empty, '--secret', SECRET_BODY]);
    expect(fromFile.code).toBe(2);
    expect(fromFile.stderr).toContain(`error: the payload "${empty}" is empty (0 bytes)`);
  });

  it('verify --payload of an empty body is exit 2', async () => {
    const r = await cli(['verify', '--payload', '-', '--signature', 'a'.repeat(64), '--secret', SECRET_BODY], {
      input: '',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: the payload <stdin> is empty (0 bytes)');
  });
});

describe('--set with brackets', () => {
  it("'data.items[0]=x' creates an array; 'data.extra.0=x' a field named 0", async () => {
    const r = await cli([
      'fixtures',
      'verified',
      '--json',
      '--set',
      'data.items[0]=x',
      '--set',
      'data.items[1]={"k":1}',
      '--set',
      'data.extra.0=y',
    ]);
    expect(r.code).toBe(0);
    const event = JSON.parse(r.stdout);
    expect(event.data.items).toEqual(['x', { k: 1 }]);
    expect(event.data.extra).toEqual({ '0': 'y' });
  });
});

describe('numbers past what a timer holds', () => {
  it.each([
    [
      ['send', 'verified', '--timeout', '3000000000'],
      "'--timeout <ms>' argument '3000000000' is invalid. --timeout can be at most 2147483647",
    ],
    [['flow', 'verified', '--timeout', '3000000000'], '--timeout can be at most 2147483647'],
    [['retry-sim', '--timeout', '3000000000'], '--timeout can be at most 2147483647'],
    [['replay', '.', '--timeout', '3000000000'], '--timeout can be at most 2147483647'],
    [['check', '--timeout', '3000000000'], '--timeout can be at most 2147483647'],
    [
      ['listen', '--max-wait', '3000000'],
      "'--max-wait <seconds>' argument '3000000' is invalid. --max-wait can be at most 2147483 (seconds",
    ],
    [['listen', '--delay', '3000000000'], '--delay can be at most 2147483647'],
    [
      ['retry-sim', '--speed', '0.0001'],
      '--speed makes the 1h wait 416.6 days long; the longest wait is 2147483647 ms',
    ],
  ])('%j is exit 2 naming the flag and the maximum', async (args, message) => {
    const r = await cli(
      [...args, '--secret', SECRET_BODY].filter(
        (a, i, all) => !(args[0] === 'listen' && (a === '--secret' || all[i - 1] === '--secret')),
      ),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it('the maximum itself is a working --timeout (no timer that fires at once)', async () => {
    const server = await serve(SECRET_BODY);
    const r = await cli([
      'send',
      'verified',
      '--to',
      server.hookUrl,
      '--secret',
      SECRET_BODY,
      '--timeout',
      '2147483647',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/→ 200/);
  });
});

describe('deeply nested or wrong-typed JSON', () => {
  const deep = `{"data":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;

  it('a 100,000-level fixture is exit 2 with the file, for fixtures and send', async () => {
    const path = file('deep-fixture.json', deep);
    for (const args of [
      ['fixtures', 'verified', '--fixture', path],
      ['send', '--fixture', path, '--dry-run', '--secret', SECRET_BODY],
    ]) {
      const r = await cli(args);
      expect(r.code).toBe(2);
      expect(r.stderr.split('\n')[0]).toBe(`error: ${path}:1:264: JSON nested more than 256 levels deep`);
    }
  });

  it('verify of a deep body (--payload, --request, a capture) is exit 2 naming the input, whether or not the signature matches', async () => {
    const signature = createHmac('sha256', SECRET_BODY).update(deep).digest('hex');
    const payload = file('deep-body.json', deep);
    const request = file(
      'deep.http',
      `POST /webhooks/facesign HTTP/1.1\r\nFaceSign-Signature: ${'b'.repeat(64)}\r\nContent-Type: application/json\r\n\r\n${deep}`,
    );
    const capture = file(
      'deep-capture.json',
      JSON.stringify({
        version: 1,
        method: 'POST',
        path: '/',
        headers: {},
        raw_headers: [],
        body_base64: Buffer.from(deep).toString('base64'),
      }),
    );
    const runs: [string[], string][] = [
      [['verify', '--payload', payload, '--signature', signature], `"${payload}"`],
      [['verify', '--payload', payload, '--signature', 'a'.repeat(64)], `"${payload}"`],
      [['verify', '--request', request], `"${request}"`],
      [['verify', capture], `"${capture}"`],
    ];
    for (const [args, name] of runs) {
      const r = await cli([...args, '--secret', SECRET_BODY]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.split('\n')[0]).toBe(`error: ${name}: the body is JSON nested more than 256 levels deep`);
    }
  });

  it('a capture file nested 100,000 levels is exit 2 for verify and replay', async () => {
    const path = file(
      'deep-file.json',
      `{"method":"POST","path":"/","headers":{},"body_base64":"","x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
    );
    for (const args of [
      ['verify', path, '--secret', SECRET_BODY],
      ['replay', path, '--to', ':1'],
    ]) {
      const r = await cli(args);
      expect(r.code).toBe(2);
      expect(r.stderr.split('\n')[0]).toMatch(
        new RegExp(
          `^error: ${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:1:\\d+: JSON nested more than 256 levels deep$`,
        ),
      );
    }
  });

  it.each([
    ['raw_headers a number', { raw_headers: 5 }, 'raw_headers is not a list of [name, value] string pairs'],
    ['raw_headers an object', { raw_headers: { a: 1 } }, 'raw_headers is not a list of [name, value] string pairs'],
    [
      'raw_headers with a non-string value',
      { raw_headers: [['FaceSign-Signature', { x: 1 }]] },
      'raw_headers is not a list of [name, value] string pairs',
    ],
    [
      'headers with a non-string value',
      { headers: { 'facesign-signature': 7 } },
      'headers is not an object of string values',
    ],
    ['body_base64 a number', { body_base64: 5 }, 'body_base64 is not base64'],
    ['verdict.event_id an object', { verdict: { event_id: { a: 1 } } }, 'verdict.event_id is not a string'],
  ])('a capture with %s is exit 2 with one line naming the file', async (_name, patch, what) => {
    const path = file(
      'typed.json',
      JSON.stringify({
        version: 1,
        method: 'POST',
        path: '/',
        headers: {},
        raw_headers: [],
        body_base64: 'e30=',
        ...patch,
      }),
    );
    for (const args of [
      ['verify', path, '--secret', SECRET_BODY],
      ['replay', path, '--to', ':1'],
    ]) {
      const r = await cli(args);
      expect(r.code).toBe(2);
      expect(r.stderr.split('\n')[0]).toBe(`error: "${path}" is not a capture: ${what}`);
    }
  });
});
