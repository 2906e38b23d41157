import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { closedPort, startServer, verifyingHandler, type TestServer } from '../helpers/server.js';

/*
 * GitHub's runner cannot run here, so this test does what it does for a composite action: reads
 * action.yml, evaluates each step's `env:` (the only place inputs may appear), and runs each
 * `run:` script with `bash --noprofile --norc -eo pipefail`, with GITHUB_ACTION_PATH, GITHUB_OUTPUT
 * and GITHUB_STEP_SUMMARY set, stopping at the first step that fails.
 */

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const SECRET = 'whsec_action_test_5f2a';
const action = parse(readFileSync(join(REPO, 'action.yml'), 'utf8')) as {
  inputs: Record<string, { required?: boolean; default?: string }>;
  outputs: Record<string, { value: string }>;
  runs: {
    using: string;
    steps: { id?: string; name: string; shell?: string; run?: string; env?: Record<string, string>; if?: string }[];
  };
};

const work = mkdtempSync(join(tmpdir(), 'fw-action-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let runs = 0;

/** `${{ inputs.x }}` and `${{ github.action_path }}`: the expressions this action's env may use. */
function evaluate(value: string, inputs: Record<string, string>): string {
  return value.replace(/\$\{\{\s*([^}]*?)\s*\}\}/g, (_m, expr: string) => {
    const input = /^inputs\.([a-z_-]+)$/.exec(expr);
    if (input) {
      const name = input[1]!;
      expect(action.inputs, `input ${name} is declared`).toHaveProperty(name);
      return inputs[name] ?? action.inputs[name]!.default ?? '';
    }
    if (expr === 'github.action_path') return REPO;
    throw new Error(`unsupported expression in action.yml: ${expr}`);
  });
}

interface ActionRun {
  code: number;
  log: string;
  outputs: Record<string, string>;
  summary: string;
  workspace: string;
}

function runStep(
  script: string,
  env: NodeJS.ProcessEnv,
  cwd: string,
  file: string,
): Promise<{ code: number; log: string }> {
  writeFileSync(file, script);
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', file], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (log += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (log += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), log });
    });
  });
}

/** Runs the action's steps as a runner would, with these inputs. */
async function runAction(
  inputs: Record<string, string>,
  extraEnv: Record<string, string> = {},
  files: Record<string, string> = {},
): Promise<ActionRun> {
  const workspace = mkdtempSync(join(work, `run${++runs}-`));
  // The workspace is a checkout: the config search stops at its .git.
  mkdirSync(join(workspace, '.git'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(workspace, name), text);
  const outputFile = join(workspace, '.github_output');
  const summaryFile = join(workspace, '.step_summary');
  writeFileSync(outputFile, '');
  const base: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', CI: 'true' };
  delete base.FACESIGN_WEBHOOK_SECRET;
  delete base.FACESIGN_WEBHOOKS_URL;
  Object.assign(
    base,
    {
      GITHUB_ACTION_PATH: REPO,
      GITHUB_OUTPUT: outputFile,
      GITHUB_STEP_SUMMARY: summaryFile,
      GITHUB_WORKSPACE: workspace,
      RUNNER_TEMP: workspace,
    },
    extraEnv,
  );
  let log = '';
  let code = 0;
  const stepOutputs: Record<string, Record<string, string>> = {};
  for (const [index, step] of action.runs.steps.entries()) {
    if (step.run === undefined) continue;
    expect(step.shell).toBe('bash');
    const env = { ...base };
    for (const [name, value] of Object.entries(step.env ?? {})) env[name] = evaluate(String(value), inputs);
    writeFileSync(outputFile, '');
    const result = await runStep(step.run, env, workspace, join(workspace, `.step${index}.sh`));
    log += result.log;
    if (step.id)
      stepOutputs[step.id] = Object.fromEntries(
        readFileSync(outputFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split('=', 2) as [string, string]),
      );
    code = result.code;
    if (code !== 0) break;
  }
  // The action's outputs, mapped from its steps' outputs as the runner does.
  const outputs: Record<string, string> = {};
  for (const [name, { value }] of Object.entries(action.outputs)) {
    const ref = /^\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}$/.exec(value);
    expect(ref, `output ${name} maps a step output`).not.toBeNull();
    const got = stepOutputs[ref![1]!]?.[ref![2]!];
    if (got !== undefined) outputs[name] = got;
  }
  return { code, log, outputs, summary: existsSync(summaryFile) ? readFileSync(summaryFile, 'utf8') : '', workspace };
}

