import { basename } from 'node:path';
import type { DeliveryResult } from '../delivery/deliver.js';
import { displayUrl } from '../delivery/target.js';
import type { ReplayItem, SkippedCapture } from '../replay/plan.js';
import { deliveryRecord, describeResponse } from './delivery.js';
import { formatMs } from './format.js';
import type { Output } from './output.js';
import { safeText } from './text.js';

/** The NDJSON `replay` record: the `delivery` record plus where it came from (documented; keep it stable). */
export function replayRecord(item: ReplayItem, res: DeliveryResult, expect: { met: boolean; expected: string }) {
  return {
    ...deliveryRecord(item.request, res, expect),
    type: 'replay',
    file: item.file,
    sequence: item.capture.sequence ?? null,
    original_status: item.capture.verdict?.status ?? null,
    resigned: item.resigned,
  };
}

/** One replayed delivery: its record, and a line with the file, the event and the answer. */
export function printReplayed(
  out: Output,
  item: ReplayItem,
  res: DeliveryResult,
  expect: { met: boolean; expected: string; showUrl?: boolean },
): void {
  out.record(replayRecord(item, res, expect));
  const { c } = out;
  const mark = expect.met ? c.green('✔') : c.red('✘');
  const sig =
    item.request.signatureMode === 'valid'
      ? ''
      : c.magenta(` [captured signature ${safeText(item.capture.verdict?.signature ?? 'unknown')}]`);
  const what =
    `${c.dim(safeText(basename(item.file)))} ${c.bold(safeText(item.request.eventType))} ` +
    `${c.dim(safeText(item.request.eventId))}` +
    (expect.showUrl ? ` ${c.dim('to')} ${safeText(displayUrl(item.request.url))}` : '');
  const answer = describeResponse(out, res, expect.met ? undefined : expect.expected);
  out.line(`${mark} ${what}${sig} → ${answer} ${c.dim(formatMs(res.latencyMs))}`);
}

/** A note per capture file that cannot be replayed. */
export function printSkipped(out: Output, skipped: SkippedCapture[]): void {
  for (const s of skipped) out.note(out.ce.yellow(`skipped ${safeText(basename(s.file))}: ${safeText(s.why)}`));
}

/** The captures sent with the signature they were captured with, since listen did not find it valid. */
export function noteKeptSignatures(out: Output, items: ReplayItem[]): void {
  const kept = items.filter((i) => !i.resigned);
  if (kept.length === 0) return;
  const shown = kept
    .slice(0, 3)
    .map((i) => `${safeText(basename(i.file))}: ${safeText(i.capture.verdict?.signature ?? 'no verdict')}`);
  const more = kept.length > 3 ? `, and ${kept.length - 3} more` : '';
  const one = kept.length === 1;
  out.note(
    out.ce.yellow(
      `note: ${kept.length} ${one ? 'capture keeps its' : 'captures keep their'} captured signature, ` +
        `since listen did not find it valid (${shown.join(', ')}${more}); ` +
        `add --resign-all to sign ${one ? 'it' : 'them'} too`,
    ),
  );
}

/** How a replay went, for its summary. */
export interface ReplayTotals {
  sent: number;
  items: ReplayItem[];
  selected: number;
  captures: number;
  missed: number;
  expected: string;
  resigned: boolean;
  interrupted: boolean;
}

/** The NDJSON summary of a replay (documented in the README; keep it stable). */
export function replaySummaryRecord(t: ReplayTotals) {
  return {
    type: 'summary',
    replayed: t.sent,
    total: t.items.length,
    selected: t.selected,
    captures: t.captures,
    met: t.sent - t.missed,
    missed: t.missed,
    expected: t.expected,
    resigned: t.resigned,
    resigned_count: t.items.filter((i) => i.resigned).length,
    interrupted: t.interrupted,
  };
}

export function printReplaySummary(out: Output, t: ReplayTotals): void {
  const record = replaySummaryRecord(t);
  out.record(record);
  const tail = t.missed ? out.c.red(`${t.missed} did not`) : out.c.green('all did');
  const count = record.resigned_count;
  const signedAgain = !t.resigned ? '' : count === t.items.length ? ' (signed again)' : ` (${count} signed again)`;
  const picked = t.selected < t.captures ? ` (picked from ${t.captures})` : '';
  const stop = t.interrupted ? out.c.yellow(' (interrupted)') : '';
  out.line(`${t.sent} of ${t.items.length} replayed${picked}${signedAgain}, expected ${t.expected}: ${tail}${stop}`);
}
