import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FieldError } from '../../../src/errors.js';
import { ReceivedCapture, type CaptureVerdict } from '../../../src/receiver/capture.js';
import { createFaultPlan } from '../../../src/receiver/faults.js';
import {
  AttemptCounts,
  History,
  Ledger,
  MAX_PROCESSED_IDS,
  idKey,
  type HistoryEntry,
} from '../../../src/receiver/ledger.js';
import { resolveReceiverSettings, type ReceiverOptions } from '../../../src/receiver/settings.js';

/** A history entry whose weight is given outright, so eviction arithmetic is exact. */
class Entry implements HistoryEntry<Entry> {
  constructor(
    readonly sequence: number,
    readonly weight: number,
    readonly verdict: Pick<CaptureVerdict, 'outcome' | 'event_id'> = { outcome: 'accepted', event_id: null },
    readonly bodyLength = weight,
    readonly omitted = false,
  ) {}

  withoutBody(): Entry {
    return new Entry(this.sequence, 1, this.verdict, 0, true);
  }
}

const accepted = (seq: number, id: string | null) => new Entry(seq, 1, { outcome: 'accepted', event_id: id });
const ledger = (limits: Partial<ConstructorParameters<typeof Ledger>[0]> = {}) =>
  new Ledger<Entry>({ historyLimit: 1000, historyMaxBytes: 1 << 20, ...limits });

describe('the duplicate window', () => {
  it('remembers exactly maxProcessedIds accepted ids and forgets the oldest first', () => {
    const l = ledger({ maxProcessedIds: 3 });
    ['a', 'b', 'c'].forEach((id, i) => l.record(accepted(i + 1, id)));
    expect(['a', 'b', 'c'].map((id) => l.isProcessed(id))).toEqual([true, true, true]);
    expect(l.processedCount).toBe(3);
    l.record(accepted(4, 'd'));
    expect(['a', 'b', 'c', 'd'].map((id) => l.isProcessed(id))).toEqual([false, true, true, true]);
    expect(l.processedCount).toBe(3);
  });

  it(`holds ${MAX_PROCESSED_IDS} ids by default: the first is forgotten by the one after`, () => {
    const l = ledger({ historyLimit: 0 });
    for (let i = 0; i < MAX_PROCESSED_IDS; i++) l.record(accepted(i + 1, `evt_${i}`));
    expect(l.isProcessed('evt_0')).toBe(true);
    expect(l.processedCount).toBe(MAX_PROCESSED_IDS);
    l.record(accepted(MAX_PROCESSED_IDS + 1, 'evt_last'));
    expect(l.isProcessed('evt_0')).toBe(false);
    expect(l.isProcessed('evt_1')).toBe(true);
    expect(l.isProcessed('evt_last')).toBe(true);
  });

  it('marks only accepted deliveries that carry an id', () => {
    const l = ledger();
    l.record(new Entry(1, 1, { outcome: 'duplicate', event_id: 'dup' }));
    l.record(new Entry(2, 1, { outcome: 'rejected', event_id: 'rej' }));
    l.record(new Entry(3, 1, { outcome: 'fault', event_id: 'flt' }));
    l.record(accepted(4, null));
    l.record(accepted(5, ''));
    expect(['dup', 'rej', 'flt', ''].map((id) => l.isProcessed(id))).toEqual([false, false, false, false]);
    expect(l.processedCount).toBe(0);
  });

  it('remembers an id over 128 characters by its SHA-256, and tells long ids apart', () => {
    const long = `evt_${'x'.repeat(200)}`;
    const expected = `sha256:${createHash('sha256').update(long).digest('base64')}`;
    expect(idKey(long)).toBe(expected);
    expect(idKey('x'.repeat(128))).toBe('x'.repeat(128));
    expect(idKey('x'.repeat(129))).toMatch(/^sha256:/);
    const l = ledger();
    l.record(accepted(1, long));
    expect(l.isProcessed(long)).toBe(true);
    expect(l.isProcessed(`${long}y`)).toBe(false);
  });
});

