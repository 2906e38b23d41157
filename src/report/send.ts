import { plural } from './format.js';
import type { Output } from './output.js';

/** How a set of deliveries went against what was expected. */
export interface SendTotals {
  sent: number;
  missed: number;
  expected: string;
  interrupted: boolean;
}

/** The NDJSON summary of `send` (documented in the README; keep it stable). */
export function sendSummaryRecord(t: SendTotals) {
  return {
    type: 'summary',
    sent: t.sent,
    met: t.sent - t.missed,
    missed: t.missed,
    expected: t.expected,
    interrupted: t.interrupted,
  };
}

/** `3 deliveries, expected 2xx: all did`; `prefix` starts the line (`in all: ` for a guided session). */
export function sendSummaryLine(out: Output, t: SendTotals, prefix = ''): string {
  const { c } = out;
  const tail = t.missed ? c.red(`${t.missed} did not`) : c.green('all did');
  const stop = t.interrupted ? c.yellow(' (interrupted)') : '';
  return `${prefix}${plural(t.sent, 'delivery', 'deliveries')}, expected ${t.expected}: ${tail}${stop}`;
}

/** The summary record, and its line when there is more than one delivery to sum up (or it was cut short). */
export function printSendSummary(out: Output, t: SendTotals): void {
  out.record(sendSummaryRecord(t));
  if (t.sent > 1 || t.interrupted) out.line(sendSummaryLine(out, t));
}

/** A guided session's tally, when it is interrupted after some rounds. */
export function printSendTally(out: Output, t: Omit<SendTotals, 'interrupted'>): void {
  const totals = { ...t, interrupted: true };
  out.record(sendSummaryRecord(totals));
  out.line(sendSummaryLine(out, totals, 'in all: '));
}

/** The NDJSON summary of `flow` (documented in the README; keep it stable). */
export function flowSummaryRecord(f: {
  sessionId: string | null;
  outcome: string;
  delivered: number;
  total: number;
  stoppedAt: string | null;
  interrupted?: boolean;
}) {
  return {
    type: 'summary',
    session_id: f.sessionId,
    outcome: f.outcome,
    delivered: f.delivered,
    total: f.total,
    stopped_at: f.stoppedAt,
    ...(f.interrupted === undefined ? {} : { interrupted: f.interrupted }),
  };
}
