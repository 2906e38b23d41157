import { FieldError } from '../errors.js';

/** Why the receiver could not listen, naming the option to change. */
export function listenError(err: NodeJS.ErrnoException, host: string, port: number): FieldError {
  switch (err.code) {
    case 'EADDRINUSE':
      return new FieldError(
        'port',
        `port ${port} on ${host} is already in use`,
        'stop the other server, or pick another port (0 picks a free one)',
      );
    case 'EACCES':
      return new FieldError('port', `not allowed to listen on port ${port}`, 'ports below 1024 need privileges');
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new FieldError(
        'host',
        `cannot listen on host "${host}" (${err.code})`,
        'use an address of this machine, e.g. 127.0.0.1',
      );
    default:
      return new FieldError('port', `cannot listen on ${host}:${port}: ${err.message}`);
  }
}
