import { escalateCase } from '../../src/cases/customer-side';
import { setStaffPassword } from '../../src/staff/accounts';
import { eventually } from '../support/env';
import { startTestService, type TestService } from '../support/service';
import { STAFF_PASSWORD } from '../support/staff';

const TOKEN = 'casework-api-token-0123456789';
const STAFF = 'sam.staff@vendor.test';

type Json = Record<string, unknown>;
interface CaseJson extends Json {
  reference: string;
  status: string;
  assignee: string | null;
  escalated: boolean;
  firstResponseAt: string | null;
  lastCustomerReplyAt: string | null;
  messages: Array<{ id: string; from: string; author: string; channel: string; text: string }>;
}

describe('casework over the API (PostgreSQL, Redis, SMTP sink, the whole service)', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ API_TOKEN: TOKEN });
    await setStaffPassword(t.app.ctx.db, STAFF, STAFF_PASSWORD);
  });
  afterAll(() => t.close());

  const db = () => t.app.ctx.db;
  const call = async (method: string, url: string, body?: unknown, token: string | null = TOKEN) => {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(t.base + url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: (text.startsWith('{') ? JSON.parse(text) : text) as Json };
  };
  const reply = (ref: string, body: unknown, token?: string | null) => call('POST', `/api/cases/${ref}/replies`, body, token);
  const note = (ref: string, body: unknown, token?: string | null) => call('POST', `/api/cases/${ref}/notes`, body, token);
  const patch = (ref: string, body: unknown, token?: string | null) => call('PATCH', `/api/cases/${ref}`, body, token);
  const getCase = async (ref: string) => (await call('GET', `/api/cases/${ref}`)).body as CaseJson;
  const eventsOf = (ref: string) =>
    db().selectFrom('case_events as e').innerJoin('cases as c', 'c.id', 'e.case_id').select(['e.kind', 'e.actor', 'e.channel', 'e.detail']).where('c.reference', '=', ref).orderBy('e.id').execute();
  const outboxOf = (ref: string) =>
    db().selectFrom('outbox as o').innerJoin('cases as c', 'c.id', 'o.case_id').select(['o.id', 'o.kind', 'o.to_address', 'o.message_id', 'o.in_reply_to']).where('c.reference', '=', ref).orderBy('o.id').execute();
  const firstResponseCount = async () => {
    const text = await (await fetch(`${t.base}/metrics`)).text();
    const m = /^case_intake_first_response_seconds_count (\d+)$/m.exec(text);
    return m ? Number(m[1]) : null;
  };
  /** A case from Erin (a user of Acme Production, where Bob has "CC in all cases"), matched open. */
  const openCase = async (subject: string) => {
    const ref = await t.write('erin@mail.test', subject);
    await t.caseIn(ref, 'open');
    return ref;
  };
  /** A case from a stranger: held (unknown sender). */
  const heldCase = async (subject: string) => {
    const ref = await t.write('mallory@nowhere.test', subject);
    await t.caseIn(ref, 'suspended');
    return ref;
  };

  it('refuses every change without the token (401), and changes nothing', async () => {
    const ref = await openCase('No token');
    const before = await eventsOf(ref);
    for (const res of [await reply(ref, { text: 'hi' }, null), await note(ref, { text: 'hi' }, null), await patch(ref, { status: 'solved' }, null), await reply(ref, { text: 'hi' }, 'wrong-token-0123456789')]) {
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: 'unauthorized', message: expect.any(String) });
    }
    expect(await eventsOf(ref)).toEqual(before);
  });

  it('answers 404 for an unknown case', async () => {
    for (const res of [await reply('CASE-999999', { text: 'hi' }), await note('CASE-999999', { text: 'hi' }), await patch('CASE-999999', { status: 'open' })]) {
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: 'not_found', message: expect.stringContaining('CASE-999999') });
    }
  });

  it('replies: 201 with the message id and the case, mail queued and sent, first response timed once', async () => {
    const ref = await openCase('Printer on fire');
    const before = await firstResponseCount();
    const res = await reply(ref.toLowerCase(), { text: 'Please unplug it.\n\nThen call us.', status: 'pending' });
    expect(res.status).toBe(201);
    const c = res.body.case as CaseJson;
    expect(c).toMatchObject({ reference: ref, status: 'pending', assignee: null, escalated: false, lastCustomerReplyAt: null, firstResponseAt: expect.any(String) });
    const staffMessage = c.messages.at(-1)!;
    expect(staffMessage).toMatchObject({ id: res.body.messageId, from: 'support@support.example.com', author: 'staff', channel: 'api', text: 'Please unplug it.\n\nThen call us.' });
    expect(c.messages[0]).toMatchObject({ from: 'erin@mail.test', author: 'customer', channel: 'mail' });

    // The reply to Erin, threaded on her message, and Bob's "CC in all cases" copy; both sent (deps.enqueueDeliveries).
    const mails = await outboxOf(ref);
    const staffReply = mails.find((m) => m.kind === 'staff_reply')!;
    expect(staffReply).toMatchObject({ to_address: 'erin@mail.test' });
    expect(staffReply.in_reply_to).toMatch(/@tests\.case-intake\.test$/);
    expect(mails.filter((m) => m.kind === 'case_update').map((m) => m.to_address)).toEqual(['bob@acme.test']);
    const sent = await eventually(async () => t.sink.messages.find((m) => m.parsed.messageId === `<${staffReply.message_id}>`), 15000, 'the staff reply');
    expect(sent.parsed.subject).toBe(`Re: [${ref}] Printer on fire`);

    const events = (await eventsOf(ref)).filter((e) => e.kind === 'staff_replied' || e.kind === 'status_changed');
    expect(events).toEqual([
      { kind: 'staff_replied', actor: 'api', channel: 'api', detail: expect.objectContaining({ messageId: res.body.messageId, firstResponse: true }) },
      { kind: 'status_changed', actor: 'api', channel: 'api', detail: { from: 'open', to: 'pending' } },
    ]);
    // The histogram counts the first reply of a case; a second reply is not a first response.
    expect(await firstResponseCount()).toBe((before ?? 0) + 1);
    const again = await reply(ref, { text: 'Any news?' });
    expect(again.status).toBe(201);
    expect((again.body.case as CaseJson).firstResponseAt).toBe(c.firstResponseAt);
    expect((again.body.case as CaseJson).status).toBe('pending');
    expect(await firstResponseCount()).toBe((before ?? 0) + 1);
  });

  it('refuses a reply to a held case (409) and queues nothing', async () => {
    const ref = await heldCase('Let me in');
    const [events, mails, messages] = [await eventsOf(ref), await outboxOf(ref), (await getCase(ref)).messages];
    const res = await reply(ref, { text: 'Sure', status: 'solved' });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ error: 'conflict', message: expect.stringContaining('held') });
    expect(await outboxOf(ref)).toEqual(mails);
    expect(await eventsOf(ref)).toEqual(events);
    expect((await getCase(ref)).messages).toEqual(messages);
    expect((await patch(ref, { status: 'open' })).status).toBe(409);
  });

  it('rejects a bad status, empty or missing text and unknown fields (400, the usual shape)', async () => {
    const ref = await openCase('Bad bodies');
    for (const body of [{ text: 'hi', status: 'suspended' }, { text: '   \n' }, {}, { text: 42 }, { text: 'hi', cc: ['x@y.test'] }]) {
      const res = await reply(ref, body);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_input', message: expect.any(String) });
    }
    expect((await note(ref, { text: '' })).status).toBe(400);
    expect((await patch(ref, { status: 'new' })).status).toBe(400);
    expect((await patch(ref, {})).status).toBe(400);
    expect((await getCase(ref)).messages).toHaveLength(1);
    expect((await outboxOf(ref)).filter((m) => m.kind !== 'acknowledgement' && m.kind !== 'case_copy')).toEqual([]);
  });

  it('writes internal notes (201), on held cases too, never mailed', async () => {
    const ref = await heldCase('Note me');
    const mails = await outboxOf(ref);
    const res = await note(ref, { text: '  Looks like spam.  ' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ noteId: expect.any(String), case: { reference: ref, status: 'suspended' } });
    const notes = await db().selectFrom('case_notes').select(['id', 'author', 'text']).where('id', '=', res.body.noteId as string).execute();
    expect(notes).toEqual([{ id: res.body.noteId, author: 'api', text: 'Looks like spam.' }]);
    expect((await eventsOf(ref)).at(-1)).toEqual({ kind: 'note_added', actor: 'api', channel: 'api', detail: { noteId: res.body.noteId } });
    expect(await outboxOf(ref)).toEqual(mails);
  });

  it('assigns, unassigns and sets the status (200 with the case); an unknown assignee is 400', async () => {
    const ref = await openCase('Assign me');
    let res = await patch(ref, { assignee: STAFF.toUpperCase() });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ reference: ref, assignee: STAFF, status: 'open' });

    res = await patch(ref, { assignee: 'nobody@vendor.test', status: 'solved' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_input', message: expect.stringContaining('nobody@vendor.test') });
    expect(await getCase(ref)).toMatchObject({ assignee: STAFF, status: 'open' });

    res = await patch(ref, { status: 'solved', assignee: null });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'solved', assignee: null });
    const events = (await eventsOf(ref)).filter((e) => e.kind === 'assigned' || e.kind === 'status_changed');
    expect(events).toEqual([
      { kind: 'assigned', actor: 'api', channel: 'api', detail: { from: null, to: STAFF } },
      { kind: 'assigned', actor: 'api', channel: 'api', detail: { from: STAFF, to: null } },
      { kind: 'status_changed', actor: 'api', channel: 'api', detail: { from: 'open', to: 'solved' } },
    ]);
    // Bob hears of the status change ("CC in all cases"), and it is sent.
    const update = (await outboxOf(ref)).filter((m) => m.kind === 'case_update');
    expect(update.map((m) => m.to_address)).toEqual(['bob@acme.test']);
    await eventually(async () => t.sink.messages.some((m) => m.parsed.messageId === `<${update[0]!.message_id}>`), 15000, 'the case update');
    expect((await call('GET', '/api/cases?status=solved')).body.cases).toEqual([expect.objectContaining({ reference: ref })]);
  });

  it('shows escalation, and solving ends it', async () => {
    const ref = await openCase('Escalate me');
    await escalateCase(t.app.ctx.casework, ref, { email: 'erin@mail.test', name: null }, 'Production is down');
    expect(await getCase(ref)).toMatchObject({ escalated: true });
    expect(await patch(ref, { status: 'solved' })).toMatchObject({ status: 200, body: { escalated: false } });
  });

  it('lists the new statuses and fields; GET /api/cases?status= refuses what is no status', async () => {
    const res = await call('GET', '/api/cases?status=pending');
    expect(res.status).toBe(200);
    const cases = res.body.cases as CaseJson[];
    expect(cases.map((c) => c.status)).toEqual(['pending']);
    expect(Object.keys(cases[0]!).sort()).toEqual(
      ['assignee', 'company', 'createdAt', 'decidedAt', 'escalated', 'firstResponseAt', 'holdReason', 'infrastructure', 'lastCustomerReplyAt', 'reference', 'requesterEmail', 'status', 'subject'].sort(),
    );
    for (const status of ['open', 'solved', 'closed']) expect((await call('GET', `/api/cases?status=${status}`)).status).toBe(200);
    expect((await call('GET', '/api/cases?status=reopened')).status).toBe(400);
  });
});
