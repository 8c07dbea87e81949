import { loadCaseDetail } from '../../src/cases/detail';
import { fileRawMessage } from '../../src/intake/ingest';
import type { IntakeResult } from '../../src/intake/filing';
import { eventually } from '../support/env';
import { portalClient } from '../support/portal';
import { startTestService, type TestService } from '../support/service';
import { csrfIn, signedInStaff, WebClient } from '../support/staff';

const AUTHSERV = 'mx.support.example.com';
const FAIL = `Authentication-Results: ${AUTHSERV}; spf=fail smtp.mailfrom=evil.test; dmarc=fail (p=reject) header.from=acme.test`;
const PASS = `Authentication-Results: ${AUTHSERV}; dkim=pass header.d=acme.test; dmarc=pass header.from=acme.test`;

function mail(headers: string[], body: string): Buffer {
  return Buffer.from([...headers, 'Date: Wed, 02 Dec 2026 10:00:00 +0000', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', body, ''].join('\r\n'));
}

/**
 * The attack of issue 19: a reply forged in the requester's name (our server: dmarc=fail), found
 * by the case's tag, Message-ID or reply address, with the attacker in Cc. It must not join the
 * case as the requester's, nor make the attacker a participant who reads the case in the portal.
 */
describe('replies from an unverified sender (INBOUND_AUTHSERV_ID set)', () => {
  let t: TestService;
  let reference = '';
  let ackId = '';
  let replyAddress = '';
  beforeAll(async () => {
    t = await startTestService({ INBOUND_AUTHSERV_ID: AUTHSERV });
    const opened = await fileRawMessage(
      t.app.ctx.intake,
      mail([PASS, 'From: Bob <bob@acme.test>', 'To: support@support.example.com', 'Subject: VPN credentials', 'Message-ID: <forged-0@acme.test>'], 'The VPN password is hunter2'),
      { source: 'pipe' },
    );
    if (opened.outcome !== 'case') throw new Error(opened.outcome);
    reference = opened.reference;
    await t.caseIn(reference, 'open');
    const ack = await eventually(async () => t.sink.to('bob@acme.test').find((m) => (m.parsed.subject ?? '').includes(reference)));
    ackId = ack.parsed.messageId!;
    replyAddress = ack.parsed.replyTo!.value[0]!.address!;
  });
  afterAll(() => t.close());

  const participants = async () => (await t.app.ctx.db.selectFrom('case_participants as p').innerJoin('cases as c', 'c.id', 'p.case_id').select('p.email').where('c.reference', '=', reference).execute()).map((p) => p.email);
  const forge = (n: string, clue: { subject?: string; to?: string; inReplyTo?: string }, auth = FAIL): Promise<IntakeResult> =>
    fileRawMessage(
      t.app.ctx.intake,
      mail(
        [
          auth,
          'From: Bob <bob@acme.test>',
          `To: ${clue.to ?? 'support@support.example.com'}`,
          `Cc: mallory-${n}@evil.test`,
          `Subject: ${clue.subject ?? 'Re: VPN credentials'}`,
          `Message-ID: <forged-${n}@evil.test>`,
          ...(clue.inReplyTo ? [`In-Reply-To: ${clue.inReplyTo}`] : []),
        ],
        `Forged reply ${n}`,
      ),
      { source: 'pipe' },
    );

  it.each([
    ['tag', () => ({ subject: `Re: [${reference}] VPN credentials` }), 'subject_tag'],
    ['message-id', () => ({ inReplyTo: ackId }), 'message_id'],
    ['reply-address', () => ({ to: replyAddress }), 'reply_address'],
  ])('holds a forged reply found by its %s as reply_not_verified and adds nobody', async (n, clue, via) => {
    const result = await forge(n, clue());
    expect(result).toMatchObject({ outcome: 'reply', reference, via, holdReason: 'reply_not_verified' });
    expect(await participants()).not.toContain(`mallory-${n}@evil.test`);
    // Staff see it on the case, with its reason; the case itself is as it was.
    const detail = (await loadCaseDetail(t.app.ctx.db, reference))!;
    expect(detail.status).toBe('open');
    expect(detail.messages.find((m) => m.text.includes(`Forged reply ${n}`))?.holdReason).toBe('reply_not_verified');
    expect(detail.trail.filter((e) => e.action === 'reply_held').map((e) => e.detail)).toContainEqual(expect.objectContaining({ via, holdReason: 'reply_not_verified' }));
    // The API's case detail says so too.
    const api = await fetch(`${t.base}/api/cases/${reference}`, { headers: { authorization: `Bearer ${t.app.ctx.config.apiToken}` } });
    const body = (await api.json()) as { messages: Array<{ text: string; holdReason: string | null }> };
    expect(body.messages.find((m) => m.text.includes(`Forged reply ${n}`))?.holdReason).toBe('reply_not_verified');
  });

  it('shows staff each held reply on the case page, with its reason', async () => {
    const staff = await signedInStaff(t.app.ctx.db, t.base);
    const page = await staff.get(`/dashboard/cases/${reference}`);
    expect(page.status).toBe(200);
    expect(page.text.match(/data-hold-reason="reply_not_verified"/g)).toHaveLength(3);
    expect(page.text).toContain('the sender was not verified (DMARC)');
  });

  it('holds it too when DMARC passed for another From domain (several From, Sender: the requester)', async () => {
    const result = await fileRawMessage(
      t.app.ctx.intake,
      mail(
        [
          `Authentication-Results: ${AUTHSERV}; dkim=pass header.d=evil.test; dmarc=pass header.from=evil.test`,
          'From: mallory@evil.test, bob@acme.test',
          'Sender: bob@acme.test',
          'To: support@support.example.com',
          'Cc: mallory-two@evil.test',
          `Subject: Re: [${reference}] VPN credentials`,
          'Message-ID: <forged-two@evil.test>',
        ],
        'Forged reply two',
      ),
      { source: 'pipe' },
    );
    expect(result).toMatchObject({ outcome: 'reply', reference, holdReason: 'reply_not_verified' });
    expect(await participants()).not.toContain('mallory-two@evil.test');
  });

  it('does not let a held reply’s own Message-ID lead a later, verified message into the case', async () => {
    const result = await fileRawMessage(
      t.app.ctx.intake,
      mail(
        [
          `Authentication-Results: ${AUTHSERV}; dkim=pass header.d=evil.test; dmarc=pass header.from=evil.test`,
          'From: mallory@evil.test',
          'To: support@support.example.com',
          'Cc: mallory-follow@evil.test',
          'Subject: Re: VPN credentials',
          'Message-ID: <follow-up@evil.test>',
          'In-Reply-To: <forged-tag@evil.test>',
        ],
        'Following up on my own held reply',
      ),
      { source: 'pipe' },
    );
    expect(result.outcome).toBe('case');
    expect(await participants()).not.toContain('mallory-follow@evil.test');
  });

  it('shows the attacker nothing in the portal, and the requester not the reply forged in their name', async () => {
    const before = t.sink.to('mallory-tag@evil.test').length;
    const attacker = new WebClient(t.base);
    const form = await attacker.get('/portal/login');
    await attacker.post('/portal/login', { _csrf: csrfIn(form.text), email: 'mallory-tag@evil.test' });
    // Bob's sign-in link arrives; by then one for the attacker would have too.
    const bob = await portalClient(t, 'bob@acme.test');
    const page = await bob.get(`/portal/cases/${reference}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('The VPN password is hunter2');
    expect(page.text).not.toContain('Forged reply');
    const held = (await loadCaseDetail(t.app.ctx.db, reference))!.messages.find((m) => m.holdReason !== null)!;
    expect((await bob.get(`/portal/messages/${held.id}/html`)).status).toBe(404);
    expect(t.sink.to('mallory-tag@evil.test').slice(before)).toHaveLength(0);
    const outbox = await t.app.ctx.db.selectFrom('outbox').select('id').where('to_address', '=', 'mallory-tag@evil.test').execute();
    expect(outbox).toHaveLength(0);
  });

  it('joins a verified reply as before, and its Cc become participants', async () => {
    const result = await forge('verified', { subject: `Re: [${reference}] VPN credentials` }, PASS);
    expect(result).toMatchObject({ outcome: 'reply', reference, holdReason: null });
    expect(await participants()).toContain('mallory-verified@evil.test');
  });

  it('opens no case as carol when DMARC passed for the other From domain', async () => {
    // carol@acme.test has a permission on acme-prod: verified, her case would open at once.
    const result = await fileRawMessage(
      t.app.ctx.intake,
      mail(
        [
          `Authentication-Results: ${AUTHSERV}; dkim=pass header.d=evil.test; spf=pass smtp.mailfrom=evil.test; dmarc=pass header.from=evil.test`,
          'From: mallory@evil.test, carol@acme.test',
          'Sender: carol@acme.test',
          'To: support@support.example.com',
          'Subject: Open as carol',
          'Message-ID: <as-carol@evil.test>',
        ],
        'Opened as carol?',
      ),
      { source: 'pipe' },
    );
    if (result.outcome !== 'case') throw new Error(result.outcome);
    const c = await t.caseIn(result.reference, 'suspended');
    expect([c.requesterEmail, c.holdReason]).toEqual(['carol@acme.test', 'sender_not_verified']);
  });
});
