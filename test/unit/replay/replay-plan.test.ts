import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Capture, CaptureVerdict } from '../../../src/receiver/capture.js';
import { planReplay } from '../../../src/replay/plan.js';
import { matchesReplayFilter, planReplayFilter, resignHint } from '../../../src/replay/select.js';
import { compareWithListen } from '../../../src/verify/listen-verdict.js';
import { verifyWebhook } from '../../../src/verify/verdict.js';
import { expectCliError } from '../../helpers/errors.js';

const hmac = (body: string, secret: string) => createHmac('sha256', secret).update(body).digest('hex');

function capture(
  n: number,
  verdict: Partial<CaptureVerdict>,
  signature = '0'.repeat(64),
): { file: string; capture: Capture } {
  const body = `{"id":"evt_${n}","type":"session.verified"}`;
  return {
    file: `/c/${String(n).padStart(6, '0')}.json`,
    capture: {
      version: 1,
      sequence: n,
      received_at: `2026-01-01T00:00:0${n}.000Z`,
      remote_address: null,
      remote_port: null,
      method: 'POST',
      path: '/webhooks/facesign',
      headers: { 'facesign-signature': signature },
      raw_headers: [['FaceSign-Signature', signature]],
      body_base64: Buffer.from(body).toString('base64'),
      body_text: body,
      body_bytes: body.length,
      verdict: {
        status: 200,
        outcome: 'accepted',
        signature: 'valid',
        event_id: `evt_${n}`,
        event_type: 'session.verified',
        session_id: null,
        user_id: null,
        ...verdict,
      },
    },
  };
}

describe('planReplay with a secret', () => {
  const items = planReplay(
    [
      capture(1, {}),
      capture(2, { outcome: 'rejected', status: 400, signature: 'mismatch' }),
      capture(3, { outcome: 'rejected', status: 400, signature: 'missing' }),
      capture(4, { outcome: 'rejected', status: 404, signature: 'unchecked' }),
    ],
    { url: 'http://127.0.0.1:1/x', resignWith: 'new' },
  );

  it('signs again only what listen found validly signed', () => {
    expect(items.map((i) => i.resigned)).toEqual([true, false, false, false]);
    expect(items[0]!.request.headers['FaceSign-Signature']).toBe(
      hmac('{"id":"evt_1","type":"session.verified"}', 'new'),
    );
    expect(items[1]!.request.headers['FaceSign-Signature']).toBe('0'.repeat(64));
    expect(items.map((i) => i.request.signatureMode)).toEqual(['valid', 'invalid', 'missing', 'valid']);
  });

  it('resignAll signs all of them', () => {
    const all = planReplay([capture(1, {}), capture(2, { signature: 'mismatch' })], {
      url: 'http://127.0.0.1:1/x',
      resignWith: 'new',
      resignAll: true,
    });
    expect(all.map((i) => i.resigned)).toEqual([true, true]);
  });
});

describe('replay selection', () => {
  const caps = [
    capture(1, {}),
    capture(2, { outcome: 'duplicate' }),
    capture(3, { outcome: 'rejected', event_type: 'session.future' }),
  ];

  it('reads comma lists and short names, and matches on all given filters', () => {
    const f = planReplayFilter({ only: ['accepted,duplicate'], type: ['verified'], eventId: undefined }, caps);
    expect(f).toEqual({ outcomes: ['accepted', 'duplicate'], types: ['session.verified'], eventIds: [] });
    expect(caps.map((c) => matchesReplayFilter(c.capture, f))).toEqual([true, true, false]);
  });

  it('a type no FaceSign event has is allowed when a capture carries it exactly', () => {
    const f = planReplayFilter({ type: ['session.future'] }, caps);
    expect(caps.map((c) => matchesReplayFilter(c.capture, f))).toEqual([false, false, true]);
  });

  it('an unknown verdict or type is a usage error', () => {
    expect(expectCliError(() => planReplayFilter({ only: ['acepted'] }, caps)).exitCode).toBe(2);
    expect(expectCliError(() => planReplayFilter({ type: ['faild'] }, caps)).hint).toMatch(
      /^did you mean session\.failed\?/,
    );
  });
});

describe('resignHint', () => {
  const plan = planReplay([capture(1, {}), capture(2, {}), capture(3, { signature: 'mismatch' })], {
    url: 'http://127.0.0.1:1/x',
  });

  it('fires when captures listen accepted come back 400/401/403', () => {
    expect(resignHint(plan.map((item, i) => ({ item, status: i === 0 ? 401 : 200 })))).toMatch(
      /^the target rejects the captured signatures \(401 to 1 of 2 that listen accepted\)/,
    );
  });

  it('stays quiet for 404s, for network errors, and when only bad captures are rejected', () => {
    expect(resignHint(plan.map((item) => ({ item, status: 404 })))).toBeUndefined();
    expect(resignHint(plan.map((item) => ({ item, status: undefined })))).toBeUndefined();
    expect(resignHint(plan.map((item, i) => ({ item, status: i === 2 ? 400 : 200 })))).toBeUndefined();
  });
});

describe('compareWithListen', () => {
  const body = '{"id":"evt_1"}';
  const valid = verifyWebhook({ body, signature: hmac(body, 's'), secret: 's' });
  const invalid = verifyWebhook({ body, signature: hmac(body, 'other'), secret: 's' });
  const v = (over: Partial<CaptureVerdict>): CaptureVerdict => ({
    status: 200,
    outcome: 'accepted',
    signature: 'valid',
    event_id: null,
    event_type: null,
    session_id: null,
    user_id: null,
    ...over,
  });

  it('names a secret mismatch in both directions', () => {
    expect(compareWithListen(v({}), invalid)).toMatchObject({
      agrees: false,
      message: expect.stringContaining('the two secrets differ'),
    });
    expect(
      compareWithListen(v({ outcome: 'rejected', status: 400, signature: 'mismatch', reason: 'x' }), valid),
    ).toMatchObject({ agrees: false, message: expect.stringContaining('listen ran with another secret') });
  });

  it('a valid signature listen then rejected for another reason says so', () => {
    expect(
      compareWithListen(v({ outcome: 'rejected', status: 400, reason: 'body is not valid JSON' }), valid)!.message,
    ).toBe('listen accepted this signature too (then rejected it: it answered 400, body is not valid JSON)');
  });

  it('unchecked: listen never looked; a hand-made file with no verdict: nothing to say', () => {
    expect(
      compareWithListen(v({ outcome: 'rejected', status: 404, signature: 'unchecked', reason: 'wrong path' }), valid),
    ).toMatchObject({
      agrees: null,
      message: 'listen did not check this signature: it rejected the request first (it answered 404: wrong path)',
    });
    expect(compareWithListen(undefined, valid)).toBeUndefined();
    expect(compareWithListen({ status: 'x' }, valid)).toBeUndefined();
  });
});
