import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '../../src/events/types.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'fw-schema-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One error line (and an optional hint) on stderr, nothing on stdout, no stack trace. */
function expectUsageError(run: { code: number | null; stdout: string; stderr: string }, message: RegExp): void {
  expect(run.code).toBe(2);
  expect(run.stdout).toBe('');
  expect(run.stderr).toMatch(message);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  expect(run.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
}

describe('facesign-webhooks schema (the built CLI)', () => {
  it('schema: the union of the six on stdout, pure JSON, which validates events the CLI builds', async () => {
    const run = await runCli(['schema']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const schema = JSON.parse(run.stdout);
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(Object.keys(schema.$defs)).toEqual([...EVENT_TYPES, 'envelope']);
    const validate = new Ajv2020().compile(schema);
    const built = await runCli(['fixtures', 'all', '--json', '--user-id', 'usr_e2e']);
    expect(built.code).toBe(0);
    const events = built.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.map((e) => e.type)).toEqual([...EVENT_TYPES]);
    for (const event of events) expect(validate(event), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...events[2], type: 'session.approved' })).toBe(false);
  });

  it('schema verified: one event type, which a built session.verified passes and a failed one does not', async () => {
    const run = await runCli(['schema', 'verified']);
    expect(run.code).toBe(0);
    const schema = JSON.parse(run.stdout);
    expect(schema.title).toBe('session.verified');
    const validate = new Ajv2020().compile(schema);
    const verified = JSON.parse((await runCli(['fixtures', 'verified', '--set', 'data.metadata.plan=pro'])).stdout);
    expect(validate(verified), JSON.stringify(validate.errors)).toBe(true);
    const failed = JSON.parse((await runCli(['fixtures', 'failed'])).stdout);
    expect(validate(failed)).toBe(false);
  });

  it('schema all --out DIR: one file per type, the envelope and the union; --json lists them', async () => {
    const out = join(dir, 'nested', 'schemas');
    const run = await runCli(['schema', 'all', '--out', out]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('');
    const files = readdirSync(out).sort();
    expect(files).toEqual(
      [...EVENT_TYPES.map((t) => `${t}.schema.json`), 'envelope.schema.json', 'events.schema.json'].sort(),
    );
    for (const file of files) {
      const schema = JSON.parse(readFileSync(join(out, file), 'utf8'));
      expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(run.stderr).toContain(`wrote ${join(out, file)}`);
    }
    const json = await runCli(['schema', 'envelope', '--out', out, '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      type: 'schema_written',
      format: 'json-schema',
      file: 'envelope.schema.json',
      path: join(out, 'envelope.schema.json'),
    });
  });

  it('schema --format openapi: an OpenAPI 3.1 document with six webhooks', async () => {
    const run = await runCli(['schema', '--format', 'openapi']);
    expect(run.code).toBe(0);
    const doc = JSON.parse(run.stdout);
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.webhooks)).toEqual([...EVENT_TYPES]);
    const one = JSON.parse((await runCli(['schema', 'cancelled', '--format', 'openapi', '--json'])).stdout);
    expect(Object.keys(one.webhooks)).toEqual(['session.cancelled']);
  });

  it('--json prints one compact line; --help shows examples', async () => {
    const run = await runCli(['schema', 'failed', '--json']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(run.stdout).title).toBe('session.failed');
    const help = await runCli(['schema', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('facesign-webhooks schema all --out ./schemas');
    expect(help.stdout).toContain('--format <format>');
  });

  it('bad input: exit 2 with one clear line', async () => {
    const unknown = await runCli(['schema', 'approved']);
    expectUsageError(
      unknown,
      /^error: unknown event type "approved"\n {2}hint: use one of: all, envelope, session\.created, .*session\.expired/,
    );
    expectUsageError(
      await runCli(['schema', '--format', 'yaml']),
      /error: option '--format <format>' argument 'yaml' is invalid/,
    );
    expectUsageError(
      await runCli(['schema', 'envelope', '--format', 'openapi']),
      /^error: --format openapi describes the six webhooks/,
    );
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    expectUsageError(
      await runCli(['schema', 'all', '--out', join(file, 'sub')]),
      /^error: cannot write to --out ".*a-file\/sub": a file is in the way/,
    );
    expectUsageError(
      await runCli(['schema', 'verified', '--out', file]),
      /^error: cannot write to --out ".*a-file": a file is in the way/,
    );
  });
});
