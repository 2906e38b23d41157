import { buildEvent, resolveEventType, type BuildOptions, type FaceSignEvent } from '../events/build.js';
import { EVENT_TYPES, type EventType } from '../events/types.js';
import { projectSettings, resolveSettings, type LoadedConfig } from '../config/index.js';
import { prepareRequest, type SignatureMode, type WebhookRequest } from '../delivery/request.js';
import { deliver, type DeliverOptions } from '../delivery/deliver.js';
import { parseExpectation, type Expectation } from '../delivery/expect.js';
import { boundHeap, prepareLoadMode } from '../delivery/load-mode.js';
import type { LoadReport } from '../delivery/load.js';
import type { JsonObject } from '../events/json.js';
import { CliError, usageError, EXIT } from '../errors.js';
import { createOutput, type Output } from '../report/output.js';
import { printDelivery, printPreviews } from '../report/delivery.js';
import { loadStartNote, loadTotals, printLoadReport, type LoadRun } from '../report/load.js';
import { printSendSummary, printSendTally } from '../report/send.js';
import { resolveSecret } from '../secret.js';
import { canPrompt } from '../prompts.js';
import { watchInterrupt } from '../interrupt.js';
import {
  buildOptionsFrom,
  checkPreviewFlags,
  eventIdSource,
  positiveInt,
  readFixtureFile,
  timeoutFlag,
  tlsOptionsFrom,
  withConfigFixture,
  type EventFlags,
  type SendFlags,
} from './shared.js';

export interface SendOptions extends EventFlags, SendFlags {
  /** An event type, its short name (`verified`), or `all`. */
  type?: string;
  signature?: SignatureMode;
  repeat?: number;
  expect?: string;
  dryRun?: boolean;
  curl?: boolean;
  /** Load mode: send this many distinct events… */
  count?: number;
  /** …with this many in flight (default 16). */
  concurrency?: number;
}

/** Which types to send: the argument, `all`, or the type named in a `--fixture` file. */
function resolveTypes(type: string | undefined, fixtureType: unknown): EventType[] {
  if (type === 'all') return [...EVENT_TYPES];
  if (type !== undefined) return [resolveEventType(type)];
  if (typeof fixtureType === 'string') return [resolveEventType(fixtureType)];
  throw usageError(
    'no event type given',
    `name one: facesign-webhooks send session.verified (types: ${EVENT_TYPES.join(', ')}, or all)`,
  );
}

/** Sends each request (`repeat` times, identically) and prints a line per delivery; returns how many missed. */
export async function sendAll(
  out: Output,
  requests: WebhookRequest[],
  options: {
    repeat: number;
    timeoutMs: number;
    expect: Expectation;
    signal?: AbortSignal;
    tls?: Pick<DeliverOptions, 'insecure' | 'ca'>;
    /** Name each delivery's URL on its line (per-type routes send one run to several places). */
    showUrl?: boolean;
  },
): Promise<{ sent: number; missed: number; interrupted: boolean }> {
  let sent = 0;
  let missed = 0;
  for (const req of requests) {
    for (let i = 1; i <= options.repeat; i++) {
      if (options.signal?.aborted) return { sent, missed, interrupted: true };
      const res = await deliver(req, { ...options.tls, timeoutMs: options.timeoutMs, signal: options.signal });
      const met = !res.error && options.expect.matches(res.status);
      sent++;
      if (!met) missed++;
      printDelivery(out, req, res, {
        met,
        expected: options.expect.label,
        repeat: i,
        repeatOf: options.repeat,
        showUrl: options.showUrl,
      });
    }
  }
  return { sent, missed, interrupted: options.signal?.aborted ?? false };
}

/**
 * A deliberately bad signature sent without `--expect`: the default 2xx would call an endpoint
 * that rightly rejects it a failure, so say how to make rejection the success condition.
 */
export function negativeSignatureHint(options: Pick<SendOptions, 'signature' | 'expect'>): string | undefined {
  const mode = options.signature ?? 'valid';
  if (mode === 'valid' || options.expect !== undefined) return undefined;
  return `--signature ${mode} expects your endpoint to reject it: add --expect 4xx to make that the success condition`;
}

/** `--set id=…` / `--set data.id=…`: the assignment that pins an id, if any. */
function pinningAssignment(set: string[] | undefined, path: 'id' | 'data.id'): string | undefined {
  return set?.find(
    (a) =>
      a
        .slice(0, Math.max(0, a.indexOf('=')))
        .trim()
        .replace(/\[(\d+)\]/g, '.$1') === path,
  );
}

/**
 * Flag combinations that cannot all be honoured, refused before anything is asked or sent: a
 * flag that would be silently ignored is a usage error naming both flags. Pure.
 */
