import { ignoreCasesOfApproval, openHeldCases } from '../cases/holds';
import type { Tx } from '../db/connection';
import type { ApprovalChannel, HoldReason } from '../db/schema';
import { NO_DIRECTORY_EFFECTS } from '../directory/changes';
import { admitRequester } from '../directory/people';
import { addAllToOutbox, written, type AnyMail } from '../mail/outbox';
import type { ApprovalDeps } from './context';
import { audit } from '../audit/audit-log';
import { findPendingApprovals, isStillApprover, lockApproval, pendingKey, setDecision, type ApprovalRow } from './repository';
import { caseReplyTo, ccCopies } from './requests';
import { loadCaseContext } from '../cases/case-context';

export type ApprovalChoice = 'authorize' | 'ignore';

export interface DecisionRequest {
  approvalId: string;
  decision: ApprovalChoice;
  channel: ApprovalChannel;
  /** Who decides, as recorded: an approver's email, or `staff:<email>`. */
  actor: string;
  /** The approver contact the token was issued to; null for staff, who are checked by the caller. */
  approverContactId: string | null;
  /** Why, when the decider gave a reason (staff must): kept in the audit log and the case events. */
  reason?: string;
  /**
   * A request that expired with nobody's answer may be decided too (its cases are still held):
   * an administrator deciding in the portal. The audit row says `afterExpiry`.
   */
  afterExpiry?: boolean;
}

export type DecisionOutcome =
  | { result: 'decided'; approval: ApprovalRow; releasedCaseIds: string[]; outboxIds: string[] }
  /** Someone decided first: nothing changed. */
  | { result: 'already_decided'; approval: ApprovalRow }
  | { result: 'not_approver'; approval: ApprovalRow }
  | { result: 'not_found' };

/**
 * Decides an approval. The approval row is locked for the transaction, so of two approvers
 * deciding at once exactly one wins; the other sees who did. Authorize adds the requester as an
 * active contact with a `user` permission on the infrastructure, opens every held case of theirs
 * there and tells them; ignore marks the request's held cases ignored and mails nobody.
 */
export async function decideApproval(
  deps: ApprovalDeps,
  req: DecisionRequest,
  /** More mail to write in the same transaction, whatever the outcome (a reply's confirmation). */
  followUp?: (tx: Tx, outcome: DecisionOutcome) => Promise<string[]>,
): Promise<DecisionOutcome & { followUpIds: string[] }> {
  const result = await deps.db.transaction().execute(async (tx) => {
    const approval = await lockApproval(tx, req.approvalId);
    let outcome: DecisionOutcome;
    if (!approval) outcome = { result: 'not_found' };
    else if (approval.status !== 'pending' && !(req.afterExpiry && approval.status === 'expired')) outcome = { result: 'already_decided', approval };
    else if (req.approverContactId !== null && !(await isStillApprover(tx, approval, req.approverContactId))) outcome = { result: 'not_approver', approval };
    else outcome = await apply(tx, deps, approval, req);
    return { ...outcome, followUpIds: followUp ? await followUp(tx, outcome) : [] };
  });
  if (result.result === 'decided' && result.approval.decided_at) {
    const seconds = (result.approval.decided_at.getTime() - result.approval.created_at.getTime()) / 1000;
    deps.onDecided?.({ channel: req.channel, outcome: result.approval.status, secondsToDecision: seconds });
  }
  return result;
}

