import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findConfigFile, loadConfig } from '../../../src/config/load.js';

let root = '';

/** A folder tree under root: path → file text (a path ending in / is a folder). */
function tree(files: Record<string, string>): string {
  const base = mkdtempSync(join(root, 't-'));
  for (const [path, text] of Object.entries(files)) {
    const full = join(base, path);
    if (path.endsWith('/')) mkdirSync(full, { recursive: true });
    else {
      mkdirSync(join(full, '..'), { recursive: true });
      writeFileSync(full, text);
    }
  }
  return base;
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'fsw-config-load-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('finding the config', () => {
  it('walks up to the nearest folder with facesign-webhooks.config.json', () => {
    const base = tree({ '.git/': '', 'facesign-webhooks.config.json': '{"to": ":4000"}', 'a/b/c/': '' });
    expect(findConfigFile(join(base, 'a/b/c'))).toBe(join(base, 'facesign-webhooks.config.json'));
    const loaded = loadConfig({ cwd: join(base, 'a/b/c') });
    expect(loaded?.label).toBe(join(base, 'facesign-webhooks.config.json'));
    expect(loaded?.config.to?.url).toBe('http://localhost:4000/webhooks/facesign');
  });

  it('a package.json without the key does not stop the walk; one with it does', () => {
    const base = tree({
      '.git/': '',
      'package.json': '{"name": "root", "facesign-webhooks": {"listen": {"port": 4001}}}',
      'packages/app/package.json': '{"name": "app"}',
    });
    const loaded = loadConfig({ cwd: join(base, 'packages/app') });
    expect(loaded?.path).toBe(join(base, 'package.json'));
    expect(loaded?.fromPackageJson).toBe(true);
    expect(loaded?.config.listen?.port).toBe(4001);
  });

  it('the nearest wins: a package.json with the key below a config file', () => {
    const base = tree({
      '.git/': '',
      'facesign-webhooks.config.json': '{}',
      'app/package.json': '{"facesign-webhooks": {"to": ":4002"}}',
    });
    expect(findConfigFile(join(base, 'app'))).toBe(join(base, 'app/package.json'));
  });

  it('stops at the top of the git repository', () => {
    const base = tree({ 'facesign-webhooks.config.json': '{}', 'repo/.git/': '', 'repo/src/': '' });
    expect(findConfigFile(join(base, 'repo/src'))).toBeUndefined();
    expect(loadConfig({ cwd: join(base, 'repo/src') })).toBeUndefined();
  });

  it('two configs in one folder are refused', () => {
    const base = tree({
      '.git/': '',
      'facesign-webhooks.config.json': '{}',
      'package.json': '{"facesign-webhooks": {}}',
    });
    expect(() => findConfigFile(base)).toThrow(/two configs in \.: facesign-webhooks\.config\.json and package\.json/);
  });

  it('--config FILE: a config file or a package.json, relative to the current folder', () => {
    const base = tree({
      'ci/fw.json': '{"to": ":4003"}',
      'pkg/package.json': '{"facesign-webhooks": {"to": ":4004"}}',
    });
    expect(loadConfig({ file: 'ci/fw.json', cwd: base })?.label).toBe(join('ci', 'fw.json'));
    expect(loadConfig({ file: 'pkg/package.json', cwd: base })?.label).toBe(
      `${join('pkg', 'package.json')} ("facesign-webhooks")`,
    );
  });

  it('errors name the file: unreadable, a folder, malformed (line:column), no key', () => {
    const base = tree({ 'bad.json': '{\n  "to": ":4000"\n  "x": 1\n}', 'package.json': '{"name": "x"}', 'dir/': '' });
    expect(() => loadConfig({ file: 'missing.json', cwd: base })).toThrow(
      /cannot read the config file missing\.json: no such file/,
    );
    expect(() => loadConfig({ file: 'dir', cwd: base })).toThrow(/cannot read the config file dir: it is a folder/);
    expect(() => loadConfig({ file: 'bad.json', cwd: base })).toThrow(/^bad\.json:3:3: invalid JSON/);
    expect(() => loadConfig({ file: 'package.json', cwd: base })).toThrow(
      /package\.json has no "facesign-webhooks" key/,
    );
    expect(() => loadConfig({ file: ' ', cwd: base })).toThrow(/--config is empty/);
  });

  it('a malformed package.json that names the key is an error naming it', () => {
    const base = tree({ '.git/': '', 'package.json': '{"facesign-webhooks": {,}}' });
    expect(() => findConfigFile(base)).toThrow(/package\.json:1:24: invalid JSON/);
  });
});
