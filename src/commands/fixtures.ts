import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildEvent, resolveEventType } from '../events/build.js';
import { EVENT_TYPES } from '../events/types.js';
import { EXIT, usageError } from '../errors.js';
import { printFixture, printFixtureWritten } from '../report/events.js';
import { createOutput } from '../report/output.js';
import { projectSettings } from '../config/index.js';
import { buildOptionsFrom, withConfigFixture, type EventFlags } from './shared.js';

export interface FixturesOptions extends EventFlags {
  /** The project config file (else the one found upward): its per-type overrides apply, as when sending. */
  config?: string;
  type?: string;
  /** A file (one type) or a directory (`all`) to write to instead of stdout. */
  out?: string;
  json?: boolean;
}

function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export function runFixtures(options: FixturesOptions): number {
  const out = createOutput({ json: options.json });
  if (!options.type)
    throw usageError('no event type given', `e.g. facesign-webhooks fixtures session.verified (or all)`);
  const types = options.type === 'all' ? [...EVENT_TYPES] : [resolveEventType(options.type)];
  const build = buildOptionsFrom(options);
  const settings = projectSettings(options.config, {});
  const events = types.map((type) => buildEvent(type, withConfigFixture(build, settings.fixture(type))));

  if (options.out) {
    const toDir = types.length > 1 || isDirectory(options.out);
    if (toDir) mkdirSync(options.out, { recursive: true });
    for (const event of events) {
      const path = toDir ? join(options.out, `${event.type}.json`) : options.out;
      try {
        writeAtomically(path, `${JSON.stringify(event, null, 2)}\n`);
      } catch (err) {
        throw usageError(
          `cannot write "${path}": ${(err as Error).message}`,
          'check that the folder exists and is writable',
        );
      }
      printFixtureWritten(out, event.type, path);
    }
    return EXIT.ok;
  }
  for (const event of events) printFixture(out, event);
  return EXIT.ok;
}
