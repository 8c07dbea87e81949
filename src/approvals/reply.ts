import type { DbOrTx, Tx } from '../db/connection';
import { verifySender } from '../intake/auth-results';
import { parseMessage, type ParsedMessage } from '../intake/parse';
import { noteApprovalReply } from '../intake/raw-store';
import { addToOutbox, written } from '../mail/outbox';
import { writtenReply } from '../reading/written-reply';
import type { ApprovalDeps } from './context';
import { decideApproval, type ApprovalChoice, type DecisionOutcome } from './decide';
import { audit } from '../audit/audit-log';
import { replyDecision, UNDECIDED_BECAUSE, type UndecidedReason } from './reply-decision';
import { isStillApprover, lockApproval } from './repository';
import { approvalLinks } from './requests';
import { tokenFromReplyAddress, verifyApprovalToken } from './tokens';
import { excerpt, loadCaseContext } from '../cases/case-context';
import { formatDate } from '../dates';

export type ReplyOutcome = { result: 'decided' | 'already_decided'; decision: ApprovalChoice; outboxIds: string[] } | { result: 'rejected'; reason: string; outboxIds: string[] };

/**
 * Acts on a reply to an approval request. It decides only when the token is genuine and unexpired,
 * the reply comes from the approver it was issued to (who still is one), (with
 * INBOUND_AUTHSERV_ID) our server saw DMARC pass, and what the approver wrote expresses exactly
 * one decision (`replyDecision`). Anything else is recorded with its reason and changes nothing;
 * a reply never becomes a case. The approver (and only they) is told when their reply decided nothing.
 */
export async function handleApprovalReply(deps: ApprovalDeps, rawId: string): Promise<ReplyOutcome> {
  const row = await deps.db.selectFrom('raw_messages').select(['raw', 'kind']).where('id', '=', rawId).executeTakeFirst();
  if (!row || row.kind !== 'approval_reply') return { result: 'rejected', reason: 'not an approval reply', outboxIds: [] };
  const parsed = await parseMessage(row.raw);
  const sender = parsed.fromEmail;
  // `answer`: the one mail that tells the approver their reply decided nothing, if it was written
  // (then in `tx`, so that the answer and the record of it land together or not at all).
  const reject = async (reason: string, approvalId: string | null = null, more: Record<string, unknown> = {}, answer: string[] = [], tx: DbOrTx = deps.db): Promise<ReplyOutcome> => {
    await noteApprovalReply(tx, rawId, `rejected: ${reason}`);
    await audit(tx, { actor: sender, channel: 'reply', action: 'approval_reply_rejected', approvalId, subjectEmail: sender, detail: { reason, rawId, ...more } });
    deps.log.info({ rawId, approvalId, reason }, 'approval reply decided nothing');
    return { result: 'rejected', reason, outboxIds: answer };
  };

  const token = parsed.recipients.map((r) => tokenFromReplyAddress(r, deps.outbox.supportAddress)).find((t) => t !== null);
  if (!token) return reject('no approval token among the recipients');
  const check = verifyApprovalToken(token, [deps.settings.linkSecret, deps.settings.linkSecretPrevious]);
  if (!check.ok) return reject(`token ${check.reason.replace('_', ' ')}`);
  const { approvalId, approverId } = check.claims;
  const issuedTo = await deps.db.selectFrom('approval_approvers').select('email').where('approval_id', '=', approvalId).where('contact_id', '=', approverId).executeTakeFirst();
  if (!issuedTo) return reject('unknown approval', approvalId);
  if (issuedTo.email !== sender) return reject(`sent by ${sender}, not by the approver the request was sent to`, approvalId);
  if (deps.settings.inboundAuthservId) {
    const verdict = verifySender(row.raw, deps.settings.inboundAuthservId, sender);
    if (!verdict.verified) return reject(`sender not verified (${verdict.why})`, approvalId);
  }
  const read = writtenReply(parsed);
  const reading = replyDecision(read);
  if (!reading.decision) {
    const undecided = reading.reason;
    return deps.db.transaction().execute(async (tx) => {
      const answered = await answerUndecided(tx, deps, { approvalId, approverId, approverEmail: sender, reply: parsed, read, reason: undecided });
      return reject(`decided nothing: ${UNDECIDED_BECAUSE[undecided]}`, approvalId, { undecided, answered: answered.length > 0 }, answered, tx);
    });
  }
  const decision = reading.decision;

  const outcome = await decideApproval(
    deps,
    { approvalId, decision, channel: 'reply', actor: sender, approverContactId: approverId },
    (tx, o) => confirm(tx, deps, o, decision, sender, parsed.messageId),
  );
  if (outcome.result === 'not_found') return reject('unknown approval', approvalId);
  if (outcome.result === 'not_approver') return reject(`${sender} is no longer an approver`, approvalId);
  await noteApprovalReply(deps.db, rawId, outcome.result === 'decided' ? `decided: ${decision}` : 'already decided: nothing changed');
  return { result: outcome.result, decision, outboxIds: [...(outcome.result === 'decided' ? outcome.outboxIds : []), ...outcome.followUpIds] };
}

