import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';

/*
 * Conventions every command keeps (issue 7, "Packaging"): `--help` with examples, `--version`,
 * and no escape codes when stdout is not a terminal or NO_COLOR is set. Spawned with pipes, so
 * stdout and stderr are never TTYs here.
 */

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
const ESC = '\x1b';

/** Command names from the "Commands:" section of the top-level help (aliases dropped). */
function listCommands(help: string): string[] {
  const lines = help.split('\n');
  const start = lines.findIndex((l) => l.trim() === 'Commands:');
  const names: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '') break;
    const m = /^ {2}([a-z][\w-]*)(?:\|[\w-]+)?\b/.exec(line);
    if (m) names.push(m[1]!);
  }
  return names.filter((n) => n !== 'help');
}

/** The example lines after "Examples:" (`  $ …`). */
function examplesOf(help: string): string[] {
  const at = help.indexOf('\nExamples:\n');
  if (at < 0) return [];
  const out: string[] = [];
  for (const line of help.slice(at + '\nExamples:\n'.length).split('\n')) {
    if (!/^ {2}\$ \S/.test(line)) break;
    out.push(line.slice(4));
  }
  return out;
}

/** A loopback port with nothing listening on it (bound, then released). */
async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('command-line conventions (built CLI)', () => {
  let topHelp: CliResult;
  let commands: string[];
  let tmp: string;

  beforeAll(async () => {
    topHelp = await runCli(['--help']);
    commands = listCommands(topHelp.stdout);
    tmp = mkdtempSync(join(tmpdir(), 'fw-conventions-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('the top-level help lists every command and has examples', () => {
    expect(topHelp.code).toBe(0);
    expect(commands).toEqual(
      expect.arrayContaining([
        'events',
        'fixtures',
        'send',
        'flow',
        'sign',
        'retry-sim',
        'verify',
        'listen',
        'replay',
        'check',
        'demo',
      ]),
    );
    expect(examplesOf(topHelp.stdout).length).toBeGreaterThan(0);
  });

  it('every command has --help with at least one example of itself', async () => {
    const missing: string[] = [];
    for (const command of commands) {
      const r = await runCli([command, '--help']);
      expect(r.code, command).toBe(0);
      expect(r.stdout, command).toMatch(new RegExp(`^Usage: facesign-webhooks ${command}\\b`));
      const examples = examplesOf(r.stdout);
      if (!examples.some((e) => e.includes(`facesign-webhooks ${command}`) || e.startsWith('npm run')))
        missing.push(command);
    }
    expect(missing).toEqual([]);
  });

  it('--version and -v print the package version', async () => {
    for (const flag of ['--version', '-v']) {
      const r = await runCli([flag]);
      expect(r.code, flag).toBe(0);
      expect(r.stdout, flag).toBe(`${VERSION}\n`);
    }
  });

  describe('no escape codes when stdout is not a terminal', () => {
    const scenarios: { name: string; args: () => Promise<string[]>; code: number }[] = [
      { name: 'events', args: async () => ['events'], code: 0 },
      { name: 'fixtures', args: async () => ['fixtures', 'session.failed'], code: 0 },
      {
        name: 'send --dry-run',
        args: async () => ['send', 'verified', '--dry-run', '--secret', 'whsec_conv'],
        code: 0,
      },
      {
        name: 'send to a refused port',
        args: async () => ['send', 'verified', '--to', `127.0.0.1:${await refusedPort()}`, '--secret', 'whsec_conv'],
        code: 1,
      },
      { name: 'a usage error', args: async () => ['send', 'session.nope', '--secret', 'whsec_conv'], code: 2 },
      { name: '--help', args: async () => ['send', '--help'], code: 0 },
    ];

    for (const env of [
      { label: 'NO_COLOR=1', env: {} },
      { label: 'NO_COLOR unset', env: { NO_COLOR: undefined } },
    ]) {
      for (const s of scenarios) {
        it(`${s.name} (${env.label})`, async () => {
          const r = await runCli(await s.args(), { env: env.env });
          expect(r.code).toBe(s.code);
          expect(r.stdout + r.stderr).not.toBe('');
          expect(r.stdout).not.toContain(ESC);
          expect(r.stderr).not.toContain(ESC);
        });
      }
    }

    it('verify, valid and invalid (NO_COLOR unset)', async () => {
      const fixture = await runCli(['fixtures', 'verified', '--json']);
      expect(fixture.code).toBe(0);
      const body = fixture.stdout.trim();
      const file = join(tmp, 'event.json');
      writeFileSync(file, body);
      const signature = createHmac('sha256', 'whsec_conv').update(body).digest('hex');

      const valid = await runCli(['verify', '--payload', file, '--signature', signature, '--secret', 'whsec_conv'], {
        env: { NO_COLOR: undefined },
      });
      expect(valid.code).toBe(0);
      expect(valid.stdout).toMatch(/valid/);
      const invalid = await runCli(['verify', '--payload', file, '--signature', signature, '--secret', 'whsec_other'], {
        env: { NO_COLOR: undefined },
      });
      expect(invalid.code).toBe(1);
      for (const r of [valid, invalid]) {
        expect(r.stdout).not.toContain(ESC);
        expect(r.stderr).not.toContain(ESC);
      }
    });

    it('the control: FORCE_COLOR=1 does colour the same output, so the checks above can fail', async () => {
      const r = await runCli(['events'], { env: { NO_COLOR: undefined, FORCE_COLOR: '1' } });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(ESC);
    });
  });
});
