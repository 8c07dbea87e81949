import type { ApprovalDeps } from '../approvals/context';
import { decideApproval, type ApprovalChoice } from '../approvals/decide';
import { caseQuery } from '../cases/search';
import type { DbOrTx } from '../db/connection';
import type { ApprovalChannel, ApprovalStatus } from '../db/schema';
import { DomainError } from '../errors';
import type { PortalPerson } from './people';
import { activeMembership, adminCompanies, administeredInfrastructures, isDecidableApproval, isDecider, normaliseReference, visibleTo } from './visibility';

/**
 * What a portal person DECIDES: Authorize / Ignore on a held case, and the list of what waits for
 * them. Who may decide is visibility.ts's isDecider: an active admin of the case's company or an
 * active administrator of its infrastructure, never the requester.
 */

/** How an approval stands after a decision (or was found decided). */
export interface PortalDecisionInfo {
  status: ApprovalStatus;
  decidedBy: string | null;
  channel: ApprovalChannel | null;
  /** ISO 8601. */
  decidedAt: string | null;
}

export type PortalDecisionOutcome =
  /** Decided by this person; outboxIds are the mail to queue now that it has committed. */
  | ({ result: 'decided'; outboxIds: string[]; releasedCaseIds: string[] } & PortalDecisionInfo)
  /** Someone decided first (authorized or ignored, by whom, how, when): nothing changed. */
  | ({ result: 'already_decided'; outboxIds: string[] } & PortalDecisionInfo)
  /** The person sees the case but may not decide it (a user, a participant, its requester…): nothing changed. */
  | { result: 'forbidden' }
  /** No such case, or one the person may not see: the same answer for both. */
  | { result: 'not_found' }
  /** The case is not held (any more), and has no decided approval to report. */
  | { result: 'not_held' }
  /**
   * Held, but not on an approval request (rate_limited, too_large, unrouted): only support staff
   * can act on it.
   */
  | { result: 'no_pending_approval' };

const CHANNEL = 'portal';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/**
 * Authorize or ignore the approval a held case waits on, as the emailed links do: through
 * decideApproval (row lock, first decision wins, audit with the actor and channel `portal`).
 * Its deps are decideApproval's, passed through; of its own it reads only the database.
 * A request that expired with nobody's answer can still be decided here, by the same people, as
 * long as the case is held on it (a new decision, its audit row marked `afterExpiry`): the mailed
 * links stop at the expiry, the portal does not. Authorize then opens every held case of the
 * requester on the infrastructure, as any authorization does; Ignore closes this request's
 * held cases. A requester authorized meanwhile (another request, a role given) has no held case
 * left here: the answer is `not_held`, nothing changes.
 * A case the person cannot see is `not_found`; one they see without the right to decide is
 * `forbidden`; neither changes anything.
 */
export async function portalDecide(deps: ApprovalDeps, person: PortalPerson, reference: string, decision: ApprovalChoice): Promise<PortalDecisionOutcome> {
  if (decision !== 'authorize' && decision !== 'ignore') throw new DomainError('invalid_input', `unknown decision ${String(decision)}`);
  const wanted = normaliseReference(reference);
  if (!wanted) return { result: 'not_found' };
  const c = await caseQuery(deps.db)
    .leftJoin('approvals as a', 'a.id', 'c.approval_id')
    .select([
      'c.id',
      'c.status',
      'c.requester_email',
      'c.company_id',
      'c.infrastructure_id',
      'co.key as company_key',
      'i.key as infrastructure_key',
      'a.id as approval_id',
      'a.status as approval_status',
      'a.requester_email as approval_requester',
      'a.decided_by',
      'a.channel',
      'a.decided_at',
    ])
    .where('c.reference', '=', wanted)
    .where(visibleTo(person))
    .executeTakeFirst();
  if (!c) return { result: 'not_found' };

  const decider = isDecider(person, {
    requesterEmail: c.requester_email,
    companyKey: c.company_key,
    infrastructureKey: c.infrastructure_key,
    approval: c.approval_requester ? { requesterEmail: c.approval_requester } : null,
  });
  if (!decider) return { result: 'forbidden' };

  if (c.approval_status === 'authorized' || c.approval_status === 'ignored') {
    return { result: 'already_decided', outboxIds: [], status: c.approval_status!, decidedBy: c.decided_by, channel: c.channel, decidedAt: iso(c.decided_at) };
  }
  if (c.status !== 'suspended') return { result: 'not_held' };
  if (!c.approval_id || !isDecidableApproval(c.approval_status)) return { result: 'no_pending_approval' };

  // An administrator of the case's infrastructure is always among findApprovers' approvers (it
  // lists the infrastructure's active administrators but the requester), so their contact id is
  // passed and decideApproval checks it again under the approval's row lock. A company admin is
  // one of those approvers only when the infrastructure has no active administrator; the portal
  // lets company admins decide anyway (a rule of the portal), so for them isStillApprover would say
  // no: we pass null, as staff do, having checked the role ourselves just now from the directory
  // as it stands (the person is read at every request, so a removal takes effect at once).
  const administrator = administeredInfrastructures(person).some((g) => g.infrastructureId === c.infrastructure_id && g.companyId === c.company_id);
  const contactId = administrator ? activeMembership(person, c.company_id!)!.contactId : null;
  const outcome = await decideApproval(deps, { approvalId: c.approval_id, decision, channel: CHANNEL, actor: person.email.trim().toLowerCase(), approverContactId: contactId, afterExpiry: true });
  switch (outcome.result) {
    case 'decided':
      return {
        result: 'decided',
        outboxIds: outcome.outboxIds,
        releasedCaseIds: outcome.releasedCaseIds,
        status: outcome.approval.status,
        decidedBy: outcome.approval.decided_by,
        channel: outcome.approval.channel,
        decidedAt: iso(outcome.approval.decided_at),
      };
    case 'already_decided':
      return { result: 'already_decided', outboxIds: [], status: outcome.approval.status, decidedBy: outcome.approval.decided_by, channel: outcome.approval.channel, decidedAt: iso(outcome.approval.decided_at) };
    // Lost the administrator role between our check and the lock.
    case 'not_approver':
      return { result: 'forbidden' };
    case 'not_found':
      return { result: 'not_found' };
  }
}

