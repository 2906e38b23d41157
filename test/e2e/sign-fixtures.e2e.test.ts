import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EVENT_TYPES, STATUS_BY_TYPE } from '../../src/events/types.js';
import { ndjson, runCli, type CliResult, type RunOptions } from '../helpers/cli.js';
import { independentSignatureOk, startServer, verifyingHandler, type TestServer } from '../helpers/server.js';

const SECRET = 'whsec_sign_e2e_Pu7Yc2mVb8';
const dir = mkdtempSync(join(tmpdir(), 'fsw-sign-'));
const servers: TestServer[] = [];
// GitHub's documented webhook example (not produced by this project's code).
const GITHUB = {
  secret: "It's a Secret to Everybody",
  body: 'Hello, World!',
  hex: '757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
};

async function cli(args: string[], options?: RunOptions): Promise<CliResult> {
  const result = await runCli(args, options);
  expect(result.stdout + result.stderr).not.toContain(SECRET);
  return result;
}

function shell(command: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('close', (code) => (clearTimeout(timer), resolve({ code, out })));
  });
}

afterAll(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

describe.concurrent('sign', () => {
  it("reproduces GitHub's published vector from stdin", async () => {
    const r = await runCli(['sign', '--secret', GITHUB.secret], { input: GITHUB.body });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${GITHUB.hex}\n`);
  });

  it('--payload FILE signs the exact bytes of the file (newline and UTF-8 included)', async () => {
    const file = join(dir, 'event.json');
    const bytes = Buffer.from('{"id":"evt_file","type":"session.verified","name":"Zoë"}\n', 'utf8');
    writeFileSync(file, bytes);
    const r = await cli(['sign', '--payload', file, '--secret', SECRET]);
    expect(r.code).toBe(0);
    const signature = r.stdout.trim();
    expect(signature).toMatch(/^[0-9a-f]{64}$/);
    expect(independentSignatureOk(bytes, signature, SECRET)).toBe(true);
    expect(independentSignatureOk(bytes.subarray(0, -1), signature, SECRET)).toBe(false);
  });

  it('--headers prints the full header set FaceSign sends', async () => {
    const body = '{"id":"evt_hdr","object":"event","type":"session.failed"}';
    const r = await cli(['sign', '--headers'], { input: body, env: { FACESIGN_WEBHOOK_SECRET: SECRET } });
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
    expect(Object.keys(headers).sort()).toEqual([
      'Content-Type',
      'FaceSign-Event-Id',
      'FaceSign-Signature',
      'User-Agent',
    ]);
    expect(headers['Content-Type']).toBe('application/json');
    expect(headers['FaceSign-Event-Id']).toBe('evt_hdr');
    expect(headers['User-Agent']).toMatch(/^facesign-webhooks\//);
    expect(independentSignatureOk(Buffer.from(body), headers['FaceSign-Signature'], SECRET)).toBe(true);
  });

  it('--headers on a body without an id leaves out FaceSign-Event-Id and says why', async () => {
    const r = await cli(['sign', '--headers', '--secret', SECRET], { input: 'not json at all' });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('FaceSign-Event-Id');
    expect(r.stderr).toContain('no FaceSign-Event-Id header');
  });

  it('--json prints one signature object', async () => {
    const r = await cli(['sign', '--json', '--secret', SECRET], { input: '{"id":"evt_j"}' });
    expect(r.code).toBe(0);
    const [record, ...rest] = ndjson(r.stdout);
    expect(rest).toHaveLength(0);
    expect(record).toMatchObject({ type: 'signature', bytes: 14, headers: { 'FaceSign-Event-Id': 'evt_j' } });
    expect(independentSignatureOk(Buffer.from('{"id":"evt_j"}'), record!.signature, SECRET)).toBe(true);
  });

  it('--curl prints a command that delivers a verifying request', async () => {
    const server = await startServer(verifyingHandler(SECRET));
    servers.push(server);
    const file = join(dir, 'curl-event.json');
    writeFileSync(file, '{"id":"evt_curl","type":"session.created"}');
    const r = await cli(['sign', '--curl', '--payload', file, '--to', server.hookUrl, '--secret', SECRET]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^curl -sS -X POST /);
    if (!existsSync('/usr/bin/curl')) return; // The shape is checked above; running it needs curl.
    expect(await shell(r.stdout.trim())).toEqual({ code: 0, out: 'OK' });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.headers['facesign-event-id']).toBe('evt_curl');
    expect(
      independentSignatureOk(server.requests[0]!.body, server.requests[0]!.headers['facesign-signature'], SECRET),
    ).toBe(true);
  });

  it.each([
    [['sign', '--payload', '/nonexistent/body.json', '--secret', SECRET], 'no such file'],
    [['sign', '--payload', '/tmp'], 'is a directory'],
    [['sign'], 'FACESIGN_WEBHOOK_SECRET'],
  ])('%j is exit 2', async (args, fragment) => {
    const r = await cli(args, { input: '{}' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(fragment);
    expect(r.stdout).toBe('');
  });
});

describe.concurrent('events', () => {
  it('lists the six types with what triggers each', async () => {
    const r = await cli(['events']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual([...EVENT_TYPES]);
    expect(lines.every((l) => / sent when .+ \(status: [a-z_]+\)$/.test(l))).toBe(true);
    expect(lines[3]).toContain('document rejected, face mismatch');
  });

  it('--json: one object per type', async () => {
    const r = await cli(['events', '--json']);
    expect(r.code).toBe(0);
    const records = ndjson(r.stdout);
    expect(records.map((o) => o.name)).toEqual([...EVENT_TYPES]);
    for (const o of records) {
      expect(Object.keys(o)).toEqual(['type', 'name', 'status', 'description']);
      expect(o).toMatchObject({ type: 'event_type', status: STATUS_BY_TYPE[o.name as keyof typeof STATUS_BY_TYPE] });
    }
  });
});

describe.concurrent('fixtures', () => {
  it('<type> prints a freshly built event', async () => {
    const before = Math.floor(Date.now() / 1000);
    const r = await cli(['fixtures', 'session.failed']);
    expect(r.code).toBe(0);
    const event = JSON.parse(r.stdout);
    const shipped = JSON.parse(readFileSync(new URL('../../fixtures/session.failed.json', import.meta.url), 'utf8'));
    expect(event).toMatchObject({
      type: 'session.failed',
      object: 'event',
      data: { status: 'failed', last_error: shipped.data.last_error },
    });
    expect(event.id).not.toBe(shipped.id);
    expect(event.data.id).not.toBe(shipped.data.id);
    expect(event.created).toBeGreaterThanOrEqual(before);
    expect(r.stdout).toContain('\n  "object": "event",');
  });

  it('a short name, --set and --json give one compact line', async () => {
    const r = await cli(['fixtures', 'verified', '--json', '--set', 'data.metadata.plan=pro', '--event-id', 'evt_fx']);
    expect(r.code).toBe(0);
    const [event, ...rest] = ndjson(r.stdout);
    expect(rest).toHaveLength(0);
    expect(event).toMatchObject({ id: 'evt_fx', type: 'session.verified', data: { metadata: { plan: 'pro' } } });
  });

  it('all --json prints the six, each fresh', async () => {
    const r = await cli(['fixtures', 'all', '--json']);
    expect(r.code).toBe(0);
    const events = ndjson(r.stdout);
    expect(events.map((e) => e.type)).toEqual([...EVENT_TYPES]);
    expect(new Set(events.map((e) => e.id)).size).toBe(6);
  });

  it('all --out DIR writes six files that send --fixture takes the type from', async () => {
    const out = join(dir, 'export');
    const r = await cli(['fixtures', 'all', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(readdirSync(out).sort()).toEqual(EVENT_TYPES.map((t) => `${t}.json`).sort());
    for (const type of EVENT_TYPES) {
      const event = JSON.parse(readFileSync(join(out, `${type}.json`), 'utf8'));
      expect(event).toMatchObject({ type, data: { status: STATUS_BY_TYPE[type] } });
      expect(r.stderr).toContain(`wrote ${join(out, `${type}.json`)}`);
    }
    const exported = JSON.parse(readFileSync(join(out, 'session.expired.json'), 'utf8'));
    const server = await startServer(verifyingHandler(SECRET));
    servers.push(server);
    const sent = await cli([
      'send',
      '--fixture',
      join(out, 'session.expired.json'),
      '--to',
      server.hookUrl,
      '--secret',
      SECRET,
    ]);
    expect(sent.code).toBe(0);
    const body = JSON.parse(server.requests[0]!.body.toString());
    expect(body).toEqual(exported);
  });

  it.each([
    [['fixtures', 'session.approved'], 'unknown event type'],
    [['fixtures'], 'no event type given'],
    [['fixtures', 'verified', '--set', 'data.verified_outputs.first_name.x=1'], 'is "John", not an object'],
  ])('%j is exit 2', async (args, fragment) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(fragment);
    expect(r.stdout).toBe('');
  });
});