describe('action.yml', () => {
  it('is a composite action with the documented inputs and outputs', () => {
    expect(action.runs.using).toBe('composite');
    expect(Object.keys(action.inputs)).toEqual(
      expect.arrayContaining(['target', 'config', 'secret', 'cases', 'burst', 'report']),
    );
    // No input is required: without a target, the project config gives the endpoint.
    expect(Object.values(action.inputs).filter((i) => i.required)).toEqual([]);
    expect(Object.keys(action.outputs)).toEqual(expect.arrayContaining(['passed', 'failed']));
    const ids = action.runs.steps.map((s) => s.id);
    for (const { value } of Object.values(action.outputs)) expect(ids).toContain(/steps\.([\w-]+)\./.exec(value)![1]);
  });

  it('never writes an expression into a run script: inputs reach the scripts only through env', () => {
    for (const step of action.runs.steps) {
      expect(step.run ?? '').not.toContain('${{');
      for (const value of Object.values(step.env ?? {}))
        expect(String(value)).toMatch(/^\$\{\{ (inputs\.[a-z]+|github\.action_path) \}\}$/);
    }
    const secretEnv = action.runs.steps
      .flatMap((s) => Object.entries(s.env ?? {}))
      .filter(([, v]) => String(v).includes('inputs.secret'));
    expect(secretEnv).toHaveLength(1);
  });
});

