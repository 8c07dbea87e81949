import { addEndpoint } from '../../src/webhooks/endpoints';
import { apiOk } from '../support/api';
import { eventually } from '../support/env';
import { startTestService, type TestService } from '../support/service';
import { arrivalsByCase, inOrder, startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../support/webhook-receiver';

const TOKEN = 'webhooks-test-token-0123456789abcdef';
const TO = { to: 'acme-prod@support.example.com' };

type FeedEvent = ReceivedWebhook['event'];

// Webhooks through the whole service (relay, queue, workers) on real PostgreSQL and Redis, to a
// real HTTP server on loopback that checks every signature with the standardwebhooks library.
describe('webhooks', () => {
  let t: TestService;
  let hooks: WebhookReceiver;
  let endpointId: string;
  const logLines: string[] = [];
  const feed = async () => ((await apiOk(t.base, TOKEN, 'GET', '/api/events?limit=1000', undefined)) as unknown as { events: FeedEvent[] }).events;
  const ofCase = (ref: string) => hooks.received.filter((r) => r.event.data.case?.reference === ref);
  const caseId = async (ref: string) => (await t.app.ctx.db.selectFrom('cases').select('id').where('reference', '=', ref).executeTakeFirstOrThrow()).id;
  const deliveryOf = (eventId: string) =>
    t.app.ctx.db.selectFrom('webhook_deliveries').selectAll().where('endpoint_id', '=', endpointId).where('event_id', '=', eventId.replace('evt_', '')).executeTakeFirstOrThrow();

  beforeAll(async () => {
    hooks = await startWebhookReceiver();
    t = await startTestService({ API_TOKEN: TOKEN, WEBHOOK_TIMEOUT: '1s', WEBHOOK_RETRY_FIRST: '0.2s', WEBHOOK_RETRY_MAX: '1s' }, logLines);
    const added = await addEndpoint(t.app.ctx.db, t.app.ctx.webhooks.box, { url: hooks.url, eventTypes: null });
    endpointId = added.id;
    hooks.secret = added.secret;
  });
  afterAll(async () => {
    await t.close();
    await hooks.stop();
  });

  it('delivers a case’s events signed, in order, each body the feed’s event with the same id', async () => {
    const ref = await t.write('Bob Builder <bob@acme.test>', 'Printer on fire', TO);
    await t.caseIn(ref, 'open');
    await eventually(async () => ofCase(ref).length >= 2, 15000, 'two webhooks for the case');
    const got = ofCase(ref);
    expect(got.map((r) => r.event.type)).toEqual(['case.created', 'case.decided']);
    for (const r of got) {
      expect(r.verified).toBe(true);
      expect(r.headers['webhook-id']).toBe(r.event.id);
      expect(r.headers['content-type']).toBe('application/json');
    }
    const published = await feed();
    for (const r of got) expect(published.find((e) => e.id === r.event.id)).toEqual(r.event);
    expect((await deliveryOf(got[0]!.event.id)).status).toBe('delivered');
  });

  it('gives an endpoint only the event types it asked for', async () => {
    const approvals = await startWebhookReceiver();
    try {
      const added = await addEndpoint(t.app.ctx.db, t.app.ctx.webhooks.box, { url: approvals.url, eventTypes: ['approval.requested'] });
      approvals.secret = added.secret;
      const ref = await t.write('Rita <rita@acme.test>', 'Who am I', TO);
      await t.caseIn(ref, 'suspended');
      await eventually(async () => ofCase(ref).some((r) => r.event.type === 'approval.requested'), 15000, 'the approval request to the first endpoint');
      await eventually(async () => approvals.received.length >= 1, 15000, 'the approval request to the second');
      expect(approvals.received.map((r) => [r.event.type, r.event.data.case?.reference, r.verified])).toEqual([['approval.requested', ref, true]]);
    } finally {
      await approvals.stop();
    }
  });

  it('retries a receiver answering 500, holding that case’s later events back, other cases going on', async () => {
    const failing = await t.write('Bob Builder <bob@acme.test>', 'Fails for a while', TO);
    let refusing = true;
    hooks.answer = (r) => (r.event.data.case?.reference === failing && r.event.type === 'case.created' && refusing ? { status: 500 } : { status: 200 });
    await eventually(async () => ofCase(failing).length >= 1, 15000, 'the first refusal');
    // Later events of the case while its first is refused: a new job for the stream finds the
    // head not yet due and must wait with it.
    await t.caseIn(failing, 'open');
    await apiOk(t.base, TOKEN, 'PATCH', `/api/cases/${failing}`, { status: 'pending' });
    const other = await t.write('Carol <carol@acme.test>', 'Meanwhile', TO);
    await eventually(async () => ofCase(other).some((r) => r.event.type === 'case.decided'), 20000, 'the other case');
    await eventually(async () => ofCase(failing).length >= 3, 20000, 'two more refusals');
    expect(ofCase(failing).every((r) => r.event.type === 'case.created' && r.answered === 500)).toBe(true);
    refusing = false;
    await eventually(async () => ofCase(failing).some((r) => r.event.type === 'case.status_changed'), 20000, 'the failing case’s later events');
    const got = ofCase(failing);
    const attempts = got.filter((r) => r.event.type === 'case.created');
    expect(attempts.map((r) => r.answered)).toEqual([...attempts.slice(1).map(() => 500), 200]);
    expect(got.slice(attempts.length).map((r) => r.event.type)).toEqual(['case.decided', 'case.status_changed']);
    // One webhook-id for every attempt at one event; each attempt signed at its own time.
    expect(new Set(attempts.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(got.every((r) => r.verified)).toBe(true);
    const row = await deliveryOf(got[0]!.event.id);
    expect(row).toMatchObject({ status: 'delivered', attempts: attempts.length, last_status: 200, last_error: null });
    expect(row.give_up_at).not.toBeNull();
    hooks.answer = () => ({ status: 200 });
  });

  it('tries again a receiver that does not answer in time, with the same webhook-id', async () => {
    let hung = false;
    hooks.answer = (r) => (r.event.type === 'case.created' && r.event.data.case?.reference && !hung ? ((hung = true), 'hang') : { status: 200 });
    const ref = await t.write('Bob Builder <bob@acme.test>', 'Slow receiver', TO);
    await eventually(async () => ofCase(ref).filter((r) => r.event.type === 'case.created').length >= 2, 20000, 'a second attempt after the timeout');
    const [first, second] = ofCase(ref);
    expect(first!.answered).toBe('none');
    expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    await eventually(async () => (await deliveryOf(first!.event.id)).status === 'delivered', 10000, 'delivered');
    hooks.answer = () => ({ status: 200 });
  });

  it('gives a delivery up once its retry window is over, and the case’s next event goes', async () => {
    const ref = await t.write('Bob Builder <bob@acme.test>', 'Never taken', TO);
    hooks.answer = (r) => (r.event.data.case?.reference === ref && r.event.type === 'case.created' ? { status: 503 } : { status: 200 });
    await eventually(async () => ofCase(ref).length >= 2, 20000, 'two refused attempts');
    const created = ofCase(ref)[0]!.event.id;
    // The window's end, brought forward (24 hours by default): the next failure is the last.
    await t.app.ctx.db.updateTable('webhook_deliveries').set({ give_up_at: new Date(Date.now() - 1000) }).where('event_id', '=', created.replace('evt_', '')).execute();
    await eventually(async () => (await deliveryOf(created)).status === 'failed', 20000, 'given up');
    await eventually(async () => ofCase(ref).some((r) => r.event.type === 'case.decided'), 20000, 'the next event');
    expect(await deliveryOf(created)).toMatchObject({ status: 'failed', last_status: 503, last_error: 'HTTP 503: receiver trouble' });
    const metrics = await (await fetch(`${t.base}/metrics`)).text();
    expect(metrics).toContain(`case_intake_webhook_deliveries{endpoint="${endpointId}",status="failed"} 1`);
    expect(metrics).not.toContain(hooks.url);
    hooks.answer = () => ({ status: 200 });
  });

  it('delivers a busy case’s many events in order', async () => {
    const refs = await Promise.all(['One', 'Two', 'Three'].map((s) => t.write('Bob Builder <bob@acme.test>', `Busy ${s}`, TO)));
    for (const ref of refs) await t.caseIn(ref, 'open');
    hooks.answer = () => ({ status: 200, delayMs: Math.floor(Math.random() * 30) });
    for (let i = 0; i < 6; i++) {
      await Promise.all(refs.map((ref) => apiOk(t.base, TOKEN, 'PATCH', `/api/cases/${ref}`, { status: i % 2 ? 'open' : 'pending' })));
    }
    const ids = await Promise.all(refs.map(caseId));
    expect(ids).toHaveLength(3);
    await eventually(async () => refs.every((ref) => ofCase(ref).filter((r) => r.event.type === 'case.status_changed').length >= 6), 30000, 'every status change');
    const arrivals = arrivalsByCase(hooks.received);
    for (const ref of refs) expect(inOrder(arrivals.get(ref)!)).toBe(true);
    hooks.answer = () => ({ status: 200 });
  });

  it('logs failed deliveries by endpoint and event, never the secret, the URL or a body', async () => {
    const failures = logLines.filter((l) => l.includes('webhook delivery failed'));
    expect(failures.length).toBeGreaterThan(0);
    expect(JSON.parse(failures[0]!)).toMatchObject({ endpoint: endpointId, event: expect.stringMatching(/^evt_\d+$/) });
    const all = logLines.join('\n');
    expect(all).not.toContain(hooks.secret!.slice(6));
    expect(all).not.toContain('/hooks/case-intake');
    expect(all).not.toContain('Printer on fire');
  });
});
