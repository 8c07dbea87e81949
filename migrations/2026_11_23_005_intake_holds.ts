import { Kysely } from 'kysely';

// What intake learned before matching: a message over MAX_MESSAGE_BYTES (`intake_hold`), and
// whether the receiving server verified the sender (`sender_verified`; null when not checked).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('cases').addColumn('intake_hold', 'text').addColumn('sender_verified', 'boolean').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('cases').dropColumn('intake_hold').dropColumn('sender_verified').execute();
}
