import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';

/** Stop reading a response body after this many bytes: enough to show, bounded against hostile endpoints. */
export const MAX_RESPONSE_BYTES = 64 * 1024;
/** The largest response head (status line and headers) either client accepts: a larger one is a broken endpoint. */
export const MAX_HEAD_BYTES = 64 * 1024;

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * `localhost` must reach a server bound to 127.0.0.1 or to ::1, whatever /etc/hosts says, so it
 * resolves to both and the socket tries each in turn (happy eyeballs).
 */
export function localhostLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  if (hostname.toLowerCase() !== 'localhost') {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err || options.all) return callback(err, addresses);
      const first = addresses[0];
      callback(null, first?.address ?? '', first?.family);
    });
    return;
  }
  const both: LookupAddress[] = [
    { address: '127.0.0.1', family: 4 },
    { address: '::1', family: 6 },
  ];
  const wanted =
    options.family === 6 || options.family === 'IPv6'
      ? [both[1]!]
      : options.family === 4 || options.family === 'IPv4'
        ? [both[0]!]
        : both;
  if (options.all) callback(null, wanted);
  else callback(null, wanted[0]!.address, wanted[0]!.family);
}
