import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

/*
 * main() runs only when called: importing the CLI module (the source, or the bundle the bin loads)
 * has no side effects, and the bin is what calls main().
 */

const BUNDLE = fileURLToPath(new URL('../dist/cli/cli.js', import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

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
    const cli = await import('../src/cli.js');
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
