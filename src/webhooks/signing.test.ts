import { Webhook } from 'standardwebhooks';
import { newWebhookSecret, signedHeaders } from './signing';

// Checked by the specification's own library, not by recomputing our HMAC.
describe('signedHeaders', () => {
  const body = JSON.stringify({ id: 'evt_1', type: 'case.created', timestamp: '2026-12-02T10:00:00.000Z', cursor: '1', data: { note: 'é ✓' } });

  it('is verified by the standardwebhooks library with the same secret', () => {
    const secret = newWebhookSecret();
    const headers = signedHeaders(secret, 'evt_1', new Date(), body);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(headers['webhook-signature']).toBe(new Webhook(secret).sign('evt_1', new Date(Number(headers['webhook-timestamp']) * 1000), body));
  });

  it('is refused with another secret, another body, another id or an old timestamp', () => {
    const secret = newWebhookSecret();
    const headers = signedHeaders(secret, 'evt_1', new Date(), body);
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(secret).verify(body.replace('case.created', 'case.released'), headers)).toThrow();
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'evt_2' })).toThrow();
    const old = signedHeaders(secret, 'evt_1', new Date(Date.now() - 10 * 60_000), body);
    expect(() => new Webhook(secret).verify(body, old)).toThrow(/timestamp/i);
  });

  it('makes secrets of 24 random bytes that differ', () => {
    const a = newWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(a.slice(6), 'base64')).toHaveLength(24);
    expect(newWebhookSecret()).not.toBe(a);
    expect(() => signedHeaders('not-a-secret', 'evt_1', new Date(), body)).toThrow(/whsec_/);
  });
});
