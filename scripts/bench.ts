/*
 * `npm run bench`: every performance target of the tool, measured side by side with its baseline
 * on this machine. Every timed run checks its outcome first (exit 0, every response a 2xx, every
 * signature valid at the server, the expected count received); a run that does not hold prints
 * INVALID instead of a ratio. Not part of the test suite; it never fails CI.
 *
 *   npm run bench                        all parts (under 10 minutes on two shared cores)
 *   npm run bench -- --quick             fewer rounds and smaller counts
 *   npm run bench -- --only=load,listen  parts: startup, send, client, load, listen, forward, ui, drift, memory
 *
 * Throughput runs pin the server under test to CPU 0 and the client driving it to CPU 1 when the
 * machine has two CPUs and `taskset`; otherwise the two compete for the same cores.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { get as httpGet } from 'node:http';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/facesign-webhooks.js');
const SERVERS = join(ROOT, 'scripts/bench-servers.mjs');
const EXPRESS = join(ROOT, 'scripts/bench-express-sample.mjs');
const DRIVER = join(ROOT, 'scripts/bench-load-driver.mjs');
const NODE = process.execPath;
const SECRET = 'whsec_bench_secret';
const work = mkdtempSync(join(tmpdir(), 'fw-bench-'));
const quick = process.argv.includes('--quick');
const REPS = quick ? 5 : 15;
const ROUNDS = quick ? 1 : 3;
const CONCURRENCY = 64;

/** Thrown when a timed run did not do what it was asked: the row shows INVALID and why. */
class Invalid extends Error {}

interface Row {
  what: string;
  ours: string;
  baseline: string;
  /** ours / baseline, or NaN when there is no baseline; undefined when INVALID. */
  ratio?: number;
  target: string;
  met: boolean;
  invalid?: string;
  favours: string;
}
const rows: Row[] = [];
/** Reference points beside a target: how close to it any implementation could get, and why. */
const notes: string[] = [];

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

const fmt = (x: number, unit: string) => `${x.toFixed(unit === 'req/s' ? 0 : unit === 'MiB/100k' ? 2 : 1)} ${unit}`;

/** Records a ratio target: `ours / baseline` must be ≤ max or ≥ min. */
function addRatio(
  what: string,
  ours: number,
  baseline: number,
  unit: string,
  target: { max?: number; min?: number },
  favours: string,
): void {
  const ratio = ours / baseline;
  const met = target.max !== undefined ? ratio <= target.max : ratio >= target.min!;
  const row: Row = {
    what,
    ours: fmt(ours, unit),
    baseline: fmt(baseline, unit),
    ratio,
    target: target.max !== undefined ? `≤ ${target.max}×` : `≥ ${target.min}×`,
    met,
    favours,
  };
  rows.push(row);
  console.log(
    `  ${met ? 'met ' : 'MISS'} ${what}: ${row.ours} vs ${row.baseline} = ${ratio.toFixed(2)}× (target ${row.target}; favours ${favours})`,
  );
}

/** Records an absolute target: `value` must be ≤ max. */
function addLimit(what: string, value: number, unit: string, max: number, favours: string): void {
  const met = value <= max;
  rows.push({ what, ours: fmt(value, unit), baseline: '-', ratio: NaN, target: `≤ ${max} ${unit}`, met, favours });
  console.log(`  ${met ? 'met ' : 'MISS'} ${what}: ${fmt(value, unit)} (target ≤ ${max} ${unit})`);
}

function addInvalid(what: string, target: string, reason: string, favours = '-'): void {
  rows.push({ what, ours: '-', baseline: '-', target, met: false, invalid: reason, favours });
  console.log(`  INVALID ${what}: ${reason}`);
}

/** Runs a measurement; an Invalid (or any failure) becomes an INVALID row instead of a ratio. */
async function checked(what: string, target: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    addInvalid(what, target, (err as Error).message);
  }
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

/** Runs a command to completion; it must exit 0. Returns its stdout and wall time. */
function run(
  args: string[],
  role?: Role,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ stdout: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(...(role ? command(role, args) : ([NODE, args] as [string, string[]])), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0)
        reject(
          new Invalid(
            `\`${args
              .slice(0, 3)
              .map((a) => a.replace(ROOT, ''))
              .join(' ')} …\` exited ${code}: ${stderr.trim().split('\n').at(-1) ?? ''}`,
          ),
        );
      else resolve({ stdout, ms });
    });
  });
}

