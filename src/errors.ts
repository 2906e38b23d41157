/** Exit codes shared by every command (see README "Exit codes"). */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * An error that knows how the process should end. Thrown where the problem is understood;
 * printed (one line, plus an optional hint) and turned into an exit code only in `cli.ts`.
 */
export class CliError extends Error {
  readonly exitCode: number;
  readonly hint?: string;

  constructor(message: string, options: { exitCode?: number; hint?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'CliError';
    this.exitCode = options.exitCode ?? EXIT.usage;
    this.hint = options.hint;
  }
}

/** A usage or input error: exit 2. */
export function usageError(message: string, hint?: string): CliError {
  return new CliError(message, { exitCode: EXIT.usage, hint });
}

/** An input error that names the field of a core function's options; the CLI shows it under the field's flag. */
export class FieldError extends CliError {
  readonly field: string;

  constructor(field: string, message: string, hint?: string) {
    super(message, { exitCode: EXIT.usage, hint });
    this.name = 'FieldError';
    this.field = field;
  }
}
