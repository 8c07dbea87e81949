import { Kysely, sql } from 'kysely';

// The approval workflow (requests, their approvers, the audit log) and the transactional outbox
// every automatic mail goes through. Raw messages gain the 'kept' status: stored, never a case
// (an approval reply today; auto-replies and bounces later), with `kind` saying what it is.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table raw_messages drop constraint if exists raw_messages_status_check`.execute(db);
  await sql`alter table raw_messages add constraint raw_messages_status_check check (status in ('received', 'case', 'quarantined', 'kept'))`.execute(db);
  await db.schema.alterTable('raw_messages').addColumn('kind', 'text').execute();

  await db.schema
    .createTable('approvals')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('company_id', 'bigint', (c) => c.notNull().references('companies.id').onDelete('cascade'))
    .addColumn('infrastructure_id', 'bigint', (c) => c.notNull().references('infrastructures.id').onDelete('cascade'))
    .addColumn('requester_email', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'authorized', 'ignored', 'expired')`))
    // No approver could be found, or the company's hourly mail cap was reached: nobody was mailed.
    .addColumn('mail_held', 'text', (c) => c.check(sql`mail_held in ('no_approvers', 'capped')`))
    .addColumn('first_case_id', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('remind_at', 'timestamptz')
    .addColumn('reminded_at', 'timestamptz')
    .addColumn('decided_at', 'timestamptz')
    .addColumn('decided_by', 'text')
    .addColumn('channel', 'text', (c) => c.check(sql`channel in ('link', 'reply', 'portal', 'staff', 'expiry')`))
    .execute();
  // One open request per requester and infrastructure: later cases join it.
  await sql`create unique index approvals_one_pending on approvals (requester_email, infrastructure_id) where status = 'pending'`.execute(db);
  await sql`create index approvals_due on approvals (remind_at, expires_at) where status = 'pending'`.execute(db);

  await db.schema
    .createTable('approval_approvers')
    .addColumn('approval_id', 'bigint', (c) => c.notNull().references('approvals.id').onDelete('cascade'))
    .addColumn('contact_id', 'bigint', (c) => c.notNull().references('contacts.id').onDelete('cascade'))
    .addColumn('email', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('approval_approvers_pk', ['approval_id', 'contact_id'])
    .execute();

  await db.schema.alterTable('cases').addColumn('approval_id', 'bigint', (c) => c.references('approvals.id').onDelete('set null')).execute();
  await db.schema.createIndex('cases_approval').on('cases').column('approval_id').execute();

  await db.schema.alterTable('permissions').addColumn('granted_by', 'text').execute();
  await db.schema.alterTable('permissions').addColumn('granted_via', 'text').execute();

  await db.schema
    .createTable('outbox')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('case_id', 'bigint', (c) => c.references('cases.id').onDelete('set null'))
    .addColumn('approval_id', 'bigint', (c) => c.references('approvals.id').onDelete('set null'))
    .addColumn('company_id', 'bigint')
    .addColumn('to_address', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('html', 'text', (c) => c.notNull())
    .addColumn('message_id', 'text', (c) => c.notNull().unique())
    .addColumn('in_reply_to', 'text')
    .addColumn('references', 'text')
    .addColumn('reply_to', 'text')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending').check(sql`status in ('pending', 'sent', 'failed', 'bounced')`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('smtp_response', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('sent_at', 'timestamptz')
    .execute();
  await sql`create index outbox_pending on outbox (id) where status = 'pending'`.execute(db);
  await db.schema.createIndex('outbox_company_kind_created').on('outbox').columns(['company_id', 'kind', 'created_at']).execute();
  await db.schema.createIndex('outbox_case').on('outbox').column('case_id').execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('company_id', 'bigint')
    .addColumn('infrastructure_id', 'bigint')
    .addColumn('case_id', 'bigint')
    .addColumn('approval_id', 'bigint')
    .addColumn('subject_email', 'text')
    .addColumn('detail', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await db.schema.createIndex('audit_log_approval').on('audit_log').column('approval_id').execute();
  await db.schema.createIndex('audit_log_case').on('audit_log').column('case_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('audit_log').execute();
  await db.schema.dropTable('outbox').execute();
  await db.schema.alterTable('permissions').dropColumn('granted_via').dropColumn('granted_by').execute();
  await db.schema.alterTable('cases').dropColumn('approval_id').execute();
  await db.schema.dropTable('approval_approvers').execute();
  await db.schema.dropTable('approvals').execute();
  await sql`delete from raw_messages where status = 'kept'`.execute(db);
  await db.schema.alterTable('raw_messages').dropColumn('kind').execute();
  await sql`alter table raw_messages drop constraint if exists raw_messages_status_check`.execute(db);
  await sql`alter table raw_messages add constraint raw_messages_status_check check (status in ('received', 'case', 'quarantined'))`.execute(db);
}
