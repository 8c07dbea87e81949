import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';

/**
 * What each staff member last saw of each case (staff_case_views): the latest case event when
 * they opened the case page. The case list marks a case whose latest event is newer
 * (src/cases/search.ts); opening the case clears the mark.
 */

/**
 * Records that the staff member is looking at the case now (nothing for an unknown reference).
 * Called before the page is loaded, so everything up to the event recorded is on the page they
 * see; a view never moves back (two tabs opened at once keep the later event).
 * Indexes: the unique index on cases.reference, `case_events_case_id` (one entry read backwards), the
 * primary key of staff_case_views.
 */
export async function recordCaseView(db: DbOrTx, staffId: string, reference: string): Promise<void> {
  await sql`
    insert into staff_case_views (staff_id, case_id, seen_event_id, seen_at)
    select ${staffId}, c.id, coalesce((select e.id from case_events e where e.case_id = c.id order by e.id desc limit 1), 0), now()
    from cases c where c.reference = ${reference.trim().toUpperCase()}
    on conflict (staff_id, case_id) do update
      set seen_event_id = greatest(staff_case_views.seen_event_id, excluded.seen_event_id), seen_at = excluded.seen_at
  `.execute(db);
}

/** The latest event the staff member has seen of the case, if they ever opened it. */
export async function seenEventOf(db: DbOrTx, staffId: string, caseId: string): Promise<string | undefined> {
  const row = await db.selectFrom('staff_case_views').select('seen_event_id').where('staff_id', '=', staffId).where('case_id', '=', caseId).executeTakeFirst();
  return row?.seen_event_id;
}
