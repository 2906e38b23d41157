import { usageError } from '../errors.js';

export const DEFAULT_PORT = 3000;
export const DEFAULT_PATH = '/webhooks/facesign';
export const TARGET_ENV = 'FACESIGN_WEBHOOKS_URL';

/**
 * Expands the `--to` shorthand: `localhost`, `localhost:4000`, `:4000`, `4000`,
 * `127.0.0.1:4000/hooks` become `http://HOST:PORT/PATH` (port 3000 and path /webhooks/facesign
 * where not given). A full http(s):// URL is used exactly as written.
 */
export function resolveTarget(input: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  // An empty variable counts as unset (CI systems often define them empty), as for the secret.
  const fromEnv = env[TARGET_ENV]?.trim() ? env[TARGET_ENV] : undefined;
  const raw = (input ?? fromEnv ?? 'localhost').trim();
  const source = input !== undefined ? '--to' : fromEnv !== undefined ? TARGET_ENV : 'the default';
  const fix = 'use e.g. localhost:3000, :4000, 127.0.0.1:4000/hooks or http://host:port/path';
  // Errors echo the input; a password in it is never printed.
  const shown = displayUrl(raw).replace(/^([^:/@]*):[^@/]*@/, '$1:***@');
  if (raw === '') throw usageError(`${source} is empty`, fix);

  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw usageError(`${source} "${shown}" is not a valid URL`, fix);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw usageError(`${source} "${shown}" uses ${url.protocol} — only http and https are supported`, fix);
    }
    return raw;
  }

  let rest = raw;
  let path = DEFAULT_PATH;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    path = rest.slice(slash) || DEFAULT_PATH;
    rest = rest.slice(0, slash);
  }
  let host = 'localhost';
  let port = String(DEFAULT_PORT);
  if (/^\d+$/.test(rest)) port = rest;
  else if (rest.startsWith('[')) {
    const m = /^\[([^\]]+)\](?::(\d*))?$/.exec(rest);
    if (!m) throw usageError(`${source} "${shown}" has a malformed IPv6 address`, fix);
    host = `[${m[1]}]`;
    if (m[2]) port = m[2];
  } else if (rest.startsWith(':')) port = rest.slice(1);
  else if (rest !== '') {
    const colon = rest.lastIndexOf(':');
    if (colon >= 0) {
      host = rest.slice(0, colon);
      port = rest.slice(colon + 1);
    } else host = rest;
  }
  const portNumber = Number(port);
  if (!/^\d+$/.test(port) || portNumber < 1 || portNumber > 65535) {
    throw usageError(`${source} "${shown}" has an invalid port "${port}"`, 'a port is a number from 1 to 65535');
  }
  if (host === '' || /[\s@#?]/.test(host))
    throw usageError(`${source} "${shown}" has an invalid host "${host.replace(/^([^:@]*):[^@]*@/, '$1:***@')}"`, fix);
  const url = `http://${host}:${portNumber}${path}`;
  try {
    new URL(url);
  } catch {
    throw usageError(`${source} "${shown}" does not make a valid URL`, fix);
  }
  return url;
}

const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*)@/i;

/**
 * A URL as the tool prints it: a password in it becomes `***` (`http://user:***@host/…`), in
 * every output (human lines, NDJSON, --dry-run, --curl, errors). Anything else stays as written.
 */
export function displayUrl(url: string): string {
  return url.replace(USERINFO, (whole, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return colon < 0 ? whole : `${scheme}${userinfo.slice(0, colon)}:***@`;
  });
}

/** The user name and password written in a URL (decoded, as curl does), or undefined. */
export function urlCredentials(url: string): { user: string; password: string } | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (!u.username && !u.password) return undefined;
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  return { user: decode(u.username), password: decode(u.password) };
}

/** The URL without its `user:password@` part. */
export function withoutCredentials(url: string): string {
  return url.replace(USERINFO, '$1');
}

/** `localhost` (and `*.localhost`), 127.0.0.0/8 and ::1: never sent through a proxy. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (host === '::1' || host === '0:0:0:0:0:0:0:1') return true;
  const v4 = host.replace(/^::ffff:/, '');
  // The URL parser writes ::ffff:127.0.0.1 as ::ffff:7f00:1.
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4) || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(host);
}
