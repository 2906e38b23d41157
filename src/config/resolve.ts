import { DEFAULT_TIMEOUT_MS } from '../delivery/deliver.js';
import { resolveTarget, TARGET_ENV } from '../delivery/target.js';
import type { JsonObject } from '../events/json.js';
import { normalizeEventType } from '../events/types.js';
import { DEFAULT_FORWARD_TIMEOUT_MS } from '../receiver/forward.js';
import { DEFAULT_RECEIVER_PATH, DEFAULT_RECEIVER_PORT } from '../receiver/settings.js';
import { DEFAULT_SCHEDULE } from '../retry/schedule.js';
import { SECRET_ENV, secretFromEnv } from '../secret.js';
import { routeFor } from './routes.js';
import type { ConfigRoute, LoadedConfig } from './schema.js';

/*
 * The one place that decides each setting: flag > environment > config > built-in default.
 * Flags come in already parsed (their own errors name the flag); the environment is read here.
 */

export type SettingSource =
  | { kind: 'flag'; flag: string }
  | { kind: 'env'; name: string }
  | { kind: 'config'; label: string; key: string }
  | { kind: 'default' };

export interface Setting<T> {
  value: T;
  source: SettingSource;
}

/** The flags that stand for a setting, parsed; undefined = not given. */
export interface SettingFlags {
  to?: string;
  secret?: string;
  timeoutMs?: number;
  forwardTimeoutMs?: number;
  schedule?: readonly number[];
  port?: number;
  path?: string;
}

export interface ResolveInput {
  flags?: SettingFlags;
  env?: NodeJS.ProcessEnv;
  config?: LoadedConfig;
}

export interface ProjectSettings {
  config?: LoadedConfig;
  /** The variable the secret is read from. */
  secretEnv: Setting<string>;
  /** The secret from --secret or that variable; undefined when neither gives one (a command may then ask). */
  secret?: Setting<string>;
  timeoutMs: Setting<number>;
  forwardTimeoutMs: Setting<number>;
  schedule: Setting<readonly number[]>;
  listenPort: Setting<number>;
  listenPath: Setting<string>;
  routes: readonly ConfigRoute[];
  /** Set when --to or the environment sends every type to one place, so no route applies. */
  routesOverriddenBy?: SettingSource;
  /** True when the routes decide where types go: the config has some, and nothing overrides them. */
  routed: boolean;
  /** Where `type` goes: --to, else the environment, else its route, else the config's `to`, else localhost. */
  target(type?: string): Setting<string>;
  /** The route a `type` has in the config (whatever --to says), or undefined. */
  route(type: string): Setting<string> | undefined;
  /** The config's overrides for a type, deep-merged into each built event of it. */
  fixture(type: string): JsonObject | undefined;
}

const FLAG: Record<keyof SettingFlags, string> = {
  to: '--to',
  secret: '--secret',
  timeoutMs: '--timeout',
  forwardTimeoutMs: '--forward-timeout',
  schedule: '--schedule',
  port: '--port',
  path: '--path',
};

/** A value from the environment: an empty variable counts as unset (CI systems define them empty). */
function fromEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value !== undefined && value.trim() !== '' ? value : undefined;
}

/** The first candidate that is given, else the default. */
function pick<T>(candidates: [T | undefined, SettingSource][], fallback: T): Setting<T> {
  for (const [value, source] of candidates) if (value !== undefined) return { value, source };
  return { value: fallback, source: { kind: 'default' } };
}

/** Every setting with where it came from. Pure apart from expanding targets (which may throw usage errors). */
export function resolveSettings({ flags = {}, env = process.env, config }: ResolveInput = {}): ProjectSettings {
  const c = config?.config ?? {};
  const fromFlag = (key: keyof SettingFlags): SettingSource => ({ kind: 'flag', flag: FLAG[key] });
  const fromFile = (key: string): SettingSource => ({ kind: 'config', label: config?.label ?? '', key });
  const secretEnv = pick([[c.secretEnv, fromFile('secretEnv')]], SECRET_ENV);
  const envSecret = secretFromEnv(env, secretEnv.value);
  const secret: Setting<string> | undefined =
    flags.secret !== undefined
      ? { value: flags.secret, source: fromFlag('secret') }
      : envSecret !== undefined
        ? { value: envSecret, source: { kind: 'env', name: secretEnv.value } }
        : undefined;
  const envTarget = fromEnv(env, TARGET_ENV);
  const routes = c.routes ?? [];
  const overridden: SettingSource | undefined =
    flags.to !== undefined ? fromFlag('to') : envTarget !== undefined ? { kind: 'env', name: TARGET_ENV } : undefined;
  const route = (type: string): Setting<string> | undefined => {
    const found = routeFor(routes, normalizeEventType(type) ?? type);
    return found && { value: found.url, source: fromFile(`routes[${JSON.stringify(found.pattern)}]`) };
  };
  return {
    config,
    secretEnv,
    secret,
    timeoutMs: pick(
      [
        [flags.timeoutMs, fromFlag('timeoutMs')],
        [c.timeouts?.delivery, fromFile('timeouts.delivery')],
      ],
      DEFAULT_TIMEOUT_MS,
    ),
    forwardTimeoutMs: pick(
      [
        [flags.forwardTimeoutMs, fromFlag('forwardTimeoutMs')],
        [c.timeouts?.forward, fromFile('timeouts.forward')],
      ],
      DEFAULT_FORWARD_TIMEOUT_MS,
    ),
    schedule: pick<readonly number[]>(
      [
        [flags.schedule, fromFlag('schedule')],
        [c.retry?.schedule, fromFile('retry.schedule')],
      ],
      DEFAULT_SCHEDULE,
    ),
    listenPort: pick(
      [
        [flags.port, fromFlag('port')],
        [c.listen?.port, fromFile('listen.port')],
      ],
      DEFAULT_RECEIVER_PORT,
    ),
    listenPath: pick(
      [
        [flags.path, fromFlag('path')],
        [c.listen?.path, fromFile('listen.path')],
      ],
      DEFAULT_RECEIVER_PATH,
    ),
    routes,
    routesOverriddenBy: routes.length > 0 ? overridden : undefined,
    routed: routes.length > 0 && overridden === undefined,
    target(type) {
      // Each source is expanded only when it is the one used: a bad variable cannot break --to.
      if (flags.to !== undefined) return { value: resolveTarget(flags.to, {}), source: fromFlag('to') };
      if (envTarget !== undefined)
        return { value: resolveTarget(undefined, env), source: { kind: 'env', name: TARGET_ENV } };
      const routed = type === undefined ? undefined : route(type);
      if (routed) return routed;
      if (c.to) return { value: c.to.url, source: fromFile('to') };
      return { value: resolveTarget(undefined, {}), source: { kind: 'default' } };
    },
    route,
    fixture: (type) => c.fixtures?.[normalizeEventType(type) ?? (type as never)],
  };
}
