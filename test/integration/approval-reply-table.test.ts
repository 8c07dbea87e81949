import { fileRawMessage } from '../../src/intake/ingest';
import { eventually } from '../support/env';
import { appleMail, autoReply, exchangeOnline, gmail, htmlOnly, outlookDesktop, plain, thunderbird, type ReplyTo, type Shape } from '../support/reply-shapes';
import { startTestService, type TestService } from '../support/service';

type Expected = 'authorize' | 'ignore' | null;

/** Each reply as a client sends it, and what a person reading it would decide. */
const TABLE: Array<[name: string, shape: Shape, top: string, expected: Expected, encoding?: 'quoted-printable' | 'base64']> = [
  // The five the issue reports.
  ['issue: OK to ignore', gmail(), 'OK to ignore - he left the company last year.', null],
  ['issue: No problem, authorize him', gmail(), 'No problem, authorize him.', null],
  ['issue: Authorized.', gmail(), 'Authorized.', 'authorize'],
  ['issue: Okay, go ahead.', gmail(), 'Okay, go ahead.', 'authorize'],
  ['issue: Nope, never heard of him', gmail(), 'Nope, never heard of him.', 'ignore'],
  ['issue: Exchange Online HTML-only in multipart/related with a logo', exchangeOnline, 'Authorize', 'authorize'],
  // Clients.
  ['Exchange Online: Ignore', exchangeOnline, 'Ignore', 'ignore'],
  ['Exchange Online, base64: Yes, he is new', exchangeOnline, 'Yes, he is new in our team.', 'authorize', 'base64'],
  ['Outlook desktop: Approve', outlookDesktop(), 'Approve', 'authorize'],
  ['Outlook desktop: Deny', outlookDesktop(), 'Deny', 'ignore'],
  ['Outlook desktop, quoted-printable: Approved, thanks', outlookDesktop(), 'Approved, thanks – welcome Rita', 'authorize', 'quoted-printable'],
  ['Outlook desktop, German: Nein', outlookDesktop('de'), 'Nein, kenne ich nicht.', 'ignore'],
  ['Outlook -----Original Message-----: Yes', plain('original'), 'Yes', 'authorize'],
  ['Gmail: Yes', gmail(), 'Yes', 'authorize'],
  ['Gmail: Reject', gmail(), 'Reject', 'ignore'],
  ['Gmail base64: ok', gmail(), 'ok', 'authorize', 'base64'],
  ['Apple Mail iPhone: Yes', appleMail, 'Yes', 'authorize'],
  ['Apple Mail iPhone: No', appleMail, 'No', 'ignore'],
  ['Thunderbird: Ignore', thunderbird(), 'Ignore', 'ignore'],
  ['Thunderbird: accept', thunderbird(), 'accept', 'authorize'],
  ['Thunderbird bottom-posted: Yes', thunderbird(true), 'Yes', 'authorize'],
  // Languages.
  ['German Gmail: Ja', gmail('de'), 'Ja', 'authorize'],
  ['French Gmail: Oui', gmail('fr'), 'Oui', 'authorize'],
  ['French plain: Non', plain('fr'), 'Non, je ne le connais pas.', 'ignore'],
  ['Spanish Gmail (wrapped attribution): Sí', gmail('es'), 'Sí', 'authorize'],
  ['Spanish plain (wrapped attribution): No', plain('es'), 'No', 'ignore'],
  ['Portuguese: Sim', gmail('pt'), 'Sim', 'authorize'],
  ['Portuguese quoted-printable: Não', plain('pt'), 'Não', 'ignore', 'quoted-printable'],
  ['Italian: Sì', gmail('it'), 'Sì', 'authorize'],
  ['Italian: No', plain('it'), 'No', 'ignore'],
  ['Dutch: Ja', gmail('nl'), 'Ja', 'authorize'],
  ['Dutch base64: Nee', plain('nl'), 'Nee', 'ignore', 'base64'],
  // HTML only, empty text beside HTML.
  ['HTML only: Ignore', htmlOnly(), 'Ignore', 'ignore'],
  ['HTML only base64: Yes', htmlOnly(), 'Yes', 'authorize', 'base64'],
  ['empty text/plain beside HTML: Authorise', htmlOnly(true), 'Authorise', 'authorize'],
  // Empty tops.
  ['empty top, plain', plain(), '', null],
  ['empty top, Gmail', gmail(), '', null],
  ['empty top, Exchange Online', exchangeOnline, '', null],
  // Signatures whose disclaimer has the other word.
  ['signature with disclaimer: Yes', plain(), 'Yes\n\nBest regards,\nBob Builder\nIT Manager, Acme\nThis e-mail is confidential. If you are not the intended recipient, do not copy it; ignore and delete it.', 'authorize'],
  ['disclaimer without closing: Yes', gmail(), 'Yes\n\nBob Builder | IT | Acme\nCONFIDENTIALITY NOTICE: if you are not the intended recipient, please ignore this message. No rights are granted.', 'authorize'],
  ['sig dashes with the other word: Ignore', thunderbird(), 'Ignore\n-- \nBob Builder\nAuthorized signatory, Acme', 'ignore'],
  // Undecided shapes.
  ["negated: Don't authorize", gmail(), "Don't authorize", null],
  ['negated: Do not approve', outlookDesktop(), 'Do not approve', null],
  ['negated: not ok', plain(), 'not ok', null],
  ['question: Authorize?', gmail(), 'Authorize?', null],
  ['question: Who is this?', appleMail, 'Who is this?', null],
  ['no decision word: Let me check with HR', exchangeOnline, 'Let me check with HR first.', null],
];

