import { randomBytes } from 'node:crypto';
import { usageError } from './errors.js';
import { canPrompt, promptSecret } from './prompts.js';

/** The variable the provider docs read the secret from. */
export const SECRET_ENV = 'FACESIGN_WEBHOOK_SECRET';

/** Where a secret came from, as a warning names it. */
export type SecretSource = 'flag' | 'env' | 'prompt';

const sourceName = (source: SecretSource, envName: string) =>
  source === 'flag' ? '--secret' : source === 'env' ? `$${envName}` : 'the prompt';

function describeEdge(edge: string, where: 'leading' | 'trailing'): string {
  const bare = edge.replace(/[ \t]/g, '');
  if (bare === '\n') return `a ${where} newline`;
  if (bare === '\r\n') return `a ${where} CRLF line ending`;
  if (bare === '\r') return `a ${where} carriage return`;
  if (bare !== '') return `${where} line breaks`;
  if (edge === ' ' || edge === '\t') return `a ${where} ${edge === ' ' ? 'space' : 'tab'}`;
  return `${where} whitespace`;
}

/**
 * The copy-paste accidents a secret shows — surrounding whitespace, a newline from `$(cat file)`
 * or `echo`, quotes kept from a .env file, a line break inside — in words, or undefined when it
 * looks clean. Never includes the secret itself. Pure.
 */
export function describeSecretAccident(secret: string): string | undefined {
  const found: string[] = [];
  const leading = /^\s+/.exec(secret)?.[0];
  const trailing = leading === secret ? undefined : /\s+$/.exec(secret)?.[0];
  if (leading) found.push(describeEdge(leading, 'leading'));
  if (trailing) found.push(describeEdge(trailing, 'trailing'));
  const inner = secret.trim();
  if (/[\r\n]/.test(inner)) found.push('a line break inside it');
  const first = inner[0];
  const last = inner[inner.length - 1];
  if (inner.length >= 2 && (first === '"' || first === "'") && last === first)
    found.push(`surrounding ${first === '"' ? 'double' : 'single'} quotes`);
  else if (first === '"' || first === "'") found.push('a leading quote');
  else if (last === '"' || last === "'") found.push('a trailing quote');
  return found.length > 0 ? found.join(' and ') : undefined;
}

// One warning per secret in a run, however often it is resolved (guided mode asks, then sends).
const warned = new Set<string>();

/**
 * Warns on stderr (one line, never the secret) when a secret shows a copy-paste accident. The
 * secret is still used as given: the endpoint may hold the very same bytes.
 */
export function warnSecretAccident(
  secret: string,
  source: SecretSource,
  write: (line: string) => void = (l) => process.stderr.write(l),
  envName = SECRET_ENV,
): void {
  const accident = describeSecretAccident(secret);
  if (accident === undefined || warned.has(secret)) return;
  warned.add(secret);
  const them = accident.includes(' and ') || accident.endsWith('s') ? 'them' : 'it';
  write(
    `warning: the secret from ${sourceName(source, envName)} has ${accident}; it is used as given — ` +
      `if your endpoint's secret does not, remove ${them} where the secret is set\n`,
  );
}

/** The secret in the variable `name`; an empty variable counts as unset (whitespace is kept, and warned about). */
export function secretFromEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value !== undefined && value !== '' ? value : undefined;
}

/**
 * The secret: `--secret`, else the variable `envName` (FACESIGN_WEBHOOK_SECRET unless the project
 * config names another), else a masked prompt on a terminal, else a usage error naming both. A
 * secret with surrounding whitespace or quotes gets a warning.
 */
export async function resolveSecret(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  envName = SECRET_ENV,
): Promise<string> {
  if (flag !== undefined) {
    if (flag === '') throw usageError('--secret is empty', `pass the endpoint's webhook secret, or set ${envName}`);
    warnSecretAccident(flag, 'flag', undefined, envName);
    return flag;
  }
  const fromEnv = secretFromEnv(env, envName);
  if (fromEnv !== undefined) {
    warnSecretAccident(fromEnv, 'env', undefined, envName);
    return fromEnv;
  }
  if (canPrompt()) {
    const typed = await promptSecret(envName);
    warnSecretAccident(typed, 'prompt');
    return typed;
  }
  throw usageError('no webhook secret', `pass --secret SECRET or set ${envName}`);
}

/** A secret for one run only (a receiver nobody configured): shown once, so the sender can use it. */
export function generateSecret(): string {
  return `whsec_${randomBytes(24).toString('base64url')}`;
}
