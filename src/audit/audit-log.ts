import type { DbOrTx } from '../db/connection';

// The audit log's one writer: every decision and every change to people and rights, with who
// made it and through which channel. Any room that changes such things calls this.

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
  await auditMany(db, [e]);
}

/** `audit` for several entries, in one insert. */
export async function auditMany(db: DbOrTx, entries: AuditEntry[]): Promise<void> {
  if (!entries.length) return;
  await db
    .insertInto('audit_log')
    .values(
      entries.map((e) => ({
        actor: e.actor,
        channel: e.channel,
        action: e.action,
        company_id: e.companyId ?? null,
        infrastructure_id: e.infrastructureId ?? null,
        case_id: e.caseId ?? null,
        approval_id: e.approvalId ?? null,
        subject_email: e.subjectEmail ?? null,
        detail: JSON.stringify(e.detail ?? {}),
      })),
    )
    .execute();
}
