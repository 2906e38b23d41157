import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, ndjson } from '../helpers/cli.js';
import { killListeners, startListen } from '../helpers/listen-process.js';

/*
 * `listen --forward-to` in front of a real app (node:http on 127.0.0.1:0): what the app receives,
 * what the sender gets back, what listen records, and how it behaves when the app fails.
 */

const SECRET = 'whsec_forward_e2e';

interface AppRequest {
  method: string;
  url: string;
  rawHeaders: string[];
  body: Buffer;
}

interface App {
  port: number;
  requests: AppRequest[];
  close(): Promise<void>;
}

const apps: Server[] = [];

afterEach(async () => {
  killListeners();
  for (const s of apps.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** The user's app: records each request whole, then answers with `handle`. */
async function startApp(handle: (req: AppRequest, res: ServerResponse, raw: IncomingMessage) => void): Promise<App> {
  const requests: AppRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { method: req.method!, url: req.url!, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks) };
      requests.push(r);
      handle(r, res, req);
    });
  });
  apps.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const hmac = (body: Buffer | string, secret = SECRET) => createHmac('sha256', secret).update(body).digest('hex');

/** One header's values from a raw list, by name (any case). */
function header(raw: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!);
  return out;
}

/** Writes one HTTP/1.1 request on a raw socket (any header, chunked body) and reads the whole answer. */
function rawRequest(port: number, head: string, body: Buffer, chunked = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error('no answer in 10 s')), 10_000);
    socket.on('data', (d: Buffer) => got.push(d));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(got).toString('latin1'));
    });
    socket.write(head);
    if (chunked) {
      const half = Math.floor(body.length / 2);
      for (const part of [body.subarray(0, half), body.subarray(half)])
        socket.write(Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n')]));
      socket.write('0\r\n\r\n');
    } else socket.write(body);
  });
}

async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
    redirect: 'manual',
    signal: AbortSignal.timeout(15_000),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

function event(id = `evt_fwd_${Math.random().toString(36).slice(2)}`) {
  const body = JSON.stringify({
    id,
    type: 'session.verified',
    data: { id: 'vs_1', metadata: { user_id: 'usr_1' } },
    note: 'bytes: \u00e9\u2603 spaced  out',
  });
  return { id, body, headers: { 'FaceSign-Signature': hmac(body), 'FaceSign-Event-Id': id } };
}

