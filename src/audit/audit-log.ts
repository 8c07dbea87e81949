import { sql } from 'kysely';
import type { DbOrTx, Tx } from '../db/connection';

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

/** Marks audit rows as relayed, each with the id of the event it became (events/relay.ts). */
export async function markAuditRelayed(tx: Tx, relayed: Array<{ id: string; eventId: string }>): Promise<void> {
  if (!relayed.length) return;
  await sql`update audit_log t set event_id = v.e from unnest(${relayed.map((r) => r.id)}::bigint[], ${relayed.map((r) => r.eventId)}::bigint[]) as v(id, e) where t.id = v.id`.execute(tx);
}
