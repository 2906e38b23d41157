import { usageError } from './errors.js';
import { canPrompt, promptSecret } from './prompts.js';

/** The variable the provider docs read the secret from. */
export const SECRET_ENV = 'FACESIGN_WEBHOOK_SECRET';

/**
 * The secret: `--secret`, else FACESIGN_WEBHOOK_SECRET, else a masked prompt on a terminal,
 * else a usage error naming both.
 */
export async function resolveSecret(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (flag !== undefined) {
    if (flag === '') throw usageError('--secret is empty', `pass the endpoint's webhook secret, or set ${SECRET_ENV}`);
    return flag;
  }
  const fromEnv = env[SECRET_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (canPrompt()) return promptSecret();
  throw usageError('no webhook secret', `pass --secret SECRET or set ${SECRET_ENV}`);
}
