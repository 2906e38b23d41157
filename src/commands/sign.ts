import { signPayload, SIGNATURE_HEADER, EVENT_ID_HEADER } from '../signature/index.js';
import { USER_AGENT } from '../delivery/request.js';
import { resolveTarget } from '../delivery/target.js';
import { EXIT, usageError } from '../errors.js';
import { createOutput } from '../report/output.js';
import { printSignature } from '../report/sign.js';
import { resolveSecret } from '../secret.js';
import { readInput } from './shared.js';

export interface SignOptions {
  /** A file with the exact body bytes, or `-` for stdin. */
  payload?: string;
  secret?: string;
  headers?: boolean;
  curl?: boolean;
  to?: string;
  json?: boolean;
}

/** The event id in a body, when the body is an event; signing works on any bytes. */
function eventIdOf(body: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { id?: unknown };
    return typeof parsed?.id === 'string' ? parsed.id : undefined;
  } catch {
    return undefined;
  }
}

export async function runSign(options: SignOptions): Promise<number> {
  const out = createOutput({ json: options.json });
  if (options.to !== undefined && !options.curl)
    throw usageError(
      '--to is only used with --curl',
      'add --curl for a ready curl command to that target, or drop --to',
    );
  if (options.headers && options.curl)
    throw usageError(
      '--headers and --curl both choose what to print',
      'pick one: --headers for the header set, --curl for a command (which includes them)',
    );
  // Waiting silently for a body nobody is typing looks like a hang.
  if (options.payload === undefined && process.stdin.isTTY) {
    throw usageError(
      'no --payload given, and stdin is a terminal',
      'pass --payload FILE, or pipe the body in: cat event.json | facesign-webhooks sign',
    );
  }
  const body = readInput(options.payload ?? '-', 'payload');
  if (body.length === 0) {
    const name = options.payload === undefined || options.payload === '-' ? 'from stdin' : `"${options.payload}"`;
    throw usageError(
      `the payload ${name} is empty (0 bytes): there is nothing to sign`,
      'FaceSign never sends an empty body; pass the exact body bytes with --payload FILE',
    );
  }
  const secret = await resolveSecret(options.secret);
  const signature = signPayload(body, secret);
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    [SIGNATURE_HEADER]: signature,
  };
  const eventId = eventIdOf(body);
  if (eventId) headers[EVENT_ID_HEADER] = eventId;
  headers['User-Agent'] = USER_AGENT;

  const curl = options.curl
    ? {
        url: resolveTarget(options.to),
        file: options.payload && options.payload !== '-' ? options.payload : undefined,
      }
    : undefined;
  printSignature(out, { signature, body, headers, eventId }, { headers: options.headers, curl });
  return EXIT.ok;
}
