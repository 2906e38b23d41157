/*
 * `npm run bench`: every performance target of the tool, measured side by side with its baseline
 * in one run on this machine, printed as ratios. Not part of the test suite; it never fails CI.
 * Baselines and the tool run interleaved, several times each, and medians are compared, because
 * shared machines are noisy.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHmac } from 'node:crypto';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/facesign-webhooks.js');
const NODE = process.execPath;
const SECRET = 'whsec_bench_secret';
const work = mkdtempSync(join(tmpdir(), 'fw-bench-'));
const quick = process.argv.includes('--quick');
const REPS = quick ? 5 : 15;
/** How long each autocannon run lasts. */
const SECONDS = quick ? 3 : 5;

interface Row {
  what: string;
  ours: string;
  baseline: string;
  ratio: number;
  target: string;
  met: boolean;
}
const rows: Row[] = [];
/** Reference points measured beside a target, to show how close to it any implementation could get. */
const floors: string[] = [];

/**
 * Throughput runs pin the server under test to one CPU and the client driving it (autocannon or
 * the tool) to another, when the machine has two and `taskset` exists: otherwise the two compete
 * for the same cores, and run-to-run swings on this shared machine (±25%) drown the differences.
 */
const PIN = cpus().length >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;
type Role = 'server' | 'client';
function command(role: Role, args: string[]): [string, string[]] {
  return PIN ? ['taskset', ['-c', role === 'server' ? '0' : '1', NODE, ...args]] : [NODE, args];
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function timeSpawn(args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const t0 = performance.now();
  const r = spawnSync(NODE, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t0;
  if (r.status !== 0 && r.status !== 1) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

/** Runs each command REPS times, interleaved, and returns the medians. */
function interleaved(commands: Record<string, string[]>, reps = REPS): Record<string, number> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  for (const args of Object.values(commands)) timeSpawn(args); // warm the file cache
  for (let i = 0; i < reps; i++) for (const [k, args] of Object.entries(commands)) samples[k]!.push(timeSpawn(args));
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
}

function add(what: string, ours: number, baseline: number, unit: string, target: { max?: number; min?: number }) {
  const ratio = ours / baseline;
  const met = target.max !== undefined ? ratio <= target.max : ratio >= target.min!;
  const fmt = (x: number) => `${x.toFixed(unit === 'req/s' ? 0 : 1)} ${unit}`;
  rows.push({ what, ours: fmt(ours), baseline: fmt(baseline), ratio, target: target.max !== undefined ? `≤ ${target.max}×` : `≥ ${target.min}×`, met });
  console.log(`  ${met ? 'met ' : 'MISS'} ${what}: ${fmt(ours)} vs ${fmt(baseline)} = ${ratio.toFixed(2)}× (target ${rows.at(-1)!.target})`);
}

/** Starts a node script as a server process; resolves when it prints its port. */
function startProcess(args: string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(...command('server', args), { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NO_COLOR: '1' } });
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no ready line from ${args.join(' ')}`)), 10_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      const m = buf.match(ready);
      if (m) {
        clearTimeout(timer);
        child.stdout!.removeAllListeners('data');
        child.stdout!.resume();
        resolve({ child, match: m });
      }
    });
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code} before it was ready`)));
  });
}

/**
 * Starts a server whose standard output goes to a file, not back to this process: reading a
 * receiver's log through a pipe would cost this process CPU on the cores the receiver and
 * autocannon share. Resolves when the file shows the ready line.
 */
