/**
 * What staff need to work a case, beside its thread and trail (detail.ts): who has it, whether a
 * customer escalated it, the internal notes, and the cases it follows or that follow it. Times
 * are ISO 8601 strings.
 */
import type { DbOrTx } from '../db/connection';
import type { CaseStatus } from '../db/schema';

export interface CaseNote {
  id: string;
  author: string;
  text: string;
  at: string;
}

export interface CaseLink {
  reference: string;
  subject: string;
  status: CaseStatus;
}

export interface CaseWorkView {
  /** The assignee's staff email; null when unassigned. */
  assignee: string | null;
  /** Set while escalated (solving or closing ends it). */
  escalation: { by: string | null; at: string; reason: string | null } | null;
  firstResponseAt: string | null;
  /** Oldest first. */
  notes: CaseNote[];
  /** The older case this one follows up (it began as a reply after that one was closed). */
  follows: CaseLink | null;
  /** Newer cases that follow this one, oldest first. */
  followedBy: CaseLink[];
}

export async function loadCaseWork(db: DbOrTx, caseId: string): Promise<CaseWorkView | undefined> {
  const c = await db
    .selectFrom('cases as c')
    .leftJoin('staff_accounts as s', 's.id', 'c.assignee_id')
    .leftJoin('cases as f', 'f.id', 'c.follows_case_id')
    .select(['c.escalated_at', 'c.escalated_by', 'c.escalation_reason', 'c.first_response_at', 's.email as assignee', 'f.reference as follows_reference', 'f.subject as follows_subject', 'f.status as follows_status'])
    .where('c.id', '=', caseId)
    .executeTakeFirst();
  if (!c) return undefined;
  const [notes, followedBy] = await Promise.all([
    db.selectFrom('case_notes').select(['id', 'author', 'text', 'created_at']).where('case_id', '=', caseId).orderBy('created_at').orderBy('id').execute(),
    db.selectFrom('cases').select(['reference', 'subject', 'status']).where('follows_case_id', '=', caseId).orderBy('id').execute(),
  ]);
  return {
    assignee: c.assignee,
    escalation: c.escalated_at ? { by: c.escalated_by, at: c.escalated_at.toISOString(), reason: c.escalation_reason } : null,
    firstResponseAt: c.first_response_at ? c.first_response_at.toISOString() : null,
    notes: notes.map((n) => ({ id: n.id, author: n.author, text: n.text, at: n.created_at.toISOString() })),
    follows: c.follows_reference && c.follows_subject !== null && c.follows_status !== null ? { reference: c.follows_reference, subject: c.follows_subject, status: c.follows_status } : null,
    followedBy,
  };
}
