/*
 * Load mode's own HTTP/1.1 client vs undici, on equal work: the same prebuilt, validly signed
 * requests (built before the clock starts, so only the transport is timed), the same concurrency,
 * one request in flight per connection, against one verifying node:http server in another process.
 * Each run must end with every response a complete 2xx and every signature valid at the server,
 * or it is reported INVALID. Used by `npm run bench` (`--only=client`) and runnable alone:
 *
 *   npm run build && npx tsx scripts/bench-load-client.ts [--quick]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SECRET = 'whsec_bench_client';
type Client = 'custom' | 'undici' | 'dispatch';
const CLIENTS: Client[] = ['custom', 'undici', 'dispatch'];
const SELF = fileURLToPath(import.meta.url);
const TSX = fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url));

export interface ClientRun {
  client: Client;
  count: number;
  ok: number;
  wallMs: number;
  cpuMs: number;
  /** Why the run does not count, if it does not. */
  invalid?: string;
}

/** The prebuilt requests of one run: the same events for both clients, in both shapes. */
async function prebuild(url: string, count: number) {
  const { buildEvent } = await import('../src/events/build.js');
  const { prepareRequest } = await import('../src/delivery/request.js');
  const { requestFactory } = await import('../src/delivery/load.js');
  const { serializeRequest, wireTarget } = await import('../src/delivery/wire.js');
  const target = wireTarget(url);
  const next = requestFactory(prepareRequest(buildEvent('session.verified'), { url, secret: SECRET }), SECRET);
  const requests = Array.from({ length: count }, () => next());
  return { target, requests, wire: requests.map((r) => serializeRequest(r, target)) };
}

/** Runs in the client process: sends `count` prebuilt requests with one client, measures, checks. */
async function clientMain(which: Client, url: string, count: number, concurrency: number, warm: number): Promise<void> {
  const { runWireLoad } = await import('../src/delivery/load.js');
  const { Pool } = await import('undici');
  const built = await prebuild(url, warm + count);

  const runCustom = async (from: number, n: number) => {
    let i = from;
    const report = await runWireLoad(built.target, () => built.wire[i++]!, {
      count: n,
      concurrency,
      timeoutMs: 10_000,
    });
    return report.statuses['200'] ?? 0;
  };
  // One Pool for warm-up and the timed run, as load mode would keep it for a whole run.
  const pool = new Pool(new URL(url).origin, { connections: concurrency, pipelining: 1 });
  const path = built.target.path;
  const runUndici = async (from: number, n: number) => {
    let i = from;
    const end = from + n;
    let ok = 0;
    const lane = async () => {
      while (i < end) {
        const req = built.requests[i++]!;
        try {
          const res = await pool.request({ path, method: 'POST', headers: req.headers, body: req.body });
          await res.body.dump({ limit: 64 * 1024 });
          if (res.statusCode === 200) ok++;
        } catch {
          // counted as not ok
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane));
    return ok;
  };
  // undici's lowest-overhead API: dispatch() with a raw handler, headers as a flat array, no streams.
  const flat = built.requests.map((r) => Object.entries(r.headers).flat());
  const runDispatch = (from: number, n: number) =>
    new Promise<number>((resolve) => {
      let i = from;
      const end = from + n;
      let ok = 0;
      let active = 0;
      const start = (): void => {
        if (i >= end) {
          if (--active === 0) resolve(ok);
          return;
        }
        const index = i++;
        let status = 0;
        pool.dispatch({ path, method: 'POST', headers: flat[index]!, body: built.requests[index]!.body }, {
          onConnect: () => undefined,
          onHeaders: (code: number) => ((status = code), true),
          onData: () => true,
          onComplete: () => {
            if (status === 200) ok++;
            start();
          },
          onError: () => start(),
        } as never);
      };
      active = Math.min(concurrency, n);
      for (let k = 0; k < active; k++) start();
    });
  const run = which === 'custom' ? runCustom : which === 'undici' ? runUndici : runDispatch;
  if (warm > 0) await run(0, warm);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const ok = await run(warm, count);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await pool.close();
  process.stdout.write(
    `${JSON.stringify({ client: which, count, ok, wallMs, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`,
  );
}

/** A verifying server (its own process): 200 for a valid signature, 400 otherwise; counts both. */
async function serverMain(): Promise<void> {
  let valid = 0;
  let invalid = 0;
  const server = createServer((req, res) => {
    if (req.method === 'GET') {
      res.end(JSON.stringify({ valid, invalid }));
      valid = invalid = 0;
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const got = Buffer.from(String(req.headers['facesign-signature'] ?? ''), 'hex');
      const want = createHmac('sha256', SECRET).update(body).digest();
      const ok = got.length === want.length && timingSafeEqual(got, want);
      if (ok) valid++;
      else invalid++;
      res.writeHead(ok ? 200 : 400, { 'content-type': 'text/plain' }).end(ok ? 'OK' : 'Invalid signature');
    });
  });
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1', () => console.log(`port=${(server.address() as AddressInfo).port}`));
  process.on('SIGTERM', () => process.exit(0));
}

const PIN = cpus().length >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const pinned = (cpu: string, args: string[]): [string, string[]] =>
  PIN ? ['taskset', ['-c', cpu, process.execPath, ...args]] : [process.execPath, args];

