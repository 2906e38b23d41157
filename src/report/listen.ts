import { join } from 'node:path';
import { displayUrl, isLoopbackHost } from '../delivery/target.js';
import { captureFileName, type Capture } from '../receiver/capture.js';
import { statsJson } from '../receiver/ledger.js';
import type { ReceiverOptions, ReceiverStats } from '../receiver/server.js';
import { formatTimeOfDay, maskSecret, plural } from './format.js';
import type { Output } from './output.js';
import { safeText } from './text.js';

/** The NDJSON shape of one received delivery (documented; keep it stable). */
export function receivedRecord(capture: Capture, saveDir?: string) {
  const v = capture.verdict;
  return {
    type: 'delivery',
    sequence: capture.sequence,
    received_at: capture.received_at,
    method: capture.method,
    path: capture.path,
    remote_address: capture.remote_address,
    event_type: v.event_type,
    event_id: v.event_id,
    session_id: v.session_id,
    user_id: v.user_id,
    outcome: v.outcome,
    signature: v.signature,
    reason: v.reason ?? null,
    status: v.status === 0 ? null : v.status,
    response_body: v.response_body ?? null,
    attempt: v.attempt ?? null,
    delayed_ms: v.delayed_ms ?? 0,
    body_bytes: capture.body_bytes,
    file: saveDir !== undefined ? join(saveDir, captureFileName(capture)) : null,
    ...(capture.forward !== undefined ? { forward: capture.forward } : {}),
    ...(capture.redacted ? { redacted: true } : {}),
  };
}

/** `→ your app said 400 "…" (12 ms)`, or `→ 502: your app gave no answer (connection refused …)`. */
function formatForwarded(out: Output, capture: Capture): string {
  const { c } = out;
  const f = capture.forward!;
  const delay = capture.verdict.delayed_ms ? c.dim(` after a ${capture.verdict.delayed_ms} ms delay`) : '';
  if (f.error !== null)
    return `→ ${c.red(String(capture.verdict.status))}: your app gave no answer (${safeText(f.error.message)})${delay}`;
  const status = f.status ?? 0;
  const colour = status >= 200 && status < 300 ? c.green : status >= 300 && status < 400 ? c.yellow : c.red;
  const body = c.dim(safeText(JSON.stringify(f.body_preview.slice(0, 80))));
  return `→ your app said ${colour(String(status))} ${body} ${c.dim(`(${Math.round(f.latency_ms)} ms)`)}${delay}`;
}

/** One log line: time, type, event id, session id, user id, verdict, and the answer given. */
export function formatReceived(out: Output, capture: Capture): string {
  const { c } = out;
  const v = capture.verdict;
  const dash = c.dim('-');
  const marks = {
    accepted: c.green('✔ accepted'),
    duplicate: c.yellow('↺ duplicate'),
    rejected: c.red('✘ rejected'),
    fault: c.magenta('⚡ fault'),
  };
  // Everything but the marks came in the request: escaped, so a request cannot forge a line.
  const what =
    v.event_type !== null ? safeText(v.event_type) : c.dim(safeText(`${capture.method} ${capture.path.slice(0, 60)}`));
  const attempt = v.attempt !== undefined && v.attempt > 1 ? c.dim(` attempt ${v.attempt}`) : '';
  const reason = v.reason && v.outcome !== 'duplicate' ? ` ${c.dim(`(${safeText(v.reason)})`)}` : '';
  const colour = v.status >= 200 && v.status < 300 ? c.green : c.red;
  // Forwarded: listen's verdict is only reported; the sender got the app's answer.
  const signature =
    capture.forward === undefined
      ? ''
      : v.signature === 'unchecked'
        ? ' signature not checked'
        : v.signature === 'valid'
          ? ' valid signature'
          : ` signature ${v.signature}`;
  const answer =
    v.status === 0
      ? c.magenta('no answer')
      : `${colour(String(v.status))} ${c.dim(safeText(JSON.stringify(v.response_body ?? '')))}`;
  const delay = v.delayed_ms ? c.dim(` after ${v.delayed_ms} ms`) : '';
  const shown = (value: string | null) => (value === null ? dash : safeText(value));
  return [
    c.dim(formatTimeOfDay(capture.received_at)),
    c.bold(what),
    shown(v.event_id),
    shown(v.session_id),
    shown(v.user_id),
    `${marks[v.outcome]}${c.dim(signature)}${attempt}${reason}`,
    capture.forward !== undefined ? formatForwarded(out, capture) : `→ ${answer}${delay}`,
  ].join('  ');
}

/** Where listen's secret came from; `none` when forwarding without one (signatures not checked). */
export type SecretSource = 'flag' | 'env' | 'generated' | 'none';

/** What a running receiver shows at start: where it listens, its secret, its faults. */
export interface ListenStart {
  /** `inspectorUrl`: the inspector page, when it is on. */
  receiver: { url: string; host: string; port: number; path: string; inspectorUrl?: string };
  deliveriesUrl: string;
  /** The history's address as the start note shows it. */
  historyUrl: string;
  secret: string | undefined;
  secretSource: SecretSource;
  /** The secret's environment variable, named in the export line. */
  secretEnv: string;
  options: Omit<ReceiverOptions, 'onDelivery' | 'onWarning'>;
}

