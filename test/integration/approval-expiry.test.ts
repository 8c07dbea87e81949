import { decideApproval } from '../../src/approvals/decide';
import { signApprovalToken } from '../../src/approvals/tokens';
import { runMaintenance } from '../../src/queue/handlers';
import { eventually } from '../support/env';
import { linkIn, startTestService, type TestService } from '../support/service';

/** An expired request is no dead end: its requester is told, and its links say how to still decide. */
describe('approval expiry (PostgreSQL, Redis, SMTP sink, HTTP)', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService();
  });
  afterAll(() => t.close());

  it('tells the requester once, threaded to the case; the links point administrators to the portal', async () => {
    const ref = await t.write('Mallory <mallory@acme.test>', 'Cannot log in', { id: 'expiry-1' });
    await t.caseIn(ref, 'suspended');
    const request = await eventually(async () => t.sink.to('bob@acme.test', /Authorize mallory/)[0]);
    const db = t.app.ctx.db;
    const approval = await db.selectFrom('approvals').selectAll().where('requester_email', '=', 'mallory@acme.test').executeTakeFirstOrThrow();

    await db.updateTable('approvals').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', approval.id).execute();
    await runMaintenance(t.app.ctx, 60_000);
    await runMaintenance(t.app.ctx, 60_000);
    const notice = await eventually(async () => t.sink.to('mallory@acme.test', /Still on hold/)[0]);
    expect(notice.parsed.subject).toBe(`[${ref}] Still on hold, nobody has answered yet: Cannot log in`);
    expect(notice.parsed.inReplyTo).toBe('<expiry-1@tests.case-intake.test>');
    expect(notice.parsed.headers.get('auto-submitted')).toBe('auto-replied');
    expect(notice.parsed.text).toMatch(/nobody has answered/);
    expect(notice.parsed.text).toMatch(/support portal/);
    expect(notice.parsed.text).not.toMatch(/bob@acme\.test|Bob Builder|alice/i);
    // Once: a second sweep finds nothing new to expire.
    expect(t.sink.to('mallory@acme.test', /Still on hold/)).toHaveLength(1);
    expect((await t.caseIn(ref, 'suspended')).status).toBe('suspended');

    // The approver's link (its token still inside its own expiry): the page says how to still decide.
    const link = linkIn(String(request.parsed.html), `${t.base}/approvals/`).split('?')[0]!;
    const page = await (await fetch(link)).text();
    expect(page).toContain('This request expired without an answer');
    expect(page).toContain(`${t.base}/portal/approvals`);
    const post = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'decision=authorize' });
    expect(post.status).toBe(409);
    expect((await t.caseIn(ref, 'suspended')).status).toBe('suspended');

    // A token past its own expiry: the 410 page says the same.
    const bob = await db.selectFrom('contacts').select('id').where('email', '=', 'bob@acme.test').executeTakeFirstOrThrow();
    const expired = signApprovalToken(t.app.ctx.config.linkSecret, { approvalId: approval.id, approverId: bob.id, expiresAt: Math.floor(Date.now() / 1000) - 5 });
    const gone = await fetch(`${t.base}/approvals/${expired}`);
    expect(gone.status).toBe(410);
    expect(await gone.text()).toContain(`${t.base}/portal/approvals`);
  });

  it('authorizing an expired request settles the newer request the sender made meanwhile', async () => {
    const db = t.app.ctx.db;
    const first = await t.write('Nina <nina@acme.test>', 'First question', { id: 'expiry-newer-1' });
    await t.caseIn(first, 'suspended');
    const expired = await eventually(async () => db.selectFrom('approvals').selectAll().where('requester_email', '=', 'nina@acme.test').executeTakeFirst());
    await db.updateTable('approvals').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', expired.id).execute();
    await runMaintenance(t.app.ctx, 60_000);
    const second = await t.write('Nina <nina@acme.test>', 'Second question', { id: 'expiry-newer-2' });
    await t.caseIn(second, 'suspended');
    const newer = await eventually(async () => db.selectFrom('approvals').selectAll().where('requester_email', '=', 'nina@acme.test').where('status', '=', 'pending').executeTakeFirst());
    expect(newer.id).not.toBe(expired.id);

    const outcome = await decideApproval(t.app.ctx.approvals, { approvalId: expired.id, decision: 'authorize', channel: 'portal', actor: 'bob@acme.test', approverContactId: null, afterExpiry: true });
    expect(outcome.result).toBe('decided');
    expect((await t.caseIn(first, 'open')).status).toBe('open');
    expect((await t.caseIn(second, 'open')).status).toBe('open');
    const settled = await db.selectFrom('approvals').select(['status', 'decided_by', 'channel']).where('id', '=', newer.id).executeTakeFirstOrThrow();
    expect(settled).toEqual({ status: 'authorized', decided_by: 'bob@acme.test', channel: 'portal' });
    const audit = await db.selectFrom('audit_log').select(['action', 'detail']).where('approval_id', '=', newer.id).where('action', '=', 'approval_authorized').execute();
    expect(audit).toEqual([{ action: 'approval_authorized', detail: { settledBy: 'earlier_request', approvalId: expired.id } }]);
  });
});

describe('approval expiry within the ceiling on automatic answers', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ AUTO_REPLY_PER_SENDER_PER_HOUR: '1' });
  });
  afterAll(() => t.close());

  it('expires the request but holds the notice back once the requester had their answer this hour', async () => {
    const ref = await t.write('Mallory <mallory@acme.test>', 'Cannot log in', { id: 'expiry-cap' });
    await t.caseIn(ref, 'suspended');
    await eventually(async () => t.sink.to('mallory@acme.test', /on hold/i)[0]);
    const db = t.app.ctx.db;
    await db.updateTable('approvals').set({ expires_at: new Date(Date.now() - 1000) }).where('requester_email', '=', 'mallory@acme.test').execute();
    await runMaintenance(t.app.ctx, 60_000);
    expect(await db.selectFrom('approvals').select('status').where('requester_email', '=', 'mallory@acme.test').executeTakeFirstOrThrow()).toEqual({ status: 'expired' });
    expect(await db.selectFrom('outbox').select('id').where('kind', '=', 'approval_expired_notice').execute()).toEqual([]);
    expect(t.sink.to('mallory@acme.test')).toHaveLength(1);
  });
});