function startServer(): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(...pinned('0', [TSX, SELF, '--serve']), { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      const m = /port=(\d+)/.exec(buf);
      if (m) resolve({ child, url: `http://127.0.0.1:${m[1]}/webhooks/facesign` });
    });
    child.on('exit', (code) => reject(new Error(`bench server exited ${code}`)));
  });
}

async function serverCounts(url: string): Promise<{ valid: number; invalid: number }> {
  const res = await fetch(new URL('/__counts', url));
  return (await res.json()) as { valid: number; invalid: number };
}

function runClient(which: Client, url: string, count: number, concurrency: number, warm: number): Promise<ClientRun> {
  return new Promise((resolve) => {
    const child = spawn(
      ...pinned('1', [TSX, SELF, '--client', which, url, String(count), String(concurrency), String(warm)]),
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (code !== 0 || !line)
        return resolve({
          client: which,
          count,
          ok: 0,
          wallMs: NaN,
          cpuMs: NaN,
          invalid: `exited ${code}: ${err.trim().split('\n').at(-1)}`,
        });
      resolve(JSON.parse(line) as ClientRun);
    });
  });
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface ClientComparison {
  count: number;
  concurrency: number;
  rounds: number;
  /** Median requests/s and CPU µs per request of the valid runs; NaN when none was valid. */
  custom: { rps: number; cpuUsPerRequest: number };
  /** undici's Pool through `request()` (promise, body stream) and through `dispatch()` (raw handler). */
  undici: { rps: number; cpuUsPerRequest: number };
  dispatch: { rps: number; cpuUsPerRequest: number };
  invalid: string[];
  pinned: boolean;
}

/** Alternates the two clients `rounds` times against one verifying server; medians of each. */
export async function compareLoadClients(
  options: { count?: number; concurrency?: number; rounds?: number; warm?: number } = {},
): Promise<ClientComparison> {
  const count = options.count ?? 20_000;
  const concurrency = options.concurrency ?? 64;
  const rounds = options.rounds ?? 5;
  const warm = options.warm ?? 5_000;
  const server = await startServer();
  const runs: ClientRun[] = [];
  const invalid: string[] = [];
  try {
    await serverCounts(server.url);
    for (let i = 0; i < rounds; i++) {
      // Rotated each round, so no client always runs first.
      for (const which of [...CLIENTS.slice(i % 3), ...CLIENTS.slice(0, i % 3)]) {
        const run = await runClient(which, server.url, count, concurrency, warm);
        const counts = await serverCounts(server.url);
        if (!run.invalid && run.ok !== count) run.invalid = `${run.ok} of ${count} responses were a complete 200`;
        if (!run.invalid && (counts.valid !== warm + count || counts.invalid !== 0))
          run.invalid = `server saw ${counts.valid} valid and ${counts.invalid} invalid signatures, expected ${warm + count} valid`;
        if (run.invalid) invalid.push(`${which}: ${run.invalid}`);
        runs.push(run);
      }
    }
  } finally {
    server.child.kill('SIGTERM');
  }
  const figures = (which: Client) => {
    const ok = runs.filter((r) => r.client === which && !r.invalid);
    if (ok.length === 0) return { rps: NaN, cpuUsPerRequest: NaN };
    return {
      rps: median(ok.map((r) => r.count / (r.wallMs / 1000))),
      cpuUsPerRequest: median(ok.map((r) => (r.cpuMs * 1000) / r.count)),
    };
  };
  return {
    count,
    concurrency,
    rounds,
    custom: figures('custom'),
    undici: figures('undici'),
    dispatch: figures('dispatch'),
    invalid,
    pinned: PIN,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [, , mode, ...rest] = process.argv;
  if (mode === '--serve') await serverMain();
  else if (mode === '--client')
    await clientMain(rest[0] as Client, rest[1]!, Number(rest[2]), Number(rest[3]), Number(rest[4]));
  else {
    const quick = process.argv.includes('--quick');
    const c = await compareLoadClients(quick ? { count: 10_000, rounds: 2, warm: 2_000 } : {});
    console.log(
      `load client vs undici Pool (connections ${c.concurrency}, pipelining 1), ${c.count} prebuilt signed requests after a warm-up, ${c.rounds} rounds, ${c.pinned ? 'server on CPU 0, client on CPU 1' : 'not pinned'}:`,
    );
    console.log(`  custom: ${c.custom.rps.toFixed(0)} req/s, ${c.custom.cpuUsPerRequest.toFixed(1)} µs CPU/request`);
    console.log(
      `  undici request(): ${c.undici.rps.toFixed(0)} req/s, ${c.undici.cpuUsPerRequest.toFixed(1)} µs CPU/request`,
    );
    console.log(
      `  undici dispatch(): ${c.dispatch.rps.toFixed(0)} req/s, ${c.dispatch.cpuUsPerRequest.toFixed(1)} µs CPU/request`,
    );
    console.log(
      `  custom/undici: ${(c.custom.rps / c.undici.rps).toFixed(2)}× req/s, ${(c.undici.cpuUsPerRequest / c.custom.cpuUsPerRequest).toFixed(2)}× less CPU per request`,
    );
    for (const line of c.invalid) console.log(`  INVALID ${line}`);
  }
}
