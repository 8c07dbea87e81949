/**
 * A case's life after the gate, as pure rules: which status a change leads to, what a reply from
 * the customer's side does, when a solved case closes. No I/O: cases/work.ts and intake call
 * these with the case as it stands and do what they answer.
 *
 *   new ──matching──▶ open ◀──────────────▶ pending (waiting for the customer)
 *   (or suspended /   │  ▲ customer replies      │
 *    ignored)         ▼  │                       ▼
 *                   solved ──REOPEN_WINDOW──▶ closed ──reply after the window──▶ a new case
 */
import type { CaseStatus, WorkStatus } from '../db/schema';

export const WORK_STATUSES: readonly WorkStatus[] = ['open', 'pending', 'solved', 'closed'];

/** A case as the rules see it. */
export interface CaseState {
  status: CaseStatus;
  /** When it was last solved or closed; null while it is worked (or before the gate). */
  resolvedAt: Date | null;
}

export function isWorkStatus(status: string): status is WorkStatus {
  return (WORK_STATUSES as readonly string[]).includes(status);
}

/** Whether a case has passed the gate: staff may answer it, customers may comment on it. */
export function isWorkable(status: CaseStatus): boolean {
  return isWorkStatus(status);
}

const RESOLVED: ReadonlySet<CaseStatus> = new Set(['solved', 'closed']);

/** Why a change is refused. */
export type Refusal = 'held' | 'ignored' | 'undecided';

/** Why a case cannot be worked yet (answered, commented on, given a status); null when it can. */
export function refusalFor(status: CaseStatus): Refusal | null {
  if (status === 'suspended') return 'held';
  if (status === 'ignored') return 'ignored';
  if (status === 'new') return 'undecided';
  return null;
}

/** What a status change writes: the new status and the new resolvedAt. */
export interface StatusChange {
  from: CaseStatus;
  to: WorkStatus;
  resolvedAt: Date | null;
}

/**
 * Staff (or an API client) set a worked case's status. A held, ignored or undecided case is
 * decided by its approval or by staff's release first; the same status again changes nothing
 * (null). Solving or closing starts REOPEN_WINDOW, unless the case was already resolved: closing
 * a solved case does not restart it.
 */
export function setStatus(state: CaseState, to: WorkStatus, now: Date): { change: StatusChange | null } | { refused: Refusal } {
  const refused = refusalFor(state.status);
  if (refused) return { refused };
  if (state.status === to) return { change: null };
  const resolvedAt = RESOLVED.has(to) ? (RESOLVED.has(state.status) && state.resolvedAt ? state.resolvedAt : now) : null;
  return { change: { from: state.status, to, resolvedAt } };
}

/**
 * The reopen window a staff reply leaves a solved or closed case that it does not reopen: it
 * starts again now, since staff just asked the customer something and their answer belongs to
 * this case, not to a follow-up. Null when the case is not resolved (nothing to restart).
 */
export function windowAfterStaffReply(state: CaseState, now: Date): Date | null {
  return RESOLVED.has(state.status) ? now : null;
}

/** Whether REOPEN_WINDOW has passed since the case was solved or closed. */
export function isPastReopenWindow(state: CaseState, now: Date, reopenWindowMs: number): boolean {
  return RESOLVED.has(state.status) && state.resolvedAt !== null && now.getTime() - state.resolvedAt.getTime() > reopenWindowMs;
}

/**
 * What a message from the customer's side (a mailed reply, a portal comment) does to the case it
 * answers:
 * - `follow_up`: the case was solved or closed longer than REOPEN_WINDOW ago; the message starts
 *   a new case that names this one (and passes the gate like any new case).
 * - `reopen`: a pending, solved or (recently) closed case opens again, when the message is from
 *   its requester or a participant (or someone the portal lets see it).
 * - `append`: anything else joins the case as it stands (a held case stays held, an open one open).
 */
export type ReplyEffect = { effect: 'follow_up' } | { effect: 'reopen'; change: StatusChange } | { effect: 'append' };

export function customerReply(state: CaseState, fromItsPeople: boolean, now: Date, reopenWindowMs: number): ReplyEffect {
  if (isPastReopenWindow(state, now, reopenWindowMs)) return { effect: 'follow_up' };
  if (fromItsPeople && (state.status === 'pending' || RESOLVED.has(state.status))) {
    return { effect: 'reopen', change: { from: state.status, to: 'open', resolvedAt: null } };
  }
  return { effect: 'append' };
}

/**
 * Escalation stands while the case is worked: solving or closing it ends it (the customer asks
 * again if they must). Returns whether a change to `to` clears it.
 */
export function clearsEscalation(to: WorkStatus): boolean {
  return RESOLVED.has(to);
}