/** The NDJSON `ready` record (documented; keep it stable). */
export function readyRecord(s: ListenStart) {
  return {
    type: 'ready',
    url: s.receiver.url,
    host: s.receiver.host,
    port: s.receiver.port,
    path: s.receiver.path,
    deliveries_url: s.deliveriesUrl,
    secret_source: s.secretSource,
    // Only a secret made for this run is printed whole (once); a user's own stays masked.
    secret: s.secret === undefined ? null : s.secretSource === 'generated' ? s.secret : maskSecret(s.secret),
    save_dir: s.options.saveDir ?? null,
    forward_to: s.options.forwardTo !== undefined ? displayUrl(s.options.forwardTo) : null,
    signature_checked: s.secret !== undefined,
    redact: s.options.redact ?? false,
    inspector_url: s.receiver.inspectorUrl ?? null,
  };
}

function describeFaults(r: ListenStart['options']): string[] {
  const f: string[] = [];
  if (r.failFirst) f.push(`the first ${r.failFirst} attempts of each event id get ${r.failStatus ?? 500}`);
  if (r.status !== undefined) f.push(`every delivery gets ${r.status}`);
  if (r.failRate !== undefined)
    f.push(`${Math.round(r.failRate * 1000) / 10}% get ${r.failStatus ?? 500} (--seed ${r.seed})`);
  if (r.delayMs) f.push(`answers wait ${r.delayMs} ms`);
  if (r.hang) f.push('no request is ever answered (--hang)');
  return f;
}

/** The start: the generated secret to export, the ready record, where it listens, and a command to try. */
export function printListenStart(out: Output, s: ListenStart): void {
  const { c, ce } = out;
  const { receiver, options } = s;
  if (s.secretSource === 'generated' && !out.json) {
    out.line(`No secret given, so this run uses a new one. In the terminal you send from:`);
    out.line(`  export ${s.secretEnv}=${s.secret}`);
  }
  out.record(readyRecord(s));
  out.line(`Listening on ${c.bold(receiver.url)}`);
  if (receiver.inspectorUrl !== undefined) out.line(`inspector: ${receiver.inspectorUrl}`);
  if (!isLoopbackHost(receiver.host)) {
    const what =
      receiver.inspectorUrl !== undefined
        ? 'the inspector page and the delivery history are'
        : 'the delivery history is';
    out.note(
      ce.yellow(
        `warning: --host ${receiver.host} is not a loopback address: ${what} reachable from the network ` +
          '(anyone who can reach this port can read captured deliveries)',
      ),
    );
  }
  if (options.forwardTo !== undefined)
    out.line(`Forwarding to ${c.bold(displayUrl(options.forwardTo))} (its answers go back to the sender)`);
  const source = s.secretSource === 'flag' ? '--secret' : s.secretSource === 'env' ? s.secretEnv : 'generated';
  if (s.secret === undefined) {
    out.note(ce.yellow(`signatures not checked: no --secret or ${s.secretEnv}; your app judges them`));
    out.note(ce.dim(`history at ${s.historyUrl}`));
  } else out.note(ce.dim(`secret ${maskSecret(s.secret)} (${source}); history at ${s.historyUrl}`));
  if (options.redact)
    out.note(
      ce.dim(
        `personal data redacted in the history and captures${options.keepRaw ? ' (raw bytes kept)' : ''}; ` +
          '--no-redact keeps it',
      ),
    );
  for (const fault of describeFaults(options)) out.note(ce.magenta(`fault: ${fault}`));
  if (options.saveDir !== undefined) out.note(ce.dim(`saving every delivery to ${options.saveDir}`));
  if (out.json) return;
  const local = receiver.host === '127.0.0.1' || receiver.host === 'localhost';
  const to = local ? `localhost:${receiver.port}` : receiver.url;
  const path = options.path && options.path !== '/webhooks/facesign' ? options.path : '';
  out.note(ce.dim(`try: facesign-webhooks send session.verified --to ${to}${path}   (Ctrl-C to stop)`));
}

export type StopReason = 'interrupted' | 'exit-after' | 'max-wait';

/** How a listen run ended, for its summary. */
export interface ListenEnd {
  stats: ReceiverStats;
  reason: StopReason;
  exitAfter?: number;
  saveDir?: string;
  met: boolean;
}

/** The NDJSON summary of a listen run (documented; keep it stable). */
export function listenSummaryRecord(e: ListenEnd) {
  const { stats } = e;
  return {
    type: 'summary',
    reason: e.reason,
    ...statsJson(stats),
    exit_after: e.exitAfter ?? null,
    met: e.met,
  };
}

export function printListenSummary(out: Output, e: ListenEnd): void {
  out.record(listenSummaryRecord(e));
  const { c } = out;
  const { stats } = e;
  const why =
    e.reason === 'interrupted'
      ? 'stopped'
      : e.reason === 'exit-after'
        ? c.green(`got ${plural(e.exitAfter ?? 0, 'accepted delivery', 'accepted deliveries')}`)
        : e.met
          ? 'time is up (--max-wait)'
          : c.red(`--max-wait: only ${stats.accepted} of ${e.exitAfter} accepted deliveries arrived in time`);
  const parts = [
    `${stats.accepted} accepted`,
    plural(stats.duplicates, 'duplicate'),
    `${stats.rejected} rejected`,
    plural(stats.faults, 'fault'),
  ];
  let line = `${why}: ${plural(stats.received, 'request')} received (${parts.join(', ')})`;
  if (stats.forwarded) line += `; ${stats.forwarded} forwarded to your app`;
  if (stats.forwardErrors) line += c.red(` (${stats.forwardErrors} got no answer)`);
  if (e.saveDir !== undefined) line += `; ${plural(stats.saved, 'capture')} in ${e.saveDir}`;
  if (stats.saveErrors) line += c.red(`; ${stats.saveErrors} could not be written`);
  out.line(line);
}
