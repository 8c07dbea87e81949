import { sql } from 'kysely';
import { closeSolvedCases } from '../../src/cases/customer-side';
import { appendMessage, startDovecot, type DovecotServer } from '../support/dovecot';
import { eventually } from '../support/env';
import { startTestService, type TestService } from '../support/service';

const TOKEN = 'casework-mail-token-0123456789';
const WEEK_MS = 7 * 86400 * 1000;

function mail(opts: { from: string; subject: string; id: string; to?: string; inReplyTo?: string; body?: string }): string {
  return [
    `From: ${opts.from}`,
    `To: ${opts.to ?? 'support@support.example.com'}`,
    `Subject: ${opts.subject}`,
    `Message-ID: <${opts.id}@casework-mail.test>`,
    ...(opts.inReplyTo ? [`In-Reply-To: ${opts.inReplyTo}`, `References: ${opts.inReplyTo}`] : []),
    `Date: ${new Date().toUTCString()}`,
    '',
    opts.body ?? `${opts.subject}\r\n\r\n> quoted earlier text`,
    '',
  ].join('\r\n');
}

describe('casework through the real mailbox: replies reopen, follow up, the sweep closes', () => {
  let dovecot: DovecotServer;
  let t: TestService;
  beforeAll(async () => {
    dovecot = await startDovecot();
    t = await startTestService({ IMAP_URL: dovecot.url, IMAP_POLL_SECONDS: '1', API_TOKEN: TOKEN, REOPEN_WINDOW: '7d' });
  });
  afterAll(async () => {
    await t?.close();
    await dovecot?.stop();
  });

  const db = () => t.app.ctx.db;
  const api = async (method: string, url: string, body: unknown) => {
    const res = await fetch(t.base + url, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBeLessThan(300);
    return (await res.json()) as Record<string, unknown>;
  };
  const getCase = async (ref: string) => (await (await fetch(`${t.base}/api/cases/${ref}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { status: string; lastCustomerReplyAt: string | null; messages: Array<{ from: string }> };
  const caseRow = (ref: string) => db().selectFrom('cases').selectAll().where('reference', '=', ref).executeTakeFirstOrThrow();
  const eventsOf = async (ref: string, kind: string) =>
    db().selectFrom('case_events').select(['actor', 'channel', 'detail']).where('case_id', '=', (await caseRow(ref)).id).where('kind', '=', kind).orderBy('id').execute();
  const caseBySubject = (subject: string, status?: string) =>
    eventually(async () => {
      const c = await db().selectFrom('cases').select(['id', 'reference', 'status', 'follows_case_id']).where('subject', '=', subject).executeTakeFirst();
      return c && (!status || c.status === status) ? c : undefined;
    }, 15000, `a case "${subject}"${status ? ` ${status}` : ''}`);
  const messageCount = async (ref: string) => (await getCase(ref)).messages.length;
  const waitMessages = (ref: string, n: number) => eventually(async () => (await messageCount(ref)) === n, 15000, `${n} messages on ${ref}`);

  /** Erin's case through the mailbox, matched open; and a staff reply through the API, as Erin's mailer got it. */
  const answeredCase = async (subject: string, status: 'pending' | 'solved') => {
    await appendMessage(dovecot, mail({ from: 'erin@mail.test', subject, id: `${subject.replace(/\W+/g, '-')}-1` }));
    const { reference } = await caseBySubject(subject, 'open');
    const out = await api('POST', `/api/cases/${reference}/replies`, { text: 'Have you tried turning it off and on again?', status });
    const sent = await eventually(async () => t.sink.to('erin@mail.test').find((m) => m.parsed.subject === `Re: [${reference}] ${subject}`), 15000, 'the staff reply');
    expect(out.case).toMatchObject({ status });
    return { reference, messageId: sent.parsed.messageId!, replyAddress: sent.parsed.replyTo!.value[0]!.address! };
  };

  it('a reply from the requester to the staff reply (In-Reply-To) opens a pending case again', async () => {
    const { reference, messageId } = await answeredCase('Printer on fire', 'pending');
    expect((await caseRow(reference)).last_customer_reply_at).toBeNull();
    await appendMessage(dovecot, mail({ from: 'erin@mail.test', subject: `Re: [${reference}] Printer on fire`, id: 'fire-2', inReplyTo: messageId, body: 'Still burning.' }));
    await t.caseIn(reference, 'open');
    const c = await getCase(reference);
    expect(c.messages.map((m) => m.from)).toEqual(['erin@mail.test', 'support@support.example.com', 'erin@mail.test']);
    expect(c.lastCustomerReplyAt).toEqual(expect.any(String));
    expect(await eventsOf(reference, 'status_changed')).toEqual([
      { actor: 'api', channel: 'api', detail: { from: 'open', to: 'pending' } },
      { actor: 'erin@mail.test', channel: 'mail', detail: { from: 'pending', to: 'open', cause: 'customer_reply' } },
    ]);
    // A reply is no new case: nothing new was matched or acknowledged.
    expect(await db().selectFrom('cases').select('id').where('subject', 'like', '%Printer on fire%').execute()).toHaveLength(1);
  });

  it('a solved case answered within REOPEN_WINDOW (to the reply address) opens again', async () => {
    const { reference, replyAddress } = await answeredCase('Fan noisy', 'solved');
    expect((await caseRow(reference)).resolved_at).not.toBeNull();
    await appendMessage(dovecot, mail({ from: 'erin@mail.test', to: replyAddress, subject: 'Re: Fan noisy', id: 'fan-2', body: 'Noisy again.' }));
    await t.caseIn(reference, 'open');
    expect((await caseRow(reference)).resolved_at).toBeNull();
  });

  it('a reply after REOPEN_WINDOW starts a follow-up case, matched like any new case', async () => {
    const { reference, replyAddress } = await answeredCase('Disk full', 'solved');
    const old = await caseRow(reference);
    await sql`update cases set resolved_at = now() - interval '8 days' where id = ${old.id}`.execute(db());
    await appendMessage(dovecot, mail({ from: 'erin@mail.test', to: replyAddress, subject: `Re: [${reference}] Disk full`, id: 'disk-2', body: 'Full again, a month later.' }));
    const follow = await caseBySubject(`Re: [${reference}] Disk full`, 'open');
    expect(follow.reference).not.toBe(reference);
    expect(follow.follows_case_id).toBe(old.id);
    expect(await eventsOf(reference, 'followed_up')).toEqual([{ actor: 'erin@mail.test', channel: 'mail', detail: { caseId: follow.id, reference: follow.reference } }]);
    expect(await eventsOf(follow.reference, 'created')).toEqual([expect.objectContaining({ detail: expect.objectContaining({ followsCaseId: old.id }) })]);
    // Matched and acknowledged like any new case; the old one keeps its two messages and is not reopened.
    await eventually(async () => t.sink.to('erin@mail.test').some((m) => (m.parsed.subject ?? '').includes(`[${follow.reference}]`)), 15000, 'the follow-up acknowledgement');
    expect(await messageCount(reference)).toBe(2);
    expect(['solved', 'closed']).toContain((await caseRow(reference)).status);
  });

  it('a reply from someone who is neither requester nor participant does not reopen a pending case', async () => {
    const { reference, messageId } = await answeredCase('Screen flickers', 'pending');
    await appendMessage(dovecot, mail({ from: 'dave@acme.test', subject: `Re: [${reference}] Screen flickers`, id: 'flicker-2', inReplyTo: messageId, body: 'Mine too.' }));
    await waitMessages(reference, 3);
    expect((await caseRow(reference)).status).toBe('pending');
    expect(await eventsOf(reference, 'status_changed')).toHaveLength(1);
  });

  it('the sweep closes a solved case past REOPEN_WINDOW and leaves one inside it', async () => {
    const past = (await answeredCase('Old solved', 'solved')).reference;
    const recent = (await answeredCase('New solved', 'solved')).reference;
    const resolvedAt = new Date(Date.now() - WEEK_MS - 3600_000);
    await db().updateTable('cases').set({ resolved_at: resolvedAt }).where('reference', '=', past).execute();
    // The service's own sweep may run first (every 30 s): either way the outcome is the same.
    await closeSolvedCases(db(), t.app.ctx.casework.reopenWindowMs);
    expect(await caseRow(past)).toMatchObject({ status: 'closed', resolved_at: resolvedAt });
    expect(await eventsOf(past, 'status_changed')).toEqual([
      { actor: 'api', channel: 'api', detail: { from: 'open', to: 'solved' } },
      { actor: 'system', channel: 'system', detail: { from: 'solved', to: 'closed', cause: 'reopen_window' } },
    ]);
    expect((await caseRow(recent)).status).toBe('solved');
    expect(await closeSolvedCases(db(), t.app.ctx.casework.reopenWindowMs)).toBe(0);
  });
});
