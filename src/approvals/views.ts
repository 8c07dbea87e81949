import type { DbOrTx } from '../db/connection';
import { loadCaseContext, type CaseContext } from '../cases/case-context';

export interface ApprovalView {
  approvalId: string;
  status: string;
  requester: string;
  expiresAt: Date;
  decidedBy: string | null;
  channel: string | null;
  decidedAt: Date | null;
  waiting: number;
  firstCase: CaseContext;
}

/** What an approval page shows: the request, its first case and how many cases wait on it. */
export async function loadApprovalView(db: DbOrTx, approvalId: string): Promise<ApprovalView | undefined> {
  const a = await db.selectFrom('approvals').selectAll().where('id', '=', approvalId).executeTakeFirst();
  if (!a) return undefined;
  const firstCase = await loadCaseContext(db, a.first_case_id);
  if (!firstCase) return undefined;
  const waiting = await db.selectFrom('cases').select((eb) => eb.fn.countAll<string>().as('n')).where('approval_id', '=', approvalId).where('status', '=', 'suspended').executeTakeFirstOrThrow();
  return {
    approvalId: a.id,
    status: a.status,
    requester: a.requester_email,
    expiresAt: a.expires_at,
    decidedBy: a.decided_by,
    channel: a.channel,
    decidedAt: a.decided_at,
    waiting: Number(waiting.n),
    firstCase,
  };
}
