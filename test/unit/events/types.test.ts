import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
const dir = mkdtempSync(join(tmpdir(), 'fw-types-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A handler that forgets to narrow: it must not compile. */
const UNNARROWED = `import { constructEvent } from ${JSON.stringify(join(REPO, 'src', 'index.js'))};
export function handle(body: Buffer, signature: string | undefined, secret: string): string {
  const event = constructEvent(body, signature, secret);
  return event.data.verified_outputs.first_name;
}
`;

function tsc(files: string[]): Promise<{ code: number | null; output: string }> {
  const args = [
    TSC,
    '--noEmit',
    '--pretty',
    'false',
    '--strict',
    '--noUncheckedIndexedAccess',
    '--module',
    'NodeNext',
    '--moduleResolution',
    'NodeNext',
  ];
  args.push(
    '--target',
    'ES2022',
    '--lib',
    'ES2023',
    '--types',
    'node',
    '--typeRoots',
    join(REPO, 'node_modules', '@types'),
    '--skipLibCheck',
    ...files,
  );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 110_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('the event types, checked by the TypeScript compiler', () => {
  it('test/unit/events/types.test-d.ts compiles (narrowing on event.type holds), and a handler that does not narrow fails to', async () => {
    const bad = join(dir, 'unnarrowed.ts');
    writeFileSync(bad, UNNARROWED);
    // One compiler run for both files: errors may come only from the unnarrowed handler.
    const { code, output } = await tsc([join(REPO, 'test', 'unit', 'events', 'types.test-d.ts'), bad]);
    const errors = output.split('\n').filter((l) => /error TS\d+/.test(l));
    expect(code).toBe(2);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('unnarrowed.ts(4,');
    expect(errors[0]).toMatch(/TS18047: 'event\.data\.verified_outputs' is possibly 'null'/);
  }, 120_000);
});