async function apply(tx: Tx, deps: ApprovalDeps, approval: ApprovalRow, req: DecisionRequest): Promise<DecisionOutcome> {
  const status = req.decision === 'authorize' ? 'authorized' : 'ignored';
  await setDecision(tx, approval.id, status, req.actor, req.channel, [approval.status]);
  const scope = { companyId: approval.company_id, infrastructureId: approval.infrastructure_id, approvalId: approval.id, subjectEmail: approval.requester_email };
  const why = { ...(req.reason === undefined ? {} : { reason: req.reason }), ...(approval.status === 'expired' ? { afterExpiry: true } : {}) };
  await audit(tx, { ...scope, actor: req.actor, channel: req.channel, action: `approval_${status}`, detail: why });
  const decided = (await lockApproval(tx, approval.id))!;
  if (req.decision === 'ignore') {
    await ignoreCasesOfApproval(tx, approval.id, req.actor, { channel: req.channel, approvalId: approval.id, ...why });
    return { result: 'decided', approval: decided, releasedCaseIds: [], outboxIds: [] };
  }

  // A newer request of theirs there (this one expired) is locked now, before their contact, in
  // the order a decision on that request takes the two.
  const newer = approval.status === 'expired' ? await newerRequest(tx, approval) : undefined;

  // The requester becomes a member with a `user` permission there; this decision opens their
  // held cases itself (below, the unverified ones too), so the directory's own release is not asked for.
  await admitRequester(tx, NO_DIRECTORY_EFFECTS, { actor: req.actor, channel: req.channel, companyId: approval.company_id }, { email: approval.requester_email, infrastructureId: approval.infrastructure_id, approvalId: approval.id });

  // Every held case of theirs on this infrastructure opens, including ones from expired requests.
  const released = await releaseHeldCases(tx, deps, {
    requesterEmail: approval.requester_email,
    infrastructureId: approval.infrastructure_id,
    holdReasons: ['unknown_sender', 'not_permitted', 'sender_not_verified'],
    actor: req.actor,
    detail: { channel: req.channel, approvalId: approval.id, ...why },
  });
  if (newer) await settleNewerRequest(tx, newer, approval, req);
  return { result: 'decided', approval: decided, releasedCaseIds: released.caseIds, outboxIds: released.outboxIds };
}

/** The pending request for the same sender and infrastructure as an expired one, locked. */
async function newerRequest(tx: Tx, expired: ApprovalRow): Promise<ApprovalRow | undefined> {
  const key = { requesterEmail: expired.requester_email, infrastructureId: expired.infrastructure_id };
  return (await findPendingApprovals(tx, [key])).get(pendingKey(key.requesterEmail, key.infrastructureId));
}

/**
 * Authorizing an expired request opens every held case of the sender there, also those of a newer
 * request for the same sender and infrastructure: that request then holds nothing, and is settled
 * by this decision rather than left to remind its approvers of cases already open.
 */
async function settleNewerRequest(tx: Tx, newer: ApprovalRow, expired: ApprovalRow, req: DecisionRequest): Promise<void> {
  await setDecision(tx, newer.id, 'authorized', req.actor, req.channel);
  await audit(tx, {
    companyId: newer.company_id,
    infrastructureId: newer.infrastructure_id,
    approvalId: newer.id,
    subjectEmail: newer.requester_email,
    actor: req.actor,
    channel: req.channel,
    action: 'approval_authorized',
    detail: { settledBy: 'earlier_request', approvalId: expired.id },
  });
}

export interface HeldCasesRelease {
  requesterEmail: string;
  infrastructureId: string;
  holdReasons: HoldReason[];
  actor: string;
  /** The `released` case events' detail: channel, approval id, reason. */
  detail: Record<string, unknown>;
}

/**
 * Opens the requester's cases held on the infrastructure for these reasons, each with its
 * `released` event, released notice and CC copies: what an approval does, and what a change to
 * people and rights that lets someone open cases does (approvals/admissions.ts).
 */
export async function releaseHeldCases(tx: Tx, deps: ApprovalDeps, r: HeldCasesRelease): Promise<{ caseIds: string[]; outboxIds: string[] }> {
  const caseIds = await openHeldCases(tx, r, r.actor, r.detail);
  const outboxIds: string[] = [];
  for (const id of caseIds) outboxIds.push(...(await mailReleasedCase(tx, deps, id)));
  return { caseIds, outboxIds };
}

/**
 * The mail a held case that has just opened gets, in the transaction that opened it: the
 * requester's released notice and the copies for "CC in all cases" members. A case without an
 * infrastructure has nobody to copy and nothing to name, so it gets none.
 */
export async function mailReleasedCase(tx: Tx, deps: ApprovalDeps, caseId: string, authorized = true): Promise<string[]> {
  const c = await loadCaseContext(tx, caseId);
  if (!c?.infrastructure) return [];
  const notice: AnyMail = {
    kind: 'released_notice',
    props: { case: c.view, infrastructure: c.infrastructure, authorized },
    to: c.requesterEmail,
    caseId,
    companyId: c.companyId,
    inReplyTo: c.messageId,
    replyTo: caseReplyTo(deps, caseId),
  };
  return written(...(await addAllToOutbox(tx, deps.outbox, [...(await ccCopies(tx, deps, c)), notice])));
}
