import type { DbOrTx } from '../db/connection';

/**
 * Case events as a feed, for the dashboard's live case list (src/web/case-feed.ts): where the
 * feed stands now, and what came after. Only the case's reference and the event's kind leave
 * here, never an event's detail (it can quote what people wrote).
 *
 * Indexes: the primary key of case_events (both queries), the primary key of cases.
 */

export interface FeedEvent {
  id: string;
  reference: string;
  kind: string;
}

/** The newest case event's id, '0' when there is none. */
export async function latestCaseEventId(db: DbOrTx): Promise<string> {
  const row = await db.selectFrom('case_events').select('id').orderBy('id', 'desc').limit(1).executeTakeFirst();
  return row?.id ?? '0';
}

/**
 * Events after `afterId`, oldest first, at most `limit`. An event whose transaction commits after
 * one with a higher id was read is not returned later: the list it would refresh is right again
 * at the next event or reload, which is all a notification needs.
 */
export async function caseEventsAfter(db: DbOrTx, afterId: string, limit: number): Promise<FeedEvent[]> {
  return db
    .selectFrom('case_events as e')
    .innerJoin('cases as c', 'c.id', 'e.case_id')
    .select(['e.id', 'c.reference', 'e.kind'])
    .where('e.id', '>', afterId)
    .orderBy('e.id')
    .limit(limit)
    .execute();
}
