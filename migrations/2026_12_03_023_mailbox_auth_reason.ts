import type { Kysely } from 'kysely';

/**
 * Why a mailbox's credentials fail, as a short stable code (AADSTS7000215, invalid_grant, ...)
 * beside the operator's sentence in last_error: the code labels /metrics, the sentence is read.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('mailbox_watchers').addColumn('reason_code', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('mailbox_watchers').dropColumn('reason_code').execute();
}
