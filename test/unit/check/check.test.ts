import { spawnSync } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECK_CASE_IDS, planCheck, selectCases, type CheckCase } from '../../../src/check/cases.js';
import { judgeCase, readFindings, type CheckDelivery, type DeliveredCase } from '../../../src/check/judge.js';
import { checkEndpoint, type CheckReport } from '../../../src/check/run.js';
import { planReport } from '../../../src/commands/check.js';
import { formatJUnit } from '../../../src/report/junit.js';
import { serializeRequest, wireTarget } from '../../../src/delivery/wire.js';
import { checkEventShape } from '../../../src/verify/shape.js';
import type { DeliveryResult } from '../../../src/delivery/deliver.js';
import { independentSignatureOk, startServer } from '../../helpers/server.js';
import { startCorrectServer } from '../../helpers/servers/correct.js';
import { startDocsSampleServer } from '../../helpers/servers/docs-sample.js';
import { startReserializedServer } from '../../helpers/servers/reserialized.js';
import type { RunningServer } from '../../helpers/servers/common.js';
import { findAll, parseXmlStrict } from '../../helpers/servers/strict-xml.js';
import { expectCliError } from '../../helpers/errors.js';

const SECRET = 'whsec_unit_check_secret';
const URL_ = 'http://127.0.0.1:9/webhooks/facesign';

function caseOf(id: string, burst = 4): CheckCase {
  const [c] = planCheck({ url: URL_, secret: SECRET, cases: [id as CheckCase['id']], burst });
  return c!;
}

function answer(status: number | undefined, latencyMs = 3, extra: Partial<DeliveryResult> = {}): DeliveryResult {
  return {
    ok: status !== undefined && status >= 200 && status < 300,
    status,
    responseBody: 'x',
    responseBytes: 1,
    truncated: false,
    latencyMs,
    startedAt: 0,
    ...extra,
  };
}

function deliveries(c: CheckCase, results: DeliveryResult[]): CheckDelivery[] {
  return c.steps.map((s, i) => ({
    label: s.label,
    request: s.request,
    result: results[i] ?? results[results.length - 1]!,
  }));
}

