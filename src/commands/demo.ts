import { runDemoSteps } from '../demo/run.js';
import { EXIT } from '../errors.js';
import { watchInterrupt } from '../interrupt.js';
import { createDemoReporter, printDemoEnd } from '../report/demo.js';
import { createOutput } from '../report/output.js';

export interface DemoOptions {
  /** Keep the capture files the demo's receiver wrote (default: removed at the end). */
  keepCaptures?: boolean;
}

export async function runDemo(options: DemoOptions = {}): Promise<number> {
  const out = createOutput({});
  const interrupt = watchInterrupt();
  let result;
  try {
    result = await runDemoSteps({
      report: createDemoReporter(out),
      signal: interrupt.signal,
      keepCaptures: options.keepCaptures,
    });
  } finally {
    interrupt.dispose();
  }
  printDemoEnd(out, result);
  if (result.interrupted) return EXIT.interrupted;
  return result.failed.length > 0 ? EXIT.failed : EXIT.ok;
}
