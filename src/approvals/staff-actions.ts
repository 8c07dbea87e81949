import { sql } from 'kysely';
import { recordEvent } from '../cases/repository';
import { ignoreCase, openCase, routeCaseTo } from '../cases/holds';
import type { Tx } from '../db/connection';
import type { CaseStatus, HoldReason } from '../db/schema';
import { decide } from '../directory/matching';
import { loadSenderFacts } from '../directory/repository';
import { DomainError } from '../errors';
import type { ApprovalDeps } from './context';
import { decideApproval, mailReleasedCase, type ApprovalChoice } from './decide';
import { audit } from '../audit/audit-log';
import { lockApproval } from './repository';
import { onCaseDecided } from './on-decided';
import { mailApprovers } from './requests';
import { loadCaseContext } from '../cases/case-context';

/** What support staff do to held cases from the dashboard; each is also the audit action. */
export type StaffAction = 'approval_resent' | 'approval_authorized' | 'approval_ignored' | 'case_released_by_staff' | 'case_ignored_by_staff' | 'case_routed';

export type StaffRefusal =
  /** The case is not suspended on an approval that is still pending (and unexpired). */
  | 'no_pending_approval'
  /** The approval has nobody to mail (`mail_held = no_approvers`). */
  | 'no_approvers'
  /** The case is not suspended (any more). */
  | 'not_held'
  /** Someone decided the case's approval between the click and the decision. */
  | 'already_decided'
  | 'not_unrouted'
  | 'unknown_infrastructure'
  /** The case's company is known, and the infrastructure is not one of its. */
  | 'other_company';

/** Every outcome carries the outbox ids to queue once the transaction has committed (possibly none). */
export type StaffActionOutcome =
  | {
      result: 'done';
      action: StaffAction;
      /** The cases whose status this action changed (for a resend, the case acted on). */
      caseIds: string[];
      /** The acted-on case afterwards. */
      status: CaseStatus;
      holdReason: HoldReason | null;
      outboxIds: string[];
    }
  /** The company's hourly cap on approval mail held the resend back; nothing changed. */
  | { result: 'capped'; outboxIds: string[] }
  | { result: 'refused'; reason: StaffRefusal; outboxIds: string[] };

const MAX_REASON = 500;
const CHANNEL = 'staff';

function refused(reason: StaffRefusal): StaffActionOutcome {
  return { result: 'refused', reason, outboxIds: [] };
}

function staffActor(staffEmail: string): string {
  const email = staffEmail.trim();
  if (!email) throw new DomainError('invalid_input', 'the acting staff member is missing');
  return `staff:${email}`;
}

function checkedReason(reason: string | undefined, required: boolean): string | undefined {
  const trimmed = typeof reason === 'string' ? reason.trim() : '';
  if (!trimmed) {
    if (required) throw new DomainError('invalid_input', 'a reason is required');
    return undefined;
  }
  if (trimmed.length > MAX_REASON) throw new DomainError('invalid_input', `the reason is longer than ${MAX_REASON} characters`);
  return trimmed;
}

function missingCase(caseId: string): DomainError {
  return new DomainError('not_found', `no case ${caseId}`);
}

/** Ids are bigints: anything else is no case, rather than a database error. */
function assertCaseId(caseId: string): void {
  if (!/^[1-9][0-9]{0,18}$/.test(caseId)) throw missingCase(caseId);
}

/** The case row, locked for the transaction: of two staff acting on it at once, the second waits and sees the first's result. */
async function lockCase(tx: Tx, caseId: string) {
  const row = await tx
    .selectFrom('cases')
    .select(['id', 'status', 'hold_reason', 'approval_id', 'requester_email', 'company_id', 'infrastructure_id', 'sender_verified'])
    .where('id', '=', caseId)
    .forUpdate()
    .executeTakeFirst();
  if (!row) throw missingCase(caseId);
  return row;
}

type LockedCase = Awaited<ReturnType<typeof lockCase>>;

/** Pending and not yet past its expiry (the clock may not have swept it): its links still work. */
async function isLivePending(tx: Tx, approvalId: string): Promise<boolean> {
  const row = await tx
    .selectFrom('approvals')
    .select('id')
    .where('id', '=', approvalId)
    .where('status', '=', 'pending')
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
  return row !== undefined;
}

