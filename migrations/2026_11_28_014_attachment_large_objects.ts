import { Kysely, sql } from 'kysely';

// Large attachments are written into a PostgreSQL large object a chunk at a time: as one bytea
// parameter, pg would hold a second copy of the whole attachment while sending it. Each row has
// its content in exactly one of `content` and `content_oid`.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('attachments').addColumn('content_oid', sql`oid`).execute();
  await db.schema.alterTable('attachments').alterColumn('content', (c) => c.dropNotNull()).execute();
  await sql`alter table attachments add constraint attachments_content_once check ((content is null) <> (content_oid is null))`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table attachments drop constraint attachments_content_once`.execute(db);
  await sql`update attachments set content = lo_get(content_oid) where content_oid is not null`.execute(db);
  await sql`select lo_unlink(content_oid) from attachments where content_oid is not null`.execute(db);
  await db.schema.alterTable('attachments').alterColumn('content', (c) => c.setNotNull()).execute();
  await db.schema.alterTable('attachments').dropColumn('content_oid').execute();
}
