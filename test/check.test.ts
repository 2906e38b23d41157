import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECK_CASE_IDS, planCheck, selectCases, type CheckCase } from '../src/check/cases.js';
import { judgeCase, type CheckDelivery } from '../src/check/judge.js';
import { checkEndpoint, type CheckReport } from '../src/check/run.js';
import { planReport } from '../src/commands/check.js';
import { formatJUnit } from '../src/report/junit.js';
import type { DeliveryResult } from '../src/delivery/deliver.js';
import { independentSignatureOk, startServer } from './helpers/server.js';
import { startCorrectServer } from './servers/correct.js';
import { startDocsSampleServer } from './servers/docs-sample.js';
import { startReserializedServer } from './servers/reserialized.js';
import type { RunningServer } from './servers/common.js';
import { findAll, parseXmlStrict } from './servers/strict-xml.js';
import { expectCliError } from './helpers/errors.js';

const SECRET = 'whsec_unit_check_secret';
const URL_ = 'http://127.0.0.1:9/webhooks/facesign';

function caseOf(id: string, burst = 4): CheckCase {
  const [c] = planCheck({ url: URL_, secret: SECRET, cases: [id as CheckCase['id']], burst });
  return c!;
}

function answer(status: number | undefined, latencyMs = 3, extra: Partial<DeliveryResult> = {}): DeliveryResult {
  return { ok: status !== undefined && status >= 200 && status < 300, status, responseBody: 'x', responseBytes: 1, truncated: false, latencyMs, startedAt: 0, ...extra };
}

function deliveries(c: CheckCase, results: DeliveryResult[]): CheckDelivery[] {
  return c.steps.map((s, i) => ({ label: s.label, request: s.request, result: results[i] ?? results[results.length - 1]! }));
}

describe('selectCases', () => {
  it('runs all thirteen cases in a fixed order by default', () => {
    expect(selectCases()).toEqual([...CHECK_CASE_IDS]);
    expect(CHECK_CASE_IDS).toHaveLength(13);
    expect(CHECK_CASE_IDS.slice(0, 6)).toEqual([
      'valid.session.created',
      'valid.session.started',
      'valid.session.verified',
      'valid.session.failed',
      'valid.session.cancelled',
      'valid.session.expired',
    ]);
  });

  it('narrows with --only (comma-separated, repeatable, `valid` group) and removes with --skip', () => {
    expect(selectCases(['valid,duplicate'])).toEqual([...CHECK_CASE_IDS.slice(0, 6), 'duplicate']);
    expect(selectCases(['burst', 'no-signature'])).toEqual(['no-signature', 'burst']);
    expect(selectCases(undefined, ['valid', 'burst'])).toEqual(['duplicate', 'wrong-secret', 'no-signature', 'malformed-signature', 'tampered-body', 'unknown-type']);
    expect(selectCases('valid', 'valid.session.failed')).toHaveLength(5);
  });

  it('rejects an unknown id with a usage error that lists the ids', () => {
    const err = expectCliError(() => selectCases(['valid,bogus']));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('"bogus"');
    expect(err.hint).toContain('malformed-signature');
    expect(err.hint).toContain('valid.session.expired');
    expect(expectCliError(() => selectCases(undefined, ['nope'])).message).toContain('--skip');
  });

  it('refuses a selection that leaves nothing to run', () => {
    expect(expectCliError(() => selectCases(['burst'], ['burst'])).exitCode).toBe(2);
  });
});

