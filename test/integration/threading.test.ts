import { appendMessage, startDovecot, type DovecotServer } from '../support/dovecot';
import { eventually } from '../support/env';
import { startTestService, type TestService } from '../support/service';

function mail(opts: { from: string; subject: string; id: string; to?: string; cc?: string; inReplyTo?: string; references?: string; body?: string }): string {
  return [
    `From: ${opts.from}`,
    `To: ${opts.to ?? 'support@support.example.com'}`,
    ...(opts.cc ? [`Cc: ${opts.cc}`] : []),
    `Subject: ${opts.subject}`,
    `Message-ID: <${opts.id}@threading.test>`,
    ...(opts.inReplyTo ? [`In-Reply-To: ${opts.inReplyTo}`] : []),
    ...(opts.references ? [`References: ${opts.references}`] : []),
    'Date: Mon, 23 Nov 2026 10:00:00 +0000',
    '',
    opts.body ?? `${opts.subject}\r\n\r\n> quoted earlier text`,
    '',
  ].join('\r\n');
}

describe('threading through the real mailbox', () => {
  let dovecot: DovecotServer;
  let t: TestService;
  beforeAll(async () => {
    dovecot = await startDovecot();
    t = await startTestService({ IMAP_URL: dovecot.url, IMAP_POLL_SECONDS: '1' });
  });
  afterAll(async () => {
    await t?.close();
    await dovecot?.stop();
  });

  const messagesOf = async (reference: string) =>
    t.app.ctx.db.selectFrom('messages as m').innerJoin('cases as c', 'c.id', 'm.case_id').select(['m.subject', 'm.message_id']).where('c.reference', '=', reference).orderBy('m.id').execute();
  const caseBySubject = (subject: string) => eventually(async () => t.app.ctx.db.selectFrom('cases').select(['id', 'reference', 'status']).where('subject', '=', subject).executeTakeFirst());
  const waitMessages = (reference: string, n: number) => eventually(async () => ((await messagesOf(reference)).length === n ? messagesOf(reference) : undefined), 15000, `${n} messages on ${reference}`);

  let reference = '';
  let ackId = '';
  let replyAddress = '';

  it('opens a case and acknowledges it with the reference tag and the case reply address', async () => {
    await appendMessage(dovecot, mail({ from: 'bob@acme.test', cc: 'Pat <pat@partner.test>, acme-prod@support.example.com', subject: 'Printer jammed', id: 'thread-1' }));
    reference = (await caseBySubject('Printer jammed')).reference;
    const ack = await eventually(async () => t.sink.to('bob@acme.test').find((m) => (m.parsed.subject ?? '').includes(reference)));
    expect(ack.parsed.subject).toContain(`[${reference}]`);
    ackId = ack.parsed.messageId!;
    replyAddress = ack.parsed.replyTo!.value[0]!.address!;
    expect(replyAddress).toMatch(/^support\+case-[0-9a-z]+-[a-z2-7]{16}@support\.example\.com$/);
    const participants = await t.app.ctx.db.selectFrom('case_participants').select('email').execute();
    expect(participants.map((p) => p.email)).toEqual(['pat@partner.test']);
  });

  it('joins a reply by In-Reply-To', async () => {
    await appendMessage(dovecot, mail({ from: 'bob@acme.test', subject: `Re: [${reference}] Printer jammed`, id: 'thread-2', inReplyTo: ackId }));
    await waitMessages(reference, 2);
  });

  it('joins a reply by References only (a client that drops In-Reply-To)', async () => {
    await appendMessage(dovecot, mail({ from: 'bob@acme.test', subject: 'still jammed', id: 'thread-3', references: `<unrelated@elsewhere.test> ${ackId}` }));
    await waitMessages(reference, 3);
  });

  it('joins mail sent to the case reply address', async () => {
    await appendMessage(dovecot, mail({ from: 'bob@acme.test', to: replyAddress, subject: 'photo of the printer', id: 'thread-4' }));
    await waitMessages(reference, 4);
  });

  it('joins by subject tag when a participant writes', async () => {
    await appendMessage(dovecot, mail({ from: 'pat@partner.test', subject: `[${reference}] same here`, id: 'thread-5' }));
    const messages = await waitMessages(reference, 5);
    expect(messages.map((m) => m.message_id)).toEqual(['thread-1', 'thread-2', 'thread-3', 'thread-4', 'thread-5'].map((id) => `${id}@threading.test`));
    expect(await t.app.ctx.db.selectFrom('cases').select('id').execute()).toHaveLength(1);
  });

  it('opens a new case when a stranger uses the subject tag', async () => {
    await appendMessage(dovecot, mail({ from: 'mallory@acme.test', subject: `[${reference}] let me in`, id: 'thread-6' }));
    const other = await caseBySubject(`[${reference}] let me in`);
    expect(other.reference).not.toBe(reference);
    expect(await messagesOf(reference)).toHaveLength(5);
  });

  it('holds a reply to a held case with it', async () => {
    const held = await eventually(async () => {
      const c = await t.app.ctx.db.selectFrom('cases').select(['reference', 'status']).where('subject', '=', `[${reference}] let me in`).executeTakeFirst();
      return c?.status === 'suspended' ? c : undefined;
    });
    const notice = await eventually(async () => t.sink.to('mallory@acme.test').find((m) => (m.parsed.subject ?? '').includes(held.reference)));
    await appendMessage(dovecot, mail({ from: 'mallory@acme.test', subject: 'Re: on hold?', id: 'thread-7', inReplyTo: notice.parsed.messageId! }));
    await waitMessages(held.reference, 2);
    const after = await t.app.ctx.db.selectFrom('cases').select('status').where('reference', '=', held.reference).executeTakeFirstOrThrow();
    expect(after.status).toBe('suspended');
    // A reply is not a new case: no acknowledgement or approval round for it.
    expect(t.sink.to('mallory@acme.test').filter((m) => /on hold\?/.test(m.parsed.subject ?? ''))).toHaveLength(0);
  });
});