/** One approval request waiting for this person (GET /portal/approvals). */
export interface PortalApprovalRow {
  approvalId: string;
  requesterEmail: string;
  /** The display name of the request's first case. */
  requesterName: string | null;
  companyKey: string;
  companyName: string;
  infrastructureKey: string;
  infrastructureName: string;
  /** The case that started the request: decide through it (portalDecide). */
  firstCaseReference: string;
  firstCaseSubject: string;
  /** The request's cases still suspended. */
  heldCases: number;
  /** ISO 8601. */
  createdAt: string;
  expiresAt: string;
  /** Expired with nobody's answer, its cases still held: still decidable here (see portalDecide). */
  expired: boolean;
}

/**
 * Pending approval requests, and expired ones whose cases are still held, on infrastructures the person administers or of companies
 * they are an admin of (active contacts only), never their own, oldest first.
 */
export async function pendingApprovalsFor(db: DbOrTx, person: PortalPerson): Promise<PortalApprovalRow[]> {
  const email = person.email.trim().toLowerCase();
  const adminOf = [...new Set(adminCompanies(person).map((m) => m.companyId))];
  const administers = [...new Set(administeredInfrastructures(person).map((g) => g.infrastructureId))];
  if (!adminOf.length && !administers.length) return [];
  const rows = await db
    .selectFrom('approvals as a')
    .innerJoin('companies as co', 'co.id', 'a.company_id')
    .innerJoin('infrastructures as i', 'i.id', 'a.infrastructure_id')
    .innerJoin('cases as f', 'f.id', 'a.first_case_id')
    .select([
      'a.id',
      'a.requester_email',
      'f.requester_name',
      'co.key as company_key',
      'co.name as company_name',
      'i.key as infrastructure_key',
      'i.name as infrastructure_name',
      'f.reference',
      'f.subject',
      'a.created_at',
      'a.expires_at',
      'a.status',
    ])
    .select((eb) =>
      eb
        .selectFrom('cases as h')
        .select((e) => e.fn.countAll<string>().as('n'))
        .whereRef('h.approval_id', '=', 'a.id')
        .where('h.status', '=', 'suspended')
        .as('held_cases'),
    )
    .where((eb) =>
      eb.or([
        // isDecidableApproval, as a query: a pending request past its expiry stays listed (as expired).
        eb('a.status', '=', 'pending'),
        eb.and([eb('a.status', '=', 'expired'), eb.exists(eb.selectFrom('cases as e').select('e.id').whereRef('e.approval_id', '=', 'a.id').where('e.status', '=', 'suspended'))]),
      ]),
    )
    .where('a.requester_email', '!=', email)
    .where((eb) => {
      const any = [];
      if (administers.length) any.push(eb('a.infrastructure_id', 'in', administers));
      if (adminOf.length) any.push(eb('a.company_id', 'in', adminOf));
      return eb.or(any);
    })
    .orderBy('a.created_at')
    .orderBy('a.id')
    .execute();
  return rows.map((r) => ({
    approvalId: r.id,
    requesterEmail: r.requester_email,
    requesterName: r.requester_name,
    companyKey: r.company_key,
    companyName: r.company_name,
    infrastructureKey: r.infrastructure_key,
    infrastructureName: r.infrastructure_name,
    firstCaseReference: r.reference,
    firstCaseSubject: r.subject,
    heldCases: Number(r.held_cases ?? 0),
    createdAt: r.created_at.toISOString(),
    expiresAt: r.expires_at.toISOString(),
    expired: r.status === 'expired' || r.expires_at.getTime() <= Date.now(),
  }));
}
