import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockAgent, ProxyAgent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkEndpoint } from '../../../src/check/run.js';
import { deliver } from '../../../src/delivery/deliver.js';
import { prepareRequest } from '../../../src/delivery/request.js';
import { buildEvent } from '../../../src/events/build.js';
import { ndjson, runCli } from '../../helpers/cli.js';
import { independentSignatureOk } from '../../helpers/server.js';
import { writeSelfSignedCert } from '../../helpers/tls.js';

/*
 * What undici brings, exposed: proxies from the environment (never for loopback), --insecure and
 * --ca against a self-signed endpoint, one-line verdicts for TLS/plain-HTTP mix-ups, and the
 * caller's own Dispatcher (a MockAgent, a ProxyAgent) in the library. Nothing leaves the machine:
 * every "remote" host name is answered by a local proxy.
 */

const SECRET = 'whsec_tls_proxy_test';
const HAS_OPENSSL = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;

interface Seen {
  method: string;
  url: string;
  host: string | undefined;
  body: Buffer;
  signature: unknown;
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function listen(server: HttpServer | HttpsServer): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function closeServer(server: HttpServer | HttpsServer, sockets: Set<Socket> = new Set()): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    });
}

function record(req: IncomingMessage, into: Seen[], then: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    into.push({
      method: req.method ?? '',
      url: req.url ?? '',
      host: req.headers.host,
      body,
      signature: req.headers['facesign-signature'],
    });
    then(body);
  });
}

/** A plain-HTTP endpoint on 127.0.0.1 that answers 200 "direct". */
async function directServer(): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createHttpServer((req, res) => record(req, seen, () => res.end('direct')));
  const port = await listen(server);
  closers.push(closeServer(server));
  return { port, seen };
}

/**
 * A forward proxy on 127.0.0.1: it answers absolute-form requests itself (200 "via proxy") and
 * tunnels CONNECT to `tunnelTo` on 127.0.0.1 (whatever host was asked for).
 */
