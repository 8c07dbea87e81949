import { Kysely, sql } from 'kysely';

// Messages over MAX_MESSAGE_BYTES are streamed into a PostgreSQL large object as they arrive;
// `raw` then holds only their first 256 KiB (the headers), `raw_oid` the whole message.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('raw_messages').addColumn('raw_oid', sql`oid`).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('raw_messages').dropColumn('raw_oid').execute();
}
