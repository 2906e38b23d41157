import { listenRecord, type ListenComparison } from '../verify/listen-verdict.js';
import { verdictRecord, type WebhookVerdict } from '../verify/verdict.js';
import type { Output } from './output.js';
import { safeExcerpt, safeText } from './text.js';

/** A received value made safe for a terminal: control characters escaped, long values cut. */
const showValue = (value: string) => safeExcerpt(value, 100);

/** What `listen` decided, in yellow when it disagrees (the message quotes the capture's reason). */
function listenLine(out: Output, listen: ListenComparison): string {
  const text = safeText(listen.message.replace(/^listen /, ''));
  return `  ${out.c.bold('listen')}    ${listen.agrees === false ? out.c.yellow(text) : text}`;
}

function printHuman(out: Output, verdict: WebhookVerdict, listen: ListenComparison | undefined): void {
  const { c } = out;
  const s = verdict.signature;
  const what = showValue([verdict.eventType, verdict.eventId].filter(Boolean).join(' '));
  const about = c.dim(`(${what ? `${what}, ` : ''}${verdict.bodyBytes} bytes)`);
  if (s.ok) {
    const strictFail = !verdict.ok ? c.red(` but ${verdict.warnings.length} warning(s) fail --strict`) : '';
    out.line(`${c.green('✔ valid')}   signature matches ${about}${strictFail}`);
    if (listen) out.line(listenLine(out, listen));
  } else {
    out.line(`${c.red('✘ invalid:')} ${s.message} ${about}`);
    if (listen) out.line(listenLine(out, listen));
    if (s.cause) out.line(`  ${c.bold('cause')}     ${s.cause.message}`);
    if (s.secretHint) out.line(`  ${c.bold('secret')}    ${s.secretHint.message}`);
    if (s.fix) out.line(`  ${c.bold('fix')}       ${s.fix}`);
    if (verdict.received !== null) out.line(`  ${c.bold('received')}  ${showValue(verdict.received)}`);
    if (s.expected) out.line(`  ${c.bold('expected')}  ${s.expected} ${c.dim('(this secret, this body as it is)')}`);
  }
  if (verdict.warnings.length > 0) {
    out.line(c.yellow(`${verdict.warnings.length} warning(s)${verdict.strict ? ' (failures under --strict)' : ''}:`));
    for (const w of verdict.warnings) out.line(`  ${c.yellow('!')} ${safeText(w.message)} ${c.dim(`[${w.code}]`)}`);
  }
}

/**
 * The `verify` record (built by `verdictRecord`, which the library exports; a capture adds what
 * listen decided), the verdict for a person, and the verdict's notes on stderr.
 */
export function printVerdict(
  out: Output,
  verdict: WebhookVerdict,
  from: { source: 'capture' | 'request' | 'payload'; input: string; listen?: ListenComparison },
): void {
  const record = verdictRecord(verdict, { source: from.source, input: from.input });
  out.record(from.source === 'capture' ? { ...record, listen: listenRecord(from.listen) } : record);
  printHuman(out, verdict, from.listen);
  for (const note of verdict.notes) out.note(`note: ${safeText(note)}`);
}
