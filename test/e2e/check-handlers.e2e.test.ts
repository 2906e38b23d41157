import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ndjson, runCli } from '../helpers/cli.js';
import { startCorrectServer } from '../helpers/servers/correct.js';
import { startLengthCheckServer } from '../helpers/servers/length-check.js';
import { startStringifyServer } from '../helpers/servers/reserialized-compact.js';
import type { RunningServer } from '../helpers/servers/common.js';
import { findAll, parseXmlStrict } from '../helpers/servers/strict-xml.js';

/*
 * The built CLI's `check` against real handlers, in Node and in Python (standard library only),
 * each imitating one bug that breaks in production: every verdict must name the right cases and
 * the right cause, and the correct handlers must pass with no failure.
 */

const SECRET = 'whsec_handlers_e2e_5b1d';
const VALID = [
  'valid.session.created',
  'valid.session.started',
  'valid.session.verified',
  'valid.session.failed',
  'valid.session.cancelled',
  'valid.session.expired',
];
const RAW_BODY = ['raw-body.utf8', 'raw-body.escapes', 'raw-body.whitespace', 'raw-body.numbers'];
const REJECTING = ['wrong-secret', 'no-signature', 'malformed-signature', 'tampered-body'];
const ALL = [...VALID, ...RAW_BODY, 'duplicate', ...REJECTING, 'unknown-type', 'burst'];
const PYTHON_HANDLER = fileURLToPath(new URL('../helpers/servers/handler.py', import.meta.url));

/** The table's rows as `{ outcome, id, happened, hint }`, in order. */
function rows(stdout: string): { outcome: string; id: string; happened: string; hint?: string }[] {
  const lines = stdout.split('\n');
  const out: { outcome: string; id: string; happened: string; hint?: string }[] = [];
  lines.forEach((line, i) => {
    const m =
      /^(PASS|WARN|FAIL)\s+(\S+)\s+(2xx, fast \(< 1 s\)|2xx both times|2xx \(ignored\)|2xx|4xx \(not 5xx\)|all \d+ 2xx)\s+(.*)$/.exec(
        line,
      );
    if (!m) return;
    const hint = /^\s+hint: (.*)$/.exec(lines[i + 1] ?? '')?.[1];
    out.push({ outcome: m[1]!, id: m[2]!, happened: m[4]!, hint });
  });
  return out;
}

const failedIds = (stdout: string) =>
  rows(stdout)
    .filter((r) => r.outcome === 'FAIL')
    .map((r) => r.id);
const row = (stdout: string, id: string) => rows(stdout).find((r) => r.id === id)!;

const check = (url: string, ...args: string[]) =>
  runCli(['check', '--to', url, '--secret', SECRET, '--burst', '4', ...args], { timeoutMs: 60_000 });

