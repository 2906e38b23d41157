import { expect } from 'vitest';
import { CliError } from '../../src/errors.js';

/** Runs `fn`, which must throw a CliError (a usage or input error), and returns it. */
export function expectCliError(fn: () => unknown): CliError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    return err as CliError;
  }
  throw new Error('expected a CliError, nothing was thrown');
}
