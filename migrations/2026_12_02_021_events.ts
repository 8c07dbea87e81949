import { Kysely, sql } from 'kysely';

/**
 * The public events a help desk hears of (see docs/events.md). `events` is written by the relay
 * alone, one relay at a time, so its ids (the feed's cursor) become visible in order. The rows
 * each event comes from say which event they became (`event_id`; 0: none, they were not for
 * outside eyes); what was recorded before this migration is marked 0: the feed starts here.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('case_id', 'bigint', (c) => c.references('cases.id').onDelete('set null'))
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('data', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  for (const table of ['case_events', 'audit_log']) {
    await db.schema.alterTable(table).addColumn('event_id', 'bigint').execute();
    await sql`update ${sql.table(table)} set event_id = 0`.execute(db);
    await db.schema.createIndex(`${table}_unrelayed`).on(table).column('id').where(sql.ref('event_id'), 'is', null).execute();
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['case_events', 'audit_log']) await db.schema.alterTable(table).dropColumn('event_id').execute();
  await db.schema.dropTable('events').execute();
}
