import { usageError } from '../errors.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Line and column (1-based) of a character offset in a text. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, offset));
  const lines = before.split('\n');
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}

/** Where a JSON error's message puts it (V8 gives a position for some errors only). */
function reportedOffset(message: string): number | undefined {
  const match = /at position (\d+)/.exec(message);
  return match ? Number(match[1]) : undefined;
}

/** True when `prefix` could still begin a valid JSON text (it parses, or only its end is missing). */
function isViablePrefix(prefix: string): boolean {
  try {
    JSON.parse(prefix);
    return true;
  } catch (err) {
    const message = (err as Error).message;
    const offset = reportedOffset(message);
    if (offset !== undefined) return offset >= prefix.length;
    return /unexpected end/i.test(message);
  }
}

/**
 * Offset of the first character that makes `text` invalid JSON. Node 20's "Unexpected token"
 * errors carry no position, so it is found by bisecting for the shortest invalid prefix.
 */
export function findJsonErrorOffset(text: string, message: string): number {
  const reported = reportedOffset(message);
  if (reported !== undefined) return reported;
  if (/unexpected end/i.test(message)) return text.length;
  let lo = 0;
  let hi = text.length;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (isViablePrefix(text.slice(0, mid))) lo = mid;
    else hi = mid;
  }
  return hi - 1;
}

/**
 * How deep JSON may nest before it is refused: events are a few levels; deeper input would exhaust
 * the stack in recursive code.
 */
export const MAX_JSON_DEPTH = 256;

/**
 * The offset of the bracket that nests `text` deeper than `limit` levels, or undefined. A plain
 * scan (strings skipped), so it works on any depth and on text that is not valid JSON.
 */
export function findDeepNesting(text: string, limit = MAX_JSON_DEPTH): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c)
        i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x5b || ch === 0x7b) {
      if (++depth > limit) return i;
    } else if (ch === 0x5d || ch === 0x7d) depth--;
  }
  return undefined;
}

/** Throws a usage error naming `source` when `text` nests deeper than MAX_JSON_DEPTH. */
export function assertJsonDepth(text: string, source: string): void {
  const offset = findDeepNesting(text);
  if (offset === undefined) return;
  const { line, column } = lineColumn(text, offset);
  throw usageError(
    `${source}:${line}:${column}: JSON nested more than ${MAX_JSON_DEPTH} levels deep`,
    'a FaceSign event is a few levels deep; check that this is the right file',
  );
}

/**
 * Parses JSON, and on failure throws a usage error that names the source, the line and column,
 * and what is wrong there.
 */
export function parseJsonOrThrow(text: string, source: string): JsonValue {
  assertJsonDepth(text, source);
  try {
    return JSON.parse(text) as JsonValue;
  } catch (err) {
    const message = (err as Error).message;
    const { line, column } = lineColumn(text, findJsonErrorOffset(text, message));
    const what = message
      .replace(/,? (\.\.\.)?".*"(\.\.\.)? is not valid JSON$/s, '')
      .replace(/ (in JSON )?at position \d+.*$/s, '');
    throw usageError(
      `${source}:${line}:${column}: invalid JSON (${what || 'syntax error'})`,
      'fix the JSON at that position ' +
        '(a JSON linter such as `node -e "JSON.parse(require(\'fs\').readFileSync(0))"` shows it too)',
    );
  }
}

/** Sets an own property, even one named `__proto__`, without touching any prototype. */
function defineField(target: JsonObject, key: string, value: JsonValue): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Deep-merges `patch` over `base` (objects merge key by key; arrays and scalars replace). */
export function deepMerge(base: JsonValue, patch: JsonValue): JsonValue {
  if (!isPlainObject(base) || !isPlainObject(patch)) return structuredClone(patch);
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    defineField(out, key, Object.hasOwn(base, key) ? deepMerge(base[key] as JsonValue, value) : structuredClone(value));
  }
  return out;
}

/** One step of a field path: a name, or an array index written `[n]` (`bracket`). */
interface PathStep {
  key: string;
  bracket: boolean;
}

const PATH_HINT = 'write paths as dot-separated names, e.g. data.metadata.user_id, data.items[0] or data.items.0';

