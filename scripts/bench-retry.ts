/**
 * How closely `retry-sim --speed 1000` keeps to its plan: runs the built CLI several times against
 * a local always-failing server (in this process, so the CLI's event loop does only the CLI's work)
 * and reports the worst drift per attempt. Target: every attempt within 10 ms of its planned time.
 *
 *   npm run build && npx tsx scripts/bench-retry.ts [runs]
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/facesign-webhooks.js', import.meta.url));
const DIST_CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
export const DRIFT_TARGET_MS = 10;

export interface RetryDriftFigures {
  runs: number;
  speed: number;
  targetMs: number;
  /** The worst |drift| over every attempt of every run. */
  worstDriftMs: number;
  /** Worst |drift| for attempt 1..6 over the runs. */
  worstByAttempt: number[];
  /** Median |drift| of the retries (attempts 2..6; attempt 1 is the start, drift ~0 by definition). */
  medianRetryDriftMs: number;
  /** drift_ms of each attempt, per run. */
  perRun: number[][];
  withinTarget: boolean;
  /** 1-minute load average while measuring: drift on a busy machine is the OS's scheduling. */
  loadAverage: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length === 0 ? 0 : sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function runOnce(url: string, speed: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'retry-sim', '--to', url, '--secret', 'whsec_bench_retry', '--speed', String(speed), '--json'], {
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // The full schedule at --speed 1000 takes ~4.4 s; anything past a minute is a hang.
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const drifts = stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { type: string; drift_ms?: number })
        .filter((r) => r.type === 'attempt')
        .map((r) => Math.abs(r.drift_ms ?? Number.NaN));
      if (code !== 1 || drifts.length === 0) reject(new Error(`retry-sim exited ${code} with ${drifts.length} attempts: ${stderr.trim()}`));
      else resolve(drifts);
    });
  });
}

/** Measures the drift of `runs` full compressed schedules, one after another. */
export async function benchRetryDrift(options: { runs?: number; speed?: number } = {}): Promise<RetryDriftFigures> {
  const runs = options.runs ?? 5;
  const speed = options.speed ?? 1000;
  if (!existsSync(DIST_CLI)) throw new Error('dist/ is missing: run `npm run build` first');
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('always failing (bench)');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/facesign`;
  const perRun: number[][] = [];
  try {
    for (let i = 0; i < runs; i++) perRun.push(await runOnce(url, speed));
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  const attempts = Math.max(...perRun.map((r) => r.length));
  const worstByAttempt = Array.from({ length: attempts }, (_, i) => Math.max(...perRun.map((r) => r[i] ?? 0)));
  const worstDriftMs = Math.max(...worstByAttempt);
  return {
    runs,
    speed,
    targetMs: DRIFT_TARGET_MS,
    worstDriftMs,
    worstByAttempt,
    medianRetryDriftMs: median(perRun.flatMap((r) => r.slice(1))),
    perRun,
    withinTarget: worstDriftMs <= DRIFT_TARGET_MS,
    loadAverage: loadavg()[0] ?? 0,
  };
}

function printFigures(f: RetryDriftFigures): void {
  console.log(`retry-sim --speed ${f.speed}: ${f.runs} runs of the full schedule against a local always-500 server`);
  f.worstByAttempt.forEach((ms, i) => {
    console.log(`  attempt ${i + 1}: worst drift ${ms.toFixed(2).padStart(6)} ms ${ms <= f.targetMs ? 'ok  ' : 'MISS'} (target ≤ ${f.targetMs} ms)`);
  });
  console.log(`  worst ${f.worstDriftMs.toFixed(2)} ms, median of the retries ${f.medianRetryDriftMs.toFixed(2)} ms; 1-min load average ${f.loadAverage.toFixed(2)}`);
  console.log(`  ${f.withinTarget ? 'met' : 'MISSED'}: every attempt within ${f.targetMs} ms of its planned wall time`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const runs = process.argv[2] ? Number(process.argv[2]) : 5;
  benchRetryDrift({ runs: Number.isInteger(runs) && runs > 0 ? runs : 5 })
    .then((figures) => {
      printFigures(figures);
      process.exitCode = figures.withinTarget ? 0 : 1;
    })
    .catch((err: unknown) => {
      console.error(`bench-retry: ${(err as Error).message}`);
      process.exitCode = 2;
    });
}
