import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ndjson, runCli, type CliResult } from '../helpers/cli.js';
import { independentSignatureOk, startServer, verifyingHandler, type TestServer } from '../helpers/server.js';

/*
 * The project config end to end: the built CLI run in a temp project folder (a git repository, so
 * the upward search stops there) with a config whose routes split the types over two local servers.
 */

const SECRET = 'whsec_config_e2e_Kq7vT2mZ9p';
const CUSTOM_ENV = 'MY_APP_WEBHOOK_SECRET';
let root = '';
let verified: TestServer;
let others: TestServer;
const servers: TestServer[] = [];

function project(name: string, config: unknown, file = 'facesign-webhooks.config.json'): string {
  const dir = join(root, name);
  mkdirSync(join(dir, '.git'), { recursive: true });
  writeFileSync(join(dir, file), typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return dir;
}

async function cli(args: string[], cwd: string, env: Record<string, string | undefined> = {}): Promise<CliResult> {
  const result = await runCli(args, { cwd, env: { [CUSTOM_ENV]: SECRET, ...env } });
  expect(result.stdout + result.stderr).not.toContain(SECRET);
  return result;
}

const typesAt = (server: TestServer) =>
  server.requests.map((r) => (JSON.parse(r.body.toString()) as { type: string }).type);
const reset = () => servers.forEach((s) => (s.requests.length = 0));

let routed = '';

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'fsw-config-'));
  verified = await startServer(verifyingHandler(SECRET));
  others = await startServer(verifyingHandler(SECRET));
  servers.push(verified, others);
  routed = project('routed', {
    $schema: './node_modules/facesign-webhooks/schema/config.schema.json',
    '//': 'session.verified to one server, every other type to the other',
    secretEnv: CUSTOM_ENV,
    to: `127.0.0.1:${others.port}/default`,
    timeouts: { delivery: '5s' },
    routes: {
      'session.verified': `127.0.0.1:${verified.port}/hooks/verified`,
      'session.*': `127.0.0.1:${others.port}/hooks/others`,
    },
    fixtures: { 'session.verified': { data: { metadata: { plan: 'pro' } } } },
  });
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('routes', () => {
  it('send all delivers each type to its route, names the URL per delivery, and merges the fixture overrides', async () => {
    reset();
    const r = await cli(['send', 'all'], routed);
    expect(r.code, r.stderr).toBe(0);
    expect(typesAt(verified)).toEqual(['session.verified']);
    expect(typesAt(others).sort()).toEqual(
      ['session.cancelled', 'session.created', 'session.expired', 'session.failed', 'session.started'].sort(),
    );
    expect(verified.requests[0]!.url).toBe('/hooks/verified');
    expect(others.requests.every((q) => q.url === '/hooks/others')).toBe(true);
    // Signed with the secret from the variable the config names.
    for (const q of [...verified.requests, ...others.requests])
      expect(independentSignatureOk(q.body, q.headers['facesign-signature'], SECRET)).toBe(true);
    const body = JSON.parse(verified.requests[0]!.body.toString()) as { data: { metadata: { plan?: string } } };
    expect(body.data.metadata.plan).toBe('pro');
    expect(r.stdout).toMatch(
      new RegExp(`session\\.verified evt_\\w+ to http://127\\.0\\.0\\.1:${verified.port}/hooks/verified → 200`),
    );
  });

  it('send all --json carries the URL of each delivery', async () => {
    reset();
    const r = await cli(['send', 'all', '--json'], routed);
    expect(r.code, r.stderr).toBe(0);
    const urls = Object.fromEntries(
      ndjson(r.stdout)
        .filter((x) => x.type === 'delivery')
        .map((x) => [x.event_type, x.url]),
    );
    expect(urls['session.verified']).toBe(`http://127.0.0.1:${verified.port}/hooks/verified`);
    expect(urls['session.failed']).toBe(`http://127.0.0.1:${others.port}/hooks/others`);
  });

  it('flow sends each stage to its type route', async () => {
    reset();
    const r = await cli(['flow', 'verified', '--json'], routed);
    expect(r.code, r.stderr).toBe(0);
    expect(typesAt(others)).toEqual(['session.created', 'session.started']);
    expect(typesAt(verified)).toEqual(['session.verified']);
  });

  it('--to overrides every route for the run; so does $FACESIGN_WEBHOOKS_URL', async () => {
    reset();
    const flag = await cli(['send', 'all', '--to', `127.0.0.1:${verified.port}/flag`], routed);
    expect(flag.code, flag.stderr).toBe(0);
    expect(verified.requests.map((q) => q.url)).toEqual(Array(6).fill('/flag'));
    expect(others.requests).toHaveLength(0);
    reset();
    const env = await cli(['send', 'verified'], routed, { FACESIGN_WEBHOOKS_URL: `127.0.0.1:${others.port}/env` });
    expect(env.code, env.stderr).toBe(0);
    expect(others.requests.map((q) => q.url)).toEqual(['/env']);
  });

  it('check runs each type case against its route and the other cases against the default target', async () => {
    reset();
    const r = await cli(['check', '--only', 'valid,duplicate', '--json'], routed);
    expect(r.code, r.stderr).toBe(0);
    const cases = ndjson(r.stdout).filter((x) => x.type === 'case');
    const urlOf = (id: string) => cases.find((c) => c.id === id)!.deliveries[0].url as string;
    expect(urlOf('valid.session.verified')).toBe(`http://127.0.0.1:${verified.port}/hooks/verified`);
    expect(urlOf('valid.session.expired')).toBe(`http://127.0.0.1:${others.port}/hooks/others`);
    expect(urlOf('duplicate')).toBe(`http://127.0.0.1:${others.port}/default`);
    expect(verified.requests.map((q) => q.url)).toEqual(['/hooks/verified']);
    expect(others.requests.filter((q) => q.url === '/default')).toHaveLength(2);
  });

  it('retry-sim without --to uses the route of the event type', async () => {
    reset();
    const r = await cli(['retry-sim', 'failed', '--json'], routed);
    expect(r.code, r.stderr).toBe(0);
    expect(others.requests.map((q) => q.url)).toEqual(['/hooks/others']);
  });
});