/** Parses `data.metadata.user_id` or `data.items[0].name` into steps, or explains why not. */
function parsePathSteps(path: string): PathStep[] {
  const trimmed = path.trim();
  if (trimmed === '') throw usageError('empty field path', 'name a field such as data.metadata.user_id');
  const steps: PathStep[] = [];
  let offset = 0;
  for (const part of trimmed.split('.')) {
    // `items[0][1]` is a name then indexes; any other use of brackets is part of a name.
    const match = /^([^[\]]*)((?:\[\d+\])+)$/.exec(part);
    const name = match ? match[1]! : part;
    if (name === '') throw usageError(`bad field path "${path}": empty segment at character ${offset + 1}`, PATH_HINT);
    steps.push({ key: name, bracket: false });
    for (const index of match?.[2]!.slice(1, -1).split('][') ?? []) steps.push({ key: index, bracket: true });
    offset += part.length + 1;
  }
  return steps;
}

/** Splits `data.metadata.user_id` or `data.items[0].name` into segments, or explains why not. */
export function parsePath(path: string): string[] {
  return parsePathSteps(path).map((step) => step.key);
}

/** Interprets a `--set` value: JSON when it parses as JSON, else the text itself. */
export function parseSetValue(raw: string): JsonValue {
  try {
    return JSON.parse(raw) as JsonValue;
  } catch {
    return raw;
  }
}

function describeParent(segments: string[], index: number): string {
  return index === 0 ? 'the event' : segments.slice(0, index).join('.');
}

/**
 * Sets a value at a path, creating what is missing on the way: an array before a `[n]` step, an
 * object before a name (`items.0` names a field "0" unless `items` already is an array).
 * Refuses to descend into a scalar.
 */
export function setPath(root: JsonObject, path: string, value: JsonValue): void {
  const steps = parsePathSteps(path);
  const segments = steps.map((step) => step.key);
  const containerFor = (i: number): JsonValue => (steps[i + 1]?.bracket ? [] : {});
  let node: JsonValue = root;
  for (let i = 0; i < steps.length; i++) {
    const { key, bracket } = steps[i]!;
    const last = i === steps.length - 1;
    if (Array.isArray(node)) {
      const index = Number(key);
      if (!/^\d+$/.test(key) || index > node.length) {
        throw usageError(
          `bad field path "${path}": ${describeParent(segments, i)} is an array of ${node.length}, ` +
            `"${key}" is not an index in it`,
          `use an index from 0 to ${node.length}`,
        );
      }
      if (last) node[index] = value;
      else node = node[index] ??= containerFor(i);
      continue;
    }
    if (!isPlainObject(node)) {
      throw usageError(
        `bad field path "${path}": ${describeParent(segments, i)} is ${JSON.stringify(node)}, not an object`,
        `set ${describeParent(segments, i)} itself, or --unset it first`,
      );
    }
    if (bracket) {
      throw usageError(
        `bad field path "${path}": ${describeParent(segments, i)} is an object, not an array, ` +
          `so [${key}] cannot index it`,
        `write ${describeParent(segments, i)}.${key} for a field named "${key}"`,
      );
    }
    // Own fields only: `__proto__` or `constructor` in a path must name a field, never a prototype.
    const next: JsonValue | undefined = Object.hasOwn(node, key) ? node[key] : undefined;
    if (last) defineField(node, key, value);
    else if (next === undefined || next === null) {
      const created = containerFor(i);
      defineField(node, key, created);
      node = created;
    } else node = next;
  }
}

/** Removes the field at a path; a path that does not exist is an error (most likely a typo). */
export function unsetPath(root: JsonObject, path: string): void {
  const segments = parsePath(path);
  let node: JsonValue = root;
  for (let i = 0; i < segments.length; i++) {
    const key = segments[i]!;
    const last = i === segments.length - 1;
    const container: JsonValue = node;
    const present = Array.isArray(container)
      ? Number.isInteger(Number(key)) && Number(key) >= 0 && Number(key) < container.length
      : isPlainObject(container) && Object.hasOwn(container, key);
    if (!present) {
      throw usageError(
        `bad field path "${path}": ${describeParent(segments, i)} has no field "${key}"`,
        'check the spelling against `facesign-webhooks fixtures <type>`',
      );
    }
    if (last) {
      if (Array.isArray(container)) container.splice(Number(key), 1);
      else delete (container as JsonObject)[key];
      return;
    }
    node = Array.isArray(container) ? container[Number(key)]! : (container as JsonObject)[key]!;
  }
}
