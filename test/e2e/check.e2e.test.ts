import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, ndjson } from '../helpers/cli.js';
import { independentSignatureOk, startServer, type TestServer } from '../helpers/server.js';
import { startCorrectServer } from '../helpers/servers/correct.js';
import { startDocsSampleServer } from '../helpers/servers/docs-sample.js';
import { startReserializedServer } from '../helpers/servers/reserialized.js';
import type { RunningServer } from '../helpers/servers/common.js';
import { findAll, parseXmlStrict } from '../helpers/servers/strict-xml.js';

const SECRET = 'whsec_e2e_check_secret_9f2c';
const VALID = [
  'valid.session.created',
  'valid.session.started',
  'valid.session.verified',
  'valid.session.failed',
  'valid.session.cancelled',
  'valid.session.expired',
];
const RAW_BODY = ['raw-body.utf8', 'raw-body.escapes', 'raw-body.whitespace', 'raw-body.numbers'];
const ALL = [
  ...VALID,
  ...RAW_BODY,
  'duplicate',
  'wrong-secret',
  'no-signature',
  'malformed-signature',
  'tampered-body',
  'unknown-type',
  'burst',
];

/** The table's rows: `[outcome, case id, rest of the line]`, hint lines excluded. */
function tableRows(stdout: string): [string, string, string][] {
  return stdout
    .split('\n')
    .map((l) => /^(PASS|WARN|FAIL)\s+(\S+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1]!, m[2]!, m[3]!]);
}

/** The hint printed under a case's row. */
function hintFor(stdout: string, id: string): string | undefined {
  const lines = stdout.split('\n');
  const at = lines.findIndex((l) => new RegExp(`^(PASS|WARN|FAIL)\\s+${id.replace(/\./g, '\\.')}\\s`).test(l));
  const next = lines[at + 1] ?? '';
  return at >= 0 && /^\s+hint:/.test(next) ? next.trim() : undefined;
}

const check = (url: string, ...args: string[]) =>
  runCli(['check', '--to', url, '--secret', SECRET, ...args], { timeoutMs: 30_000 });

