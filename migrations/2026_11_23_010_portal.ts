import { Kysely, sql } from 'kysely';

// The customer portal: one-time sign-in links and sessions (both stored only as SHA-256 hashes),
// and the security contact a company's administrators name.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('portal_links')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('portal_links_expiry').on('portal_links').column('expires_at').execute();
  await db.schema
    .createTable('portal_sessions')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('portal_sessions_email').on('portal_sessions').column('email').execute();
  await db.schema
    .alterTable('contacts')
    .addColumn('security_contact', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('phone', 'text')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('contacts').dropColumn('phone').dropColumn('security_contact').execute();
  await db.schema.dropTable('portal_sessions').execute();
  await db.schema.dropTable('portal_links').execute();
}
