import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { relayEvents } from '../../src/events/relay';
import { fileRawMessage } from '../../src/intake/ingest';
import { markDelivered, markFailedAttempt, type StreamHead } from '../../src/webhooks/deliveries';
import { addEndpoint } from '../../src/webhooks/endpoints';
import { createTestApp, type TestApp } from '../support/env';
import { csrfIn, signedInStaff, WebClient } from '../support/staff';
import { startTestWeb } from '../support/web';

const DAY_MS = 24 * 3600_000;

// The dashboard's webhooks pages over real HTTP on real PostgreSQL. No workers run: the rows stay
// as the test leaves them, and the redelivery's queueing is the recording `deliverWebhooks`.
describe('the dashboard’s webhooks page', () => {
  let app: TestApp;
  let server: FastifyInstance;
  let base: string;
  let staff: WebClient;
  const queued: StreamHead[][] = [];
  const db = () => app.ctx.db;

  beforeAll(async () => {
    app = await createTestApp();
    ({ server, base } = await startTestWeb(app, 'dashboard-webhooks-token-0123456789', { deliverWebhooks: async (heads) => void queued.push(heads) }));
    staff = await signedInStaff(db(), base);
  });
  afterAll(async () => {
    await server.close();
    await app.close();
  });

  /** A case from an unknown sender (it stays `new`: no worker matches it). */
  let n = 0;
  const newCase = async (subject: string) => {
    const raw = [`From: Erin <erin${n}@mail.test>`, 'To: support@support.example.com', `Subject: ${subject}`, `Message-ID: <hooks-dash-${n++}@tests.case-intake.test>`, `Date: ${new Date().toUTCString()}`, '', 'Hello.', ''];
    const result = await fileRawMessage(app.ctx.intake, Buffer.from(raw.join('\r\n')), { source: 'pipe' });
    if (result.outcome !== 'case') throw new Error(result.outcome);
    return result.reference;
  };
  const deliveriesOf = (endpointId: string) =>
    db().selectFrom('webhook_deliveries as d').innerJoin('events as e', 'e.id', 'd.event_id').selectAll('d').select(['e.type', sql<string | null>`e.data->'case'->>'reference'`.as('reference')]).where('d.endpoint_id', '=', endpointId).orderBy('d.id').execute();
  const rowOf = (id: string) => db().selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  /** The ids of the delivery rows a page shows, top to bottom. */
  const rowsIn = (html: string) => [...html.matchAll(/<tr id="delivery-(\d+)" data-status="(\w+)">/g)].map((m) => [m[1], m[2]]);
  const redeliverPath = (endpointId: string, deliveryId: string) => `/dashboard/webhooks/${endpointId}/deliveries/${deliveryId}/redeliver`;

  it('says there is no endpoint, with the command that adds one', async () => {
    const page = await staff.get('/dashboard/webhooks');
    expect(page.status).toBe(200);
    expect(page.text).toContain('No webhook endpoint yet.');
    expect(page.text).toContain('<pre class="command">case-intake webhooks add URL [--events a,b]</pre>');
    expect(page.text).toContain('<a href="/dashboard/webhooks" aria-current="page">Webhooks</a>');
    // Every dashboard page links to it.
    expect((await staff.get('/dashboard')).text).toContain('<a href="/dashboard/webhooks">Webhooks</a>');
  });

  let all: { id: string; secret: string };
  let created: { id: string; secret: string };
  let refs: string[];
  /** Endpoint `all`'s rows: delivered, failed, pending after a refusal, pending not yet tried (oldest first). */
  let rows: { delivered: string; failed: string; retrying: string; fresh: string };

  it('lists each endpoint with its event types and deliveries counted, never its secret', async () => {
    all = await addEndpoint(db(), app.ctx.webhooks.box, { url: 'https://helpdesk.example.com/hooks/case-intake?tenant=acme', eventTypes: null });
    created = await addEndpoint(db(), app.ctx.webhooks.box, { url: 'https://other.example.net/in', eventTypes: ['case.created'] });
    refs = [await newCase('Printer on fire'), await newCase('Mouse missing'), await newCase('Screen flickers')];
    await relayEvents(db());
    // An event of no case (a company's stream), for the endpoint that takes every type.
    const company = await db().insertInto('events').values({ type: 'member.changed', stream: 'company:1', case_id: null, occurred_at: new Date(), data: JSON.stringify({ company: { key: 'acme' } }) }).returning(['id', 'stream']).executeTakeFirstOrThrow();
    await db().insertInto('webhook_deliveries').values({ endpoint_id: all.id, event_id: company.id, stream: company.stream }).execute();

    const ofAll = await deliveriesOf(all.id);
    expect(ofAll.filter((d) => d.type === 'case.created').map((d) => d.reference)).toEqual(refs);
    const byRef = (ref: string | null) => ofAll.find((d) => d.reference === ref && (ref === null || d.type === 'case.created'))!.id;
    rows = { delivered: byRef(refs[0]!), failed: byRef(refs[1]!), retrying: byRef(refs[2]!), fresh: byRef(null) };
    // What the webhook job writes after its attempts.
    await markDelivered(db(), rows.delivered, { status: 204, error: null });
    await markFailedAttempt(db(), rows.failed, { status: 503, error: 'the receiver answered HTTP 503' }, null, DAY_MS);
    await markFailedAttempt(db(), rows.retrying, { status: null, error: 'connect ECONNREFUSED 10.0.0.9:443' }, 60_000, DAY_MS);

    const page = await staff.get('/dashboard/webhooks');
    expect(page.status).toBe(200);
    const card = (id: string) => page.text.slice(page.text.indexOf(`id="endpoint-${id}"`), page.text.indexOf('</section>', page.text.indexOf(`id="endpoint-${id}"`)));
    const counts = (html: string) => [...html.matchAll(/<dt>(Pending|Failed|Delivered)<\/dt><dd[^>]*><a href="([^"]+)">(\d+)<\/a>/g)].map((m) => [m[1], m[2], Number(m[3])]);
    expect(card(all.id)).toContain('<a href="/dashboard/webhooks/' + all.id + '">Endpoint ' + all.id + '</a>');
    expect(card(all.id)).toContain('<code>https://helpdesk.example.com/hooks/case-intake?tenant&#x3D;acme</code>');
    expect(card(all.id)).toContain('<dt>Event types</dt><dd>all</dd>');
    expect(counts(card(all.id))).toEqual([
      ['Pending', `/dashboard/webhooks/${all.id}?status=pending`, 2],
      ['Failed', `/dashboard/webhooks/${all.id}?status=failed`, 1],
      ['Delivered', `/dashboard/webhooks/${all.id}?status=delivered`, 1],
    ]);
    expect(card(all.id)).toMatch(/<dt>Last delivered<\/dt><dd><time datetime="[^"]+">\d+ \w+ \d{4}, \d\d:\d\d:\d\d UTC<\/time><\/dd>/);
    expect(card(created.id)).toContain('<dt>Event types</dt><dd>case.created</dd>');
    expect(counts(card(created.id)).map((c) => c[2])).toEqual([3, 0, 0]);
    expect(card(created.id)).toContain('<dt>Last delivered</dt><dd>never</dd>');
    for (const secret of [all.secret, created.secret, all.secret.replace(/^whsec_/, '')]) expect(page.text).not.toContain(secret);
    expect(page.text).not.toContain('No webhook endpoint yet.');
  });

  it('shows an endpoint’s deliveries newest first: event id, type, case link, status, attempts, last answer and error, next attempt', async () => {
    const page = await staff.get(`/dashboard/webhooks/${all.id}`);
    expect(page.status).toBe(200);
    expect(rowsIn(page.text)).toEqual([
      [rows.fresh, 'pending'],
      [rows.retrying, 'pending'],
      [rows.failed, 'failed'],
      [rows.delivered, 'delivered'],
    ]);
    const row = (id: string) => page.text.slice(page.text.indexOf(`<tr id="delivery-${id}"`), page.text.indexOf('</tr>', page.text.indexOf(`<tr id="delivery-${id}"`)));
    const cells = (id: string) => [...row(id).matchAll(/<td data-label="([^"]+)"[^>]*>(.*?)<\/td>/g)].map((m) => [m[1], m[2]!.replace(/<[^>]+>/g, '')]);
    const failedRow = await rowOf(rows.failed);
    expect(cells(rows.failed)).toEqual([
      ['Event', `evt_${failedRow.event_id}`],
      ['Type', 'case.created'],
      ['Case', refs[1]],
      ['Status', 'failed (given up)'],
      ['Attempts', '1'],
      ['Last attempt', expect.stringMatching(/UTC$/)],
      ['HTTP status', '503'],
      ['Last error', 'the receiver answered HTTP 503'],
      ['Next attempt', '—'],
    ]);
    expect(row(rows.failed)).toContain(`<a href="/dashboard/cases/${refs[1]}">${refs[1]}</a>`);
    expect(cells(rows.retrying).slice(3)).toEqual([
      ['Status', 'pending'],
      ['Attempts', '1'],
      ['Last attempt', expect.stringMatching(/UTC$/)],
      ['HTTP status', 'no answer'],
      ['Last error', 'connect ECONNREFUSED 10.0.0.9:443'],
      ['Next attempt', expect.stringMatching(/UTC$/)],
    ]);
    expect(cells(rows.fresh).slice(1)).toEqual([
      ['Type', 'member.changed'],
      ['Case', '—'],
      ['Status', 'pending'],
      ['Attempts', '0'],
      ['Last attempt', '—'],
      ['HTTP status', '—'],
      ['Last error', '—'],
      ['Next attempt', expect.stringMatching(/UTC$/)],
    ]);
    expect(cells(rows.delivered).slice(3, 7).map((c) => c[1])).toEqual(['delivered', '1', expect.stringMatching(/UTC$/), '204']);
    // Only what is not pending can be sent again.
    const buttons = [...page.text.matchAll(/action="\/dashboard\/webhooks\/\d+\/deliveries\/(\d+)\/redeliver"/g)].map((m) => m[1]);
    expect(buttons).toEqual([rows.failed, rows.delivered]);
    expect(page.text).toContain('<a href="/dashboard/webhooks" aria-current="page">Webhooks</a>');
    expect(page.text).not.toContain(all.secret);
  });

  it('filters by status; "all" and an empty filter show every row; a bad value is refused with 400', async () => {
    const ids = async (query: string) => rowsIn((await staff.get(`/dashboard/webhooks/${all.id}${query}`)).text).map((r) => r[0]);
    expect(await ids('?status=failed')).toEqual([rows.failed]);
    expect(await ids('?status=pending')).toEqual([rows.fresh, rows.retrying]);
    expect(await ids('?status=delivered')).toEqual([rows.delivered]);
    expect(await ids('?status=all')).toHaveLength(4);
    expect(await ids('?status=')).toHaveLength(4);
    const failed = await staff.get(`/dashboard/webhooks/${all.id}?status=failed`);
    expect(failed.text).toContain(`<a href="/dashboard/webhooks/${all.id}?status&#x3D;failed" aria-current="page">Failed (1)</a>`);
    expect(failed.text).toContain('<h1>Endpoint ' + all.id + ': deliveries, failed (given up)</h1>');
    expect((await staff.get(`/dashboard/webhooks/${created.id}?status=failed`)).text).toContain('No delivery failed (given up).');
    const bad = await staff.get(`/dashboard/webhooks/${all.id}?status=lost`);
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('That did not work');
  });

  it('answers 404 for an endpoint that does not exist, or is no id', async () => {
    for (const id of ['999999', 'abc', '1;drop']) {
      const page = await staff.get(`/dashboard/webhooks/${encodeURIComponent(id)}`);
      expect([id, page.status]).toEqual([id, 404]);
      expect(page.text).toContain('Not found');
    }
  });

  it('shows the newest 100 deliveries and says so', async () => {
    const many = await addEndpoint(db(), app.ctx.webhooks.box, { url: 'https://busy.example.com/hooks', eventTypes: null });
    await sql`insert into events (type, stream, occurred_at, data) select 'member.changed', 'company:2', now(), '{}' from generate_series(1, 101)`.execute(db());
    await sql`insert into webhook_deliveries (endpoint_id, event_id, stream) select ${many.id}, id, stream from events where stream = 'company:2'`.execute(db());
    const page = await staff.get(`/dashboard/webhooks/${many.id}`);
    const shown = rowsIn(page.text).map((r) => Number(r[0]));
    expect(shown).toHaveLength(100);
    expect(shown).toEqual([...shown].sort((a, b) => b - a));
    expect(page.text).toContain('The newest 100 are shown');
    expect(page.text).toContain('All (101)');
    expect((await staff.get(`/dashboard/webhooks/${all.id}`)).text).not.toContain('The newest 100 are shown');
  });

  it('redelivers a failed row: pending, due now, a fresh retry window, its stream queued, and back to the page with a notice', async () => {
    const before = await rowOf(rows.failed);
    const page = await staff.get(`/dashboard/webhooks/${all.id}?status=failed`);
    const res = await staff.post(redeliverPath(all.id, rows.failed), { _csrf: csrfIn(page.text), status: 'failed' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/dashboard/webhooks/${all.id}?status=failed&notice=redelivered#delivery-${rows.failed}`);
    const after = await rowOf(rows.failed);
    expect(after).toMatchObject({ status: 'pending', give_up_at: null, delivered_at: null, attempts: before.attempts, last_status: 503 });
    const { due } = (await sql<{ due: boolean }>`select ${after.next_attempt_at}::timestamptz <= now() and ${after.next_attempt_at}::timestamptz > now() - interval '30 seconds' as due`.execute(db())).rows[0]!;
    expect(due).toBe(true);
    expect(queued).toEqual([[{ endpointId: all.id, stream: before.stream, deliveryId: rows.failed, attempts: before.attempts }]]);

    const back = await staff.get(`/dashboard/webhooks/${all.id}?notice=redelivered`);
    expect(back.text).toContain('<p class="ok-note" role="status" id="notice">The delivery is pending again');
    expect(rowsIn(back.text).find((r) => r[0] === rows.failed)).toEqual([rows.failed, 'pending']);
    expect(back.text).not.toContain(`/deliveries/${rows.failed}/redeliver`);
  });

  it('refuses to redeliver a pending row: it says it is already pending and changes nothing', async () => {
    queued.length = 0;
    const before = await rowOf(rows.retrying);
    const page = await staff.get(`/dashboard/webhooks/${all.id}`);
    const res = await staff.post(redeliverPath(all.id, rows.retrying), { _csrf: csrfIn(page.text), status: '' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/dashboard/webhooks/${all.id}?notice=already_pending#delivery-${rows.retrying}`);
    expect(await rowOf(rows.retrying)).toEqual(before);
    expect(queued).toEqual([]);
    expect((await staff.get(res.headers.get('location')!.split('#')[0]!)).text).toContain('<p class="alert" role="status" id="notice">That delivery is already pending');
  });

  it('answers 404 for a delivery of another endpoint, or none, changing nothing', async () => {
    const page = await staff.get(`/dashboard/webhooks/${all.id}`);
    const other = (await deliveriesOf(created.id))[0]!;
    await markDelivered(db(), other.id, { status: 200, error: null });
    const before = await rowOf(other.id);
    for (const [endpointId, deliveryId] of [
      [all.id, other.id],
      [all.id, '999999'],
      ['999999', rows.delivered],
      [all.id, 'x'],
    ]) {
      const res = await staff.post(redeliverPath(endpointId!, deliveryId!), { _csrf: csrfIn(page.text) });
      expect([endpointId, deliveryId, res.status]).toEqual([endpointId, deliveryId, 404]);
    }
    expect(await rowOf(other.id)).toEqual(before);
    expect((await rowOf(rows.delivered)).status).toBe('delivered');
    expect(queued).toEqual([]);
  });

  it('refuses a redelivery without this session’s form token (CSRF): 403, nothing changed', async () => {
    const before = await rowOf(rows.delivered);
    const missing = await staff.post(redeliverPath(all.id, rows.delivered), {});
    expect(missing.status).toBe(403);
    expect(await missing.text()).toContain('This form has expired');
    // Another session's token is no better.
    const other = await signedInStaff(db(), base, 'other.agent@support.example.com');
    const foreign = csrfIn((await other.get('/dashboard/webhooks')).text);
    expect((await staff.post(redeliverPath(all.id, rows.delivered), { _csrf: foreign })).status).toBe(403);
    expect(await rowOf(rows.delivered)).toEqual(before);
    expect(queued).toEqual([]);
  });

  it('refuses signed-out requests: the pages send to sign-in, a redelivery is refused with 401', async () => {
    const anonymous = new WebClient(base);
    for (const path of ['/dashboard/webhooks', `/dashboard/webhooks/${all.id}`, `/dashboard/webhooks/${all.id}?status=failed`]) {
      const res = await anonymous.request(path);
      expect([path, res.status, res.headers.get('location')]).toEqual([path, 303, `/login?next=${encodeURIComponent(path)}`]);
    }
    const before = await rowOf(rows.delivered);
    // Even with a token that was valid for a session: without the session it is nothing.
    const token = csrfIn((await staff.get('/dashboard/webhooks')).text);
    const res = await anonymous.post(redeliverPath(all.id, rows.delivered), { _csrf: token });
    expect(res.status).toBe(401);
    expect(await rowOf(rows.delivered)).toEqual(before);
    expect(queued).toEqual([]);
  });

  it('redelivers a delivered row too; the pending filter then shows all four, newest first', async () => {
    const page = await staff.get(`/dashboard/webhooks/${all.id}`);
    const res = await staff.post(redeliverPath(all.id, rows.delivered), { _csrf: csrfIn(page.text) });
    expect(res.headers.get('location')).toBe(`/dashboard/webhooks/${all.id}?notice=redelivered#delivery-${rows.delivered}`);
    expect(await rowOf(rows.delivered)).toMatchObject({ status: 'pending', delivered_at: null });
    expect(queued.map((heads) => heads.map((h) => h.deliveryId))).toEqual([[rows.delivered]]);
    expect(rowsIn((await staff.get(`/dashboard/webhooks/${all.id}?status=pending`)).text).map((r) => r[0])).toEqual([rows.fresh, rows.retrying, rows.failed, rows.delivered]);
  });
});
