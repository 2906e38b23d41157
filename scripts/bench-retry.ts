/*
 * How closely `retry-sim --speed 1000` keeps to FaceSign's schedule, measured where it matters: at
 * an independent receiver (scripts/bench-servers.mjs arrivals, its own process) that answers 500 to
 * every attempt and timestamps each arrival and each answer. The plan, from the provider docs:
 * retries 5 s, 30 s, 2 min, 10 min, 1 h after the attempt before ends, compressed `speed`-fold. The
 * drift of retry k is its arrival minus (the answer to attempt k-1 + delay k / speed). The tool's
 * own `drift_ms` is not used. Target: worst drift ≤ 5 ms.
 *
 *   npm run build && npx tsx scripts/bench-retry.ts [runs]
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/facesign-webhooks.js', import.meta.url));
const DIST_CLI = fileURLToPath(new URL('../dist/cli/cli.js', import.meta.url));
const SERVERS = fileURLToPath(new URL('./bench-servers.mjs', import.meta.url));
const SECRET = 'whsec_bench_retry';
export const DRIFT_TARGET_MS = 5;
/** The provider docs' retry delays (5 s, 30 s, 2 min, 10 min, 1 h), in ms. */
const PLAN_MS = [5_000, 30_000, 120_000, 600_000, 3_600_000];

export interface RetryDriftFigures {
  runs: number;
  speed: number;
  targetMs: number;
  /** |drift| of every retry of every run, at the receiver. */
  drifts: number[];
  worstDriftMs: number;
  p95DriftMs: number;
  /** Worst |drift| per retry (1..5) over the runs. */
  worstByRetry: number[];
  withinTarget: boolean;
  /** The worst of the tool's own `drift_ms` (its timer against its own plan), for comparison only. */
  selfReportedWorstMs: number;
  /** Set when a run did not do what was asked (not 6 attempts, a bad signature, a non-zero exit). */
  invalid?: string;
  /** 1-minute load average while measuring: drift on a busy machine is the OS's scheduling. */
  loadAverage: number;
}

interface Arrival {
  arrived_at: number;
  answered_at: number;
  event_id: string | null;
  valid: boolean;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Starts the arrivals receiver; each request's timestamps go to `arrivals`. */
function startReceiver(arrivals: Arrival[]): Promise<{ url: string; stop: () => void }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVERS, 'arrivals', SECRET], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    let url: string | undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const port = /^port=(\d+)$/.exec(line);
        if (port) {
          url = `http://127.0.0.1:${port[1]}/webhooks/facesign`;
          resolve({ url, stop: () => child.kill('SIGTERM') });
        } else if (line.startsWith('{')) arrivals.push(JSON.parse(line) as Arrival);
      }
    });
    child.on('exit', (code) => {
      if (!url) reject(new Error(`the arrivals receiver exited ${code}`));
    });
  });
}

/** One full schedule; resolves with the tool's own |drift_ms| per attempt. */
function runOnce(url: string, speed: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    // --expect failed: the receiver fails every attempt, so the run is right when it is marked failed (exit 0).
    const child = spawn(
      process.execPath,
      [BIN, 'retry-sim', '--to', url, '--secret', SECRET, '--speed', String(speed), '--expect', 'failed', '--json'],
      {
        env: { ...process.env, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // The whole schedule at --speed 1000 takes ~4.4 s; anything past a minute is a hang.
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const own = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { type: string; drift_ms?: number })
        .filter((r) => r.type === 'attempt')
        .map((r) => Math.abs(r.drift_ms ?? NaN));
      if (code === 0) resolve(own);
      else reject(new Error(`retry-sim exited ${code}: ${stderr.trim().split('\n').at(-1) ?? ''}`));
    });
  });
}

/** Plays the full schedule `runs` times and measures every retry's drift at the receiver. */
export async function benchRetryDrift(options: { runs?: number; speed?: number } = {}): Promise<RetryDriftFigures> {
  const runs = options.runs ?? 5;
  const speed = options.speed ?? 1000;
  if (!existsSync(DIST_CLI)) throw new Error('dist/ is missing: run `npm run build` first');
  const arrivals: Arrival[] = [];
  const receiver = await startReceiver(arrivals);
  const drifts: number[] = [];
  const byRetry: number[][] = PLAN_MS.map(() => []);
  let invalid: string | undefined;
  const own: number[] = [];
  try {
    for (let i = 0; i < runs && !invalid; i++) {
      arrivals.length = 0;
      own.push(...(await runOnce(receiver.url, speed)));
      await new Promise((r) => setTimeout(r, 50)); // the last arrival line may still be in the pipe
      const ids = new Set(arrivals.map((a) => a.event_id));
      if (arrivals.length !== PLAN_MS.length + 1)
        invalid = `run ${i + 1}: the receiver saw ${arrivals.length} attempts, not ${PLAN_MS.length + 1}`;
      else if (!arrivals.every((a) => a.valid)) invalid = `run ${i + 1}: an attempt arrived with an invalid signature`;
      else if (ids.size !== 1) invalid = `run ${i + 1}: the attempts carried ${ids.size} event ids, not one`;
      else {
        for (let k = 1; k < arrivals.length; k++) {
          const planned = arrivals[k - 1]!.answered_at + PLAN_MS[k - 1]! / speed;
          const drift = Math.abs(arrivals[k]!.arrived_at - planned);
          drifts.push(drift);
          byRetry[k - 1]!.push(drift);
        }
      }
    }
  } finally {
    receiver.stop();
  }
  const worstDriftMs = drifts.length ? Math.max(...drifts) : NaN;
  return {
    runs,
    speed,
    targetMs: DRIFT_TARGET_MS,
    drifts,
    worstDriftMs,
    p95DriftMs: percentile(drifts, 95),
    worstByRetry: byRetry.map((d) => (d.length ? Math.max(...d) : NaN)),
    withinTarget: !invalid && worstDriftMs <= DRIFT_TARGET_MS,
    selfReportedWorstMs: own.length ? Math.max(...own) : NaN,
    invalid,
    loadAverage: loadavg()[0] ?? 0,
  };
}

function printFigures(f: RetryDriftFigures): void {
  console.log(
    `retry-sim --speed ${f.speed}: ${f.runs} runs of the full schedule, drift measured at an independent always-500 receiver`,
  );
  if (f.invalid) return console.log(`  INVALID: ${f.invalid}`);
  f.worstByRetry.forEach((ms, i) => console.log(`  retry ${i + 1}: worst drift ${ms.toFixed(2).padStart(6)} ms`));
  console.log(
    `  worst ${f.worstDriftMs.toFixed(2)} ms, p95 ${f.p95DriftMs.toFixed(2)} ms over ${f.drifts.length} retries; the tool's own drift_ms worst ${f.selfReportedWorstMs.toFixed(2)} ms; 1-min load average ${f.loadAverage.toFixed(2)}`,
  );
  console.log(`  ${f.withinTarget ? 'met' : 'MISSED'}: worst drift ≤ ${f.targetMs} ms`);
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
