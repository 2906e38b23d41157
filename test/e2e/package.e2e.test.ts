import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * The package as a user gets it: `npm pack`, install the tarball into a fresh project, then use
 * the library by name, its types, and the installed binary. Install hits the npm registry (the
 * cache first), hence the long timeouts.
 */

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const PKG = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
  main: string;
  types: string;
  exports: Record<string, { types?: string; import?: string } | string>;
  engines: { node: string };
  scripts: Record<string, string>;
};
const TSC = join(REPO, 'node_modules', '.bin', 'tsc');
const SIX = [
  'session.created',
  'session.started',
  'session.verified',
  'session.failed',
  'session.cancelled',
  'session.expired',
];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A clean environment: no secret or target inherited, no colour, and not npm's script variables. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(FACESIGN_|npm_lifecycle_|npm_package_)/.test(key) || key === 'FORCE_COLOR' || key === 'NODE_OPTIONS')
      continue;
    env[key] = value;
  }
  return { ...env, NO_COLOR: '1', CI: 'true', PATH: `${dirname(process.execPath)}${delimiter}${env.PATH ?? ''}` };
}

function exec(command: string, args: string[], options: { cwd: string; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function mustSucceed(what: string, run: Run): Run {
  if (run.code !== 0) throw new Error(`${what} exited ${run.code}:\n${run.stdout}\n${run.stderr}`);
  return run;
}

describe('the packed package, installed into a fresh project', { timeout: 60_000 }, () => {
  let tmp: string;
  let project: string;
  let tarball: string;
  let packedFiles: string[];
  let bin: string;

  beforeAll(async () => {
    // Packs the dist/ that `npm test` just built. `--ignore-scripts` skips `prepare` (a rebuild):
    // other test files run the built CLI meanwhile, and a rebuild deletes dist/cli/ under them.
    for (const built of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/cli.js']) {
      if (!existsSync(join(REPO, built))) throw new Error(`${built} is missing: run \`npm run build\` first`);
    }
    tmp = realpathSync(mkdtempSync(join(tmpdir(), 'fw-package-')));
    const packed = mustSucceed(
      'npm pack',
      await exec('npm', ['pack', '--pack-destination', tmp, '--ignore-scripts', '--json'], { cwd: REPO }),
    );
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    tarball = join(tmp, info!.filename);
    packedFiles = info!.files.map((f) => f.path);

    project = join(tmp, 'project');
    mkdirSync(project);
    mustSucceed('npm init', await exec('npm', ['init', '-y'], { cwd: project }));
    const manifest = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(project, 'package.json'), JSON.stringify({ ...manifest, type: 'module' }, null, 2));
    mustSucceed(
      'npm install',
      await exec('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline'], {
        cwd: project,
        timeoutMs: 150_000,
      }),
    );
    bin = join(project, 'node_modules', '.bin', 'facesign-webhooks');
  }, 180_000);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('the tarball holds only what runs: package.json, README, bin/, dist/, fixtures/, ui/', () => {
    const strays = packedFiles.filter(
      (p) => !/^(package\.json|README\.md|LICENSE(\.md)?|bin\/.+|dist\/.+|fixtures\/.+|ui\/.+)$/.test(p),
    );
    expect(strays).toEqual([]);
    expect(packedFiles.filter((p) => /^(src|test|scripts|\.ci|node_modules)\/|tsconfig|vitest|\.tgz$/.test(p))).toEqual(
      [],
    );
    for (const needed of [
      'package.json',
      'README.md',
      'bin/facesign-webhooks.js',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/cli.js',
      ...SIX.map((t) => `fixtures/${t}.json`),
      'ui/index.html',
      'ui/inspector.css',
      'ui/inspector.js',
    ]) {
      expect(packedFiles).toContain(needed);
    }
    // Every path package.json points at is in the tarball.
    const root = PKG.exports['.'] as { types: string; import: string };
    for (const target of [PKG.main, PKG.types, root.types, root.import, ...Object.values(PKG.bin)]) {
      expect(packedFiles).toContain(target.replace(/^\.\//, ''));
    }
    expect(PKG.engines.node).toMatch(/^>=20\./);
    // A git install has no dist/; `prepare` builds it.
    expect(PKG.scripts.prepare).toMatch(/npm run build/);
  });

  it('imports the library by name and gets the known-answer signature', async () => {
    writeFileSync(
      join(project, 'use-library.mjs'),
      `import { buildEvent, prepareRequest, signPayload, verifySignature, EVENT_TYPES, VERSION } from 'facesign-webhooks';
const event = buildEvent('session.verified', { userId: 'usr_pkg' });
const request = prepareRequest(event, { url: 'http://127.0.0.1:9/webhooks/facesign', secret: 'pkg-secret' });
const deep = await import('facesign-webhooks/dist/events/build.js').then(() => 'allowed', (err) => err.code);
console.log(JSON.stringify({
  resolved: import.meta.resolve('facesign-webhooks'),
  knownAnswer: signPayload('{"foo":"bar"}', 'mysecret'),
  eventTypes: EVENT_TYPES,
  version: VERSION,
  userId: event.data.metadata.user_id,
  status: event.data.status,
  verified: verifySignature(request.body, request.headers['FaceSign-Signature'], 'pkg-secret').ok,
  deep,
}));
`,
    );
    const run = mustSucceed(
      'node use-library.mjs',
      await exec(process.execPath, ['use-library.mjs'], { cwd: project }),
    );
    const out = JSON.parse(run.stdout) as Record<string, unknown>;

    expect(fileURLToPath(out.resolved as string)).toBe(
      join(project, 'node_modules', 'facesign-webhooks', 'dist', 'index.js'),
    );
    // HMAC-SHA256("mysecret", '{"foo":"bar"}'), the published vector of octokit/webhooks-methods.
    expect(out.knownAnswer).toBe('4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3');
    expect(out.eventTypes).toEqual(SIX);
    expect(out.version).toBe(PKG.version);
    // Built from the fixtures shipped in the package.
    expect(out).toMatchObject({ userId: 'usr_pkg', status: 'verified', verified: true });
    // Only the root (and package.json) is exported: internals cannot be deep-imported.
    expect(out.deep).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
    expect(run.stderr).toBe('');
  });

  it('the installed library serves the inspector page from the package (token in, files found)', async () => {
    writeFileSync(
      join(project, 'use-inspector.mjs'),
      `import { startReceiver } from 'facesign-webhooks';
const r = await startReceiver({ secret: 's', port: 0 });
const page = await fetch(r.inspectorUrl);
const html = await page.text();
const js = await fetch(new URL('/__facesign/ui/inspector.js', r.inspectorUrl));
await r.close();
console.log(JSON.stringify({ page: page.status, token: /content="[A-Za-z0-9_-]{32}"/.test(html), js: js.status }));
`,
    );
    const run = mustSucceed(
      'node use-inspector.mjs',
      await exec(process.execPath, ['use-inspector.mjs'], { cwd: project }),
    );
    expect(JSON.parse(run.stdout)).toEqual({ page: 200, token: true, js: 200 });
  });

  it('the installed binary: --version', async () => {
    const run = await exec(bin, ['--version'], { cwd: project });
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(PKG.version);
  });

  it('the installed binary: send --dry-run prints a request whose signature verifies independently', async () => {
    const run = await exec(bin, ['send', 'session.verified', '--dry-run', '--secret', 's'], { cwd: project });
    expect(run.code).toBe(0);

    const split = run.stdout.indexOf('\n\n');
    expect(split).toBeGreaterThan(0);
    const [requestLine, ...headerLines] = run.stdout.slice(0, split).split('\n');
    const body = run.stdout.slice(split + 2).replace(/\n$/, '');
    const headers = Object.fromEntries(
      headerLines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
    );
    const event = JSON.parse(body) as { id: string; type: string };

    expect(requestLine).toBe('POST http://localhost:3000/webhooks/facesign');
    expect(event.type).toBe('session.verified');
    expect(headers['facesign-event-id']).toBe(event.id);
    expect(headers['content-type']).toBe('application/json');
    expect(headers['facesign-signature']).toBe(
      createHmac('sha256', 's').update(Buffer.from(body, 'utf8')).digest('hex'),
    );
  });

  it('npx facesign-webhooks events, from the project folder', async () => {
    // --no: never fetch a package of that name from the registry; the installed one must be found.
    const run = await exec('npx', ['--no', 'facesign-webhooks', 'events'], { cwd: project });
    expect(run.code).toBe(0);
    const listed = run.stdout
      .split('\n')
      .map((l) => l.split(/\s+/)[0])
      .filter((w) => w !== '');
    expect(listed).toEqual(SIX);
  });

  it('a TypeScript consumer typechecks against the shipped types (NodeNext, through `exports`)', async () => {
    writeFileSync(
      join(project, 'consumer.ts'),
      `import {
  buildEvent, buildFlow, prepareRequest, deliver, checkEndpoint, startReceiver, simulateRetries, createFakeClock, EVENT_TYPES,
  type FaceSignEvent, type DeliveryResult, type EventType, type CheckReport, type Receiver, type RetryRunResult, type SignatureVerdict,
} from 'facesign-webhooks';
import { verifySignature } from 'facesign-webhooks';

const type: EventType = EVENT_TYPES[2];
const event: FaceSignEvent = buildEvent(type, { userId: 'usr_1' });
const flow: FaceSignEvent[] = buildFlow('verified');
const verdict: SignatureVerdict = verifySignature('{}', 'ab', 's');
export const summary: [string, number, boolean] = [event.data.id, flow.length, verdict.ok];
export function send(url: string): Promise<DeliveryResult> {
  return deliver(prepareRequest(event, { url, secret: 's', signature: 'tampered' }));
}
export function suite(url: string): Promise<CheckReport> {
  return checkEndpoint({ url, secret: 's', cases: ['duplicate'] });
}
export function double(): Promise<Receiver> {
  return startReceiver({ secret: 's', port: 0 });
}
export function retry(url: string): Promise<RetryRunResult<DeliveryResult>> {
  return simulateRetries(prepareRequest(event, { url, secret: 's' }), { clock: createFakeClock() });
}
export function wrong(): void {
  // @ts-expect-error not one of the six event types: proves the types are real, not any
  buildEvent('session.approved');
}
`,
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          lib: ['ES2023'],
          strict: true,
          noEmit: true,
          // Check the shipped .d.ts files too, not only their use.
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(REPO, 'node_modules', '@types')],
        },
        files: ['consumer.ts'],
      }),
    );
    const run = await exec(TSC, ['-p', join(project, 'tsconfig.json'), '--listFiles'], {
      cwd: project,
      timeoutMs: 90_000,
    });
    const errors = run.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
    expect(errors).toEqual([]);
    expect(run.code).toBe(0);
    const files = run.stdout.split('\n').map((l) => l.trim());
    expect(files).toContain(join(project, 'node_modules', 'facesign-webhooks', 'dist', 'index.d.ts'));
    // Nothing from the repository's sources leaks into the consumer's program.
    expect(files.filter((f) => f.startsWith(join(REPO, 'src')) || f.startsWith(join(REPO, 'dist')))).toEqual([]);
  }, 120_000);
});
