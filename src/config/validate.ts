import { CliError, FieldError, usageError } from '../errors.js';
import { resolveTarget } from '../delivery/target.js';
import { isPlainObject, type JsonObject } from '../events/json.js';
import { closestName, suggestEventType } from '../events/suggest.js';
import { EVENT_TYPES, isEventType, normalizeEventType, type EventType } from '../events/types.js';
import { checkPath, MAX_FORWARD_TIMEOUT_MS } from '../receiver/settings.js';
import { MAX_TIMER_MS } from '../retry/clock.js';
import { parseDuration, parseSchedule, ScheduleError } from '../retry/schedule.js';
import { globProblem, isGlob, PATTERN_CHARACTERS, typesMatching } from './routes.js';
import { COMMENT_KEYS, CONFIG_KEYS, type ConfigRoute, type ProjectConfig } from './schema.js';

/*
 * The hand-written check of a config (no runtime dependency). Every problem is a usage error of one
 * line naming the file and the key path (`routes["session.x"]`), with the fix as its hint.
 */

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TYPES = EVENT_TYPES.join(', ');

type Fail = (path: string, problem: string, fix: string) => never;

/** `listen` + `port` → `listen.port`; map entries are quoted: `routes["session.*"]`. */
function keyPath(parent: string, key: string, entry = false): string {
  if (entry || !/^[A-Za-z_$][\w$]*$/.test(key)) return `${parent}[${JSON.stringify(key)}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function secretRefused(fail: Fail, path: string): never {
  return fail(
    path,
    'is not allowed: a config file is shared and committed, a secret must not be',
    'keep the secret in an environment variable and name it here, e.g. "secretEnv": "FACESIGN_WEBHOOK_SECRET"',
  );
}

/** Refuses keys the level does not know (with the nearest known one), `secret` with its own message. */
function checkKeys(fail: Fail, object: JsonObject, parent: string, known: readonly string[]): void {
  for (const key of Object.keys(object)) {
    if (known.includes(key) || COMMENT_KEYS.includes(key)) continue;
    if (key.toLowerCase() === 'secret') secretRefused(fail, keyPath(parent, key));
    const near = closestName(key, known);
    const list = `known keys${parent ? ` in ${parent}` : ''}: ${known.join(', ')}`;
    fail(keyPath(parent, key), 'is not a known key', near ? `did you mean "${near}"? (${list})` : list);
  }
}

function objectAt(fail: Fail, value: unknown, path: string, example: string): JsonObject {
  if (!isPlainObject(value)) fail(path, `must be an object (got ${describeType(value)})`, `e.g. "${path}": ${example}`);
  return value;
}

/** A target in the `--to` shorthand, checked as `--to` is; its errors moved under the key. */
function checkTarget(fail: Fail, value: unknown, path: string): { target: string; url: string } {
  const fix = 'use e.g. "localhost:3000", ":4000", "127.0.0.1:4000/hooks" or "https://host/path"';
  if (typeof value !== 'string') fail(path, `must be a string (got ${describeType(value)})`, fix);
  try {
    return { target: value, url: resolveTarget(value, {}) };
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    return fail(path, err.message.replace(/^--to /, ''), err.hint ?? fix);
  }
}

/** A duration: whole milliseconds, or a string with a unit (`10s`, `500ms`, `2m`). */
function checkDuration(fail: Fail, value: unknown, path: string, max: number): number {
  const fix = 'give milliseconds (10000) or a duration with a unit: "10s", "500ms", "2m"';
  let ms: number;
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 1)
      fail(path, `must be a whole number of ms, at least 1 (got ${value})`, fix);
    ms = value;
  } else if (typeof value === 'string') {
    try {
      ms = Math.round(parseDuration(value));
    } catch (err) {
      if (!(err instanceof ScheduleError)) throw err;
      return fail(path, `"${value}" ${err.message.replace(/^delay "[^"]*" /, '')}`, fix);
    }
  } else return fail(path, `must be a number of ms or a duration string (got ${describeType(value)})`, fix);
  if (ms > max) fail(path, `can be at most ${max} ms (got ${ms})`, `use a shorter duration`);
  return ms;
}

