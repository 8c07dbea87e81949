import { sql } from 'kysely';
import { runMaintenance } from '../../src/queue/handlers';
import { fileRawMessage } from '../../src/intake/ingest';
import { deliverOutboxRow } from '../../src/mail/deliver';
import { eventually } from '../support/env';
import { startTestService, type TestService } from '../support/service';

function reply(opts: { from: string; to: string; firstLine: string; inReplyTo?: string; headers?: string[] }): Buffer {
  return Buffer.from(
    [
      ...(opts.headers ?? []),
      `From: ${opts.from}`,
      `To: ${opts.to}`,
      'Subject: Re: Authorize?',
      `Message-ID: <reply-${Math.random().toString(36).slice(2)}@acme.test>`,
      ...(opts.inReplyTo ? [`In-Reply-To: ${opts.inReplyTo}`] : []),
      '',
      opts.firstLine,
      '',
      '> On Mon, Support wrote:',
      '> Authorize rita@acme.test to open cases?',
      '',
    ].join('\r\n'),
  );
}

describe('approval by reply, ignore, and the approval clock', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ APPROVAL_MAIL_PER_HOUR: '4' });
  });
  afterAll(() => t.close());

  const requestTo = (approver: string, requester: string) =>
    eventually(async () => t.sink.to(approver).find((m) => (m.parsed.subject ?? '').includes(`Authorize ${requester}`)));
  const replyAddress = async (approver: string, requester: string) => (await requestTo(approver, requester)).parsed.replyTo!.value[0]!.address!;
  const rawCount = async () => Number((await t.app.ctx.db.selectFrom('raw_messages').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
  const caseCount = async () => Number((await t.app.ctx.db.selectFrom('cases').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);

  it('ignores a reply from anyone but the approver the token was issued to, records it, and makes no case', async () => {
    const ref = await t.write('Rita <rita@acme.test>', 'Reply approval please');
    await t.caseIn(ref, 'suspended');
    const address = await replyAddress('bob@acme.test', 'rita@acme.test');
    const cases = await caseCount();
    const forged = await fileRawMessage(t.app.ctx.intake, reply({ from: 'eve@evil.test', to: address, firstLine: 'Yes' }), { source: 'pipe' });
    expect(forged).toMatchObject({ outcome: 'kept', kind: 'approval_reply' });
    const note = await eventually(async () => (await t.app.ctx.db.selectFrom('raw_messages').select('error').where('id', '=', (forged as { rawId: string }).rawId).executeTakeFirstOrThrow()).error);
    expect(note).toMatch(/rejected: sent by eve@evil\.test/);
    expect(await caseCount()).toBe(cases);
    const c = await t.caseIn(ref, 'suspended');
    expect(c.status).toBe('suspended');
    expect(t.sink.to('eve@evil.test')).toHaveLength(0);
  });

  it('decides nothing on a reply whose first line is not a decision', async () => {
    const address = await replyAddress('bob@acme.test', 'rita@acme.test');
    const result = await fileRawMessage(t.app.ctx.intake, reply({ from: 'bob@acme.test', to: address, firstLine: 'Who is this?' }), { source: 'pipe' });
    const note = await eventually(async () => (await t.app.ctx.db.selectFrom('raw_messages').select('error').where('id', '=', (result as { rawId: string }).rawId).executeTakeFirstOrThrow()).error);
    expect(note).toMatch(/neither authorize nor ignore/);
  });

  it('authorizes on a "Yes" from the approver, releases the case and confirms to the approver', async () => {
    const request = await requestTo('bob@acme.test', 'rita@acme.test');
    const address = request.parsed.replyTo!.value[0]!.address!;
    const rawBefore = await rawCount();
    await fileRawMessage(t.app.ctx.intake, reply({ from: 'Bob <BOB@acme.test>', to: address, firstLine: 'Yes, go ahead.', inReplyTo: request.parsed.messageId }), { source: 'pipe' });
    const ref = (await t.app.ctx.db.selectFrom('cases').select('reference').where('subject', '=', 'Reply approval please').executeTakeFirstOrThrow()).reference;
    await t.caseIn(ref, 'open');
    expect(await rawCount()).toBe(rawBefore + 1);
    const confirmation = await eventually(async () => t.sink.to('bob@acme.test').find((m) => /authorized/i.test(m.parsed.text ?? '') && !/Authorize rita/.test(m.parsed.subject ?? '')));
    expect(confirmation.parsed.text).toMatch(/rita@acme\.test/);
    const approval = await t.app.ctx.db.selectFrom('approvals').select(['status', 'channel', 'decided_by']).where('requester_email', '=', 'rita@acme.test').executeTakeFirstOrThrow();
    expect(approval).toEqual({ status: 'authorized', channel: 'reply', decided_by: 'bob@acme.test' });
    await eventually(async () => t.sink.to('rita@acme.test').some((m) => /authorized/i.test(m.parsed.text ?? '')));
  });

  it('ignores from the link: the case becomes ignored, the requester gets nothing more, and writes again into a new request', async () => {
    const ref = await t.write('ivy@acme.test', 'Ignore me');
    await t.caseIn(ref, 'suspended');
    const request = await requestTo('bob@acme.test', 'ivy@acme.test');
    const link = /href="([^"]*\/approvals\/[^"?]*)/.exec(String(request.parsed.html))![1]!;
    const res = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'decision=ignore' });
    expect(res.status).toBe(200);
    await t.caseIn(ref, 'ignored');
    const mailsToIvy = t.sink.to('ivy@acme.test').length;
    expect(await t.app.ctx.db.selectFrom('contacts').select('id').where('email', '=', 'ivy@acme.test').execute()).toHaveLength(0);

    const again = await t.write('ivy@acme.test', 'Ignore me again');
    await t.caseIn(again, 'suspended');
    const approvals = await t.app.ctx.db.selectFrom('approvals').select('status').where('requester_email', '=', 'ivy@acme.test').orderBy('id').execute();
    expect(approvals.map((a) => a.status)).toEqual(['ignored', 'pending']);
    await eventually(async () => t.sink.to('ivy@acme.test').length === mailsToIvy + 1); // the new held notice only
  });

  it('holds back approval mail past the hourly cap per company; the cases stay held and visible', async () => {
    // The cap is 4 approval mails an hour for acme; earlier tests used 3 (rita, ivy twice).
    const ref = await t.write('zack@acme.test', 'Over the cap');
    await t.caseIn(ref, 'suspended');
    const approval = await eventually(async () =>
      t.app.ctx.db.selectFrom('approvals').select(['status', 'mail_held']).where('requester_email', '=', 'zack@acme.test').executeTakeFirst(),
    );
    // One more is allowed, so zack's request (one approver) goes out; the next one is capped.
    expect(approval).toEqual({ status: 'pending', mail_held: null });
    const capped = await t.write('yuri@acme.test', 'Capped request');
    const held = await t.caseIn(capped, 'suspended');
    const row = await t.app.ctx.db.selectFrom('approvals').select(['status', 'mail_held']).where('requester_email', '=', 'yuri@acme.test').executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'pending', mail_held: 'capped' });
    expect(t.sink.to('bob@acme.test').filter((m) => (m.parsed.subject ?? '').includes('yuri@acme.test'))).toHaveLength(0);
    const api = await (await fetch(`${t.base}/api/cases/${held.reference}`, { headers: { authorization: `Bearer ${t.app.ctx.config.apiToken}` } })).json();
    expect(api).toMatchObject({ status: 'suspended', holdReason: 'unknown_sender', approval: { status: 'pending', mailHeld: 'capped' } });

    // An hour later (simulated) the clock sends it.
    await t.app.ctx.db.updateTable('outbox').set({ created_at: sql`now() - interval '2 hours'` }).execute();
    await runMaintenance(t.app.ctx, 0);
    await eventually(async () => t.sink.to('bob@acme.test').some((m) => (m.parsed.subject ?? '').includes('yuri@acme.test')));
  });

  it('keeps a request with no approver at all held, and says so in the API', async () => {
    const company = await t.app.ctx.db.insertInto('companies').values({ key: 'umbrella', name: 'Umbrella' }).returning('id').executeTakeFirstOrThrow();
    await t.app.ctx.db.insertInto('company_domains').values({ company_id: company.id, domain: 'umbrella.test' }).execute();
    await t.app.ctx.db.insertInto('infrastructures').values({ company_id: company.id, key: 'umbrella-main', name: 'Umbrella Main', is_default: true }).execute();
    const ref = await t.write('nemo@umbrella.test', 'Nobody approves me');
    await t.caseIn(ref, 'suspended');
    const api = await eventually(async () => {
      const body = (await (await fetch(`${t.base}/api/cases/${ref}`, { headers: { authorization: `Bearer ${t.app.ctx.config.apiToken}` } })).json()) as { approval?: unknown };
      return body.approval ? body : undefined;
    });
    expect((api as { approval: unknown }).approval).toMatchObject({ status: 'pending', mailHeld: 'no_approvers', approvers: [] });
  });

  it('reminds approvers once after APPROVAL_REMIND_AFTER, and expires the request after APPROVAL_TTL', async () => {
    const ref = await t.write('otto@acme.test', 'Remind them');
    await t.caseIn(ref, 'suspended');
    await requestTo('bob@acme.test', 'otto@acme.test');
    await t.app.ctx.db.updateTable('outbox').set({ created_at: sql`now() - interval '2 hours'` }).execute(); // clear the cap
    await t.app.ctx.db.updateTable('approvals').set({ remind_at: sql`now() - interval '1 minute'` }).where('requester_email', '=', 'otto@acme.test').execute();
    await runMaintenance(t.app.ctx, 0);
    await runMaintenance(t.app.ctx, 0);
    const reminders = await eventually(async () => {
      const r = t.sink.to('bob@acme.test').filter((m) => (m.parsed.subject ?? '').includes('otto@acme.test'));
      return r.length === 2 ? r : undefined;
    });
    expect(reminders[1]!.parsed.text).toMatch(/still/i);

    await t.app.ctx.db.updateTable('approvals').set({ expires_at: sql`now() - interval '1 second'` }).where('requester_email', '=', 'otto@acme.test').execute();
    await runMaintenance(t.app.ctx, 0);
    const approval = await t.app.ctx.db.selectFrom('approvals').select(['status', 'channel']).where('requester_email', '=', 'otto@acme.test').executeTakeFirstOrThrow();
    expect(approval).toEqual({ status: 'expired', channel: 'expiry' });
    expect((await t.caseIn(ref, 'suspended')).status).toBe('suspended');
  });

  it('retries a temporary SMTP refusal, fails a permanent one, and never sends a row twice', async () => {
    const ref = await t.write('bob@acme.test', 'Outbox behaviour');
    await t.caseIn(ref, 'open');
    const row = await eventually(async () =>
      t.app.ctx.db.selectFrom('outbox').select(['id', 'status']).where('subject', 'like', '%Outbox behaviour%').where('status', '=', 'sent').executeTakeFirst(),
    );
    const deps = { db: t.app.ctx.db, commitPool: t.app.ctx.commitPool, transport: t.app.ctx.transport, sealer: t.app.ctx.approvals.outbox.sealer, log: t.app.ctx.log };
    // The row turns `sent` just before the end-of-data dot: the server may not have answered yet.
    await eventually(async () => t.sink.to('bob@acme.test', /Outbox behaviour/).length > 0);
    expect(await deliverOutboxRow(deps, row.id)).toEqual({ result: 'skipped', reason: 'sent' });
    expect(t.sink.to('bob@acme.test', /Outbox behaviour/)).toHaveLength(1);

    const { id } = await t.app.ctx.db
      .insertInto('outbox')
      .values({ kind: 'acknowledgement', to_address: 'bob@acme.test', subject: 'Temporary', text: 't', html: '<p>t</p>', message_id: `tmp-${Date.now()}@support.example.com`, in_reply_to: null, references: null, reply_to: null, sent_at: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    t.sink.refuse(451);
    await expect(deliverOutboxRow(deps, id)).rejects.toThrow(/451/);
    expect(await t.app.ctx.db.selectFrom('outbox').select(['status', 'attempts', 'last_error']).where('id', '=', id).executeTakeFirstOrThrow()).toMatchObject({ status: 'pending', attempts: 1, last_error: expect.stringMatching(/451/) });
    t.sink.refuse(550);
    expect(await deliverOutboxRow(deps, id)).toMatchObject({ result: 'failed' });
    expect(await t.app.ctx.db.selectFrom('outbox').select('status').where('id', '=', id).executeTakeFirstOrThrow()).toEqual({ status: 'failed' });
    t.sink.accept();
    expect(await deliverOutboxRow(deps, id)).toEqual({ result: 'skipped', reason: 'failed' });
  });
});

