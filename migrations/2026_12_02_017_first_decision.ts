import { Kysely, sql } from 'kysely';

// `cases.decided_at` is the case's latest decision: an approval or a staff action that releases
// a held case sets it again. The machine's decision (intake's match) gets a column of its own,
// written once, so the arrival -> decision figures and the "decisions lag" alarm count the
// service, not the administrators' time to answer. Existing cases take it from their first
// `decided` event (written by that decision), else from `decided_at`.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('cases').addColumn('first_decided_at', 'timestamptz').execute();
  await sql`
    update cases c set first_decided_at = coalesce(
      (select min(e.at) from case_events e where e.case_id = c.id and e.kind = 'decided'), c.decided_at)
    where c.decided_at is not null`.execute(db);
  await db.schema.createIndex('cases_first_decided_at').on('cases').column('first_decided_at').where(sql.ref('first_decided_at'), 'is not', null).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('cases_first_decided_at').execute();
  await db.schema.alterTable('cases').dropColumn('first_decided_at').execute();
}
