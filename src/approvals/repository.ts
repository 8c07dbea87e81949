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
  const admins = await db
    .selectFrom('permissions as p')
    .innerJoin('contacts as c', 'c.id', 'p.contact_id')
    .select(['c.id as contactId', 'c.email', 'c.name'])
    .where('p.infrastructure_id', '=', infrastructureId)
    .where('p.role', '=', 'administrator')
    .where('c.status', '=', 'active')
    .where('c.email', '!=', requesterEmail)
    .orderBy('c.id')
    .execute();
  if (admins.length) return admins;
  return db
    .selectFrom('contacts')
    .select(['id as contactId', 'email', 'name'])
    .where('company_id', '=', companyId)
    .where('company_role', '=', 'admin')
    .where('status', '=', 'active')
    .where('email', '!=', requesterEmail)
    .orderBy('id')
    .execute();
}

/** Whether this contact may still decide for this approval (an approver removed since cannot). */
export async function isStillApprover(db: DbOrTx, approval: { infrastructure_id: string; company_id: string; requester_email: string }, contactId: string): Promise<boolean> {
  const approvers = await findApprovers(db, approval.infrastructure_id, approval.company_id, approval.requester_email);
  return approvers.some((a) => a.contactId === contactId);
}

export async function findPendingApproval(tx: Tx, requesterEmail: string, infrastructureId: string) {
  return tx
    .selectFrom('approvals')
    .selectAll()
    .where('requester_email', '=', requesterEmail)
    .where('infrastructure_id', '=', infrastructureId)
    .where('status', '=', 'pending')
    .forUpdate()
    .executeTakeFirst();
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

export async function setDecision(tx: Tx, approvalId: string, status: Exclude<ApprovalStatus, 'pending'>, decidedBy: string, channel: ApprovalChannel): Promise<boolean> {
  const r = await tx
    .updateTable('approvals')
    .set({ status, decided_by: decidedBy, channel, decided_at: sql`now()` })
    .where('id', '=', approvalId)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return r.numUpdatedRows === 1n;
}

export interface AuditEntry {
  actor: string;
  channel: string;
  action: string;
  companyId?: string | null;
  infrastructureId?: string | null;
  caseId?: string | null;
  approvalId?: string | null;
  subjectEmail?: string | null;
  detail?: Record<string, unknown>;
}

/** Every decision and every permission change, with who did it and through which channel. */
export async function audit(db: DbOrTx, e: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      actor: e.actor,
      channel: e.channel,
      action: e.action,
      company_id: e.companyId ?? null,
      infrastructure_id: e.infrastructureId ?? null,
      case_id: e.caseId ?? null,
      approval_id: e.approvalId ?? null,
      subject_email: e.subjectEmail ?? null,
      detail: JSON.stringify(e.detail ?? {}),
    })
    .execute();
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
