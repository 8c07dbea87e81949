import { createHmac, randomBytes } from 'node:crypto';

/*
 * Standard Webhooks signatures (https://www.standardwebhooks.com/): the signed content is
 * `<webhook-id>.<webhook-timestamp>.<body>`, HMAC-SHA256 keyed with the secret's bytes (the
 * base64 after `whsec_`), sent as `v1,<base64>`. The receiver checks it with the same secret
 * and refuses a timestamp far from its clock, so a captured request cannot be replayed later.
 */

const PREFIX = 'whsec_';

/** A new endpoint's secret: 24 random bytes, as the specification's libraries expect them. */
export function newWebhookSecret(): string {
  return PREFIX + randomBytes(24).toString('base64');
}

function secretBytes(secret: string): Buffer {
  if (!secret.startsWith(PREFIX)) throw new Error('a webhook secret starts with whsec_');
  return Buffer.from(secret.slice(PREFIX.length), 'base64');
}

/** The three headers of one delivery attempt; `at` is the attempt's time (whole seconds). */
export function signedHeaders(secret: string, messageId: string, at: Date, body: string): Record<string, string> {
  const timestamp = String(Math.floor(at.getTime() / 1000));
  const mac = createHmac('sha256', secretBytes(secret)).update(`${messageId}.${timestamp}.${body}`).digest('base64');
  return { 'webhook-id': messageId, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${mac}` };
}