/** Wall time of a whole process that must exit 0 (spawnSync: nothing else runs meanwhile). */
function timeSpawn(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(NODE, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t0;
  if (r.status !== 0)
    throw new Invalid(
      `\`${args.map((a) => a.replace(ROOT, '')).join(' ')}\` exited ${r.status}: ${String(r.stderr).trim().split('\n').at(-1)}`,
    );
  return ms;
}

/** Runs each command REPS times, interleaved, and returns the medians. */
function interleaved(commands: Record<string, string[]>): Record<string, number> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  for (const args of Object.values(commands)) timeSpawn(args); // warm the file cache
  for (let i = 0; i < REPS; i++) for (const [k, args] of Object.entries(commands)) samples[k]!.push(timeSpawn(args));
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
}

interface Server {
  child: ChildProcess;
  url: string;
  log: string;
}

/**
 * Starts a server on CPU 0 whose standard output goes to a file, not back to this process (reading
 * a receiver's log through a pipe would cost CPU on the cores under test). Resolves when the file
 * shows the ready line; `ready` captures the port.
 */
function startServer(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<Server> {
  const log = join(work, `out-${Date.now()}-${Math.random().toString(36).slice(2)}.log`);
  const fd = openSync(log, 'w');
  const errFd = openSync(`${log}.err`, 'w');
  const child = spawn(...command('server', args), {
    stdio: ['ignore', fd, errFd],
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  closeSync(fd);
  closeSync(errFd);
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 15_000;
    const poll = () => {
      const m = readFileSync(log, 'utf8').match(ready);
      if (m) return resolve({ child, url: `http://127.0.0.1:${m[1]}/webhooks/facesign`, log });
      if (child.exitCode !== null)
        return reject(
          new Error(
            `${args.join(' ')} exited ${child.exitCode} before it was ready: ${readFileSync(`${log}.err`, 'utf8').trim().split('\n').at(-1)}`,
          ),
        );
      if (Date.now() > deadline) return reject(new Error(`no ready line from ${args.join(' ')}`));
      setTimeout(poll, 20);
    };
    poll();
  });
}

async function stop(server: Server): Promise<void> {
  const { child } = server;
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([done, new Promise((r) => setTimeout(r, 5_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** What a bench server (bench-servers.mjs, the Express sample) saw: valid and invalid signatures. */
async function counts(server: Server): Promise<{ valid: number; invalid: number; duplicates?: number }> {
  const res = await fetch(new URL('/__counts', server.url));
  return (await res.json()) as { valid: number; invalid: number; duplicates?: number };
}

/** Checks a server saw exactly `valid` valid signatures since `before`, and no invalid one. */
async function expectCounts(
  server: Server,
  before: { valid: number; invalid: number },
  valid: number,
): Promise<{ valid: number; invalid: number }> {
  const now = await counts(server);
  const got = { valid: now.valid - before.valid, invalid: now.invalid - before.invalid };
  if (got.valid !== valid || got.invalid !== 0)
    throw new Invalid(
      `the server saw ${got.valid} valid and ${got.invalid} invalid signatures, expected ${valid} valid`,
    );
  return now;
}

const verifyServer = () => startServer([SERVERS, 'verify', SECRET], /port=(\d+)/);
const LISTEN_READY = /"url":"http:\/\/[^:]+:(\d+)/;
const listenArgs = (...extra: string[]) => [BIN, 'listen', '--port', '0', '--secret', SECRET, '--json', ...extra];

/** listen's exit summary (it prints one on SIGTERM). */
function listenSummary(server: Server): { received: number; accepted: number; duplicates: number; rejected: number } {
  const line = readFileSync(server.log, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('{"type":"summary"'));
  if (!line) throw new Invalid('listen printed no summary on SIGTERM');
  return JSON.parse(line) as { received: number; accepted: number; duplicates: number; rejected: number };
}

// ---------------------------------------------------------------------------------------------
// Load mode runs
// ---------------------------------------------------------------------------------------------

interface LoadRecord {
  type: string;
  sent: number;
  ok: number;
  duration_ms: number;
  statuses: Record<string, number>;
}

/** `send --count N` as a user runs it (CPU 1); must exit 0 with N 2xx. Rate = 2xx / duration. */
/** The tool's load mode as the bench runs it: n distinct signed events, CONCURRENCY in flight, NDJSON out. */
function sendCountArgs(url: string, n: number): string[] {
  return [BIN, 'send', 'session.verified', '--count', String(n), '--concurrency', String(CONCURRENCY)].concat([
    '--to',
    url,
    '--secret',
    SECRET,
    '--json',
  ]);
}

async function sendCount(url: string, n: number): Promise<{ rps: number; record: LoadRecord }> {
  const { stdout } = await run(sendCountArgs(url, n), 'client');
  const record = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LoadRecord)
    .find((r) => r.type === 'load');
  if (!record) throw new Invalid('send --count printed no load record');
  if (record.sent !== n || record.ok !== n)
    throw new Invalid(
      `send --count ${n}: ${record.ok} of ${record.sent} were 2xx (${JSON.stringify(record.statuses)})`,
    );
  return { rps: record.ok / (record.duration_ms / 1000), record };
}

interface DriverResult {
  count: number;
  ok: number;
  non2xx: number;
  errors: number;
  ms: number;
  cpu_ms: number;
}

/** One side of the load comparison in its own process (CPU 1); every response must be a 2xx. */
async function driver(side: 'tool' | 'autocannon', url: string, n: number, warm: number): Promise<DriverResult> {
  const { stdout } = await run([DRIVER, side, url, SECRET, String(n), String(CONCURRENCY), String(warm)], 'client');
  const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as DriverResult;
  if (r.count !== n || r.ok !== n)
    throw new Invalid(
      `${side}: ${r.ok} of ${r.count} responses were 2xx (non-2xx ${r.non2xx}, errors ${r.errors}), expected ${n}`,
    );
  return r;
}

// ---------------------------------------------------------------------------------------------
// The parts
// ---------------------------------------------------------------------------------------------

const BODY = join(work, 'event.json');
writeFileSync(BODY, JSON.stringify(JSON.parse(readFileSync(join(ROOT, 'fixtures/session.verified.json'), 'utf8'))));
const signature = createHmac('sha256', SECRET).update(readFileSync(BODY)).digest('hex');

// The one-`send` baseline: the minimal script a user might write instead of the tool. It signs its
// body, POSTs it with node:http, and exits 0 only on a 2xx.
const MINIMAL_CLIENT = join(work, 'client.mjs');
writeFileSync(
  MINIMAL_CLIENT,
  `import http from 'node:http'; import { createHmac } from 'node:crypto'; import { readFileSync } from 'node:fs';
const body = readFileSync(process.argv[3]); const sig = createHmac('sha256', ${JSON.stringify(SECRET)}).update(body).digest('hex');
const req = http.request(process.argv[2], { method: 'POST', headers: { 'content-type': 'application/json', 'facesign-signature': sig, 'facesign-event-id': JSON.parse(body).id } }, (res) => { res.resume(); res.on('end', () => process.exit(res.statusCode >= 200 && res.statusCode < 300 ? 0 : 1)); });
req.end(body);`,
);

async function benchStartup(): Promise<void> {
  console.log(`start-up: median wall time of whole processes (${REPS} interleaved runs each, every one must exit 0):`);
  const m = interleaved({
    node: ['-e', '0'],
    help: [BIN, '--help'],
    events: [BIN, 'events'],
    sign: [BIN, 'sign', '--payload', BODY, '--secret', SECRET],
    verify: [BIN, 'verify', '--payload', BODY, '--signature', signature, '--secret', SECRET],
  });
  for (const k of ['help', 'events', 'sign', 'verify'])
    addRatio(`\`${k}\` start-up vs node -e 0`, m[k]!, m.node!, 'ms', { max: 1.5 }, 'node -e 0 (it loads nothing)');
}

async function benchOneSend(): Promise<void> {
  console.log(
    `one send to a verifying node:http server: whole process, ${REPS} interleaved runs each, each must exit 0 and arrive validly signed:`,
  );
  const server = await verifyServer();
  try {
    const before = await counts(server);
    const m = interleaved({
      minimal: [MINIMAL_CLIENT, server.url, BODY],
      send: [BIN, 'send', '--fixture', BODY, '--to', server.url, '--secret', SECRET],
    });
    await expectCounts(server, before, 2 * (REPS + 1));
    addRatio(
      'one `send` vs a minimal signing node:http POST script',
      m.send!,
      m.minimal!,
      'ms',
      { max: 2.0 },
      'the script (it builds no event and checks no header)',
    );
  } finally {
    await stop(server);
  }
}

async function benchClient(): Promise<void> {
  const { compareLoadClients } = await import('./bench-load-client.js');
  const count = quick ? 10_000 : 20_000;
  console.log(
    `load client vs undici: the same ${count} prebuilt signed requests after a warm-up, ${CONCURRENCY} connections, one request in flight on each, against a verifying server:`,
  );
  const c = await compareLoadClients({
    count,
    concurrency: CONCURRENCY,
    rounds: quick ? 2 : 3,
    warm: quick ? 2_000 : 5_000,
  });
  for (const line of c.invalid) console.log(`  INVALID ${line}`);
  const best =
    c.dispatch.cpuUsPerRequest < c.undici.cpuUsPerRequest
      ? { name: 'dispatch()', ...c.dispatch }
      : { name: 'request()', ...c.undici };
  console.log(
    `  custom client      ${c.custom.rps.toFixed(0).padStart(6)} req/s  ${c.custom.cpuUsPerRequest.toFixed(1).padStart(5)} µs CPU/request`,
  );
  console.log(
    `  undici request()   ${c.undici.rps.toFixed(0).padStart(6)} req/s  ${c.undici.cpuUsPerRequest.toFixed(1).padStart(5)} µs CPU/request`,
  );
  console.log(
    `  undici dispatch()  ${c.dispatch.rps.toFixed(0).padStart(6)} req/s  ${c.dispatch.cpuUsPerRequest.toFixed(1).padStart(5)} µs CPU/request`,
  );
  const rpsRatio = c.custom.rps / Math.max(c.undici.rps, c.dispatch.rps);
  const cpuRatio = best.cpuUsPerRequest / c.custom.cpuUsPerRequest;
  if (c.invalid.length) throw new Invalid(c.invalid.join('; '));
  notes.push(
    `load client vs undici (${best.name}, the cheaper undici API): ${rpsRatio.toFixed(2)}× the requests/s (the server on the other CPU bounds both) and ${cpuRatio.toFixed(2)}× less client CPU per request; load mode keeps its own client while one of the two is ≥ 1.5×`,
  );
  addRatio(
    'load client CPU/request: undici ÷ custom',
    best.cpuUsPerRequest,
    c.custom.cpuUsPerRequest,
    'µs',
    { min: 1.5 },
    'neither: the same prebuilt requests, server and concurrency',
  );
}

async function benchLoad(): Promise<void> {
  const n = quick ? 10_000 : 30_000;
  const warm = quick ? 5_000 : 10_000;
  console.log(
    `load mode vs autocannon, ${CONCURRENCY} connections, the same verifying server (CPU 0), each client on CPU 1:`,
  );
  const server = await verifyServer();
  try {
    let before = await counts(server);
    // Cold: a fresh process on each side, N requests, timed from the first request to the N-th response.
    const cold = { ours: [] as number[], theirs: [] as number[] };
    await checked('load mode, cold start, vs autocannon', '≥ 1×', async () => {
      for (let i = 0; i < ROUNDS + 1; i++) {
        const theirs = await driver('autocannon', server.url, n, 0);
        cold.theirs.push(n / (theirs.ms / 1000));
        const ours = await sendCount(server.url, n);
        cold.ours.push(ours.rps);
        before = await expectCounts(server, before, 2 * n);
      }
      addRatio(
        `\`send --count ${n}\` from a cold start vs autocannon -a ${n}`,
        median(cold.ours),
        median(cold.theirs),
        'req/s',
        { min: 1.0 },
        'autocannon (one fixed request; the tool builds and signs a distinct event per request)',
      );
    });
    // Steady state: both warmed with `warm` requests in the same process, then N timed.
    await checked('load mode, steady state, vs autocannon', '≥ 1×', async () => {
      const ours: DriverResult[] = [];
      const theirs: DriverResult[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        theirs.push(await driver('autocannon', server.url, n, warm));
        ours.push(await driver('tool', server.url, n, warm));
        before = await expectCounts(server, before, 2 * (n + warm));
      }
      const rps = (r: DriverResult[]) => median(r.map((x) => x.count / (x.ms / 1000)));
      const cpu = (r: DriverResult[]) => median(r.map((x) => (x.cpu_ms * 1000) / x.count));
      addRatio(
        `load mode steady state (${warm} warm-up, ${n} timed) vs autocannon`,
        rps(ours),
        rps(theirs),
        'req/s',
        { min: 1.0 },
        'autocannon (one fixed request; the tool builds and signs a distinct event per request)',
      );
      notes.push(
        `load, steady state: client CPU per request: the tool ${cpu(ours).toFixed(1)} µs (build, sign, send, read) vs autocannon ${cpu(theirs).toFixed(1)} µs = ${(cpu(ours) / cpu(theirs)).toFixed(2)}×`,
      );
    });
  } finally {
    await stop(server);
  }
}

async function benchListen(): Promise<void> {
  const n = quick ? 5_000 : 20_000;
  console.log(
    `receivers, accepted path: the same request stream (\`send --count ${n} --concurrency ${CONCURRENCY}\`, a distinct validly signed event each) against each server on CPU 0:`,
  );
  type Name = 'base' | 'listen' | 'floor' | 'express';
  const servers: Record<Name, () => Promise<Server>> = {
    base: verifyServer,
    listen: () => startServer(listenArgs(), LISTEN_READY),
    floor: () => startServer([SERVERS, 'floor', SECRET], /port=(\d+)/),
    express: () => startServer([EXPRESS], /port=(\d+)/, { FACESIGN_WEBHOOK_SECRET: SECRET }),
  };
  const rates: Record<Name, number[]> = { base: [], listen: [], floor: [], express: [] };
  const order = Object.keys(servers) as Name[];
  await checked('listen, accepted path', '≥ 0.8× / ≥ 3×', async () => {
    for (let i = 0; i < ROUNDS; i++) {
      // Rotated each round, so no server always runs first.
      for (const name of [...order.slice(i % order.length), ...order.slice(0, i % order.length)]) {
        const server = await servers[name]();
        try {
          const before = name === 'listen' ? undefined : await counts(server);
          rates[name].push((await sendCount(server.url, n)).rps);
          if (before) await expectCounts(server, before, n);
        } finally {
          await stop(server);
        }
        if (name === 'listen') {
          const s = listenSummary(server);
          if (s.accepted !== n || s.rejected !== 0)
            throw new Invalid(`listen accepted ${s.accepted} and rejected ${s.rejected} of ${n}`);
        }
      }
    }
    const [base, ours, floor, express] = [
      median(rates.base),
      median(rates.listen),
      median(rates.floor),
      median(rates.express),
    ];
    addRatio(
      '`listen` accepted path vs a minimal verifying node:http server',
      ours,
      base,
      'req/s',
      { min: 0.8 },
      'the minimal server (no JSON parse, no de-duplication, no log, no history)',
    );
    addRatio(
      '`listen` accepted path vs the docs’ Express sample (express.raw)',
      ours,
      express,
      'req/s',
      { min: 3 },
      'the sample (it keeps no history and logs nothing per session.verified)',
    );
    notes.push(
      `listen: the floor server (the minimal one plus listen's per-delivery work: JSON parse, duplicate set, one NDJSON record with listen's fields, batched writes; no history kept) reaches ${floor.toFixed(0)} req/s = ${(floor / base).toFixed(2)}× the minimal server; listen reaches ${(ours / floor).toFixed(2)}× the floor`,
    );
  });

  // Duplicate path: one event resent (autocannon, fixed body and id): after the first, every answer is "Already processed".
  const dn = quick ? 5_000 : 20_000;
  console.log(`receivers, duplicate path: autocannon resends one validly signed event ${dn} times:`);
  await checked('listen, duplicate path', '(reported)', async () => {
    const dup = { listen: [] as number[], floor: [] as number[] };
    for (let i = 0; i < ROUNDS; i++) {
      for (const name of i % 2 ? (['floor', 'listen'] as const) : (['listen', 'floor'] as const)) {
        const server = await servers[name]();
        let r: DriverResult;
        try {
          r = await driver('autocannon', server.url, dn, 0);
          if (name === 'floor') {
            const c = await counts(server);
            if (c.valid !== dn || c.duplicates !== dn - 1)
              throw new Invalid(`floor server saw ${c.valid} valid, ${c.duplicates} duplicates`);
          }
        } finally {
          await stop(server);
        }
        if (name === 'listen') {
          const s = listenSummary(server);
          if (s.accepted !== 1 || s.duplicates !== dn - 1)
            throw new Invalid(`listen: ${s.accepted} accepted, ${s.duplicates} duplicates of ${dn}`);
        }
        dup[name].push(dn / (r.ms / 1000));
      }
    }
    const [ours, floor] = [median(dup.listen), median(dup.floor)];
    notes.push(
      `listen, duplicate path (one event resent ${dn} times by autocannon): ${ours.toFixed(0)} req/s vs the floor server's ${floor.toFixed(0)} req/s = ${(ours / floor).toFixed(2)}×`,
    );
    console.log(
      `  listen ${ours.toFixed(0)} req/s, floor server ${floor.toFixed(0)} req/s (${(ours / floor).toFixed(2)}×)`,
    );
  });
}

/** The p50 of one request at a time, straight to an app vs through `listen --forward-to` (interleaved). */
async function benchForward(): Promise<void> {
  const n = quick ? 500 : 2_000;
  const warm = 200;
  console.log(`listen --forward-to: ${n} sequential deliveries straight to a verifying app vs through listen:`);
  await checked('listen --forward-to added latency', '≤ 1 ms', async () => {
    const { Agent, request } = await import('undici');
    const app = await verifyServer();
    const listen = await startServer(listenArgs('--forward-to', app.url), LISTEN_READY).catch(async (err) => {
      await stop(app);
      throw err;
    });
    const agent = new Agent({ connections: 1 });
    const lat = { direct: [] as number[], forward: [] as number[] };
    try {
      const post = async (url: string, i: number) => {
        const body = `{"id":"evt_fwd_bench_${i}","type":"session.verified","data":{"id":"vs_1"}}`;
        const signature = createHmac('sha256', SECRET).update(body).digest('hex');
        const t0 = performance.now();
        const res = await request(url, {
          method: 'POST',
          body,
          dispatcher: agent,
          headers: { 'content-type': 'application/json', 'facesign-signature': signature },
        });
        await res.body.text();
        if (res.statusCode !== 200) throw new Invalid(`${url} answered ${res.statusCode}`);
        return performance.now() - t0;
      };
      for (let i = 0; i < warm + n; i++) {
        const direct = await post(app.url, 2 * i);
        const forward = await post(listen.url, 2 * i + 1);
        if (i < warm) continue;
        lat.direct.push(direct);
        lat.forward.push(forward);
      }
      const c = await counts(app);
      if (c.valid !== 2 * (warm + n) || c.invalid !== 0)
        throw new Invalid(`the app saw ${c.valid} valid, ${c.invalid} invalid of ${2 * (warm + n)}`);
    } finally {
      await agent.close();
      await stop(listen);
      await stop(app);
    }
    const s = listenSummary(listen);
    if (s.accepted !== warm + n) throw new Invalid(`listen accepted ${s.accepted} of ${warm + n}`);
    const [direct, forward] = [median(lat.direct), median(lat.forward)];
    notes.push(`listen --forward-to: p50 ${forward.toFixed(2)} ms through listen, ${direct.toFixed(2)} ms straight`);
    addLimit(
      '`listen --forward-to` added latency at p50',
      forward - direct,
      'ms',
      1,
      'neither (same app, same client)',
    );
  });
}

/** An inspector page's event stream, read from this process: counts the deliveries it is sent. */
function openInspectorStream(base: string): Promise<{ deliveries: () => number; close: () => void }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(`${base}/__facesign/stream`, (res) => {
      if (res.statusCode !== 200) return reject(new Invalid(`the stream answered ${res.statusCode}`));
      let seen = 0;
      let tail = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        const text = tail + d;
        seen += text.split('event: delivery\n').length - 1;
        tail = text.slice(-20);
      });
      resolve({ deliveries: () => seen, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

/**
 * listen with its inspector page on (no browser connected) vs `--no-ui`: the same `send --count`
 * stream, the two alternating round by round. Then, for reference, the page on with one stream
 * client connected (every delivery summarised and pushed to it).
 */
async function benchUi(): Promise<void> {
  const n = quick ? 5_000 : 20_000;
  const rounds = quick ? 2 : 5;
  console.log(
    `listen, inspector page on (no browser) vs --no-ui: \`send --count ${n} --concurrency ${CONCURRENCY}\`, ${rounds} alternating rounds:`,
  );
  const rates = { on: [] as number[], off: [] as number[], stream: [] as number[] };
  const once = async (side: 'on' | 'off' | 'stream') => {
    const server = await startServer(listenArgs(...(side === 'off' ? ['--no-ui'] : [])), LISTEN_READY);
    let client: { deliveries: () => number; close: () => void } | undefined;
    try {
      if (side === 'stream') client = await openInspectorStream(new URL(server.url).origin);
      rates[side].push((await sendCount(server.url, n)).rps);
      if (client) {
        const deadline = Date.now() + 10_000;
        while (client.deliveries() < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        if (client.deliveries() !== n) throw new Invalid(`the stream client got ${client.deliveries()} of ${n}`);
      }
    } finally {
      client?.close();
      await stop(server);
    }
    const s = listenSummary(server);
    if (s.accepted !== n || s.rejected !== 0)
      throw new Invalid(`listen (${side}) accepted ${s.accepted} and rejected ${s.rejected} of ${n}`);
  };
  await checked('listen throughput, inspector page on vs --no-ui', '≥ 0.95×', async () => {
    for (let i = 0; i < rounds; i++)
      for (const side of i % 2 ? (['off', 'on'] as const) : (['on', 'off'] as const)) await once(side);
    const [on, off] = [median(rates.on), median(rates.off)];
    console.log(
      `  rounds: page on ${rates.on.map((r) => r.toFixed(0)).join(', ')}; --no-ui ${rates.off.map((r) => r.toFixed(0)).join(', ')} req/s`,
    );
    addRatio(
      '`listen` throughput, inspector page on (no browser) vs --no-ui',
      on,
      off,
      'req/s',
      { min: 0.95 },
      'neither (same listen, same request stream; only the page is off)',
    );
  });
  await checked('listen throughput with one stream client', '(reported)', async () => {
    for (let i = 0; i < Math.max(1, rounds - 2); i++) await once('stream');
    const [stream, off] = [median(rates.stream), median(rates.off)];
    const line = `listen with one inspector stream client connected (every delivery summarised and pushed): ${stream.toFixed(0)} req/s = ${(stream / off).toFixed(2)}× --no-ui (informational, no target)`;
    console.log(`  ${line}`);
    notes.push(line);
  });
}

async function benchDrift(): Promise<void> {
  console.log(
    'retry-sim --speed 1000: drift of every retry, measured at an independent receiver process against the plan:',
  );
  const { benchRetryDrift, DRIFT_TARGET_MS } = await import('./bench-retry.js');
  const f = await benchRetryDrift({ runs: quick ? 2 : 5 });
  if (f.invalid)
    return addInvalid('retry-sim --speed 1000 worst drift at the receiver', `≤ ${DRIFT_TARGET_MS} ms`, f.invalid);
  addLimit(
    `retry-sim --speed 1000 worst drift at the receiver (${f.drifts.length} retries)`,
    f.worstDriftMs,
    'ms',
    DRIFT_TARGET_MS,
    'neither (no baseline)',
  );
  notes.push(
    `retry drift at the receiver: p95 ${f.p95DriftMs.toFixed(2)} ms, worst per retry ${f.worstByRetry.map((d) => d.toFixed(1)).join(' / ')} ms; the tool's own drift_ms (its timer against its plan) worst ${f.selfReportedWorstMs.toFixed(2)} ms; 1-minute load average ${f.loadAverage.toFixed(2)} while measuring`,
  );
}

/** Peak RSS (MiB) of a whole `send --count N` process, reported by the process itself on exit. */
async function peakRss(n: number, url: string): Promise<number> {
  const hook = join(work, 'rss.cjs');
  const out = join(work, `rss-${n}.txt`);
  writeFileSync(
    hook,
    `process.on('exit', () => require('fs').writeFileSync(process.env.FW_BENCH_RSS_OUT, String(process.resourceUsage().maxRSS)));`,
  );
  const { stdout } = await run(['--require', hook, ...sendCountArgs(url, n)], 'client', {
    ...process.env,
    FW_BENCH_RSS_OUT: out,
  });
  const record = JSON.parse(stdout.trim().split('\n').at(-1)!) as LoadRecord;
  if (record.ok !== n) throw new Invalid(`send --count ${n}: ${record.ok} 2xx`);
  return Number(readFileSync(out, 'utf8')) / 1024;
}

async function benchMemory(): Promise<void> {
  // 1M requests take ~1 min alone on this 2-core machine and several when it is shared: the three
  // sizes stop at 400k, enough for a slope over a 20× range.
  const sizes = quick ? [10_000, 50_000, 100_000] : [20_000, 150_000, 400_000];
  console.log(`memory: peak RSS of \`send --count N\` for N = ${sizes.join(', ')}; slope by least squares:`);
  const server = await verifyServer();
  try {
    const before = await counts(server);
    const mib: number[] = [];
    for (const n of sizes) {
      mib.push(await peakRss(n, server.url));
      console.log(`  --count ${n}: ${mib.at(-1)!.toFixed(1)} MiB`);
    }
    await expectCounts(
      server,
      before,
      sizes.reduce((a, b) => a + b, 0),
    );
    const xs = sizes.map((x) => x / 100_000);
    const xMean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const yMean = mib.reduce((a, b) => a + b, 0) / mib.length;
    const slope =
      xs.reduce((s, x, i) => s + (x - xMean) * (mib[i]! - yMean), 0) / xs.reduce((s, x) => s + (x - xMean) ** 2, 0);
    addLimit(
      `load memory slope (N = ${sizes.map((s) => `${s / 1000}k`).join('/')})`,
      Math.max(0, slope),
      'MiB/100k',
      1,
      'neither (no baseline)',
    );
    notes.push(
      `memory: peak RSS ${mib.map((m) => m.toFixed(1)).join(' / ')} MiB for ${sizes.join(' / ')} requests (raw slope ${slope.toFixed(2)} MiB per 100k)`,
    );
  } finally {
    await stop(server);
  }
}

// ---------------------------------------------------------------------------------------------

const cpu = cpus();
console.log('machine');
console.log(
  `  CPUs: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown'}; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} at the start`,
);
console.log(
  `  Node ${process.version}; throughput runs ${PIN ? 'pinned: server on CPU 0, its client on CPU 1 (taskset)' : 'not pinned (needs two CPUs and taskset)'}`,
);
console.log(`  ${quick ? '--quick: fewer rounds and smaller counts' : 'full run'}\n`);
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const parts: Record<string, () => Promise<void>> = {
  startup: benchStartup,
  send: benchOneSend,
  client: benchClient,
  load: benchLoad,
  listen: benchListen,
  forward: benchForward,
  ui: benchUi,
  drift: benchDrift,
  memory: benchMemory,
};
const unknown = only?.filter((p) => !(p in parts)) ?? [];
if (unknown.length) {
  console.error(`error: unknown part ${unknown.join(', ')}; parts: ${Object.keys(parts).join(', ')}`);
  process.exit(2);
}
const t0 = performance.now();
try {
  for (const [name, fn] of Object.entries(parts)) {
    if (only && !only.includes(name)) continue;
    await checked(name, '-', fn);
    console.log('');
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log('summary');
for (const r of rows) {
  const verdict = r.invalid ? 'INVALID' : r.met ? 'met    ' : 'MISS   ';
  const figure = r.invalid
    ? r.invalid
    : `${r.ours.padStart(13)} vs ${r.baseline.padStart(13)}  ${r.ratio === undefined || Number.isNaN(r.ratio) ? '      ' : `${r.ratio.toFixed(2)}×`.padStart(6)}`;
  console.log(`${verdict} ${r.what.padEnd(66)} ${figure}  target ${r.target}`);
}
console.log(
  `${rows.filter((r) => r.met).length} of ${rows.length} targets met, ${rows.filter((r) => r.invalid).length} INVALID (${((performance.now() - t0) / 60_000).toFixed(1)} min)`,
);
console.log('\nwhich side each target favours');
for (const r of rows) if (r.favours !== '-') console.log(`- ${r.what}: ${r.favours}`);
if (notes.length) console.log(`\nreference points\n${notes.map((f) => `- ${f}`).join('\n')}`);
