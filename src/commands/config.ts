import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CONFIG_FILE_NAME, projectSettings, starterConfig } from '../config/index.js';
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

/** `config --init`: the starter file, never over an existing one unless --force. */
function writeStarter(options: ConfigOptions): number {
  const out = createOutput({ json: options.json });
  const shown = options.config ?? CONFIG_FILE_NAME;
  const path = resolve(options.config ?? CONFIG_FILE_NAME);
  try {
    writeFileSync(path, starterConfig(), { flag: options.force ? 'w' : 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST')
      throw usageError(`${shown} already exists`, 'edit it, or add --force to replace it with the starter file');
    throw usageError(
      `cannot write ${shown}: ${code ?? (err as Error).message}`,
      'check the folder and its permissions',
    );
  }
  out.record({ type: 'config-init', path });
  out.line(`wrote ${safeText(shown)}`);
  out.note(out.ce.dim('hint: edit it, then run `facesign-webhooks config` to see what applies'));
  return EXIT.ok;
}

export function runConfig(options: ConfigOptions): number {
  if (options.force && !options.init) throw usageError('--force only applies to --init', 'add --init, or drop --force');
  if (options.init) return writeStarter(options);
  const settings = projectSettings(options.config, {
    to: options.to,
    secret: options.secret,
    timeoutMs: options.timeout !== undefined ? timeoutFlag(options.timeout, 0) : undefined,
    forwardTimeoutMs: options.forwardTimeout,
    schedule: scheduleFlag(options.schedule),
    port: options.port,
    path: options.path,
  });
  printConfig(createOutput({ json: options.json }), settings, process.cwd());
  return EXIT.ok;
}
