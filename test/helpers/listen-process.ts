import { spawn, type ChildProcess } from 'node:child_process';
import { BIN } from './cli.js';

/** A `listen` run of the built CLI, spawned for a test. */
export interface ListenProcess {
  child: ChildProcess;
  /** The webhook URL from the ready line. */
  url: string;
  /** scheme://host:port, for other paths such as /__facesign/deliveries. */
  base: string;
  /** The ready object (--json) or null in human mode. */
  ready: Record<string, any> | null;
  stdout(): string;
  stderr(): string;
  /** NDJSON objects printed so far (--json). */
  records(): Record<string, any>[];
  /** Resolves with the first record matching, or rejects after timeoutMs. */
  waitForRecord(match: (r: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
  /** The delivery records, once there are `n` of them (log lines may trail the answers by a tick). */
  deliveries(n: number): Promise<Record<string, any>[]>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();

/** Kills every listen process a test left running (call in afterEach). */
export function killListeners(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/**
 * Spawns `listen --port 0 [--json] …args` with a clean environment and waits (at most 10 s) for
 * its ready line.
 */
export function startListen(
  args: string[],
  options: { env?: Record<string, string | undefined>; json?: boolean } = {},
): Promise<ListenProcess> {
  const json = options.json ?? true;
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined, CI: 'true' };
  delete env.FACESIGN_WEBHOOK_SECRET;
  delete env.FACESIGN_WEBHOOKS_URL;
  Object.assign(env, options.env);
  const child = spawn(process.execPath, [BIN, 'listen', '--port', '0', ...(json ? ['--json'] : []), ...args], {
    env: env as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  const waiters: (() => void)[] = [];
  const records = (): Record<string, any>[] =>
    json
      ? stdout
          .split('\n')
          .slice(0, -1)
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as Record<string, any>)
      : [];
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    for (const w of [...waiters]) w();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
      for (const w of [...waiters]) w();
    }),
  );
  let closed = false;
  void exited.then(() => (closed = true));

  function waitFor<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const attempt = () => {
        const found = check();
        if (found !== undefined) return finish(() => resolve(found));
        if (closed) return finish(() => reject(new Error(`listen exited before ${what}; stderr: ${stderr}`)));
      };
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(new Error(`no ${what} within ${timeoutMs} ms; stdout: ${stdout.slice(-2000)} stderr: ${stderr}`)),
          ),
        timeoutMs,
      );
      const finish = (f: () => void) => {
        clearTimeout(timer);
        const i = waiters.indexOf(attempt);
        if (i >= 0) waiters.splice(i, 1);
        f();
      };
      waiters.push(attempt);
      attempt();
    });
  }

  const readyCheck = (): { url: string; ready: Record<string, any> | null } | undefined => {
    if (json) {
      const ready = records().find((r) => r.type === 'ready');
      return ready ? { url: String(ready.url), ready } : undefined;
    }
    const m = /Listening on (\S+)/.exec(stdout);
    return m ? { url: m[1]!, ready: null } : undefined;
  };
  return waitFor(readyCheck, 10_000, 'ready line').then(({ url, ready }) => ({
    child,
    url,
    base: new URL(url).origin,
    ready,
    stdout: () => stdout,
    stderr: () => stderr,
    records,
    waitForRecord: (match, timeoutMs = 10_000) => waitFor(() => records().find(match), timeoutMs, 'matching record'),
    deliveries: (n) =>
      waitFor(
        () => {
          const found = records().filter((r) => r.type === 'delivery');
          return found.length >= n ? found : undefined;
        },
        10_000,
        `${n} delivery records`,
      ),
    exited,
  }));
}