async function proxyServer(tunnelTo?: number): Promise<{ port: number; seen: Seen[]; connects: string[] }> {
  const seen: Seen[] = [];
  const connects: string[] = [];
  const sockets = new Set<Socket>();
  const server = createHttpServer((req, res) => record(req, seen, () => res.end('via proxy')));
  server.on('connect', (req, client: Socket) => {
    connects.push(req.url ?? '');
    sockets.add(client);
    if (tunnelTo === undefined) return void client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
    const upstream = netConnect(tunnelTo, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  const port = await listen(server);
  closers.push(closeServer(server, sockets));
  return { port, seen, connects };
}

const request = (url: string) => prepareRequest(buildEvent('session.verified'), { url, secret: SECRET });
const send = (args: string[], env: Record<string, string | undefined> = {}) =>
  runCli(['send', 'verified', '--secret', SECRET, ...args], {
    env: {
      HTTP_PROXY: undefined,
      HTTPS_PROXY: undefined,
      http_proxy: undefined,
      https_proxy: undefined,
      NO_PROXY: undefined,
      no_proxy: undefined,
      ...env,
    },
    timeoutMs: 15_000,
  });

describe('proxies from the environment (built CLI)', () => {
  it('HTTP_PROXY: a non-loopback http:// target goes to the proxy in absolute form', async () => {
    const proxy = await proxyServer();
    const r = await send(['--to', 'http://webhooks.example.test/hook?x=1', '--json'], {
      HTTP_PROXY: `http://127.0.0.1:${proxy.port}`,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(ndjson(r.stdout)[0]).toMatchObject({ type: 'delivery', status: 200, ok: true, response_body: 'via proxy' });
    expect(proxy.seen).toHaveLength(1);
    expect(proxy.seen[0]).toMatchObject({
      method: 'POST',
      url: 'http://webhooks.example.test/hook?x=1',
      host: 'webhooks.example.test',
    });
    expect(independentSignatureOk(proxy.seen[0]!.body, proxy.seen[0]!.signature, SECRET)).toBe(true);
  });

  it('http_proxy (lowercase) works the same', async () => {
    const proxy = await proxyServer();
    const r = await send(['--to', 'http://api.example.test/webhooks/facesign'], {
      http_proxy: `http://127.0.0.1:${proxy.port}`,
    });
    expect(r.code).toBe(0);
    expect(proxy.seen.map((s) => `${s.method} ${s.url}`)).toEqual(['POST http://api.example.test/webhooks/facesign']);
  });

  it.each(['127.0.0.1', 'localhost'])('a loopback target (%s) with HTTP_PROXY set is not proxied', async (host) => {
    const proxy = await proxyServer();
    const direct = await directServer();
    const r = await send(['--to', `http://${host}:${direct.port}/hook`, '--json'], {
      HTTP_PROXY: `http://127.0.0.1:${proxy.port}`,
      http_proxy: `http://127.0.0.1:${proxy.port}`,
    });
    expect(r.code).toBe(0);
    expect(ndjson(r.stdout)[0]).toMatchObject({ status: 200, response_body: 'direct' });
    expect(direct.seen).toHaveLength(1);
    expect(direct.seen[0]!.url).toBe('/hook');
    expect(proxy.seen).toHaveLength(0);
  });

  it('HTTP_PROXY is not used for https:// targets (as curl): HTTPS_PROXY is', async () => {
    const proxy = await proxyServer();
    const r = await send(['--to', 'https://api.example.test/hook', '--timeout', '3000'], {
      HTTP_PROXY: `http://127.0.0.1:${proxy.port}`,
      HTTPS_PROXY: `http://127.0.0.1:${proxy.port}`,
    });
    // The proxy refuses the tunnel (no upstream): what matters is that the request asked it.
    expect(r.code).toBe(1);
    expect(proxy.connects).toEqual(['api.example.test:443']);
  });
});

describe.skipIf(!HAS_OPENSSL)(
  'a self-signed endpoint: --insecure, --ca, and mixed-up schemes (skipped: no openssl CLI)',
  () => {
    let dir = '';
    let certPath = '';
    let tlsPort = 0;
    let plainPort = 0;
    const seen: Seen[] = [];
    const servers: (HttpServer | HttpsServer)[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'fsw-selfsigned-'));
      writeSelfSignedCert(dir);
      certPath = join(dir, 'cert.pem');
      writeFileSync(join(dir, 'not-a-cert.pem'), 'hello, I am not a certificate\n');
      writeFileSync(
        join(dir, 'broken.pem'),
        '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n',
      );
      const tls = createHttpsServer(
        { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(certPath) },
        (req, res) => record(req, seen, () => res.end('secure')),
      );
      const plain = createHttpServer((req, res) => record(req, seen, () => res.end('plain')));
      servers.push(tls, plain);
      tlsPort = await listen(tls);
      plainPort = await listen(plain);
    });

    afterAll(async () => {
      for (const s of servers) await closeServer(s)();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    afterEach(() => {
      seen.splice(0);
    });

    const tlsUrl = () => `https://127.0.0.1:${tlsPort}/webhooks/facesign`;

    it('without flags: exit 1, one TLS line that hints at --ca and --insecure, nothing delivered', async () => {
      const r = await send(['--to', tlsUrl()]);
      expect(r.code).toBe(1);
      const lines = r.stdout.split('\n').filter(Boolean);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(
        `TLS error talking to 127.0.0.1:${tlsPort}: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT) — trust its CA with --ca FILE, or skip the check with --insecure`,
      );
      expect(r.stderr).toBe('');
      expect(seen).toHaveLength(0);
    });

    it('--insecure: delivered (exit 0), with one warning line on stderr', async () => {
      const r = await send(['--to', tlsUrl(), '--insecure']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^✔ session\.verified .*→ 200 "secure"/);
      const warnings = r.stderr.split('\n').filter(Boolean);
      expect(warnings).toEqual([
        "warning: --insecure: the endpoint's TLS certificate is not checked; anyone in between could read and change the deliveries",
      ]);
      expect(seen).toHaveLength(1);
      expect(independentSignatureOk(seen[0]!.body, seen[0]!.signature, SECRET)).toBe(true);
    });

    it('--ca cert.pem: delivered (exit 0), no warning, to the address and to localhost', async () => {
      for (const url of [tlsUrl(), `https://localhost:${tlsPort}/webhooks/facesign`]) {
        const r = await send(['--to', url, '--ca', certPath]);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
      }
      expect(seen).toHaveLength(2);
    });

    it.each([
      ['a missing file', 'missing.pem', /^error: cannot read --ca file ".*missing\.pem": no such file$/],
      ['a file with no certificate', 'not-a-cert.pem', /^error: --ca ".*not-a-cert\.pem" holds no PEM certificate$/],
      [
        'a certificate that does not parse',
        'broken.pem',
        /^error: --ca ".*broken\.pem" holds a certificate that does not parse: /,
      ],
    ])('--ca with %s: exit 2, one error line and a hint, nothing sent', async (_what, file, message) => {
      const r = await send(['--to', tlsUrl(), '--ca', join(dir, file)]);
      expect(r.code).toBe(2);
      const lines = r.stderr.split('\n').filter(Boolean);
      expect(lines[0]).toMatch(message);
      expect(lines.slice(1).every((l) => l.startsWith('  hint: '))).toBe(true);
      expect(r.stdout).toBe('');
      expect(seen).toHaveLength(0);
    });

    it('https:// to a plain-HTTP port: one line that says so, no OpenSSL text', async () => {
      const r = await send(['--to', `https://127.0.0.1:${plainPort}/webhooks/facesign`]);
      expect(r.code).toBe(1);
      const lines = r.stdout.split('\n').filter(Boolean);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`TLS error: 127.0.0.1:${plainPort} answered in plain HTTP — use http://`);
      expect(lines[0]).not.toMatch(/SSL routines|ssl3_get_record|error:0A/);
      expect(r.stderr).toBe('');
    });

    it('http:// to a TLS port: one line that says the port speaks TLS', async () => {
      const r = await send(['--to', `http://127.0.0.1:${tlsPort}/webhooks/facesign`, '--json']);
      expect(r.code).toBe(1);
      const [delivery] = ndjson(r.stdout);
      expect(delivery!.error).toEqual({
        kind: 'tls',
        code: 'UND_ERR_SOCKET',
        message: `127.0.0.1:${tlsPort} speaks TLS — use https://`,
      });
      expect(r.stderr).toBe('');
    });

    it('flow, retry-sim, check and replay take --insecure too', async () => {
      const flow = await runCli(['flow', 'verified', '--to', tlsUrl(), '--secret', SECRET, '--insecure'], {
        timeoutMs: 15_000,
      });
      expect(flow.code).toBe(0);
      const retry = await runCli(
        ['retry-sim', '--to', tlsUrl(), '--secret', SECRET, '--insecure', '--speed', '3600', '--json'],
        { timeoutMs: 15_000 },
      );
      expect(retry.code).toBe(0);
      expect(ndjson(retry.stdout).at(-1)).toMatchObject({ type: 'summary', outcome: 'delivered', delivered_on: 1 });
      const check = await runCli(
        ['check', '--to', tlsUrl(), '--secret', SECRET, '--only', 'valid', '--ca', certPath, '--json'],
        { timeoutMs: 20_000 },
      );
      expect(check.code).toBe(0);
      expect(ndjson(check.stdout).at(-1)).toMatchObject({ type: 'summary', passed: 6, failed: 0 });
      const capture = join(dir, 'capture.json');
      const body = Buffer.from('{"id":"evt_replayed","type":"session.verified"}');
      writeFileSync(
        capture,
        JSON.stringify({
          version: 1,
          sequence: 1,
          received_at: '2026-01-01T00:00:00.000Z',
          method: 'POST',
          path: '/webhooks/facesign',
          headers: {},
          raw_headers: [['Content-Type', 'application/json']],
          body_base64: body.toString('base64'),
          verdict: { status: 200, signature: 'unchecked', event_id: 'evt_replayed' },
        }),
      );
      const replay = await runCli(['replay', capture, '--to', tlsUrl(), '--insecure'], { timeoutMs: 15_000 });
      expect(replay.code).toBe(0);
      expect(seen.filter((s) => s.body.equals(body))).toHaveLength(1);
      for (const r of [flow, retry, replay]) expect(r.stderr).toContain('warning: --insecure');
    });

    it('check stops at the first case on TLS: an untrusted certificate hints at --ca and --insecure, http:// to a TLS port at https://', async () => {
      const untrusted = await runCli(['check', '--to', tlsUrl(), '--secret', SECRET], { timeoutMs: 20_000 });
      expect(untrusted.code).toBe(1);
      expect(untrusted.stderr.trimEnd().split('\n')).toEqual([
        `error: cannot reach ${tlsUrl()}: the TLS handshake failed (self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT))`,
        "  hint: the server's certificate is not trusted here (self-signed or a private CA)? trust its CA with --ca FILE, or skip the check with --insecure",
      ]);
      const plainToTls = `http://127.0.0.1:${tlsPort}/webhooks/facesign`;
      const wrongScheme = await runCli(['check', '--to', plainToTls, '--secret', SECRET], { timeoutMs: 20_000 });
      expect(wrongScheme.code).toBe(1);
      expect(wrongScheme.stderr.trimEnd().split('\n')).toEqual([
        `error: cannot reach ${plainToTls}: the port speaks TLS, not plain HTTP`,
        '  hint: http:// to a TLS port? use https://',
      ]);
      expect(seen).toHaveLength(0);
    });

    it('HTTPS_PROXY: an https:// target goes through a CONNECT tunnel', async () => {
      const proxy = await proxyServer(tlsPort);
      const r = await send(['--to', 'https://secure.example.test/webhooks/facesign', '--insecure', '--json'], {
        HTTPS_PROXY: `http://127.0.0.1:${proxy.port}`,
      });
      expect(r.code).toBe(0);
      expect(proxy.connects).toEqual(['secure.example.test:443']);
      expect(ndjson(r.stdout)[0]).toMatchObject({ status: 200, response_body: 'secure' });
      expect(seen).toHaveLength(1);
      expect(seen[0]!.host).toBe('secure.example.test');
    });
  },
);

describe("the library: the caller's own undici Dispatcher", () => {
  it('deliver() through a MockAgent: the exact body reaches the interceptor, its answer is the result', async () => {
    const mock = new MockAgent();
    mock.disableNetConnect();
    const req = request('http://api.example.test/hooks/facesign');
    let body: unknown;
    mock
      .get('http://api.example.test')
      .intercept({ path: '/hooks/facesign', method: 'POST', body: (b) => ((body = b), true) })
      .reply(202, 'queued');
    try {
      const res = await deliver(req, { timeoutMs: 5_000, dispatcher: mock });
      expect(res).toMatchObject({ ok: true, status: 202, responseBody: 'queued', truncated: false, responseBytes: 6 });
      expect(Buffer.from(body as Uint8Array).equals(req.body)).toBe(true);
      mock.assertNoPendingInterceptors();
    } finally {
      await mock.close();
    }
  });

  it('deliver() through a MockAgent that answers 3xx: reported, not followed', async () => {
    const mock = new MockAgent();
    mock.disableNetConnect();
    mock
      .get('http://api.example.test')
      .intercept({ path: '/hook', method: 'POST' })
      .reply(307, '', { headers: { location: 'http://elsewhere.example.test/' } });
    try {
      const res = await deliver(request('http://api.example.test/hook'), { timeoutMs: 5_000, dispatcher: mock });
      expect(res).toMatchObject({ ok: false, status: 307, location: 'http://elsewhere.example.test/' });
    } finally {
      await mock.close();
    }
  });

  it('checkEndpoint({ dispatcher }): every case goes through the MockAgent', async () => {
    const mock = new MockAgent();
    mock.disableNetConnect();
    const paths: string[] = [];
    mock
      .get('http://api.example.test')
      .intercept({ path: (p) => (paths.push(p), true), method: 'POST' })
      .reply(200, 'OK')
      .persist();
    try {
      const report = await checkEndpoint({
        url: 'http://api.example.test/hooks/facesign',
        secret: SECRET,
        cases: ['valid.session.verified', 'valid.session.failed'],
        dispatcher: mock,
        timeoutMs: 5_000,
      });
      expect(report).toMatchObject({ passed: 2, failed: 0 });
      expect(report.unreachable).toBeUndefined();
      expect(paths).toEqual(['/hooks/facesign', '/hooks/facesign']);
    } finally {
      await mock.close();
    }
  });

  it("deliver() through the caller's ProxyAgent to a local proxy: absolute form, left open for reuse", async () => {
    const proxy = await proxyServer();
    const agent = new ProxyAgent({ uri: `http://127.0.0.1:${proxy.port}`, proxyTunnel: false });
    try {
      for (let i = 0; i < 2; i++) {
        const res = await deliver(request('http://hooks.example.test/in'), { timeoutMs: 5_000, dispatcher: agent });
        expect(res).toMatchObject({ ok: true, status: 200, responseBody: 'via proxy' });
      }
      expect(proxy.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
        'POST http://hooks.example.test/in',
        'POST http://hooks.example.test/in',
      ]);
    } finally {
      await agent.close();
    }
  });
});
