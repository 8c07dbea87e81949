import type { Tx } from '../db/connection';
import { addAllToOutbox, type AnyMail } from '../mail/outbox';
import type { ApprovalDeps } from './context';
import { loadCcMembers, type CcMemberLists } from '../directory/cc-members';
import { caseReplyTo, copiesFromLists, requestApprovals, type RoutedCase } from './requests';
import { alertUnverifiedSender } from './security-alerts';
import { findPendingApprovals } from './repository';
import { loadCaseContexts, type CaseContext } from '../cases/case-context';

/** Holds an administrator can lift by authorizing the sender. */
const APPROVABLE: ReadonlySet<string> = new Set(['unknown_sender', 'not_permitted', 'sender_not_verified']);

function humanSize(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
}

function awaitsApproval(c: CaseContext): c is RoutedCase {
  return Boolean(c.companyId && c.infrastructureId && c.holdReason !== null && APPROVABLE.has(c.holdReason));
}

/**
 * What follows a matching decision, in the decision's transaction: see `onCasesDecided`. Returns
 * the outbox ids to queue once the transaction commits.
 */
export async function onCaseDecided(tx: Tx, deps: ApprovalDeps, caseId: string, ccLists?: CcMemberLists): Promise<string[]> {
  return (await onCasesDecided(tx, deps, [caseId], ccLists)).get(caseId) ?? [];
}

/**
 * What follows matching decisions, in their transaction. An opened case: the requester's
 * acknowledgement and the copies for "CC in all cases" members. A held case: the requester's held
 * notice (a rate-limited sender is mailed nothing at all: that is what stops a loop), an alert to
 * the security contacts when the sender claimed a contact's address unverified, and for a routed
 * case an approval request (a new one, mailed to each approver, or the pending one the case joins).
 *
 * Any number of cases at once, each step one statement over all of them: a match job decides a
 * whole fetch in one transaction. Its locks come in one order, each kind sorted: the requesters'
 * pending approvals (rows, by id, first, as an approval's decision locks its row before the
 * requester's address), the answers ceiling's addresses (one statement), the security-alert
 * companies, new approvals (by requester), the approval-mail companies (one statement). Two match
 * jobs cannot deadlock each other, nor one with a decision.
 * Returns each case's outbox ids, by case id.
 */
export async function onCasesDecided(tx: Tx, deps: ApprovalDeps, caseIds: string[], ccLists: CcMemberLists = new Map()): Promise<Map<string, string[]>> {
  // In id order: the order the cases came in, so a requester's first case opens their request.
  const contexts = [...(await loadCaseContexts(tx, caseIds)).values()];
  const outboxIds = new Map(contexts.map((c) => [c.id, [] as string[]]));
  const add = (caseId: string, ids: string[]) => outboxIds.get(caseId)!.push(...ids);

  const opened = contexts.filter((c) => c.status === 'open');
  const held = contexts.filter((c) => c.status === 'suspended' && c.holdReason !== 'rate_limited');
  const routed = held.filter(awaitsApproval);
  const pending = await findPendingApprovals(tx, routed);
  await loadCcMembers(tx, opened.flatMap((c) => (c.infrastructureId ? [c.infrastructureId] : [])), ccLists);
  const answers: AnyMail[] = [
    ...opened.flatMap((c): AnyMail[] => [{ ...threading(deps, c), kind: 'acknowledgement', props: { case: c.view, infrastructure: c.infrastructure } }, ...copiesFromLists(deps, c, ccLists)]),
    ...held.map((c): AnyMail => {
      const tooLarge = c.holdReason === 'too_large' ? { size: humanSize(c.sizeBytes), limit: humanSize(deps.settings.maxMessageBytes) } : null;
      return { ...threading(deps, c), kind: 'held_notice', props: { case: c.view, awaitingApproval: awaitsApproval(c), tooLarge } };
    }),
  ];
  const ids = await addAllToOutbox(tx, deps.outbox, answers);
  answers.forEach((mail, i) => ids[i] && add(mail.caseId!, [ids[i]]));

  const unverified = held.filter((c) => c.holdReason === 'sender_not_verified').sort((a, b) => (a.companyId ?? '').localeCompare(b.companyId ?? ''));
  for (const c of unverified) add(c.id, await alertUnverifiedSender(tx, deps, c));
  if (routed.length) for (const [caseId, ids] of await requestApprovals(tx, deps, routed, pending)) add(caseId, ids);
  return outboxIds;
}

/** Mail to the requester threads with their message, and replies to it come back to the case. */
function threading(deps: ApprovalDeps, c: CaseContext) {
  return { caseId: c.id, companyId: c.companyId, inReplyTo: c.messageId, to: c.requesterEmail, replyTo: caseReplyTo(deps, c.id) };
}
