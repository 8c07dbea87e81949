import { sql } from 'kysely';
import type { ApprovalDeps } from './context';
import { auditMany } from '../audit/audit-log';
import { addAllToOutbox, type AnyMail } from '../mail/outbox';
import { lockApproval } from './repository';
import { caseReplyTo, mailApprovers } from './requests';
import { loadCaseContext, loadCaseContexts } from '../cases/case-context';

export interface MaintenanceCounts {
  expired: number;
  reminded: number;
  released: number;
}

/**
 * The approval clock, run periodically by every process (each step is idempotent under the
 * approval's row lock): expire requests past APPROVAL_TTL, remind approvers of requests pending
 * past APPROVAL_REMIND_AFTER, and mail requests the hourly cap held back once the cap allows.
 * Returns the counts and the outbox ids to queue.
 */
export async function runApprovalClock(deps: ApprovalDeps, batch = 100): Promise<MaintenanceCounts & { outboxIds: string[] }> {
  const { expired, outboxIds } = await expireRequests(deps, batch);
  let reminded = 0;
  let released = 0;
  const due = await deps.db
    .selectFrom('approvals')
    .select('id')
    .where('status', '=', 'pending')
    .where((eb) => eb.or([eb.and([eb('remind_at', '<=', sql<Date>`now()`), eb('reminded_at', 'is', null), eb('mail_held', 'is', null)]), eb('mail_held', '=', 'capped')]))
    .orderBy('id')
    .limit(batch)
    .execute();
  for (const { id } of due) {
    const ids = await deps.db.transaction().execute(async (tx) => {
      const approval = await lockApproval(tx, id);
      if (!approval || approval.status !== 'pending') return [];
      const c = await loadCaseContext(tx, approval.first_case_id);
      if (!c) return [];
      if (approval.mail_held === 'capped') {
        const sent = await mailApprovers(tx, deps, approval, c, 'approval_request');
        if (sent === null) return [];
        await tx.updateTable('approvals').set({ mail_held: null }).where('id', '=', id).execute();
        released++;
        return sent;
      }
      if (approval.mail_held || approval.reminded_at) return [];
      const sent = await mailApprovers(tx, deps, approval, c, 'approval_reminder');
      if (sent === null) return [];
      await tx.updateTable('approvals').set({ reminded_at: sql`now()` }).where('id', '=', id).execute();
      reminded++;
      return sent;
    });
    outboxIds.push(...ids);
  }
  return { expired, reminded, released, outboxIds };
}

/**
 * Requests past APPROVAL_TTL, up to `batch` of them, become `expired` (audited), and each
 * requester whose cases still wait is told so (approval_expired_notice, within the per-address
 * ceiling on automatic answers, threaded to the request's first case), in one transaction: the
 * notice exists exactly when the expiry does. The cases stay held; an administrator can still
 * decide them in the portal (portal/decisions.ts).
 */
async function expireRequests(deps: ApprovalDeps, batch: number): Promise<{ expired: number; outboxIds: string[] }> {
  return deps.db.transaction().execute(async (tx) => {
    const due = tx.selectFrom('approvals').select('id').where('status', '=', 'pending').where('expires_at', '<=', sql<Date>`now()`).orderBy('id').limit(batch).forUpdate().skipLocked();
    const expired = await tx
      .updateTable('approvals')
      .set({ status: 'expired', channel: 'expiry', decided_by: 'system', decided_at: sql`now()` })
      .where('id', 'in', due)
      .where('status', '=', 'pending')
      .returning(['id', 'company_id', 'infrastructure_id', 'requester_email', 'first_case_id', 'created_at', 'expires_at'])
      .execute();
    if (!expired.length) return { expired: 0, outboxIds: [] };
    await auditMany(
      tx,
      expired.map((a) => ({ actor: 'system', channel: 'expiry', action: 'approval_expired', approvalId: a.id, companyId: a.company_id, infrastructureId: a.infrastructure_id, subjectEmail: a.requester_email })),
    );
    const held = await tx
      .selectFrom('cases')
      .select(['approval_id', (eb) => eb.fn.countAll<string>().as('n'), (eb) => eb.fn.min('id').as('oldest')])
      .where('approval_id', 'in', expired.map((a) => a.id))
      .where('status', '=', 'suspended')
      .groupBy('approval_id')
      .execute();
    // Threaded to the oldest case still held (staff may have released the first one alone).
    const heldOf = new Map(held.map((h) => [String(h.approval_id), { n: Number(h.n), oldest: String(h.oldest) }]));
    const contexts = await loadCaseContexts(tx, [...heldOf.values()].map((h) => h.oldest));
    const mails: AnyMail[] = [];
    for (const a of expired) {
      const h = heldOf.get(a.id);
      const c = h && contexts.get(h.oldest);
      if (!h || !c) continue;
      const heldCases = h.n;
      const validDays = Math.max(1, Math.round((a.expires_at.getTime() - a.created_at.getTime()) / 86_400_000));
      mails.push({ kind: 'approval_expired_notice', props: { case: c.view, heldCases, validDays }, to: a.requester_email, caseId: c.id, approvalId: a.id, companyId: a.company_id, inReplyTo: c.messageId, replyTo: caseReplyTo(deps, c.id) });
    }
    const ids = await addAllToOutbox(tx, deps.outbox, mails);
    return { expired: expired.length, outboxIds: ids.filter((id): id is string => id !== null) };
  });
}
