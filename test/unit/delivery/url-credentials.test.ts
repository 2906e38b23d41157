import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { displayUrl, isLoopbackHost, urlCredentials, withoutCredentials } from '../../../src/delivery/target.js';
import { curlCommand } from '../../../src/report/delivery.js';
import { prepareRequest } from '../../../src/delivery/request.js';
import { buildEvent } from '../../../src/events/build.js';
import { ndjson, runCli } from '../../helpers/cli.js';
import { startServer, type TestServer } from '../../helpers/server.js';

/*
 * `http://user:password@host/…`: the credentials go out as Basic auth (as curl sends them) and the
 * password is printed nowhere — human lines, --json, --dry-run, --curl, check's reports, errors.
 */

const SECRET = 'whsec_credentials_test';
const PASSWORD = 'pa55-Wörd@x';
const ENCODED = encodeURIComponent(PASSWORD);

describe('displayUrl and friends', () => {
  it.each([
    [`http://alice:${ENCODED}@127.0.0.1:4000/hook?x=1`, 'http://alice:***@127.0.0.1:4000/hook?x=1'],
    ['https://bob:@example.test/', 'https://bob:***@example.test/'],
    ['http://carol@example.test/', 'http://carol@example.test/'],
    ['http://127.0.0.1:4000/hook', 'http://127.0.0.1:4000/hook'],
    ['http://127.0.0.1:4000/a@b', 'http://127.0.0.1:4000/a@b'],
  ])('%s → %s', (url, shown) => {
    expect(displayUrl(url)).toBe(shown);
  });

  it('urlCredentials decodes as curl does; withoutCredentials drops them', () => {
    expect(urlCredentials(`http://alice:${ENCODED}@h/`)).toEqual({ user: 'alice', password: PASSWORD });
    expect(urlCredentials('http://h/')).toBeUndefined();
    expect(withoutCredentials(`http://alice:${ENCODED}@h:1/p`)).toBe('http://h:1/p');
  });

  it('curlCommand: -u with the user only (curl asks for the password), the URL without credentials', () => {
    const req = prepareRequest(buildEvent('session.verified'), {
      url: `http://alice:${ENCODED}@127.0.0.1:4000/hook`,
      secret: SECRET,
    });
    const command = curlCommand(req);
    // shellQuote quotes only what needs it.
    expect(command).toMatch(/ -X POST '?http:\/\/127\.0\.0\.1:4000\/hook'? -u '?alice'? -H /);
    expect(command).not.toContain('pa55');
  });

  it.each([
    ['localhost', true],
    ['LOCALHOST', true],
    ['app.localhost', true],
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['[::1]', true],
    ['::ffff:7f00:1', true],
    ['128.0.0.1', false],
    ['localhost.example.test', false],
    ['api.example.test', false],
  ])('isLoopbackHost(%s) = %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});

describe('credentials in --to (built CLI)', () => {
  let server: TestServer;
  const dir = mkdtempSync(join(tmpdir(), 'fsw-creds-'));
  const url = () => `http://alice:${ENCODED}@127.0.0.1:${server.port}/webhooks/facesign`;
  const shown = () => `http://alice:***@127.0.0.1:${server.port}/webhooks/facesign`;
  const basic = `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`;
  const run = (args: string[]) => runCli(args, { timeoutMs: 20_000 });
  const noPassword = (...texts: string[]) => {
    for (const text of texts) {
      expect(text).not.toContain('pa55');
      expect(text).not.toContain(ENCODED);
      expect(text).not.toContain(Buffer.from(`alice:${PASSWORD}`).toString('base64'));
    }
  };

  beforeAll(async () => {
    server = await startServer();
  });
  afterEach(() => {
    server.requests.splice(0);
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('send: Basic auth on the wire; the human line and --json show user:***', async () => {
    const human = await run(['send', 'verified', '--to', url(), '--secret', SECRET]);
    expect(human.code).toBe(0);
    const json = await run(['send', 'verified', '--to', url(), '--secret', SECRET, '--json']);
    expect(json.code).toBe(0);
    expect(ndjson(json.stdout)[0]).toMatchObject({ type: 'delivery', url: shown(), status: 200 });
    expect(server.requests.map((r) => r.headers.authorization)).toEqual([basic, basic]);
    noPassword(human.stdout, human.stderr, json.stdout, json.stderr);
  });

  it('a user without a password is sent as "user:", and an explicit Authorization header wins', async () => {
    await run([
      'send',
      'verified',
      '--to',
      `http://carol@127.0.0.1:${server.port}/webhooks/facesign`,
      '--secret',
      SECRET,
    ]);
    await run(['send', 'verified', '--to', url(), '--secret', SECRET, '--header', 'Authorization: Bearer tok_1']);
    expect(server.requests.map((r) => r.headers.authorization)).toEqual([
      `Basic ${Buffer.from('carol:').toString('base64')}`,
      'Bearer tok_1',
    ]);
  });

  it('--dry-run (human and --json): the URL masked, the Basic header shown without the password', async () => {
    const human = await run(['send', 'verified', '--to', url(), '--secret', SECRET, '--dry-run']);
    expect(human.code).toBe(0);
    expect(human.stdout.split('\n')[0]).toBe(`POST ${shown()}`);
    expect(human.stdout).toContain('Authorization: Basic *** (user "alice" and the password from the URL; not shown)');
    const json = await run(['send', 'verified', '--to', url(), '--secret', SECRET, '--dry-run', '--json']);
    expect(ndjson(json.stdout)[0]).toMatchObject({ type: 'request', url: shown() });
    noPassword(human.stdout, human.stderr, json.stdout, json.stderr);
    expect(server.requests).toHaveLength(0);
  });

  it('--curl: the URL without credentials, -u with the user, a note that curl asks for the password', async () => {
    const r = await run(['send', 'verified', '--to', url(), '--secret', SECRET, '--curl']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(` -X POST '?http://127\\.0\\.0\\.1:${server.port}/webhooks/facesign'? -u '?alice'? -H `),
    );
    expect(r.stderr).toContain("note: the URL's password is not printed; curl asks for it (-u 'alice')");
    const json = await run(['flow', 'verified', '--to', url(), '--secret', SECRET, '--curl', '--json']);
    expect(ndjson(json.stdout)).toHaveLength(3);
    noPassword(r.stdout, r.stderr, json.stdout);
  });

  it('flow, retry-sim and check: every line, record and report masks the password; Basic auth is sent', async () => {
    const flow = await run(['flow', 'verified', '--to', url(), '--secret', SECRET, '--json']);
    expect(flow.code).toBe(0);
    expect(
      ndjson(flow.stdout)
        .filter((r) => r.type === 'delivery')
        .every((r) => r.url === shown()),
    ).toBe(true);
    const retry = await run(['retry-sim', '--to', url(), '--secret', SECRET, '--speed', '3600']);
    expect(retry.code).toBe(0);
    expect(retry.stdout).toContain(`→ ${shown()}`);
    const retryJson = await run(['retry-sim', '--to', url(), '--secret', SECRET, '--speed', '3600', '--json']);
    expect(ndjson(retryJson.stdout).map((r) => r.url)).toEqual([shown(), shown()]);
    const junit = join(dir, 'check.xml');
    const check = await run([
      'check',
      '--to',
      url(),
      '--secret',
      SECRET,
      '--only',
      'valid.session.created',
      '--reporter',
      'junit',
      '--output',
      junit,
    ]);
    expect(check.stdout).toContain(`check ${shown()}`);
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toContain(`value="${shown()}"`);
    const checkJson = await run([
      'check',
      '--to',
      url(),
      '--secret',
      SECRET,
      '--only',
      'valid.session.created',
      '--json',
    ]);
    expect(ndjson(checkJson.stdout).at(-1)).toMatchObject({ type: 'summary', url: shown() });
    expect(server.requests.length).toBeGreaterThanOrEqual(6);
    expect(server.requests.every((r) => r.headers.authorization === basic)).toBe(true);
    noPassword(
      flow.stdout,
      flow.stderr,
      retry.stdout,
      retry.stderr,
      retryJson.stdout,
      check.stdout,
      check.stderr,
      xml,
      checkJson.stdout,
    );
  });

  it('load mode: Basic auth on every request; the progress line, the load record and error lines mask the password', async () => {
    const human = await run([
      'send',
      'verified',
      '--count',
      '4',
      '--concurrency',
      '2',
      '--to',
      url(),
      '--secret',
      SECRET,
    ]);
    expect(human.code).toBe(0);
    expect(human.stderr).toContain(`to ${shown()}, 2 at a time`);
    const json = await run([
      'send',
      'all',
      '--count',
      '6',
      '--concurrency',
      '2',
      '--to',
      url(),
      '--secret',
      SECRET,
      '--json',
    ]);
    expect(json.code).toBe(0);
    expect(ndjson(json.stdout).at(-1)).toMatchObject({ type: 'load', url: shown(), sent: 6, ok: 6 });
    expect(server.requests).toHaveLength(10);
    expect(server.requests.every((r) => r.headers.authorization === basic)).toBe(true);
    const dead = await closedPort();
    const deadUrl = `http://alice:${ENCODED}@127.0.0.1:${dead}/webhooks/facesign`;
    const refused = await run(['send', 'verified', '--count', '2', '--to', deadUrl, '--secret', SECRET, '--json']);
    expect(refused.code).toBe(1);
    const record = ndjson(refused.stdout).at(-1)!;
    expect(record).toMatchObject({
      type: 'load',
      url: `http://alice:***@127.0.0.1:${dead}/webhooks/facesign`,
      delivered: 0,
    });
    expect(record.errors).toEqual({
      'error:refused': `connection refused at 127.0.0.1:${dead} — is the server running?`,
    });
    noPassword(human.stdout, human.stderr, json.stdout, json.stderr, refused.stdout, refused.stderr);
  });

  it("check on a dead port: the error line and JUnit's failure show the URL masked", async () => {
    const dead = await closedPort();
    const junit = join(dir, 'dead.xml');
    const r = await run([
      'check',
      '--to',
      `http://alice:${ENCODED}@127.0.0.1:${dead}/hooks`,
      '--secret',
      SECRET,
      '--reporter',
      'junit',
      '--output',
      junit,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`connection refused at http://alice:***@127.0.0.1:${dead}/hooks`);
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toContain(`http://alice:***@127.0.0.1:${dead}/hooks`);
    noPassword(r.stdout, r.stderr, xml);
  });

  it('replay: Basic auth on the wire, the record masks the URL; a capture header that is not valid HTTP is exit 2', async () => {
    const body = Buffer.from(
      '{"id":"evt_cred","object":"event","type":"session.created","created":1,"data":{"id":"vs_cred"}}',
    );
    const capture = (headers: Record<string, string>) =>
      JSON.stringify({
        method: 'POST',
        path: '/webhooks/facesign',
        headers,
        body_base64: body.toString('base64'),
        received_at: '2026-01-01T00:00:00.000Z',
        sequence: 1,
      });
    const good = join(dir, 'good-capture.json');
    writeFileSync(good, capture({ 'content-type': 'application/json', 'facesign-event-id': 'evt_cred' }));
    const r = await run(['replay', good, '--to', url(), '--json']);
    expect(r.code).toBe(0);
    expect(ndjson(r.stdout)[0]).toMatchObject({ type: 'replay', url: shown(), status: 200 });
    expect(server.requests.map((q) => q.headers.authorization)).toEqual([basic]);
    noPassword(r.stdout, r.stderr);
    const bad = join(dir, 'bad-capture.json');
    writeFileSync(bad, capture({ 'content-type': 'application/json', 'x-forged': 'a\r\nX-Injected: 1' }));
    const refused = await run(['replay', bad, '--to', url()]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `error: capture file "${bad}": the x-forged header value "a\\r\\nX-Injected: 1" contains a line break (CR)`,
    );
    expect(server.requests).toHaveLength(1);
  });

  it('an unusable --to with a password: the error line masks it', async () => {
    const r = await run(['send', 'verified', '--to', `ftp://alice:${ENCODED}@127.0.0.1/x`, '--secret', SECRET]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ftp://alice:***@127.0.0.1/x');
    noPassword(r.stderr);
  });
});

/** A loopback port with nothing listening (bound, then closed). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