describe('approval by reply with INBOUND_AUTHSERV_ID set', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ INBOUND_AUTHSERV_ID: 'mx.support.example.com' });
  });
  afterAll(() => t.close());

  it('decides only when our own server recorded dmarc=pass for the reply', async () => {
    const ref = await t.write('Vera <vera@acme.test>', 'Verified replies only');
    await t.caseIn(ref, 'suspended');
    const request = await eventually(async () => t.sink.to('bob@acme.test').find((m) => (m.parsed.subject ?? '').includes('vera@acme.test')));
    const address = request.parsed.replyTo!.value[0]!.address!;
    const noteOf = async (rawId: string) => eventually(async () => (await t.app.ctx.db.selectFrom('raw_messages').select('error').where('id', '=', rawId).executeTakeFirstOrThrow()).error);

    // A header the sender wrote themselves, with another authserv-id, proves nothing.
    const forged = await fileRawMessage(t.app.ctx.intake, reply({ from: 'bob@acme.test', to: address, firstLine: 'Yes', headers: ['Authentication-Results: mx.attacker.test; dmarc=pass'] }), { source: 'pipe' });
    expect(await noteOf((forged as { rawId: string }).rawId)).toMatch(/sender not verified \(dmarc=none\)/);
    const failing = await fileRawMessage(t.app.ctx.intake, reply({ from: 'bob@acme.test', to: address, firstLine: 'Yes', headers: ['Authentication-Results: mx.support.example.com; spf=pass; dmarc=fail header.from=acme.test'] }), { source: 'pipe' });
    expect(await noteOf((failing as { rawId: string }).rawId)).toMatch(/dmarc=fail/);
    expect((await t.caseIn(ref, 'suspended')).status).toBe('suspended');

    const verified = await fileRawMessage(t.app.ctx.intake, reply({ from: 'bob@acme.test', to: address, firstLine: 'Yes', headers: ['Authentication-Results: mx.support.example.com; dkim=pass header.d=acme.test; dmarc=pass header.from=acme.test'] }), { source: 'pipe' });
    expect(await noteOf((verified as { rawId: string }).rawId)).toBe('decided: authorize');
    await t.caseIn(ref, 'open');
  });

  it('does not take a DMARC pass for another From domain as the approver’s (several From, Sender: the approver)', async () => {
    const ref = await t.write('Walt <walt@acme.test>', 'Two authors');
    await t.caseIn(ref, 'suspended');
    const request = await eventually(async () => t.sink.to('bob@acme.test').find((m) => (m.parsed.subject ?? '').includes('walt@acme.test')));
    const address = request.parsed.replyTo!.value[0]!.address!;
    const trick = Buffer.from(
      [
        'Authentication-Results: mx.support.example.com; dkim=pass header.d=evil.test; spf=pass smtp.mailfrom=evil.test; dmarc=pass header.from=evil.test',
        'From: mallory@evil.test, bob@acme.test',
        'Sender: bob@acme.test',
        `To: ${address}`,
        'Subject: Re: Authorize?',
        'Message-ID: <two-authors@evil.test>',
        '',
        'Yes',
        '',
      ].join('\r\n'),
    );
    const result = await fileRawMessage(t.app.ctx.intake, trick, { source: 'pipe' });
    const note = await eventually(async () => (await t.app.ctx.db.selectFrom('raw_messages').select('error').where('id', '=', (result as { rawId: string }).rawId).executeTakeFirstOrThrow()).error);
    expect(note).toMatch(/sender not verified \(dmarc=pass header\.from=evil\.test, not acme\.test\)/);
    const approval = await t.app.ctx.db.selectFrom('approvals').select('status').where('requester_email', '=', 'walt@acme.test').executeTakeFirstOrThrow();
    expect(approval.status).toBe('pending');
    expect((await t.caseIn(ref, 'suspended')).status).toBe('suspended');
  });
});
