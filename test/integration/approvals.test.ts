import { signApprovalToken } from '../../src/approvals/tokens';
import { eventually } from '../support/env';
import { linkIn, startTestService, type TestService } from '../support/service';

const SUPPORT_DOMAIN = 'support.example.com';

describe('approval workflow, end to end (PostgreSQL, Redis, SMTP sink, HTTP)', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService();
  });
  afterAll(() => t.close());

  const approvalRequests = (to: string, requester: string) => t.sink.to(to, new RegExp(`Authorize ${requester.replace('.', '\\.')}`));
  const approvalOf = async (reference: string) => {
    const row = await t.app.ctx.db.selectFrom('cases').select('approval_id').where('reference', '=', reference).executeTakeFirstOrThrow();
    return t.app.ctx.db.selectFrom('approvals').selectAll().where('id', '=', row.approval_id!).executeTakeFirstOrThrow();
  };

  it('holds a stranger, tells them without naming anyone, and mails the administrator their own links', async () => {
    const ref = await t.write('Mallory <mallory@acme.test>', 'Cannot log in', { id: 'mallory-1' });
    await t.caseIn(ref, 'suspended');
    const held = await eventually(async () => t.sink.to('mallory@acme.test', /on hold/i)[0]);
    expect(held.parsed.text).not.toMatch(/bob@acme\.test|Bob Builder/);
    expect(held.parsed.inReplyTo).toBe('<mallory-1@tests.case-intake.test>');
    expect(held.parsed.headers.get('auto-submitted')).toBe('auto-replied');
    expect(held.parsed.headers.get('x-auto-response-suppress')).toBe('All');
    expect(held.parsed.messageId).toMatch(new RegExp(`@${SUPPORT_DOMAIN.replace(/\./g, '\\.')}>$`));

    const request = await eventually(async () => approvalRequests('bob@acme.test', 'mallory@acme.test')[0]);
    expect(request.parsed.headers.get('auto-submitted')).toBe('auto-generated');
    const replyTo = request.parsed.replyTo?.value[0]?.address ?? '';
    expect(replyTo).toMatch(new RegExp(`^support\\+approve-[0-9a-z.]+@${SUPPORT_DOMAIN}$`));
    expect(replyTo.split('@')[0]!.length).toBeLessThanOrEqual(64);
    expect(String(request.parsed.html)).toContain(`${t.base}/approvals/`);
    expect(request.parsed.text).toContain('Cannot log in');
    // A new request: one case waits, the one that opened it.
    expect(request.parsed.text).toContain('the waiting case opens now');
    expect(request.parsed.text).not.toMatch(/cases from mallory@acme\.test are waiting/);
  });

  it('changes nothing on GET or HEAD of the link (mail scanners open every link)', async () => {
    const request = approvalRequests('bob@acme.test', 'mallory@acme.test')[0]!;
    const link = linkIn(String(request.parsed.html), `${t.base}/approvals/`);
    for (const method of ['GET', 'HEAD', 'GET']) {
      const res = await fetch(link, { method });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    }
    const page = await (await fetch(link)).text();
    expect(page).toContain('mallory@acme.test');
    expect(page).toContain('name="decision" value="authorize"');
    const approval = await approvalOf((await t.app.ctx.db.selectFrom('cases').select('reference').where('subject', '=', 'Cannot log in').executeTakeFirstOrThrow()).reference);
    expect(approval.status).toBe('pending');
  });

  it('joins a further case from the same requester to the pending request: no second round of mail', async () => {
    const ref = await t.write('mallory@acme.test', 'Also the VPN', { id: 'mallory-2' });
    await t.caseIn(ref, 'suspended');
    await eventually(async () => t.sink.to('mallory@acme.test', /Also the VPN/).length > 0);
    const first = await approvalOf((await t.app.ctx.db.selectFrom('cases').select('reference').where('subject', '=', 'Cannot log in').executeTakeFirstOrThrow()).reference);
    expect((await approvalOf(ref)).id).toBe(first.id);
    expect(approvalRequests('bob@acme.test', 'mallory@acme.test')).toHaveLength(1);
  });

  it('authorizes from the link: the requester becomes a member, every held case opens, and they are told', async () => {
    const link = linkIn(String(approvalRequests('bob@acme.test', 'mallory@acme.test')[0]!.parsed.html), `${t.base}/approvals/`).split('?')[0]!;
    const res = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'decision=authorize' });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/Authorized\./);

    const cases = await t.app.ctx.db.selectFrom('cases').select(['reference', 'status']).where('requester_email', '=', 'mallory@acme.test').execute();
    expect(cases.map((c) => c.status)).toEqual(['open', 'open']);
    const permission = await t.app.ctx.db
      .selectFrom('permissions as p')
      .innerJoin('contacts as c', 'c.id', 'p.contact_id')
      .innerJoin('infrastructures as i', 'i.id', 'p.infrastructure_id')
      .select(['c.status', 'c.source', 'p.role', 'p.granted_by', 'p.granted_via', 'i.key'])
      .where('c.email', '=', 'mallory@acme.test')
      .executeTakeFirstOrThrow();
    expect(permission).toEqual({ status: 'active', source: 'approval', role: 'user', granted_by: 'bob@acme.test', granted_via: 'link', key: 'acme-prod' });
    await eventually(async () => t.sink.to('mallory@acme.test', /open/i).filter((m) => /authorized/i.test(m.parsed.text ?? '')).length === 2);
    const audit = await t.app.ctx.db.selectFrom('audit_log').select(['action', 'actor', 'channel']).where('subject_email', '=', 'mallory@acme.test').orderBy('id').execute();
    expect(audit).toEqual(
      expect.arrayContaining([
        { action: 'approval_authorized', actor: 'bob@acme.test', channel: 'link' },
        { action: 'permission_granted', actor: 'bob@acme.test', channel: 'link' },
      ]),
    );
    const api = (await (await fetch(`${t.base}/api/cases/${cases[0]!.reference}`, { headers: { authorization: `Bearer ${t.app.ctx.config.apiToken}` } })).json()) as { approval: unknown };
    expect(api.approval).toMatchObject({ status: 'authorized', approvers: ['bob@acme.test'], decidedBy: 'bob@acme.test', channel: 'link' });
  });

  it('shows a later visitor who decided, and a later POST changes nothing', async () => {
    const link = linkIn(String(approvalRequests('bob@acme.test', 'mallory@acme.test')[0]!.parsed.html), `${t.base}/approvals/`).split('?')[0]!;
    const page = await (await fetch(link)).text();
    expect(page).toMatch(/Decided by bob@acme\.test through the emailed link/);
    const late = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'decision=ignore' });
    expect(late.status).toBe(409);
    expect((await approvalOf((await t.app.ctx.db.selectFrom('cases').select('reference').where('subject', '=', 'Cannot log in').executeTakeFirstOrThrow()).reference)).status).toBe('authorized');
  });

  it('lets an approved sender straight through next time', async () => {
    const ref = await t.write('mallory@acme.test', 'A third question');
    await t.caseIn(ref, 'open');
    await eventually(async () => t.sink.to('mallory@acme.test', /A third question/).length === 1);
  });

  it('answers tampered, unknown and expired tokens with a clear page, a 4xx and no change', async () => {
    const ref = await t.write('Trent <trent@acme.test>', 'Tampering target');
    await t.caseIn(ref, 'suspended');
    const request = await eventually(async () => approvalRequests('bob@acme.test', 'trent@acme.test')[0]);
    const link = linkIn(String(request.parsed.html), `${t.base}/approvals/`).split('?')[0]!;
    const token = link.split('/').pop()!;
    const [a, p, e, s] = token.split('.') as [string, string, string, string];
    const post = (url: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'decision=authorize' });

    const tampered = `${t.base}/approvals/${a}.${p}.${e}.${s.slice(0, -2)}aa`;
    expect((await fetch(tampered)).status).toBe(404);
    expect((await post(tampered)).status).toBe(404);
    expect(await (await fetch(tampered)).text()).toMatch(/This link is not valid/);
    expect((await fetch(`${t.base}/approvals/not-a-token`)).status).toBe(404);

    const approval = await approvalOf(ref);
    const expired = signApprovalToken(t.app.ctx.config.linkSecret, { approvalId: approval.id, approverId: p === '0' ? '0' : BigInt(parseInt(p, 36)).toString(), expiresAt: Math.floor(Date.now() / 1000) - 5 });
    const expiredRes = await post(`${t.base}/approvals/${expired}`);
    expect(expiredRes.status).toBe(410);
    expect(await expiredRes.text()).toMatch(/expired/);
    expect((await approvalOf(ref)).status).toBe('pending');
  });

  it('lets exactly one of two approvers win when they decide at the same moment', async () => {
    // A second administrator on acme-prod, so the request goes to two people.
    const dave = await t.app.ctx.db.selectFrom('contacts').select('id').where('email', '=', 'dave@acme.test').executeTakeFirstOrThrow();
    const prod = await t.app.ctx.db.selectFrom('infrastructures').select('id').where('key', '=', 'acme-prod').executeTakeFirstOrThrow();
    await t.app.ctx.db.insertInto('permissions').values({ infrastructure_id: prod.id, contact_id: dave.id, role: 'administrator', cc_all_cases: false }).execute();

    const ref = await t.write('Rita <rita@acme.test>', 'Race me');
    await t.caseIn(ref, 'suspended');
    const [bobMail, daveMail] = await eventually(async () => {
      const b = approvalRequests('bob@acme.test', 'rita@acme.test')[0];
      const d = approvalRequests('dave@acme.test', 'rita@acme.test')[0];
      return b && d ? [b, d] : undefined;
    });
    const bobLink = linkIn(String(bobMail!.parsed.html), `${t.base}/approvals/`).split('?')[0]!;
    const daveLink = linkIn(String(daveMail!.parsed.html), `${t.base}/approvals/`).split('?')[0]!;
    expect(bobLink).not.toBe(daveLink);
    const form = (decision: string) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `decision=${decision}` });
    const [r1, r2] = await Promise.all([fetch(bobLink, form('authorize')), fetch(daveLink, form('ignore'))]);
    expect([r1.status, r2.status].sort()).toEqual([200, 409]);
    const approval = await approvalOf(ref);
    const winner = r1.status === 200 ? { by: 'bob@acme.test', status: 'authorized', caseStatus: 'open' } : { by: 'dave@acme.test', status: 'ignored', caseStatus: 'ignored' };
    expect({ by: approval.decided_by, status: approval.status }).toEqual({ by: winner.by, status: winner.status });
    await t.caseIn(ref, winner.caseStatus);
    const decisions = await t.app.ctx.db.selectFrom('audit_log').select('action').where('approval_id', '=', approval.id).where('action', 'in', ['approval_authorized', 'approval_ignored']).execute();
    expect(decisions).toHaveLength(1);
  });

  it('copies a newly opened case to members with "CC in all cases" on its infrastructure, and to nobody else', async () => {
    const ref = await t.write('Carol <carol@acme.test>', 'Copy me to Bob');
    await t.caseIn(ref, 'open');
    const copy = await eventually(async () => t.sink.to('bob@acme.test').find((m) => (m.parsed.subject ?? '') === `[${ref}] New case for Acme Production: Copy me to Bob`));
    expect(copy.parsed.headers.get('auto-submitted')).toBe('auto-generated');
    expect(copy.parsed.replyTo?.value[0]?.address).toMatch(/^support\+case-/);
    // Carol gets her acknowledgement, not a copy; Dave (administrator, no CC setting) gets nothing.
    await eventually(async () => t.sink.to('carol@acme.test').some((m) => (m.parsed.subject ?? '').includes(ref)));
    expect(t.sink.to('dave@acme.test').filter((m) => (m.parsed.subject ?? '').includes(ref))).toHaveLength(0);
  });

  it('reports what happened in Prometheus format, and is ready while its dependencies are', async () => {
    const text = await (await fetch(`${t.base}/metrics`)).text();
    expect(text).toMatch(/^case_intake_cases\{status="open",hold_reason=""\} \d+/m);
    expect(text).toMatch(/^case_intake_messages\{outcome="case",class="person"\} \d+/m);
    expect(text).toMatch(/^case_intake_approvals\{status="authorized",channel="link"\} [1-9]/m);
    expect(text).toMatch(/^case_intake_outbox\{status="sent",kind="approval_request"\} [1-9]/m);
    expect(text).toMatch(/^case_intake_job_duration_seconds_count\{queue="match",result="ok"\} [1-9]/m);
    expect(text).toMatch(/^case_intake_approval_time_to_decision_seconds_count\{channel="link",outcome="authorized"\} [1-9]/m);
    expect(text).toMatch(/^case_intake_mailbox_reconnects 0/m);
    expect(text).toMatch(/^case_intake_intake_backlog_messages 0/m);
    expect(text).toMatch(/^case_intake_commit_point_window_seconds_count [1-9]/m);
    const ready = await fetch(`${t.base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ok', database: 'up', redis: 'up' });
  });
});

describe('operations endpoints when something is down', () => {
  it('asks for METRICS_TOKEN when one is set, and /readyz fails while the mailbox is unreachable', async () => {
    const t = await startTestService({ METRICS_TOKEN: 'metrics-token-0123456789', IMAP_URL: 'imap://nobody:x@127.0.0.1:1/INBOX' });
    try {
      expect((await fetch(`${t.base}/metrics`)).status).toBe(401);
      expect((await fetch(`${t.base}/metrics`, { headers: { authorization: 'Bearer metrics-token-0123456789' } })).status).toBe(200);
      const ready = await eventually(async () => {
        const r = await fetch(`${t.base}/readyz`);
        return r.status === 503 ? r : undefined;
      });
      expect(await ready.json()).toMatchObject({ status: 'degraded', mailbox: { state: expect.stringMatching(/disconnected|connecting/) } });
      expect((await fetch(`${t.base}/healthz`)).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
