import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { createCase, insertAttachments, type IncomingMessage } from '../../src/cases/repository';
import { recordBounce } from '../../src/mail/bounces';
import { deliverOutboxRow } from '../../src/mail/deliver';
import type { CaseView } from '../../src/mail/kinds';
import { newMessageId, addToOutbox } from '../../src/mail/outbox';
import { createTestApp, type TestApp } from '../support/env';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink';

const SUPPORT = 'support@support.example.com';

/**
 * A staff reply goes out as a person's mail: to the requester with the case's participants in Cc
 * (header and envelope), threaded on the customer's message, with the Message-ID written on its
 * message row, carrying that row's attachments (a large one from its large object), and without
 * the headers of automatic mail. Its copy to CC-in-all-cases members is automatic mail.
 */
describe('staff reply mail', () => {
  let app: TestApp;
  let sink: SmtpSink;

  beforeAll(async () => {
    sink = await startSmtpSink();
    app = await createTestApp({ SMTP_URL: sink.url, SUPPORT_ADDRESS: SUPPORT });
  });
  afterAll(async () => {
    await app.close();
    await sink.stop();
  });
  beforeEach(() => {
    sink.accept();
    sink.messages.length = 0;
  });

  const deps = () => ({ db: app.ctx.db, commitPool: app.ctx.commitPool, transport: app.ctx.transport, sealer: app.ctx.approvals.outbox.sealer, log: app.ctx.log });
  const file = (filename: string, contentType: string, content: Buffer) => ({ filename, contentType, size: content.length, sha256: createHash('sha256').update(content).digest('hex'), content });

  /** A case opened by dave's mail (with Cc), and a staff message on it with two attachments. */
  async function caseWithStaffMessage(tag: string) {
    const small = file('notes.txt', 'text/plain', Buffer.from('quota raised to 200 GB\r\nnothing else changed\n'));
    // Over the 4 MiB that go inline: this one is written into a large object.
    const large = file('backup.log.gz', 'application/gzip', randomBytes(4 * 1024 * 1024 + 12_345));
    const incoming: IncomingMessage = {
      messageId: `question-${tag}@acme.test`,
      fromEmail: 'dave@acme.test',
      fromName: 'Dave Jones',
      recipients: [SUPPORT, 'carol@acme.test'],
      cc: ['carol@acme.test'],
      subject: 'RE: Fwd: Backups fail since Monday',
      text: 'Since Monday the backup fails.',
      html: null,
      sentAt: null,
      attachments: [],
    };
    const chosenId = newMessageId(SUPPORT);
    const ids = await app.ctx.db.transaction().execute(async (tx) => {
      const { id: rawId } = await tx
        .insertInto('raw_messages')
        .values({ source: 'pipe', dedupe_key: `mid:question-${tag}@acme.test`, message_id: incoming.messageId, sha256: 'x', size: 1, raw: Buffer.from('x'), mailbox: null, uidvalidity: null, uid: null, error: null, case_id: null, processed_at: null })
        .returning('id')
        .executeTakeFirstOrThrow();
      const created = await createCase(tx, rawId, incoming, new Date());
      const { id: messageId } = await tx
        .insertInto('messages')
        .values({ case_id: created.id, raw_message_id: null, message_id: chosenId, from_email: SUPPORT, from_name: 'Sam Engineer', recipients: ['dave@acme.test', 'carol@acme.test'], subject: 'Re: Backups fail since Monday', text: 'Hi Dave,\n\nsee the files.', html: null, sent_at: null, received_at: new Date(), author: 'staff', channel: 'dashboard' })
        .returning('id')
        .executeTakeFirstOrThrow();
      await insertAttachments(tx, [small, large].map((attachment) => ({ messageId, attachment })));
      return { caseId: created.id, reference: created.reference, messageId };
    });
    const view: CaseView = { reference: ids.reference, subject: incoming.subject, excerpt: incoming.text, requesterEmail: 'dave@acme.test', requesterName: 'Dave Jones', receivedAt: '2 Dec 2026, 08:00 UTC' };
    return { ...ids, chosenId, small, large, view, question: incoming.messageId! };
  }

  it('goes to the requester with Cc in header and envelope, threaded, its Message-ID chosen, both attachments byte for byte, no automatic headers', async () => {
    const c = await caseWithStaffMessage('reply');
    const [blob] = await sql<{ inline: number; large: number }>`select count(*) filter (where content is not null)::int as inline, count(*) filter (where content_oid is not null)::int as large from attachments where message_id = ${c.messageId}`.execute(app.ctx.db).then((r) => r.rows);
    expect(blob).toEqual({ inline: 1, large: 1 });

    const outboxId = await app.ctx.db.transaction().execute((tx) =>
      addToOutbox(tx, app.ctx.approvals.outbox, {
        kind: 'staff_reply',
        props: { case: c.view, body: 'Hi Dave,\n\nI raised the quota.\nThe log is attached.', staff: { name: 'Sam Engineer', email: 'sam@support.example.com' }, status: 'waiting for your answer' },
        to: 'dave@acme.test',
        caseId: c.caseId,
        cc: ['carol@acme.test', 'erin@acme.test'],
        messageId: c.chosenId,
        attachmentsOf: c.messageId,
        inReplyTo: c.question,
        references: ['first@acme.test'],
        replyTo: 'support+case@support.example.com',
      }),
    );
    expect(await deliverOutboxRow(deps(), outboxId!)).toMatchObject({ result: 'sent' });

    expect(sink.messages).toHaveLength(1);
    const m = sink.messages[0]!;
    expect(m.envelopeTo.sort()).toEqual(['carol@acme.test', 'dave@acme.test', 'erin@acme.test']);
    expect(m.parsed.to && !Array.isArray(m.parsed.to) ? m.parsed.to.text : null).toBe('dave@acme.test');
    expect(m.parsed.cc && !Array.isArray(m.parsed.cc) ? m.parsed.cc.value.map((a) => a.address) : null).toEqual(['carol@acme.test', 'erin@acme.test']);
    expect(m.parsed.replyTo?.text).toBe('support+case@support.example.com');
    expect(m.parsed.inReplyTo).toBe(`<${c.question}>`);
    expect(m.parsed.references).toEqual(['<first@acme.test>', `<${c.question}>`]);
    expect(m.parsed.messageId).toBe(`<${c.chosenId}>`);
    expect(m.parsed.subject).toBe(`Re: [${c.reference}] Backups fail since Monday`);
    expect(m.parsed.headers.has('auto-submitted')).toBe(false);
    expect(m.parsed.headers.has('x-auto-response-suppress')).toBe(false);
    expect(m.parsed.text).toContain('Hi Dave,\n\nI raised the quota.\nThe log is attached.\n');
    expect(m.parsed.text).toContain('This case is now waiting for your answer.');

    const got = m.parsed.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, sha256: createHash('sha256').update(a.content).digest('hex'), size: a.content.length }));
    expect(got).toEqual([c.small, c.large].map((a) => ({ filename: a.filename, contentType: a.contentType, sha256: a.sha256, size: a.size })));
    expect(m.parsed.attachments[0]!.content.equals(c.small.content)).toBe(true);
    expect(m.parsed.attachments[1]!.content.equals(c.large.content)).toBe(true);

    const row = await app.ctx.db.selectFrom('outbox').select(['status', 'smtp_response', 'cc_addresses', 'message_ref']).where('id', '=', outboxId!).executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'sent', smtp_response: expect.stringMatching(/^250/), cc_addresses: ['carol@acme.test', 'erin@acme.test'], message_ref: c.messageId });
  });

  it('a bounce marks the row for a Cc recipient, and the requester\'s own bounce takes its place', async () => {
    const c = await caseWithStaffMessage('bounce');
    const outboxId = await app.ctx.db.transaction().execute((tx) =>
      addToOutbox(tx, app.ctx.approvals.outbox, { kind: 'staff_reply', props: { case: c.view, body: 'Hello', staff: { name: null, email: 'sam@support.example.com' }, status: null }, to: 'dave@acme.test', caseId: c.caseId, cc: ['carol@acme.test'], messageId: c.chosenId }),
    );
    await deliverOutboxRow(deps(), outboxId!);
    const report = (address: string) => ({ originalMessageIds: [c.chosenId], recipients: [{ address, status: '5.1.1', diagnostic: 'smtp; 550 unknown', action: 'failed' }] });
    const rowOf = () => app.ctx.db.selectFrom('outbox').select(['status', 'bounce_recipient']).where('id', '=', outboxId!).executeTakeFirstOrThrow();
    // Someone who was not a recipient cannot mark it.
    expect(await recordBounce(app.ctx.db, report('mallory@evil.test'), 'support.example.com')).toBe(0);
    expect(await recordBounce(app.ctx.db, report('carol@acme.test'), 'support.example.com')).toBe(1);
    expect(await rowOf()).toEqual({ status: 'bounced', bounce_recipient: 'carol@acme.test' });
    expect(await recordBounce(app.ctx.db, report('dave@acme.test'), 'support.example.com')).toBe(1);
    expect(await rowOf()).toEqual({ status: 'bounced', bounce_recipient: 'dave@acme.test' });
    expect(await recordBounce(app.ctx.db, report('carol@acme.test'), 'support.example.com')).toBe(0);
  });

  it('the copy to a CC-in-all-cases member is automatic mail, without attachments', async () => {
    const c = await caseWithStaffMessage('update');
    const outboxId = await app.ctx.db.transaction().execute((tx) =>
      addToOutbox(tx, app.ctx.approvals.outbox, {
        kind: 'case_update',
        props: { case: c.view, infrastructure: { key: 'acme-prod', name: 'Acme Production', companyName: 'Acme Ltd' }, recipient: { name: 'Bob Builder', email: 'bob@acme.test' }, update: 'reply', body: 'Hi Dave,\nI raised the quota.', status: null, by: 'Sam Engineer' },
        to: 'bob@acme.test',
        caseId: c.caseId,
      }),
    );
    expect(await deliverOutboxRow(deps(), outboxId!)).toMatchObject({ result: 'sent' });
    const m = sink.messages[0]!;
    expect(m.envelopeTo).toEqual(['bob@acme.test']);
    expect(m.parsed.headers.get('auto-submitted')).toBe('auto-generated');
    expect(m.parsed.headers.get('x-auto-response-suppress')).toBe('All');
    expect(m.parsed.cc).toBeUndefined();
    expect(m.parsed.attachments).toHaveLength(0);
    expect(m.parsed.text).toContain('> Hi Dave,\n> I raised the quota.');
  });
});
