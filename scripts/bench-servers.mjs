/*
 * The servers `npm run bench` measures the tool against, each in its own process:
 *
 *   node scripts/bench-servers.mjs verify SECRET    a minimal node:http server that checks the HMAC
 *   node scripts/bench-servers.mjs floor SECRET     the same, plus the logging work `listen` does
 *   node scripts/bench-servers.mjs arrivals         always 500; one NDJSON line per request with
 *                                                   its arrival and answer times (retry drift)
 *
 * Each prints `port=N` once listening. `GET /__counts` answers how many POSTs had a valid and an
 * invalid signature (and, for floor, how many were duplicates), so every timed run can be checked.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

const [mode = 'verify', secret = ''] = process.argv.slice(2);
const counts = { valid: 0, invalid: 0, duplicates: 0 };

function signatureOk(body, header) {
  const got = Buffer.from(String(header ?? ''), 'hex');
  const want = createHmac('sha256', secret).update(body).digest();
  return got.length === want.length && timingSafeEqual(got, want);
}

// floor: what `listen` does per accepted delivery besides HTTP, in the plainest code: parse the
// event, remember its id (duplicates answered "Already processed"), and log one NDJSON record with
// the same fields as listen's `delivery` line, the lines of one event-loop turn in one write.
// It leaves out what listen adds beyond that: the capture kept for the history endpoint, header
// list copies, fault injection and the per-request timers.
const processed = new Set();
let sequence = 0;
let pending = [];
const flush = () => {
  const text = pending.join('');
  pending = [];
  process.stdout.write(text);
};
function logDelivery(req, body, event, outcome, status) {
  const record = {
    type: 'delivery',
    sequence: ++sequence,
    received_at: new Date().toISOString(),
    method: req.method,
    path: req.url,
    remote_address: req.socket.remoteAddress ?? null,
    event_type: typeof event?.type === 'string' ? event.type : null,
    event_id: typeof event?.id === 'string' ? event.id : null,
    session_id: typeof event?.data?.id === 'string' ? event.data.id : null,
    user_id: typeof event?.data?.metadata?.user_id === 'string' ? event.data.metadata.user_id : null,
    outcome,
    signature: 'valid',
    reason: null,
    status,
    response_body: outcome === 'duplicate' ? 'Already processed' : 'OK',
    attempt: 1,
    delayed_ms: 0,
    body_bytes: body.length,
    file: null,
  };
  pending.push(`${JSON.stringify(record)}\n`);
  if (pending.length === 1) setImmediate(flush);
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/__counts') return res.end(JSON.stringify(counts));
  const arrivedAt = performance.timeOrigin + performance.now();
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const ok = signatureOk(body, req.headers['facesign-signature']);
    if (ok) counts.valid++;
    else counts.invalid++;
    if (mode === 'arrivals') {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('always failing (bench)', () => {
        const answeredAt = performance.timeOrigin + performance.now();
        process.stdout.write(
          `${JSON.stringify({ arrived_at: arrivedAt, answered_at: answeredAt, event_id: req.headers['facesign-event-id'] ?? null, valid: ok, bytes: body.length })}\n`,
        );
      });
      return;
    }
    if (!ok) return res.writeHead(400, { 'content-type': 'text/plain' }).end('Invalid signature');
    if (mode === 'floor') {
      const event = JSON.parse(body.toString('utf8'));
      const duplicate = processed.has(event.id);
      if (duplicate) counts.duplicates++;
      else processed.add(event.id);
      logDelivery(req, body, event, duplicate ? 'duplicate' : 'accepted', 200);
      return res.writeHead(200, { 'content-type': 'text/plain' }).end(duplicate ? 'Already processed' : 'OK');
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
  });
});
server.listen(0, '127.0.0.1', () => console.log(`port=${server.address().port}`));
process.on('SIGTERM', () => {
  if (pending.length) flush();
  process.exit(0);
});