describe('planCheck', () => {
  const plan = planCheck({ url: URL_, secret: SECRET, burst: 7 });
  const byId = new Map(plan.map((c) => [c.id, c]));
  const sig = (c: CheckCase, i = 0) => c.steps[i]!.request.headers['FaceSign-Signature'];

  it('signs each of the six valid cases correctly, over the bytes that are sent', () => {
    for (const type of ['session.created', 'session.started', 'session.verified', 'session.failed', 'session.cancelled', 'session.expired']) {
      const c = byId.get(`valid.${type}` as CheckCase['id'])!;
      expect(c.want).toBe('accept');
      const req = c.steps[0]!.request;
      expect(JSON.parse(req.body.toString()).type).toBe(type);
      expect(independentSignatureOk(req.body, sig(c), SECRET)).toBe(true);
    }
  });

  it('gives every event a fresh id except the duplicate, which repeats identical bytes', () => {
    const ids = plan.flatMap((c) => c.steps.map((s) => s.request.eventId));
    const dup = byId.get('duplicate')!;
    expect(dup.steps).toHaveLength(2);
    expect(dup.steps[0]!.request.body.equals(dup.steps[1]!.request.body)).toBe(true);
    expect(sig(dup, 0)).toBe(sig(dup, 1));
    expect(new Set(ids).size).toBe(ids.length - 1);
  });

  it('breaks the signature on purpose in the four rejecting cases', () => {
    const wrong = byId.get('wrong-secret')!;
    expect(sig(wrong)).toMatch(/^[0-9a-f]{64}$/);
    expect(independentSignatureOk(wrong.steps[0]!.request.body, sig(wrong), SECRET)).toBe(false);

    expect(Object.keys(byId.get('no-signature')!.steps[0]!.request.headers).map((h) => h.toLowerCase())).not.toContain('facesign-signature');

    const malformed = byId.get('malformed-signature')!;
    expect(malformed.steps.map((s) => s.label)).toEqual(['wrong length', '64 chars, not hex']);
    expect(sig(malformed, 0)!.length).not.toBe(64);
    expect(sig(malformed, 1)).toHaveLength(64);
    expect(sig(malformed, 1)).not.toMatch(/^[0-9a-f]{64}$/);
    expect(malformed.steps[1]!.request.signatureMode).toBe('malformed');

    const tampered = byId.get('tampered-body')!;
    expect(sig(tampered)).toMatch(/^[0-9a-f]{64}$/);
    expect(independentSignatureOk(tampered.steps[0]!.request.body, sig(tampered), SECRET)).toBe(false);
    expect(() => JSON.parse(tampered.steps[0]!.request.body.toString())).not.toThrow();

    for (const id of ['wrong-secret', 'no-signature', 'malformed-signature', 'tampered-body'] as const) expect(byId.get(id)!.want).toBe('reject');
  });

  it('sends a validly signed event of an unknown future type', () => {
    const req = byId.get('unknown-type')!.steps[0]!.request;
    const event = JSON.parse(req.body.toString());
    expect(event.type).toBe('session.reviewed');
    expect(event.data.object).toBe('verification_session');
    expect(independentSignatureOk(req.body, req.headers['FaceSign-Signature'], SECRET)).toBe(true);
  });

  it('plans the burst as N distinct, valid, parallel events over all six types', () => {
    const burst = byId.get('burst')!;
    expect(burst.parallel).toBe(true);
    expect(burst.steps).toHaveLength(7);
    expect(new Set(burst.steps.map((s) => s.request.eventId)).size).toBe(7);
    expect(new Set(burst.steps.map((s) => s.request.eventType)).size).toBe(6);
    for (const s of burst.steps) expect(independentSignatureOk(s.request.body, s.request.headers['FaceSign-Signature'], SECRET)).toBe(true);
  });

  it('plans only the selected cases and bounds --burst', () => {
    expect(planCheck({ url: URL_, secret: SECRET, cases: ['burst'] })[0]!.steps).toHaveLength(20);
    expect(expectCliError(() => planCheck({ url: URL_, secret: SECRET, burst: 501 })).exitCode).toBe(2);
    expect(expectCliError(() => planCheck({ url: URL_, secret: SECRET, burst: 0 })).exitCode).toBe(2);
  });
});