/**
 * The approver's confirmation, in the decision's transaction: what their reply did, or, for a
 * reply that came after someone else decided, that it changed nothing and who decided.
 */
async function confirm(tx: Tx, deps: ApprovalDeps, outcome: DecisionOutcome, decision: ApprovalChoice, approverEmail: string, replyMessageId: string | null): Promise<string[]> {
  if (outcome.result !== 'decided' && outcome.result !== 'already_decided') return [];
  const approval = outcome.approval;
  const c = await loadCaseContext(tx, approval.first_case_id);
  if (!c?.infrastructure) return [];
  const earlier =
    outcome.result === 'already_decided'
      ? { by: approval.decided_by ?? 'someone', channel: approval.channel ?? 'unknown', at: approval.decided_at ? formatDate(approval.decided_at) : '', decision: (approval.status === 'authorized' ? 'authorize' : 'ignore') as ApprovalChoice }
      : null;
  return written(
    await addToOutbox(tx, deps.outbox, {
      kind: 'decision_confirmation',
      props: { case: c.view, infrastructure: c.infrastructure, decision, earlier, releasedCases: outcome.result === 'decided' ? outcome.releasedCaseIds.length : 0 },
      to: approverEmail,
      caseId: c.id,
      approvalId: approval.id,
      companyId: approval.company_id,
      inReplyTo: replyMessageId,
    }),
  );
}

/**
 * The one answer to the approver's reply that decided nothing: what we read, why it decided
 * nothing, and their request's links again, threaded to their reply. Only while the request is
 * pending and they still are its approver; an automatic answer, so inside the per-address
 * ceiling. Returns the outbox ids (none when not sent).
 */
async function answerUndecided(
  tx: Tx,
  deps: ApprovalDeps,
  r: { approvalId: string; approverId: string; approverEmail: string; reply: ParsedMessage; read: string; reason: UndecidedReason },
): Promise<string[]> {
  const approval = await lockApproval(tx, r.approvalId);
  if (!approval || approval.status !== 'pending' || !(await isStillApprover(tx, approval, r.approverId))) return [];
  const c = await loadCaseContext(tx, approval.first_case_id);
  if (!c?.infrastructure) return [];
  const links = approvalLinks(deps, approval, r.approverId);
  return written(
    await addToOutbox(tx, deps.outbox, {
      kind: 'approval_reply_undecided',
      props: { case: c.view, infrastructure: c.infrastructure, read: excerpt(r.read, 12, 800), because: UNDECIDED_BECAUSE[r.reason], links },
      to: r.approverEmail,
      caseId: c.id,
      approvalId: approval.id,
      companyId: approval.company_id,
      inReplyTo: r.reply.messageId,
      references: [...r.reply.answers].reverse(),
      replyTo: links.replyAddress,
    }),
  );
}