describe('listen --forward-to: the app gets the request byte for byte', () => {
  it('forwards method, body bytes and headers (hop-by-hop ones dropped, X-Forwarded-For appended)', async () => {
    const app = await startApp((_r, res) => {
      res.writeHead(418, { 'X-App': 'teapot', 'Content-Type': 'text/plain', 'Keep-Alive': 'timeout=5' });
      res.end('app body');
    });
    const l = await startListen(['--secret', SECRET, '--forward-to', `127.0.0.1:${app.port}/app/hook`]);
    expect(l.ready).toMatchObject({ forward_to: `http://127.0.0.1:${app.port}/app/hook`, signature_checked: true });
    const { id, body, headers } = event();
    const bytes = Buffer.from(body);
    const port = new URL(l.url).port;
    const head =
      `POST /webhooks/facesign?x=1 HTTP/1.1\r\nHost: tunnel.example\r\nContent-Type: application/json\r\n` +
      `FaceSign-Signature: ${headers['FaceSign-Signature']}\r\nFaceSign-Event-Id: ${id}\r\n` +
      `X-Custom: one\r\nX-Custom: two\r\nX-Forwarded-For: 10.0.0.1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n` +
      `Proxy-Authorization: Basic eDp5\r\nUpgrade: h2c\r\nX-Dropped: z\r\nConnection: close, X-Dropped\r\n` +
      `Transfer-Encoding: chunked\r\n\r\n`;
    const answer = await rawRequest(Number(port), head, bytes, true);

    expect(app.requests).toHaveLength(1);
    const got = app.requests[0]!;
    expect(got.method).toBe('POST');
    expect(got.url).toBe('/app/hook?x=1');
    expect(got.body.equals(bytes)).toBe(true);
    expect(header(got.rawHeaders, 'faceSign-signature'.toLowerCase())).toEqual([headers['FaceSign-Signature']]);
    expect(header(got.rawHeaders, 'facesign-event-id')).toEqual([id]);
    expect(header(got.rawHeaders, 'content-type')).toEqual(['application/json']);
    expect(header(got.rawHeaders, 'x-custom')).toEqual(['one', 'two']);
    expect(header(got.rawHeaders, 'x-forwarded-for')).toEqual(['10.0.0.1, 127.0.0.1']);
    expect(header(got.rawHeaders, 'host')).toEqual([`127.0.0.1:${app.port}`]);
    for (const hop of ['keep-alive', 'te', 'proxy-authorization', 'upgrade', 'transfer-encoding', 'x-dropped'])
      expect(header(got.rawHeaders, hop), hop).toEqual([]);
    // The names as sent, in order.
    const names = got.rawHeaders.filter((_, i) => i % 2 === 0);
    expect(names.indexOf('FaceSign-Signature')).toBeLessThan(names.indexOf('FaceSign-Event-Id'));

    expect(answer).toMatch(/^HTTP\/1\.1 418 /);
    expect(answer).toMatch(/\r\nx-app: teapot\r\n/i);
    expect(answer).not.toMatch(/\r\nkeep-alive:/i);
    expect(answer.endsWith('app body')).toBe(true);

    const [rec] = await l.deliveries(1);
    expect(rec).toMatchObject({ outcome: 'accepted', signature: 'valid', status: 418, event_id: id });
    expect(rec!.forward).toMatchObject({
      url: `http://127.0.0.1:${app.port}/app/hook`,
      status: 418,
      body_preview: 'app body',
      body_bytes: 8,
      body_truncated: false,
      error: null,
    });
    expect(rec!.forward.headers['x-app']).toBe('teapot');
    expect(typeof rec!.forward.latency_ms).toBe('number');
    const hist = (await (await fetch(`${l.base}/__facesign/deliveries`)).json()) as { deliveries: any[] };
    expect(hist.deliveries[0].forward.status).toBe(418);
    expect(Buffer.from(hist.deliveries[0].body_base64, 'base64').equals(bytes)).toBe(true);
  });

  it("reports listen's verdict beside the app's answer: a bad signature and a duplicate still reach the app", async () => {
    const app = await startApp((_r, res) => res.writeHead(400).end('app rejects'));
    const l = await startListen(['--secret', SECRET, '--forward-to', `:${app.port}`], { json: false });
    const good = event();
    const a = await post(l.url, good.body, good.headers);
    const b = await post(l.url, good.body, good.headers);
    const bad = event();
    const c = await post(l.url, bad.body, { ...bad.headers, 'FaceSign-Signature': hmac(bad.body, 'whsec_other') });
    expect([a.status, b.status, c.status]).toEqual([400, 400, 400]);
    expect(c.text).toBe('app rejects');
    expect(app.requests).toHaveLength(3);
    expect(app.requests[0]!.url).toBe('/webhooks/facesign');
    await expect
      .poll(
        () =>
          l
            .stdout()
            .split('\n')
            .filter((x) => x.includes('your app said')).length,
      )
      .toBe(3);
    const lines = l.stdout().split('\n');
    expect(lines.find((x) => x.includes(good.id) && x.includes('accepted'))).toMatch(
      /valid signature\s+→ your app said 400 "app rejects"/,
    );
    expect(lines.find((x) => x.includes(good.id) && x.includes('duplicate'))).toContain('your app said 400');
    expect(lines.find((x) => x.includes(bad.id))).toMatch(/rejected signature mismatch.*→ your app said 400/);
  });

  it('passes a redirect back as the answer, never follows it', async () => {
    const app = await startApp((_r, res) => res.writeHead(302, { Location: '/elsewhere' }).end());
    const l = await startListen(['--secret', SECRET, '--forward-to', `:${app.port}`]);
    const e = event();
    const res = await post(l.url, e.body, e.headers);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/elsewhere');
    expect(app.requests).toHaveLength(1);
  });

  it('without a secret: forwards without judging the signature, and says so at start and in each record', async () => {
    const app = await startApp((_r, res) => res.end('ok'));
    const l = await startListen(['--forward-to', `:${app.port}`]);
    expect(l.ready).toMatchObject({ signature_checked: false, secret: null, secret_source: 'none' });
    expect(l.stderr()).toContain('signatures not checked');
    const e = event();
    const res = await post(l.url, e.body, { 'FaceSign-Event-Id': e.id });
    expect(res.status).toBe(200);
    const [rec] = await l.deliveries(1);
    expect(rec).toMatchObject({ signature: 'unchecked', outcome: 'accepted', status: 200 });
    expect(app.requests).toHaveLength(1);
  });

  it('answers wrong paths itself: they never reach the app', async () => {
    const app = await startApp((_r, res) => res.end('ok'));
    const l = await startListen(['--secret', SECRET, '--forward-to', `:${app.port}`]);
    const res = await post(`${l.base}/elsewhere`, '{}');
    expect(res.status).toBe(404);
    expect(app.requests).toHaveLength(0);
  });
});

