import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTerminal, type Terminal } from '../helpers/tmux.js';
import { independentSignatureOk, startServer, verifyingHandler, type TestServer } from '../helpers/server.js';

/*
 * Guided send with a project config, in a real pseudo-terminal (tmux, as interactive.e2e.test.ts):
 * the CLI runs in a temp project folder whose config names the secret's variable and routes
 * session.verified to one local server and every other type to another.
 */

const SECRET = 'whsec_guided_config_Zr8wQ3';
const CUSTOM_ENV = 'MY_APP_WEBHOOK_SECRET';
let term: Terminal | undefined;
let root = '';
let project = '';
let verified: TestServer;
let others: TestServer;
let typed: TestServer;

const screen = () => term!.screen();
const keys = (...k: string[]) => term!.keys(...k);
const waitFor = (text: string | RegExp) => term!.waitFor(text);

/** Runs the built CLI in the project folder in a fresh tmux session (neither provider variable set). */
function start(args: string[], env: Record<string, string>): void {
  term?.close();
  term = startTerminal(args, { env, cwd: project, unset: [CUSTOM_ENV], cols: 200, rows: 50 });
}

const typesAt = (server: TestServer) =>
  server.requests.map((r) => (JSON.parse(r.body.toString()) as { type: string }).type);

function allSigned(...servers: TestServer[]): boolean {
  return servers.every((s) =>
    s.requests.every((q) => independentSignatureOk(q.body, q.headers['facesign-signature'], SECRET)),
  );
}

beforeAll(async () => {
  execFileSync('tmux', ['-V']);
  verified = await startServer(verifyingHandler(SECRET));
  others = await startServer(verifyingHandler(SECRET));
  typed = await startServer(verifyingHandler(SECRET));
  root = mkdtempSync(join(tmpdir(), 'fsw-guided-config-'));
  project = join(root, 'app');
  mkdirSync(join(project, '.git'), { recursive: true });
  writeConfig();
});

function writeConfig(text?: string): void {
  const config = {
    secretEnv: CUSTOM_ENV,
    to: `127.0.0.1:${others.port}/default`,
    routes: {
      'session.verified': `127.0.0.1:${verified.port}/hooks/verified`,
      'session.*': `127.0.0.1:${others.port}/hooks/others`,
    },
  };
  writeFileSync(join(project, 'facesign-webhooks.config.json'), text ?? JSON.stringify(config));
}

afterEach(() => {
  writeConfig();
  term?.close();
  term = undefined;
  for (const s of [verified, others, typed]) s.requests.length = 0;
});