describe('precedence: flag > environment > config > default', () => {
  it('config shows each value and where it came from', async () => {
    const r = await cli(['config', '--timeout', '250', '--json'], routed, {
      FACESIGN_WEBHOOKS_URL: ':5999',
    });
    expect(r.code, r.stderr).toBe(0);
    const [record] = ndjson(r.stdout);
    expect(record!.settings['timeouts.delivery']).toMatchObject({
      value: 250,
      source: 'flag',
      flag: '--timeout',
    });
    expect(record!.settings.to).toMatchObject({ value: 'http://localhost:5999/webhooks/facesign', source: 'env' });
    expect(record!.settings.secret).toMatchObject({ value: '************mZ9p', source: 'env', variable: CUSTOM_ENV });
    expect(record!.routes_overridden_by).toMatchObject({ source: 'env', variable: 'FACESIGN_WEBHOOKS_URL' });
    expect(record!.settings['listen.port']).toMatchObject({ value: 3000, source: 'default' });
  });

  it('without flag and environment the config applies', async () => {
    const r = await cli(['config', '--json'], routed);
    const [record] = ndjson(r.stdout);
    expect(record!.settings['timeouts.delivery']).toMatchObject({
      value: 5000,
      source: 'config',
      key: 'timeouts.delivery',
    });
    expect(record!.targets['session.verified']).toMatchObject({ key: 'routes["session.verified"]', source: 'config' });
    expect(record!.settings.secretEnv).toMatchObject({ value: CUSTOM_ENV, source: 'config' });
    // A password in the target's URL is masked in the JSON record as on screen.
    const masked = await cli(['config', '--json', '--to', 'https://u:pw_c0nfig@example.com/h'], routed);
    expect(masked.stdout).not.toContain('pw_c0nfig');
    expect(ndjson(masked.stdout)[0]!.settings.to).toMatchObject({
      value: 'https://u:***@example.com/h',
      source: 'flag',
    });
  });

  it('listen takes its path from the config, and --path beats it', async () => {
    const dir = project('listen', { listen: { port: 0, path: '/from-config' } });
    const r = await cli(['listen', '--json', '--max-wait', '0.3', '--secret', 'whsec_listen_x'], dir);
    expect(r.code, r.stderr).toBe(0);
    const ready = ndjson(r.stdout).find((x) => x.type === 'ready')!;
    expect(JSON.stringify(ready)).toContain('/from-config');
    const flag = await cli(['listen', '--json', '--max-wait', '0.3', '--secret', 'whsec_x', '--path', '/flag'], dir);
    expect(flag.code, flag.stderr).toBe(0);
    const flagReady = JSON.stringify(ndjson(flag.stdout).find((x) => x.type === 'ready'));
    expect(flagReady).toContain('/flag');
    expect(flagReady).not.toContain('/from-config');
  });
});

