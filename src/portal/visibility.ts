import type { DbOrTx } from '../db/connection';
import type { ApprovalStatus, CaseStatus } from '../db/schema';
import { loadCaseDetail, type CaseDetailView } from '../cases/detail';
import { caseQuery, searchCasesWhere, type CaseRestriction, type CaseSearchResult, type PageRequest } from '../cases/search';
import type { InfrastructureGrant, Membership, PortalPerson } from './people';

/**
 * What a signed-in portal person may SEE. One SQL condition (`visibleTo`) serves the list and the
 * single case, so the two cannot disagree. A person sees the union of:
 *
 * 1. **Their own cases**: requester_email is their address AND the case's company is one they
 *    are a contact of (active or pending). This covers "a member with a `user` permission sees
 *    the cases they opened", and also a member without permission (or a pending one) seeing
 *    their own held case. A choice the rules above leave open: a requester who is NOT a contact
 *    of the case's company (a stranger held as `unknown_sender`, an admin of another company
 *    writing to this one) does not see it through this rule, nor does anyone see an unrouted
 *    case without a company through it: "nobody sees another company's cases", and the From
 *    address alone is not a tie to a company (it is not verified unless INBOUND_AUTHSERV_ID is
 *    set). Such a requester sees the case only if they are also a participant of it (rule 2).
 * 2. **Cases they take part in**: a row of case_participants with their address (cc'd on the
 *    customer's mail). Participation is per case, given by the customer's own mail, and does not
 *    depend on any membership; it reaches that case and nothing else.
 * 3. **Every case of an infrastructure they administer** (`administrator` permission), held,
 *    ignored and new ones included.
 * 4. **Every case of a company they are an admin of.**
 *
 * Rules 3 and 4 count only for an ACTIVE contact, as approvers do (src/approvals/repository.ts):
 * a pending contact has not been confirmed yet, so a pending administrator or admin sees what
 * rules 1 and 2 give them, no more. Roles in one company never reach another company's cases.
 *
 * A case the person may not see is indistinguishable from one that does not exist: the functions
 * return undefined (or leave it out of the list) in both cases.
 *
 * Who may DECIDE a held case from the portal (`mayDecide`): an active company admin of the case's
 * company, or an active `administrator` of its infrastructure, never its requester, and only
 * while the case is suspended on an approval request, pending or expired with nobody's answer
 * (the mailed links stop at the expiry, the portal does not). The decision itself is in
 * decisions.ts.
 */

/** The companies (ids) where the person's admin role counts: active contacts only. */
export function adminCompanies(person: PortalPerson): Membership[] {
  return person.memberships.filter((m) => m.companyRole === 'admin' && m.status === 'active');
}

/** The active contact the person is in a company, if any. */
export function activeMembership(person: PortalPerson, companyId: string): Membership | undefined {
  return person.memberships.find((m) => m.companyId === companyId && m.status === 'active');
}

/** The infrastructures the person administers as an active contact of their company. */
export function administeredInfrastructures(person: PortalPerson): InfrastructureGrant[] {
  return person.grants.filter((g) => g.role === 'administrator' && activeMembership(person, g.companyId) !== undefined);
}

const unique = (values: string[]): string[] => [...new Set(values)];

/** The cases this person may see, as one condition on a case query (`cases as c`, see caseQuery). */
export function visibleTo(person: PortalPerson): CaseRestriction {
  const email = person.email.trim().toLowerCase();
  const contactOf = unique(person.memberships.map((m) => m.companyId));
  const adminOf = unique(adminCompanies(person).map((m) => m.companyId));
  const administers = unique(administeredInfrastructures(person).map((g) => g.infrastructureId));
  return (eb) => {
    const any = [eb('c.id', 'in', eb.selectFrom('case_participants as p').select('p.case_id').where('p.email', '=', email))];
    if (contactOf.length) any.push(eb.and([eb('c.requester_email', '=', email), eb('c.company_id', 'in', contactOf)]));
    if (administers.length) any.push(eb('c.infrastructure_id', 'in', administers));
    if (adminOf.length) any.push(eb('c.company_id', 'in', adminOf));
    return eb.or(any);
  };
}

export interface PortalCaseFilter {
  status?: CaseStatus;
  /** Substring of the subject, the requester's address or name, any case; taken literally. */
  q?: string;
}

/** The cases the person may see, newest first, paged as the staff list is (src/cases/search.ts). */
export async function listVisibleCases(db: DbOrTx, person: PortalPerson, filter: PortalCaseFilter = {}, page: PageRequest = {}): Promise<CaseSearchResult> {
  // Only these two filters: the staff list's company, infrastructure and requester filters are not offered here.
  return searchCasesWhere(db, visibleTo(person), { status: filter.status, q: filter.q }, page);
}

export type PortalCaseView = CaseDetailView & {
  /** Whether the person may authorize or ignore this case's approval now (see mayDecide). */
  mayDecide: boolean;
  /** Whether the person may ask to escalate it now (see offersEscalation). */
  offersEscalation: boolean;
};