export function checkSendFlags(o: SendOptions): void {
  const load = o.count !== undefined;
  checkPreviewFlags(
    o,
    [
      ['--count', o.count],
      ['--concurrency', o.concurrency],
      ['--repeat', o.repeat],
      ['--expect', o.expect],
      ['--timeout', o.timeout],
      ['--insecure', o.insecure],
      ['--ca', o.ca],
    ],
    { requests: 'request', them: 'it', commands: 'a command' },
  );
  const idSet = pinningAssignment(o.set, 'id');
  const sessionSet = pinningAssignment(o.set, 'data.id');
  if (load) {
    // Load mode has its own client, which checks certificates against Node's list only.
    const tlsFlag = o.insecure ? '--insecure' : o.ca !== undefined ? '--ca' : undefined;
    if (tlsFlag)
      throw usageError(
        `${tlsFlag} does not apply to load mode (--count): its client checks certificates against Node's CA list`,
        'drop it, or load-test over http:// (NODE_EXTRA_CA_CERTS adds a CA for https://)',
      );
    if (o.repeat !== undefined) {
      throw usageError(
        '--count and --repeat cannot be combined: ' +
          'load mode sends distinct events, --repeat resends one identical delivery',
        'use --count N for load, or --repeat N for identical deliveries',
      );
    }
    const pinned: [string, string][] = [];
    if (o.eventId !== undefined) pinned.push(['--event-id', 'event id']);
    if (idSet !== undefined) pinned.push([`--set ${idSet}`, 'event id']);
    if (o.sessionId !== undefined) pinned.push(['--session-id', 'session id']);
    if (sessionSet !== undefined) pinned.push([`--set ${sessionSet}`, 'session id']);
    if (pinned.length > 0) {
      const [flag, what] = pinned[0]!;
      throw usageError(
        `${flag} cannot apply with --count: load mode gives every event a fresh ${what}`,
        `drop ${flag.split(' ')[0]}, or drop --count to send one event with that ${what}`,
      );
    }
  } else if (o.concurrency !== undefined) {
    throw usageError(
      '--concurrency only applies to load mode (--count)',
      'add --count N to send N distinct events, C at a time, or drop --concurrency',
    );
  }
  if (o.type === 'all' && (o.eventId !== undefined || idSet !== undefined)) {
    const flag = o.eventId !== undefined ? '--event-id' : `--set ${idSet}`;
    throw usageError(
      `send all sends six events, and ${flag} would give all six one id`,
      `send one type with ${flag.split(' ')[0]}, or drop it for six fresh ids`,
    );
  }
}

export async function runSend(options: SendOptions): Promise<number> {
  checkSendFlags(options);
  if (options.type !== undefined || options.fixture !== undefined || !canPrompt()) return sendOnce(options);
  return runGuided(options);
}

/**
 * Guided mode (a terminal, no type): the prompts fill in only what is missing, then the normal
 * path runs with every flag given; a plain send offers another.
 */
async function runGuided(options: SendOptions): Promise<number> {
  const { askSendInputs, askSendAnother } = await import('../interactive.js');
  const out = createOutput({ json: options.json });
  const tally = { sent: 0, missed: 0, rounds: 0 };
  const expect = parseExpectation(options.expect);
  const stopped = (err: unknown): never => {
    if (err instanceof CliError && err.exitCode === EXIT.interrupted && tally.rounds > 0)
      printSendTally(out, { ...tally, expected: expect.label });
    throw err;
  };
  // The config is read before the first question, so a bad one stops the run before anything is asked.
  const settings = projectSettings(options.config, { to: options.to });
  const session = {};
  let filled = await askSendInputs(options, settings, session).catch(stopped);
  for (;;) {
    const code = await sendOnce(filled, { tally, config: settings.config });
    if (code === EXIT.interrupted) {
      if (tally.rounds > 1) printSendTally(out, { ...tally, expected: expect.label });
      return code;
    }
    if (filled.dryRun || filled.curl || filled.count !== undefined) return code;
    if (!(await askSendAnother().catch(stopped))) return tally.missed > 0 ? EXIT.failed : EXIT.ok;
    // The target (a typed one, or the routes) and the secret hold for the session; type and overrides are asked again.
    filled = await askSendInputs({ ...options, to: filled.to, secret: filled.secret }, settings, session).catch(
      stopped,
    );
  }
}

/**
 * The normal path: build, sign and send (or print) with every flag as given. Guided mode passes
 * its tally and the config it read before the first question (read once per run, not per round).
 */
