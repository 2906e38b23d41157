import { isIP } from 'node:net';

/** The Host values (host:port) the receiver's own endpoints answer to: its bound address and localhost. */
export function localHosts(boundHost: string, port: number): string[] {
  const bound = boundHost.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  const names = new Set([bound, 'localhost']);
  // A wildcard (or the name localhost) is reached through a loopback address.
  if (bound === '0.0.0.0' || bound === '::' || bound === 'localhost') names.add('127.0.0.1');
  if (bound === '::' || bound === 'localhost') names.add('::1');
  return [...names].map((h) => `${h.includes(':') ? `[${h}]` : h}:${port}`);
}

/**
 * True when a request's Host names this receiver: one of `hosts`, or the IP address the request
 * arrived on. A DNS-rebinding page always sends its own domain name, never an IP address, so this
 * keeps a page in the user's browser from reading the captured deliveries.
 */
export function isLocalHost(
  header: string | undefined,
  hosts: readonly string[],
  localAddress: string | undefined,
  port: number,
): boolean {
  if (header === undefined || header === '') return false;
  let host = header.trim().toLowerCase();
  if (port === 80 && !/:\d+$/.test(host)) host = `${host}:80`;
  if (hosts.includes(host)) return true;
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(host);
  const address = m?.[1] ?? m?.[2];
  if (!m || address === undefined || Number(m[3]) !== port || isIP(address) === 0 || localAddress === undefined)
    return false;
  const plain = (a: string) => a.toLowerCase().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  return plain(address) === plain(localAddress);
}

/** `127.0.0.1` → itself, `::1` → `[::1]`, and the wildcard addresses → a loopback one a client can reach. */
export function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
