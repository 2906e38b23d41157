import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  deepMerge,
  findDeepNesting,
  lineColumn,
  MAX_JSON_DEPTH,
  parseJsonOrThrow,
  parsePath,
  parseSetValue,
  setPath,
  unsetPath,
  type JsonObject,
} from '../../../src/events/json.js';
import { readFixtureFile } from '../../../src/commands/shared.js';
import { expectCliError } from '../../helpers/errors.js';

describe('parseJsonOrThrow', () => {
  // Positions worked out by hand from the texts, 1-based line:column of the offending character.
  it.each([
    ['{"a": x}', '1:7', "Unexpected token 'x'"],
    ['{\n  "a": 1,\n  "b": }\n', '3:8', "Unexpected token '}'"],
    ['[1,]', '1:4', "Unexpected token ']'"],
    [
      '{\n  "type": "session.failed",\n  "data": { "status": verified, "livemode": false, "more": 1 }\n}\n',
      '3:23',
      "Unexpected token 'v'",
    ],
    ["{'a': 1}", '1:2', "Expected property name or '}'"],
    ['{"a": 1,\n}', '2:1', 'Expected double-quoted property name'],
    ['{"a": 1}}', '1:9', 'Unexpected non-whitespace character after JSON'],
    ['{\n "a": "x\ny"}', '2:9', 'Bad control character in string literal'],
    ['{"a": 1', '1:8', "Expected ',' or '}' after property value"],
    ['', '1:1', 'Unexpected end of JSON input'],
  ])('%j → file:%s', (text, position, what) => {
    const err = expectCliError(() => parseJsonOrThrow(text, 'event.json'));
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe(`event.json:${position}: invalid JSON (${what})`);
    expect(err.hint).toMatch(/^fix the JSON/);
  });

  it('returns the parsed value for valid JSON', () => {
    expect(parseJsonOrThrow('{"a": [1, {"b": null}]}', 'x')).toEqual({ a: [1, { b: null }] });
  });

  it('lineColumn counts from 1', () => {
    expect(lineColumn('ab\ncd', 0)).toEqual({ line: 1, column: 1 });
    expect(lineColumn('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
  });
});

describe('readFixtureFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fsw-json-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the file, line and column of broken JSON (exit 2)', () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{\n  "data": {\n    "status": verified\n  }\n}\n');
    const err = expectCliError(() => readFixtureFile(file));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(`${file}:3:15: invalid JSON`);
  });

  it('refuses a missing file and a JSON value that is not an object (exit 2)', () => {
    expect(expectCliError(() => readFixtureFile(join(dir, 'nope.json'))).message).toContain('no such file');
    const array = join(dir, 'array.json');
    writeFileSync(array, '[1, 2]');
    const err = expectCliError(() => readFixtureFile(array));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('must be a JSON object');
  });
});

describe('parseSetValue', () => {
  it('is JSON when it parses, else the text itself', () => {
    expect(parseSetValue('3')).toBe(3);
    expect(parseSetValue('true')).toBe(true);
    expect(parseSetValue('null')).toBeNull();
    expect(parseSetValue('"3"')).toBe('3');
    expect(parseSetValue('{"a":1}')).toEqual({ a: 1 });
    expect(parseSetValue('pro')).toBe('pro');
    expect(parseSetValue('{not json')).toBe('{not json');
    expect(parseSetValue('')).toBe('');
  });
});

describe('parsePath', () => {
  it('splits dots and [index] brackets', () => {
    expect(parsePath('data.metadata.user_id')).toEqual(['data', 'metadata', 'user_id']);
    expect(parsePath('data.items[0].name')).toEqual(['data', 'items', '0', 'name']);
  });
  it.each(['', '   ', '.a', 'a.', 'a..b'])('refuses %j with exit 2', (path) => {
    expect(expectCliError(() => parsePath(path)).exitCode).toBe(2);
  });
});

