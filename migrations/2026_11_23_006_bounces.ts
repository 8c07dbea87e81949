import { Kysely } from 'kysely';

// A bounce for mail we sent marks its outbox row with what the bounce reported.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('outbox').addColumn('bounce_recipient', 'text').addColumn('bounce_status', 'text').addColumn('bounced_at', 'timestamptz').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('outbox').dropColumn('bounce_recipient').dropColumn('bounce_status').dropColumn('bounced_at').execute();
}