function startLogging(args: string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  const log = join(work, `out-${Date.now()}-${Math.random().toString(36).slice(2)}.log`);
  const fd = openSync(log, 'w');
  const child = spawn(...command('server', args), { stdio: ['ignore', fd, 'inherit'], env: { ...process.env, NO_COLOR: '1' } });
  closeSync(fd);
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 10_000;
    const poll = () => {
      const m = readFileSync(log, 'utf8').match(ready);
      if (m) return resolve({ child, match: m });
      if (child.exitCode !== null) return reject(new Error(`${args.join(' ')} exited ${child.exitCode} before it was ready`));
      if (Date.now() > deadline) return reject(new Error(`no ready line from ${args.join(' ')}`));
      setTimeout(poll, 20);
    };
    poll();
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.removeAllListeners('exit');
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([done, new Promise((r) => setTimeout(r, 5_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

// A plain node:http server: answers 200 to every POST, or checks the HMAC first with `verify`.
const SERVER = join(work, 'server.mjs');
writeFileSync(
  SERVER,
  `import http from 'node:http'; import { createHmac, timingSafeEqual } from 'node:crypto';
const mode = process.argv[2]; const verify = mode === 'verify' || mode === 'log' || mode === 'batch'; const secret = ${JSON.stringify(SECRET)};
let pending = []; const flush = () => { const text = pending.join(''); pending = []; process.stdout.write(text); };
const server = http.createServer((req, res) => { const chunks = []; req.on('data', (c) => chunks.push(c)); req.on('end', () => {
  const body = Buffer.concat(chunks);
  if (verify) { const sig = String(req.headers['facesign-signature'] ?? '');
    const want = createHmac('sha256', secret).update(body).digest(); const got = Buffer.from(sig, 'hex');
    if (got.length !== want.length || !timingSafeEqual(got, want)) { res.writeHead(400); return res.end('Invalid signature'); } }
  if (mode === 'log' || mode === 'batch') { const e = JSON.parse(body.toString('utf8'));
    const line = JSON.stringify({ type: 'delivery', event_id: e.id, event_type: e.type, session_id: e.data.id, received_at: new Date().toISOString() }) + '\\n';
    if (mode === 'log') process.stdout.write(line); else { pending.push(line); if (pending.length === 1) setImmediate(flush); } }
  res.writeHead(200, { 'content-type': 'text/plain' }); res.end('OK'); }); });
server.listen(0, '127.0.0.1', () => console.log('port=' + server.address().port));
process.on('SIGTERM', () => process.exit(0));`,
);

// The minimal one-shot client a user might write instead of the tool.
const CLIENT = join(work, 'client.mjs');
writeFileSync(
  CLIENT,
  `import http from 'node:http'; import { createHmac } from 'node:crypto'; import { readFileSync } from 'node:fs';
const body = readFileSync(process.argv[3]); const sig = createHmac('sha256', ${JSON.stringify(SECRET)}).update(body).digest('hex');
const req = http.request(process.argv[2], { method: 'POST', headers: { 'content-type': 'application/json', 'facesign-signature': sig } }, (res) => { res.resume(); res.on('end', () => process.exit(res.statusCode >= 200 && res.statusCode < 300 ? 0 : 1)); });
req.end(body);`,
);

const BODY = join(work, 'event.json');
writeFileSync(BODY, JSON.stringify(JSON.parse(readFileSync(join(ROOT, 'fixtures/session.verified.json'), 'utf8'))));
const bodyBytes = readFileSync(BODY);
const signature = createHmac('sha256', SECRET).update(bodyBytes).digest('hex');

async function benchStartup() {
  console.log('start-up (median wall time of whole processes):');
  const m = interleaved({
    node: ['-e', '0'],
    help: [BIN, '--help'],
    events: [BIN, 'events'],
    sign: [BIN, 'sign', '--payload', BODY, '--secret', SECRET],
    verify: [BIN, 'verify', '--payload', BODY, '--signature', signature, '--secret', SECRET],
  });
  for (const k of ['help', 'events', 'sign', 'verify']) add(`\`${k}\` start-up vs node -e 0`, m[k]!, m.node!, 'ms', { max: 1.5 });
}

async function benchOneSend() {
  console.log('one send to a local server (whole process):');
  const { child, match } = await startProcess([SERVER], /port=(\d+)/);
  try {
    const url = `http://127.0.0.1:${match[1]}/webhooks/facesign`;
    const m = interleaved({
      minimal: [CLIENT, url, BODY],
      send: [BIN, 'send', '--fixture', BODY, '--to', url, '--secret', SECRET],
    });
    add('one `send` vs a minimal node:http POST script', m.send!, m.minimal!, 'ms', { max: 2.0 });
  } finally {
    await stop(child);
  }
}

/**
 * Requests per second autocannon sustains for `seconds`. A fixed duration, not a fixed amount:
 * autocannon's amount mode ends on its one-second sampling tick, which rounds a 2.6 s run up to 3 s.
 */
function autocannon(url: string, seconds: number, connections: number, body: Buffer, headers: Record<string, string>, per: 'run' | 'second-median' = 'run'): Promise<number> {
  return new Promise((resolve, reject) => {
    const args = [join(ROOT, 'node_modules/autocannon/autocannon.js'), '--json', '-c', String(connections), '-d', String(seconds), '-m', 'POST', '-b', body.toString('utf8')];
    for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}=${v}`);
    args.push(url);
    const child = spawn(...command('client', args), { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('exit', () => {
      try {
        const r = JSON.parse(out) as { requests: { total: number; p50: number }; duration: number; non2xx: number };
        // The whole run's rate (duration is in seconds, the -d given), or its median one-second rate,
        // which a moment's stall on this shared machine moves less.
        resolve(per === 'run' ? r.requests.total / r.duration : r.requests.p50);
      } catch (err) {
        reject(err);
      }
    });
  });
}

function ourLoad(url: string, amount: number, connections: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(...command('client', [BIN, 'send', 'session.verified', '--count', String(amount), '--concurrency', String(connections), '--to', url, '--secret', SECRET, '--json']), {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('exit', () => {
      const load = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; requests_per_second: number }).find((r) => r.type === 'load');
      if (load) resolve(load.requests_per_second);
      else reject(new Error(`no load record from send --count: ${out.slice(0, 200)}`));
    });
  });
}

const HEADERS = { 'content-type': 'application/json', 'facesign-signature': signature, 'facesign-event-id': 'evt_1a2b3c4d5e6f' };

/** CPU seconds (user + system, all threads) a whole node process used, reported by the process itself on exit. */
function cpuSeconds(args: string[]): number {
  const out = join(work, `cpu-${Date.now()}-${Math.random().toString(36).slice(2)}.txt`);
  const hook = join(work, 'cpu-hook.cjs');
  writeFileSync(hook, `process.on('exit', () => { const u = process.cpuUsage(); require('fs').writeFileSync(process.env.FW_BENCH_CPU_OUT, String((u.user + u.system) / 1e6)); });`);
  spawnSync(...command('client', ['--require', hook, ...args]), { stdio: 'ignore', env: { ...process.env, FW_BENCH_CPU_OUT: out } });
  return Number(readFileSync(out, 'utf8'));
}

async function benchLoad() {
  const amount = quick ? 5_000 : 20_000;
  console.log(`load mode: send --count ${amount} --concurrency 64 vs autocannon -c 64 -d ${SECONDS} (same body), same server:`);
  const { child, match } = await startProcess([SERVER], /port=(\d+)/);
  try {
    const url = `http://127.0.0.1:${match[1]}/webhooks/facesign`;
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let i = 0; i < (quick ? 1 : 5); i++) {
      theirs.push(await autocannon(url, SECONDS, 64, bodyBytes, HEADERS));
      ours.push(await ourLoad(url, amount, 64));
    }
    add('`send --count` requests/s vs autocannon', median(ours), median(theirs), 'req/s', { min: 0.8 });

    // What each client costs per request, start-up taken out (a run of N minus a run of 2,000):
    // the part of the two shared cores a client leaves to the server under test.
    const long = quick ? 20_000 : 60_000;
    const sendArgs = (n: number) => [BIN, 'send', 'session.verified', '--count', String(n), '--concurrency', '64', '--to', url, '--secret', SECRET];
    const acArgs = (n: number) => {
      const args = [join(ROOT, 'node_modules/autocannon/autocannon.js'), '-c', '64', '-a', String(n), '-m', 'POST', '-b', bodyBytes.toString('utf8')];
      for (const [k, v] of Object.entries(HEADERS)) args.push('-H', `${k}=${v}`);
      return [...args, url];
    };
    const perRequest = (args: (n: number) => string[]) => {
      const samples = Array.from({ length: quick ? 1 : 3 }, () => (cpuSeconds(args(long)) - cpuSeconds(args(2_000))) / (long - 2_000));
      return median(samples) * 1e6;
    };
    const ourCpu = perRequest(sendArgs);
    const theirCpu = perRequest(acArgs);
    floors.push(
      `load: client CPU per request, start-up excluded: send --count ${ourCpu.toFixed(1)} µs (building, signing and sending each distinct event) vs autocannon ${theirCpu.toFixed(1)} µs (one fixed request) = ${(ourCpu / theirCpu).toFixed(2)}×`,
    );
    const steady = await ourLoad(url, long * 2, 64);
    const steadyTheirs = await autocannon(url, SECONDS, 64, bodyBytes, HEADERS);
    floors.push(`load: a longer run, send --count ${long * 2}, reaches ${steady.toFixed(0)} req/s = ${(steady / steadyTheirs).toFixed(2)}× autocannon (${steadyTheirs.toFixed(0)} req/s, run right after); a ${amount}-request run includes the client's warm-up (its first ~2,000 requests run several times slower)`);
  } finally {
    await stop(child);
  }
}

async function benchListen() {
  console.log(`receiver: listen (verifying every signature) vs a minimal node:http HMAC server, autocannon -c 64 -d ${SECONDS}:`);
  // Each round runs the baseline, listen and the logging floor back to back; every server's output
  // goes to a file, so this process reads nothing while autocannon runs.
  const runs: Record<'base' | 'listen' | 'floor' | 'nohistory', number[]> = { base: [], listen: [], floor: [], nohistory: [] };
  const listenArgs = [BIN, 'listen', '--port', '0', '--secret', SECRET, '--json'];
  const servers: Record<keyof typeof runs, [string[], RegExp]> = {
    base: [[SERVER, 'verify'], /port=(\d+)/],
    listen: [listenArgs, /"url":"http:\/\/[^:]+:(\d+)/],
    floor: [[SERVER, 'batch'], /port=(\d+)/],
    nohistory: [[...listenArgs, '--history', '0'], /"url":"http:\/\/[^:]+:(\d+)/],
  };
  const order = Object.entries(servers) as [keyof typeof runs, [string[], RegExp]][];
  for (let i = 0; i < (quick ? 1 : 5); i++) {
    // Rotated each round, so no server always runs first (or right after another's teardown).
    for (const [name, [args, ready]] of [...order.slice(i % order.length), ...order.slice(0, i % order.length)]) {
      const server = await startLogging(args, ready);
      try {
        runs[name].push(await autocannon(`http://127.0.0.1:${server.match[1]}/webhooks/facesign`, SECONDS, 64, bodyBytes, HEADERS, 'second-median'));
      } finally {
        await stop(server.child);
      }
    }
  }
  const [base, ours, floor, noHistory] = [median(runs.base), median(runs.listen), median(runs.floor), median(runs.nohistory)];
  add('`listen` requests/s vs minimal verifying server', ours, base, 'req/s', { min: 0.8 });
  floors.push(
    `listen: the same minimal server that also parses each body and logs one NDJSON line per delivery, gathered into one write per event-loop turn as listen does, reaches ${floor.toFixed(0)} req/s = ${(floor / base).toFixed(2)}× the baseline; listen reaches ${(ours / floor).toFixed(2)}× of that`,
    `listen: with --history 0 (no captures kept for the history endpoint) it reaches ${noHistory.toFixed(0)} req/s = ${(noHistory / base).toFixed(2)}× the baseline`,
  );
}

async function benchDrift() {
  console.log('retry-sim --speed 1000 (worst drift per attempt vs the plan):');
  const { benchRetryDrift } = (await import('./bench-retry.js')) as { benchRetryDrift: (opts?: { runs?: number }) => Promise<{ worstDriftMs: number }> };
  const result = await benchRetryDrift({ runs: quick ? 2 : 5 });
  const met = result.worstDriftMs <= 10;
  rows.push({ what: 'retry-sim --speed 1000 worst drift', ours: `${result.worstDriftMs.toFixed(2)} ms`, baseline: 'the plan', ratio: NaN, target: '≤ 10 ms', met });
  console.log(`  ${met ? 'met ' : 'MISS'} worst drift ${result.worstDriftMs.toFixed(2)} ms (target ≤ 10 ms)`);
}

/** Peak RSS of a whole `send --count N` process, reported by the process itself on exit. */
function peakRss(count: number, url: string): Promise<number> {
  const hook = join(work, 'rss.cjs');
  const out = join(work, `rss-${count}.txt`);
  writeFileSync(hook, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(out)}, String(process.resourceUsage().maxRSS)));`);
  return new Promise((resolve, reject) => {
    const child = spawn(...command('client', ['--require', hook, BIN, 'send', 'session.verified', '--count', String(count), '--concurrency', '64', '--to', url, '--secret', SECRET, '--json']), {
      stdio: 'ignore',
    });
    child.on('exit', () => {
      try {
        resolve(Number(readFileSync(out, 'utf8')) / 1024);
      } catch (err) {
        reject(err);
      }
    });
  });
}

async function benchMemory() {
  const big = quick ? 50_000 : 200_000;
  console.log(`memory: send --count ${big} vs --count 2000 (peak RSS):`);
  const { child, match } = await startProcess([SERVER], /port=(\d+)/);
  try {
    const url = `http://127.0.0.1:${match[1]}/webhooks/facesign`;
    const small = await peakRss(2_000, url);
    const large = await peakRss(big, url);
    add(`\`send --count ${big}\` peak memory vs --count 2000`, large, small, 'MiB', { max: 1.3 });
  } finally {
    await stop(child);
  }
}

console.log(PIN ? 'throughput runs: server pinned to CPU 0, its client to CPU 1 (taskset)\n' : 'throughput runs: not pinned (needs two CPUs and taskset)\n');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const parts: Record<string, () => Promise<void>> = { startup: benchStartup, send: benchOneSend, load: benchLoad, listen: benchListen, drift: benchDrift, memory: benchMemory };
try {
  for (const [name, fn] of Object.entries(parts)) {
    if (only && !only.includes(name)) continue;
    try {
      await fn();
    } catch (err) {
      console.log(`  could not measure ${name}: ${(err as Error).message}`);
      rows.push({ what: name, ours: '-', baseline: '-', ratio: NaN, target: '-', met: false });
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log('\nsummary');
for (const r of rows) console.log(`${r.met ? 'met ' : 'MISS'}  ${r.what.padEnd(52)} ${r.ours.padStart(12)} vs ${r.baseline.padStart(12)}  ${Number.isNaN(r.ratio) ? '' : `${r.ratio.toFixed(2)}×`}  target ${r.target}`);
console.log(`${rows.filter((r) => r.met).length} of ${rows.length} targets met`);
if (floors.length) console.log(`\nreference points\n${floors.map((f) => `- ${f}`).join('\n')}`);
