import { createHmac } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ndjson, runCli } from '../helpers/cli.js';
import { killListeners, startListen } from '../helpers/listen-process.js';
import { startServer, type TestServer } from '../helpers/server.js';

/*
 * Output that cannot lie: endpoints and requests that try to drive the terminal (clear the screen,
 * return the cursor and print a forged "✔ accepted") are shown escaped in every human line, while
 * --json keeps their exact text. The servers write raw bytes, so nothing normalises them first.
 */

const SECRET = 'whsec_output_e2e';
const hmac = (body: Buffer | string, secret = SECRET) => createHmac('sha256', secret).update(body).digest('hex');

/** Anything a terminal acts on, except the newlines that end our own lines. */
const TERMINAL_ACTIVE =
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

const HOSTILE_BODY = '\x1b[2J\x1b[H\r✔ accepted\n\u009b31m\u202eevil';
const HTML_PAGE =
  '<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx</center>\n</body>\n</html>\n';

type Reply = { head: string; body: string };
const REPLIES: Record<string, Reply> = {
  ansi: { head: 'HTTP/1.1 500 Oops\r\nContent-Type: text/plain; charset=utf-8\r\n', body: HOSTILE_BODY },
  // HTTP allows bytes 0x80-0xFF in a header value (read as Latin-1): C1 controls such as CSI (0x9b)
  // and NEL (0x85) reach the tool. Bytes below 0x20 (ESC) are not HTTP at all: see locationEsc.
  location: { head: 'HTTP/1.1 302 Found\r\nLocation: /login\x9b2J\x85?next=1\r\n', body: '' },
  locationEsc: { head: 'HTTP/1.1 302 Found\r\nLocation: /login\x1b[2J\x1b[H?next=1\r\n', body: '' },
  html: { head: 'HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\n', body: HTML_PAGE },
};