describe('listen --forward-to: faults in front of the app', () => {
  it('retry-sim through listen --fail-first 2 reaches the app on attempt 3', async () => {
    const app = await startApp((_r, res) => res.end('processed'));
    const l = await startListen(['--secret', SECRET, '--fail-first', '2', '--forward-to', `:${app.port}`]);
    const r = await runCli(
      ['retry-sim', 'session.verified', '--to', l.url, '--secret', SECRET, '--schedule', '10ms,10ms,10ms', '--json'],
      { timeoutMs: 30_000 },
    );
    expect(r.code).toBe(0);
    const summary = ndjson(r.stdout).find((x) => x.type === 'summary')!;
    expect(summary).toMatchObject({ outcome: 'delivered', delivered_on: 3 });
    expect(app.requests).toHaveLength(1);
    const recs = await l.deliveries(3);
    expect(recs.map((x) => [x.outcome, x.status, x.forward?.status ?? null])).toEqual([
      ['fault', 500, null],
      ['fault', 500, null],
      ['accepted', 200, 200],
    ]);
  });

  it('--delay holds the delivery, then forwards it', async () => {
    const app = await startApp((_r, res) => res.end('ok'));
    const l = await startListen(['--secret', SECRET, '--delay', '50', '--forward-to', `:${app.port}`]);
    const e = event();
    expect((await post(l.url, e.body, e.headers)).status).toBe(200);
    const [rec] = await l.deliveries(1);
    expect(rec).toMatchObject({ delayed_ms: 50, status: 200 });
    expect(app.requests).toHaveLength(1);
  });

  it("refuses a --forward-to at listen's own port (each delivery would loop back to listen)", async () => {
    const spare = await startApp((_r, res) => res.end('ok'));
    const port = spare.port;
    await spare.close();
    for (const target of [`:${port}`, `http://127.0.0.1:${port}/webhooks/facesign`]) {
      const r = await runCli(['listen', '--port', String(port), '--forward-to', target, '--secret', SECRET]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        new RegExp(`^error: --forward-to \\S+:${port} is this receiver's own address: it would forward each delivery`),
      );
      expect(r.stderr).toMatch(/^ {2}hint: forward to the port your app listens on/m);
      expect(r.stdout).not.toMatch(/Listening on/);
    }
  });

  it('refuses a 2xx --status with --forward-to (the app answers those)', async () => {
    const r = await runCli(['listen', '--port', '0', '--forward-to', ':4000', '--status', '200']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --status 200 cannot apply while forwarding/m);
  });
});

describe('listen --forward-to: an app that is down, slow or crashing', () => {
  it('app down → 502 naming the cause; still captured; listen keeps serving', async () => {
    const app = await startApp((_r, res) => res.end('ok'));
    const port = app.port;
    await app.close();
    const l = await startListen(['--secret', SECRET, '--forward-to', `:${port}`]);
    const e = event();
    const res = await post(l.url, e.body, e.headers);
    expect(res.status).toBe(502);
    expect(res.text).toMatch(/^Bad Gateway: your app at .* gave no answer: connection refused/);
    expect(res.text).not.toContain('\n');
    const [rec] = await l.deliveries(1);
    expect(rec!.forward).toMatchObject({ status: null, error: { kind: 'refused', code: 'ECONNREFUSED' } });
    expect(rec!.status).toBe(502);
  });

  it('app hangs → 504 after --forward-timeout; app resets → 502; listen stays up and keeps capturing', async () => {
    let mode = 'hang';
    const app = await startApp((_r, res, raw) => {
      if (mode === 'reset') raw.socket.destroy();
      else if (mode === 'ok') res.end('fine');
    });
    const l = await startListen(['--secret', SECRET, '--forward-timeout', '300', '--forward-to', `:${app.port}`]);
    const e1 = event();
    const hung = await post(l.url, e1.body, e1.headers);
    expect(hung.status).toBe(504);
    expect(hung.text).toMatch(/^Gateway Timeout: your app at .* gave no answer: timeout after 300 ms/);
    mode = 'reset';
    const e2 = event();
    const reset = await post(l.url, e2.body, e2.headers);
    expect(reset.status).toBe(502);
    expect(reset.text).toMatch(/connection reset/);
    mode = 'ok';
    const e3 = event();
    expect((await post(l.url, e3.body, e3.headers)).status).toBe(200);
    const recs = await l.deliveries(3);
    expect(recs.map((x) => x.forward.error?.kind ?? null)).toEqual(['timeout', 'reset', null]);
  });

  it('app answers garbage → 502 protocol error', async () => {
    const server = createServer();
    server.on('connection', (s) => s.once('data', () => s.end('NOT HTTP AT ALL\r\n\r\n')));
    apps.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const l = await startListen(['--secret', SECRET, '--forward-to', `:${port}`]);
    const e = event();
    const res = await post(l.url, e.body, e.headers);
    expect(res.status).toBe(502);
    expect(res.text).toMatch(/protocol error/);
    const [rec] = await l.deliveries(1);
    expect(rec!.forward.error.kind).toBe('protocol');
  });
});
