import { Kysely, sql } from 'kysely';

// The customer's contact list: companies, their infrastructures, contacts and per-infrastructure
// permissions. Emails and addresses are stored lower-cased so every comparison is exact.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('companies')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('key', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('company_domains')
    .addColumn('company_id', 'bigint', (c) => c.notNull().references('companies.id').onDelete('cascade'))
    .addColumn('domain', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('company_domains_pk', ['company_id', 'domain'])
    .execute();
  await db.schema.createIndex('company_domains_domain').on('company_domains').column('domain').execute();

  await db.schema
    .createTable('infrastructures')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('company_id', 'bigint', (c) => c.notNull().references('companies.id').onDelete('cascade'))
    .addColumn('key', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('is_default', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
  await db.schema.createIndex('infrastructures_company').on('infrastructures').column('company_id').execute();

  await db.schema
    .createTable('infrastructure_addresses')
    .addColumn('address', 'text', (c) => c.primaryKey())
    .addColumn('infrastructure_id', 'bigint', (c) => c.notNull().references('infrastructures.id').onDelete('cascade'))
    .execute();

  await db.schema
    .createTable('contacts')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('company_id', 'bigint', (c) => c.notNull().references('companies.id').onDelete('cascade'))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('company_role', 'text', (c) => c.notNull().check(sql`company_role in ('admin', 'member')`))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'pending')`))
    .addColumn('source', 'text', (c) => c.notNull().defaultTo('import'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('contacts_company_email', ['company_id', 'email'])
    .execute();
  await db.schema.createIndex('contacts_email').on('contacts').column('email').execute();

  await db.schema
    .createTable('permissions')
    .addColumn('infrastructure_id', 'bigint', (c) => c.notNull().references('infrastructures.id').onDelete('cascade'))
    .addColumn('contact_id', 'bigint', (c) => c.notNull().references('contacts.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('administrator', 'user')`))
    .addColumn('cc_all_cases', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('source', 'text', (c) => c.notNull().defaultTo('import'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('permissions_pk', ['infrastructure_id', 'contact_id'])
    .execute();
  await db.schema.createIndex('permissions_contact').on('permissions').column('contact_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['permissions', 'contacts', 'infrastructure_addresses', 'infrastructures', 'company_domains', 'companies']) {
    await db.schema.dropTable(table).execute();
  }
}