describe('check (end to end, built CLI)', () => {
  const servers: { close(): Promise<void> }[] = [];
  let correct: RunningServer;
  let docs: RunningServer;
  let reserialized: RunningServer;
  let slow: RunningServer;
  let tmp: string;

  beforeAll(async () => {
    correct = await startCorrectServer({ secret: SECRET });
    docs = await startDocsSampleServer({ secret: SECRET });
    reserialized = await startReserializedServer({ secret: SECRET });
    slow = await startCorrectServer({ secret: SECRET, delayMs: 1_200 });
    servers.push(correct, docs, reserialized, slow);
    tmp = mkdtempSync(join(tmpdir(), 'fw-check-'));
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    rmSync(tmp, { recursive: true, force: true });
  });

  it('a correct handler: every case passes, exit 0, and the server got what each case promises', async () => {
    const before = correct.received.length;
    const r = await check(correct.url);
    expect(r.stderr).toBe('');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const rows = tableRows(r.stdout);
    expect(rows.map(([, id]) => id)).toEqual(ALL);
    // Every case passes; only on a badly overloaded machine may a reply cross 1 s, which warns (never fails).
    for (const [outcome, id] of rows)
      expect(outcome === 'PASS' || (outcome === 'WARN' && /respond quickly/.test(hintFor(r.stdout, id) ?? ''))).toBe(
        true,
      );
    expect(rows.filter(([o]) => o === 'PASS').length).toBeGreaterThanOrEqual(7);
    expect(r.stdout).toMatch(/OK: 17 cases, \d+ passed, \d+ warned, 0 failed in /);
    expect(r.stdout).not.toContain(SECRET);

    const got = correct.received.slice(before);
    expect(got).toHaveLength(6 + 5 + 2 + 1 + 1 + 4 + 1 + 1 + 20);
    const valid = got.filter((g) => independentSignatureOk(g.body, g.signature, SECRET));
    // Six valid types, five raw-body bodies, the duplicate twice, the unknown type and the 20 of the burst.
    expect(valid).toHaveLength(6 + 5 + 2 + 1 + 20);
    const types = valid.map((g) => JSON.parse(g.body.toString()).type as string);
    expect(new Set(types)).toEqual(new Set([...VALID.map((v) => v.slice(6)), 'session.reviewed']));
    expect(got.filter((g) => g.signature === undefined)).toHaveLength(1);
  });

  it("a handler written like the docs' sample: no-signature and malformed-signature fail with 500, exit 1", async () => {
    const r = await check(docs.url);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const rows = tableRows(r.stdout);
    const failed = rows.filter(([o]) => o === 'FAIL');
    expect(failed.map(([, id]) => id)).toEqual(['no-signature', 'malformed-signature']);
    for (const [, , rest] of failed) expect(rest).toMatch(/\b500\b/);
    expect(rows.filter(([o]) => o === 'PASS')).toHaveLength(15);
    expect(hintFor(r.stdout, 'malformed-signature')).toMatch(
      /timingSafeEqual throws when lengths differ.*compare lengths/,
    );
    expect(hintFor(r.stdout, 'no-signature')).toMatch(/missing FaceSign-Signature/);
    expect(r.stdout).toMatch(/FAIL: 17 cases, 15 passed, 0 warned, 2 failed \(no-signature, malformed-signature\)/);
  });

  it('a handler that verifies a re-serialized body: the valid cases fail, the rejecting ones pass', async () => {
    const r = await check(reserialized.url, '--burst', '5');
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const rows = tableRows(r.stdout);
    const outcome = Object.fromEntries(rows.map(([o, id]) => [id, o]));
    for (const id of [...VALID, ...RAW_BODY]) expect(outcome[id]).toBe('FAIL');
    for (const id of ['duplicate', 'unknown-type', 'burst']) expect(outcome[id]).toBe('FAIL');
    for (const id of ['wrong-secret', 'no-signature', 'malformed-signature', 'tampered-body'])
      expect(outcome[id]).toBe('PASS');
    expect(rows.find(([, id]) => id === 'valid.session.verified')![2]).toContain('400 "Invalid signature"');
    expect(hintFor(r.stdout, 'valid.session.created')).toMatch(/raw body bytes as received \(not a re-serialized/);
  });

  it('--json: one NDJSON object per case, then a summary, and nothing else on stdout', async () => {
    const r = await check(docs.url, '--json', '--burst', '3');
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const records = ndjson(r.stdout);
    expect(records).toHaveLength(18);
    const cases = records.slice(0, 17);
    expect(cases.every((c) => c.type === 'case')).toBe(true);
    expect(cases.map((c) => c.id)).toEqual(ALL);
    const nosig = cases.find((c) => c.id === 'no-signature')!;
    expect(nosig).toMatchObject({ outcome: 'fail', expected: '4xx (not 5xx)' });
    expect(nosig.deliveries[0]).toMatchObject({ status: 500, signature_mode: 'missing', ok: false });
    expect(nosig.hint).toMatch(/answer 400/);
    expect(cases.find((c) => c.id === 'burst')!.deliveries).toHaveLength(3);
    expect(records[17]).toMatchObject({
      type: 'summary',
      cases: 17,
      passed: 15,
      warned: 0,
      failed: 2,
      failed_ids: ['no-signature', 'malformed-signature'],
      diagnosis: null,
      summary: '2 of 17 cases failed: no-signature, malformed-signature',
      ok: false,
      unreachable: null,
    });
    expect(cases.find((c) => c.id === 'duplicate')!.note).toMatch(/not whether the work ran twice/);
    expect(
      cases.find((c) => c.id === 'malformed-signature')!.deliveries.map((d: { status: number }) => d.status),
    ).toEqual([500, 400, 500, 500]);
  });

  it('--reporter junit --output: well-formed XML whose counts match the NDJSON of the same run', async () => {
    const file = join(tmp, 'docs.xml');
    const r = await check(docs.url, '--json', '--reporter', 'junit', '--output', file, '--burst', '3');
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const records = ndjson(r.stdout);
    const summary = records.at(-1)!;
    const root = parseXmlStrict(readFileSync(file, 'utf8'));
    const suite = findAll(root, 'testsuite')[0]!;
    expect(Number(suite.attrs.tests)).toBe(summary.cases);
    expect(Number(suite.attrs.failures)).toBe(summary.failed);
    const testcases = findAll(root, 'testcase');
    expect(testcases).toHaveLength(17);
    const failedNames = testcases
      .filter((t) => findAll(t, 'failure').length > 0)
      .map((t) => t.attrs.name!.split(':')[0]);
    expect(failedNames).toEqual(summary.failed_ids);
    expect(findAll(root, 'failure')[0]!.attrs.message).toMatch(/^expected 4xx \(not 5xx\), got 500/);
  });

  it('--output with the table: the JUnit report counts the same passes and failures as the table', async () => {
    const file = join(tmp, 'reserialized.xml');
    const r = await check(reserialized.url, '--output', file, '--burst', '2');
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toContain(`JUnit report written to ${file}`);
    const rows = tableRows(r.stdout);
    const root = parseXmlStrict(readFileSync(file, 'utf8'));
    const testcases = findAll(root, 'testcase');
    const junitFailed = testcases
      .filter((t) => findAll(t, 'failure').length > 0)
      .map((t) => t.attrs.name!.split(':')[0]);
    const junitPassed = testcases.filter((t) => t.children.length === 0).map((t) => t.attrs.name!.split(':')[0]);
    expect(junitFailed).toEqual(rows.filter(([o]) => o === 'FAIL').map(([, id]) => id));
    expect(junitPassed).toEqual(rows.filter(([o]) => o === 'PASS').map(([, id]) => id));
    expect(findAll(root, 'testsuite')[0]!.attrs).toMatchObject({ tests: '17', failures: String(junitFailed.length) });
  });

  it('--output into a folder that does not exist yet creates it (the CI recipe)', async () => {
    const file = join(tmp, 'reports', 'ci', 'facesign-check.xml');
    const r = await check(correct.url, '--output', file, '--only', 'wrong-secret');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(
      findAll(parseXmlStrict(readFileSync(file, 'utf8')), 'testcase').map((t) => t.attrs.name!.split(':')[0]),
    ).toEqual(['wrong-secret']);
  });

  it('--reporter junit without --output prints only the XML on stdout', async () => {
    const r = await check(correct.url, '--reporter', 'junit', '--only', 'wrong-secret,unknown-type');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const root = parseXmlStrict(r.stdout);
    expect(findAll(root, 'testcase').map((t) => t.attrs.name!.split(':')[0])).toEqual(['wrong-secret', 'unknown-type']);
    expect(findAll(root, 'testsuite')[0]!.attrs).toMatchObject({ tests: '2', failures: '0' });
  });

  it('--only and --skip choose the cases, and only those are sent', async () => {
    const before = correct.received.length;
    const r = await check(correct.url, '--only', 'valid,duplicate', '--skip', 'valid.session.expired');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(tableRows(r.stdout).map(([, id]) => id)).toEqual([...VALID.slice(0, 5), 'duplicate']);
    expect(correct.received.length - before).toBe(5 + 2);
    expect(r.stdout).toContain('6 of 17 cases');
  });

  it('--burst N sends N distinct, validly signed events', async () => {
    const before = correct.received.length;
    const r = await check(correct.url, '--only', 'burst', '--burst', '7');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const got = correct.received.slice(before);
    expect(got).toHaveLength(7);
    expect(new Set(got.map((g) => g.eventId)).size).toBe(7);
    expect(got.every((g) => independentSignatureOk(g.body, g.signature, SECRET))).toBe(true);
    expect(tableRows(r.stdout)[0]).toEqual(['PASS', 'burst', expect.stringContaining('7/7 2xx')]);
  });

  it('a handler slower than 1 s gets a warning, and still exit 0', async () => {
    const r = await check(slow.url, '--only', 'valid.session.verified,wrong-secret');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const rows = tableRows(r.stdout);
    expect(rows.map(([o, id]) => [o, id])).toEqual([
      ['WARN', 'valid.session.verified'],
      ['PASS', 'wrong-secret'],
    ]);
    expect(hintFor(r.stdout, 'valid.session.verified')).toMatch(/respond quickly, process asynchronously/);
    expect(r.stdout).toMatch(/OK: 2 cases, 1 passed, 1 warned, 0 failed/);
  });

  describe('against endpoints that misbehave on the wire', () => {
    let hanging: TestServer;
    beforeAll(async () => {
      // Reads the request, never answers: only the --timeout ends each attempt.
      hanging = await startServer(() => undefined);
      servers.push(hanging);
    });

    it('a handler that never answers fails within --timeout', async () => {
      const r = await check(hanging.hookUrl, '--only', 'valid.session.created', '--timeout', '300');
      expect(r.code, r.stdout + r.stderr).toBe(1);
      const [row] = tableRows(r.stdout);
      expect(row![0]).toBe('FAIL');
      expect(row![2]).toContain('timeout after 300 ms');
      expect(hanging.requests).toHaveLength(1);
    });

    it('connection refused: one line on stderr (is your app running?), exit 1, and a failing JUnit report', async () => {
      const gone = await startServer();
      const url = gone.hookUrl;
      await gone.close();
      const file = join(tmp, 'refused.xml');
      const r = await check(url, '--output', file);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      const errLines = r.stderr.trim().split('\n');
      expect(errLines).toHaveLength(1);
      expect(errLines[0]).toMatch(/^error: connection refused at .* — is your app running\?/);
      expect(tableRows(r.stdout)).toHaveLength(0);
      const root = parseXmlStrict(readFileSync(file, 'utf8'));
      expect(findAll(root, 'testsuite')[0]!.attrs).toMatchObject({ tests: '1', failures: '1' });
    });
  });

  // Concurrent: none of these sends anything, so the server's count stays a fair witness.
  describe.concurrent('usage errors (exit 2, nothing sent)', () => {
    it.for([
      [
        ['--only', 'valid,bogus'],
        /--only: unknown case "bogus"[\s\S]*hint: case ids: valid\.session\.created, .*burst/,
      ],
      [['--skip', 'nope'], /--skip: unknown case "nope"/],
      [['--burst', '0'], /--burst/],
      [['--burst', '501'], /--burst must be a whole number from 1 to 500/],
      [['--reporter', 'junit', '--json'], /both want stdout/],
      [['--reporter', 'tap'], /unknown --reporter "tap"/],
      [
        ['--output', '/proc/facesign-check/report.xml'],
        /^error: cannot write --output "\/proc\/facesign-check\/report\.xml": /,
      ],
      [
        ['--output', '/dev/null/report.xml'],
        /^error: cannot write --output "\/dev\/null\/report\.xml": \/dev\/null is not a folder/,
      ],
      [
        ['--only', 'valid', '--burst', '5'],
        /^error: --burst has no effect: --only leaves out the burst case\n {2}hint: add burst to --only, or drop --burst/,
      ],
      [['--skip', 'burst', '--burst', '5'], /^error: --burst has no effect: --skip leaves out the burst case/],
    ] as [string[], RegExp][])('%j', async ([args, message], { expect }) => {
      const before = correct.received.length;
      const r = await check(correct.url, ...args);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
      expect(correct.received.length).toBe(before);
    });

    it('no secret anywhere (and no terminal) is a usage error', async ({ expect }) => {
      const r = await runCli(['check', '--to', correct.url]);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toMatch(/no webhook secret/);
    });

    it('--help shows an example and the case ids', async ({ expect }) => {
      const r = await runCli(['check', '--help']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain('$ facesign-webhooks check --to localhost:3000');
      expect(r.stdout).toContain('malformed-signature');
      for (const id of RAW_BODY) expect(r.stdout).toContain(id);
      expect(r.stdout).toContain('raw-body = the four raw-body.*');
    });
  });
});
