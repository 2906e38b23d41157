import { execFileSync } from 'node:child_process';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from './helpers/cli.js';
import { independentSignatureOk, startServer, verifyingHandler, type TestServer } from './helpers/server.js';

/*
 * Drives the guided mode in a real pseudo-terminal: tmux runs the built CLI, send-keys types,
 * capture-pane reads the screen. Each test uses its own tmux server socket.
 */

const SECRET = 'whsec_interactive_test_secret';
let socket = '';
let server: TestServer | undefined;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
}

function screen(): string {
  return tmux('capture-pane', '-p', '-J', '-t', 'cli');
}

/** Waits until the screen shows `text` (bounded: 10 s). */
async function waitFor(text: string | RegExp): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const s = screen();
    if (typeof text === 'string' ? s.includes(text) : text.test(s)) return s;
    if (Date.now() > deadline) throw new Error(`screen never showed ${String(text)}:\n${s}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function start(args: string[], env: Record<string, string> = {}): void {
  const vars = Object.entries({ NO_COLOR: '1', ...env }).map(([k, v]) => `${k}=${v}`);
  const cmd = ['env', '-u', 'CI', '-u', 'FACESIGN_WEBHOOK_SECRET', '-u', 'FACESIGN_WEBHOOKS_URL', ...vars, process.execPath, BIN, ...args];
  const quoted = cmd.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  tmux('new-session', '-d', '-s', 'cli', '-x', '160', '-y', '40', `${quoted}; echo "EXIT=$?"; sleep 60`);
}

beforeAll(() => {
  execFileSync('tmux', ['-V']);
});

afterEach(async () => {
  try {
    tmux('kill-server');
  } catch {
    // already gone
  }
  await server?.close();
  server = undefined;
});

describe('interactive mode in a terminal', () => {
  it('asks for target, secret, type and overrides, then delivers a correctly signed event', async () => {
    socket = `fw-test-${process.pid}-1`;
    server = await startServer(verifyingHandler(SECRET));
    start([]);
    await waitFor('Target');
    tmux('send-keys', '-t', 'cli', `${server.hookUrl}`, 'Enter');
    await waitFor('Webhook secret');
    tmux('send-keys', '-t', 'cli', SECRET, 'Enter');
    await waitFor('Event type');
    // Default is session.verified; one step down is session.failed.
    tmux('send-keys', '-t', 'cli', 'Down', 'Enter');
    await waitFor('Override any fields?');
    tmux('send-keys', '-t', 'cli', 'y', 'Enter');
    await waitFor('Override (path=value');
    tmux('send-keys', '-t', 'cli', 'data.metadata.user_id=usr_tty', 'Enter');
    await waitFor(/Override \(path=value, blank to finish\)\s*$/m);
    tmux('send-keys', '-t', 'cli', 'Enter');
    const shown = await waitFor('Send another?');
    expect(shown).toMatch(/session\.failed evt_\w+ → 200/);
    expect(shown).not.toContain(SECRET);
    tmux('send-keys', '-t', 'cli', 'n', 'Enter');
    await waitFor('EXIT=0');

    expect(server.requests).toHaveLength(1);
    const [req] = server.requests;
    expect(independentSignatureOk(req!.body, req!.headers['facesign-signature'], SECRET)).toBe(true);
    const event = JSON.parse(req!.body.toString('utf8'));
    expect(event.type).toBe('session.failed');
    expect(event.data.metadata.user_id).toBe('usr_tty');
    expect(req!.headers['facesign-event-id']).toBe(event.id);
  });

  it('rejects a bad override at the prompt and exits 130 quietly on Escape', async () => {
    socket = `fw-test-${process.pid}-2`;
    server = await startServer(verifyingHandler(SECRET));
    start(['send', '--to', server.hookUrl], { FACESIGN_WEBHOOK_SECRET: SECRET });
    await waitFor('Event type');
    tmux('send-keys', '-t', 'cli', 'Enter');
    await waitFor('Override any fields?');
    tmux('send-keys', '-t', 'cli', 'y', 'Enter');
    await waitFor('Override (path=value');
    tmux('send-keys', '-t', 'cli', 'data..x=1', 'Enter');
    await waitFor('empty segment');
    tmux('send-keys', '-t', 'cli', 'Escape');
    const s = await waitFor('EXIT=130');
    expect(s).not.toMatch(/at .*\.js:\d+/);
    expect(server.requests).toHaveLength(0);
  });
});

describe('retry-sim and check ask for what they miss', () => {
  it('retry-sim asks for type, target and speed, then plays the schedule against the built-in receiver', async () => {
    socket = `fw-test-${process.pid}-3`;
    start(['retry-sim']);
    await waitFor('Event type');
    tmux('send-keys', '-t', 'cli', 'Up', 'Enter'); // one above session.verified: session.started
    await waitFor('built-in receiver');
    tmux('send-keys', '-t', 'cli', 'Enter'); // blank: the built-in receiver
    await waitFor('Speed');
    tmux('send-keys', '-t', 'cli', 'Enter'); // 3600×
    const s = await waitFor('EXIT=0');
    expect(s).toMatch(/retry-sim session\.started evt_\w+/);
    expect(s).toMatch(/✔ 4 +\+2m35s .* 200/);
    expect(s).toMatch(/delivered on attempt 4 of 6/);
  });

  it('check asks for the endpoint and runs the suite against it', async () => {
    socket = `fw-test-${process.pid}-4`;
    const { startCorrectServer } = await import('./servers/correct.js');
    const app = await startCorrectServer({ secret: SECRET });
    try {
      start(['check', '--skip', 'burst'], { FACESIGN_WEBHOOK_SECRET: SECRET });
      await waitFor('Endpoint to check');
      tmux('send-keys', '-t', 'cli', app.url, 'Enter');
      const s = await waitFor(/EXIT=\d+/);
      expect(s).toContain('EXIT=0');
      expect(s).toMatch(/OK: 16 cases, 16 passed/);
      expect(app.received.length).toBeGreaterThanOrEqual(16);
    } finally {
      await app.close();
    }
  });
});

describe('without a terminal', () => {
  it('never waits for input: a bare run and a type-less send are usage errors (exit 2)', async () => {
    const { runCli } = await import('./helpers/cli.js');
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
