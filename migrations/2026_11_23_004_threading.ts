import { Kysely, sql } from 'kysely';

// Threading: replies join their case by Message-ID (ours or theirs), per-case reply address or
// subject tag; people in Cc of a customer's message become the case's participants.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index messages_message_id on messages (message_id) where message_id is not null`.execute(db);
  await db.schema
    .createTable('case_participants')
    .addColumn('case_id', 'bigint', (c) => c.notNull().references('cases.id').onDelete('cascade'))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('added_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('case_participants_pk', ['case_id', 'email'])
    .execute();
  await db.schema.createIndex('case_participants_email').on('case_participants').column('email').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('case_participants').execute();
  await sql`drop index if exists messages_message_id`.execute(db);
}
