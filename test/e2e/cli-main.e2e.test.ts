import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

/*
 * main() runs only when called: importing the CLI module (the source, or the bundle the bin loads)
 * has no side effects, and the bin is what calls main().
 */

const BUNDLE = fileURLToPath(new URL('../../dist/cli/cli.js', import.meta.url));
const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Runs an ES module snippet in a fresh Node process, with stdin closed (no terminal). */
function node(code: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code, 'send', '--help'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (exit) => {
      clearTimeout(timer);
      resolve({ code: exit, stdout, stderr });
    });
  });
}

describe('main() runs only when called', () => {
  it('importing src/cli.ts runs nothing: no output, no exit code, no exit', async () => {
    // Were main() to run here, it would parse vitest's argv and call process.exit(), failing the test.
    const before = process.exitCode;
    const cli = await import('../../src/cli.js');
    expect(typeof cli.main).toBe('function');
    expect(typeof cli.buildProgram).toBe('function');
    expect(process.exitCode).toBe(before);
  });

  it('importing the bundle runs nothing; calling its main() runs the CLI', async () => {
    const url = JSON.stringify(new URL(`file://${BUNDLE}`).href);
    const imported = await node(`const cli = await import(${url}); console.log(Object.keys(cli).sort().join(','));`);
    expect(imported).toEqual({ code: 0, stdout: 'COMMAND_NAMES,buildProgram,main,printError\n', stderr: '' });

    const called = await node(`const cli = await import(${url}); await cli.main(['node', 'cli', '--version']);`);
    expect(called).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
  });

  it('the bin calls main(): it parses its arguments and sets the exit code', async () => {
    const version = await runCli(['--version']);
    expect(version).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
    const bad = await runCli(['send', '--repeat', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--repeat takes a whole number of at least 1');
  });
});

/** Runs the built CLI with a module loader hook and returns its result and every module URL it loaded. */
async function runLogged(args: string[]): Promise<{ code: number | null; stdout: string; loaded: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'fw-help-'));
  try {
    const log = join(dir, 'loaded.log');
    writeFileSync(log, '');
    writeFileSync(
      join(dir, 'hooks.mjs'),
      "import { appendFileSync } from 'node:fs';\n" +
        'export async function load(url, context, next) {\n' +
        '  appendFileSync(process.env.FW_LOAD_LOG, url + "\\n");\n  return next(url, context);\n}\n',
    );
    const hooks = JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href);
    writeFileSync(join(dir, 'preload.mjs'), `import { register } from 'node:module';\nregister(${hooks});\n`);
    const run = await runCli(args, {
      env: { NODE_OPTIONS: `--import ${pathToFileURL(join(dir, 'preload.mjs')).href}`, FW_LOAD_LOG: log },
    });
    return { code: run.code, stdout: run.stdout, loaded: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The bundle's files a run loaded, by name: cli.js, shared chunk-XXXX.js, and command modules (send-XXXX.js). */
const bundleFiles = (loaded: string[]) =>
  loaded.filter((url) => url.includes('/dist/cli/')).map((url) => url.slice(url.lastIndexOf('/') + 1));
const ROOT = new URL('../..', import.meta.url).href;
const notShared = (names: string[]) => names.filter((name) => name !== 'cli.js' && !/^chunk-\w+\.js$/.test(name));

describe('--help registers commands from the table without loading them', () => {
  it.each([[['--help']], [['send', '--help']], [['listen', '--help']], [['fixture', '--help']]])(
    '%j loads no command module, no undici and no prompts',
    async (args) => {
      const run = await runLogged(args);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Usage: facesign-webhooks');
      expect(bundleFiles(run.loaded)[0]).toBe('cli.js');
      expect(notShared(bundleFiles(run.loaded))).toEqual([]);
      // The repository's own path is left out: its folder may well be called "undici".
      const outside = run.loaded.map((url) => (url.startsWith(ROOT) ? url.slice(ROOT.length) : url));
      expect(outside.join('\n')).not.toMatch(/undici|inquirer/);
    },
  );

  it('the control: running a command loads its module', async () => {
    const run = await runLogged(['events']);
    expect(run.code).toBe(0);
    expect(notShared(bundleFiles(run.loaded))).toEqual([expect.stringMatching(/^events-\w+\.js$/)]);
  });
});
