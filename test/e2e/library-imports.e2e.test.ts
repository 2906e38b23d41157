import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * `import 'facesign-webhooks'` loads no CLI dependency: a module loader hook, preloaded with
 * --import, writes down every module URL a child process loads while it imports the built library
 * (dist/index.js), and neither chalk nor @inquirer/prompts may be among them. The control: importing
 * dist/report/output.js (the one module that uses chalk) does list chalk, so the check can fail.
 */

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fsw-lib-imports-'));
  writeFileSync(
    join(dir, 'hooks.mjs'),
    "import { appendFileSync } from 'node:fs';\n" +
      'export async function load(url, context, next) {\n' +
      '  appendFileSync(process.env.FW_LOAD_LOG, url + "\\n");\n' +
      '  return next(url, context);\n}\n',
  );
  writeFileSync(
    join(dir, 'preload.mjs'),
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`,
  );
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let runs = 0;
/** Imports one built module in a fresh Node and returns the URLs of every module it loaded. */
function modulesLoadedBy(file: string): Promise<{ code: number | null; stderr: string; modules: string[] }> {
  const log = join(dir, `load-${++runs}.log`);
  writeFileSync(log, '');
  const script = `const m = await import(${JSON.stringify(pathToFileURL(join(DIST, file)).href)}); console.log(Object.keys(m).length);`;
  const child = spawn(
    process.execPath,
    ['--import', pathToFileURL(join(dir, 'preload.mjs')).href, '--input-type=module', '-e', script],
    {
      env: { ...process.env, FW_LOAD_LOG: log, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, modules: readFileSync(log, 'utf8').split('\n').filter(Boolean) });
    });
  });
}

const cliDependencies = (modules: string[]) => modules.filter((m) => /\/node_modules\/(chalk|@inquirer)\//.test(m));

describe('the library loads no CLI dependency', () => {
  it("import 'facesign-webhooks' (dist/index.js) loads neither chalk nor @inquirer/prompts", async () => {
    const { code, stderr, modules } = await modulesLoadedBy('index.js');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    // The hook saw the library's own modules, so an empty list below means something.
    expect(modules.some((m) => m.endsWith('/dist/index.js'))).toBe(true);
    expect(modules.some((m) => m.endsWith('/dist/report/junit.js'))).toBe(true);
    expect(cliDependencies(modules)).toEqual([]);
  });

  it('the control: the output module does load chalk', async () => {
    const { code, modules } = await modulesLoadedBy('report/output.js');
    expect(code).toBe(0);
    expect(cliDependencies(modules).some((m) => m.includes('/node_modules/chalk/'))).toBe(true);
  });
});
