import { Kysely, sql } from 'kysely';

// What the watcher holding a mailbox's lease says of it, every few seconds: so a process without
// a watcher (the web role) can show and check intake, and a silent one shows up as stale.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('mailbox_watchers')
    .addColumn('mailbox', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('mode', 'text')
    .addColumn('state_since', 'timestamptz', (c) => c.notNull())
    .addColumn('last_sync_at', 'timestamptz')
    .addColumn('last_message_at', 'timestamptz')
    .addColumn('last_error', 'text')
    .addColumn('reconnects', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('heartbeat_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('mailbox_watchers').execute();
}
