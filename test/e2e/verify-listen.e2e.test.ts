import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ndjson, runCli } from '../helpers/cli.js';
import { killListeners, startListen } from '../helpers/listen-process.js';

/*
 * `verify` on captures written by a real `listen --save` run: it says what listen decided, and
 * when the two disagree over the very same bytes, that the secrets differ.
 */

const LISTEN_SECRET = 'whsec_listen_side';
const OTHER_SECRET = 'whsec_somebody_else';
let dir: string;
const file: Record<'accepted' | 'otherSecret' | 'missing', string> = { accepted: '', otherSecret: '', missing: '' };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fs-verify-listen-'));
  const l = await startListen(['--secret', LISTEN_SECRET, '--save', dir]);
  const sends = [
    ['send', 'verified', '--secret', LISTEN_SECRET],
    ['send', 'failed', '--secret', OTHER_SECRET],
    ['send', 'cancelled', '--secret', LISTEN_SECRET, '--signature', 'missing', '--expect', '4xx'],
  ];
  for (const args of sends) {
    const r = await runCli([...args, '--to', l.url]);
    expect(r.code, r.stdout + r.stderr).toBe(args[1] === 'failed' ? 1 : 0);
  }
  await l.deliveries(3);
  l.child.kill('SIGTERM');
  await l.exited;
  const files = readdirSync(dir).sort();
  expect(files).toHaveLength(3);
  [file.accepted, file.otherSecret, file.missing] = files.map((f) => join(dir, f)) as [string, string, string];
  expect(JSON.parse(readFileSync(file.otherSecret, 'utf8')).verdict).toMatchObject({
    outcome: 'rejected',
    signature: 'mismatch',
  });
});

afterAll(() => {
  killListeners();
  rmSync(dir, { recursive: true, force: true });
});

describe.concurrent('verify CAPTURE says what listen decided', () => {
  it('listen accepted, verify with another secret: the two secrets differ (human and --json)', async () => {
    const r = await runCli(['verify', file.accepted, '--secret', OTHER_SECRET]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^✘ invalid: signature does not match/);
    expect(r.stdout).toContain(
      '\n  listen    accepted this signature (with its secret) but it does not match with yours: the two secrets differ',
    );
    const j = await runCli(['verify', file.accepted, '--secret', OTHER_SECRET, '--json']);
    expect(ndjson(j.stdout)[0]!.listen).toEqual({
      outcome: 'accepted',
      status: 200,
      signature: 'valid',
      reason: null,
      agrees: false,
      message: expect.stringMatching(
        /^listen accepted this signature \(with its secret\) but it does not match with yours: the two secrets differ/,
      ),
    });
  });

  it('listen accepted, verify with the same secret: it agrees', async () => {
    const r = await runCli(['verify', file.accepted, '--secret', LISTEN_SECRET]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('\n  listen    accepted this signature too\n');
  });

  it('listen rejected a signature made with another secret, which verify with that secret finds valid', async () => {
    const r = await runCli(['verify', file.otherSecret, '--secret', OTHER_SECRET, '--json']);
    expect(r.code).toBe(0);
    expect(ndjson(r.stdout)[0]!.listen).toMatchObject({
      outcome: 'rejected',
      status: 400,
      signature: 'mismatch',
      agrees: false,
    });
    expect(ndjson(r.stdout)[0]!.listen.message).toBe(
      "listen rejected this signature (it did not match listen's secret) but it matches yours: listen ran with another secret",
    );
  });

  it("listen rejected it, and verify with listen's secret rejects it too, with listen's reason", async () => {
    const r = await runCli(['verify', file.otherSecret, '--secret', LISTEN_SECRET]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\n {2}listen {4}rejected it too: signature does not match/);
    const m = await runCli(['verify', file.missing, '--secret', LISTEN_SECRET, '--json']);
    expect(m.code).toBe(1);
    expect(ndjson(m.stdout)[0]!.listen).toMatchObject({
      outcome: 'rejected',
      signature: 'missing',
      agrees: true,
      message: expect.stringMatching(/^listen rejected it too: /),
    });
  });

  it('inputs that are not captures carry no listen field', async () => {
    const r = await runCli([
      'verify',
      '--payload',
      file.accepted,
      '--signature',
      '0'.repeat(64),
      '--secret',
      LISTEN_SECRET,
      '--json',
    ]);
    expect(ndjson(r.stdout)[0]).not.toHaveProperty('listen');
  });
});