/** A server that answers every request on any path with exactly these bytes, then closes. */
async function rawServer(reply: Reply): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let seen = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      const end = seen.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length: *(\d+)/i.exec(seen.subarray(0, end).toString('latin1'))?.[1] ?? 0);
      if (seen.length < end + 4 + length) return;
      const body = Buffer.from(reply.body, 'utf8');
      socket.end(
        Buffer.concat([
          Buffer.from(`${reply.head}Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`, 'latin1'),
          body,
        ]),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/facesign`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const servers: { close(): Promise<void> }[] = [];
async function hostile(kind: keyof typeof REPLIES) {
  const s = await rawServer(REPLIES[kind]!);
  servers.push(s);
  return s;
}
// Tests in a block run concurrently, so servers are closed once at the end, not after each test.
afterAll(async () => {
  killListeners();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function expectSafe(text: string): void {
  const bad = TERMINAL_ACTIVE.exec(text);
  expect(bad, `terminal-active U+${bad?.[0].charCodeAt(0).toString(16)} in ${JSON.stringify(text)}`).toBeNull();
}

describe.concurrent('send: hostile responses are shown escaped', () => {
  it('an ANSI/CR-laden body: one escaped line, no forged "✔ accepted" line; --json keeps the exact text', async () => {
    const s = await hostile('ansi');
    const r = await runCli(['send', 'verified', '--to', s.url, '--secret', SECRET]);
    expect(r.code).toBe(1);
    expectSafe(r.stdout);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^✘ session\.verified evt_\w+ → 500 "\\x1b\[2J\\x1b\[H ✔ accepted \\x9b31m\\u\{202e\}evil", expected 2xx /,
    );
    const j = await runCli(['send', 'verified', '--to', s.url, '--secret', SECRET, '--json']);
    expect(ndjson(j.stdout)[0]!.response_body).toBe(HOSTILE_BODY);
  });

  it('a Location with C1 controls is shown escaped', async () => {
    const s = await hostile('location');
    const r = await runCli(['send', 'verified', '--to', s.url, '--secret', SECRET]);
    expect(r.code).toBe(1);
    expectSafe(r.stdout);
    expect(r.stdout).toContain('302 redirect to /login\\x9b2J\\x85?next=1 (not followed), expected 2xx');
    const j = await runCli(['send', 'verified', '--to', s.url, '--secret', SECRET, '--json']);
    expect(ndjson(j.stdout)[0]!.location).toBe('/login\u009b2J\u0085?next=1');
  });

  it('a Location with ESC bytes (not valid HTTP) is a protocol error, its bytes never printed', async () => {
    const s = await hostile('locationEsc');
    const r = await runCli(['send', 'verified', '--to', s.url, '--secret', SECRET]);
    expect(r.code).toBe(1);
    expectSafe(r.stdout);
    expect(r.stdout).toMatch(
      /→ protocol error from 127\.0\.0\.1:\d+: Response does not match the HTTP\/1\.1 protocol \(Invalid header value char\)/,
    );
    expect(r.stdout).not.toContain('login');
  });

  it('an HTML error page is previewed by its title', async () => {
    const s = await hostile('html');
    const r = await runCli(['send', 'verified', '--to', s.url, '--secret', SECRET]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('→ 502 "502 Bad Gateway" (HTML page), expected 2xx');
    expect(r.stdout).not.toMatch(/DOCTYPE|<html/i);
  });
});

describe.concurrent('send: a miss says what was expected', () => {
  let ok: TestServer;
  let rejecting: TestServer;
  beforeAll(async () => {
    ok = await startServer();
    rejecting = await startServer((_req, _body, res) =>
      res.writeHead(400, { 'content-type': 'text/plain' }).end('Invalid signature'),
    );
  });
  afterAll(async () => {
    await ok.close();
    await rejecting.close();
  });

  it('--expect 201 against a 200: "→ 200 "OK", expected 201"', async () => {
    const r = await runCli(['send', 'verified', '--to', ok.hookUrl, '--secret', SECRET, '--expect', '201']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^✘ session\.verified evt_\w+ → 200 "OK", expected 201 [\d.]+ ms\n$/);
  });

  it('--expect 4xx against a 200 says "expected 4xx"; a met expectation says nothing more', async () => {
    const r = await runCli([
      'send',
      'verified',
      '--to',
      ok.hookUrl,
      '--secret',
      SECRET,
      '--expect',
      '4xx',
      '--signature',
      'invalid',
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('→ 200 "OK", expected 4xx');
    const met = await runCli([
      'send',
      'verified',
      '--to',
      rejecting.hookUrl,
      '--secret',
      SECRET,
      '--expect',
      '4xx',
      '--signature',
      'invalid',
    ]);
    expect(met.code).toBe(0);
    expect(met.stdout).not.toContain('expected');
    expect(met.stderr).not.toContain('hint');
  });

  it.each(['invalid', 'missing', 'malformed', 'tampered'])(
    '--signature %s without --expect: one hint at --expect 4xx on stderr',
    async (mode) => {
      const r = await runCli(['send', 'all', '--to', rejecting.hookUrl, '--secret', SECRET, '--signature', mode]);
      expect(r.code).toBe(1);
      const hints = r.stderr.split('\n').filter((l) => l.startsWith('hint:'));
      expect(hints).toEqual([
        `hint: --signature ${mode} expects your endpoint to reject it: add --expect 4xx to make that the success condition`,
      ]);
      expect(r.stdout).toContain('→ 400 "Invalid signature", expected 2xx');
    },
  );

  it('the same hint once in load mode; none for a valid signature', async () => {
    const r = await runCli([
      'send',
      'verified',
      '--count',
      '4',
      '--to',
      rejecting.hookUrl,
      '--secret',
      SECRET,
      '--signature',
      'invalid',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr.match(/hint: --signature invalid expects/g)).toHaveLength(1);
    const valid = await runCli(['send', 'verified', '--to', rejecting.hookUrl, '--secret', SECRET]);
    expect(valid.stderr).not.toContain('hint');
  });
});

describe.concurrent('retry-sim and check escape and preview the same way', () => {
  it('retry-sim: every attempt row escaped; an HTML page by its title', async () => {
    const a = await hostile('ansi');
    const r = await runCli([
      'retry-sim',
      'verified',
      '--to',
      a.url,
      '--secret',
      SECRET,
      '--schedule',
      '1ms,1ms',
      '--speed',
      '1',
    ]);
    expect(r.code).toBe(1);
    expectSafe(r.stdout);
    expect(r.stdout.match(/500 "\\x1b\[2J/g)).toHaveLength(3);
    const h = await hostile('html');
    const page = await runCli([
      'retry-sim',
      'verified',
      '--to',
      h.url,
      '--secret',
      SECRET,
      '--schedule',
      '1ms',
      '--speed',
      '1',
    ]);
    expect(page.stdout.match(/502 "502 Bad Gateway" \(HTML page\)/g)).toHaveLength(2);
    expect(page.stdout).not.toContain('DOCTYPE');
  });

  it('check: the table shows the escaped body, the escaped Location and the page title', async () => {
    for (const [kind, want] of [
      ['ansi', '500 "\\x1b[2J\\x1b[H ✔ accepted \\x9b31m\\u{202e}evil" in'],
      ['location', '302 → /login\\x9b2J\\x85?next=1 (not followed) in'],
      ['html', '502 "502 Bad Gateway" (HTML page) in'],
    ] as const) {
      const s = await hostile(kind);
      const r = await runCli(['check', '--to', s.url, '--secret', SECRET, '--only', 'no-signature']);
      expect(r.code).toBe(1);
      expectSafe(r.stdout);
      expect(r.stdout).toContain(want);
    }
  });
});

describe('requests that try to drive the terminal: listen, verify and replay', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fs-output-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('listen logs, verify reports and replay lists a hostile event escaped', async () => {
    const l = await startListen(['--secret', SECRET, '--save', dir], { json: false });
    const body = Buffer.from(
      JSON.stringify({
        id: 'evt_\x1b[2J\x1b[H',
        object: 'event',
        type: 'session.verified\r\x1b[32m✔ accepted\u202e',
        created: 1,
        data: {
          id: 'vs_\u009b2J',
          object: 'verification_session',
          status: 'verified',
          metadata: { user_id: 'usr_\u2028x' },
        },
      })
        .replace(/\\u001b/g, '\x1b')
        .replace(/\\r/g, '\r'),
    );
    expect(body.includes(0x1b)).toBe(true); // raw control bytes in the JSON strings, as a hostile sender would write them
    const res = await fetch(l.url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'facesign-signature': hmac(body) },
    });
    expect(res.status).toBe(400); // raw controls make the JSON invalid to JSON.parse… (listen rejects it)
    const valid = Buffer.from(
      JSON.stringify({
        id: 'evt_\x1b[2J\x1b[H',
        object: 'event',
        type: 'session.verified\r\x1b[32m✔ accepted\u202e',
        created: 1,
        data: {
          id: 'vs_\u009b2J',
          object: 'verification_session',
          status: 'verified',
          metadata: { user_id: 'usr_\u2028x' },
        },
      }),
    );
    const res2 = await fetch(l.url, {
      method: 'POST',
      body: valid,
      headers: { 'content-type': 'application/json', 'facesign-signature': hmac(valid) },
    });
    expect(res2.status).toBe(200); // …while JSON escapes decode to the same hostile strings, and are accepted
    await waitFor(() => readdirSync(dir).length === 2);
    await waitFor(
      () =>
        l
          .stdout()
          .split('\n')
          .filter((x) => /accepted|rejected/.test(x)).length === 2,
    );
    l.child.kill('SIGTERM');
    await l.exited;
    expectSafe(l.stdout());
    expect(l.stdout()).toContain(
      'session.verified\\x0d\\x1b[32m✔ accepted\\u{202e}  evt_\\x1b[2J\\x1b[H  vs_\\x9b2J  usr_\\u{2028}x  ✔ accepted',
    );

    const capture = join(dir, readdirSync(dir).sort()[1]!);
    const v = await runCli(['verify', capture, '--secret', SECRET]);
    expect(v.code).toBe(0);
    expectSafe(v.stdout);
    expect(v.stdout).toContain('(session.verified\\x0d\\x1b[32m✔ accepted\\u{202e} evt_\\x1b[2J\\x1b[H,');

    // A capture file whose name itself carries an escape sequence.
    const renamed = mkdtempSync(join(tmpdir(), 'fs-output-renamed-'));
    try {
      copyFileSync(capture, join(renamed, 'evil\x1b[2J.json'));
      const target = await startServer();
      try {
        const r = await runCli(['replay', renamed, '--to', target.hookUrl]);
        expect(r.code).toBe(0);
        expectSafe(r.stdout);
        expect(r.stdout).toContain(
          '✔ evil\\x1b[2J.json session.verified\\x0d\\x1b[32m✔ accepted\\u{202e} evt_\\x1b[2J\\x1b[H → 200 "OK"',
        );
      } finally {
        await target.close();
      }
    } finally {
      rmSync(renamed, { recursive: true, force: true });
    }
  });
});

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