/** A Python handler as a child process; resolves once it prints the URL it listens on. */
async function startPython(
  mode: string,
  secret = SECRET,
): Promise<{ url: string; child: ChildProcess; stderr: () => string; close(): Promise<void> }> {
  const child = spawn('python3', [PYTHON_HANDLER, '--mode', mode, '--secret', secret, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`python3 ${mode} did not start within 20 s: ${stderr}`)), 20_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const m = /listening on (\S+)\n/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`python3 ${mode} exited with ${code}: ${stderr}`));
    });
  });
  return {
    url,
    child,
    stderr: () => stderr,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

describe('check against real handlers (built CLI)', () => {
  const closers: { close(): Promise<void> }[] = [];
  const url: Record<string, string> = {};
  let pythonLengthCheck: Awaited<ReturnType<typeof startPython>>;
  let tmp: string;

  beforeAll(async () => {
    const node: [string, Promise<RunningServer>][] = [
      ['node correct', startCorrectServer({ secret: SECRET })],
      ['node stringify', startStringifyServer({ secret: SECRET })],
      ['node length-check', startLengthCheckServer({ secret: SECRET })],
      ['node other secret', startCorrectServer({ secret: 'whsec_the_dashboard_secret_0000' })],
    ];
    const python: [string, ReturnType<typeof startPython>][] = [
      ['python correct', startPython('correct')],
      ['python dumps', startPython('dumps')],
      ['python dumps-compact', startPython('dumps-compact')],
      ['python length-check', startPython('length-check')],
      ['python other secret', startPython('correct', 'whsec_the_dashboard_secret_0000')],
    ];
    for (const [name, started] of [...node, ...python]) {
      const server = await started;
      closers.push(server);
      url[name] = server.url;
      if (name === 'python length-check') pythonLengthCheck = server as Awaited<ReturnType<typeof startPython>>;
    }
    tmp = mkdtempSync(join(tmpdir(), 'fw-check-handlers-'));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(closers.map((s) => s.close()));
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it.each(['node correct', 'python correct'])('%s: all 17 cases pass, exit 0', async (name) => {
    const r = await check(url[name]!);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const all = rows(r.stdout);
    expect(all.map((x) => x.id)).toEqual(ALL);
    // A slow reply on a loaded machine only warns; nothing fails, and no hint but the speed one.
    for (const x of all)
      expect(
        x.outcome === 'PASS' || (x.outcome === 'WARN' && /respond quickly/.test(x.hint ?? '')),
        `${x.id}: ${x.hint}`,
      ).toBe(true);
    expect(row(r.stdout, 'raw-body.whitespace').happened).toMatch(/^indented: 200 .*; ", " and ": ": 200 /);
    expect(row(r.stdout, 'malformed-signature').happened).toMatch(
      /64 bytes, UTF-8 é: 400 .*; 64 chars, Latin-1 é: 400 /,
    );
    expect(r.stdout).toMatch(/\nOK: 17 cases, \d+ passed, \d+ warned, 0 failed in /);
    expect(r.stdout).not.toContain('secrets most likely differ');
  });

  it('node JSON.stringify(JSON.parse(body)): only the escapes, whitespace and numbers forms fail, each named, with the fix', async () => {
    const r = await check(url['node stringify']!);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    // Compact ASCII and raw UTF-8 come out of JSON.stringify byte for byte: those pass.
    expect(failedIds(r.stdout)).toEqual(['raw-body.escapes', 'raw-body.whitespace', 'raw-body.numbers']);
    for (const id of ['raw-body.escapes', 'raw-body.whitespace', 'raw-body.numbers']) {
      const hint = row(r.stdout, id).hint ?? '';
      expect(hint, id).toMatch(
        /was rejected with 400 while valid\.session\.created was accepted: the handler verifies a re-serialized body, not the bytes FaceSign signed/,
      );
      expect(hint, id).toContain(
        "verify the HMAC over the raw bytes as received (Express: express.raw({ type: 'application/json' }); Flask: request.get_data())",
      );
    }
    expect(row(r.stdout, 'raw-body.escapes').hint).toMatch(
      /^a validly signed body \(\\u00e9 and \\\/\) .*JSON\.stringify and json\.dumps write \\\/ as \//,
    );
    expect(row(r.stdout, 'raw-body.whitespace').happened).toMatch(/^indented: 400 .*; ", " and ": ": 400 /);
    expect(row(r.stdout, 'raw-body.numbers').hint).toContain('write 1.50 as 1.5');
    expect(r.stdout).toMatch(
      /FAIL: 17 cases, 14 passed, 0 warned, 3 failed \(raw-body\.escapes, raw-body\.whitespace, raw-body\.numbers\)/,
    );
    expect(r.stdout).not.toContain('secrets most likely differ');
  });

  it('python json.dumps(json.loads(body)) with the defaults: every compact body fails, its own spaced form passes, re-serialization named', async () => {
    const r = await check(url['python dumps']!);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(failedIds(r.stdout)).toEqual([...VALID, ...RAW_BODY, 'duplicate', 'unknown-type', 'burst']);
    for (const id of REJECTING) expect(row(r.stdout, id).outcome, id).toBe('PASS');
    expect(row(r.stdout, 'raw-body.whitespace').happened).toMatch(/^indented: 400 .*; ", " and ": ": 200 "OK"/);
    const accepted =
      'while raw-body.whitespace (", " and ": ") was accepted: the handler verifies a re-serialized body';
    for (const id of [...VALID, 'duplicate', 'burst']) {
      expect(row(r.stdout, id).hint, id).toContain(accepted);
      expect(row(r.stdout, id).hint, id).toContain('Flask: request.get_data()');
    }
    expect(row(r.stdout, 'raw-body.utf8').hint).toContain(
      'Python json.dumps (ensure_ascii) and PHP json_encode write é as \\u00e9',
    );
    // A re-serializer, not a wrong secret: the summary does not blame the secret.
    expect(r.stdout).not.toContain('secrets most likely differ');
  });

  it('python json.dumps with compact separators: passes the ASCII cases, fails all four raw-body forms (UTF-8 first)', async () => {
    const r = await check(url['python dumps-compact']!, '--json');
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const records = ndjson(r.stdout);
    const summary = records.at(-1)!;
    expect(summary).toMatchObject({
      type: 'summary',
      cases: 17,
      failed: 4,
      failed_ids: RAW_BODY,
      diagnosis: null,
      summary: `4 of 17 cases failed: ${RAW_BODY.join(', ')}`,
    });
    const utf8 = records.find((x) => x.id === 'raw-body.utf8')!;
    expect(utf8.hint).toMatch(
      /^a validly signed body \(raw UTF-8\) was rejected with 400 while valid\.session\.created was accepted: the handler verifies a re-serialized body/,
    );
    expect(utf8.hint).toContain('ensure_ascii');
    expect(utf8.deliveries[0]).toMatchObject({ status: 400, signature_mode: 'valid', event_type: 'session.verified' });
  });

  it.each(['node length-check', 'python length-check'])(
    '%s: the non-ASCII signatures crash it (500): malformed-signature fails with the hex-first hint',
    async (name) => {
      const r = await check(url[name]!);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(failedIds(r.stdout)).toEqual(['malformed-signature']);
      const malformed = row(r.stdout, 'malformed-signature');
      expect(malformed.happened).toMatch(
        /^wrong length: 400 .*; 64 chars, not hex: 400 .*; 64 bytes, UTF-8 é: 500 .*; 64 chars, Latin-1 é: 500 /,
      );
      expect(malformed.hint).toBe(
        'the handler crashed (500) on a 64-byte signature that is not ASCII ("64 bytes, UTF-8 é" and "64 chars, Latin-1 é"): a length check on the string passes it, then timingSafeEqual(Buffer.from(signature), …) or Python\'s hmac.compare_digest throws — check the signature is 64 lowercase hex characters (/^[0-9a-f]{64}$/) before comparing bytes, and answer 400',
      );
      expect(r.stdout).toMatch(/FAIL: 17 cases, 16 passed, 0 warned, 1 failed \(malformed-signature\)/);
    },
  );

  it('the Python handler really raised TypeError on the non-ASCII signatures (what made the 500s)', () => {
    expect(pythonLengthCheck.stderr()).toContain(
      'handler error: TypeError: comparing strings with non-ASCII characters is not supported',
    );
  });

  it('node handler with another secret: the first summary line says the secrets differ and names --secret, masked; rows point to it', async () => {
    const r = await check(url['node other secret']!);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const accepting = [...VALID, ...RAW_BODY, 'duplicate', 'unknown-type', 'burst'];
    expect(failedIds(r.stdout)).toEqual(accepting);
    for (const id of accepting)
      expect(row(r.stdout, id).hint, id).toBe(
        'rejected with 400, like every validly signed event of this run: the secrets most likely differ (see the summary)',
      );
    expect(r.stdout).not.toMatch(/re-serialized/);
    const summary = r.stdout.trimEnd().split('\n').slice(-2);
    expect(summary[0]).toBe(
      'the secrets most likely differ: every validly signed event was rejected with 4xx, in every byte form sent, and so was every bad signature. This run signed with --secret ************5b1d: give check the secret your app verifies with.',
    );
    expect(summary[1]).toMatch(/^FAIL: 17 cases, 4 passed, 0 warned, 13 failed /);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('python handler with another secret, secret from the environment: says so, masked; NDJSON and JUnit carry the diagnosis', async () => {
    const file = join(tmp, 'nested', 'other-secret.xml');
    const r = await runCli(['check', '--to', url['python other secret']!, '--burst', '4', '--json', '--output', file], {
      env: { FACESIGN_WEBHOOK_SECRET: SECRET },
      timeoutMs: 60_000,
    });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const summary = ndjson(r.stdout).at(-1)!;
    expect(summary).toMatchObject({ type: 'summary', failed: 13, diagnosis: 'secret-mismatch' });
    expect(summary.summary).toMatch(
      /^the secrets most likely differ \(every validly signed event was rejected with 4xx\); 13 of 17 cases failed: valid\.session\.created, /,
    );
    const root = parseXmlStrict(readFileSync(file, 'utf8'));
    expect(findAll(root, 'property').find((p) => p.attrs.name === 'diagnosis')?.attrs.value).toBe('secret-mismatch');
    expect(findAll(root, 'failure').map((f) => f.attrs.type)).toEqual([
      ...VALID,
      ...RAW_BODY,
      'duplicate',
      'unknown-type',
      'burst',
    ]);

    const human = await runCli(
      ['check', '--to', url['python other secret']!, '--only', 'valid,raw-body,wrong-secret'],
      { env: { FACESIGN_WEBHOOK_SECRET: SECRET }, timeoutMs: 60_000 },
    );
    expect(human.code, human.stdout + human.stderr).toBe(1);
    expect(human.stdout).toContain(
      'This run signed with $FACESIGN_WEBHOOK_SECRET (************5b1d): give check the secret your app verifies with.',
    );
    expect(human.stdout + human.stderr).not.toContain(SECRET);
  });

  describe('transport failures stop the run at the first case, with one line and a hint', () => {
    let garbage: NetServer;
    let garbageUrl: string;
    beforeAll(async () => {
      // Speaks another protocol on the port: once the request arrives, a banner, then it hangs up.
      garbage = createNetServer((socket) => socket.once('data', () => socket.end('SSH-2.0-OpenSSH_9.6\r\n')));
      await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve));
      garbageUrl = `http://127.0.0.1:${(garbage.address() as AddressInfo).port}/webhooks/facesign`;
    });
    afterAll(() => new Promise<void>((resolve) => garbage.close(() => resolve())));

    it('https:// to a plain-HTTP port: a TLS error, exit 1, no table rows, a failing JUnit report', async () => {
      const plain = url['node correct']!.replace(/^http:/, 'https:');
      const file = join(tmp, 'tls', 'report.xml');
      const r = await check(plain, '--output', file);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      const err = r.stderr.trimEnd().split('\n');
      expect(err).toHaveLength(2);
      expect(err[0]).toMatch(
        /^error: cannot reach https:\/\/127\.0\.0\.1:\d+\/webhooks\/facesign: the TLS handshake failed \(the port answered in plain HTTP\)$/,
      );
      expect(err[1]).toBe('  hint: https:// to a plain-HTTP port? use http://');
      expect(rows(r.stdout)).toHaveLength(0);
      expect(findAll(parseXmlStrict(readFileSync(file, 'utf8')), 'testsuite')[0]!.attrs).toMatchObject({
        tests: '1',
        failures: '1',
      });
    });

    it('a port that does not speak HTTP: one line saying so, exit 1, one connection per request of the first case only', async () => {
      let connections = 0;
      garbage.on('connection', () => connections++);
      const r = await check(garbageUrl, '--json');
      expect(r.code, r.stdout + r.stderr).toBe(1);
      const err = r.stderr.trimEnd().split('\n');
      expect(err).toHaveLength(2);
      expect(err[0]).toMatch(
        /^error: cannot reach http:\/\/127\.0\.0\.1:\d+\/webhooks\/facesign: the answer is not HTTP\/1\.x \(/,
      );
      expect(err[1]).toBe(
        '  hint: http:// to a TLS port? use https://; else check --to points at your web server, not another service',
      );
      const records = ndjson(r.stdout);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ type: 'summary', cases: 0, ok: false });
      expect(connections).toBe(1);
    });
  });
});
