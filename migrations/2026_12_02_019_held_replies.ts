import { Kysely } from 'kysely';

// A message kept on its case but held from it (`hold_reason`, e.g. reply_not_verified: a reply
// whose sender our receiving server did not vouch for). Null for every other message.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('messages').addColumn('hold_reason', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('messages').dropColumn('hold_reason').execute();
}
