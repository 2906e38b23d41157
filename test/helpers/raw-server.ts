import { createServer, type AddressInfo, type Socket } from 'node:net';

/** A TCP server on 127.0.0.1:0 whose every byte the test writes; it records what the client sent. */
export interface RawServer {
  port: number;
  hookUrl: string;
  /** Every connection's received bytes, in order of arrival. */
  received: Buffer[];
  /** Resolves once a connection has closed (from either side). */
  closed: Promise<void>;
  close(): Promise<void>;
}

/** Called once a connection has sent a whole request (head and Content-Length body). */
export type RawHandler = (socket: Socket, request: Buffer) => void;

function requestLength(data: Buffer): number | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(data.toString('latin1', 0, end));
  const total = end + 4 + (m ? Number(m[1]) : 0);
  return data.length >= total ? total : undefined;
}

export async function startRawServer(handler: RawHandler): Promise<RawServer> {
  const sockets = new Set<Socket>();
  const received: Buffer[] = [];
  let sawClose!: () => void;
  const closed = new Promise<void>((resolve) => (sawClose = resolve));
  const server = createServer((socket) => {
    sockets.add(socket);
    const index = received.push(Buffer.alloc(0)) - 1;
    let handled = false;
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      sawClose();
    });
    socket.on('data', (chunk: Buffer) => {
      received[index] = Buffer.concat([received[index]!, chunk]);
      if (handled || requestLength(received[index]!) === undefined) return;
      handled = true;
      handler(socket, received[index]!);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    hookUrl: `http://127.0.0.1:${port}/webhooks/facesign`,
    received,
    closed,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Writes exactly `bytes` (Latin-1 for a string), then optionally ends the connection. */
export function writes(bytes: string | Buffer, options: { end?: boolean } = {}): RawHandler {
  return (socket) => {
    socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
    if (options.end) socket.end();
  };
}

/**
 * A 200 whose body never ends (chunked), written as fast as the client reads, up to `limit`
 * bytes; `state.written` counts what went out.
 */
export function endlessBody(limit: number, state: { written: number }): RawHandler {
  return (socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n');
    const data = Buffer.alloc(64 * 1024, 'z');
    const chunk = Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]);
    const pump = () => {
      while (state.written < limit && !socket.destroyed) {
        state.written += data.length;
        if (!socket.write(chunk)) return void socket.once('drain', pump);
      }
    };
    pump();
  };
}
