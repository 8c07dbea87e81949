/**
 * What follows a change to people and rights (directory/changes.ts), in its transaction: someone
 * who may now open cases on an infrastructure has their cases held there as a stranger's
 * (`unknown_sender`, `not_permitted`) released exactly as an approval releases them (released
 * notice, CC copies), and their pending request there is settled as authorized by that change,
 * with an audit row naming who made it and through which channel; the approvers' links then say
 * so. Cases held as `sender_not_verified` stay held: a role says who may write, not that a given
 * message came from them; while such a case waits on the request, the request stays pending.
 * Someone removed from a company loses their portal sessions.
 */
import { audit } from '../audit/audit-log';
import type { Tx } from '../db/connection';
import type { ApprovalChannel } from '../db/schema';
import type { Admission, DirectoryEffects, DirectoryTrace, Released } from '../directory/changes';
import { endPortalSessionsOf } from '../portal/sessions';
import type { ApprovalDeps } from './context';
import { releaseHeldCases } from './decide';
import { findPendingApprovals, pendingKey, setDecision } from './repository';

/** How a request settled by a directory change was decided (`approvals.channel`), by the change's channel. */
const SETTLED_VIA: Record<string, ApprovalChannel> = { portal: 'team', import: 'import' };

export function directoryEffects(deps: ApprovalDeps): DirectoryEffects {
  return {
    lockRequests: async (tx, companyId, emails) => {
      if (emails && !emails.length) return;
      await tx
        .selectFrom('approvals')
        .select('id')
        .where('company_id', '=', companyId)
        .where('status', '=', 'pending')
        .$if(emails !== null, (q) => q.where('requester_email', 'in', emails!))
        .orderBy('id')
        .forUpdate()
        .execute();
    },
    admitted: (tx, admissions, trace) => releaseAdmitted(tx, deps, admissions, trace),
    removed: async (tx, emails) => {
      for (const email of emails) await endPortalSessionsOf(tx, email);
    },
  };
}

async function releaseAdmitted(tx: Tx, deps: ApprovalDeps, admissions: Admission[], trace: DirectoryTrace): Promise<Released> {
  const pending = await findPendingApprovals(tx, admissions.map((a) => ({ requesterEmail: a.email, infrastructureId: a.infrastructureId })));
  const channel = SETTLED_VIA[trace.channel] ?? 'team';
  const outboxIds: string[] = [];
  const releasedCaseIds: string[] = [];
  for (const a of admissions) {
    const approval = pending.get(pendingKey(a.email, a.infrastructureId));
    const released = await releaseHeldCases(tx, deps, {
      requesterEmail: a.email,
      infrastructureId: a.infrastructureId,
      holdReasons: ['unknown_sender', 'not_permitted'],
      actor: trace.actor,
      detail: { channel: trace.channel, ...(approval ? { approvalId: approval.id } : {}), reason: 'may now open cases here' },
    });
    outboxIds.push(...released.outboxIds);
    releasedCaseIds.push(...released.caseIds);
    if (!approval) continue;
    const stillHeld = await tx.selectFrom('cases').select('id').where('approval_id', '=', approval.id).where('status', '=', 'suspended').limit(1).executeTakeFirst();
    if (stillHeld) continue;
    await setDecision(tx, approval.id, 'authorized', trace.actor, channel);
    await audit(tx, {
      actor: trace.actor,
      channel: trace.channel,
      action: 'approval_authorized',
      companyId: a.companyId,
      infrastructureId: a.infrastructureId,
      approvalId: approval.id,
      subjectEmail: a.email,
      detail: { settledBy: 'directory_change', releasedCases: released.caseIds.length },
    });
  }
  return { releasedCaseIds, outboxIds };
}
