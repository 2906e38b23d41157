import { CliError, EXIT } from './errors.js';

/*
 * The one module that talks to @inquirer/prompts (loaded only when a prompt is really shown).
 * Commands ask through these functions, and only after canPrompt() said a person is there.
 */

/** True when we may ask the user: both ends are a terminal and we are not in CI. */
export function canPrompt(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY) && !process.env.CI;
}

function isCancel(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  return name === 'ExitPromptError' || name === 'AbortPromptError' || name === 'CancelPromptError';
}

type Prompts = typeof import('@inquirer/prompts');
type Context = { signal: AbortSignal; output: NodeJS.WritableStream };

/**
 * Runs a prompt on stderr (stdout stays for results); Ctrl-C or Escape becomes a quiet exit 130.
 * A lone ESC byte is the Escape key; arrow keys arrive as ESC sequences in one chunk.
 */
export async function ask<T>(run: (prompts: Prompts, context: Context) => Promise<T>): Promise<T> {
  const prompts = await import('@inquirer/prompts');
  const controller = new AbortController();
  const onData = (chunk: Buffer | string) => {
    if (chunk.length === 1 && (chunk[0] === 0x1b || chunk === '\x1b')) controller.abort();
  };
  process.stdin.on('data', onData);
  try {
    return await run(prompts, { signal: controller.signal, output: process.stderr });
  } catch (err) {
    if (isCancel(err)) throw new CliError('', { exitCode: EXIT.interrupted });
    throw err;
  } finally {
    process.stdin.off('data', onData);
  }
}

/** The secret, masked; `envName` is the variable it would otherwise come from (the config's `secretEnv`). */
export async function promptSecret(envName = 'FACESIGN_WEBHOOK_SECRET'): Promise<string> {
  return ask((p, ctx) =>
    p.password(
      {
        message: `Webhook secret (${envName})`,
        mask: '*',
        validate: (v) => (v.length > 0 ? true : 'the secret cannot be empty'),
      },
      ctx,
    ),
  );
}

export interface Choice<T extends string> {
  value: T;
  name?: string;
  description?: string;
}

export async function promptSelect<T extends string>(
  message: string,
  choices: Choice<T>[],
  defaultValue?: T,
): Promise<T> {
  return ask((p, ctx) =>
    p.select<T>({ message, choices, default: defaultValue, pageSize: Math.min(12, choices.length) }, ctx),
  );
}

/** Free text with a default; `validate` returns an error message or true. */
export async function promptInput(
  message: string,
  options: { default?: string; validate?: (value: string) => true | string } = {},
): Promise<string> {
  return ask((p, ctx) => p.input({ message, default: options.default, validate: options.validate }, ctx));
}

export async function promptConfirm(message: string, defaultValue = true): Promise<boolean> {
  return ask((p, ctx) => p.confirm({ message, default: defaultValue }, ctx));
}

export async function promptNumber(message: string, defaultValue: number, min = 0): Promise<number> {
  const value = await ask((p, ctx) => p.number({ message, default: defaultValue, min, required: true }, ctx));
  return value ?? defaultValue;
}