function checkSchedule(fail: Fail, value: unknown, path: string): number[] {
  const fix = 'e.g. "schedule": ["5s", "30s", "2m", "10m", "1h"] (or the string "5s,30s,2m,10m,1h")';
  const list = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : undefined;
  if (list === undefined) fail(path, `must be a list of durations (got ${describeType(value)})`, fix);
  const bad = list.findIndex((entry) => typeof entry !== 'string');
  if (bad >= 0) fail(`${path}[${bad}]`, `must be a duration string (got ${describeType(list[bad])})`, fix);
  try {
    return parseSchedule((list as string[]).join(','));
  } catch (err) {
    if (!(err instanceof ScheduleError)) throw err;
    return fail(path, err.message, err.hint);
  }
}

function checkListen(fail: Fail, value: unknown): NonNullable<ProjectConfig['listen']> {
  const listen = objectAt(fail, value, 'listen', '{ "port": 3000, "path": "/webhooks/facesign" }');
  checkKeys(fail, listen, 'listen', CONFIG_KEYS.listen);
  const { port, path } = listen;
  if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535))
    fail(
      'listen.port',
      `must be a whole number from 0 to 65535 (got ${JSON.stringify(port)})`,
      'e.g. 3000; 0 picks a free port',
    );
  if (path !== undefined) checkListenPath(fail, path);
  return { port: port as number | undefined, path: path as string | undefined };
}