describe('judgeCase', () => {
  const opts = { timeoutMs: 10_000 };

  it('passes a fast 2xx and warns on a slow one', () => {
    const c = caseOf('valid.session.verified');
    const fast = judgeCase(c, deliveries(c, [answer(200, 12)]), opts);
    expect(fast.outcome).toBe('pass');
    expect(fast.hint).toBeUndefined();
    const slow = judgeCase(c, deliveries(c, [answer(204, 1500)]), opts);
    expect(slow.outcome).toBe('warn');
    expect(slow.hint).toMatch(/respond quickly, process asynchronously/);
  });

  it('does not warn about a slow burst (queueing under load is expected) but fails a partial one', () => {
    const c = caseOf('burst', 4);
    expect(judgeCase(c, deliveries(c, [answer(200, 1500)]), opts).outcome).toBe('pass');
    const partial = judgeCase(c, deliveries(c, [answer(200), answer(200), answer(503), answer(503)]), opts);
    expect(partial).toMatchObject({ outcome: 'fail' });
    expect(partial.happened).toContain('2/4 2xx; 2× 503');
    expect(partial.hint).toMatch(/2 of 4 concurrent/);
  });

  it('fails a rejecting case on 5xx and 2xx, passes it on 4xx', () => {
    const c = caseOf('malformed-signature');
    expect(judgeCase(c, deliveries(c, [answer(400), answer(401)]), opts).outcome).toBe('pass');
    const crashed = judgeCase(c, deliveries(c, [answer(500), answer(400)]), opts);
    expect(crashed.outcome).toBe('fail');
    expect(crashed.hint).toMatch(/timingSafeEqual/);
    expect(crashed.hint).toMatch(/compare lengths/);
    expect(crashed.happened).toMatch(/^wrong length: 500 .*; 64 chars, not hex: 400/);
    const accepted = judgeCase(caseOf('no-signature'), deliveries(caseOf('no-signature'), [answer(200)]), opts);
    expect(accepted.outcome).toBe('fail');
    expect(accepted.hint).toMatch(/unsigned request was accepted/);
  });

  it('explains a duplicate answered with a non-2xx the second time', () => {
    const c = caseOf('duplicate');
    const r = judgeCase(c, deliveries(c, [answer(200), answer(409)]), opts);
    expect(r.outcome).toBe('fail');
    expect(r.hint).toMatch(/repeated event id is normal/);
  });

  it('turns a network error into a failure with its one-line message', () => {
    const c = caseOf('valid.session.created');
    const r = judgeCase(c, deliveries(c, [answer(undefined, 300, { error: { kind: 'timeout', message: 'timeout after 300 ms — no full response from 127.0.0.1:9' } })]), { timeoutMs: 300 });
    expect(r.outcome).toBe('fail');
    expect(r.happened).toContain('timeout after 300 ms');
    expect(r.hint).toMatch(/within 300 ms/);
  });
});

describe('formatJUnit', () => {
  function reportOf(): CheckReport {
    const valid = caseOf('valid.session.created');
    const dup = caseOf('duplicate');
    const nosig = caseOf('no-signature');
    const hostile = '<b>"x"</b> & \'q\' ]]>\u0000';
    const cases = [
      judgeCase(valid, deliveries(valid, [answer(200, 1200)]), { timeoutMs: 10_000 }),
      judgeCase(dup, deliveries(dup, [answer(200)]), { timeoutMs: 10_000 }),
      judgeCase(nosig, deliveries(nosig, [answer(500, 2, { responseBody: hostile })]), { timeoutMs: 10_000 }),
    ];
    return { url: 'http://127.0.0.1:9/hook?a=1&b="2"\u0007', cases, passed: 1, warned: 1, failed: 1, durationMs: 1234, startedAt: Date.UTC(2025, 0, 2), interrupted: false };
  }

  it('writes well-formed XML, escaping a hostile response body, with matching counts', () => {
    const report = reportOf();
    const xml = formatJUnit(report);
    const root = parseXmlStrict(xml);
    expect(root.name).toBe('testsuites');
    const [suite] = findAll(root, 'testsuite');
    expect(suite!.attrs).toMatchObject({ tests: '3', failures: '1', errors: '0' });
    expect(findAll(suite!, 'property')[0]!.attrs).toEqual({ name: 'url', value: 'http://127.0.0.1:9/hook?a=1&b="2"\uFFFD' });
    const cases = findAll(root, 'testcase');
    expect(cases.map((t) => t.attrs.name!.split(':')[0])).toEqual(['valid.session.created', 'duplicate', 'no-signature']);
    const failures = findAll(root, 'failure');
    expect(failures).toHaveLength(1);
    // The parsed attribute gives back exactly the text the table shows, markup characters and all.
    expect(failures[0]!.attrs.message).toBe(`expected 4xx (not 5xx), got ${report.cases[2]!.happened}`);
    expect(failures[0]!.attrs.message).toContain('<b>\\"x\\"</b> & \'q\' ]]>');
    expect(failures[0]!.text).toContain('hint: the handler crashed (500)');
    const out = findAll(root, 'system-out');
    expect(out).toHaveLength(1);
    expect(out[0]!.text).toMatch(/^warning: .*respond quickly/s);
    expect(xml).not.toMatch(/[\u0000\u0007]/);
  });

  it('reports an unreachable endpoint as one failing test, never an empty green suite', () => {
    const report: CheckReport = { ...reportOf(), cases: [], passed: 0, warned: 0, failed: 0, unreachable: { kind: 'refused', code: 'ECONNREFUSED', message: 'connection refused at 127.0.0.1:9' } };
    const root = parseXmlStrict(formatJUnit(report));
    expect(findAll(root, 'testsuite')[0]!.attrs).toMatchObject({ tests: '1', failures: '1' });
    expect(findAll(root, 'failure')[0]!.attrs.message).toContain('connection refused');
  });

  it('the checker itself rejects what is not well-formed', () => {
    expect(() => parseXmlStrict('<a><b></a></b>')).toThrow(/closes/);
    expect(() => parseXmlStrict('<a x="1 < 2"/>')).toThrow(/raw </);
    expect(() => parseXmlStrict('<a>AT&T</a>')).toThrow(/entity|bare &/);
    expect(() => parseXmlStrict('<a x="1" x="2"/>')).toThrow(/duplicate/);
    expect(() => parseXmlStrict('<a/><b/>')).toThrow(/after the root/);
    expect(() => parseXmlStrict('<a>\u0001</a>')).toThrow(/illegal character/);
  });
});

