import { mkdirSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { usageError } from '../errors.js';
import { captureFileName, type Capture } from './capture.js';

/** Creates the capture directory (and parents) up front, so a bad `--save` fails before listening. */
export function prepareSaveDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw usageError(`cannot create the capture directory "${dir}": ${code ?? (err as Error).message}`, 'pass a writable directory to --save');
  }
}

/**
 * Writes one capture atomically: a hidden temp file in the same directory, then a rename, so a
 * reader (or a Ctrl-C) never sees half a file. Returns the final path.
 */
export async function writeCaptureFile(dir: string, capture: Capture): Promise<string> {
  const name = captureFileName(capture);
  const path = join(dir, name);
  const temp = join(dir, `.${name}.${process.pid}.tmp`);
  try {
    await writeFile(temp, `${JSON.stringify(capture, null, 2)}\n`);
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
  return path;
}
