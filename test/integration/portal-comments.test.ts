import { sql } from 'kysely';
import { apiOk } from '../support/api';
import { Redis } from 'ioredis';
import { getCaseByReference } from '../../src/cases/api-view';
import { recoverInterrupted } from '../../src/intake/recovery';
import { jobIdFor } from '../../src/queue/jobs';
import { eventually, TEST_REDIS } from '../support/env';
import { portalClient } from '../support/portal';
import { startTestService, type TestService } from '../support/service';
import { csrfIn, type WebClient } from '../support/staff';

const TOKEN = 'portal-comments-api-token-0123456789';
/** MAX_MESSAGE_BYTES, which is also the most one uploaded file may weigh. */
const LIMIT = 64 * 1024;

/**
 * Comments from the customer's side in the portal, on the real service (PostgreSQL, Redis, the
 * workers, the SMTP sink): what a comment stores, what it reopens, the follow-up case after
 * REOPEN_WINDOW, and everything refused (held case, hidden case, no form token, empty text,
 * oversize files) storing nothing.
 */
describe('portal comments (PostgreSQL, Redis, SMTP sink)', () => {
  let t: TestService;
  let erin: WebClient; // user on acme-prod, requester of the cases below
  let bob: WebClient; // administrator of acme-prod
  let gina: WebClient; // globex company admin: sees none of acme's cases
  beforeAll(async () => {
    t = await startTestService({ API_TOKEN: TOKEN, MAX_MESSAGE_BYTES: String(LIMIT), REOPEN_WINDOW: '7d' });
    [erin, bob, gina] = await Promise.all([portalClient(t, 'erin@mail.test'), portalClient(t, 'bob@acme.test'), portalClient(t, 'gina@globex.test')]);
  });
  afterAll(() => t?.close());

  const db = () => t.app.ctx.db;
  const api = (method: string, url: string, body: unknown) => apiOk(t.base, TOKEN, method, url, body);
  let n = 0;
  /** A case Erin mailed, matched open; with `status`, answered by staff with it first. */
  const erinsCase = async (subject: string, status?: 'pending' | 'solved' | 'closed') => {
    const ref = await t.write('Erin <erin@mail.test>', `${subject} ${n++}`);
    await t.caseIn(ref, 'open');
    if (status) await api('POST', `/api/cases/${ref}/replies`, { text: `Staff answer on ${subject}`, status });
    return ref;
  };
  const caseRow = (ref: string) => db().selectFrom('cases').selectAll().where('reference', '=', ref).executeTakeFirstOrThrow();
  const eventsOf = async (ref: string, kind?: string) =>
    db()
      .selectFrom('case_events')
      .select(['kind', 'actor', 'channel', 'detail'])
      .where('case_id', '=', (await caseRow(ref)).id)
      .$if(kind !== undefined, (q) => q.where('kind', '=', kind!))
      .orderBy('id')
      .execute();
  /** Everything a refused comment must leave as it was. */
  const stored = async () => {
    const count = async (table: 'messages' | 'attachments' | 'case_events' | 'cases') => Number((await db().selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
    return { messages: await count('messages'), attachments: await count('attachments'), events: await count('case_events'), cases: await count('cases') };
  };
  const tokenOf = async (client: WebClient) => csrfIn((await client.get('/portal')).text);
  const comment = async (client: WebClient, ref: string, text: string, files: Parameters<WebClient['postMultipart']>[2] = [], csrf?: string | null) =>
    client.postMultipart(`/portal/cases/${ref}/comments`, { ...(csrf === null ? {} : { _csrf: csrf ?? (await tokenOf(client)) }), text }, files);

  it('adds a comment to an open case as a portal message from the customer, with its event, and shows it', async () => {
    const ref = await erinsCase('Router blinking');
    const page = await erin.get(`/portal/cases/${ref}`);
    expect(page.text).toContain(`action="/portal/cases/${ref}/comments" enctype="multipart/form-data"`);
    const res = await comment(erin, ref, 'It blinks <b>orange</b> now.\r\nSince noon.');
    expect([res.status, res.headers.get('location')]).toEqual([303, `/portal/cases/${ref}?notice=commented`]);

    const c = (await getCaseByReference(db(), ref))!;
    expect(c.messages.at(-1)).toMatchObject({ from: 'erin@mail.test', author: 'customer', channel: 'portal', text: 'It blinks <b>orange</b> now.\nSince noon.', attachments: [] });
    expect(c.status).toBe('open');
    expect(c.lastCustomerReplyAt).toEqual(expect.any(String));
    expect(await eventsOf(ref, 'message_added')).toEqual([{ kind: 'message_added', actor: 'erin@mail.test', channel: 'portal', detail: { messageId: c.messages.at(-1)!.id, via: 'portal', attachments: 0 } }]);
    expect(await eventsOf(ref, 'status_changed')).toEqual([]);

    const after = await erin.get(res.headers.get('location')!);
    expect(after.text).toContain('Your comment was added to the case.');
    expect(after.text).toContain('It blinks &lt;b&gt;orange&lt;/b&gt; now.');
    expect(after.text).toContain('Messages (2)');
  });

  it('opens a pending and a solved case again', async () => {
    for (const status of ['pending', 'solved'] as const) {
      const ref = await erinsCase(`Waiting ${status}`, status);
      expect((await caseRow(ref)).status).toBe(status);
      const res = await comment(erin, ref, `Not fixed (${status}).`);
      expect(res.status).toBe(303);
      expect(await caseRow(ref)).toMatchObject({ status: 'open', resolved_at: null });
      expect(await eventsOf(ref, 'status_changed')).toEqual([
        { kind: 'status_changed', actor: 'api', channel: 'api', detail: { from: 'open', to: status } },
        { kind: 'status_changed', actor: 'erin@mail.test', channel: 'portal', detail: { from: status, to: 'open', cause: 'customer_reply' } },
      ]);
    }
  });

  it('after REOPEN_WINDOW starts a follow-up case that is matched like any new case, and says so on the old case', async () => {
    const ref = await erinsCase('Disk full', 'solved');
    const old = await caseRow(ref);
    await sql`update cases set resolved_at = now() - interval '8 days' where id = ${old.id}`.execute(db());
    const res = await comment(erin, ref, 'Full again, a month later.', [{ field: 'attachments', filename: 'df.txt', type: 'text/plain', content: '/dev/sda1 100%' }]);
    expect([res.status, res.headers.get('location')]).toEqual([303, `/portal/cases/${ref}?notice=followed_up`]);

    const follow = await db().selectFrom('cases').selectAll().where('follows_case_id', '=', old.id).executeTakeFirstOrThrow();
    expect(follow).toMatchObject({ requester_email: 'erin@mail.test', subject: old.subject });
    // Matched by the worker (from the job the route queued), and opened: Erin may open cases there.
    await t.caseIn(follow.reference, 'open');
    const c = (await getCaseByReference(db(), follow.reference))!;
    expect(c.messages).toEqual([expect.objectContaining({ author: 'customer', channel: 'portal', text: 'Full again, a month later.', attachments: [{ filename: 'df.txt', contentType: 'text/plain', size: 14 }] })]);
    expect(await eventsOf(ref, 'followed_up')).toEqual([{ kind: 'followed_up', actor: 'erin@mail.test', channel: 'portal', detail: { caseId: follow.id, reference: follow.reference } }]);
    // The old case keeps its two messages and stays solved.
    expect((await getCaseByReference(db(), ref))!).toMatchObject({ status: 'solved', messages: [expect.anything(), expect.anything()] });

    const page = await erin.get(res.headers.get('location')!);
    expect(page.text).toContain(`so your comment started a new case, ${follow.reference}, that follows it.`);
    expect(page.text).toMatch(new RegExp(`Followed up in</dt><dd id="follow-ups">${follow.reference}<`));
    // The notice names the case from the old case's own events: the address bar cannot choose it.
    const plain = await erin.get(`/portal/cases/${await erinsCase('Unrelated')}?notice=followed_up`);
    expect(plain.text).not.toContain('started a new case');
    // Acknowledged by mail like any new case.
    await eventually(async () => t.sink.to('erin@mail.test').some((m) => (m.parsed.subject ?? '').includes(`[${follow.reference}]`)), 15000, 'the follow-up acknowledgement');
  });

  it('leaves a follow-up case `new` when it cannot be queued, and the recovery sweep queues it', async () => {
    const ref = await erinsCase('Fan noisy', 'closed');
    const old = await caseRow(ref);
    await sql`update cases set resolved_at = now() - interval '8 days' where id = ${old.id}`.execute(db());
    // Break adding to the match queue, in Redis itself: BullMQ's add INCRs this counter.
    const redis = new Redis(TEST_REDIS);
    const counter = `${t.app.ctx.config.queuePrefix}:match:id`;
    const queue = t.app.ctx.jobs.boardQueues().find((q) => q.name === 'match')!;
    try {
      const saved = await redis.get(counter);
      await redis.set(counter, 'not-a-number');
      const res = await comment(erin, ref, 'Noisy again.');
      expect(res.headers.get('location')).toBe(`/portal/cases/${ref}?notice=followed_up`);
      const follow = await db().selectFrom('cases').selectAll().where('follows_case_id', '=', old.id).executeTakeFirstOrThrow();
      await new Promise((r) => setTimeout(r, 1000));
      expect((await caseRow(follow.reference)).status).toBe('new');
      expect(await queue.getJob(jobIdFor('match', { caseIds: [follow.id] }))).toBeUndefined();

      if (saved === null) await redis.del(counter);
      else await redis.set(counter, saved);
      const recovered = await recoverInterrupted(t.app.ctx.intake, 0);
      expect(recovered.requeued).toBeGreaterThanOrEqual(1);
      await t.caseIn(follow.reference, 'open');
    } finally {
      redis.disconnect();
    }
  });

  it('stores an attachment with the message, downloadable from the portal by those who see the case only', async () => {
    const ref = await erinsCase('Logs');
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    const res = await comment(erin, ref, 'Logs and a screenshot attached.', [
      { field: 'attachments', filename: 'boot.log', type: 'text/plain', content: 'kernel: ok\nsshd: failed\n' },
      { field: 'attachments', filename: 'screen.png', type: 'image/png', content: png },
    ]);
    expect(res.status).toBe(303);
    const c = (await getCaseByReference(db(), ref))!;
    expect(c.messages.at(-1)!.attachments).toEqual([
      { filename: 'boot.log', contentType: 'text/plain', size: 24 },
      { filename: 'screen.png', contentType: 'image/png', size: png.length },
    ]);
    expect((await eventsOf(ref, 'message_added'))[0]!.detail).toMatchObject({ attachments: 2 });

    const page = await erin.get(`/portal/cases/${ref}`);
    const links = [...page.text.matchAll(/<a href="(\/portal\/attachments\/\d+)" download>([^<]+)<\/a>/g)].map((m) => ({ url: m[1]!, name: m[2]! }));
    expect(links.map((l) => l.name)).toEqual(['boot.log', 'screen.png']);
    const file = await erin.get(links[0]!.url);
    expect([file.status, file.text, file.res.headers.get('content-disposition')]).toEqual([200, 'kernel: ok\nsshd: failed\n', `attachment; filename="boot.log"; filename*=UTF-8''boot.log`]);
    const image = await erin.request(links[1]!.url);
    expect(Buffer.from(await image.arrayBuffer())).toEqual(png);
    expect((await gina.get(links[0]!.url)).status).toBe(404);
  });

  it('refuses, storing nothing, a file over the limit, too many files, empty or overlong text', async () => {
    const ref = await erinsCase('Refusals');
    const before = await stored();
    const big = await comment(erin, ref, 'Too big', [{ field: 'attachments', filename: 'big.bin', content: Buffer.alloc(LIMIT + 1, 1) }]);
    expect(big.status).toBe(400);
    expect(big.headers.get('content-type')).toMatch(/^text\/html/);
    const many = await comment(erin, ref, 'Too many', Array.from({ length: 11 }, (_, i) => ({ field: 'attachments', filename: `f${i}.txt`, content: 'x' })));
    expect(many.status).toBe(400);
    const empty = await comment(erin, ref, ' \r\n\t ', [{ field: 'attachments', filename: 'alone.txt', content: 'a file without words' }]);
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain('a comment needs some text');
    const long = await comment(erin, ref, 'x'.repeat(50_001));
    expect(long.status).toBe(400);
    expect(await stored()).toEqual(before);
    // Just at the limit is fine.
    expect((await comment(erin, ref, 'At the limit', [{ field: 'attachments', filename: 'max.bin', content: Buffer.alloc(LIMIT, 1) }])).status).toBe(303);
  });

  it('refuses a comment without the form token, on a case the person may not see, and on a held or ignored case', async () => {
    const ref = await erinsCase('Guarded');
    const held = await t.write('Mallory <mallory@acme.test>', 'Let me in');
    await t.caseIn(held, 'suspended');
    const before = await stored();

    expect((await comment(erin, ref, 'No token', [], null)).status).toBe(403);
    expect((await comment(erin, ref, 'Wrong token', [], 'x'.repeat(27))).status).toBe(403);
    expect((await erin.post(`/portal/cases/${ref}/comments`, { text: 'urlencoded, no token' })).status).toBe(403);
    // Another session's token is no good either.
    expect((await comment(erin, ref, 'Bob’s token', [], await tokenOf(bob))).status).toBe(403);

    const hidden = await comment(gina, ref, 'Not my case');
    const unknown = await comment(gina, 'CASE-999999', 'No such case');
    expect([hidden.status, unknown.status]).toEqual([404, 404]);
    expect((await hidden.text()).replace(ref, 'X')).toBe((await unknown.text()).replace('CASE-999999', 'X'));
    expect((await comment(erin, held, 'Not mine either')).status).toBe(404);

    // Bob administers acme-prod and sees the held case, which takes no comment until decided.
    expect((await bob.get(`/portal/cases/${held}`)).text).not.toContain('/comments"');
    const refused = await comment(bob, held, 'Let them in?');
    expect(refused.status).toBe(409);
    expect(refused.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await refused.text()).toContain(`${held} cannot take comments yet`);
    expect(await stored()).toEqual(before);

    const decided = await bob.post(`/portal/cases/${held}/decision`, { _csrf: await tokenOf(bob), decision: 'ignore' });
    expect(decided.status).toBe(303);
    await t.caseIn(held, 'ignored');
    const afterIgnore = await stored();
    expect((await comment(bob, held, 'And now?')).status).toBe(409);
    expect(await stored()).toEqual(afterIgnore);
  });

  it('lists solved and closed cases with a status filter in customer words, and shows staff replies, never internal notes', async () => {
    const solved = await erinsCase('Done already', 'solved');
    const closed = await erinsCase('Long done', 'closed');
    await api('POST', `/api/cases/${closed}/notes`, { text: 'INTERNAL: customer keeps rebooting the core switch' });
    await api('POST', `/api/cases/${solved}/notes`, { text: 'INTERNAL: do not promise a date' });

    const list = await erin.get('/portal/cases');
    for (const [value, words] of [['pending', 'waiting for you'], ['solved', 'solved'], ['closed', 'closed']]) expect(list.text).toContain(`<option value="${value}">${words}</option>`);
    const refs = (html: string) => [...html.matchAll(/href="\/portal\/cases\/(CASE-\d+)"/g)].map((m) => m[1]);
    const closedList = await erin.get('/portal/cases?status=closed');
    expect(refs(closedList.text)).toContain(closed);
    expect(refs(closedList.text)).not.toContain(solved);
    expect(closedList.text).toContain('<option value="closed" selected>closed</option>');
    const solvedList = await erin.get('/portal/cases?status=solved');
    expect(refs(solvedList.text)).toContain(solved);
    expect(refs(solvedList.text)).not.toContain(closed);

    for (const [ref, words] of [[closed, 'closed: comment here if you need more help with it'], [solved, 'solved: reply or comment if it is not, and the case opens again']] as const) {
      const page = await erin.get(`/portal/cases/${ref}`);
      expect(page.status).toBe(200);
      expect(page.text).toContain(`<dd id="case-status">${words}</dd>`);
      expect(page.text).toContain('<strong>Support team</strong>');
      expect(page.text).toContain('Staff answer on');
      expect(page.text).not.toContain('INTERNAL');
      expect(page.text).not.toMatch(/note/i);
      // Bob, an administrator, sees the same: notes are for staff only.
      expect((await bob.get(`/portal/cases/${ref}`)).text).not.toContain('INTERNAL');
    }
  });
});
