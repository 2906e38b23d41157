import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/*
 * The dependency rules of the tree (STYLE.md "The shape"), read from the source itself: every
 * static import, `export … from`, `import type` and dynamic `import('…')` of a project file counts.
 */

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;

/** The project files a source file imports, as paths relative to src/ (`commands/send.ts`). */
export function importsOf(text: string, file: string): string[] {
  const found = new Set<string>();
  for (const match of text.matchAll(SPECIFIER)) {
    const spec = match[1]!;
    if (!spec.startsWith('.')) continue;
    const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
    found.add(relative(SRC, target));
  }
  return [...found];
}

const graph = new Map<string, string[]>(
  sourceFiles(SRC).map((file) => [relative(SRC, file), importsOf(readFileSync(file, 'utf8'), file)]),
);

/** Every cycle's path (`a.ts → b.ts → a.ts`), found by a depth-first walk. */
export function findCycles(g: Map<string, string[]>): string[] {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of g.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next].join(' → '));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of g.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

const isCommand = (path: string) => path.startsWith('commands/') && path !== 'commands/shared.ts';

describe('the import graph of src/', () => {
  it('is read from the source: the graph knows the files and their imports', () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(graph.get('index.ts')).toContain('events/build.ts');
    // The command table reaches each command module (lazily) from src/cli/.
    expect([...graph].some(([file, imports]) => file.startsWith('cli/') && imports.some(isCommand))).toBe(true);
    // Every import names a file that exists (so a typo in the walk cannot hide an edge).
    for (const [file, imports] of graph)
      for (const target of imports) expect(graph.has(target), `${file} imports ${target}`).toBe(true);
  });

  it('has no import cycle', () => {
    expect(findCycles(graph)).toEqual([]);
  });

  it('the cycle finder finds a cycle when there is one', () => {
    const g = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(findCycles(g)).toEqual(['a.ts → b.ts → c.ts → a.ts']);
  });

  it('no command imports another command (only commands/shared.ts is shared)', () => {
    const crossings = [...graph]
      .filter(([file]) => isCommand(file))
      .flatMap(([file, imports]) => imports.filter(isCommand).map((target) => `${file} → ${target}`));
    expect(crossings).toEqual([]);
  });

  it('the library imports nothing of the CLI: src/index.ts reaches no command and not cli.ts', () => {
    const reached = new Set<string>();
    const walk = (file: string) => {
      if (reached.has(file)) return;
      reached.add(file);
      for (const next of graph.get(file) ?? []) walk(next);
    };
    walk('index.ts');
    expect([...reached].filter((f) => f.startsWith('commands/') || f === 'cli.ts')).toEqual([]);
    expect(reached.size).toBeGreaterThan(20);
  });

  it('the import reader sees every form of import', () => {
    const text = [
      "import { a } from './a.js';",
      "import type { B } from '../b.js';",
      "export { c } from './c.js';",
      "const d = await import('./d.js');",
      "import './e.js';",
      "import x from 'node:fs';",
    ].join('\n');
    expect(importsOf(text, join(SRC, 'commands/x.ts')).sort()).toEqual(
      ['b.ts', 'commands/a.ts', 'commands/c.ts', 'commands/d.ts', 'commands/e.ts'].sort(),
    );
  });
});