/** Automatic mail to the reply address: kept as automatic, never read as a decision. */
const AUTOMATIC: Array<[name: string, shape: Shape, top: string]> = [
  ['auto-reply (Auto-Submitted), says Yes', autoReply({ 'Auto-Submitted': 'auto-replied' }, 'Out of office: Authorize?'), 'I am out of the office. Yes, I will answer on Monday.'],
  ['Exchange automatic reply (subject, X-Auto-Response-Suppress)', autoReply({ 'X-Auto-Response-Suppress': 'All' }, 'Automatic reply: [CASE-000001] Authorize rita@acme.test?'), 'OK, I am away until Monday.'],
];

describe('approval replies as people write them, through intake', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ APPROVAL_MAIL_PER_HOUR: '500', AUTO_REPLY_PER_SENDER_PER_HOUR: '500' });
  });
  afterAll(() => t.close());

  it(`decides each of ${TABLE.length} replies as a person reading it would, and keeps automatic ones automatic`, async () => {
    const rows = [...TABLE, ...AUTOMATIC.map(([name, shape, top]) => [name, shape, top, null] as const)];
    const requester = (i: number) => `table${String(i).padStart(2, '0')}@acme.test`;
    for (const [i] of rows.entries()) await t.write(requester(i), `Table ${i}`);
    // One wait for every request mail as it arrived: its reply address (the outbox keeps the
    // token sealed, so the working address is only in the mail itself) and its Message-ID.
    const requests = await eventually(async () => {
      const found = new Map<string, { reply_to: string; message_id: string }>();
      for (const [i] of rows.entries()) {
        const mail = t.sink.to('bob@acme.test').find((m) => (m.parsed.subject ?? '').includes(`Authorize ${requester(i)}`));
        const replyTo = mail?.parsed.replyTo?.value[0]?.address;
        if (mail && replyTo && mail.parsed.messageId) found.set(requester(i), { reply_to: replyTo, message_id: mail.parsed.messageId.replace(/^<|>$/g, '') });
      }
      return found.size === rows.length ? found : undefined;
    }, 30000, 'every approval request');

    const rawIds: string[] = [];
    for (const [i, [, shape, top, , encoding]] of rows.entries()) {
      const request = requests.get(requester(i))!;
      const r: ReplyTo = { from: 'Bob Builder <bob@acme.test>', to: request.reply_to, inReplyTo: request.message_id, messageId: `table-reply-${i}@acme.test` };
      const result = await fileRawMessage(t.app.ctx.intake, await shape(top, r, { encoding }), { source: 'pipe' });
      expect(result.outcome).toBe('kept');
      rawIds.push((result as { rawId: string }).rawId);
    }
    // One wait: every approval reply has its note (automatic mail is kept without one).
    const raws = await eventually(async () => {
      const found = await t.app.ctx.db.selectFrom('raw_messages').select(['id', 'kind', 'error']).where('id', 'in', rawIds).execute();
      return found.every((r) => r.kind !== 'approval_reply' || r.error !== null) ? new Map(found.map((r) => [r.id, r])) : undefined;
    }, 60000, 'every reply handled');
    const approvals = await t.app.ctx.db.selectFrom('approvals').select(['requester_email', 'status']).execute();
    const statusOf = new Map(approvals.map((a) => [a.requester_email, a.status]));

    const got = rows.map(([name], i) => `${name}: ${statusOf.get(requester(i))} (${raws.get(rawIds[i]!)!.kind}: ${raws.get(rawIds[i]!)!.error})`);
    const want = rows.map(([name, , , expected], i) => {
      const raw = raws.get(rawIds[i]!)!;
      const status = expected === 'authorize' ? 'authorized' : expected === 'ignore' ? 'ignored' : 'pending';
      return `${name}: ${status} (${raw.kind}: ${raw.error})`;
    });
    expect(got).toEqual(want);
    // The automatic ones were kept as automatic mail, not read as approval replies.
    expect(rawIds.slice(TABLE.length).map((id) => raws.get(id)!.kind)).toEqual(AUTOMATIC.map(() => 'auto_reply'));
    // Every approval reply has its reason, and each undecided one is in the audit log with it.
    for (const [i, [, , , expected]] of TABLE.entries()) {
      expect(raws.get(rawIds[i]!)!.error).toMatch(expected ? `decided: ${expected}` : /^rejected: decided nothing: it /);
    }
    const audits = await t.app.ctx.db.selectFrom('audit_log').select(['detail']).where('action', '=', 'approval_reply_rejected').execute();
    expect(audits).toHaveLength(TABLE.filter(([, , , e]) => e === null).length);

    // Each undecided reply from the approver got exactly one answer, threaded to it.
    const undecided = TABLE.flatMap(([name, , , expected], i) => (expected === null ? [{ name, i }] : []));
    const answers = await eventually(async () => {
      const mails = t.sink.to('bob@acme.test', /Your reply decided nothing/);
      return mails.length >= undecided.length ? mails : undefined;
    }, 30000, 'the undecided answers');
    expect(answers).toHaveLength(undecided.length);
    expect(answers.map((m) => m.parsed.inReplyTo).sort()).toEqual(undecided.map(({ i }) => `<table-reply-${i}@acme.test>`).sort());
    for (const m of answers) expect(m.parsed.headers.get('auto-submitted')).toBe('auto-replied');
  }, 180000);
});

