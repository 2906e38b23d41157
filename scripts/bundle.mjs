// Bundles the CLI (src/cli.ts and every command it loads lazily) into dist/cli/, one chunk per
// lazily loaded part, so a start reads a few files instead of hundreds. The library build
// (dist/*.js and types, from tsc) is separate and unbundled.
import { build } from 'esbuild';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

rmSync(new URL('../dist/cli/', import.meta.url), { recursive: true, force: true });

// commander loads node:child_process at start-up for executable subcommands, which this CLI never
// uses; loading it only on first use saves ~10 ms on every start.
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.importer.includes('/node_modules/commander/')
        ? { path: 'lazy-child-process', namespace: 'fw-shim' }
        : undefined,
    );
    b.onLoad({ filter: /^lazy-child-process$/, namespace: 'fw-shim' }, () => ({
      contents: "module.exports = new Proxy({}, { get: (_t, key) => require('node:child_process')[key] });",
      loader: 'js',
    }));
  },
};
// report/output.ts always gives chalk an explicit colour level (TTY, NO_COLOR, FORCE_COLOR), so
// chalk's own terminal detection, which loads node:os and node:tty on every start, is not needed.
const chalkWithoutDetection = {
  name: 'chalk-without-detection',
  setup(b) {
    b.onResolve({ filter: /^#supports-color$/ }, () => ({
      path: fileURLToPath(new URL('../node_modules/chalk/source/vendor/supports-color/browser.js', import.meta.url)),
    }));
  },
};

// Single deliveries load undici lazily (src/delivery/deliver.ts); the CLI bundles only the part it
// uses, as a chunk of its own that only sending commands load.
const slimUndici = {
  name: 'slim-undici',
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, (args) =>
      args.importer.includes('/src/delivery/')
        ? { path: fileURLToPath(new URL('./undici-slim.cjs', import.meta.url)) }
        : undefined,
    );
  },
};

const BANNER =
  "import { createRequire as __fwCreateRequire } from 'node:module'; const require = __fwCreateRequire(import.meta.url);";
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

await build({
  entryPoints: ['src/cli.ts'],
  outdir: 'dist/cli',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: process.env.FW_BUNDLE_MINIFY !== '0',
  legalComments: 'none',
  chunkNames: '[name]-[hash]',
  logLevel: 'warning',
  plugins: [lazyChildProcess, chalkWithoutDetection, slimUndici],
  // Dependencies written as CommonJS call require(); give ESM chunks a real one.
  banner: { js: BANNER },
  // The version is known at build time: no package.json read on every start.
  define: { __FW_VERSION__: JSON.stringify(version) },
});

// Only chunks that call require() need the banner's createRequire; drop it from the others.
const outDir = new URL('../dist/cli/', import.meta.url);
for (const name of readdirSync(outDir)) {
  if (!name.endsWith('.js')) continue;
  const file = new URL(name, outDir);
  const text = readFileSync(file, 'utf8');
  const body = text.slice(BANNER.length);
  if (text.startsWith(BANNER) && !/\brequire\b/.test(body)) writeFileSync(file, body.replace(/^\n/, ''));
}
