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
 * Parses JSON, and on failure throws a usage error that names the source, the line and column,
 * and what is wrong there.
 */
export function parseJsonOrThrow(text: string, source: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (err) {
    const message = (err as Error).message;
    const { line, column } = lineColumn(text, findJsonErrorOffset(text, message));
    const what = message.replace(/,? (\.\.\.)?".*"(\.\.\.)? is not valid JSON$/s, '').replace(/ (in JSON )?at position \d+.*$/s, '');
    throw usageError(
      `${source}:${line}:${column}: invalid JSON (${what || 'syntax error'})`,
      'fix the JSON at that position (a JSON linter such as `node -e "JSON.parse(require(\'fs\').readFileSync(0))"` shows it too)',
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

/** Splits `data.metadata.user_id` or `data.items[0].name` into segments, or explains why not. */
export function parsePath(path: string): string[] {
  const trimmed = path.trim();
  if (trimmed === '') throw usageError('empty field path', 'name a field such as data.metadata.user_id');
  const segments: string[] = [];
  const normalized = trimmed.replace(/\[(\d+)\]/g, '.$1');
  const parts = normalized.split('.');
  let offset = 0;
  for (const part of parts) {
    if (part === '') {
      throw usageError(
        `bad field path "${path}": empty segment at character ${offset + 1}`,
        'write paths as dot-separated names, e.g. data.metadata.user_id or data.items.0',
      );
    }
    segments.push(part);
    offset += part.length + 1;
  }
  return segments;
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

/** Sets a value at a path, creating objects on the way; refuses to descend into a scalar. */
export function setPath(root: JsonObject, path: string, value: JsonValue): void {
  const segments = parsePath(path);
  let node: JsonValue = root;
  for (let i = 0; i < segments.length; i++) {
    const key = segments[i]!;
    const last = i === segments.length - 1;
    if (Array.isArray(node)) {
      const index = Number(key);
      if (!Number.isInteger(index) || index < 0 || index > node.length) {
        throw usageError(
          `bad field path "${path}": ${describeParent(segments, i)} is an array of ${node.length}, "${key}" is not an index in it`,
          `use an index from 0 to ${node.length}`,
        );
      }
      if (last) node[index] = value;
      else node = node[index] ??= {};
      continue;
    }
    if (!isPlainObject(node)) {
      throw usageError(
        `bad field path "${path}": ${describeParent(segments, i)} is ${JSON.stringify(node)}, not an object`,
        `set ${describeParent(segments, i)} itself, or --unset it first`,
      );
    }
    // Own fields only: `__proto__` or `constructor` in a path must name a field, never a prototype.
    const next: JsonValue | undefined = Object.hasOwn(node, key) ? node[key] : undefined;
    if (last) defineField(node, key, value);
    else if (next === undefined || next === null) {
      const created: JsonObject = {};
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