describe('attempt counts', () => {
  it('counts per id, and forgets the id first seen longest ago past the bound', () => {
    const counts = new AttemptCounts(2);
    expect([counts.add('a'), counts.add('a'), counts.add('b'), counts.add('a')]).toEqual([1, 2, 1, 3]);
    expect(counts.size).toBe(2);
    // A third id pushes out 'a' (first seen longest ago), however often it was counted.
    expect(counts.add('c')).toBe(1);
    expect(counts.size).toBe(2);
    expect(counts.add('b')).toBe(2);
    expect(counts.add('a')).toBe(1);
  });

  it('the ledger keeps the counts the fault plan decides on, long ids by their hash', () => {
    const l = ledger({ maxTrackedIds: 10 });
    const plan = createFaultPlan({ failFirst: 2, failStatus: 503 }, (id) => l.countAttempt(id));
    const long = 'e'.repeat(300);
    const seen = ['a', long, 'a', long, 'a', long].map((id) => plan.decide(id));
    expect(seen.map((d) => d.attempt)).toEqual([1, 1, 2, 2, 3, 3]);
    expect(seen.map((d) => d.fault?.status ?? 200)).toEqual([503, 503, 503, 503, 200, 200]);
    expect(l.countAttempt('a')).toBe(4);
  });
});

describe('the history', () => {
  const held = (h: History<Entry>) => [...h.sequences()];

  it('keeps at most `limit` entries, dropping the oldest first', () => {
    const h = new History<Entry>(3, 1000);
    for (let seq = 1; seq <= 3; seq++) h.add(new Entry(seq, 10));
    expect(held(h)).toEqual([1, 2, 3]);
    h.add(new Entry(4, 10));
    h.add(new Entry(5, 10));
    expect(held(h)).toEqual([3, 4, 5]);
    expect(h.bytes).toBe(30);
    expect(h.get(2)).toBeUndefined();
    expect(h.get(5)?.weight).toBe(10);
  });

  it('keeps at most `maxBytes`: a sum exactly at the cap stays, one byte over drops the oldest', () => {
    const h = new History<Entry>(100, 100);
    h.add(new Entry(1, 40));
    h.add(new Entry(2, 60));
    expect(held(h)).toEqual([1, 2]);
    expect(h.bytes).toBe(100);
    h.add(new Entry(3, 1));
    expect(held(h)).toEqual([2, 3]);
    expect(h.bytes).toBe(61);
    // One heavy entry pushes out as many of the oldest as it takes, and no more.
    h.add(new Entry(4, 90));
    expect(held(h)).toEqual([3, 4]);
    expect(h.bytes).toBe(91);
  });

  it('keeps an entry heavier than the cap on its own without its body', () => {
    const h = new History<Entry>(100, 100);
    h.add(new Entry(1, 50));
    h.add(new Entry(2, 101));
    expect(held(h)).toEqual([1, 2]);
    expect(h.get(2)?.omitted).toBe(true);
    expect(h.get(1)?.omitted).toBe(false);
    expect(h.bytes).toBe(51);
  });

  it('with limit 0 keeps nothing', () => {
    const h = new History<Entry>(0, 100);
    h.add(new Entry(1, 1));
    expect(h.size).toBe(0);
    expect(h.bytes).toBe(0);
  });
});

describe('the ledger', () => {
  it('counts every outcome into its statistics and history', () => {
    const l = ledger({ historyLimit: 2 });
    const outcomes = ['accepted', 'duplicate', 'rejected', 'rejected', 'fault', 'accepted'] as const;
    outcomes.forEach((outcome, i) => l.record(new Entry(i + 1, 1, { outcome, event_id: `e${i}` })));
    expect(l.stats).toEqual({
      received: 6,
      accepted: 2,
      duplicates: 1,
      rejected: 2,
      faults: 1,
      saved: 0,
      saveErrors: 0,
      incomplete: 0,
      badHttp: 0,
      forwarded: 0,
      forwardErrors: 0,
    });
    expect([...l.history.sequences()]).toEqual([5, 6]);
  });

  it('holds real captures: one over the byte cap keeps its size and says its body was omitted', () => {
    const l = new Ledger<ReceivedCapture>({ historyLimit: 10, historyMaxBytes: 64 });
    const verdict = (): CaptureVerdict => ({
      status: 200,
      outcome: 'accepted',
      signature: 'valid',
      event_id: 'evt_big',
      event_type: null,
      session_id: null,
      user_id: null,
    });
    const body = Buffer.from('y'.repeat(1000));
    const make = (seq: number, b: Buffer) =>
      new ReceivedCapture(seq, 0, '127.0.0.1', 1, 'POST', '/', 'Host\0h', b, false, verdict());
    l.record(make(1, Buffer.from('{}')));
    l.record(make(2, body));
    const kept = [...l.history.values()].map((c) => c.toJSON());
    expect(kept.map((c) => c.sequence)).toEqual([1, 2]);
    expect(kept[1]).toMatchObject({ body_bytes: 1000, body_omitted: true, body_base64: '', body_text: '' });
    expect(kept[0]).toMatchObject({ body_bytes: 2, body_text: '{}' });
    expect(kept[0]!.body_omitted).toBeUndefined();
    expect(l.history.bytes).toBeLessThanOrEqual(64);
    expect(l.isProcessed('evt_big')).toBe(true);
  });
});