describe('running the action against a local endpoint', () => {
  let server: TestServer | undefined;
  afterEach(async () => server?.close());

  it('a correct handler: exit 0, passed/failed in the outputs, a JUnit report, the secret never printed', async () => {
    server = await startServer(verifyingHandler(SECRET));
    const run = await runAction({
      target: server.hookUrl,
      secret: SECRET,
      burst: '4',
      report: 'reports/nested/facesign-check.xml',
    });
    expect(run.code, run.log).toBe(0);
    expect(run.outputs).toEqual({ passed: '17', warned: '0', failed: '0' });
    expect(run.log).toContain('facesign-webhooks: using the CLI built in');
    expect(run.log).toMatch(/^PASS {2}valid\.session\.verified {2}expected /m);
    expect(run.log).toContain('facesign-webhooks check: 17 passed, 0 warned, 0 failed');
    expect(run.log).not.toContain(SECRET);
    const xml = readFileSync(join(run.workspace, 'reports', 'nested', 'facesign-check.xml'), 'utf8');
    expect(xml).toMatch(/<testsuite[^>]* tests="17"[^>]* failures="0"/);
    expect(run.summary).toContain('17 passed, 0 warned, 0 failed');
  });

  it('a handler that accepts everything: exit 1, the failed cases counted and annotated', async () => {
    server = await startServer((_req, _body, res) => res.end('OK'));
    const run = await runAction({
      target: server.hookUrl,
      secret: SECRET,
      cases: 'valid,wrong-secret,no-signature,tampered-body',
    });
    expect(run.code, run.log).toBe(1);
    expect(run.outputs).toEqual({ passed: '6', warned: '0', failed: '3' });
    expect(run.log).toMatch(/^FAIL {2}wrong-secret {2}/m);
    expect(run.log).toMatch(/^::error title=facesign-webhooks check no-signature::/m);
    expect(run.summary).toContain('| ❌ | `tampered-body` |');
  });

  it('cases and burst reach check; the secret can come from the job environment instead of the input', async () => {
    server = await startServer(verifyingHandler(SECRET));
    const run = await runAction(
      { target: server.hookUrl, cases: 'burst', burst: '3' },
      { FACESIGN_WEBHOOK_SECRET: SECRET },
    );
    expect(run.code, run.log).toBe(0);
    expect(run.outputs).toEqual({ passed: '1', warned: '0', failed: '0' });
    expect(server.requests).toHaveLength(3);
    expect(new Set(server.requests.map((r) => r.headers['facesign-event-id'])).size).toBe(3);
  });

  it('an endpoint that is not there: exit 1, with the reason', async () => {
    const run = await runAction({
      target: `http://127.0.0.1:${await closedPort()}/webhooks/facesign`,
      secret: SECRET,
      cases: 'valid',
    });
    expect(run.code).toBe(1);
    expect(run.log).toContain('connection refused');
  });

  it('bad inputs are usage errors (exit 2, no outputs), and input text is never run as shell code', async () => {
    const noTarget = await runAction({ secret: SECRET });
    expect(noTarget.code).toBe(2);
    expect(noTarget.log).toContain('::error::facesign-webhooks: the target input is required');
    const badCase = await runAction({ target: 'localhost:1', secret: SECRET, cases: 'valid,nonsense' });
    expect(badCase.code).toBe(2);
    expect(badCase.outputs).toEqual({});
    const marker = join(work, 'injected');
    const injected = await runAction({
      target: `$(touch ${marker})"; touch ${marker}; "`,
      secret: `x\`touch ${marker}\``,
      cases: `valid; touch ${marker}`,
      report: `$(touch ${marker})/r.xml`,
    });
    expect(injected.code).toBe(2);
    expect(existsSync(marker)).toBe(false);
  });

  it("without a target, the workspace's project config routes each type, and the secret goes to its secretEnv", async () => {
    const verified = await startServer(verifyingHandler(SECRET));
    server = await startServer(verifyingHandler(SECRET));
    try {
      const config = {
        secretEnv: 'MY_APP_WEBHOOK_SECRET',
        to: server.hookUrl,
        routes: { 'session.verified': verified.hookUrl },
      };
      const run = await runAction(
        { secret: SECRET, cases: 'valid' },
        {},
        {
          'facesign-webhooks.config.json': JSON.stringify(config),
        },
      );
      expect(run.code, run.log).toBe(0);
      expect(run.outputs).toEqual({ passed: '6', warned: '0', failed: '0' });
      const typesAt = (s: TestServer) =>
        s.requests.map((r) => (JSON.parse(r.body.toString()) as { type: string }).type);
      expect(typesAt(verified)).toEqual(['session.verified']);
      expect(typesAt(server)).toHaveLength(5);
      expect(typesAt(server)).not.toContain('session.verified');
      expect(run.log).not.toContain(SECRET);
    } finally {
      await verified.close();
    }
  });

  it('the config input names the file; a bad config is exit 2 with its file and key', async () => {
    server = await startServer(verifyingHandler(SECRET));
    const missing = await runAction({ secret: SECRET, cases: 'valid', config: 'ci/webhooks.json' });
    expect(missing.code).toBe(2);
    expect(missing.log).toContain('ci/webhooks.json');
    expect(server.requests).toHaveLength(0);
    const run = await runAction(
      { secret: SECRET, cases: 'valid', config: 'hooks.json' },
      {},
      {
        'hooks.json': JSON.stringify({ to: server.hookUrl }),
      },
    );
    expect(run.code, run.log).toBe(0);
    expect(run.outputs.passed).toBe('6');
    const bad = await runAction(
      { secret: SECRET, cases: 'valid' },
      {},
      {
        'facesign-webhooks.config.json': JSON.stringify({ to: server.hookUrl, rotes: {} }),
      },
    );
    expect(bad.code).toBe(2);
    expect(bad.log).toContain('facesign-webhooks.config.json: rotes is not a known key');
    expect(bad.outputs).toEqual({});
  });
});