async function sendOnce(
  options: SendOptions,
  guided?: { tally: { sent: number; missed: number; rounds: number }; config: LoadedConfig | undefined },
): Promise<number> {
  const out = createOutput({ json: options.json });
  const fixture = options.fixture ? readFixtureFile(options.fixture) : undefined;
  const types = resolveTypes(options.type, fixture?.type);
  checkSendFlags({ ...options, type: types.length > 1 ? 'all' : options.type });
  const expect = parseExpectation(options.expect);
  const repeat = positiveInt(options.repeat, '--repeat', 1);
  const flags = { to: options.to, timeoutMs: timeoutFlag(options.timeout) };
  const settings = guided ? resolveSettings({ flags, config: guided.config }) : projectSettings(options.config, flags);
  const timeoutMs = settings.timeoutMs.value;
  // Each type to its route (unless --to or the environment names one target for all).
  const urls = types.map((type) => settings.target(type).value);
  const secret = await resolveSecret(options.secret, process.env, settings.secretEnv.value);
  const buildOptions = buildOptionsFrom(options, fixture);
  const buildFor = (type: EventType) => withConfigFixture(buildOptions, settings.fixture(type));
  const hint = negativeSignatureHint(options);
  if (options.count !== undefined) {
    if (new Set(urls).size > 1)
      throw usageError(
        `load mode (--count) sends to one URL, and the project config's routes send these types to ` +
          `${new Set(urls).size} URLs`,
        'add --to URL to load-test one endpoint, or send one type',
      );
    const url = urls[0]!;
    const load = { types, url, secret, fixture, expect, build: buildFor, timeoutMs };
    const code = await sendLoad(out, { ...options, count: options.count }, load);
    if (hint) out.note(out.ce.yellow(`hint: ${hint}`));
    return code;
  }
  const events: FaceSignEvent[] = types.map((type) => buildEvent(type, buildFor(type)));
  const requests = events.map((event, i) =>
    prepareRequest(event, {
      url: urls[i]!,
      secret,
      signature: options.signature,
      headers: options.header,
      fromIp: options.fromIp,
      eventIdSource: eventIdSource(options, fixture),
    }),
  );

  if (options.dryRun || options.curl) {
    printPreviews(out, requests, Boolean(options.curl));
    return EXIT.ok;
  }

  const tls = tlsOptionsFrom(options, out.note);
  const interrupt = watchInterrupt();
  try {
    const result = await sendAll(out, requests, {
      repeat,
      timeoutMs,
      expect,
      signal: interrupt.signal,
      tls,
      showUrl: settings.routed,
    });
    if (guided) {
      guided.tally.sent += result.sent;
      guided.tally.missed += result.missed;
      guided.tally.rounds++;
    }
    printSendSummary(out, { ...result, expected: expect.label });
    if (hint) out.note(out.ce.yellow(`hint: ${hint}`));
    if (result.interrupted) return EXIT.interrupted;
    return result.missed > 0 ? EXIT.failed : EXIT.ok;
  } finally {
    interrupt.dispose();
  }
}

/** Load mode (`--count`): N distinct signed events over a pool; rates, percentiles, status counts. */
async function sendLoad(
  out: Output,
  options: SendOptions & { count: number },
  input: {
    types: EventType[];
    url: string;
    secret: string;
    fixture?: JsonObject;
    expect: Expectation;
    build: (type: EventType) => BuildOptions;
    timeoutMs: number;
  },
): Promise<number> {
  const { types, url, fixture, expect } = input;
  const count = positiveInt(options.count, '--count', 1);
  const concurrency = positiveInt(options.concurrency, '--concurrency', 16);
  const data = fixture?.data as { id?: unknown } | undefined;
  if (fixture?.id !== undefined || data?.id !== undefined)
    out.note(
      out.ce.yellow("note: load mode gives every event a fresh event id and session id; the fixture's are replaced"),
    );
  const load = prepareLoadMode({
    ...input,
    count,
    concurrency,
    signature: options.signature,
    headers: options.header,
    fromIp: options.fromIp,
  });
  const run: LoadRun = { url, count, concurrency, expected: expect.label, matches: (s) => expect.matches(s) };
  const what = types.length === EVENT_TYPES.length ? 'events (all six types)' : types[0]!;
  out.note(loadStartNote(out, run, what));
  const interrupt = watchInterrupt();
  const releaseHeap = await boundHeap();
  let report: LoadReport;
  try {
    report = await load(interrupt.signal);
  } finally {
    releaseHeap();
    interrupt.dispose();
  }
  printLoadReport(out, report, run);
  if (report.interrupted) return EXIT.interrupted;
  const { met } = loadTotals(report, run);
  return report.sent - met > 0 || report.sent === 0 ? EXIT.failed : EXIT.ok;
}