describe('the answer to a reply that decided nothing', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ AUTO_REPLY_PER_SENDER_PER_HOUR: '2' });
  });
  afterAll(() => t.close());

  const requestFor = (requester: string) => eventually(async () => t.sink.to('bob@acme.test').find((m) => (m.parsed.subject ?? '').includes(`Authorize ${requester}`)));
  const noteOf = (rawId: string) => eventually(async () => (await t.app.ctx.db.selectFrom('raw_messages').select('error').where('id', '=', rawId).executeTakeFirstOrThrow()).error);
  // The audit rows of the approver's undecided replies (the row follows the note by a statement).
  const undecidedAudits = (n: number) =>
    eventually(async () => {
      const rows = await t.app.ctx.db.selectFrom('audit_log').select('detail').where('action', '=', 'approval_reply_rejected').where('actor', '=', 'bob@acme.test').orderBy('id').execute();
      const details = rows.map((r) => r.detail as { undecided?: string; answered?: boolean }).filter((d) => d.undecided);
      return details.length === n ? details : undefined;
    });
  const send = async (raw: Buffer) => (await fileRawMessage(t.app.ctx.intake, raw, { source: 'pipe' })) as { rawId: string };

  it('is one mail, threaded, auto-replied, with what we read, why, and the request links that work; a stranger gets nothing', async () => {
    const ref = await t.write('Rita <rita@acme.test>', 'Undecided reply');
    await t.caseIn(ref, 'suspended');
    const request = await requestFor('rita@acme.test');
    const address = request.parsed.replyTo!.value[0]!.address!;
    const r: ReplyTo = { from: 'bob@acme.test', to: address, inReplyTo: request.parsed.messageId!.replace(/^<|>$/g, ''), messageId: 'undecided-1@acme.test' };

    // A stranger's reply, and one to a forged token, get nothing.
    const forged = await send(await gmail()('OK to ignore', { ...r, from: 'eve@evil.test', messageId: 'eve-1@evil.test' }));
    expect(await noteOf(forged.rawId)).toMatch(/rejected: sent by eve@evil\.test/);
    const badToken = await send(await gmail()('Who is this?', { ...r, to: address.replace(/\.[a-z2-7]{26}@/, '.aaaaaaaaaaaaaaaaaaaaaaaaaa@'), messageId: 'undecided-bad@acme.test' }));
    expect(await noteOf(badToken.rawId)).toMatch(/rejected: token bad signature/);

    const reply = await send(await exchangeOnline('OK to ignore - he left the company last year.', r));
    expect(await noteOf(reply.rawId)).toBe('rejected: decided nothing: it says both authorize and ignore');
    const answer = await eventually(async () => t.sink.to('bob@acme.test', /decided nothing/)[0], 15000, `the answer; bob has ${JSON.stringify(await t.app.ctx.db.selectFrom('outbox').select(['kind', 'status', 'last_error']).where('to_address', '=', 'bob@acme.test').execute())}`);
    expect(answer.parsed.inReplyTo).toBe('<undecided-1@acme.test>');
    expect(String(answer.parsed.references)).toContain(request.parsed.messageId!);
    expect(answer.parsed.headers.get('auto-submitted')).toBe('auto-replied');
    expect(answer.parsed.replyTo!.value[0]!.address).toBe(address);
    expect(answer.parsed.text).toContain('> OK to ignore - he left the company last year.');
    expect(answer.parsed.text).toContain('because it says both authorize and ignore');
    // The same links the request carried, and they work.
    const links = (m: typeof answer) => [...String(m.parsed.text).matchAll(/https?:\/\/\S+\/approvals\/\S+/g)].map((x) => x[0]);
    expect(links(answer)).toEqual(links(request));
    expect(links(answer)).toHaveLength(2);
    for (const link of links(answer)) expect((await fetch(link)).status).toBe(200);
    expect(t.sink.to('eve@evil.test')).toHaveLength(0);
    expect(t.sink.to('bob@acme.test', /decided nothing/)).toHaveLength(1);
    expect((await t.caseIn(ref, 'suspended')).status).toBe('suspended');
    expect(await undecidedAudits(1)).toEqual([expect.objectContaining({ reason: 'decided nothing: it says both authorize and ignore', undecided: 'both', answered: true })]);
  });

  it('stays inside the per-address ceiling on automatic answers', async () => {
    const request = await requestFor('rita@acme.test');
    const address = request.parsed.replyTo!.value[0]!.address!;
    // The ceiling is 2 an hour for bob: one answer went out above, one more may.
    for (const n of [2, 3, 4]) {
      const reply = await send(await plain()('Who is this?', { from: 'bob@acme.test', to: address, inReplyTo: request.parsed.messageId!.replace(/^<|>$/g, ''), messageId: `undecided-${n}@acme.test` }));
      expect(await noteOf(reply.rawId)).toMatch(/decided nothing: it says neither authorize nor ignore/);
    }
    const rows = await t.app.ctx.db.selectFrom('outbox').select('in_reply_to').where('kind', '=', 'approval_reply_undecided').orderBy('id').execute();
    expect(rows.map((r) => r.in_reply_to)).toEqual(['undecided-1@acme.test', 'undecided-2@acme.test']);
    expect((await undecidedAudits(4)).map((d) => d.answered)).toEqual([true, true, false, false]);
  });

  it('reads an HTML-only case (Exchange Online, multipart/related with a logo) into its text: API, and the approval mail excerpt', async () => {
    const raw = await exchangeOnline('Our nightly backup of db-02 fails with "disk quota exceeded".', { from: 'Dana <dana@acme.test>', to: 'support@support.example.com', inReplyTo: 'unrelated@elsewhere.test', messageId: 'html-case@acme.test' });
    const result = await fileRawMessage(t.app.ctx.intake, raw, { source: 'pipe' });
    expect(result.outcome).toBe('case');
    const ref = (result as { reference: string }).reference;
    await t.caseIn(ref, 'suspended');
    const api = (await (await fetch(`${t.base}/api/cases/${ref}`, { headers: { authorization: `Bearer ${t.app.ctx.config.apiToken}` } })).json()) as { messages: Array<{ text: string }> };
    expect(api.messages[0]!.text).toMatch(/^Our nightly backup of db-02 fails with "disk quota exceeded"\.\n+Bob Builder \| IT/);
    const request = await requestFor('dana@acme.test');
    expect(request.parsed.text).toContain('> Our nightly backup of db-02 fails with "disk quota exceeded".');
  });
});
