import type { DemoReporter, DemoResult } from '../demo/run.js';
import { printDelivery } from './delivery.js';
import { maskSecret } from './format.js';
import { formatReceived } from './listen.js';
import type { Output } from './output.js';
import { attemptHeader, printAttempt } from './retry.js';

/** The demo's steps on a terminal: a numbered title each, what happened indented under it. */
export function createDemoReporter(out: Output): DemoReporter {
  const { c } = out;
  const indented: Output = { ...out, line: (text = '') => out.line(`   ${text}`) };
  return {
    start({ url, secret }) {
      out.line(c.bold('facesign-webhooks demo'));
      out.line(`A receiver is listening on ${c.bold(url)} with a generated secret ${maskSecret(secret)};`);
      out.line('it checks each request the way a correct FaceSign handler would.');
    },
    step(index, step) {
      out.line('');
      out.line(c.bold(`${index + 1}. ${step.title}`));
    },
    stepFailed(step) {
      out.line(c.red(`   step "${step.id}" did not go as expected`));
    },
    delivery: (req, res, met, expected) => printDelivery(indented, req, res, { met, expected }),
    detail: (text) => out.line(c.dim(`   ${text}`)),
    attemptHeader: () => out.line(c.dim(`     ${attemptHeader()}`)),
    attempt: (a) => printAttempt(out, a, '   '),
    received: (capture) => out.line(`   ${formatReceived(out, capture)}`),
    counts: (text) => out.line(`   ${text}`),
    // Padded so the two verdicts the story expects (valid, then invalid) line up.
    verdict: (ok, label) =>
      out.line(`   ${ok ? c.green('✔ valid') : c.red('✘ invalid')}${' '.repeat(ok ? 4 : 2)}${label}`),
  };
}

/** The commands to try next, shown at the end. */
export const NEXT_COMMANDS: [string, string][] = [
  ['facesign-webhooks listen', 'terminal 1: this receiver on localhost:3000 (prints a secret to export and its page)'],
  ['facesign-webhooks send session.verified --to localhost', 'terminal 2: one signed event'],
  ['facesign-webhooks flow failed --to localhost', 'a whole session that ends in failure'],
  ['facesign-webhooks send verified --signature invalid --expect 4xx', 'does your endpoint reject bad signatures?'],
  ['facesign-webhooks retry-sim --speed 3600', "FaceSign's retry schedule, an hour in a second"],
  ['facesign-webhooks check --to localhost:4000', 'a conformance suite for your endpoint (CI exit code)'],
  ['facesign-webhooks listen --save ./captures', 'keep every delivery; then `replay ./captures --to :4000`'],
  ['facesign-webhooks verify ./captures/000001-*.json', 'check a capture; explains exactly why a signature fails'],
  ['facesign-webhooks listen --forward-to :4000', 'in front of your app: inspect, replay and re-sign what it gets'],
  ['facesign-webhooks config --init', 'a project config: your target, timeouts, a route per event type'],
];

/** The demo's last lines: interrupted, the steps that went wrong, or what to try next. */
export function printDemoEnd(out: Output, result: DemoResult): void {
  const { c } = out;
  out.line('');
  if (result.interrupted) {
    out.line(c.yellow('interrupted'));
    return;
  }
  if (result.failed.length > 0) {
    out.line(c.red(`demo finished with ${result.failed.length} unexpected step(s): ${result.failed.join(', ')}`));
    return;
  }
  out.line(c.green('Everything behaved as a FaceSign integration should.'));
  out.line('');
  out.line(c.bold('Next, try:'));
  const width = Math.max(...NEXT_COMMANDS.map(([cmd]) => cmd.length));
  for (const [cmd, why] of NEXT_COMMANDS) out.line(`  ${cmd.padEnd(width)}  ${c.dim(`# ${why}`)}`);
  out.line(`  ${'facesign-webhooks <command> --help'.padEnd(width)}  ${c.dim('# every flag, with examples')}`);
}