function caseScope(c: LockedCase) {
  return { caseId: c.id, companyId: c.company_id, infrastructureId: c.infrastructure_id, approvalId: c.approval_id, subjectEmail: c.requester_email };
}

/**
 * Mails every approver of the case's pending approval its request again, in one transaction
 * with the audit entry and the case event. Clears a `capped` hold once the mail is written.
 */
export async function resendApprovalRequest(deps: ApprovalDeps, caseId: string, staffEmail: string): Promise<StaffActionOutcome> {
  const actor = staffActor(staffEmail);
  assertCaseId(caseId);
  return deps.db.transaction().execute(async (tx) => {
    // Approval before case: decide.ts takes its locks in that order, so the two cannot deadlock.
    const peek = await tx.selectFrom('cases').select('approval_id').where('id', '=', caseId).executeTakeFirst();
    if (!peek) throw missingCase(caseId);
    const approval = peek.approval_id ? await lockApproval(tx, peek.approval_id) : undefined;
    const c = await lockCase(tx, caseId);
    if (!approval || c.status !== 'suspended' || c.approval_id !== approval.id || !(await isLivePending(tx, approval.id))) return refused('no_pending_approval');
    const context = await loadCaseContext(tx, caseId);
    if (!context) throw missingCase(caseId);

    const sent = await mailApprovers(tx, deps, approval, context, 'approval_request');
    if (sent === null) return { result: 'capped', outboxIds: [] };
    if (!sent.length) return refused('no_approvers');
    if (approval.mail_held) await tx.updateTable('approvals').set({ mail_held: null }).where('id', '=', approval.id).execute();
    await audit(tx, { ...caseScope(c), actor, channel: CHANNEL, action: 'approval_resent', detail: { mails: sent.length, mailHeld: approval.mail_held } });
    await recordEvent(tx, caseId, 'approval_resent', actor, { channel: CHANNEL, approvalId: approval.id, mails: sent.length });
    return { result: 'done', action: 'approval_resent', caseIds: [caseId], status: 'suspended', holdReason: c.hold_reason, outboxIds: sent };
  });
}

/**
 * Staff authorize or ignore a held case, with a reason. A case waiting on a pending approval is
 * decided through that approval, exactly as an approver would (authorize makes the requester a
 * member and opens all their held cases there). Any other hold is lifted for this case alone:
 * no permission is granted, because no administrator of the customer said so.
 */
export async function staffDecideCase(deps: ApprovalDeps, caseId: string, decision: ApprovalChoice, staffEmail: string, reason: string): Promise<StaffActionOutcome> {
  if (decision !== 'authorize' && decision !== 'ignore') throw new DomainError('invalid_input', `unknown decision ${String(decision)}`);
  const why = checkedReason(reason, true)!;
  const actor = staffActor(staffEmail);
  assertCaseId(caseId);

  const direct = await deps.db.transaction().execute(async (tx): Promise<StaffActionOutcome | { approvalId: string }> => {
    const c = await lockCase(tx, caseId);
    if (c.status !== 'suspended') return refused('not_held');
    // Left to decideApproval, whose approval lock lets exactly one of two deciders win.
    if (c.approval_id && (await isLivePending(tx, c.approval_id))) return { approvalId: c.approval_id };
    return decision === 'authorize' ? releaseOne(tx, deps, c, actor, why) : ignoreOne(tx, c, actor, why);
  });
  if (!('approvalId' in direct)) return direct;
  return decideThroughApproval(deps, caseId, direct.approvalId, decision, actor, why);
}

async function decideThroughApproval(deps: ApprovalDeps, caseId: string, approvalId: string, decision: ApprovalChoice, actor: string, reason: string): Promise<StaffActionOutcome> {
  const outcome = await decideApproval(deps, { approvalId, decision, channel: CHANNEL, actor, approverContactId: null, reason });
  if (outcome.result !== 'decided') return refused('already_decided');
  const after = await deps.db.selectFrom('cases').select(['status', 'hold_reason']).where('id', '=', caseId).executeTakeFirstOrThrow();
  const caseIds =
    decision === 'authorize'
      ? outcome.releasedCaseIds
      : (await deps.db.selectFrom('cases').select('id').where('approval_id', '=', approvalId).where('status', '=', 'ignored').orderBy('id').execute()).map((r) => r.id);
  return { result: 'done', action: decision === 'authorize' ? 'approval_authorized' : 'approval_ignored', caseIds, status: after.status, holdReason: after.hold_reason, outboxIds: outcome.outboxIds };
}