/** listen.path by the receiver's own rule, so a path listen would refuse is refused here, under its key. */
function checkListenPath(fail: Fail, path: unknown): void {
  const example = 'e.g. "/webhooks/facesign"';
  if (typeof path !== 'string' || !path.startsWith('/') || /[\s?#]/.test(path))
    fail('listen.path', `must be a path starting with / (got ${JSON.stringify(path)})`, example);
  try {
    checkPath(path);
  } catch (err) {
    if (!(err instanceof FieldError)) throw err;
    fail(
      'listen.path',
      `${JSON.stringify(path)} ${err.message.replace(/^path \S+ /, '')}`,
      `choose another, ${example}`,
    );
  }
}

/** The fix for a glob that matches no type: the nearest glob that does (`sessoin.*` → `session.*`). */
function noMatchFix(pattern: string): string {
  const globs = ['session.*', ...EVENT_TYPES.map((t) => `*.${t.slice('session.'.length)}`)];
  const near = closestName(pattern, globs);
  const rule = `a glob must match one of the types: ${TYPES}`;
  return near ? `did you mean "${near}"? (${rule})` : rule;
}

/** A key of `routes` or `fixtures` that is no event type: the nearest type (or the glob rules). */
function unknownTypeFix(key: string, globs: boolean): string {
  const near = suggestEventType(key);
  const forms = globs ? `; or a glob such as "session.*"` : '';
  return near ? `did you mean "${near}"? (types: ${TYPES}${forms})` : `use one of the types: ${TYPES}${forms}`;
}

function checkRoutes(fail: Fail, value: unknown): ConfigRoute[] {
  const routes = objectAt(fail, value, 'routes', '{ "session.*": "localhost:4000" }');
  const out: ConfigRoute[] = [];
  for (const [pattern, target] of Object.entries(routes)) {
    if (COMMENT_KEYS.includes(pattern)) continue;
    const path = keyPath('routes', pattern, true);
    if (isGlob(pattern) || !PATTERN_CHARACTERS.test(pattern)) {
      const problem = globProblem(pattern);
      if (problem) fail(path, `is not a valid glob: ${problem}`, 'e.g. "session.*" or "*.failed"');
      if (typesMatching(pattern).length === 0) fail(path, 'matches no event type', noMatchFix(pattern));
    } else if (!isEventType(pattern)) fail(path, 'is not an event type', unknownTypeFix(pattern, true));
    out.push({ pattern, ...checkTarget(fail, target, path) });
  }
  return out;
}

function checkFixtures(fail: Fail, value: unknown): NonNullable<ProjectConfig['fixtures']> {
  const fixtures = objectAt(fail, value, 'fixtures', '{ "session.verified": { "data": { "metadata": {} } } }');
  const out: NonNullable<ProjectConfig['fixtures']> = {};
  for (const [type, fixture] of Object.entries(fixtures)) {
    if (COMMENT_KEYS.includes(type)) continue;
    const path = keyPath('fixtures', type, true);
    if (!isEventType(type)) fail(path, 'is not an event type', unknownTypeFix(type, false));
    const body = objectAt(fail, fixture, path, '{ "data": { "metadata": { "plan": "pro" } } }');
    const named = body.type;
    if (named !== undefined && (typeof named !== 'string' || normalizeEventType(named) !== type))
      fail(
        `${path}.type`,
        `is ${JSON.stringify(named)}, but these overrides are for ${type}`,
        'remove "type": the key names it',
      );
    out[type as EventType] = body;
  }
  return out;
}

/** Checks a parsed config and returns it typed, durations in ms and targets expanded; throws usage errors. */
export function validateConfig(value: unknown, label: string): ProjectConfig {
  const fail: Fail = (path, problem, fix) => {
    throw usageError(`${label}: ${path} ${problem}`, fix);
  };
  if (!isPlainObject(value))
    throw usageError(
      `${label}: a config must be a JSON object (got ${describeType(value)})`,
      'e.g. { "to": "localhost:3000" }',
    );
  checkKeys(fail, value, '', CONFIG_KEYS.top);
  const config: ProjectConfig = {};
  if (value.$schema !== undefined && typeof value.$schema !== 'string')
    fail(
      '$schema',
      "must be a string (the schema file's path or URL)",
      'e.g. "$schema": "./node_modules/facesign-webhooks/schema/config.schema.json"',
    );
  if (value.to !== undefined) config.to = checkTarget(fail, value.to, 'to');
  if (value.secretEnv !== undefined) {
    // A pasted secret would otherwise be echoed whole, here and as "set $whsec_…" in every hint.
    if (typeof value.secretEnv === 'string' && value.secretEnv.startsWith('whsec_'))
      fail(
        'secretEnv',
        'holds a secret (whsec_…), not the name of the variable that holds it',
        'remove it from this file (rotate it if it was committed): "secretEnv": "FACESIGN_WEBHOOK_SECRET"',
      );
    if (typeof value.secretEnv !== 'string' || !ENV_NAME.test(value.secretEnv))
      fail(
        'secretEnv',
        `must be an environment variable's name (got ${JSON.stringify(value.secretEnv)})`,
        'e.g. "secretEnv": "FACESIGN_WEBHOOK_SECRET"; the secret itself stays in the environment',
      );
    config.secretEnv = value.secretEnv;
  }
  if (value.timeouts !== undefined) {
    const timeouts = objectAt(fail, value.timeouts, 'timeouts', '{ "delivery": "10s" }');
    checkKeys(fail, timeouts, 'timeouts', CONFIG_KEYS.timeouts);
    config.timeouts = {};
    if (timeouts.delivery !== undefined)
      config.timeouts.delivery = checkDuration(fail, timeouts.delivery, 'timeouts.delivery', MAX_TIMER_MS);
    if (timeouts.forward !== undefined)
      config.timeouts.forward = checkDuration(fail, timeouts.forward, 'timeouts.forward', MAX_FORWARD_TIMEOUT_MS);
  }
  if (value.retry !== undefined) {
    const retry = objectAt(fail, value.retry, 'retry', '{ "schedule": ["5s", "30s"] }');
    checkKeys(fail, retry, 'retry', CONFIG_KEYS.retry);
    config.retry =
      retry.schedule !== undefined ? { schedule: checkSchedule(fail, retry.schedule, 'retry.schedule') } : {};
  }
  if (value.listen !== undefined) config.listen = checkListen(fail, value.listen);
  if (value.routes !== undefined) config.routes = checkRoutes(fail, value.routes);
  if (value.fixtures !== undefined) config.fixtures = checkFixtures(fail, value.fixtures);
  return config;
}
