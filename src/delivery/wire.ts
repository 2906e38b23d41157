import { connect as netConnect, isIP, type Socket } from 'node:net';
import type * as Tls from 'node:tls';
import { localhostLookup } from './lookup.js';
import type { WebhookRequest } from './request.js';

/*
 * Load mode's HTTP/1.1 wire (single deliveries go through undici, in deliver.ts): where a URL
 * connects, how a request is written, and how a connection is opened.
 */

/** Where requests to a URL go, read once from it. */
export interface WireTarget {
  url: string;
  https: boolean;
  /** Host to connect to (IPv6 without brackets). */
  host: string;
  port: number;
  /** The request target: path and query. */
  path: string;
  /** The Host header value. */
  hostHeader: string;
}

export function wireTarget(url: string): WireTarget {
  const u = new URL(url);
  const https = u.protocol === 'https:';
  return {
    url,
    https,
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port ? Number(u.port) : https ? 443 : 80,
    path: `${u.pathname}${u.search}` || '/',
    hostHeader: u.host,
  };
}

/** Header names the load client writes itself. */
const CLIENT_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection']);

/** The request line and headers of a request, up to (not including) Content-Length. */
export function headLines(req: WebhookRequest, target: WireTarget): string {
  let head = `POST ${target.path} HTTP/1.1\r\n`;
  const host = Object.entries(req.headers).find(([k]) => k.toLowerCase() === 'host')?.[1] ?? target.hostHeader;
  head += `Host: ${host}\r\n`;
  for (const [name, value] of Object.entries(req.headers))
    if (!CLIENT_HEADERS.has(name.toLowerCase())) head += `${name}: ${value}\r\n`;
  return head;
}

/** One request as it goes on the wire (for requests made some other way than `wireRequestFactory`). */
export function serializeRequest(req: WebhookRequest, target: WireTarget): Buffer {
  const head = `${headLines(req, target)}Content-Length: ${req.body.length}\r\n\r\n`;
  // Header values may hold bytes 0x80-0xFF (one byte per character, as HTTP has them).
  return Buffer.concat([Buffer.from(head, 'latin1'), req.body]);
}

/**
 * Opens a connection for `target`: `localhost` reaches a server on 127.0.0.1 or ::1 (each tried in
 * turn), https verifies the certificate and names the host (SNI) unless it is an address.
 * Pass `node:tls` for https targets (loaded only by callers that need it). With `onread`, a plain
 * connection hands each read to it instead of emitting 'data'; a TLS one emits 'data' as usual.
 */
export function connect(target: WireTarget, tls: typeof Tls | undefined, onread?: (chunk: Buffer) => void): Socket {
  const options = {
    host: target.host,
    port: target.port,
    lookup: localhostLookup as never,
    autoSelectFamily: true,
    autoSelectFamilyAttemptTimeout: 250,
    noDelay: true,
  };
  if (!target.https) {
    if (!onread) return netConnect(options);
    // Reads land in one reused buffer and go straight to `onread`, past the stream machinery
    // ('data' events are not emitted); the callee must copy whatever it keeps.
    const buffer = Buffer.allocUnsafe(16 * 1024);
    return netConnect({
      ...options,
      onread: { buffer, callback: (n: number, buf: Uint8Array) => (onread((buf as Buffer).subarray(0, n)), true) },
    });
  }
  if (!tls) throw new Error('an https target needs node:tls');
  return tls.connect({
    ...options,
    servername: isIP(target.host) ? undefined : target.host,
    ALPNProtocols: ['http/1.1'],
  });
}

/** An error a report names as a reset (`ECONNRESET`): the connection ended before a full response. */
export function resetError(message = 'the connection closed before a full response'): Error {
  return Object.assign(new Error(message), { code: 'ECONNRESET' });
}