describe('planReport', () => {
  it('maps reporter flags, refusing combinations that fight over stdout', () => {
    expect(planReport({})).toEqual({ table: true, junit: 'none' });
    expect(planReport({ json: true })).toEqual({ table: false, junit: 'none' });
    expect(planReport({ reporter: 'junit' })).toEqual({ table: false, junit: 'stdout' });
    expect(planReport({ output: 'report.xml' })).toMatchObject({ table: true, junit: 'file' });
    expect(expectCliError(() => planReport({ reporter: 'junit', json: true })).exitCode).toBe(2);
    expect(expectCliError(() => planReport({ reporter: 'tap' })).hint).toContain('human, junit');
    expect(expectCliError(() => planReport({ reporter: 'human', output: 'x.xml' })).exitCode).toBe(2);
    expect(expectCliError(() => planReport({ output: '/no/such/dir/x.xml' })).message).toContain('no such directory');
  });
});

describe('checkEndpoint against the test servers (library API)', () => {
  const servers: RunningServer[] = [];
  let correct: RunningServer;
  let docs: RunningServer;
  let reserialized: RunningServer;

  beforeAll(async () => {
    correct = await startCorrectServer({ secret: SECRET });
    docs = await startDocsSampleServer({ secret: SECRET });
    reserialized = await startReserializedServer({ secret: SECRET });
    servers.push(correct, docs, reserialized);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('a correct handler passes every case', async () => {
    const report = await checkEndpoint({ url: correct.url, secret: SECRET, burst: 8, timeoutMs: 5_000 });
    expect(report.cases.map((c) => c.id)).toEqual([...CHECK_CASE_IDS]);
    // A fast handler passes; on a badly overloaded machine a reply may cross 1 s, which only warns.
    for (const c of report.cases) expect(c.outcome === 'pass' || (c.outcome === 'warn' && /respond quickly/.test(c.hint ?? ''))).toBe(true);
    expect(report).toMatchObject({ failed: 0, interrupted: false });
    expect(report.passed).toBeGreaterThanOrEqual(7);
    expect(correct.received).toHaveLength(6 + 2 + 1 + 1 + 2 + 1 + 1 + 8);
  });

  it("the docs' sample crashes (500) on a missing and on a short signature", async () => {
    const report = await checkEndpoint({ url: docs.url, secret: SECRET, burst: 4, timeoutMs: 5_000 });
    const failed = report.cases.filter((c) => c.outcome === 'fail');
    expect(failed.map((c) => c.id)).toEqual(['no-signature', 'malformed-signature']);
    expect(failed.every((c) => c.deliveries.some((d) => d.result.status === 500))).toBe(true);
  });

  it('a handler that verifies a re-serialized body fails every case that needs acceptance', async () => {
    const report = await checkEndpoint({ url: reserialized.url, secret: SECRET, burst: 4, timeoutMs: 5_000 });
    const byOutcome = (o: string) => report.cases.filter((c) => c.outcome === o).map((c) => c.id);
    expect(byOutcome('fail')).toEqual([...CHECK_CASE_IDS.slice(0, 6), 'duplicate', 'unknown-type', 'burst']);
    expect(byOutcome('pass')).toEqual(['wrong-secret', 'no-signature', 'malformed-signature', 'tampered-body']);
  });

  it('stops after the first case when nothing listens, and says so', async () => {
    const gone = await startServer();
    const url = gone.hookUrl;
    await gone.close();
    const report = await checkEndpoint({ url, secret: SECRET, timeoutMs: 5_000 });
    expect(report.cases).toHaveLength(0);
    expect(report.unreachable?.kind).toBe('refused');
  });
});
