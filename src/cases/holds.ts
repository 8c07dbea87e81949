/**
 * What ends or changes a held case's hold, each with its case event, in the caller's transaction:
 * an approval's decision (approvals/decide.ts), a change to people and rights that admits its
 * sender (approvals/admissions.ts), and staff releasing, ignoring or routing it
 * (approvals/staff-actions.ts). The decisions are theirs; the writes to cases are here.
 */
import { sql } from 'kysely';
import type { Tx } from '../db/connection';
import type { HoldReason } from '../db/schema';
import { recordEvent } from './repository';

/** Each case waits on this approval from now on (the request it opened or joined). */
export async function linkCasesToApprovals(tx: Tx, links: Array<{ caseId: string; approvalId: string }>): Promise<void> {
  if (!links.length) return;
  await sql`update cases c set approval_id = v.approval_id from unnest(${links.map((l) => l.caseId)}::bigint[], ${links.map((l) => l.approvalId)}::bigint[]) as v(id, approval_id) where c.id = v.id`.execute(tx);
}

/** Ignores the cases still held on this approval, each with an `ignored` event. Returns their ids. */
export async function ignoreCasesOfApproval(tx: Tx, approvalId: string, actor: string, detail: Record<string, unknown>): Promise<string[]> {
  const ignored = await tx
    .updateTable('cases')
    .set({ status: 'ignored', decided_at: sql`now()` })
    .where('approval_id', '=', approvalId)
    .where('status', '=', 'suspended')
    .returning('id')
    .execute();
  for (const c of ignored) await recordEvent(tx, c.id, 'ignored', actor, detail);
  return ignored.map((c) => c.id);
}

/** Opens the requester's cases held on the infrastructure for these reasons, each with a `released` event. Returns their ids. */
export async function openHeldCases(tx: Tx, held: { requesterEmail: string; infrastructureId: string; holdReasons: HoldReason[] }, actor: string, detail: Record<string, unknown>): Promise<string[]> {
  const released = await tx
    .updateTable('cases')
    .set({ status: 'open', hold_reason: null, decided_at: sql`now()` })
    .where('requester_email', '=', held.requesterEmail)
    .where('infrastructure_id', '=', held.infrastructureId)
    .where('status', '=', 'suspended')
    .where('hold_reason', 'in', held.holdReasons)
    .returning('id')
    .execute();
  for (const { id } of released) await recordEvent(tx, id, 'released', actor, detail);
  return released.map((c) => c.id);
}

/** Opens one held case (staff released it), with its `released` event. */
export async function openCase(tx: Tx, caseId: string, actor: string, detail: Record<string, unknown>): Promise<void> {
  await tx.updateTable('cases').set({ status: 'open', hold_reason: null, decided_at: sql`now()` }).where('id', '=', caseId).execute();
  await recordEvent(tx, caseId, 'released', actor, detail);
}

/** Ignores one held case (staff ignored it), with its `ignored` event. The hold reason stays: it says what the case was held for. */
export async function ignoreCase(tx: Tx, caseId: string, actor: string, detail: Record<string, unknown>): Promise<void> {
  await tx.updateTable('cases').set({ status: 'ignored', decided_at: sql`now()` }).where('id', '=', caseId).execute();
  await recordEvent(tx, caseId, 'ignored', actor, detail);
}

export interface RoutedVerdict {
  status: 'open' | 'suspended';
  holdReason: HoldReason | null;
  companyId: string;
  infrastructureId: string;
}

/** Staff routed an unrouted case: it is decided as matching would have decided it there, with its `routed` event. */
export async function routeCaseTo(tx: Tx, caseId: string, verdict: RoutedVerdict, actor: string, detail: Record<string, unknown>): Promise<void> {
  await tx
    .updateTable('cases')
    .set({ status: verdict.status, hold_reason: verdict.holdReason, company_id: verdict.companyId, infrastructure_id: verdict.infrastructureId, route: 'staff', decided_at: sql`now()` })
    .where('id', '=', caseId)
    .execute();
  await recordEvent(tx, caseId, 'routed', actor, { ...detail, status: verdict.status, holdReason: verdict.holdReason });
}
