import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTerminal, type Terminal } from '../helpers/tmux.js';
import { independentSignatureOk, startServer, verifyingHandler, type TestServer } from '../helpers/server.js';

/*
 * Drives the guided mode in a real pseudo-terminal: tmux runs the built CLI, send-keys types,
 * capture-pane reads the screen. Each test uses its own tmux server socket.
 */

const SECRET = 'whsec_interactive_test_secret';
let term: Terminal | undefined;
let server: TestServer | undefined;

const screen = () => term!.screen();
const waitFor = (text: string | RegExp) => term!.waitFor(text);
const keys = (...k: string[]) => term!.keys(...k);

/** Runs the CLI in a fresh tmux session; `stdoutFile` sends its stdout there (the screen keeps stderr). */
function start(args: string[], env: Record<string, string> = {}, stdoutFile?: string): void {
  term = startTerminal(args, { env, stdoutFile });
}

/** Waits until the test server has received `n` requests (bounded: 10 s). */
async function waitForRequests(n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((server?.requests.length ?? 0) < n) {
    if (Date.now() > deadline) throw new Error(`the server received ${server?.requests.length ?? 0} of ${n} requests`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(() => {
  execFileSync('tmux', ['-V']);
});

afterEach(async () => {
  term?.close();
  term = undefined;
  await server?.close();
  server = undefined;
});

describe('interactive mode in a terminal', () => {
  it('asks for type, target, secret and overrides in that order, delivers, and asks only type and overrides for another', async () => {
    server = await startServer(verifyingHandler(SECRET));
    start([]);
    await waitFor('Event type');
    expect(screen()).not.toContain('Target');
    // Default is session.verified; one step down is session.failed.
    keys('Down', 'Enter');
    await waitFor('Target');
    keys(`${server.hookUrl}`, 'Enter');
    await waitFor('Webhook secret');
    keys(SECRET, 'Enter');
    await waitFor('Override any fields?');
    keys('y', 'Enter');
    await waitFor('Override (path=value');
    keys('data.metadata.user_id=usr_tty', 'Enter');
    // The second override prompt is drawn only once the first answer is accepted: a key sent before
    // that could reach no prompt at all on a busy machine.
    await waitFor(/✔ Override \(path=value, blank to finish\) data\.metadata\.user_id=usr_tty\s*\n\? Override/);
    keys('Enter');
    const shown = await waitFor('Send another?');
    expect(shown).toMatch(/session\.failed evt_\w+ → 200/);
    expect(shown).not.toContain(SECRET);
    keys('y', 'Enter');
    // The second round asks the type and overrides again, never the target or the secret.
    await waitFor(/Send another\? yes[\s\S]*Event type/i);
    keys('Enter');
    await waitFor(/Send another\? yes[\s\S]*Override any fields\?/i);
    keys('Enter');
    await waitFor(/session\.verified evt_\w+ → 200[\s\S]*Send another\?/);
    keys('n', 'Enter');
    const end = await waitFor('EXIT=0');
    expect(end.match(/Target/g)).toHaveLength(1);
    expect(end.match(/Webhook secret/g)).toHaveLength(1);

    expect(server.requests).toHaveLength(2);
    const [req, second] = server.requests;
    expect(independentSignatureOk(req!.body, req!.headers['facesign-signature'], SECRET)).toBe(true);
    expect(independentSignatureOk(second!.body, second!.headers['facesign-signature'], SECRET)).toBe(true);
    const event = JSON.parse(req!.body.toString('utf8'));
    expect(event.type).toBe('session.failed');
    expect(event.data.metadata.user_id).toBe('usr_tty');
    expect(req!.headers['facesign-event-id']).toBe(event.id);
    expect(JSON.parse(second!.body.toString('utf8')).type).toBe('session.verified');
  });

  it('rejects a bad override at the prompt and exits 130 quietly on Escape', async () => {
    server = await startServer(verifyingHandler(SECRET));
    start(['send', '--to', server.hookUrl], { FACESIGN_WEBHOOK_SECRET: SECRET });
    await waitFor('Event type');
    keys('Enter');
    await waitFor('Override any fields?');
    keys('y', 'Enter');
    await waitFor('Override (path=value');
    keys('data..x=1', 'Enter');
    await waitFor('empty segment');
    keys('Escape');
    const s = await waitFor('EXIT=130');
    expect(s).not.toMatch(/at .*\.js:\d+/);
    expect(server.requests).toHaveLength(0);
  });

  it('send --dry-run asks only the type, prints the request and sends nothing', async () => {
    server = await startServer(verifyingHandler(SECRET));
    start(['send', '--dry-run', '--to', server.hookUrl], { FACESIGN_WEBHOOK_SECRET: SECRET });
    await waitFor('Event type');
    keys('Up', 'Enter'); // session.started
    await waitFor('Override any fields?');
    keys('Enter');
    const s = await waitFor(/EXIT=\d+/);
    expect(s).toContain('EXIT=0');
    expect(s).toContain(`POST ${server.hookUrl}`);
    expect(s).toMatch(/FaceSign-Signature: [0-9a-f]{64}/);
    expect(s).toContain('"type":"session.started"');
    expect(s).not.toMatch(/Target|Webhook secret|Send another/);
    expect(server.requests).toHaveLength(0);
  });

  it('send --count --json asks the type, then runs load mode; stdout stays NDJSON', async () => {
    server = await startServer(verifyingHandler(SECRET));
    const dir = mkdtempSync(join(tmpdir(), 'fw-tty-'));
    const outFile = join(dir, 'out.ndjson');
    try {
      start(
        ['send', '--count', '5', '--concurrency', '2', '--json', '--to', server.hookUrl],
        { FACESIGN_WEBHOOK_SECRET: ` ${SECRET}` },
        outFile,
      );
      await waitFor('Event type');
      keys('Enter');
      await waitFor('Override any fields?');
      keys('Enter');
      const s = await waitFor(/EXIT=\d+/);
      expect(s).toContain('EXIT=1'); // the secret with a leading space does not match the server's
      expect(s).toContain('warning: the secret from $FACESIGN_WEBHOOK_SECRET has a leading space');
      expect(s).not.toContain('Send another');
      const records = readFileSync(outFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ type: 'load', sent: 5, ok: 0, statuses: { '400': 5 } });
      expect(server.requests).toHaveLength(5);
      expect(new Set(server.requests.map((r) => r.headers['facesign-event-id'])).size).toBe(5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('Ctrl-C while a delivery waits says what happened and exits 130', async () => {
    server = await startServer(() => undefined); // never answers
    start(['send', '--to', server.hookUrl, '--timeout', '60000'], { FACESIGN_WEBHOOK_SECRET: SECRET });
    await waitFor('Event type');
    keys('Enter');
    await waitFor('Override any fields?');
    keys('Enter');
    await waitForRequests(1);
    keys('C-c');
    const s = await waitFor(/EXIT=\d+/);
    expect(s).toContain('EXIT=130');
    expect(s).toMatch(/interrupted/);
    expect(s).not.toMatch(/at .*\.js:\d+/);
  });

  it('Ctrl-C at "Send another?" prints the deliveries so far and exits 130', async () => {
    server = await startServer(verifyingHandler(SECRET));
    start(['send', '--to', server.hookUrl], { FACESIGN_WEBHOOK_SECRET: SECRET });
    await waitFor('Event type');
    keys('Enter');
    await waitFor('Override any fields?');
    keys('Enter');
    await waitFor('Send another?');
    keys('C-c');
    const s = await waitFor(/EXIT=\d+/);
    expect(s).toContain('EXIT=130');
    expect(s).toMatch(/in all: 1 delivery, expected 2xx: all did \(interrupted\)/);
    expect(server.requests).toHaveLength(1);
  });

  it('sign without --payload on a terminal is a usage error at once, not a silent wait', async () => {
    start(['sign', '--secret', SECRET]);
    const s = await waitFor(/EXIT=\d+/);
    expect(s).toContain('EXIT=2');
    expect(s).toContain('error: no --payload given, and stdin is a terminal');
  });
});

describe('retry-sim and check ask only for what has no default', () => {
  it('retry-sim --speed 3600 asks nothing: session.verified against the built-in receiver', async () => {
    start(['retry-sim', '--speed', '3600']);
    const s = await waitFor(/EXIT=\d+/);
    expect(s).toContain('EXIT=0');
    expect(s).not.toMatch(/Event type|Target|Speed|Webhook secret/);
    expect(s).toMatch(/retry-sim session\.verified evt_\w+/);
    expect(s).toMatch(/✔ 4 +\+2m35s .* 200/);
    expect(s).toMatch(/delivered on attempt 4 of 6/);
  });

  it('check asks only for the missing secret (the target comes from $FACESIGN_WEBHOOKS_URL) and runs the suite', async () => {
    const { startCorrectServer } = await import('../helpers/servers/correct.js');
    const app = await startCorrectServer({ secret: SECRET });
    try {
      start(['check', '--skip', 'burst'], { FACESIGN_WEBHOOKS_URL: app.url });
      await waitFor('Webhook secret');
      expect(screen()).not.toMatch(/Endpoint|Target/);
      keys(SECRET, 'Enter');
      const s = await waitFor(/EXIT=\d+/);
      expect(s).toContain('EXIT=0');
      expect(s).toMatch(/OK: 16 cases, 16 passed/);
      expect(s).not.toContain(SECRET);
      expect(app.received.length).toBeGreaterThanOrEqual(16);
    } finally {
      await app.close();
    }
  });
});

describe('without a terminal', () => {
  it('never waits for input: a bare run and a type-less send are usage errors (exit 2)', async () => {
    const { runCli } = await import('../helpers/cli.js');
    const bare = await runCli([], { timeoutMs: 10_000 });
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('no command given');
    const send = await runCli(['send', '--secret', 's'], { timeoutMs: 10_000 });
    expect(send.code).toBe(2);
    expect(send.stderr).toMatch(/no event type given/);
    const noSecret = await runCli(['send', 'verified', '--to', ':1'], { timeoutMs: 10_000 });
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toMatch(/--secret.*FACESIGN_WEBHOOK_SECRET/);
  });
});
