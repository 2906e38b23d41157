import { afterEach, describe, expect, it } from 'vitest';
import { resolveTarget, TARGET_ENV } from '../../../src/delivery/target.js';
import { deliver, localhostLookup } from '../../../src/delivery/deliver.js';
import { prepareRequest } from '../../../src/delivery/request.js';
import { buildEvent } from '../../../src/events/build.js';
import { CliError } from '../../../src/errors.js';
import { startServer, type TestServer } from '../../helpers/server.js';

const NO_ENV = {};

describe('resolveTarget (the --to shorthand)', () => {
  it.each([
    ['localhost', 'http://localhost:3000/webhooks/facesign'],
    ['localhost:4000', 'http://localhost:4000/webhooks/facesign'],
    [':4000', 'http://localhost:4000/webhooks/facesign'],
    ['4000', 'http://localhost:4000/webhooks/facesign'],
    ['4000/hooks', 'http://localhost:4000/hooks'],
    ['127.0.0.1:4000/hooks', 'http://127.0.0.1:4000/hooks'],
    ['127.0.0.1', 'http://127.0.0.1:3000/webhooks/facesign'],
    ['localhost/hooks/fs?x=1', 'http://localhost:3000/hooks/fs?x=1'],
    ['api.test:8080', 'http://api.test:8080/webhooks/facesign'],
    ['[::1]:4000', 'http://[::1]:4000/webhooks/facesign'],
    ['  :4000  ', 'http://localhost:4000/webhooks/facesign'],
  ])('%j → %s', (input, url) => {
    expect(resolveTarget(input, NO_ENV)).toBe(url);
  });

  it.each([
    'http://example.test/hook',
    'https://example.test:8443/a/b?c=d#e',
    'http://127.0.0.1:4000',
    'HTTP://Example.test/Case',
  ])('uses the full URL %s exactly as written', (url) => {
    expect(resolveTarget(url, NO_ENV)).toBe(url);
  });

  it(`falls back to ${TARGET_ENV}, then to localhost:3000`, () => {
    expect(resolveTarget(undefined, { [TARGET_ENV]: ':5000/env' })).toBe('http://localhost:5000/env');
    expect(resolveTarget(undefined, NO_ENV)).toBe('http://localhost:3000/webhooks/facesign');
    expect(resolveTarget(undefined, { [TARGET_ENV]: '' })).toBe('http://localhost:3000/webhooks/facesign');
    expect(resolveTarget(':6000', { [TARGET_ENV]: ':5000' })).toBe('http://localhost:6000/webhooks/facesign');
  });

  it.each([
    ['0', 'invalid port "0"'],
    ['70000', 'invalid port "70000"'],
    ['localhost:', 'invalid port ""'],
    ['localhost:http', 'invalid port "http"'],
    [':-1', 'invalid port "-1"'],
    ['', 'is empty'],
    ['ftp://example.test/x', 'only http and https'],
    ['http://', 'not a valid URL'],
    ['http://exa mple.test/', 'not a valid URL'],
    ['[::1', 'malformed IPv6'],
    ['user@host:4000', 'invalid host'],
  ])('refuses %j with exit 2', (input, fragment) => {
    let caught: unknown;
    try {
      resolveTarget(input, NO_ENV);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CliError);
    expect((caught as CliError).exitCode).toBe(2);
    expect((caught as CliError).message).toContain(fragment);
  });

  it(`names ${TARGET_ENV} when the bad value came from it`, () => {
    expect(() => resolveTarget(undefined, { [TARGET_ENV]: 'localhost:99999' })).toThrow(
      `${TARGET_ENV} "localhost:99999" has an invalid port`,
    );
  });
});

describe('localhost reaches a server on 127.0.0.1 and one on ::1', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('resolves localhost to both loopback addresses', () => {
    const seen: unknown[] = [];
    localhostLookup('localhost', { all: true }, (_err, addresses) => seen.push(addresses));
    expect(seen[0]).toEqual([
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ]);
  });

  it.each(['127.0.0.1', '::1'])('delivers to a server bound only to %s', async (host) => {
    server = await startServer((_req, _body, res) => res.end(`hello from ${host}`), host);
    const url = resolveTarget(`localhost:${server.port}/hooks`, NO_ENV);
    expect(url).toBe(`http://localhost:${server.port}/hooks`);
    const req = prepareRequest(buildEvent('session.verified'), { url, secret: 'whsec_test' });
    const res = await deliver(req, { timeoutMs: 5_000 });
    expect(res.error).toBeUndefined();
    expect(res.status).toBe(200);
    expect(res.responseBody).toBe(`hello from ${host}`);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.url).toBe('/hooks');
    expect(server.requests[0]!.headers['facesign-event-id']).toBe(req.eventId);
  });
});