describe('errors: exit 2 naming the file and the key', () => {
  const cases: [string, string, RegExp][] = [
    ['secret', '{ "secret": "whsec_x" }', /facesign-webhooks\.config\.json: secret is not allowed/],
    [
      'unknown-key',
      '{ "rutes": {} }',
      /facesign-webhooks\.config\.json: rutes is not a known key[\s\S]*did you mean "routes"/,
    ],
    ['wrong-type', '{ "timeouts": { "delivery": true } }', /timeouts\.delivery must be a number of ms/],
    ['bad-url', '{ "routes": { "session.failed": "ftp://x" } }', /routes\["session\.failed"\] "ftp:\/\/x" uses ftp:/],
    ['bad-glob', '{ "routes": { "session.**": ":4000" } }', /routes\["session\.\*\*"\] is not a valid glob/],
    [
      'unknown-type',
      '{ "fixtures": { "session.verifed": {} } }',
      /fixtures\["session\.verifed"\] is not an event type[\s\S]*session\.verified/,
    ],
    [
      'malformed',
      '{\n  "to": "x",\n}',
      /facesign-webhooks\.config\.json:3:1: invalid JSON.*\n {2}hint: a config is plain JSON: no comments \(write them as "\/\/" keys\), no trailing commas/,
    ],
    [
      'comment',
      '{\n  // where the app listens\n  "to": ":4000"\n}',
      /facesign-webhooks\.config\.json:2:3: invalid JSON.*\n {2}hint: a config is plain JSON: no comments/,
    ],
  ];
  for (const [name, text, pattern] of cases)
    it(name, async () => {
      const dir = project(`err-${name}`, text);
      const r = await cli(['send', 'verified', '--dry-run'], dir);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr).toMatch(/hint: /);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });

  it('an unreadable --config file', async () => {
    const r = await cli(['config', '--config', 'nope.json'], root);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read the config file nope\.json: no such file/);
  });

  it('a folder as --config: the hint names the file to give', async () => {
    const dir = project('folder-as-config', { to: ':4100' });
    const r = await cli(['send', 'verified', '--dry-run', '--config', dir], root);
    expect(r.code).toBe(2);
    // Named relative to the working folder, like every config file in messages.
    expect(r.stderr).toMatch(/^error: cannot read the config file folder-as-config: it is a folder$/m);
    expect(r.stderr).toMatch(
      /^ {2}hint: --config takes the file, e\.g\. --config folder-as-config\/facesign-webhooks\.config\.json;/m,
    );
  });

  it('a package.json key is read, and found from a subfolder', async () => {
    const dir = project('pkg', { name: 'app', 'facesign-webhooks': { listen: { port: 4555 } } }, 'package.json');
    mkdirSync(join(dir, 'src', 'deep'), { recursive: true });
    const r = await cli(['config', '--json'], join(dir, 'src', 'deep'));
    expect(r.code, r.stderr).toBe(0);
    expect(ndjson(r.stdout)[0]!.settings['listen.port']).toMatchObject({ value: 4555, source: 'config' });
  });
});

describe('commands that use no setting do not read the config', () => {
  it('events, sign, verify and --help work beside a broken config', async () => {
    const dir = project('broken', '{ "secret": ');
    writeFileSync(join(dir, 'body.json'), '{"id":"evt_1"}');
    for (const args of [
      ['events'],
      ['--help'],
      ['sign', '--payload', 'body.json', '--secret', 'whsec_x'],
      ['verify', '--payload', 'body.json', '--signature', '0'.repeat(64), '--secret', 'whsec_x'],
    ]) {
      const r = await cli(args, dir);
      expect(r.stderr, args.join(' ')).not.toMatch(/config|invalid JSON/);
      expect([0, 1], args.join(' ')).toContain(r.code);
    }
    // The control: a command that reads it stops on it.
    const send = await cli(['send', 'verified', '--dry-run'], dir);
    expect(send.code).toBe(2);
    expect(send.stderr).toMatch(/facesign-webhooks\.config\.json:1:\d+: invalid JSON/);
  });
});