describe('setPath / unsetPath', () => {
  it('sets at depth, creating objects and replacing null on the way', () => {
    const root: JsonObject = { a: null };
    setPath(root, 'a.b.c', 1);
    setPath(root, 'x.y', 'z');
    expect(root).toEqual({ a: { b: { c: 1 } }, x: { y: 'z' } });
  });

  it('writes array items, appends at the end, and refuses indexes beyond it', () => {
    const root: JsonObject = { list: ['a', 'b'] };
    setPath(root, 'list[0]', 'A');
    setPath(root, 'list.2', 'c');
    setPath(root, 'list[3].k', 1);
    expect(root.list).toEqual(['A', 'b', 'c', { k: 1 }]);
    const err = expectCliError(() => setPath(root, 'list[9]', 'x'));
    expect(err.message).toContain('list is an array of 4, "9" is not an index in it');
    expect(expectCliError(() => setPath(root, 'list.first', 'x')).exitCode).toBe(2);
  });

  it('[n] creates an array where the field is missing; .n names a field unless an array is there', () => {
    const root: JsonObject = { data: {} };
    setPath(root, 'data.items[0]', 'x');
    setPath(root, 'data.items[1].name', 'y');
    setPath(root, 'data.grid[0][0]', 1);
    setPath(root, 'data.meta.0', 'z');
    setPath(root, 'data.items.2', 'w');
    expect(root).toEqual({ data: { items: ['x', { name: 'y' }, 'w'], grid: [[1]], meta: { '0': 'z' } } });
    expect(JSON.stringify(root)).toBe('{"data":{"items":["x",{"name":"y"},"w"],"grid":[[1]],"meta":{"0":"z"}}}');
  });

  it('a new array starts at [0]; [n] on an object is refused with the dotted form as the fix', () => {
    const gap = expectCliError(() => setPath({ data: {} }, 'data.items[1]', 'x'));
    expect(gap.message).toContain('data.items is an array of 0, "1" is not an index in it');
    const onObject = expectCliError(() => setPath({ data: { meta: {} } }, 'data.meta[0]', 'x'));
    expect(onObject.message).toBe(
      'bad field path "data.meta[0]": data.meta is an object, not an array, so [0] cannot index it',
    );
    expect(onObject.hint).toContain('data.meta.0');
  });

  it('refuses to descend into a scalar, naming it', () => {
    const err = expectCliError(() => setPath({ a: { b: 5 } }, 'a.b.c', 1));
    expect(err.message).toBe('bad field path "a.b.c": a.b is 5, not an object');
  });

  it('unsets object fields and array items; a missing path is exit 2', () => {
    const root: JsonObject = { a: { b: 1, c: 2 }, list: [1, 2, 3] };
    unsetPath(root, 'a.b');
    unsetPath(root, 'list[1]');
    expect(root).toEqual({ a: { c: 2 }, list: [1, 3] });
    expect(expectCliError(() => unsetPath(root, 'a.zz')).message).toContain('a has no field "zz"');
    expect(expectCliError(() => unsetPath(root, 'list[5]')).exitCode).toBe(2);
    expect(expectCliError(() => unsetPath(root, 'toString')).exitCode).toBe(2);
  });

  it('treats __proto__ and constructor as plain field names', () => {
    const root: JsonObject = {};
    setPath(root, '__proto__.polluted', true);
    setPath(root, 'constructor.name', 'x');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(root)).toBe(Object.prototype);
    expect(JSON.stringify(root)).toBe('{"__proto__":{"polluted":true},"constructor":{"name":"x"}}');
  });
});

describe('deeply nested JSON', () => {
  it('finds the bracket past the limit, skipping brackets inside strings', () => {
    expect(findDeepNesting('['.repeat(100_000))).toBe(MAX_JSON_DEPTH);
    expect(findDeepNesting(`{"a":"${'['.repeat(1000)}"}`)).toBeUndefined();
    expect(findDeepNesting(`{"a":"\\"${'['.repeat(3)}`, 2)).toBeUndefined(); // an escaped quote: still in the string
    expect(findDeepNesting(`{"a":"\\\\"${'['.repeat(3)}`, 2)).toBe(10); // an escaped backslash, then the string ends
    expect(findDeepNesting('[[1],[2]]', 2)).toBeUndefined();
  });

  it('100,000 levels in a fixture are one usage error with the place, not a stack overflow', () => {
    const text = `{"data":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const err = expectCliError(() => parseJsonOrThrow(text, 'deep.json'));
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe(
      `deep.json:1:${9 + MAX_JSON_DEPTH - 1}: JSON nested more than ${MAX_JSON_DEPTH} levels deep`,
    );
  });

  it('JSON exactly at the limit still parses', () => {
    const text = `${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`;
    expect(() => parseJsonOrThrow(text, 'x')).not.toThrow();
  });
});

describe('deepMerge', () => {
  it('merges objects key by key; arrays and scalars replace', () => {
    const base = { a: { b: 1, c: [1, 2] }, d: 'x' };
    const merged = deepMerge(base, { a: { c: [9], e: true }, d: null });
    expect(merged).toEqual({ a: { b: 1, c: [9], e: true }, d: null });
    expect(base).toEqual({ a: { b: 1, c: [1, 2] }, d: 'x' });
  });

  it('copies the patch, so later edits do not reach it', () => {
    const patch: JsonObject = { a: { b: [1] } };
    const merged = deepMerge({}, patch) as JsonObject;
    setPath(merged, 'a.b[0]', 2);
    expect(patch).toEqual({ a: { b: [1] } });
  });

  it('keeps a "__proto__" key from JSON as data, not as a prototype', () => {
    const merged = deepMerge({ a: 1 }, JSON.parse('{"__proto__": {"x": 1}}')) as JsonObject;
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(JSON.stringify(merged)).toBe('{"a":1,"__proto__":{"x":1}}');
  });
});
