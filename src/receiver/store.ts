import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { usageError } from '../errors.js';
import { captureBody, captureFileName, captureJsonPieces, type Capture } from './capture.js';

const REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is a file',
  EEXIST: 'it exists and is not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many symbolic links',
  EISDIR: 'is a directory',
  EMFILE: 'too many open files',
};

/** `ENOSPC (no space left on device)`: the code a user can search for, and what it means. */
export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === undefined) return (err as Error).message;
  return REASONS[code] ? `${code} (${REASONS[code]})` : code;
}

/**
 * Creates the capture directory (and parents) and writes a probe file in it, so a `--save` that
 * cannot work fails before listening, not once per delivery. The missing parts are made one at a
 * time: Node's recursive mkdir never returns for some paths under /proc.
 */
export function prepareSaveDir(dir: string): void {
  const fail = (reason: string) =>
    usageError(`cannot create the capture directory "${dir}": ${reason}`, 'pass a writable directory to --save');
  const target = resolve(dir);
  const missing: string[] = [];
  for (let at = target; ; at = dirname(at)) {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(at).isDirectory();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw fail(describeFsError(err));
      missing.unshift(at);
      if (dirname(at) === at) break;
      continue;
    }
    if (!isDirectory) throw fail(at === target ? 'it is a file' : `${at} is a file`);
    break;
  }
  for (const part of missing) {
    try {
      mkdirSync(part);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(part).isDirectory()) {
        throw fail(part === target ? describeFsError(err) : `cannot make ${part}: ${describeFsError(err)}`);
      }
    }
  }
  const probe = join(target, `.facesign-write-test-${process.pid}.tmp`);
  try {
    writeFileSync(probe, '');
  } catch (err) {
    throw usageError(
      `cannot write captures to "${dir}": ${describeFsError(err)}`,
      'pass a writable directory to --save',
    );
  }
  rmSync(probe, { force: true });
}

/**
 * Writes one capture atomically: a hidden temp file in the same directory, then a rename, so a
 * reader (or a Ctrl-C) never sees half a file. The JSON is written in pieces, so a body of any
 * size is saved. `body` defaults to the capture's own bytes. Returns the final path.
 */
export async function writeCaptureFile(
  dir: string,
  capture: Capture,
  body: Buffer = captureBody(capture),
): Promise<string> {
  const name = captureFileName(capture);
  const path = join(dir, name);
  const temp = join(dir, `.${name}.${process.pid}.tmp`);
  try {
    await writeFile(temp, filePieces(capture, body));
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
  return path;
}

function* filePieces(capture: Capture, body: Buffer): Generator<string> {
  yield* captureJsonPieces(capture, body, 2);
  yield '\n';
}
