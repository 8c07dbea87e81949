import { fileRawMessage } from '../../src/intake/ingest';
import { eventually } from '../support/env';
import { makeMessage } from '../support/messages';
import { startTestService, type TestService } from '../support/service';

const AUTHSERV = 'mx.support.example.com';

describe('oversize mail and unverified senders', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ MAX_MESSAGE_BYTES: '4096', INBOUND_AUTHSERV_ID: AUTHSERV });
  });
  afterAll(() => t.close());

  const verified = (from: string, subject: string, id: string, body?: string) =>
    Buffer.concat([Buffer.from(`Authentication-Results: ${AUTHSERV}; dkim=pass header.d=acme.test; dmarc=pass header.from=acme.test\r\n`), makeMessage({ from, subject, id, body })]);
  const caseOf = async (raw: Buffer) => {
    const result = await fileRawMessage(t.app.ctx.intake, raw, { source: 'pipe' });
    if (result.outcome !== 'case') throw new Error(result.outcome);
    return result.reference;
  };

  it('opens a member whose mail our server verified', async () => {
    await t.caseIn(await caseOf(verified('bob@acme.test', 'Verified member', 'v-1')), 'open');
  });

  it('holds a member whose mail was not verified as sender_not_verified, and asks the administrators', async () => {
    const ref = await caseOf(Buffer.concat([Buffer.from('Authentication-Results: mx.attacker.test; dmarc=pass\r\n'), makeMessage({ from: 'bob@acme.test', subject: 'Forged?', id: 'v-2' })]));
    const c = await t.caseIn(ref, 'suspended');
    expect(c.holdReason).toBe('sender_not_verified');
    // Bob is acme-prod's only administrator and never approves himself: the company admin is asked.
    await eventually(async () => t.sink.to('alice@acme.test').find((m) => (m.parsed.subject ?? '').includes('Authorize bob@acme.test')));
  });

  it('keeps strangers unknown_sender, verified or not', async () => {
    const c = await t.caseIn(await caseOf(makeMessage({ from: 'someone@acme.test', subject: 'Unverified stranger', id: 'v-3' })), 'suspended');
    expect(c.holdReason).toBe('unknown_sender');
  });

  it('keeps an oversize message whole, holds its case as too_large and tells the sender the limit', async () => {
    const big = verified('bob@acme.test', 'Huge log', 'v-4', 'x'.repeat(10_000));
    const ref = await caseOf(big);
    const c = await t.caseIn(ref, 'suspended');
    expect(c.holdReason).toBe('too_large');
    expect(c.messages[0]!.text).toMatch(/over the limit of 4096/);
    const raw = await t.app.ctx.db.selectFrom('raw_messages').select(['raw', 'size']).where('message_id', '=', 'v-4@tests.case-intake.test').executeTakeFirstOrThrow();
    expect(raw.raw.equals(big)).toBe(true);
    const notice = await eventually(async () => t.sink.to('bob@acme.test').find((m) => (m.parsed.subject ?? '').includes(ref)));
    expect(notice.parsed.text).toMatch(/Your message is 11 KB, over our limit of 4 KB/);
  });

  it('keeps an out-of-office answer to our acknowledgement, opens nothing and answers nothing', async () => {
    const ref = await caseOf(verified('bob@acme.test', 'Before my holiday', 'v-5'));
    await t.caseIn(ref, 'open');
    const ack = await eventually(async () => t.sink.to('bob@acme.test').find((m) => (m.parsed.subject ?? '').includes(ref)));
    const sentToBob = t.sink.to('bob@acme.test').length;
    const cases = (await t.app.ctx.db.selectFrom('cases').select('id').execute()).length;
    const ooo = Buffer.from(
      [
        'From: bob@acme.test',
        'To: support@support.example.com',
        `Subject: Automatic reply: [${ref}] Before my holiday`,
        'Auto-Submitted: auto-replied',
        `In-Reply-To: ${ack.parsed.messageId}`,
        'Message-ID: <ooo-1@acme.test>',
        '',
        'I am out of the office until Monday.',
        '',
      ].join('\r\n'),
    );
    expect(await fileRawMessage(t.app.ctx.intake, ooo, { source: 'pipe' })).toMatchObject({ outcome: 'kept', kind: 'auto_reply' });
    await new Promise((r) => setTimeout(r, 300));
    expect((await t.app.ctx.db.selectFrom('cases').select('id').execute()).length).toBe(cases);
    expect(t.sink.to('bob@acme.test')).toHaveLength(sentToBob);
    expect((await t.caseIn(ref, 'open')).messages).toHaveLength(1);
  });

  it('marks our outbox row bounced when a delivery report says it failed, with recipient and status', async () => {
    const ref = await caseOf(verified('bob@acme.test', 'Will bounce', 'v-6'));
    await t.caseIn(ref, 'open');
    const ack = await eventually(async () => t.sink.to('bob@acme.test').find((m) => (m.parsed.subject ?? '').includes(ref)));
    const dsn = Buffer.from(
      [
        'From: Mail Delivery System <MAILER-DAEMON@mx.acme.test>',
        'To: support@support.example.com',
        'Subject: Undelivered Mail Returned to Sender',
        'Message-ID: <dsn-1@mx.acme.test>',
        'MIME-Version: 1.0',
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
        '',
        '--b',
        'Content-Type: text/plain',
        '',
        'I could not deliver your message.',
        '--b',
        'Content-Type: message/delivery-status',
        '',
        'Reporting-MTA: dns; mx.acme.test',
        '',
        'Final-Recipient: rfc822; bob@acme.test',
        'Action: failed',
        'Status: 5.1.1',
        'Diagnostic-Code: smtp; 550 5.1.1 mailbox unknown',
        '',
        '--b',
        'Content-Type: text/rfc822-headers',
        '',
        `Message-ID: ${ack.parsed.messageId}`,
        'To: bob@acme.test',
        '',
        '--b--',
        '',
      ].join('\r\n'),
    );
    expect(await fileRawMessage(t.app.ctx.intake, dsn, { source: 'pipe' })).toMatchObject({ outcome: 'kept', kind: 'bounce' });
    const row = await t.app.ctx.db
      .selectFrom('outbox')
      .select(['status', 'bounce_recipient', 'bounce_status'])
      .where('message_id', '=', ack.parsed.messageId!.replace(/^<|>$/g, ''))
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'bounced', bounce_recipient: 'bob@acme.test', bounce_status: expect.stringMatching(/^5\.1\.1/) });
  });

  it('lists the kept automatic mail with its class and the reason, in the API', async () => {
    const get = async (query: string) =>
      ((await (await fetch(`${t.base}/api/automatic${query}`, { headers: { authorization: `Bearer ${t.app.ctx.config.apiToken}` } })).json()) as { messages: Array<{ kind: string; error: string; subject: string }> }).messages;
    const all = await get('');
    expect(all.map((m) => m.kind).sort()).toEqual(['auto_reply', 'bounce']);
    expect(all.find((m) => m.kind === 'auto_reply')).toMatchObject({ error: expect.stringMatching(/Auto-Submitted/), subject: expect.stringMatching(/^Automatic reply:/) });
    expect((await get('?kind=bounce')).map((m) => m.kind)).toEqual(['bounce']);
    expect((await fetch(`${t.base}/api/automatic`)).status).toBe(401);
  });
});
