import { sql } from 'kysely';
import { runApprovalClock } from '../../src/approvals/maintenance';
import { isStillApprover } from '../../src/approvals/repository';
import { loadCaseDetail } from '../../src/cases/detail';
import type { CaseStatus } from '../../src/db/schema';
import { fileRawMessage } from '../../src/intake/ingest';
import { pendingApprovalsFor, portalDecide } from '../../src/portal/decisions';
import { loadPerson, type PortalPerson } from '../../src/portal/people';
import { listVisibleCases, loadVisibleCase, mayDecide, type DecidableCase } from '../../src/portal/visibility';
import { startTestService, type TestService } from '../support/service';

const PROD = 'acme-prod@support.example.com';
const DEV = 'acme-dev@support.example.com';
const GLOBEX = 'globex@support.example.com';
const HOUR = 3600_000;

let counter = 0;

/** A plain message, with a Cc line when asked (Cc addresses become the case's participants). */
function mail(m: { from: string; to: string; subject: string; cc?: string }): Buffer {
  const id = `pv-${Date.now()}-${counter++}`;
  return Buffer.from(
    [
      `From: ${m.from}`,
      `To: ${m.to}`,
      ...(m.cc ? [`Cc: ${m.cc}`] : []),
      `Subject: ${m.subject}`,
      `Date: ${new Date().toUTCString()}`,
      `Message-ID: <${id}@portal.test>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      `Body of ${m.subject}`,
      '',
    ].join('\r\n'),
  );
}

interface Made {
  ref: string;
  id: string;
}

async function make(t: TestService, m: { from: string; to: string; subject: string; cc?: string }, status: CaseStatus): Promise<Made> {
  const r = await fileRawMessage(t.app.ctx.intake, mail(m), { source: 'pipe' });
  if (r.outcome !== 'case') throw new Error(`${m.subject}: expected a case, got ${r.outcome}`);
  await t.caseIn(r.reference, status);
  return { ref: r.reference, id: r.caseId };
}

/** Everything a refused decision must leave as it was (outbox by ids only: the sender updates statuses meanwhile). */
async function snapshot(t: TestService) {
  const db = t.app.ctx.db;
  const [approvals, cases, contacts, permissions, audit, events, outbox] = await Promise.all([
    db.selectFrom('approvals').select(['id', 'status', 'decided_by', 'channel', 'decided_at']).orderBy('id').execute(),
    db.selectFrom('cases').select(['id', 'status', 'hold_reason', 'decided_at', 'approval_id']).orderBy('id').execute(),
    db.selectFrom('contacts').select(['id', 'company_id', 'email', 'status', 'company_role']).orderBy('id').execute(),
    db.selectFrom('permissions').select(['infrastructure_id', 'contact_id', 'role']).orderBy('infrastructure_id').orderBy('contact_id').execute(),
    db.selectFrom('audit_log').select('id').orderBy('id').execute(),
    db.selectFrom('case_events').select('id').orderBy('id').execute(),
    db.selectFrom('outbox').select('id').orderBy('id').execute(),
  ]);
  return { approvals, cases, contacts, permissions, audit, events, outbox };
}

describe('portal: who sees which case, and who decides held ones (PostgreSQL, Redis, SMTP sink)', () => {
  let t: TestService;
  const c: Record<string, Made> = {};
  const person = (email: string): Promise<PortalPerson> => loadPerson(t.app.ctx.db, email);
  const db = () => t.app.ctx.db;
  const approvalOf = async (name: string) => (await db().selectFrom('cases').select('approval_id').where('id', '=', c[name]!.id).executeTakeFirstOrThrow()).approval_id!;
  const approvalRow = async (name: string) => db().selectFrom('approvals').selectAll().where('id', '=', await approvalOf(name)).executeTakeFirstOrThrow();
  const statusOf = async (name: string) => (await db().selectFrom('cases').select('status').where('id', '=', c[name]!.id).executeTakeFirstOrThrow()).status;

  beforeAll(async () => {
    t = await startTestService();
    // acme-prod: bob administrator; carol (pending) and erin users. acme-dev: bob user, no administrator.
    c.P1 = await make(t, { from: 'Erin <erin@mail.test>', to: PROD, cc: 'zoe@partner.test', subject: 'Erin: backup failed' }, 'open');
    c.P2 = await make(t, { from: 'carol@acme.test', to: PROD, cc: 'dave@acme.test', subject: 'Carol: VPN down' }, 'open');
    c.P3 = await make(t, { from: 'Mallory <mallory@elsewhere.test>', to: PROD, cc: 'erin@mail.test', subject: 'Mallory: please help' }, 'suspended');
    c.P3b = await make(t, { from: 'mallory@elsewhere.test', to: PROD, subject: 'Mallory: second question' }, 'suspended');
    c.PG = await make(t, { from: 'gina@globex.test', to: PROD, subject: 'Gina writes to acme' }, 'suspended');
    c.A1 = await make(t, { from: 'alice@acme.test', to: PROD, subject: 'Alice: disk at 100%' }, 'open');
    c.D1 = await make(t, { from: 'bob@acme.test', to: DEV, subject: 'Bob: dev build broken' }, 'open');
    c.D2 = await make(t, { from: 'dave@acme.test', to: DEV, subject: 'Dave: dev access' }, 'suspended');
    c.G1 = await make(t, { from: 'gina@globex.test', to: GLOBEX, cc: 'zoe@partner.test', subject: 'Gina: globex outage' }, 'open');
    c.G2 = await make(t, { from: 'trent@elsewhere.test', to: GLOBEX, subject: 'Trent: globex question' }, 'suspended');
    c.X = await make(t, { from: 'nobody@nowhere.test', to: 'support@support.example.com', subject: 'Nobody: where am I' }, 'suspended');
  }, 60_000);
  afterAll(() => t.close());

  it('set up the cases as the matrix below assumes', async () => {
    const rows = await db().selectFrom('cases').select(['id', 'hold_reason', 'approval_id']).execute();
    const of = (name: string) => rows.find((r) => r.id === c[name]!.id)!;
    expect([of('P3').hold_reason, of('PG').hold_reason, of('D2').hold_reason, of('G2').hold_reason, of('X').hold_reason]).toEqual(['unknown_sender', 'unknown_sender', 'not_permitted', 'unknown_sender', 'unrouted']);
    expect(of('P3b').approval_id).toBe(of('P3').approval_id);
    const participants = await db().selectFrom('case_participants').select(['case_id', 'email']).orderBy('case_id').orderBy('email').execute();
    expect(participants).toEqual([
      { case_id: c.P1!.id, email: 'zoe@partner.test' },
      { case_id: c.P2!.id, email: 'dave@acme.test' },
      { case_id: c.P3!.id, email: 'erin@mail.test' },
      { case_id: c.G1!.id, email: 'zoe@partner.test' },
    ]);
  });

  /** Who sees what, before any decision. Every other case of the list must be invisible to them. */
  const SEES: Record<string, string[]> = {
    // A user: the cases they opened; erin is also cc'd (a participant) on mallory's held case.
    'erin@mail.test': ['P1', 'P3'],
    // A pending contact with a user permission: their own case.
    'carol@acme.test': ['P2'],
    // A participant who is nobody's contact: the cases they are cc'd on, in either company.
    'zoe@partner.test': ['P1', 'G1'],
    // A member without permission: their own held case, and carol's case they are cc'd on.
    'dave@acme.test': ['P2', 'D2'],
    // Administrator of acme-prod: all of it, held ones included; on acme-dev (user) only their own.
    'bob@acme.test': ['P1', 'P2', 'P3', 'P3b', 'PG', 'A1', 'D1'],
    // Company admin: every acme case.
    'alice@acme.test': ['P1', 'P2', 'P3', 'P3b', 'PG', 'A1', 'D1', 'D2'],
    // Globex admin: globex only, not even the case she herself sent to acme.
    'gina@globex.test': ['G1', 'G2'],
    // Requesters who are no contact of the case's company, and strangers: nothing.
    'mallory@elsewhere.test': [],
    'trent@elsewhere.test': [],
    'nobody@nowhere.test': [],
    'stranger@unknown.test': [],
  };
  const ALL = ['P1', 'P2', 'P3', 'P3b', 'PG', 'A1', 'D1', 'D2', 'G1', 'G2', 'X'];
  const newestFirst = (names: string[]) => [...names].sort((a, b) => Number(c[b]!.id) - Number(c[a]!.id)).map((n) => c[n]!.ref);

  it.each(Object.entries(SEES))('lists for %s exactly the cases they may see, newest first', async (email, names) => {
    const result = await listVisibleCases(db(), await person(email), {}, { size: 200 });
    expect(result.rows.map((r) => r.reference)).toEqual(newestFirst(names));
    expect(result.total).toBe(names.length);
    expect(result.pages).toBe(1);
  });

  it.each(Object.entries(SEES))('opens for %s the cases they may see, and answers undefined for every other one, as for an unknown reference', async (email, names) => {
    const p = await person(email);
    for (const name of ALL) {
      const view = await loadVisibleCase(db(), p, c[name]!.ref);
      if (names.includes(name)) expect([name, view?.reference]).toEqual([name, c[name]!.ref]);
      else expect([name, view]).toEqual([name, undefined]);
    }
    expect(await loadVisibleCase(db(), p, 'CASE-999999')).toBeUndefined();
    expect(await loadVisibleCase(db(), p, '')).toBeUndefined();
  });

  it('hides cases that exist: the unrouted case is there for staff, for nobody in the portal', async () => {
    expect((await loadCaseDetail(db(), c.X!.ref))?.reference).toBe(c.X!.ref);
    for (const email of Object.keys(SEES)) expect(await loadVisibleCase(db(), await person(email), c.X!.ref)).toBeUndefined();
  });

  it('returns the whole case view and takes the reference as the staff page does', async () => {
    const view = await loadVisibleCase(db(), await person('bob@acme.test'), ` ${c.P3!.ref.toLowerCase()} `);
    expect(view).toMatchObject({ reference: c.P3!.ref, status: 'suspended', holdReason: 'unknown_sender', requesterEmail: 'mallory@elsewhere.test', companyKey: 'acme', infrastructureKey: 'acme-prod', participants: [{ email: 'erin@mail.test' }] });
    expect(view?.messages.map((m) => m.subject)).toEqual(['Mallory: please help']);
    expect(view?.approval).toMatchObject({ status: 'pending', requesterEmail: 'mallory@elsewhere.test', approvers: ['bob@acme.test'] });
  });

  it('filters by status and searches, within the visible cases only (counts included)', async () => {
    const bob = await person('bob@acme.test');
    const held = await listVisibleCases(db(), bob, { status: 'suspended' });
    expect(held.rows.map((r) => r.reference)).toEqual(newestFirst(['P3', 'P3b', 'PG']));
    expect(held.total).toBe(3);
    // "dev" is in D1's and D2's subjects; bob sees only his own D1.
    expect((await listVisibleCases(db(), bob, { q: 'DEV' })).rows.map((r) => r.reference)).toEqual([c.D1!.ref]);
    // The requester's address is searched too: erin finds mallory's case she is cc'd on.
    expect((await listVisibleCases(db(), await person('erin@mail.test'), { q: 'mallory' })).rows.map((r) => r.reference)).toEqual([c.P3!.ref]);
    // q is taken literally: % matches only a subject with a % in it.
    const alice = await person('alice@acme.test');
    expect((await listVisibleCases(db(), alice, { q: '%' })).rows.map((r) => r.reference)).toEqual([c.A1!.ref]);
    expect((await listVisibleCases(db(), await person('gina@globex.test'), { q: 'gina' })).rows.map((r) => r.reference)).toEqual([c.G1!.ref]);
  });

  it('pages the visible cases with totals, clamping the page number', async () => {
    const alice = await person('alice@acme.test');
    const all = newestFirst(SEES['alice@acme.test']!);
    const third = await listVisibleCases(db(), alice, {}, { page: 3, size: 3 });
    expect(third).toMatchObject({ total: 8, page: 3, pages: 3, size: 3 });
    expect(third.rows.map((r) => r.reference)).toEqual(all.slice(6));
    const past = await listVisibleCases(db(), alice, {}, { page: 99, size: 3 });
    expect(past.page).toBe(3);
    const row = (await listVisibleCases(db(), alice, { q: 'backup' })).rows[0];
    expect(row).toMatchObject({ reference: c.P1!.ref, status: 'open', requesterEmail: 'erin@mail.test', requesterName: 'Erin', companyKey: 'acme', infrastructureKey: 'acme-prod', messageCount: 1 });
  });

  it('offers Authorize / Ignore only to the infrastructure administrator and the company admin of a held case', async () => {
    const offered = async (email: string, name: string) => (await loadVisibleCase(db(), await person(email), c[name]!.ref))?.mayDecide;
    expect(await offered('bob@acme.test', 'P3')).toBe(true);
    expect(await offered('alice@acme.test', 'P3')).toBe(true);
    expect(await offered('bob@acme.test', 'PG')).toBe(true);
    expect(await offered('alice@acme.test', 'D2')).toBe(true);
    expect(await offered('gina@globex.test', 'G2')).toBe(true);
    // A participant who is a user; the requester; an open case.
    expect(await offered('erin@mail.test', 'P3')).toBe(false);
    expect(await offered('dave@acme.test', 'D2')).toBe(false);
    expect(await offered('bob@acme.test', 'P1')).toBe(false);
    expect(await offered('alice@acme.test', 'A1')).toBe(false);
  });

  describe('mayDecide (pure)', () => {
    const acme = { companyId: '1', companyKey: 'acme', companyName: 'Acme', name: null };
    const admin: PortalPerson = { email: 'a@acme.test', memberships: [{ ...acme, contactId: '10', companyRole: 'admin', status: 'active' }], grants: [], participant: false };
    const administrator: PortalPerson = {
      email: 'b@acme.test',
      memberships: [{ ...acme, contactId: '11', companyRole: 'member', status: 'active' }],
      grants: [{ infrastructureId: '5', infrastructureKey: 'acme-prod', infrastructureName: 'Prod', companyId: '1', role: 'administrator' }],
      participant: false,
    };
    const held: DecidableCase = {
      status: 'suspended',
      requesterEmail: 'x@elsewhere.test',
      companyKey: 'acme',
      infrastructureKey: 'acme-prod',
      approval: { status: 'pending', requesterEmail: 'x@elsewhere.test', expiresAt: '2030-01-02T00:00:00.000Z' },
    };

    it('says yes to an active company admin and an active administrator of the infrastructure', () => {
      expect(mayDecide(admin, held)).toBe(true);
      expect(mayDecide(administrator, held)).toBe(true);
    });

    it('says no on another infrastructure or company, to a user, to a pending contact, and to the requester', () => {
      expect(mayDecide(administrator, { ...held, infrastructureKey: 'acme-dev' })).toBe(false);
      expect(mayDecide(admin, { ...held, companyKey: 'globex', infrastructureKey: 'globex-main' })).toBe(false);
      expect(mayDecide(administrator, { ...held, companyKey: 'globex' })).toBe(false);
      expect(mayDecide({ ...administrator, grants: [{ ...administrator.grants[0]!, role: 'user' }] }, held)).toBe(false);
      expect(mayDecide({ ...admin, memberships: [{ ...admin.memberships[0]!, status: 'pending' }] }, held)).toBe(false);
      expect(mayDecide({ ...administrator, memberships: [{ ...administrator.memberships[0]!, status: 'pending' }] }, held)).toBe(false);
      const own = { ...held, requesterEmail: 'a@acme.test', approval: { ...held.approval!, requesterEmail: 'a@acme.test' } };
      expect(mayDecide(admin, own)).toBe(false);
      expect(mayDecide({ ...admin, email: 'A@ACME.TEST' }, own)).toBe(false);
    });

    it('says no unless the case is held on a pending or expired approval', () => {
      expect(mayDecide(admin, { ...held, status: 'open' })).toBe(false);
      expect(mayDecide(admin, { ...held, approval: null })).toBe(false);
      expect(mayDecide(admin, { ...held, approval: { ...held.approval!, status: 'authorized' } })).toBe(false);
      expect(mayDecide(admin, { ...held, approval: { ...held.approval!, status: 'expired' } })).toBe(true);
    });
  });

  it('lists the approvals waiting for each person, oldest first, with what to decide them by', async () => {
    // Created P3, PG, D2 in that order; made oldest-first D2, PG, P3 so that id order would be wrong.
    const now = (await sql<{ now: Date }>`select now() as now`.execute(db())).rows[0]!.now;
    for (const [name, hoursAgo] of [['D2', 3], ['PG', 2], ['P3', 1]] as const) {
      await db().updateTable('approvals').set({ created_at: new Date(now.getTime() - hoursAgo * HOUR) }).where('id', '=', await approvalOf(name)).execute();
    }
    const refsFor = async (email: string) => (await pendingApprovalsFor(db(), await person(email))).map((a) => a.firstCaseReference);
    expect(await refsFor('alice@acme.test')).toEqual([c.D2!.ref, c.PG!.ref, c.P3!.ref]);
    // bob administers acme-prod only; acme-dev's request is the company admin's.
    expect(await refsFor('bob@acme.test')).toEqual([c.PG!.ref, c.P3!.ref]);
    expect(await refsFor('gina@globex.test')).toEqual([c.G2!.ref]);
    for (const email of ['erin@mail.test', 'carol@acme.test', 'dave@acme.test', 'zoe@partner.test', 'mallory@elsewhere.test', 'stranger@unknown.test']) {
      expect([email, await refsFor(email)]).toEqual([email, []]);
    }
    const [, , p3] = await pendingApprovalsFor(db(), await person('alice@acme.test'));
    const row = await approvalRow('P3');
    expect(p3).toEqual({
      approvalId: row.id,
      requesterEmail: 'mallory@elsewhere.test',
      requesterName: 'Mallory',
      companyKey: 'acme',
      companyName: 'Acme Corporation',
      infrastructureKey: 'acme-prod',
      infrastructureName: 'Acme Production',
      firstCaseReference: c.P3!.ref,
      firstCaseSubject: 'Mallory: please help',
      heldCases: 2,
      createdAt: row.created_at.toISOString(),
      expiresAt: row.expires_at.toISOString(),
      expired: false,
    });
  });

  it('refuses the wrong people: forbidden when they see the case, not_found when they do not, and changes nothing', async () => {
    const before = await snapshot(t);
    const tries: Array<[string, string, 'authorize' | 'ignore', string]> = [
      // See the case, may not decide: a user cc'd on it, the requester, a participant, the requester of an open case.
      ['erin@mail.test', 'P3', 'authorize', 'forbidden'],
      ['dave@acme.test', 'D2', 'authorize', 'forbidden'],
      ['dave@acme.test', 'P2', 'ignore', 'forbidden'],
      ['zoe@partner.test', 'P1', 'ignore', 'forbidden'],
      // Do not see it: another company's admin, a user of the infrastructure, the stranger requester, anyone.
      ['gina@globex.test', 'P3', 'authorize', 'not_found'],
      ['gina@globex.test', 'PG', 'ignore', 'not_found'],
      ['alice@acme.test', 'G2', 'authorize', 'not_found'],
      ['bob@acme.test', 'D2', 'authorize', 'not_found'],
      ['carol@acme.test', 'P3', 'authorize', 'not_found'],
      ['mallory@elsewhere.test', 'P3', 'authorize', 'not_found'],
      ['stranger@unknown.test', 'P3', 'authorize', 'not_found'],
      ['alice@acme.test', 'X', 'authorize', 'not_found'],
      // The right person, but nothing is held.
      ['bob@acme.test', 'P1', 'authorize', 'not_held'],
    ];
    for (const [email, name, decision, expected] of tries) {
      expect([email, name, (await portalDecide(t.app.ctx.approvals, await person(email), c[name]!.ref, decision)).result]).toEqual([email, name, expected]);
    }
    expect((await portalDecide(t.app.ctx.approvals, await person('bob@acme.test'), 'CASE-999999', 'authorize')).result).toBe('not_found');
    expect(await snapshot(t)).toEqual(before);
  });

  it('lets the infrastructure administrator authorize through the portal: recorded as theirs, the requester becomes a user, all their held cases open', async () => {
    const outcome = await portalDecide(t.app.ctx.approvals, await person('bob@acme.test'), c.P3!.ref, 'authorize');
    expect(outcome).toMatchObject({ result: 'decided', status: 'authorized', decidedBy: 'bob@acme.test', channel: 'portal' });
    if (outcome.result !== 'decided') throw new Error('not decided');
    expect([...outcome.releasedCaseIds].sort()).toEqual([c.P3!.id, c.P3b!.id].sort());
    expect(await approvalRow('P3')).toMatchObject({ status: 'authorized', decided_by: 'bob@acme.test', channel: 'portal' });
    expect([await statusOf('P3'), await statusOf('P3b')]).toEqual(['open', 'open']);
    const grant = await db()
      .selectFrom('permissions as p')
      .innerJoin('contacts as k', 'k.id', 'p.contact_id')
      .innerJoin('infrastructures as i', 'i.id', 'p.infrastructure_id')
      .select(['i.key', 'p.role', 'p.granted_by', 'p.granted_via', 'k.status'])
      .where('k.email', '=', 'mallory@elsewhere.test')
      .execute();
    expect(grant).toEqual([{ key: 'acme-prod', role: 'user', granted_by: 'bob@acme.test', granted_via: 'portal', status: 'active' }]);
    const audit = await db().selectFrom('audit_log').select(['actor', 'channel', 'action']).where('approval_id', '=', await approvalOf('P3')).where('channel', '!=', 'system').orderBy('id').execute();
    expect(audit).toEqual([
      { actor: 'bob@acme.test', channel: 'portal', action: 'approval_authorized' },
      { actor: 'bob@acme.test', channel: 'portal', action: 'permission_granted' },
    ]);
    const mail = await db().selectFrom('outbox').select(['to_address', 'kind']).where('id', 'in', outcome.outboxIds).execute();
    expect(mail.filter((m) => m.kind === 'released_notice').map((m) => m.to_address)).toEqual(['mallory@elsewhere.test', 'mallory@elsewhere.test']);
    // Now a contact of acme, mallory sees her own cases; the request no longer waits for anyone.
    expect((await listVisibleCases(db(), await person('mallory@elsewhere.test'), {})).rows.map((r) => r.reference)).toEqual(newestFirst(['P3', 'P3b']));
    expect((await loadVisibleCase(db(), await person('bob@acme.test'), c.P3!.ref))?.mayDecide).toBe(false);
    expect((await pendingApprovalsFor(db(), await person('bob@acme.test'))).map((a) => a.firstCaseReference)).toEqual([c.PG!.ref]);
  });

  it('answers a second decision with already_decided, who decided, and changes nothing', async () => {
    const before = await snapshot(t);
    for (const [email, decision] of [['alice@acme.test', 'ignore'], ['bob@acme.test', 'authorize']] as const) {
      const again = await portalDecide(t.app.ctx.approvals, await person(email), c.P3b!.ref, decision);
      expect(again).toMatchObject({ result: 'already_decided', status: 'authorized', decidedBy: 'bob@acme.test', channel: 'portal', outboxIds: [] });
    }
    expect(await snapshot(t)).toEqual(before);
  });

  it('lets a company admin decide on an infrastructure that has its own administrator (not an emailed approver)', async () => {
    const approval = await approvalRow('PG');
    const alice = await person('alice@acme.test');
    // Why portalDecide passes no contact id for a company admin: the approvers' rule would refuse her here.
    expect(await isStillApprover(db(), approval, alice.memberships[0]!.contactId)).toBe(false);
    const outcome = await portalDecide(t.app.ctx.approvals, alice, c.PG!.ref, 'ignore');
    expect(outcome).toMatchObject({ result: 'decided', status: 'ignored', decidedBy: 'alice@acme.test', channel: 'portal', outboxIds: [] });
    expect(await approvalRow('PG')).toMatchObject({ status: 'ignored', decided_by: 'alice@acme.test', channel: 'portal' });
    expect(await statusOf('PG')).toBe('ignored');
    expect(await portalDecide(t.app.ctx.approvals, await person('bob@acme.test'), c.PG!.ref, 'authorize')).toMatchObject({ result: 'already_decided', decidedBy: 'alice@acme.test' });
    expect(await statusOf('PG')).toBe('ignored');
    const granted = await db().selectFrom('contacts').select('id').where('email', '=', 'gina@globex.test').where('company_id', '=', approval.company_id).execute();
    expect(granted).toEqual([]);
  });

  it('lets the company admin authorize where the infrastructure has no administrator: the member gets the permission', async () => {
    const outcome = await portalDecide(t.app.ctx.approvals, await person('alice@acme.test'), c.D2!.ref, 'authorize');
    expect(outcome).toMatchObject({ result: 'decided', status: 'authorized', decidedBy: 'alice@acme.test', channel: 'portal' });
    await t.caseIn(c.D2!.ref, 'open');
    const perms = await db()
      .selectFrom('permissions as p')
      .innerJoin('contacts as k', 'k.id', 'p.contact_id')
      .innerJoin('infrastructures as i', 'i.id', 'p.infrastructure_id')
      .select(['i.key', 'p.role', 'p.granted_via'])
      .where('k.email', '=', 'dave@acme.test')
      .execute();
    expect(perms).toEqual([{ key: 'acme-dev', role: 'user', granted_via: 'portal' }]);
  });

  it('lets exactly one of two deciders at once win', async () => {
    const held = await make(t, { from: 'oscar@elsewhere.test', to: PROD, subject: 'Oscar: race' }, 'suspended');
    const [bob, alice] = await Promise.all([person('bob@acme.test'), person('alice@acme.test')]);
    const outcomes = await Promise.all([portalDecide(t.app.ctx.approvals, bob, held.ref, 'authorize'), portalDecide(t.app.ctx.approvals, alice, held.ref, 'ignore')]);
    expect(outcomes.map((o) => o.result).sort()).toEqual(['already_decided', 'decided']);
    const winner = outcomes.findIndex((o) => o.result === 'decided');
    const row = await db().selectFrom('approvals').select(['status', 'decided_by']).where('requester_email', '=', 'oscar@elsewhere.test').executeTakeFirstOrThrow();
    expect(row).toEqual(winner === 0 ? { status: 'authorized', decided_by: 'bob@acme.test' } : { status: 'ignored', decided_by: 'alice@acme.test' });
    expect(outcomes[1 - winner]).toMatchObject({ result: 'already_decided', decidedBy: row.decided_by });
  });

  it('after an expiry, tells the requester and still lets the administrators decide the held case (a new decision, audited)', async () => {
    const gina = await person('gina@globex.test');
    expect((await loadVisibleCase(db(), gina, c.G2!.ref))?.mayDecide).toBe(true);
    await db().updateTable('approvals').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', await approvalOf('G2')).execute();
    // Past its expiry but not yet swept: listed (as expired) wherever the case page offers it.
    expect((await loadVisibleCase(db(), gina, c.G2!.ref))?.mayDecide).toBe(true);
    expect(await pendingApprovalsFor(db(), gina)).toMatchObject([{ firstCaseReference: c.G2!.ref, expired: true, heldCases: 1 }]);
    await runApprovalClock(t.app.ctx.approvals);
    expect(await approvalRow('G2')).toMatchObject({ status: 'expired', decided_by: 'system', channel: 'expiry' });
    // The requester is told (one notice, threaded to the case); the case says why it still waits.
    const notices = await db().selectFrom('outbox').select(['id', 'to_address', 'case_id']).where('kind', '=', 'approval_expired_notice').execute();
    expect(notices).toEqual([{ id: expect.any(String), to_address: 'trent@elsewhere.test', case_id: c.G2!.id }]);
    const seen = await loadVisibleCase(db(), gina, c.G2!.ref);
    expect(seen?.mayDecide).toBe(true);
    expect(seen?.heldBecause).toMatch(/expired without an answer.*portal/);
    expect(await pendingApprovalsFor(db(), gina)).toMatchObject([{ firstCaseReference: c.G2!.ref, expired: true, heldCases: 1 }]);
    // Someone who could not decide it before cannot now.
    expect(await portalDecide(t.app.ctx.approvals, await person('alice@acme.test'), c.G2!.ref, 'authorize')).toEqual({ result: 'not_found' });

    expect(await portalDecide(t.app.ctx.approvals, gina, c.G2!.ref, 'authorize')).toMatchObject({ result: 'decided', status: 'authorized', decidedBy: 'gina@globex.test', channel: 'portal' });
    expect(await statusOf('G2')).toBe('open');
    const audit = await db().selectFrom('audit_log').select(['action', 'actor', 'detail']).where('channel', '=', 'portal').where('approval_id', '=', await approvalOf('G2')).orderBy('id').execute();
    expect(audit[0]).toMatchObject({ action: 'approval_authorized', actor: 'gina@globex.test', detail: { afterExpiry: true } });
    // Decided once: a second click finds it decided and changes nothing.
    expect(await portalDecide(t.app.ctx.approvals, gina, c.G2!.ref, 'ignore')).toMatchObject({ result: 'already_decided', status: 'authorized' });
    expect(await statusOf('G2')).toBe('open');
  });

  it('counts the administrator and admin roles only for active contacts (last: it changes the directory)', async () => {
    const carol = await db().selectFrom('contacts').select('id').where('email', '=', 'carol@acme.test').executeTakeFirstOrThrow();
    await db().updateTable('permissions').set({ role: 'administrator' }).where('contact_id', '=', carol.id).execute();
    await db().updateTable('contacts').set({ company_role: 'admin' }).where('id', '=', carol.id).execute();
    const seen = async () => (await listVisibleCases(db(), await person('carol@acme.test'), {}, { size: 200 })).rows.map((r) => r.reference);
    // Pending: still only her own case.
    expect(await seen()).toEqual([c.P2!.ref]);
    await db().updateTable('contacts').set({ company_role: 'member', status: 'active' }).where('id', '=', carol.id).execute();
    // Active administrator of acme-prod: all of it (not acme-dev).
    const prod = await db().selectFrom('cases as k').innerJoin('infrastructures as i', 'i.id', 'k.infrastructure_id').select('k.reference').where('i.key', '=', 'acme-prod').orderBy('k.id', 'desc').execute();
    expect(await seen()).toEqual(prod.map((r) => r.reference));
    expect(await seen()).not.toContain(c.D1!.ref);
  });
});

describe('portal: a requester never decides their own request (INBOUND_AUTHSERV_ID set)', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ INBOUND_AUTHSERV_ID: 'mx.support.example.com' });
  });
  afterAll(() => t.close());

  it('shows the administrator their own unverified case, held for the company admin, without letting them decide it', async () => {
    const db = t.app.ctx.db;
    // bob administers acme-prod, but our server did not vouch for this mail: held, and asked of the other approvers (alice).
    const own = await make(t, { from: 'bob@acme.test', to: PROD, subject: 'Bob: unverified' }, 'suspended');
    const bob = await loadPerson(db, 'bob@acme.test');
    const view = await loadVisibleCase(db, bob, own.ref);
    expect(view).toMatchObject({ holdReason: 'sender_not_verified', approval: { status: 'pending', approvers: ['alice@acme.test'] }, mayDecide: false });
    expect(await pendingApprovalsFor(db, bob)).toEqual([]);
    const before = await snapshot(t);
    expect(await portalDecide(t.app.ctx.approvals, bob, own.ref, 'authorize')).toEqual({ result: 'forbidden' });
    expect(await snapshot(t)).toEqual(before);

    const alice = await loadPerson(db, 'alice@acme.test');
    expect((await pendingApprovalsFor(db, alice)).map((a) => a.firstCaseReference)).toEqual([own.ref]);
    expect(await portalDecide(t.app.ctx.approvals, alice, own.ref, 'authorize')).toMatchObject({ result: 'decided', decidedBy: 'alice@acme.test', channel: 'portal' });
    await t.caseIn(own.ref, 'open');
  });
});