describe('selectCases', () => {
  it('runs all seventeen cases in a fixed order by default', () => {
    expect(selectCases()).toEqual([...CHECK_CASE_IDS]);
    expect(CHECK_CASE_IDS).toHaveLength(17);
    expect(CHECK_CASE_IDS.slice(0, 6)).toEqual([
      'valid.session.created',
      'valid.session.started',
      'valid.session.verified',
      'valid.session.failed',
      'valid.session.cancelled',
      'valid.session.expired',
    ]);
    expect(CHECK_CASE_IDS.slice(6, 10)).toEqual([
      'raw-body.utf8',
      'raw-body.escapes',
      'raw-body.whitespace',
      'raw-body.numbers',
    ]);
  });

  it('narrows with --only (comma-separated, repeatable, `valid` group) and removes with --skip', () => {
    expect(selectCases(['valid,duplicate'])).toEqual([...CHECK_CASE_IDS.slice(0, 6), 'duplicate']);
    expect(selectCases(['burst', 'no-signature'])).toEqual(['no-signature', 'burst']);
    expect(selectCases(undefined, ['valid', 'raw-body', 'burst'])).toEqual([
      'duplicate',
      'wrong-secret',
      'no-signature',
      'malformed-signature',
      'tampered-body',
      'unknown-type',
    ]);
    expect(selectCases('valid', 'valid.session.failed')).toHaveLength(5);
    expect(selectCases('raw-body,duplicate')).toEqual([
      'raw-body.utf8',
      'raw-body.escapes',
      'raw-body.whitespace',
      'raw-body.numbers',
      'duplicate',
    ]);
    expect(selectCases('RAW-BODY', 'raw-body.numbers')).toEqual([
      'raw-body.utf8',
      'raw-body.escapes',
      'raw-body.whitespace',
    ]);
  });

  it('rejects an unknown id with a usage error that lists the ids', () => {
    const err = expectCliError(() => selectCases(['valid,bogus']));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('"bogus"');
    expect(err.hint).toContain('malformed-signature');
    expect(err.hint).toContain('valid.session.expired');
    expect(err.hint).toContain('raw-body.whitespace');
    expect(err.hint).toContain('groups valid, raw-body');
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
    for (const type of [
      'session.created',
      'session.started',
      'session.verified',
      'session.failed',
      'session.cancelled',
      'session.expired',
    ]) {
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

    expect(Object.keys(byId.get('no-signature')!.steps[0]!.request.headers).map((h) => h.toLowerCase())).not.toContain(
      'facesign-signature',
    );

    const malformed = byId.get('malformed-signature')!;
    expect(malformed.steps.map((s) => s.label)).toEqual([
      'wrong length',
      '64 chars, not hex',
      '64 bytes, UTF-8 é',
      '64 chars, Latin-1 é',
    ]);
    expect(sig(malformed, 0)!.length).not.toBe(64);
    expect(sig(malformed, 1)).toHaveLength(64);
    expect(sig(malformed, 1)).not.toMatch(/^[0-9a-f]{64}$/);
    expect(malformed.steps.every((s) => s.request.signatureMode === 'malformed')).toBe(true);

    const tampered = byId.get('tampered-body')!;
    expect(sig(tampered)).toMatch(/^[0-9a-f]{64}$/);
    expect(independentSignatureOk(tampered.steps[0]!.request.body, sig(tampered), SECRET)).toBe(false);
    expect(() => JSON.parse(tampered.steps[0]!.request.body.toString())).not.toThrow();

    for (const id of ['wrong-secret', 'no-signature', 'malformed-signature', 'tampered-body'] as const)
      expect(byId.get(id)!.want).toBe('reject');
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
    for (const s of burst.steps)
      expect(independentSignatureOk(s.request.body, s.request.headers['FaceSign-Signature'], SECRET)).toBe(true);
  });

  it('plans only the selected cases and bounds --burst', () => {
    expect(planCheck({ url: URL_, secret: SECRET, cases: ['burst'] })[0]!.steps).toHaveLength(20);
    expect(expectCliError(() => planCheck({ url: URL_, secret: SECRET, burst: 501 })).exitCode).toBe(2);
    expect(expectCliError(() => planCheck({ url: URL_, secret: SECRET, burst: 0 })).exitCode).toBe(2);
  });
});

/** Re-serializes each body the way common handlers do, with real python3 for the Python families. */
function reserializations(bodies: Buffer[]): Record<string, Buffer[]> {
  const script = [
    'import base64, json, sys',
    'bodies = [base64.b64decode(b) for b in json.load(sys.stdin)]',
    'forms = {',
    '  "python default": lambda o: json.dumps(o),',
    '  "python compact": lambda o: json.dumps(o, separators=(",", ":")),',
    '  "python compact, ensure_ascii=False": lambda o: json.dumps(o, separators=(",", ":"), ensure_ascii=False),',
    '  "python indent=2": lambda o: json.dumps(o, indent=2),',
    '}',
    'out = {name: [base64.b64encode(f(json.loads(b)).encode("utf-8")).decode() for b in bodies] for name, f in forms.items()}',
    'json.dump(out, sys.stdout)',
  ].join('\n');
  const run = spawnSync('python3', ['-c', script], {
    input: JSON.stringify(bodies.map((b) => b.toString('base64'))),
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (run.status !== 0) throw new Error(`python3 failed: ${run.stderr}`);
  const python = JSON.parse(run.stdout) as Record<string, string[]>;
  return {
    'node JSON.stringify': bodies.map((b) => Buffer.from(JSON.stringify(JSON.parse(b.toString('utf8'))), 'utf8')),
    'node JSON.stringify(v, null, 2)': bodies.map((b) =>
      Buffer.from(JSON.stringify(JSON.parse(b.toString('utf8')), null, 2), 'utf8'),
    ),
    ...Object.fromEntries(
      Object.entries(python).map(([name, list]) => [name, list.map((b) => Buffer.from(b, 'base64'))]),
    ),
  };
}

describe('planCheck: the raw-body cases', () => {
  const plan = planCheck({ url: URL_, secret: SECRET, burst: 2 });
  const raw = plan.filter((c) => c.id.startsWith('raw-body.'));
  const steps = raw.flatMap((c) => c.steps.map((s) => ({ id: c.id, label: s.label, request: s.request })));

  it('sends valid JSON of valid events of real types, validly signed over the exact bytes sent', () => {
    expect(raw.map((c) => c.id)).toEqual([
      'raw-body.utf8',
      'raw-body.escapes',
      'raw-body.whitespace',
      'raw-body.numbers',
    ]);
    expect(steps).toHaveLength(5);
    for (const { request } of steps) {
      const event = JSON.parse(request.body.toString('utf8'));
      expect(['session.verified', 'session.failed']).toContain(event.type);
      expect(event.type).toBe(request.eventType);
      expect(checkEventShape(request.body, { list: Object.entries(request.headers), complete: true }).warnings).toEqual(
        [],
      );
      expect(independentSignatureOk(request.body, request.headers['FaceSign-Signature'], SECRET)).toBe(true);
    }
    expect(raw.every((c) => c.want === 'accept')).toBe(true);
    expect(new Set(steps.map((s) => s.request.eventId)).size).toBe(5);
  });

  it('writes each byte form as promised', () => {
    const body = (id: string, i = 0) => raw.find((c) => c.id === id)!.steps[i]!.request.body;
    const utf8 = body('raw-body.utf8');
    expect(utf8.includes(Buffer.from('"first_name":"José","last_name":"Müller"', 'utf8'))).toBe(true);
    expect(utf8.includes(Buffer.from('東京', 'utf8'))).toBe(true);
    const escapes = body('raw-body.escapes');
    expect(escapes.every((b) => b < 0x80)).toBe(true);
    expect(escapes.toString()).toContain('"first_name":"Jos\\u00e9"');
    expect(escapes.toString()).toContain('"return_url":"https:\\/\\/example.com\\/kyc\\/done"');
    expect(JSON.parse(escapes.toString()).data.verified_outputs).toMatchObject({
      first_name: 'José',
      last_name: 'Müller',
    });
    expect(body('raw-body.whitespace', 0).toString()).toMatch(/^\{\n {2}"id": "evt_/);
    expect(body('raw-body.whitespace', 1).toString()).toMatch(/^\{"id": "evt_\w+", "object": "event", /);
    expect(body('raw-body.numbers').toString()).toContain('"plan_price":1.50,"discount_rate":0.10');
  });

  it('every common re-serializer changes at least one raw-body step, and reproduces some validly signed body of the plan', () => {
    const accepting = plan
      .filter((c) => c.want === 'accept')
      .flatMap((c) => c.steps.map((s) => ({ id: c.id, label: s.label, body: s.request.body })));
    const all = reserializations(accepting.map((a) => a.body));
    expect(Object.keys(all)).toHaveLength(6);
    for (const [family, outputs] of Object.entries(all)) {
      const same = accepting.filter((a, i) => outputs[i]!.equals(a.body));
      const changedRaw = accepting.filter((a, i) => a.id.startsWith('raw-body.') && !outputs[i]!.equals(a.body));
      // The family fails a raw-body case...
      expect(changedRaw.length, family).toBeGreaterThan(0);
      // ...and accepts something, so its refusals are not mistaken for a wrong secret.
      expect(same.length, family).toBeGreaterThan(0);
    }
    const at = (id: string, label?: string) =>
      accepting.findIndex((a) => a.id === id && (label === undefined || a.label === label));
    const node = all['node JSON.stringify']!;
    expect(node[at('raw-body.utf8')]!.equals(accepting[at('raw-body.utf8')]!.body)).toBe(true);
    for (const id of ['raw-body.escapes', 'raw-body.numbers'])
      expect(node[at(id)]!.equals(accepting[at(id)]!.body), id).toBe(false);
    const py = all['python default']!;
    expect(
      py[at('raw-body.whitespace', '", " and ": "')]!.equals(
        accepting[at('raw-body.whitespace', '", " and ": "')]!.body,
      ),
    ).toBe(true);
    expect(py[at('valid.session.created')]!.equals(accepting[at('valid.session.created')]!.body)).toBe(false);
    expect(py[at('raw-body.utf8')]!.toString()).toContain('"first_name": "Jos\\u00e9"');
    expect(all['python compact']![at('raw-body.utf8')]!.equals(accepting[at('raw-body.utf8')]!.body)).toBe(false);
    expect(
      all['python indent=2']![at('raw-body.whitespace', 'indented')]!.equals(
        accepting[at('raw-body.whitespace', 'indented')]!.body,
      ),
    ).toBe(true);
  });
});

describe('planCheck: signatures that are not ASCII', () => {
  const malformed = planCheck({ url: URL_, secret: SECRET, cases: ['malformed-signature'] })[0]!;
  const step = (label: string) => malformed.steps.find((s) => s.label === label)!.request;

  it('are 64 bytes on the wire, hold a byte of 0x80 or more, and are not 64 bytes of UTF-8', () => {
    for (const label of ['64 bytes, UTF-8 é', '64 chars, Latin-1 é']) {
      const sig = step(label).headers['FaceSign-Signature']!;
      expect(sig, label).toHaveLength(64);
      expect(Buffer.byteLength(sig, 'latin1'), label).toBe(64);
      expect(
        [...Buffer.from(sig, 'latin1')].some((b) => b >= 0x80),
        label,
      ).toBe(true);
      // What Buffer.from(signature) makes of it: not 64 bytes, so timingSafeEqual against a 64-byte digest throws.
      expect(Buffer.from(sig).length, label).not.toBe(64);
      expect(() => timingSafeEqual(Buffer.from(sig), Buffer.alloc(64)), label).toThrow();
      expect(/^[0-9a-f]{64}$/.test(sig), label).toBe(false);
    }
    expect(
      Buffer.from(step('64 bytes, UTF-8 é').headers['FaceSign-Signature']!, 'latin1')
        .subarray(62)
        .equals(Buffer.from('é', 'utf8')),
    ).toBe(true);
    expect(Buffer.from(step('64 chars, Latin-1 é').headers['FaceSign-Signature']!, 'latin1')[63]).toBe(0xe9);
  });

  it('go on the wire byte for byte', () => {
    const req = step('64 bytes, UTF-8 é');
    const wire = serializeRequest(req, wireTarget(req.url));
    const line = Buffer.concat([
      Buffer.from('FaceSign-Signature: ', 'latin1'),
      Buffer.from(req.headers['FaceSign-Signature']!, 'latin1'),
      Buffer.from('\r\n', 'latin1'),
    ]);
    expect(wire.includes(line)).toBe(true);
    expect(line.subarray(-4, -2).equals(Buffer.from([0xc3, 0xa9]))).toBe(true);
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
    const r = judgeCase(
      c,
      deliveries(c, [
        answer(undefined, 300, {
          error: { kind: 'timeout', message: 'timeout after 300 ms — no full response from 127.0.0.1:9' },
        }),
      ]),
      { timeoutMs: 300 },
    );
    expect(r.outcome).toBe('fail');
    expect(r.happened).toContain('timeout after 300 ms');
    expect(r.hint).toMatch(/within 300 ms/);
  });

  it('names re-serialization and the fix when a raw-body form is refused, and what was accepted', () => {
    const c = caseOf('raw-body.escapes');
    const r = judgeCase(c, deliveries(c, [answer(400)]), { ...opts, accepted: 'valid.session.created' });
    expect(r.outcome).toBe('fail');
    expect(r.hint).toMatch(
      /\(\\u00e9 and \\\/\) was rejected with 400 while valid\.session\.created was accepted: the handler verifies a re-serialized body/,
    );
    expect(r.hint).toContain('JSON.stringify and json.dumps write \\/ as /');
    expect(r.hint).toContain("express.raw({ type: 'application/json' })");
    expect(r.hint).toContain('request.get_data()');
    const ws = caseOf('raw-body.whitespace');
    const partly = judgeCase(ws, deliveries(ws, [answer(200), answer(400)]), {
      ...opts,
      accepted: 'raw-body.whitespace (indented)',
    });
    expect(partly.hint).toMatch(
      /^a validly signed body \(", " and ": "\) was rejected with 400 while raw-body\.whitespace \(indented\) was accepted/,
    );
    expect(partly.happened).toMatch(/^indented: 200 .*; ", " and ": ": 400/);
    const crashed = judgeCase(caseOf('raw-body.utf8'), deliveries(caseOf('raw-body.utf8'), [answer(500)]), opts);
    expect(crashed.hint).toMatch(/failed \(500\) on a valid event written as raw UTF-8/);
  });

  it('says a valid.* refusal is re-serialization when another signed body got through, and names the secret otherwise', () => {
    const c = caseOf('valid.session.verified');
    expect(
      judgeCase(c, deliveries(c, [answer(400)]), { ...opts, accepted: 'raw-body.whitespace (indented)' }).hint,
    ).toMatch(
      /rejected with 400 while raw-body\.whitespace \(indented\) was accepted: the handler verifies a re-serialized body; verify the HMAC-SHA256 of the raw body bytes as received/,
    );
    expect(judgeCase(c, deliveries(c, [answer(401)]), opts).hint).toMatch(
      /rejected with 401: verify .* with the endpoint secret$/,
    );
    const mismatch = judgeCase(c, deliveries(c, [answer(401)]), { ...opts, diagnosis: 'secret-mismatch' });
    expect(mismatch.hint).toBe(
      'rejected with 401, like every validly signed event of this run: the secrets most likely differ (see the summary)',
    );
    // A 404 is a path problem whatever the run says.
    expect(judgeCase(c, deliveries(c, [answer(404)]), { ...opts, diagnosis: 'secret-mismatch' }).hint).toMatch(
      /nothing handles POST/,
    );
  });

  it('names the non-ASCII signatures that crashed the handler and asks for the hex check first', () => {
    const c = caseOf('malformed-signature');
    const r = judgeCase(c, deliveries(c, [answer(400), answer(400), answer(500), answer(500)]), opts);
    expect(r.outcome).toBe('fail');
    expect(r.hint).toBe(
      'the handler crashed (500) on a 64-byte signature that is not ASCII ("64 bytes, UTF-8 é" and "64 chars, Latin-1 é"): a length check on the string passes it, then timingSafeEqual(Buffer.from(signature), …) or Python\'s hmac.compare_digest throws — check the signature is 64 lowercase hex characters (/^[0-9a-f]{64}$/) before comparing bytes, and answer 400',
    );
    const docs = judgeCase(c, deliveries(c, [answer(500), answer(400), answer(500), answer(400)]), opts);
    expect(docs.hint).toMatch(
      /^the handler crashed \(500\) on a signature of the wrong length \(and on 64-byte signatures that are not ASCII: "64 bytes, UTF-8 é"\): crypto\.timingSafeEqual throws/,
    );
    expect(docs.hint).toContain('/^[0-9a-f]{64}$/');
  });

  it('notes on the duplicate row what check cannot see, whatever the outcome', () => {
    const c = caseOf('duplicate');
    const pass = judgeCase(c, deliveries(c, [answer(200), answer(200)]), opts);
    expect(pass.outcome).toBe('pass');
    expect(pass.hint).toBeUndefined();
    expect(pass.note).toMatch(
      /status codes only, not whether the work ran twice: assert on side effects .*README, "Use it as a library"/,
    );
    expect(judgeCase(c, deliveries(c, [answer(200), answer(500)]), opts).note).toBe(pass.note);
    expect(
      judgeCase(caseOf('valid.session.created'), deliveries(caseOf('valid.session.created'), [answer(200)]), opts).note,
    ).toBeUndefined();
  });
});

describe('readFindings (the secret diagnosis)', () => {
  const plan = planCheck({ url: URL_, secret: SECRET, burst: 3 });
  /** Every case of the plan answered by `status(case)` (a number for all its deliveries). */
  const run = (status: (c: CheckCase) => number | number[], cases = plan): DeliveredCase[] =>
    cases.map((c) => {
      const s = status(c);
      return {
        c,
        deliveries: deliveries(
          c,
          (Array.isArray(s) ? s : [s]).map((n) => answer(n)),
        ),
      };
    });
  const wrongSecret = (c: CheckCase) => (c.want === 'accept' ? 400 : 401);

  it('says the secrets differ when every signed event and every bad one got a 4xx, over the whole plan', () => {
    expect(readFindings(run(wrongSecret), true)).toEqual({
      settled: true,
      diagnosis: 'secret-mismatch',
      accepted: undefined,
    });
    // A crash on a bad signature is another bug, not evidence against a wrong secret.
    expect(
      readFindings(
        run((c) => (c.id === 'no-signature' ? 500 : wrongSecret(c))),
        true,
      ).diagnosis,
    ).toBe('secret-mismatch');
  });

  it('holds back while only refusals have been seen, and settles at the first accepted signed event', () => {
    const done = run(wrongSecret);
    expect(readFindings(done.slice(0, 10), false)).toEqual({
      settled: false,
      accepted: undefined,
      diagnosis: undefined,
    });
    const py = run((c) => (c.id === 'raw-body.whitespace' ? [400, 200] : wrongSecret(c)));
    expect(readFindings(py.slice(0, 9), false)).toEqual({
      settled: true,
      accepted: 'raw-body.whitespace (", " and ": ")',
      diagnosis: undefined,
    });
    expect(readFindings(py, true).diagnosis).toBeUndefined();
  });

  it('does not say it when something else explains the picture', () => {
    // A bad signature accepted, a missing route, a crash on a valid event.
    expect(
      readFindings(
        run((c) => (c.id === 'wrong-secret' ? 200 : wrongSecret(c))),
        true,
      ),
    ).toMatchObject({ settled: true, diagnosis: undefined });
    expect(
      readFindings(
        run(() => 404),
        true,
      ).diagnosis,
    ).toBeUndefined();
    expect(
      readFindings(
        run((c) => (c.id === 'valid.session.created' ? 500 : wrongSecret(c))),
        true,
      ).diagnosis,
    ).toBeUndefined();
    // Not the whole plan (interrupted), or no body in the indented and spaced forms: a re-serializer cannot be ruled out.
    expect(readFindings(run(wrongSecret), false).diagnosis).toBeUndefined();
    expect(
      readFindings(
        run(
          wrongSecret,
          plan.filter((c) => c.id !== 'raw-body.whitespace'),
        ),
        true,
      ).diagnosis,
    ).toBeUndefined();
    expect(
      readFindings(
        run(
          wrongSecret,
          plan.filter((c) => c.id.startsWith('raw-body.whitespace') || c.want === 'reject'),
        ),
        true,
      ).diagnosis,
    ).toBeUndefined();
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
    return {
      url: 'http://127.0.0.1:9/hook?a=1&b="2"\u0007',
      cases,
      passed: 1,
      warned: 1,
      failed: 1,
      failedIds: ['no-signature'],
      summary: '1 of 3 cases failed: no-signature',
      durationMs: 1234,
      startedAt: Date.UTC(2025, 0, 2),
      interrupted: false,
    };
  }

  it('writes well-formed XML, escaping a hostile response body, with matching counts', () => {
    const report = reportOf();
    const xml = formatJUnit(report);
    const root = parseXmlStrict(xml);
    expect(root.name).toBe('testsuites');
    const [suite] = findAll(root, 'testsuite');
    expect(suite!.attrs).toMatchObject({ tests: '3', failures: '1', errors: '0' });
    expect(findAll(suite!, 'property')[0]!.attrs).toEqual({
      name: 'url',
      value: 'http://127.0.0.1:9/hook?a=1&b="2"\uFFFD',
    });
    const cases = findAll(root, 'testcase');
    expect(cases.map((t) => t.attrs.name!.split(':')[0])).toEqual([
      'valid.session.created',
      'duplicate',
      'no-signature',
    ]);
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
    const report: CheckReport = {
      ...reportOf(),
      cases: [],
      passed: 0,
      warned: 0,
      failed: 0,
      unreachable: { kind: 'refused', code: 'ECONNREFUSED', message: 'connection refused at 127.0.0.1:9' },
    };
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
  });

  it('accepts an --output whose folder is missing (written later, folder and all), refuses one that cannot be written', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'fw-plan-report-'));
    try {
      const nested = join(tmp, 'reports', 'ci', 'x.xml');
      expect(planReport({ output: nested })).toEqual({ table: true, junit: 'file', outputPath: nested });
      writeFileSync(join(tmp, 'file'), 'x');
      const underFile = expectCliError(() => planReport({ output: join(tmp, 'file', 'sub', 'x.xml') }));
      expect(underFile.exitCode).toBe(2);
      expect(underFile.message).toBe(
        `cannot write --output "${join(tmp, 'file', 'sub', 'x.xml')}": ${join(tmp, 'file')} is not a folder`,
      );
      expect(expectCliError(() => planReport({ output: tmp })).message).toMatch(/: it is a folder$/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('checkEndpoint against the test servers (library API)', () => {
  const servers: RunningServer[] = [];
  let correct: RunningServer;
  let docs: RunningServer;
  let reserialized: RunningServer;
  let other: RunningServer;

  beforeAll(async () => {
    correct = await startCorrectServer({ secret: SECRET });
    docs = await startDocsSampleServer({ secret: SECRET });
    reserialized = await startReserializedServer({ secret: SECRET });
    other = await startCorrectServer({ secret: 'whsec_some_other_secret' });
    servers.push(correct, docs, reserialized, other);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('a correct handler passes every case', async () => {
    const report = await checkEndpoint({ url: correct.url, secret: SECRET, burst: 8, timeoutMs: 5_000 });
    expect(report.cases.map((c) => c.id)).toEqual([...CHECK_CASE_IDS]);
    // A fast handler passes; on a badly overloaded machine a reply may cross 1 s, which only warns.
    for (const c of report.cases)
      expect(c.outcome === 'pass' || (c.outcome === 'warn' && /respond quickly/.test(c.hint ?? ''))).toBe(true);
    expect(report).toMatchObject({ failed: 0, interrupted: false });
    expect(report.passed).toBeGreaterThanOrEqual(7);
    expect(report).toMatchObject({ failedIds: [], diagnosis: undefined });
    expect(report.summary).toMatch(/^all 17 cases passed/);
    // Six valid types, five raw-body bodies, the duplicate twice, four bad-signature cases (four malformed), the unknown type, the burst.
    expect(correct.received).toHaveLength(6 + 5 + 2 + 1 + 1 + 4 + 1 + 1 + 8);
  });

  it("the docs' sample crashes (500) on a missing and on a short signature", async () => {
    const report = await checkEndpoint({ url: docs.url, secret: SECRET, burst: 4, timeoutMs: 5_000 });
    const failed = report.cases.filter((c) => c.outcome === 'fail');
    expect(failed.map((c) => c.id)).toEqual(['no-signature', 'malformed-signature']);
    expect(failed.every((c) => c.deliveries.some((d) => d.result.status === 500))).toBe(true);
    expect(report.failedIds).toEqual(['no-signature', 'malformed-signature']);
    expect(report.summary).toBe('2 of 17 cases failed: no-signature, malformed-signature');
    expect(report.diagnosis).toBeUndefined();
  });

  it('a handler that verifies a re-serialized body fails every case that needs acceptance', async () => {
    const report = await checkEndpoint({ url: reserialized.url, secret: SECRET, burst: 4, timeoutMs: 5_000 });
    const byOutcome = (o: string) => report.cases.filter((c) => c.outcome === o).map((c) => c.id);
    expect(byOutcome('fail')).toEqual([...CHECK_CASE_IDS.slice(0, 10), 'duplicate', 'unknown-type', 'burst']);
    expect(byOutcome('pass')).toEqual(['wrong-secret', 'no-signature', 'malformed-signature', 'tampered-body']);
    // Its own pretty-printed form got through, so this is no wrong secret.
    expect(report.diagnosis).toBeUndefined();
    expect(report.cases.find((c) => c.id === 'valid.session.created')!.hint).toMatch(
      /while raw-body\.whitespace \(indented\) was accepted: the handler verifies a re-serialized body/,
    );
  });

  it('another secret: every signed event refused, so the report says the secrets differ; rows arrive in order all the same', async () => {
    const streamed: string[] = [];
    const report = await checkEndpoint({
      url: other.url,
      secret: SECRET,
      burst: 3,
      timeoutMs: 5_000,
      onCase: (r) => streamed.push(r.id),
    });
    expect(streamed).toEqual([...CHECK_CASE_IDS]);
    expect(report.diagnosis).toBe('secret-mismatch');
    const accepting = report.cases.filter((c) => c.want === 'accept');
    expect(report.failedIds).toEqual(accepting.map((c) => c.id));
    expect(report.failedIds).toHaveLength(13);
    for (const c of accepting)
      expect(c.hint).toMatch(
        /^rejected with 400, like every validly signed event of this run: the secrets most likely differ/,
      );
    expect(report.summary).toBe(
      `the secrets most likely differ (every validly signed event was rejected with 4xx); 13 of 17 cases failed: ${accepting.map((c) => c.id).join(', ')}`,
    );
    expect(formatJUnit(report)).toContain('<property name="diagnosis" value="secret-mismatch"/>');
  });

  it('with only some cases the secret is not diagnosed (a re-serializer cannot be ruled out)', async () => {
    const report = await checkEndpoint({
      url: other.url,
      secret: SECRET,
      cases: ['valid.session.verified', 'wrong-secret'],
      timeoutMs: 5_000,
    });
    expect(report.diagnosis).toBeUndefined();
    expect(report.summary).toBe('1 of 2 cases failed: valid.session.verified');
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
