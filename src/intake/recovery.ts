import { findUndecidedCaseIds } from '../cases/decisions';
import { fileUnfiled } from './ingest';
import type { IntakeDeps } from './filing';
import { findUnhandledReplyIds, findUnprocessedRawIds } from './raw-store';

export interface RecoveryCounts {
  reprocessed: number;
  requeued: number;
}

/**
 * Finishes whatever a crash interrupted: raw messages stored but not yet a case, and cases
 * created but never queued for matching. Everything it does is idempotent, so it may run in
 * every process at once; `graceMs` keeps it off work that is merely in flight right now.
 */
export async function recoverInterrupted(deps: IntakeDeps, graceMs: number, batch = 500): Promise<RecoveryCounts> {
  let reprocessed = 0;
  for (const id of await findUnprocessedRawIds(deps.db, graceMs, batch)) {
    if (await fileUnfiled(deps, id)) reprocessed++;
  }
  const caseIds = await findUndecidedCaseIds(deps.db, graceMs, batch);
  await deps.jobs.requeueMany('match', caseIds.map((caseId) => ({ caseIds: [caseId] })));
  const replyIds = await findUnhandledReplyIds(deps.db, graceMs, batch);
  await deps.jobs.requeueMany('approval-reply', replyIds.map((rawId) => ({ rawId })));
  return { reprocessed, requeued: caseIds.length + replyIds.length };
}
