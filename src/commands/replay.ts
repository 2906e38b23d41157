import { deliver, type DeliverOptions } from '../delivery/deliver.js';
import { parseExpectation, type Expectation } from '../delivery/expect.js';
import { projectSettings } from '../config/index.js';
import { EXIT, usageError } from '../errors.js';
import { watchInterrupt } from '../interrupt.js';
import { listCaptureFiles, planReplay, readReplayCaptures, type ReplayItem } from '../replay/plan.js';
import {
  describeCaptures,
  matchesReplayFilter,
  planReplayFilter,
  resignHint,
  type ReplayFilter,
} from '../replay/select.js';
import { createOutput, type Output } from '../report/output.js';
import { noteKeptSignatures, printReplayed, printReplaySummary, printSkipped } from '../report/replay.js';
import { resolveSecret } from '../secret.js';
import { asFlags, timeoutFlag, tlsOptionsFrom } from './shared.js';

export interface ReplayOptions {
  /** A capture file or a directory of them. */
  capture: string;
  /** The project config file (else the one found upward). */
  config?: string;
  to?: string;
  resign?: boolean;
  /** With --resign, also sign captures whose original signature listen did not find valid. */
  resignAll?: boolean;
  /** Listen's outcomes to pick (accepted, duplicate, rejected, fault); comma lists, repeatable. */
  only?: string[];
  /** Event types to pick (short names accepted); comma lists, repeatable. */
  type?: string[];
  /** Event ids to pick; comma lists, repeatable. */
  eventId?: string[];
  secret?: string;
  timeout?: number;
  expect?: string;
  json?: boolean;
  insecure?: boolean;
  ca?: string;
}

function describeFilter(filter: ReplayFilter): string {
  const parts: string[] = [];
  if (filter.outcomes.length) parts.push(`--only ${filter.outcomes.join(',')}`);
  if (filter.types.length) parts.push(`--type ${filter.types.join(',')}`);
  if (filter.eventIds.length) parts.push(`--event-id ${filter.eventIds.join(',')}`);
  return parts.join(' ');
}

/** The captures to replay: those that can be, narrowed by --only, --type and --event-id. */
function selectCaptures(out: Output, options: ReplayOptions) {
  const files = listCaptureFiles(options.capture);
  const { captures } = readReplayCaptures(files, (skipped) => printSkipped(out, [skipped]));
  if (captures.length === 0)
    throw usageError(
      `nothing to replay in "${options.capture}"`,
      'only POST deliveries with their body kept can be replayed',
    );
  const filter = asFlags({ only: '--only', type: '--type' }, () => planReplayFilter(options, captures));
  const selected = captures.filter(({ capture }) => matchesReplayFilter(capture, filter));
  if (selected.length === 0) {
    throw usageError(
      `no capture in "${options.capture}" matches ${describeFilter(filter)}`,
      `the ${captures.length} there: ${describeCaptures(captures)}`,
    );
  }
  return { captures, selected };
}

/** Sends each item in order until interrupted; returns what each got and how many missed. */
async function sendItems(
  out: Output,
  items: ReplayItem[],
  send: {
    expect: Expectation;
    timeoutMs: number;
    signal: AbortSignal;
    tls: Pick<DeliverOptions, 'insecure' | 'ca'>;
    showUrl: boolean;
  },
) {
  const results: { item: ReplayItem; status: number | undefined }[] = [];
  let missed = 0;
  for (const item of items) {
    if (send.signal.aborted) break;
    const res = await deliver(item.request, { ...send.tls, timeoutMs: send.timeoutMs, signal: send.signal });
    const met = !res.error && send.expect.matches(res.status);
    results.push({ item, status: res.error ? undefined : res.status });
    if (!met) missed++;
    printReplayed(out, item, res, { met, expected: send.expect.label, showUrl: send.showUrl });
  }
  return { results, missed };
}

export async function runReplay(options: ReplayOptions): Promise<number> {
  const out = createOutput({ json: options.json });
  const expect = parseExpectation(options.expect);
  const settings = projectSettings(options.config, {
    to: options.to,
    timeoutMs: timeoutFlag(options.timeout),
  });
  const timeoutMs = settings.timeoutMs.value;
  settings.target(); // a bad target fails before any capture is read
  // Each capture to its event type's route, unless --to or the environment names one target.
  const url = (eventType: string) => settings.target(eventType).value;
  const { captures, selected } = selectCaptures(out, options);
  const resign = options.resign === true || options.resignAll === true;
  if (options.secret !== undefined && !resign)
    out.note(out.ce.yellow('note: --secret is only used with --resign; sending the captured signatures'));
  const resignWith = resign ? await resolveSecret(options.secret, process.env, settings.secretEnv.value) : undefined;
  const items = planReplay(selected, { url, resignWith, resignAll: options.resignAll });
  if (resignWith !== undefined) noteKeptSignatures(out, items);

  const tls = tlsOptionsFrom(options, out.note);
  const interrupt = watchInterrupt();
  try {
    const { results, missed } = await sendItems(out, items, {
      expect,
      timeoutMs,
      signal: interrupt.signal,
      tls,
      showUrl: settings.routed,
    });
    const sent = results.length;
    const interrupted = interrupt.signal.aborted && sent < items.length;
    printReplaySummary(out, {
      sent,
      items,
      selected: selected.length,
      captures: captures.length,
      missed,
      expected: expect.label,
      resigned: resignWith !== undefined,
      interrupted,
    });
    const hint = resignWith === undefined ? resignHint(results) : undefined;
    if (hint) out.note(out.ce.yellow(`hint: ${hint}`));
    if (interrupted) return EXIT.interrupted;
    return missed > 0 ? EXIT.failed : EXIT.ok;
  } finally {
    interrupt.dispose();
  }
}
