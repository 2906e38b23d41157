import { describe, expect, it } from 'vitest';
import { resolveSettings, type SettingFlags } from '../../../src/config/resolve.js';
import type { LoadedConfig, ProjectConfig } from '../../../src/config/schema.js';
import { validateConfig } from '../../../src/config/validate.js';

const LABEL = 'facesign-webhooks.config.json';

function loaded(raw: unknown): LoadedConfig {
  const config: ProjectConfig = validateConfig(raw, LABEL);
  return { path: `/p/${LABEL}`, label: LABEL, fromPackageJson: false, config };
}

const FULL = loaded({
  to: ':4100',
  secretEnv: 'APP_SECRET',
  timeouts: { delivery: '3s', forward: '4s' },
  retry: { schedule: ['1s', '2s'] },
  listen: { port: 4200, path: '/from-config' },
  routes: { 'session.verified': ':4300/v', 'session.*': ':4400/s' },
  fixtures: { 'session.failed': { data: { metadata: { plan: 'x' } } } },
});

/** `null` for no config (an explicit undefined would take the default parameter). */
const settings = (flags: SettingFlags = {}, env: NodeJS.ProcessEnv = {}, config: LoadedConfig | null = FULL) =>
  resolveSettings({ flags, env, config: config ?? undefined });

describe('resolveSettings: flag > environment > config > default, for each setting', () => {
  it('the target: --to, else $FACESIGN_WEBHOOKS_URL, else the config, else localhost', () => {
    const env = { FACESIGN_WEBHOOKS_URL: ':4900' };
    expect(settings({ to: ':4800' }, env).target()).toEqual({
      value: 'http://localhost:4800/webhooks/facesign',
      source: { kind: 'flag', flag: '--to' },
    });
    expect(settings({}, env).target()).toEqual({
      value: 'http://localhost:4900/webhooks/facesign',
      source: { kind: 'env', name: 'FACESIGN_WEBHOOKS_URL' },
    });
    expect(settings().target()).toEqual({
      value: 'http://localhost:4100/webhooks/facesign',
      source: { kind: 'config', label: LABEL, key: 'to' },
    });
    expect(settings({}, {}, null).target()).toEqual({
      value: 'http://localhost:3000/webhooks/facesign',
      source: { kind: 'default' },
    });
    // An empty variable counts as unset, as before.
    expect(settings({}, { FACESIGN_WEBHOOKS_URL: '' }).target().source.kind).toBe('config');
  });

  it("a type's target: its route, unless --to or the environment sends everything elsewhere", () => {
    expect(settings().target('session.verified')).toEqual({
      value: 'http://localhost:4300/v',
      source: { kind: 'config', label: LABEL, key: 'routes["session.verified"]' },
    });
    expect(settings().target('failed').value).toBe('http://localhost:4400/s');
    expect(settings({ to: ':4800' }).target('session.verified').value).toBe('http://localhost:4800/webhooks/facesign');
    const env = settings({}, { FACESIGN_WEBHOOKS_URL: ':4900' });
    expect(env.target('session.verified').value).toBe('http://localhost:4900/webhooks/facesign');
    expect(env.routesOverriddenBy).toEqual({ kind: 'env', name: 'FACESIGN_WEBHOOKS_URL' });
    expect(settings().routesOverriddenBy).toBeUndefined();
    // `routed`: the routes decide only when the config has some and nothing overrides them.
    expect([settings().routed, env.routed, settings({ to: ':4800' }).routed]).toEqual([true, false, false]);
    expect(settings({}, {}, loaded({ to: ':4100' })).routed).toBe(false);
    // route() reports the config's route whatever --to says (retry-sim's choice between a route and its own receiver).
    expect(settings({ to: ':4800' }).route('session.verified')?.value).toBe('http://localhost:4300/v');
  });

  it('a bad variable breaks nothing when --to is given, and is a usage error naming it when used', () => {
    const env = { FACESIGN_WEBHOOKS_URL: 'ftp://x' };
    expect(settings({ to: ':4800' }, env).target().value).toBe('http://localhost:4800/webhooks/facesign');
    expect(() => settings({}, env).target()).toThrow(/FACESIGN_WEBHOOKS_URL "ftp:\/\/x" uses ftp:/);
  });

  it('the secret: --secret, else the variable the config names (not the default one then)', () => {
    const env = { APP_SECRET: 'whsec_env', FACESIGN_WEBHOOK_SECRET: 'whsec_default_var' };
    expect(settings({ secret: 'whsec_flag' }, env).secret).toEqual({
      value: 'whsec_flag',
      source: { kind: 'flag', flag: '--secret' },
    });
    expect(settings({}, env).secret).toEqual({ value: 'whsec_env', source: { kind: 'env', name: 'APP_SECRET' } });
    expect(settings({}, { FACESIGN_WEBHOOK_SECRET: 'whsec_default_var' }).secret).toBeUndefined();
    expect(settings().secretEnv).toEqual({
      value: 'APP_SECRET',
      source: { kind: 'config', label: LABEL, key: 'secretEnv' },
    });
    const bare = settings({}, { FACESIGN_WEBHOOK_SECRET: 'whsec_default_var' }, null);
    expect(bare.secretEnv).toEqual({ value: 'FACESIGN_WEBHOOK_SECRET', source: { kind: 'default' } });
    expect(bare.secret?.value).toBe('whsec_default_var');
  });

  it('the delivery timeout', () => {
    expect(settings({ timeoutMs: 10 }).timeoutMs).toEqual({ value: 10, source: { kind: 'flag', flag: '--timeout' } });
    expect(settings().timeoutMs).toEqual({
      value: 3000,
      source: { kind: 'config', label: LABEL, key: 'timeouts.delivery' },
    });
    expect(settings({}, {}, null).timeoutMs).toEqual({ value: 10000, source: { kind: 'default' } });
  });

  it('the forward timeout', () => {
    expect(settings({ forwardTimeoutMs: 20 }).forwardTimeoutMs.value).toBe(20);
    expect(settings().forwardTimeoutMs.value).toBe(4000);
    expect(settings({}, {}, null).forwardTimeoutMs).toEqual({ value: 10000, source: { kind: 'default' } });
  });

  it('the retry schedule', () => {
    expect(settings({ schedule: [5] }).schedule).toEqual({ value: [5], source: { kind: 'flag', flag: '--schedule' } });
    expect(settings().schedule.value).toEqual([1000, 2000]);
    expect(settings({}, {}, null).schedule.value).toEqual([5000, 30000, 120000, 600000, 3600000]);
  });

  it("listen's port and path", () => {
    expect(settings({ port: 0, path: '/flag' }).listenPort).toEqual({
      value: 0,
      source: { kind: 'flag', flag: '--port' },
    });
    expect(settings({ port: 0, path: '/flag' }).listenPath.value).toBe('/flag');
    expect(settings().listenPort.value).toBe(4200);
    expect(settings().listenPath.source).toEqual({ kind: 'config', label: LABEL, key: 'listen.path' });
    expect(settings({}, {}, null).listenPort).toEqual({ value: 3000, source: { kind: 'default' } });
    expect(settings({}, {}, null).listenPath.value).toBe('/webhooks/facesign');
  });

  it('fixture overrides per type (short names too)', () => {
    expect(settings().fixture('failed')).toEqual({ data: { metadata: { plan: 'x' } } });
    expect(settings().fixture('session.verified')).toBeUndefined();
  });
});
