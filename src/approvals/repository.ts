import { sql } from 'kysely';
import type { DbOrTx, Tx } from '../db/connection';
import type { ApprovalChannel, ApprovalStatus } from '../db/schema';

export interface Approver {
  contactId: string;
  email: string;
  name: string | null;
}

/**
 * Who approves strangers on an infrastructure: its administrators who are active contacts, else
 * the company's active admins. The requester never approves their own request.
 */
export async function findApprovers(db: DbOrTx, infrastructureId: string, companyId: string, requesterEmail: string): Promise<Approver[]> {
  return (await findApproversMany(db, [{ infrastructureId, companyId, requesterEmail }]))[0]!;
}

/** `findApprovers` for many requests in at most two queries; answers in the order given. */
export async function findApproversMany(db: DbOrTx, requests: Array<{ infrastructureId: string; companyId: string; requesterEmail: string }>): Promise<Approver[][]> {
  if (!requests.length) return [];
  const administrators = await db
    .selectFrom('permissions as p')
    .innerJoin('contacts as c', 'c.id', 'p.contact_id')
    .select(['p.infrastructure_id', 'c.id as contactId', 'c.email', 'c.name'])
    .where('p.infrastructure_id', 'in', [...new Set(requests.map((r) => r.infrastructureId))])
    .where('p.role', '=', 'administrator')
    .where('c.status', '=', 'active')
    .orderBy('c.id')
    .execute();
  const own = requests.map((r) => administrators.filter((a) => a.infrastructure_id === r.infrastructureId && a.email !== r.requesterEmail).map(({ contactId, email, name }) => ({ contactId, email, name })));
  const lacking = requests.filter((_, i) => !own[i]!.length);
  if (!lacking.length) return own;
  const admins = await db
    .selectFrom('contacts')
    .select(['company_id', 'id as contactId', 'email', 'name'])
    .where('company_id', 'in', [...new Set(lacking.map((r) => r.companyId))])
    .where('company_role', '=', 'admin')
    .where('status', '=', 'active')
    .orderBy('id')
    .execute();
  return requests.map((r, i) => (own[i]!.length ? own[i]! : admins.filter((a) => a.company_id === r.companyId && a.email !== r.requesterEmail).map(({ contactId, email, name }) => ({ contactId, email, name }))));
}

/** Whether this contact may still decide for this approval (an approver removed since cannot). */
export async function isStillApprover(db: DbOrTx, approval: { infrastructure_id: string; company_id: string; requester_email: string }, contactId: string): Promise<boolean> {
  const approvers = await findApprovers(db, approval.infrastructure_id, approval.company_id, approval.requester_email);
  return approvers.some((a) => a.contactId === contactId);
}

/**
 * The pending approvals of these requesters on these infrastructures, locked, by
 * `pendingKey(requester, infrastructure)`. Rows are locked in id order, as everywhere.
 */
export async function findPendingApprovals(tx: Tx, keys: Array<{ requesterEmail: string; infrastructureId: string }>): Promise<Map<string, ApprovalRow>> {
  if (!keys.length) return new Map();
  const rows = await tx
    .selectFrom('approvals')
    .selectAll()
    .where((eb) => eb(eb.refTuple('requester_email', 'infrastructure_id'), 'in', keys.map((k) => eb.tuple(k.requesterEmail, k.infrastructureId))))
    .where('status', '=', 'pending')
    .orderBy('id')
    .forUpdate()
    .execute();
  return new Map(rows.map((r) => [pendingKey(r.requester_email, r.infrastructure_id), r]));
}

/** At most one approval per requester and infrastructure is pending (the approvals_one_pending index). */
export function pendingKey(requesterEmail: string, infrastructureId: string): string {
  return `${infrastructureId}:${requesterEmail}`;
}

export async function lockApproval(tx: Tx, approvalId: string) {
  return tx.selectFrom('approvals').selectAll().where('id', '=', approvalId).forUpdate().executeTakeFirst();
}

export type ApprovalRow = NonNullable<Awaited<ReturnType<typeof lockApproval>>>;

export async function approvalApprovers(db: DbOrTx, approvalId: string): Promise<Approver[]> {
  return db
    .selectFrom('approval_approvers as a')
    .innerJoin('contacts as c', 'c.id', 'a.contact_id')
    .select(['a.contact_id as contactId', 'a.email', 'c.name'])
    .where('a.approval_id', '=', approvalId)
    .orderBy('a.contact_id')
    .execute();
}

/** Records a decision on a request that is pending (or, with `from`, in one of those states). */
export async function setDecision(tx: Tx, approvalId: string, status: Exclude<ApprovalStatus, 'pending'>, decidedBy: string, channel: ApprovalChannel, from: ApprovalStatus[] = ['pending']): Promise<boolean> {
  const r = await tx
    .updateTable('approvals')
    .set({ status, decided_by: decidedBy, channel, decided_at: sql`now()` })
    .where('id', '=', approvalId)
    .where('status', 'in', from)
    .executeTakeFirst();
  return r.numUpdatedRows === 1n;
}

/** The approval of a case as the API shows it. */
export async function approvalSummary(db: DbOrTx, approvalId: string) {
  const a = await db.selectFrom('approvals').selectAll().where('id', '=', approvalId).executeTakeFirst();
  if (!a) return null;
  const approvers = await approvalApprovers(db, approvalId);
  return {
    status: a.status,
    mailHeld: a.mail_held,
    approvers: approvers.map((x) => x.email),
    decidedBy: a.decided_by,
    channel: a.channel,
    decidedAt: a.decided_at ? a.decided_at.toISOString() : null,
    expiresAt: a.expires_at.toISOString(),
  };
}