describe('receiver settings', () => {
  const resolve = (extra: Partial<ReceiverOptions>) => resolveReceiverSettings({ secret: 'whsec_x', ...extra });
  const fieldError = (extra: Partial<ReceiverOptions>): FieldError => {
    try {
      resolve(extra);
    } catch (err) {
      expect(err).toBeInstanceOf(FieldError);
      return err as FieldError;
    }
    throw new Error(`no error for ${JSON.stringify(extra)}`);
  };

  it('fills in the defaults', () => {
    expect(resolve({})).toMatchObject({
      host: '127.0.0.1',
      port: 3000,
      path: '/webhooks/facesign',
      maxBodyBytes: 1024 * 1024,
      historyLimit: 1000,
      historyMaxBytes: 64 * 1024 * 1024,
      delayMs: 0,
      hang: false,
      saveDir: undefined,
    });
  });

  it('names the field, never a flag, with exit code 2', () => {
    const e = fieldError({ port: 70000 });
    expect(e.message).toBe('port must be a whole number from 0 to 65535 (got 70000)');
    expect(e.field).toBe('port');
    expect(e.exitCode).toBe(2);
    expect(fieldError({ port: 1.5 }).message).toBe('port must be a whole number from 0 to 65535 (got 1.5)');
    expect(fieldError({ failStatus: 200 }).field).toBe('failStatus');
    expect(fieldError({ maxBodyBytes: 0 }).message).toMatch(/^maxBodyBytes must be a whole number from 1 to /);
    expect(fieldError({ historyMaxBytes: 0 }).field).toBe('historyMaxBytes');
    expect(fieldError({ failRate: 2 }).message).toMatch(/^failRate must be a probability from 0 to 1/);
    expect(fieldError({ path: 'no-slash' }).message).toMatch(/^path "no-slash" must start with \//);
    expect(fieldError({ path: '/__facesign/x' }).message).toMatch(/^path \/__facesign\/x is reserved/);
    expect(fieldError({ secret: '' }).field).toBe('secret');
    for (const extra of [{ port: 70000 }, { failStatus: 200 }, { path: 'x' }, { historyLimit: -1 }, { seed: -1 }])
      expect(`${fieldError(extra).message} ${fieldError(extra).hint ?? ''}`).not.toMatch(/--/);
  });

  it("refuses a forwardTo at the receiver's own address (a loop), and only that", () => {
    const own = [
      { port: 3000, forwardTo: 'http://localhost:3000/webhooks' },
      { port: 3000, forwardTo: 'http://127.0.0.1:3000/' },
      { port: 80, forwardTo: 'http://127.0.0.1/hooks' },
      { port: 4000, host: '0.0.0.0', forwardTo: 'http://127.0.0.1:4000/x' },
      { port: 4000, host: '::', forwardTo: 'http://[::1]:4000/x' },
      { port: 4000, host: '::1', forwardTo: 'http://localhost:4000/x' },
    ];
    for (const extra of own) {
      const e = fieldError(extra);
      expect(e.field).toBe('forwardTo');
      expect(e.message).toMatch(
        /^forwardTo \S+ is this receiver's own address: it would forward each delivery to itself$/,
      );
      expect(e.hint).toMatch(/the port your app listens on/);
    }
    const apart = [
      { port: 3000, forwardTo: 'http://localhost:4000/webhooks' },
      { port: 0, forwardTo: 'http://localhost:3000/webhooks' },
      { port: 3000, forwardTo: 'https://localhost:3000/webhooks' },
      { port: 3000, forwardTo: 'http://[::1]:3000/webhooks' },
      { port: 3000, forwardTo: 'http://app.internal:3000/webhooks' },
    ];
    for (const extra of apart) expect(resolve(extra).forwardTo).toBe(extra.forwardTo);
  });

  it('accepts both ends of each range', () => {
    expect(resolve({ port: 0 }).port).toBe(0);
    expect(resolve({ port: 65535 }).port).toBe(65535);
    expect(resolve({ historyLimit: 0 }).historyLimit).toBe(0);
    expect(resolve({ failStatus: 300 }).faults.failStatus).toBe(300);
    expect(resolve({ failStatus: 599 }).faults.failStatus).toBe(599);
    expect(fieldError({ port: -1 }).field).toBe('port');
  });
});
