import { Kysely } from 'kysely';

// Mail goes out in batches, one send job per batch. The row remembers its batch so the recovery
// sweep queues a pending row under the job it already has: while that job waits out an SMTP
// outage, the sweep's add is a no-op instead of a second job delivering the same rows.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('outbox').addColumn('send_batch', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('outbox').dropColumn('send_batch').execute();
}
