import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { killListeners, startListen } from '../helpers/listen-process.js';
import { writeSelfSignedCert } from '../helpers/tls.js';

/*
 * `listen --forward-to` to an https app with a self-signed certificate (--insecure, --ca) and to an
 * app URL with `user:password@` in it (Basic auth, the password never printed or stored).
 */

interface AppRequest {
  url: string;
  rawHeaders: string[];
  body: string;
}

const servers: (Server | HttpsServer)[] = [];
let dir = '';

afterEach(async () => {
  killListeners();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fsw-fwd-tls-'));
  writeSelfSignedCert(dir);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An app that records each request and answers 200 "app ok". */
async function startApp(tls: boolean): Promise<{ port: number; requests: AppRequest[] }> {
  const requests: AppRequest[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      requests.push({ url: req.url!, rawHeaders: req.rawHeaders, body });
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('app ok');
    });
  };
  const server = tls
    ? createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, handler)
    : createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, requests };
}

async function post(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    body: JSON.stringify({ id: `evt_tls_${Math.random().toString(36).slice(2)}`, type: 'session.verified' }),
    headers: { 'content-type': 'application/json', ...headers },
    signal: AbortSignal.timeout(15_000),
  });
  return { status: res.status, text: await res.text() };
}

function authorization(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === 'authorization') out.push(raw[i + 1]!);
  return out;
}

describe('listen --forward-to https:// with a self-signed certificate', () => {
  it('answers 502 naming the TLS failure when the certificate is not trusted', async () => {
    const app = await startApp(true);
    const l = await startListen(['--forward-to', `https://127.0.0.1:${app.port}/hook`]);
    const got = await post(l.url);
    expect(got.status).toBe(502);
    expect(got.text).toMatch(/TLS error/);
    expect(got.text).toMatch(/--ca FILE.*--insecure/);
    const [rec] = await l.deliveries(1);
    expect(rec!.forward.error.kind).toBe('tls');
    expect(app.requests).toHaveLength(0);
  });

  it('--insecure accepts it, with one warning line at start', async () => {
    const app = await startApp(true);
    const l = await startListen(['--forward-to', `https://127.0.0.1:${app.port}/hook`, '--insecure']);
    const got = await post(l.url);
    expect(got).toEqual({ status: 200, text: 'app ok' });
    expect(app.requests).toHaveLength(1);
    const warnings = l
      .stderr()
      .split('\n')
      .filter((line) => line.includes('--insecure'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^warning: --insecure: .*not checked/);
  });

  it('--ca FILE trusts the PEM certificate', async () => {
    const app = await startApp(true);
    const l = await startListen(['--forward-to', `https://127.0.0.1:${app.port}/hook`, '--ca', join(dir, 'cert.pem')]);
    const got = await post(l.url);
    expect(got).toEqual({ status: 200, text: 'app ok' });
    expect(app.requests).toHaveLength(1);
    expect(l.stderr()).not.toMatch(/warning/);
  });

  it('a missing or non-PEM --ca file is a usage error (exit 2) before anything listens', async () => {
    for (const file of [join(dir, 'missing.pem'), join(dir, 'key.pem')]) {
      const r = await runCli(['listen', '--port', '0', '--forward-to', ':4000', '--ca', file]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^error: .*(--ca|missing\.pem)/);
      expect(r.stdout).not.toMatch(/Listening/);
    }
  });

  it('--insecure or --ca without --forward-to is a usage error naming both flags', async () => {
    for (const flags of [['--insecure'], ['--ca', join(dir, 'cert.pem')]]) {
      const r = await runCli(['listen', '--port', '0', ...flags]);
      expect(r.code).toBe(2);
      expect(r.stderr.split('\n')[0]).toMatch(/^error: --(insecure|ca) needs --forward-to/);
      expect(r.stderr).toMatch(/--insecure/);
      expect(r.stderr).toMatch(/--ca/);
      expect(r.stdout).toBe('');
    }
  });
});

describe('listen --forward-to http://user:password@…', () => {
  const PASSWORD = 'pw-Secr3t-9f1';

  it('sends Basic auth to the app, keeps a sender Authorization as is, and never prints or stores the password', async () => {
    const app = await startApp(false);
    const save = mkdtempSync(join(dir, 'captures-'));
    const target = `http://alice:${PASSWORD}@127.0.0.1:${app.port}/hook`;
    const l = await startListen(['--forward-to', target, '--save', save]);
    expect(l.ready!.forward_to).toBe(`http://alice:***@127.0.0.1:${app.port}/hook`);

    expect(await post(l.url)).toEqual({ status: 200, text: 'app ok' });
    expect(await post(l.url, { Authorization: 'Bearer sender-token' })).toEqual({ status: 200, text: 'app ok' });
    const recs = await l.deliveries(2);

    expect(app.requests.map((r) => authorization(r.rawHeaders))).toEqual([
      [`Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`],
      ['Bearer sender-token'],
    ]);
    expect(app.requests.map((r) => r.url)).toEqual(['/hook', '/hook']);
    expect(recs.map((r) => r.forward.url)).toEqual([
      `http://alice:***@127.0.0.1:${app.port}/hook`,
      `http://alice:***@127.0.0.1:${app.port}/hook`,
    ]);

    const history = await (await fetch(`${l.base}/__facesign/deliveries`)).text();
    expect(history).toContain('alice:***@');
    const captures = readdirSync(save).map((f) => readFileSync(join(save, f), 'utf8'));
    expect(captures).toHaveLength(2);
    const basic = Buffer.from(`alice:${PASSWORD}`).toString('base64');
    for (const text of [l.stdout(), l.stderr(), history, ...captures]) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(basic);
    }
  });

  it('masks the password in the human ready line too', async () => {
    const app = await startApp(false);
    const l = await startListen(['--forward-to', `http://alice:${PASSWORD}@127.0.0.1:${app.port}/hook`], {
      json: false,
    });
    expect(await post(l.url)).toEqual({ status: 200, text: 'app ok' });
    expect(app.requests).toHaveLength(1);
    expect(l.stdout()).toContain(`Forwarding to http://alice:***@127.0.0.1:${app.port}/hook`);
    expect(l.stdout() + l.stderr()).not.toContain(PASSWORD);
  });
});