async function releaseOne(tx: Tx, deps: ApprovalDeps, c: LockedCase, actor: string, reason: string): Promise<StaffActionOutcome> {
  const detail = { holdReason: c.hold_reason, reason };
  await openCase(tx, c.id, actor, { channel: CHANNEL, ...detail });
  await audit(tx, { ...caseScope(c), actor, channel: CHANNEL, action: 'case_released_by_staff', detail });
  // Support released this one case; no permission came with it, so the notice promises nothing more.
  const outboxIds = await mailReleasedCase(tx, deps, c.id, false);
  return { result: 'done', action: 'case_released_by_staff', caseIds: [c.id], status: 'open', holdReason: null, outboxIds };
}

async function ignoreOne(tx: Tx, c: LockedCase, actor: string, reason: string): Promise<StaffActionOutcome> {
  const detail = { holdReason: c.hold_reason, reason };
  await ignoreCase(tx, c.id, actor, { channel: CHANNEL, ...detail });
  await audit(tx, { ...caseScope(c), actor, channel: CHANNEL, action: 'case_ignored_by_staff', detail });
  return { result: 'done', action: 'case_ignored_by_staff', caseIds: [c.id], status: 'ignored', holdReason: c.hold_reason, outboxIds: [] };
}

type Verdict = { status: 'open'; holdReason: null } | { status: 'suspended'; holdReason: Exclude<HoldReason, 'unrouted'> };

/**
 * Matching's own rules with the infrastructure fixed, as if the message had been addressed to
 * it: a company admin or a contact with a permission there opens; another contact of the company
 * is `not_permitted`; anyone else is `unknown_sender`. A contact our receiving server did not
 * vouch for is held as matching would hold them.
 */
async function verdictFor(tx: Tx, requesterEmail: string, senderVerified: boolean | null, infra: { id: string; company_id: string }): Promise<Verdict> {
  const facts = await loadSenderFacts(tx, requesterEmail, []);
  const decision = decide({ ...facts, addressedInfrastructures: [{ infrastructureId: infra.id, companyId: infra.company_id }] });
  if (decision.status === 'open') return senderVerified === false ? { status: 'suspended', holdReason: 'sender_not_verified' } : { status: 'open', holdReason: null };
  if (decision.holdReason === 'unrouted') throw new Error('matching left a case unrouted although its infrastructure was given');
  if (decision.holdReason === 'not_permitted' && senderVerified === false) return { status: 'suspended', holdReason: 'sender_not_verified' };
  return { status: 'suspended', holdReason: decision.holdReason };
}

/**
 * Staff route an unrouted case to an infrastructure; the case is then decided as matching would
 * have decided it there, and what follows a matching decision (acknowledgement, or held notice
 * and approval request) is written in the same transaction.
 */
export async function routeCase(deps: ApprovalDeps, caseId: string, infrastructureKey: string, staffEmail: string, reason?: string): Promise<StaffActionOutcome> {
  const why = checkedReason(reason, false);
  const actor = staffActor(staffEmail);
  assertCaseId(caseId);
  return deps.db.transaction().execute(async (tx) => {
    const c = await lockCase(tx, caseId);
    if (c.status !== 'suspended' || c.hold_reason !== 'unrouted') return refused('not_unrouted');
    const infra = await tx.selectFrom('infrastructures').select(['id', 'company_id', 'key']).where('key', '=', infrastructureKey).executeTakeFirst();
    if (!infra) return refused('unknown_infrastructure');
    if (c.company_id !== null && infra.company_id !== c.company_id) return refused('other_company');

    const verdict = await verdictFor(tx, c.requester_email, c.sender_verified, infra);
    const detail = { infrastructure: infra.key, reason: why ?? null };
    await routeCaseTo(tx, c.id, { ...verdict, companyId: infra.company_id, infrastructureId: infra.id }, actor, { channel: CHANNEL, ...detail });
    await audit(tx, { ...caseScope(c), companyId: infra.company_id, infrastructureId: infra.id, actor, channel: CHANNEL, action: 'case_routed', detail });
    const outboxIds = await onCaseDecided(tx, deps, c.id);
    return { result: 'done', action: 'case_routed', caseIds: [c.id], status: verdict.status, holdReason: verdict.holdReason, outboxIds };
  });
}
