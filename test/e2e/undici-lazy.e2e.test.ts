import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startServer, type TestServer } from '../helpers/server.js';

/*
 * undici (tens of ms to load) is loaded only by commands that send: a module loader hook, preloaded
 * with NODE_OPTIONS=--import, writes down every module URL the built CLI loads, and a run of
 * --help, events, sign, verify or send --dry-run must list no undici chunk. The control: a real
 * `send` does list it, so the check can fail.
 */

const SECRET = 'whsec_lazy_undici';
let dir = '';
let server: TestServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fsw-lazy-'));
  writeFileSync(
    join(dir, 'hooks.mjs'),
    "import { appendFileSync } from 'node:fs';\n" +
      'export async function load(url, context, next) {\n  appendFileSync(process.env.FW_LOAD_LOG, url + "\\n");\n  return next(url, context);\n}\n',
  );
  writeFileSync(
    join(dir, 'preload.mjs'),
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`,
  );
  writeFileSync(join(dir, 'body.json'), '{"id":"evt_1","type":"session.verified"}');
  server = await startServer();
});

afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let runs = 0;
/** Runs the built CLI and returns the URLs of every module it loaded. */
async function loadedBy(args: string[]): Promise<{ code: number | null; modules: string[] }> {
  const log = join(dir, `load-${++runs}.log`);
  writeFileSync(log, '');
  const r = await runCli(args, {
    env: {
      NODE_OPTIONS: `--import ${pathToFileURL(join(dir, 'preload.mjs')).href}`,
      FW_LOAD_LOG: log,
      FACESIGN_WEBHOOK_SECRET: SECRET,
    },
    timeoutMs: 20_000,
  });
  return { code: r.code, modules: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
}

/** The repository's own URL is left out: its folder may well be called "undici". */
const ROOT = new URL('../..', import.meta.url).href;
const undiciModules = (modules: string[]) =>
  modules.filter((m) => /undici/i.test(m.startsWith(ROOT) ? m.slice(ROOT.length) : m));

describe('undici is loaded only by commands that send', () => {
  it.each([
    [['--help']],
    [['events']],
    [['sign', '--payload', '{BODY}']],
    [['verify', '--payload', '{BODY}', '--signature', '0'.repeat(64)]],
    [['send', 'verified', '--dry-run']],
    [['send', 'verified', '--curl']],
    [['flow', 'verified', '--dry-run']],
    [['config']],
    [['config', '--json']],
  ])('%j loads no undici module', async (args) => {
    const { code, modules } = await loadedBy(args.map((a) => a.replace('{BODY}', join(dir, 'body.json'))));
    expect(code === 0 || code === 1).toBe(true);
    // The hook saw the CLI's own chunks, so an empty list means something, not a broken hook.
    expect(modules.some((m) => m.includes('/dist/cli/cli.js'))).toBe(true);
    expect(undiciModules(modules)).toEqual([]);
  });

  it('the control: a real send loads the undici chunk, and only that one', async () => {
    const { code, modules } = await loadedBy(['send', 'verified', '--to', server.hookUrl]);
    expect(code).toBe(0);
    const loaded = undiciModules(modules);
    expect(loaded).toHaveLength(1);
    expect(loaded[0]).toMatch(/\/dist\/cli\/undici-slim-[A-Z0-9]+\.js$/);
  });
});
