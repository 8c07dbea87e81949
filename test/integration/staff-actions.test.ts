import { sql } from 'kysely';
import { enqueueDeliveries } from '../../src/queue/handlers';
import { resendApprovalRequest, routeCase, staffDecideCase, type StaffActionOutcome } from '../../src/approvals/staff-actions';
import { DomainError } from '../../src/errors';
import { eventually } from '../support/env';
import { startTestService, type TestService } from '../support/service';

const STAFF = 'sam.staff@vendor.test';
const ACTOR = `staff:${STAFF}`;

describe('staff actions on held cases (PostgreSQL, Redis, SMTP sink)', () => {
  let t: TestService;
  beforeAll(async () => {
    // A low case limit and message size, so rate_limited and too_large holds are easy to make.
    t = await startTestService({ SENDER_CASE_LIMIT: '3', MAX_MESSAGE_BYTES: '8192' });
  });
  afterAll(() => t.close());

  const db = () => t.app.ctx.db;
  const deps = () => t.app.ctx.approvals;

  /** A case taken in and decided by matching, with its id. */
  const heldCase = async (from: string, subject: string, status = 'suspended', body?: string) => {
    const ref = await t.write(from, subject, { body });
    const c = await t.caseIn(ref, status);
    const row = await db().selectFrom('cases').selectAll().where('reference', '=', ref).executeTakeFirstOrThrow();
    return { ref, id: row.id, holdReason: c.holdReason, approvalId: row.approval_id };
  };
  const caseRow = (id: string) => db().selectFrom('cases').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const auditOf = (action: string, subjectEmail: string) =>
    db().selectFrom('audit_log').select(['actor', 'channel', 'detail', 'case_id', 'approval_id']).where('action', '=', action).where('subject_email', '=', subjectEmail).orderBy('id').execute();
  const eventsOf = (caseId: string, kind: string) => db().selectFrom('case_events').select(['actor', 'detail']).where('case_id', '=', caseId).where('kind', '=', kind).execute();
  const permissionsOf = (email: string) =>
    db()
      .selectFrom('permissions as p')
      .innerJoin('contacts as c', 'c.id', 'p.contact_id')
      .innerJoin('infrastructures as i', 'i.id', 'p.infrastructure_id')
      .select(['c.status', 'p.role', 'p.granted_by', 'p.granted_via', 'i.key'])
      .where('c.email', '=', email)
      .execute();
  const contactsOf = (email: string) => db().selectFrom('contacts').select('id').where('email', '=', email).execute();
  const approvalRequests = (to: string, requester: string) => t.sink.to(to, new RegExp(`Authorize ${requester.replace(/\./g, '\\.')}`));

  /** Queues what an action wrote, as the web route will, and waits until the sink has every one of those mails. */
  const deliver = async (outcome: StaffActionOutcome) => {
    await enqueueDeliveries(t.app.ctx, outcome.outboxIds);
    if (!outcome.outboxIds.length) return [];
    const rows = await db().selectFrom('outbox').select(['kind', 'to_address', 'message_id']).where('id', 'in', outcome.outboxIds).orderBy('id').execute();
    await eventually(async () => rows.every((r) => t.sink.messages.some((m) => m.parsed.messageId === `<${r.message_id}>`)), 15000, 'staff action mail');
    return rows.map((r) => ({ kind: r.kind, to: r.to_address }));
  };

  const rejection = async (p: Promise<unknown>) => {
    const err = await p.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    return (err as DomainError).code;
  };

  describe('resendApprovalRequest', () => {
    it('mails every approver the request again, in one transaction with an audit entry and a case event', async () => {
      const c = await heldCase('Nora <nora@acme.test>', 'Please resend');
      await eventually(async () => approvalRequests('bob@acme.test', 'nora@acme.test').length === 1);
      // As if the hourly cap had held a round back: a resend that goes out lifts that hold.
      await db().updateTable('approvals').set({ mail_held: 'capped' }).where('id', '=', c.approvalId!).execute();

      const outcome = await resendApprovalRequest(deps(), c.id, STAFF);
      expect(outcome).toMatchObject({ result: 'done', action: 'approval_resent', caseIds: [c.id], status: 'suspended', holdReason: 'unknown_sender' });
      expect(await deliver(outcome)).toEqual([{ kind: 'approval_request', to: 'bob@acme.test' }]);
      expect(approvalRequests('bob@acme.test', 'nora@acme.test').length).toBeGreaterThanOrEqual(2);

      const approval = await db().selectFrom('approvals').selectAll().where('id', '=', c.approvalId!).executeTakeFirstOrThrow();
      expect({ status: approval.status, mailHeld: approval.mail_held }).toEqual({ status: 'pending', mailHeld: null });
      expect(await auditOf('approval_resent', 'nora@acme.test')).toEqual([{ actor: ACTOR, channel: 'staff', detail: { mails: 1, mailHeld: 'capped' }, case_id: c.id, approval_id: c.approvalId }]);
      expect(await eventsOf(c.id, 'approval_resent')).toEqual([{ actor: ACTOR, detail: { channel: 'staff', approvalId: c.approvalId, mails: 1 } }]);
    });

    it('reports the hourly cap and writes nothing when it holds the resend back', async () => {
      const c = await heldCase('Otto <otto@acme.test>', 'Capped resend');
      const acme = await db().selectFrom('companies').select('id').where('key', '=', 'acme').executeTakeFirstOrThrow();
      const filler = Array.from({ length: t.app.ctx.config.approvalMailPerHour }, (_, i) => ({
        kind: 'approval_request', company_id: acme.id, to_address: 'filler@acme.test', subject: 'filler', text: '', html: '', message_id: `filler-${i}@test`, status: 'sent' as const, sent_at: new Date(),
      }));
      const inserted = await db().insertInto('outbox').values(filler).returning('id').execute();
      try {
        const before = await db().selectFrom('outbox').select('id').where('approval_id', '=', c.approvalId!).execute();
        expect(await resendApprovalRequest(deps(), c.id, STAFF)).toEqual({ result: 'capped', outboxIds: [] });
        expect(await db().selectFrom('outbox').select('id').where('approval_id', '=', c.approvalId!).execute()).toEqual(before);
        expect(await auditOf('approval_resent', 'otto@acme.test')).toEqual([]);
      } finally {
        await db().deleteFrom('outbox').where('id', 'in', inserted.map((r) => r.id)).execute();
      }
    });

    it('refuses a case that waits on no pending approval, and one whose approval is past its expiry', async () => {
      const open = await heldCase('Bob <bob@acme.test>', 'An open case', 'open');
      expect(await resendApprovalRequest(deps(), open.id, STAFF)).toEqual({ result: 'refused', reason: 'no_pending_approval', outboxIds: [] });

      const stale = await heldCase('Pia <pia@acme.test>', 'Stale request');
      await db().updateTable('approvals').set({ expires_at: sql<Date>`now() - interval '1 minute'` }).where('id', '=', stale.approvalId!).execute();
      const mailsBefore = await db().selectFrom('outbox').select('id').where('approval_id', '=', stale.approvalId!).execute();
      expect(await resendApprovalRequest(deps(), stale.id, STAFF)).toMatchObject({ result: 'refused', reason: 'no_pending_approval' });
      expect(await db().selectFrom('outbox').select('id').where('approval_id', '=', stale.approvalId!).execute()).toEqual(mailsBefore);
      expect(await auditOf('approval_resent', 'bob@acme.test')).toEqual([]);
      expect(await auditOf('approval_resent', 'pia@acme.test')).toEqual([]);
    });

    it('answers an unknown case with not_found', async () => {
      expect(await rejection(resendApprovalRequest(deps(), '999999', STAFF))).toBe('not_found');
      expect(await rejection(resendApprovalRequest(deps(), 'CASE-1', STAFF))).toBe('not_found');
    });
  });

  describe('staffDecideCase on a pending approval', () => {
    it('authorize makes the requester a member, opens all their held cases, tells them, and records the reason', async () => {
      const first = await heldCase('Uma <uma@acme.test>', 'First held');
      const second = await heldCase('uma@acme.test', 'Second held');
      expect(second.approvalId).toBe(first.approvalId);

      const outcome = await staffDecideCase(deps(), second.id, 'authorize', STAFF, '  Verified by phone with Alice  ');
      expect(outcome).toMatchObject({ result: 'done', action: 'approval_authorized', status: 'open', holdReason: null });
      expect(outcome.result === 'done' && [...outcome.caseIds].sort()).toEqual([first.id, second.id].sort());

      expect((await caseRow(first.id)).status).toBe('open');
      expect((await caseRow(second.id)).status).toBe('open');
      expect(await permissionsOf('uma@acme.test')).toEqual([{ status: 'active', role: 'user', granted_by: ACTOR, granted_via: 'staff', key: 'acme-prod' }]);
      const approval = await db().selectFrom('approvals').selectAll().where('id', '=', first.approvalId!).executeTakeFirstOrThrow();
      expect({ status: approval.status, by: approval.decided_by, channel: approval.channel }).toEqual({ status: 'authorized', by: ACTOR, channel: 'staff' });
      expect(await auditOf('approval_authorized', 'uma@acme.test')).toEqual([expect.objectContaining({ actor: ACTOR, channel: 'staff', detail: { reason: 'Verified by phone with Alice' } })]);
      expect(await auditOf('permission_granted', 'uma@acme.test')).toEqual([expect.objectContaining({ actor: ACTOR, channel: 'staff' })]);
      expect(await eventsOf(first.id, 'released')).toEqual([{ actor: ACTOR, detail: { channel: 'staff', approvalId: first.approvalId, reason: 'Verified by phone with Alice' } }]);

      const mails = await deliver(outcome);
      expect(mails.filter((m) => m.kind === 'released_notice')).toEqual([
        { kind: 'released_notice', to: 'uma@acme.test' },
        { kind: 'released_notice', to: 'uma@acme.test' },
      ]);
      expect(t.sink.to('uma@acme.test', /Your request is open now/)).toHaveLength(2);
    });

    it('ignore marks the held cases ignored, grants nothing and mails nobody', async () => {
      const c = await heldCase('Vic <vic@acme.test>', 'Ignore me');
      const outcome = await staffDecideCase(deps(), c.id, 'ignore', STAFF, 'Spam');
      expect(outcome).toEqual({ result: 'done', action: 'approval_ignored', caseIds: [c.id], status: 'ignored', holdReason: 'unknown_sender', outboxIds: [] });
      expect((await caseRow(c.id)).status).toBe('ignored');
      expect(await contactsOf('vic@acme.test')).toEqual([]);
      const approval = await db().selectFrom('approvals').selectAll().where('id', '=', c.approvalId!).executeTakeFirstOrThrow();
      expect({ status: approval.status, by: approval.decided_by, channel: approval.channel }).toEqual({ status: 'ignored', by: ACTOR, channel: 'staff' });
      expect(await auditOf('approval_ignored', 'vic@acme.test')).toEqual([expect.objectContaining({ actor: ACTOR, channel: 'staff', detail: { reason: 'Spam' } })]);
      expect(await eventsOf(c.id, 'ignored')).toEqual([{ actor: ACTOR, detail: { channel: 'staff', approvalId: c.approvalId, reason: 'Spam' } }]);
      expect(await db().selectFrom('outbox').select('kind').where('case_id', '=', c.id).where('kind', '=', 'released_notice').execute()).toEqual([]);
    });

    it('requires a reason of at most 500 characters, and changes nothing without one', async () => {
      const c = await heldCase('Wes <wes@acme.test>', 'No reason given');
      for (const reason of ['', '   ', 'x'.repeat(501), undefined as unknown as string]) {
        expect(await rejection(staffDecideCase(deps(), c.id, 'authorize', STAFF, reason))).toBe('invalid_input');
      }
      expect(await rejection(staffDecideCase(deps(), c.id, 'approve' as 'authorize', STAFF, 'fine'))).toBe('invalid_input');
      expect((await caseRow(c.id)).status).toBe('suspended');
      expect(await auditOf('approval_authorized', 'wes@acme.test')).toEqual([]);
      expect(await contactsOf('wes@acme.test')).toEqual([]);
    });

    it('lets exactly one of two staff deciding at the same moment act', async () => {
      const c = await heldCase('Rex <rex@acme.test>', 'Race the staff');
      const outcomes = await Promise.all([
        staffDecideCase(deps(), c.id, 'authorize', 'one@vendor.test', 'first'),
        staffDecideCase(deps(), c.id, 'ignore', 'two@vendor.test', 'second'),
      ]);
      expect(outcomes.map((o) => o.result).sort()).toEqual(['done', 'refused']);
      const loser = outcomes.find((o) => o.result === 'refused');
      expect(loser).toMatchObject({ reason: expect.stringMatching(/^(already_decided|not_held)$/) });
      const decisions = await db().selectFrom('audit_log').select('actor').where('approval_id', '=', c.approvalId!).where('action', 'in', ['approval_authorized', 'approval_ignored']).execute();
      expect(decisions).toHaveLength(1);
      const winner = outcomes.find((o) => o.result === 'done')!;
      expect((await caseRow(c.id)).status).toBe(winner.result === 'done' ? winner.status : 'none');
      await deliver(winner);
    });
  });

  describe('staffDecideCase on a hold no approval can lift', () => {
    it('authorize opens only that rate_limited case and grants no permission', async () => {
      const earlier: string[] = [];
      // One at a time: matching counts the sender's cases when it runs.
      for (const n of [1, 2, 3]) earlier.push((await heldCase('Flo <flo@acme.test>', `Flood ${n}`)).id);
      const flooded = await heldCase('flo@acme.test', 'Flood 4');
      expect(flooded.holdReason).toBe('rate_limited');

      const outcome = await staffDecideCase(deps(), flooded.id, 'authorize', STAFF, 'Real outage, customer called');
      expect(outcome).toMatchObject({ result: 'done', action: 'case_released_by_staff', caseIds: [flooded.id], status: 'open', holdReason: null });
      const row = await caseRow(flooded.id);
      expect({ status: row.status, hold: row.hold_reason, decided: row.decided_at !== null }).toEqual({ status: 'open', hold: null, decided: true });
      for (const id of earlier) expect((await caseRow(id)).status).toBe('suspended');
      expect(await contactsOf('flo@acme.test')).toEqual([]);
      expect(await auditOf('permission_granted', 'flo@acme.test')).toEqual([]);
      const approval = await db().selectFrom('approvals').select('status').where('requester_email', '=', 'flo@acme.test').executeTakeFirstOrThrow();
      expect(approval.status).toBe('pending');
      expect(await auditOf('case_released_by_staff', 'flo@acme.test')).toEqual([
        expect.objectContaining({ actor: ACTOR, channel: 'staff', case_id: flooded.id, detail: { holdReason: 'rate_limited', reason: 'Real outage, customer called' } }),
      ]);
      expect(await eventsOf(flooded.id, 'released')).toEqual([{ actor: ACTOR, detail: { channel: 'staff', holdReason: 'rate_limited', reason: 'Real outage, customer called' } }]);

      expect(await deliver(outcome)).toEqual(expect.arrayContaining([{ kind: 'released_notice', to: 'flo@acme.test' }]));
      expect(t.sink.to('flo@acme.test', new RegExp(`\\[${flooded.ref}\\] Your request is open now`))).toHaveLength(1);
    });

    it('authorize opens a too_large case of a stranger without making them a contact', async () => {
      const c = await heldCase('Tess <tess@acme.test>', 'Huge log', 'suspended', 'x'.repeat(10_000));
      expect(c.holdReason).toBe('too_large');
      const outcome = await staffDecideCase(deps(), c.id, 'authorize', STAFF, 'Log looked fine');
      expect(outcome).toMatchObject({ result: 'done', action: 'case_released_by_staff', caseIds: [c.id], status: 'open' });
      expect((await caseRow(c.id)).status).toBe('open');
      expect(await contactsOf('tess@acme.test')).toEqual([]);
      expect(await permissionsOf('tess@acme.test')).toEqual([]);
      await deliver(outcome);
      expect(t.sink.to('tess@acme.test', /Your request is open now/)).toHaveLength(1);
    });

    it('ignore sets just that case ignored and mails nothing', async () => {
      const c = await heldCase('Zoe <zoe@nowhere.test>', 'Unrouted and unwanted');
      expect(c.holdReason).toBe('unrouted');
      const outcome = await staffDecideCase(deps(), c.id, 'ignore', STAFF, 'Not a customer');
      expect(outcome).toEqual({ result: 'done', action: 'case_ignored_by_staff', caseIds: [c.id], status: 'ignored', holdReason: 'unrouted', outboxIds: [] });
      expect((await caseRow(c.id)).status).toBe('ignored');
      expect(await auditOf('case_ignored_by_staff', 'zoe@nowhere.test')).toEqual([expect.objectContaining({ actor: ACTOR, channel: 'staff', detail: { holdReason: 'unrouted', reason: 'Not a customer' } })]);
      expect(await eventsOf(c.id, 'ignored')).toHaveLength(1);
      expect(await db().selectFrom('outbox').select('kind').where('case_id', '=', c.id).where('kind', '!=', 'held_notice').execute()).toEqual([]);
    });

    it('lets exactly one of two staff releasing the same case act', async () => {
      const c = await heldCase('Hal <hal@acme.test>', 'Big twice', 'suspended', 'y'.repeat(10_000));
      const outcomes = await Promise.all([
        staffDecideCase(deps(), c.id, 'authorize', 'one@vendor.test', 'first'),
        staffDecideCase(deps(), c.id, 'authorize', 'two@vendor.test', 'second'),
      ]);
      expect(outcomes.map((o) => o.result).sort()).toEqual(['done', 'refused']);
      expect(outcomes.find((o) => o.result === 'refused')).toMatchObject({ reason: 'not_held' });
      expect(await auditOf('case_released_by_staff', 'hal@acme.test')).toHaveLength(1);
      expect(await db().selectFrom('outbox').select('id').where('case_id', '=', c.id).where('kind', '=', 'released_notice').execute()).toHaveLength(1);
      await deliver(outcomes.find((o) => o.result === 'done')!);
    });

    it('refuses a case that is not held', async () => {
      const open = await heldCase('bob@acme.test', 'Already open', 'open');
      expect(await staffDecideCase(deps(), open.id, 'ignore', STAFF, 'why not')).toEqual({ result: 'refused', reason: 'not_held', outboxIds: [] });
      expect((await caseRow(open.id)).status).toBe('open');
      expect(await db().selectFrom('audit_log').select('id').where('case_id', '=', open.id).execute()).toEqual([]);
    });
  });

  describe('routeCase', () => {
    it('routes an unrouted stranger to an infrastructure: held as unknown_sender, and its administrators are asked', async () => {
      const c = await heldCase('Zed <zed@nowhere.test>', 'Nobody knows me');
      expect(c.holdReason).toBe('unrouted');
      const outcome = await routeCase(deps(), c.id, 'acme-prod', STAFF, 'Works for Acme, per the signature');
      expect(outcome).toMatchObject({ result: 'done', action: 'case_routed', caseIds: [c.id], status: 'suspended', holdReason: 'unknown_sender' });

      const row = await caseRow(c.id);
      const prod = await db().selectFrom('infrastructures').select(['id', 'company_id']).where('key', '=', 'acme-prod').executeTakeFirstOrThrow();
      expect({ status: row.status, hold: row.hold_reason, company: row.company_id, infra: row.infrastructure_id, route: row.route }).toEqual({
        status: 'suspended', hold: 'unknown_sender', company: prod.company_id, infra: prod.id, route: 'staff',
      });
      expect(row.approval_id).not.toBeNull();
      expect(await auditOf('case_routed', 'zed@nowhere.test')).toEqual([
        expect.objectContaining({ actor: ACTOR, channel: 'staff', case_id: c.id, detail: { infrastructure: 'acme-prod', reason: 'Works for Acme, per the signature' } }),
      ]);
      expect(await eventsOf(c.id, 'routed')).toHaveLength(1);

      const mails = await deliver(outcome);
      expect(mails).toEqual(expect.arrayContaining([{ kind: 'approval_request', to: 'bob@acme.test' }]));
      const request = approvalRequests('bob@acme.test', 'zed@nowhere.test');
      expect(request).toHaveLength(1);
      expect(request[0]!.parsed.subject).toContain('Acme Production');
    });

    it("opens a member's unrouted case when routed to an infrastructure they are permitted on", async () => {
      // A member permitted on both of a company's infrastructures, neither the default: matching cannot choose.
      const initech = await db().selectFrom('companies').select('id').where('key', '=', 'initech').executeTakeFirstOrThrow();
      const ivy = await db()
        .insertInto('contacts')
        .values({ company_id: initech.id, email: 'ivy@initech.test', name: 'Ivy', company_role: 'member', status: 'active' })
        .returning('id')
        .executeTakeFirstOrThrow();
      const infras = await db().selectFrom('infrastructures').select(['id', 'key']).where('company_id', '=', initech.id).execute();
      await db().insertInto('permissions').values(infras.map((i) => ({ infrastructure_id: i.id, contact_id: ivy.id, role: 'user' as const, cc_all_cases: false }))).execute();

      const c = await heldCase('Ivy <ivy@initech.test>', 'Which one?');
      expect(c.holdReason).toBe('unrouted');
      const outcome = await routeCase(deps(), c.id, 'initech-b', STAFF);
      expect(outcome).toMatchObject({ result: 'done', action: 'case_routed', status: 'open', holdReason: null });
      const row = await caseRow(c.id);
      expect({ status: row.status, hold: row.hold_reason, infra: row.infrastructure_id, approval: row.approval_id }).toEqual({
        status: 'open', hold: null, infra: infras.find((i) => i.key === 'initech-b')!.id, approval: null,
      });
      expect(await auditOf('case_routed', 'ivy@initech.test')).toEqual([expect.objectContaining({ detail: { infrastructure: 'initech-b', reason: null } })]);
      expect(await deliver(outcome)).toEqual([{ kind: 'acknowledgement', to: 'ivy@initech.test' }]);
      expect(t.sink.to('ivy@initech.test', new RegExp(`\\[${c.ref}\\] We received your request`))).toHaveLength(1);
    });

    it('refuses a case that is not unrouted, and an unknown infrastructure, changing nothing', async () => {
      const held = await heldCase('Quinn <quinn@acme.test>', 'Routed already');
      expect(await routeCase(deps(), held.id, 'acme-dev', STAFF)).toEqual({ result: 'refused', reason: 'not_unrouted', outboxIds: [] });
      expect((await caseRow(held.id)).infrastructure_id).toBe((await db().selectFrom('infrastructures').select('id').where('key', '=', 'acme-prod').executeTakeFirstOrThrow()).id);

      const unrouted = await heldCase('Ivan <ivan@initech.test>', 'Two infrastructures');
      expect(unrouted.holdReason).toBe('unrouted');
      expect(await routeCase(deps(), unrouted.id, 'no-such-infra', STAFF)).toEqual({ result: 'refused', reason: 'unknown_infrastructure', outboxIds: [] });
      const row = await caseRow(unrouted.id);
      expect({ status: row.status, hold: row.hold_reason, infra: row.infrastructure_id }).toEqual({ status: 'suspended', hold: 'unrouted', infra: null });
      expect(await auditOf('case_routed', 'ivan@initech.test')).toEqual([]);
      expect(await rejection(routeCase(deps(), unrouted.id, 'initech-a', STAFF, 'r'.repeat(501)))).toBe('invalid_input');

      // Routed once, it is no longer unrouted: a second click is refused.
      expect(await routeCase(deps(), unrouted.id, 'initech-a', STAFF)).toMatchObject({ result: 'done', holdReason: 'unknown_sender' });
      expect(await routeCase(deps(), unrouted.id, 'initech-b', STAFF)).toMatchObject({ result: 'refused', reason: 'not_unrouted' });
      expect(await auditOf('case_routed', 'ivan@initech.test')).toHaveLength(1);
    });
  });
});
