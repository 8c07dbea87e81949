/**
 * What every casework change shares: the case locked for the change, its status written with
 * the event that records it, the mail a change sends to "CC in all cases" members. The callers
 * are cases/work.ts (staff) and cases/customer-side.ts (the customer's people).
 */
import type { Db, Tx } from '../db/connection';
import type { CaseRow, WorkStatus } from '../db/schema';
import { loadCcMembers } from '../directory/cc-members';
import type { AnyMail, OutboxContext } from '../mail/outbox';
import { DomainError } from '../errors';
import { loadCaseContext, type CaseContext } from './case-context';
import { clearsEscalation, type Refusal, type StatusChange } from './lifecycle';
import { caseReplyAddress } from './reply-address';
import { recordEvent } from './repository';

/** What casework needs, built once in app.ts. */
export interface CaseworkDeps {
  db: Db;
  outbox: OutboxContext;
  /** LINK_SECRET: signs each case's reply address, where replies to our mail come back. */
  replySecret: string;
  /** PUBLIC_URL, for the dashboard link in an escalation notice. */
  publicUrl: string;
  /** REOPEN_WINDOW. */
  reopenWindowMs: number;
  /** ESCALATION_NOTIFY. */
  escalationNotify: 'assignee' | 'all';
}

/** Who made a change and through which channel; `email` is `api` for the API token. */
export interface Actor {
  email: string;
  channel: 'dashboard' | 'api' | 'portal' | 'mail' | 'system';
}

/** The case, locked until the transaction ends: two changes of one case apply one after the other. */
export async function lockCase(tx: Tx, reference: string): Promise<CaseRow> {
  const c = await tx.selectFrom('cases').selectAll().where('reference', '=', reference.trim().toUpperCase()).forUpdate().executeTakeFirst();
  if (!c) throw new DomainError('not_found', `no case ${reference}`);
  return c;
}

export async function lockCaseById(tx: Tx, caseId: string): Promise<CaseRow> {
  return tx.selectFrom('cases').selectAll().where('id', '=', caseId).forUpdate().executeTakeFirstOrThrow();
}

const REFUSALS: Record<Refusal, string> = {
  held: 'the case is held: authorize or release it first',
  ignored: 'the case was ignored: release it first',
  undecided: 'the case is still being matched',
};

/** A refused change as the domain error the edges turn into a code. */
export function refused(reference: string, refusal: Refusal): DomainError {
  return new DomainError('conflict', `${reference}: ${REFUSALS[refusal]}`);
}

/**
 * Writes a status change and its `status_changed` event. Solving or closing a case ends its
 * escalation (lifecycle.clearsEscalation); `cause` says why when it is not the actor's choice.
 */
export async function applyStatusChange(tx: Tx, caseId: string, change: StatusChange, actor: Actor, cause?: string): Promise<void> {
  const clears = clearsEscalation(change.to);
  await tx
    .updateTable('cases')
    .set({ status: change.to, resolved_at: change.resolvedAt, ...(clears ? { escalated_at: null, escalated_by: null, escalation_reason: null } : {}) })
    .where('id', '=', caseId)
    .execute();
  await recordEvent(tx, caseId, 'status_changed', actor.email, { from: change.from, to: change.to, ...(cause ? { cause } : {}) }, actor.channel);
}

/** The case as its mail shows it; it exists (the caller holds its lock). */
export async function caseContext(tx: Tx, caseId: string): Promise<CaseContext> {
  const c = await loadCaseContext(tx, caseId);
  if (!c) throw new Error(`case ${caseId} has no message`);
  return c;
}

export function replyTo(deps: CaseworkDeps, caseId: string): string {
  return caseReplyAddress(caseId, deps.replySecret, deps.outbox.supportAddress);
}

/** A case's status in a customer's words, for mail. */
export const STATUS_FOR_CUSTOMERS: Record<WorkStatus, string> = {
  open: 'open: we are working on it',
  pending: 'waiting for your answer',
  solved: 'solved: reply if it is not, and the case opens again',
  closed: 'closed',
};


/**
 * Copies of a staff reply or status change for the infrastructure's "CC in all cases" members,
 * except those who get the mail itself. Automatic mail (Auto-Submitted: auto-generated), outside
 * the answers ceiling like the copies of a new case.
 */
export async function copiesForCcMembers(tx: Tx, deps: CaseworkDeps, c: CaseContext, update: { kind: 'reply' | 'status'; body: string; status: string | null; by: string | null }, exclude: string[]): Promise<AnyMail[]> {
  if (!c.infrastructureId || !c.infrastructure) return [];
  const lists = new Map();
  await loadCcMembers(tx, [c.infrastructureId], lists);
  const skip = new Set([c.requesterEmail, ...exclude]);
  const infrastructure = c.infrastructure;
  return (lists.get(c.infrastructureId) as Array<{ email: string; name: string | null }>)
    .filter((m) => !skip.has(m.email))
    .map((m) => ({
      kind: 'case_update' as const,
      props: { case: c.view, infrastructure, recipient: { name: m.name, email: m.email }, update: update.kind, body: update.body, status: update.status, by: update.by },
      to: m.email,
      caseId: c.id,
      companyId: c.companyId,
      replyTo: replyTo(deps, c.id),
    }));
}
