import { escalateCase } from '../../src/cases/customer-side';
import { replyToCase } from '../../src/cases/work';
import { fileRawMessage } from '../../src/intake/ingest';
import { setStaffPassword } from '../../src/staff/accounts';
import { startTestService, type TestService } from '../support/service';
import { STAFF_PASSWORD } from '../support/staff';

/** A mail as a client writes it, answering `inReplyTo`. */
function mail(opts: { from: string; inReplyTo: string; id: string; cc?: string; subject?: string; headers?: string[] }): Buffer {
  return Buffer.from(
    [
      ...(opts.headers ?? []),
      `From: ${opts.from}`,
      'To: support@support.example.com',
      ...(opts.cc ? [`Cc: ${opts.cc}`] : []),
      `Subject: ${opts.subject ?? 'Re: Printer on fire'}`,
      `Message-ID: <${opts.id}>`,
      `In-Reply-To: <${opts.inReplyTo}>`,
      '',
      'Some words.',
      '',
    ].join('\r\n'),
  );
}

// Who may thread into a case, and what they bring with them.
describe('threading of casework mail', () => {
  let t: TestService;
  let n = 0;
  const db = () => t.app.ctx.db;
  const caseOf = (ref: string) => db().selectFrom('cases').selectAll().where('reference', '=', ref).executeTakeFirstOrThrow();
  const firstMessageId = async (ref: string) => (await db().selectFrom('messages').innerJoin('cases', 'cases.id', 'messages.case_id').select('messages.message_id').where('cases.reference', '=', ref).orderBy('messages.id').executeTakeFirstOrThrow()).message_id!;
  const messages = async (ref: string) => (await db().selectFrom('messages').innerJoin('cases', 'cases.id', 'messages.case_id').select('messages.id').where('cases.reference', '=', ref).execute()).length;
  const newCase = async () => {
    const ref = await t.write('Bob Builder <bob@acme.test>', `Printer on fire ${++n}`, { to: 'acme-prod@support.example.com' });
    await t.caseIn(ref, 'open');
    return ref;
  };

  beforeAll(async () => {
    t = await startTestService();
  });
  afterAll(() => t.close());

  it('does not take a staff member’s answer to an escalation notice into the customer’s case', async () => {
    await setStaffPassword(db(), 'agent@support.example.com', STAFF_PASSWORD);
    const ref = await newCase();
    await escalateCase(t.app.ctx.casework, ref, { email: 'bob@acme.test', name: 'Bob Builder' }, 'production is down');
    const notice = await db().selectFrom('outbox').select('message_id').where('kind', '=', 'escalation_notice').where('case_id', '=', (await caseOf(ref)).id).executeTakeFirstOrThrow();
    const before = await messages(ref);
    const result = await fileRawMessage(t.app.ctx.intake, mail({ from: 'agent@support.example.com', inReplyTo: notice.message_id, id: `staff-${n}@support.example.com`, subject: `Re: [${ref}] escalated` }), { source: 'pipe' });
    expect(result).not.toMatchObject({ outcome: 'reply' });
    expect(await messages(ref)).toBe(before);
  });

  it('lets a stranger’s reply join the case but not bring their Cc in as participants', async () => {
    const ref = await newCase();
    const result = await fileRawMessage(t.app.ctx.intake, mail({ from: 'stranger@evil.test', cc: 'friend@evil.test', inReplyTo: await firstMessageId(ref), id: `stranger-${n}@evil.test` }), { source: 'pipe' });
    expect(result).toMatchObject({ outcome: 'reply', reference: ref });
    const c = await caseOf(ref);
    const participants = await db().selectFrom('case_participants').select('email').where('case_id', '=', c.id).execute();
    expect(participants.map((p) => p.email)).not.toContain('friend@evil.test');
    // The requester's own Cc still join.
    await fileRawMessage(t.app.ctx.intake, mail({ from: 'bob@acme.test', cc: 'dave@acme.test', inReplyTo: await firstMessageId(ref), id: `bob-${n}@acme.test` }), { source: 'pipe' });
    const after = await db().selectFrom('case_participants').select('email').where('case_id', '=', c.id).execute();
    expect(after.map((p) => p.email)).toContain('dave@acme.test');
  });

  it('keeps our own staff reply as our mail when it comes back, not as a customer message', async () => {
    const ref = await newCase();
    await replyToCase(t.app.ctx.casework, ref, { text: 'Which model is it?' }, { email: 'agent@support.example.com', channel: 'dashboard' });
    const sent = await db().selectFrom('outbox').select(['message_id', 'in_reply_to']).where('kind', '=', 'staff_reply').where('case_id', '=', (await caseOf(ref)).id).executeTakeFirstOrThrow();
    const before = await messages(ref);
    // A distribution group in Cc that holds the support address sends it back to us as it left.
    const result = await fileRawMessage(t.app.ctx.intake, mail({ from: 'Support <support@support.example.com>', inReplyTo: sent.in_reply_to!, id: sent.message_id, subject: `Re: [${ref}] Printer on fire` }), { source: 'pipe' });
    expect(result).toMatchObject({ outcome: 'kept', kind: 'own' });
    expect(await messages(ref)).toBe(before);
  });

  it('restarts the reopen window when staff answer a case closed long ago, so the answer continues it', async () => {
    const ref = await newCase();
    await db().updateTable('cases').set({ status: 'closed', resolved_at: new Date(Date.now() - 10 * 86_400_000) }).where('reference', '=', ref).execute();
    await replyToCase(t.app.ctx.casework, ref, { text: 'Is this still happening?' }, { email: 'agent@support.example.com', channel: 'dashboard' });
    expect((await caseOf(ref)).status).toBe('closed');
    const result = await fileRawMessage(t.app.ctx.intake, mail({ from: 'bob@acme.test', inReplyTo: await firstMessageId(ref), id: `yes-${n}@acme.test` }), { source: 'pipe' });
    expect(result).toMatchObject({ outcome: 'reply', reference: ref });
    expect((await caseOf(ref)).status).toBe('open');
  });
});
