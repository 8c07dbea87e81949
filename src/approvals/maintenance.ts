import { sql } from 'kysely';
import type { ApprovalDeps } from './context';
import { audit } from '../audit/audit-log';
import { lockApproval } from './repository';
import { mailApprovers } from './requests';
import { loadCaseContext } from './views';

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
  const expired = await deps.db
    .updateTable('approvals')
    .set({ status: 'expired', channel: 'expiry', decided_by: 'system', decided_at: sql`now()` })
    .where('status', '=', 'pending')
    .where('expires_at', '<=', sql<Date>`now()`)
    .returning(['id', 'company_id', 'infrastructure_id', 'requester_email'])
    .execute();
  for (const a of expired) {
    await audit(deps.db, { actor: 'system', channel: 'expiry', action: 'approval_expired', approvalId: a.id, companyId: a.company_id, infrastructureId: a.infrastructure_id, subjectEmail: a.requester_email });
  }

  const outboxIds: string[] = [];
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
  return { expired: expired.length, reminded, released, outboxIds };
}
