import { apiOk } from '../support/api';
import { eventually } from '../support/env';
import { startTestService, type TestService } from '../support/service';
import { arrivalsByCase, inOrder, startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../support/webhook-receiver';
import { addEndpoint } from '../../src/webhooks/endpoints';

const TOKEN = 'webhooks-outage-token-0123456789abcdef';
const DOWN_MS = 2 * 60_000;

// A receiver down (connections refused) for two minutes while cases keep coming, then back:
// every event arrives, each case in order, the retries recorded on the way. Retries are made
// short (WEBHOOK_RETRY_MAX=5s) so the test sees many of them; the schedule itself is unit-tested.
describe('a webhook receiver that is down for minutes', () => {
  let t: TestService;
  let hooks: WebhookReceiver;

  beforeAll(async () => {
    hooks = await startWebhookReceiver();
    t = await startTestService({ API_TOKEN: TOKEN, WEBHOOK_RETRY_FIRST: '0.5s', WEBHOOK_RETRY_MAX: '5s' });
    const added = await addEndpoint(t.app.ctx.db, t.app.ctx.webhooks.box, { url: hooks.url, eventTypes: null });
    hooks.secret = added.secret;
  });
  afterAll(async () => {
    await t.close();
    await hooks.stop();
  });

  it('loses nothing and keeps each case in order', async () => {
    await hooks.down();
    const refs: string[] = [];
    const until = Date.now() + DOWN_MS;
    for (let i = 0; Date.now() < until; i++) {
      refs.push(await t.write('Bob Builder <bob@acme.test>', `During the outage ${i}`, { to: 'acme-prod@support.example.com' }));
      if (i % 2 === 1) await apiOk(t.base, TOKEN, 'PATCH', `/api/cases/${refs[i - 1]}`, { status: 'pending' });
      await new Promise((r) => setTimeout(r, 15_000));
    }
    const refused = await t.app.ctx.db.selectFrom('webhook_deliveries').select(['attempts', 'last_error', 'status']).where('attempts', '>', 0).execute();
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((r) => r.status === 'pending' && r.last_error === 'ECONNREFUSED')).toBe(true);
    expect(Math.max(...refused.map((r) => r.attempts))).toBeGreaterThanOrEqual(10);
    expect(hooks.received).toEqual([]);

    await hooks.up();
    const published = ((await apiOk(t.base, TOKEN, 'GET', '/api/events?limit=1000', undefined)) as unknown as { events: Array<ReceivedWebhook['event']> }).events;
    expect(published.length).toBeGreaterThanOrEqual(refs.length * 2);
    await eventually(async () => {
      const got = new Set(hooks.received.map((r) => r.event.id));
      return published.every((e) => got.has(e.id));
    }, 30_000, 'every event after the receiver came back');
    expect(hooks.received.every((r) => r.verified)).toBe(true);
    const arrivals = arrivalsByCase(hooks.received);
    for (const ref of refs) expect(inOrder(arrivals.get(ref)!)).toBe(true);
    const left = await t.app.ctx.db.selectFrom('webhook_deliveries').select('id').where('status', '<>', 'delivered').execute();
    expect(left).toEqual([]);
  }, DOWN_MS + 90_000);
});
