import type { EventType } from '../events/types.js';
import type { JsonObject } from '../events/json.js';

/*
 * The project config's shape, written once: the keys each level takes (the validator and the
 * did-you-mean hints read them) and the typed result. The JSON Schema editors use ships beside the
 * package as schema/config.schema.json; a unit test checks it and the validator agree.
 */

/** The file the search looks for in each folder, and the key it reads in a package.json. */
export const CONFIG_FILE_NAME = 'facesign-webhooks.config.json';
export const PACKAGE_KEY = 'facesign-webhooks';
/** Where an installed package's schema sits, as a starter file's `$schema` points at it. */
export const SCHEMA_REFERENCE = './node_modules/facesign-webhooks/schema/config.schema.json';

/** Keys any object of the config may hold as comments (JSON has none). */
export const COMMENT_KEYS: readonly string[] = ['//', '$comment'];

/** The keys each object level takes; `routes` and `fixtures` are maps keyed by event type. */
export const CONFIG_KEYS = {
  top: ['$schema', 'to', 'secretEnv', 'timeouts', 'retry', 'listen', 'routes', 'fixtures'],
  timeouts: ['delivery', 'forward'],
  retry: ['schedule'],
  listen: ['port', 'path'],
} as const;

/** One route: an event type or a glob (`session.*`), and where its deliveries go. */
export interface ConfigRoute {
  pattern: string;
  /** As written in the file (the `--to` shorthand). */
  target: string;
  /** The URL the shorthand expands to. */
  url: string;
}

/** A validated config: durations in ms, targets expanded, routes in file order. */
export interface ProjectConfig {
  to?: { target: string; url: string };
  secretEnv?: string;
  timeouts?: { delivery?: number; forward?: number };
  retry?: { schedule?: number[] };
  listen?: { port?: number; path?: string };
  routes?: ConfigRoute[];
  fixtures?: Partial<Record<EventType, JsonObject>>;
}

/** A config as loaded: its validated content and where it came from. */
export interface LoadedConfig {
  /** The file's absolute path. */
  path: string;
  /** How messages name it: relative to the current folder when inside it; `package.json` gets its key. */
  label: string;
  /** True when read from a package.json's "facesign-webhooks" key. */
  fromPackageJson: boolean;
  config: ProjectConfig;
}