afterAll(async () => {
  await Promise.all([verified, others, typed].map((s) => s.close()));
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('guided send reads the project config', () => {
  it("defaults the target to the type's route, takes the secret from secretEnv, and keeps routes for later rounds and all", async () => {
    // The provider's default variable holds a wrong secret: the config's variable must win.
    start([], { [CUSTOM_ENV]: SECRET, FACESIGN_WEBHOOK_SECRET: 'whsec_wrong' });
    await waitFor('Event type');
    keys('Enter'); // session.verified
    const asked = await waitFor('Target');
    expect(asked).toContain(`http://127.0.0.1:${verified.port}/hooks/verified`);
    expect(asked).toContain('default from facesign-webhooks.config.json, routes["session.verified"]');
    keys('Enter'); // accept the route
    await waitFor('Override any fields?');
    expect(screen()).not.toContain('Webhook secret');
    keys('Enter');
    await waitFor(/session\.verified evt_\w+ [^\n]*→ 200[\s\S]*Send another\?/i);
    // The session read the config before its first question: a file broken now changes nothing.
    writeConfig('{ "routes": ');
    keys('y', 'Enter');
    await waitFor(/Send another\? yes[\s\S]*Event type/i);
    keys('Down', 'Enter'); // session.failed
    await waitFor(/Send another\? yes[\s\S]*Override any fields\?/i);
    keys('Enter');
    await waitFor(/session\.failed evt_\w+ [^\n]*→ 200[\s\S]*Send another\?/i);
    keys('y', 'Enter');
    await waitFor(/Send another\? yes[\s\S]*Send another\? yes[\s\S]*Event type/i);
    keys('Down', 'Down', 'Down', 'Down', 'Enter'); // all, after the six types
    await waitFor(/Event type all[\s\S]*Override any fields\?/i);
    keys('Enter');
    await waitFor(/session\.expired evt_\w+ [^\n]*→ 200[\s\S]*Send another\?/);
    keys('n', 'Enter');
    const end = await waitFor(/EXIT=\d+/);
    expect(end).toContain('EXIT=0');
    expect(end.match(/Target/g)).toHaveLength(1);
    expect(end).not.toContain(SECRET);

    expect(typesAt(verified)).toEqual(['session.verified', 'session.verified']);
    expect(typesAt(others)).toEqual([
      'session.failed',
      'session.created',
      'session.started',
      'session.failed',
      'session.cancelled',
      'session.expired',
    ]);
    expect(verified.requests.every((q) => q.url === '/hooks/verified')).toBe(true);
    expect(others.requests.every((q) => q.url === '/hooks/others')).toBe(true);
    expect(allSigned(verified, others)).toBe(true);
  });

  it('a typed target overrides the routes for the whole session; the secret prompt names secretEnv', async () => {
    start(['send'], { FACESIGN_WEBHOOK_SECRET: 'whsec_wrong' });
    await waitFor('Event type');
    keys('Enter');
    await waitFor('Target');
    keys(`127.0.0.1:${typed.port}/typed`, 'Enter');
    await waitFor(`Webhook secret (${CUSTOM_ENV})`);
    keys(SECRET, 'Enter');
    await waitFor('Override any fields?');
    keys('Enter');
    await waitFor(/session\.verified evt_\w+ [^\n]*→ 200[\s\S]*Send another\?/i);
    keys('y', 'Enter');
    await waitFor(/Send another\? yes[\s\S]*Event type/i);
    keys('Down', 'Enter'); // session.failed: its route is ignored, the typed target holds
    await waitFor(/Send another\? yes[\s\S]*Override any fields\?/i);
    keys('Enter');
    await waitFor(/session\.failed evt_\w+ [^\n]*→ 200[\s\S]*Send another\?/i);
    keys('n', 'Enter');
    const end = await waitFor(/EXIT=\d+/);
    expect(end).toContain('EXIT=0');
    expect(end.match(/Webhook secret/g)).toHaveLength(1);
    expect(end).not.toContain(SECRET);
    expect(typesAt(typed)).toEqual(['session.verified', 'session.failed']);
    expect(typed.requests.every((q) => q.url === '/typed')).toBe(true);
    expect(verified.requests).toHaveLength(0);
    expect(others.requests).toHaveLength(0);
    expect(allSigned(typed)).toBe(true);
  });

  it('all with routes: the target question offers blank for the routes; a bad config stops before any question', async () => {
    start(['send'], { [CUSTOM_ENV]: SECRET });
    await waitFor('Event type');
    keys('Down', 'Down', 'Down', 'Down', 'Enter');
    await waitFor('Target (blank: each type to its route in facesign-webhooks.config.json)');
    keys('Enter');
    await waitFor('Override any fields?');
    keys('Enter');
    await waitFor('Send another?');
    keys('n', 'Enter');
    expect(await waitFor(/EXIT=\d+/)).toContain('EXIT=0');
    expect(typesAt(verified)).toEqual(['session.verified']);
    expect(typesAt(others)).toHaveLength(5);
    expect(allSigned(verified, others)).toBe(true);

    const bad = join(root, 'bad.json');
    writeFileSync(bad, JSON.stringify({ routes: { 'session.verifed': ':4000' } }));
    start(['send', '--config', bad], { [CUSTOM_ENV]: SECRET });
    const s = await waitFor(/EXIT=\d+/);
    expect(s).toContain('EXIT=2');
    expect(s).toContain('routes["session.verifed"] is not an event type');
    expect(s).not.toContain('Event type');
  });
});