describe('config --init', () => {
  it('writes a starter file that config then reads, and refuses to overwrite it without --force', async () => {
    const dir = join(root, 'init');
    mkdirSync(join(dir, '.git'), { recursive: true });
    const init = await cli(['config', '--init'], dir);
    expect(init.code, init.stderr).toBe(0);
    const text = readFileSync(join(dir, 'facesign-webhooks.config.json'), 'utf8');
    expect(JSON.parse(text).$schema).toBe('./node_modules/facesign-webhooks/schema/config.schema.json');
    const show = await cli(['config'], dir);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/config file\s+facesign-webhooks\.config\.json/);
    const again = await cli(['config', '--init'], dir);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists[\s\S]*--force/);
    const forced = await cli(['config', '--init', '--force'], dir);
    expect(forced.code).toBe(0);
  });

  it('below an existing config: one warning line naming the config it hides, and the file is still written', async () => {
    const top = join(root, 'mono');
    const pkg = join(top, 'packages', 'web');
    mkdirSync(join(top, '.git'), { recursive: true });
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(top, 'facesign-webhooks.config.json'), JSON.stringify({ to: ':4100' }));
    const before = await cli(['config', '--json'], pkg);
    expect(JSON.parse(before.stdout).settings.to.value).toBe('http://localhost:4100/webhooks/facesign');

    const init = await cli(['config', '--init'], pkg);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toBe('wrote facesign-webhooks.config.json\n');
    const warnings = init.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    expect(warnings).toEqual([
      'warning: ../../facesign-webhooks.config.json no longer applies here and below: the search stops at the ' +
        'new file (configs do not merge); copy over what you still need',
    ]);
    expect(readFileSync(join(pkg, 'facesign-webhooks.config.json'), 'utf8')).toContain('"$schema"');
    const after = await cli(['config', '--json'], pkg);
    expect(JSON.parse(after.stdout).settings.to.value).toBe('http://localhost:3000/webhooks/facesign');

    // The top of the repository hides nothing (the search stops there); neither does a first config.
    const forced = await cli(['config', '--init', '--force'], top);
    expect(forced.code).toBe(0);
    expect(forced.stderr).not.toContain('warning');
    const other = join(root, 'first');
    mkdirSync(join(other, 'sub'), { recursive: true });
    mkdirSync(join(other, '.git'));
    const first = await cli(['config', '--init'], join(other, 'sub'));
    expect(first.code).toBe(0);
    expect(first.stderr).not.toContain('warning');
  });

  it('--init --config DIR/file names the config that file hides, from where it is run', async () => {
    const top = join(root, 'elsewhere');
    mkdirSync(join(top, '.git'), { recursive: true });
    mkdirSync(join(top, 'ci'));
    writeFileSync(join(top, 'facesign-webhooks.config.json'), JSON.stringify({ to: ':4100' }));
    const r = await cli(['config', '--init', '--config', 'ci/facesign-webhooks.config.json'], top);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^warning: facesign-webhooks\.config\.json no longer applies in ci and below: /m);
    // A file of another name is never found by the search, so it hides nothing.
    const named = await cli(['config', '--init', '--config', 'ci/staging.json'], top);
    expect(named.code, named.stderr).toBe(0);
    expect(named.stderr).not.toContain('warning');
  });

  it('refuses to write beside a package.json that has the key, or over a package.json', async () => {
    const dir = join(root, 'pkgkey');
    mkdirSync(join(dir, '.git'), { recursive: true });
    const pkgText = JSON.stringify({ name: 'app', 'facesign-webhooks': { to: ':4100' } });
    writeFileSync(join(dir, 'package.json'), pkgText);
    const beside = await cli(['config', '--init'], dir);
    expect(beside.code).toBe(2);
    expect(beside.stderr).toMatch(/^error: package\.json beside facesign-webhooks\.config\.json already has/m);
    const over = await cli(['config', '--init', '--force', '--config', 'package.json'], dir);
    expect(over.code).toBe(2);
    expect(over.stderr).toMatch(/^error: config --init writes a facesign-webhooks\.config\.json, not package\.json/m);
    expect(readFileSync(join(dir, 'package.json'), 'utf8')).toBe(pkgText);
    expect(readdirSync(dir).sort()).toEqual(['.git', 'package.json']);
  });
});