/** Normalised as loadCaseDetail does it: `case-000042 ` is CASE-000042. */
export function normaliseReference(reference: string): string {
  return reference.trim().toUpperCase();
}

/** The reference of the case if this person may see it; undefined for an unknown or hidden case alike. */
export async function visibleReference(db: DbOrTx, person: PortalPerson, reference: string): Promise<string | undefined> {
  const wanted = normaliseReference(reference);
  if (!wanted) return undefined;
  const row = await caseQuery(db).select('c.reference').where('c.reference', '=', wanted).where(visibleTo(person)).executeTakeFirst();
  return row?.reference;
}

/**
 * The whole case as the staff page has it, if the person may see it; undefined otherwise, exactly
 * as for a reference that does not exist. The view carries the staff trail and approval history
 * (approvers' addresses, staff reasons): the web layer chooses what of it a customer is shown.
 */
export async function loadVisibleCase(db: DbOrTx, person: PortalPerson, reference: string): Promise<PortalCaseView | undefined> {
  const visible = await visibleReference(db, person, reference);
  if (visible === undefined) return undefined;
  const detail = await loadCaseDetail(db, visible);
  // A held reply (its sender unverified) is for staff: it may be forged in the requester's name.
  return detail && { ...detail, messages: detail.messages.filter((m) => m.holdReason === null), mayDecide: mayDecide(person, detail), offersEscalation: offersEscalation(person, detail) };
}

/** What deciding needs to know of a case; a CaseDetailView is one. */
export interface DecidableCase {
  status: CaseStatus;
  requesterEmail: string;
  companyKey: string | null;
  infrastructureKey: string | null;
  approval: { status: ApprovalStatus; requesterEmail: string; expiresAt: string } | null;
}

/**
 * Whether the person holds a role that decides this case's approvals, whatever its state: an
 * active admin of the case's company or an active administrator of its infrastructure, and not
 * its requester. Companies and infrastructures are compared by key (unique, the stable identity).
 */
export function isDecider(
  person: PortalPerson,
  c: Pick<DecidableCase, 'requesterEmail' | 'companyKey' | 'infrastructureKey'> & { approval: { requesterEmail: string } | null },
): boolean {
  const email = person.email.trim().toLowerCase();
  if (c.requesterEmail.toLowerCase() === email || c.approval?.requesterEmail.toLowerCase() === email) return false;
  return administersCase(person, c);
}

/**
 * Whether the person is an active admin of the case's company or an active administrator of its
 * infrastructure (in that same company). Companies and infrastructures are compared by key.
 */
export function administersCase(person: PortalPerson, c: { companyKey: string | null; infrastructureKey: string | null }): boolean {
  if (c.companyKey === null) return false;
  if (adminCompanies(person).some((m) => m.companyKey === c.companyKey)) return true;
  if (c.infrastructureKey === null) return false;
  return administeredInfrastructures(person).some(
    (g) => g.infrastructureKey === c.infrastructureKey && activeMembership(person, g.companyId)?.companyKey === c.companyKey,
  );
}

/** What escalating needs to know of a case; a CaseDetailView is one. */
export interface EscalatableCase {
  status: CaseStatus;
  requesterEmail: string;
  companyKey: string | null;
  infrastructureKey: string | null;
  escalatedAt: string | null;
}

/**
 * Whether the person may ask for this case to be escalated, whatever its state: its requester,
 * an administrator of its infrastructure or an admin of its company (active contacts, as for
 * deciding). Anyone else who sees it (a participant, a colleague cc'd on it) may comment, not
 * escalate: escalation jumps the queue, and the company's administrators answer for that.
 */
export function mayEscalate(person: PortalPerson, c: Pick<EscalatableCase, 'requesterEmail' | 'companyKey' | 'infrastructureKey'>): boolean {
  return c.requesterEmail.toLowerCase() === person.email.trim().toLowerCase() || administersCase(person, c);
}

/**
 * Whether the portal offers this person the escalation form now: they may escalate it, and the
 * case is being worked (open or pending) and not escalated yet (escalateCase refuses the rest).
 */
export function offersEscalation(person: PortalPerson, c: EscalatableCase): boolean {
  return (c.status === 'open' || c.status === 'pending') && c.escalatedAt === null && mayEscalate(person, c);
}

/**
 * Whether the portal offers this person Authorize / Ignore on this case now: they are a decider
 * (isDecider) and the case is held on an approval request that is pending or expired (past its
 * expiry, swept or not). Pure: the caller passes the person and case it loaded.
 */
/**
 * The approval states the portal decides: pending (also past its expiry before the sweep marks
 * it) and expired, while the request still holds a case.
 */
export function isDecidableApproval(status: ApprovalStatus | null | undefined): boolean {
  return status === 'pending' || status === 'expired';
}

export function mayDecide(person: PortalPerson, c: DecidableCase): boolean {
  if (c.status !== 'suspended' || !c.approval || !isDecidableApproval(c.approval.status)) return false;
  return isDecider(person, c);
}
