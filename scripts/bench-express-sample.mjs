/*
 * The provider docs' "Complete webhook handler" as a user would write it from the docs: Express,
 * `express.raw({ type: 'application/json' })`, the HMAC compared with timingSafeEqual, an
 * in-memory duplicate check, a switch on the type, 200 "OK". `npm run bench` measures `listen`
 * against it with the same request stream. The docs' helpers (database updates, e-mails) are
 * no-ops here; their console.log lines are kept (the bench sends stdout to a file).
 *
 *   FACESIGN_WEBHOOK_SECRET=… node scripts/bench-express-sample.mjs    prints port=N
 */
import crypto from 'node:crypto';
import express from 'express';

const webhookSecret = process.env.FACESIGN_WEBHOOK_SECRET ?? '';
const app = express();
const processedIds = new Set();
let accepted = 0;
let invalid = 0;

function verifySignature(payload, signature, secret) {
  const expectedSignature = crypto.createHmac('sha256', secret).update(payload).digest('hex');
  const given = Buffer.from(String(signature ?? ''));
  const expected = Buffer.from(expectedSignature);
  // The docs' sample calls timingSafeEqual directly, which throws on a length mismatch; the
  // length check first keeps a malformed header a 400 instead of a 500.
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

const isEventProcessed = async (id) => processedIds.has(id);
const markEventProcessed = async (id) => void processedIds.add(id);
const noop = async () => undefined;
const handleSessionCreated = noop;
const handleSessionCancelled = noop;
async function handleSessionVerified(session) {
  await noop(session.metadata?.user_id, {
    verified: true,
    verifiedAt: new Date(),
    verificationData: session.verified_outputs,
  });
  await noop(session.metadata?.user_id);
}
async function handleSessionFailed(session) {
  console.error(`Verification failed for user ${session.metadata?.user_id}`);
  await noop(session.metadata?.user_id);
}

app.post('/webhooks/facesign', express.raw({ type: 'application/json' }), async (req, res) => {
  const signature = req.headers['facesign-signature'];
  if (!verifySignature(req.body, signature, webhookSecret)) {
    invalid++;
    return res.status(400).send('Invalid signature');
  }
  const event = JSON.parse(req.body.toString());
  if (await isEventProcessed(event.id)) return res.status(200).send('Already processed');
  try {
    switch (event.type) {
      case 'session.created':
        await handleSessionCreated(event.data);
        break;
      case 'session.verified':
        await handleSessionVerified(event.data);
        break;
      case 'session.failed':
        await handleSessionFailed(event.data);
        break;
      case 'session.cancelled':
        await handleSessionCancelled(event.data);
        break;
      default:
        console.log(`Unhandled event type: ${event.type}`);
    }
    await markEventProcessed(event.id);
    accepted++;
    res.status(200).send('OK');
  } catch (error) {
    console.error('Webhook processing error:', error);
    res.status(500).send('Internal error');
  }
});

// Not part of the sample: how the bench checks what this server saw.
app.get('/__counts', (_req, res) => res.json({ valid: accepted, invalid }));

const server = app.listen(0, '127.0.0.1', () => console.log(`port=${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
