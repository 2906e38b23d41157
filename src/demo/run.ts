import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deliver } from '../delivery/deliver.js';
import { prepareRequest } from '../delivery/request.js';
import { startReceiver } from '../receiver/server.js';
import { generateSecret } from '../secret.js';
import { DEMO_STEPS, DEMO_TIMEOUT_MS, type DemoContext, type DemoReporter } from './steps.js';

export { DEMO_STEPS, type DemoContext, type DemoReporter, type DemoStep } from './steps.js';

export interface DemoRunOptions {
  report: DemoReporter;
  /** Stops between steps (and cuts a delivery in flight). */
  signal?: AbortSignal;
  /** Keep the capture files the demo's receiver wrote (default: removed at the end). */
  keepCaptures?: boolean;
}

export interface DemoResult {
  /** The ids of the steps that did not go as expected. */
  failed: string[];
  interrupted: boolean;
}

/**
 * The demo's story against a receiver of its own with a generated secret: each step in turn,
 * reported as it goes. The receiver is closed and its captures removed before this resolves.
 */
export async function runDemoSteps(options: DemoRunOptions): Promise<DemoResult> {
  const { report, signal } = options;
  const secret = generateSecret();
  const saveDir = mkdtempSync(join(tmpdir(), 'facesign-demo-'));
  const receiver = await startReceiver({ secret, port: 0, saveDir, closeGraceMs: 1_000 });
  const ctx: DemoContext = {
    report,
    receiver,
    secret,
    saveDir,
    prepare: (event, opts = {}) => prepareRequest(event, { url: receiver.url, secret, ...opts }),
    async send(req, expected = '2xx') {
      const res = await deliver(req, { timeoutMs: DEMO_TIMEOUT_MS, signal });
      const met = expected === '2xx' ? res.ok : res.status === Number(expected);
      report.delivery(req, res, met, expected);
      return { res, met };
    },
  };
  report.start({ url: receiver.url, secret });
  const failed: string[] = [];
  try {
    for (const [i, step] of DEMO_STEPS.entries()) {
      if (signal?.aborted) return { failed, interrupted: true };
      report.step(i, step);
      if (!(await step.run(ctx))) {
        failed.push(step.id);
        report.stepFailed(step);
      }
    }
    return { failed, interrupted: false };
  } finally {
    await receiver.close();
    if (!options.keepCaptures) rmSync(saveDir, { recursive: true, force: true });
  }
}
