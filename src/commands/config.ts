import { writeFileSync } from 'node:fs';
import { basename, dirname, relative, resolve } from 'node:path';
import { configAbove, CONFIG_FILE_NAME, hasPackageSection, projectSettings, starterConfig } from '../config/index.js';
import { EXIT, usageError } from '../errors.js';
import { printConfig } from '../report/config.js';
import { createOutput } from '../report/output.js';
import { safeText } from '../report/text.js';
import { scheduleFlag, timeoutFlag } from './shared.js';

export interface ConfigOptions {
  /** A config file to read (or, with `init`, to write) instead of the one found upward. */
  config?: string;
  init?: boolean;
  force?: boolean;
  to?: string;
  secret?: string;
  timeout?: number;
  forwardTimeout?: number;
  schedule?: string;
  port?: number;
  path?: string;
  json?: boolean;
}

/** One line: the config above that a new file at `dir` hides from the commands run there (they never merge). */
function shadowWarning(above: string, dir: string): string {
  const where = relative(process.cwd(), dir);
  const scope = where ? `in ${safeText(where)} and below` : 'here and below';
  return (
    `warning: ${safeText(relative(process.cwd(), above))} no longer applies ${scope}: ` +
    'the search stops at the new file (configs do not merge); copy over what you still need'
  );
}

/** `config --init`: the starter file, never over an existing one unless --force. */
function writeStarter(options: ConfigOptions): number {
  const out = createOutput({ json: options.json });
  const shown = options.config ?? CONFIG_FILE_NAME;
  const path = resolve(options.config ?? CONFIG_FILE_NAME);
  if (basename(path) === 'package.json')
    throw usageError(
      `config --init writes a ${CONFIG_FILE_NAME}, not ${shown}`,
      `give --config a ${CONFIG_FILE_NAME} path, or add a "facesign-webhooks" key to package.json by hand`,
    );
  // Both files in one folder make every later run a usage error: refuse to create that.
  if (hasPackageSection(dirname(path)))
    throw usageError(
      `package.json beside ${shown} already has a "facesign-webhooks" key, and one folder cannot hold both configs`,
      'edit the key in package.json, or move its settings out and remove the key first',
    );
  // Only a file of the searched name is found, so only such a file can hide the config above.
  const above = basename(path) === CONFIG_FILE_NAME ? configAbove(path) : undefined;
  try {
    writeFileSync(path, starterConfig(), { flag: options.force ? 'w' : 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST')
      throw usageError(`${shown} already exists`, 'edit it, or add --force to replace it with the starter file');
    const why =
      code === 'ENOENT'
        ? `no folder ${dirname(shown)}`
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a folder'
            : (code ?? (err as Error).message);
    throw usageError(`cannot write ${shown}: ${why}`, 'check the path (the folder must exist) and its permissions');
  }
  out.record({ type: 'config-init', path });
  out.line(`wrote ${safeText(shown)}`);
  if (above !== undefined) out.note(out.ce.yellow(shadowWarning(above, dirname(path))));
  out.note(out.ce.dim('hint: edit it, then run `facesign-webhooks config` to see what applies'));
  return EXIT.ok;
}

export function runConfig(options: ConfigOptions): number {
  if (options.force && !options.init) throw usageError('--force only applies to --init', 'add --init, or drop --force');
  if (options.init) return writeStarter(options);
  const settings = projectSettings(options.config, {
    to: options.to,
    secret: options.secret,
    timeoutMs: timeoutFlag(options.timeout),
    forwardTimeoutMs: options.forwardTimeout,
    schedule: scheduleFlag(options.schedule),
    port: options.port,
    path: options.path,
  });
  printConfig(createOutput({ json: options.json }), settings, process.cwd());
  return EXIT.ok;
}
