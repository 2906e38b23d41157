import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { CliError, usageError } from '../errors.js';
import { isPlainObject, parseJsonOrThrow } from '../events/json.js';
import { CONFIG_FILE_NAME, PACKAGE_KEY, type LoadedConfig } from './schema.js';
import { validateConfig } from './validate.js';

/*
 * Finding and reading the project config. The search walks up from the current folder and stops
 * at the first folder that holds facesign-webhooks.config.json or a package.json with a
 * "facesign-webhooks" key; a package.json without the key does not stop it (a package in a
 * monorepo shares the root's config). It never leaves the git repository it starts in (a folder
 * holding .git is the last one looked at), and ends at the filesystem root.
 */

/** How messages name a file: relative to `cwd` when inside it, else absolute. */
export function fileLabel(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

function readText(path: string, label: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a folder'
          : code === 'EACCES' || code === 'EPERM'
            ? 'permission denied'
            : (err as Error).message;
    const hint =
      code === 'EISDIR'
        ? `--config takes the file, e.g. --config ${join(label, CONFIG_FILE_NAME)}; without --config it is found upward`
        : 'check the path and its permissions';
    throw usageError(`cannot read the config file ${label}: ${why}`, hint);
  }
}

/** A package.json's "facesign-webhooks" value, or undefined when it has none (cheap text check first). */
function packageSection(path: string, label: string): { value: unknown } | undefined {
  const text = readText(path, label);
  if (!text.includes(`"${PACKAGE_KEY}"`)) return undefined;
  const pkg = parseJsonOrThrow(text, label);
  return isPlainObject(pkg) && Object.hasOwn(pkg, PACKAGE_KEY) ? { value: pkg[PACKAGE_KEY] } : undefined;
}

/** Parses a config file's JSON; what people write in a .js config (comments, trailing commas) gets its own hint. */
function parseConfigJson(text: string, label: string): unknown {
  try {
    return parseJsonOrThrow(text, label);
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    throw usageError(
      err.message,
      'a config is plain JSON: no comments (write them as "//" keys), no trailing commas, keys in double quotes',
    );
  }
}

function loadFile(path: string, cwd: string): LoadedConfig {
  const label = fileLabel(path, cwd);
  if (basename(path) === 'package.json') {
    const section = packageSection(path, label);
    if (!section)
      throw usageError(
        `${label} has no "${PACKAGE_KEY}" key`,
        `add "${PACKAGE_KEY}": { … } to it, or give a ${CONFIG_FILE_NAME} file`,
      );
    return loadSection(path, `${label} ("${PACKAGE_KEY}")`, section.value);
  }
  const value = parseConfigJson(readText(path, label), label);
  return { path, label, fromPackageJson: false, config: validateConfig(value, label) };
}

function loadSection(path: string, label: string, value: unknown): LoadedConfig {
  return { path, label, fromPackageJson: true, config: validateConfig(value, label) };
}

/** The config file the search finds from `cwd` (see above), or undefined. */
export function findConfigFile(cwd: string): string | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const file = resolve(dir, CONFIG_FILE_NAME);
    const pkg = resolve(dir, 'package.json');
    const hasFile = existsSync(file);
    const section = existsSync(pkg) ? packageSection(pkg, fileLabel(pkg, cwd)) : undefined;
    if (hasFile && section)
      throw usageError(
        `two configs in ${relative(cwd, dir) || '.'}: ${CONFIG_FILE_NAME} and package.json's "${PACKAGE_KEY}" key`,
        'keep one of them',
      );
    if (hasFile) return file;
    if (section) return pkg;
    if (existsSync(resolve(dir, '.git')) || dirname(dir) === dir) return undefined;
  }
}

/**
 * What a new config file at `file` would take over from: the config the search finds from its
 * folder's parent (undefined when there is none, or the folder is a repository's top, where the
 * search stops anyway). A config above that cannot be read is no reason to refuse: undefined.
 */
export function configAbove(file: string): string | undefined {
  const dir = dirname(resolve(file));
  if (existsSync(resolve(dir, '.git')) || dirname(dir) === dir) return undefined;
  try {
    return findConfigFile(dirname(dir));
  } catch {
    return undefined;
  }
}

/** True when `dir` holds a package.json with a "facesign-webhooks" key (an unreadable one: false). */
export function hasPackageSection(dir: string): boolean {
  const pkg = resolve(dir, 'package.json');
  try {
    return existsSync(pkg) && packageSection(pkg, pkg) !== undefined;
  } catch {
    return false;
  }
}

/**
 * The project config: `--config FILE` when given (a package.json is read for its key), else the
 * one the search finds, else undefined. Unreadable, malformed or invalid: a usage error.
 */
export function loadConfig(options: { file?: string; cwd?: string } = {}): LoadedConfig | undefined {
  const cwd = options.cwd ?? process.cwd();
  if (options.file !== undefined) {
    if (options.file.trim() === '')
      throw usageError('--config is empty', `give a file, e.g. --config ${CONFIG_FILE_NAME}`);
    return loadFile(resolve(cwd, options.file), cwd);
  }
  const found = findConfigFile(cwd);
  return found === undefined ? undefined : loadFile(found, cwd);
}
