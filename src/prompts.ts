import { CliError, EXIT } from './errors.js';

/** True when we may ask the user: both ends are a terminal and we are not in CI. */
export function canPrompt(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY) && !process.env.CI;
}

function isCancel(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  return name === 'ExitPromptError' || name === 'AbortPromptError' || name === 'CancelPromptError';
}

/** Runs a prompt; Ctrl-C or Escape becomes a quiet exit 130. */
export async function ask<T>(run: (prompts: typeof import('@inquirer/prompts')) => Promise<T>): Promise<T> {
  const prompts = await import('@inquirer/prompts');
  try {
    return await run(prompts);
  } catch (err) {
    if (isCancel(err)) throw new CliError('', { exitCode: EXIT.interrupted });
    throw err;
  }
}

export async function promptSecret(): Promise<string> {
  return ask((p) =>
    p.password({
      message: 'Webhook secret (FACESIGN_WEBHOOK_SECRET)',
      mask: '*',
      validate: (v) => (v.length > 0 ? true : 'the secret cannot be empty'),
    }),
  );
}
