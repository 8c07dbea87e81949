import { Kysely, sql } from 'kysely';

// Intake: every message that reaches the support address is first a raw_messages row (the durable
// copy, written before the mailbox is touched), then a case with its messages and attachments.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('raw_messages')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('imap', 'pipe', 'smtp')`))
    .addColumn('mailbox', 'text')
    .addColumn('uidvalidity', 'bigint')
    .addColumn('uid', 'bigint')
    // Message-ID when the message has one, else its sha256: the same message delivered twice is one row.
    .addColumn('dedupe_key', 'text', (c) => c.notNull().unique())
    .addColumn('message_id', 'text')
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('size', 'integer', (c) => c.notNull())
    .addColumn('raw', 'bytea', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('received').check(sql`status in ('received', 'case', 'quarantined')`))
    .addColumn('error', 'text')
    .addColumn('case_id', 'bigint')
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('processed_at', 'timestamptz')
    .execute();
  await sql`create unique index raw_messages_mailbox_uid on raw_messages (mailbox, uidvalidity, uid) where uid is not null`.execute(db);
  await sql`create index raw_messages_unprocessed on raw_messages (id) where status = 'received'`.execute(db);

  await db.schema
    .createTable('cases')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('reference', 'text', (c) =>
      c.notNull().unique().generatedAlwaysAs(sql`'CASE-' || case when id < 1000000 then lpad(id::text, 6, '0') else id::text end`).stored(),
    )
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('new').check(sql`status in ('new', 'open', 'suspended', 'ignored')`))
    .addColumn('hold_reason', 'text')
    .addColumn('requester_email', 'text', (c) => c.notNull())
    .addColumn('requester_name', 'text')
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('company_id', 'bigint', (c) => c.references('companies.id').onDelete('set null'))
    .addColumn('infrastructure_id', 'bigint', (c) => c.references('infrastructures.id').onDelete('set null'))
    .addColumn('route', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('decided_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('cases_status_created').on('cases').columns(['status', 'id']).execute();
  await db.schema.createIndex('cases_requester').on('cases').column('requester_email').execute();

  await db.schema
    .createTable('messages')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('case_id', 'bigint', (c) => c.notNull().references('cases.id').onDelete('cascade'))
    .addColumn('raw_message_id', 'bigint', (c) => c.notNull().unique().references('raw_messages.id'))
    .addColumn('message_id', 'text')
    .addColumn('from_email', 'text', (c) => c.notNull())
    .addColumn('from_name', 'text')
    .addColumn('recipients', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('html', 'text')
    .addColumn('sent_at', 'timestamptz')
    .addColumn('received_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('messages_case').on('messages').column('case_id').execute();

  await db.schema
    .createTable('attachments')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('message_id', 'bigint', (c) => c.notNull().references('messages.id').onDelete('cascade'))
    .addColumn('filename', 'text')
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addColumn('size', 'integer', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('content', 'bytea', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('attachments_message').on('attachments').column('message_id').execute();

  await db.schema
    .createTable('case_events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('case_id', 'bigint', (c) => c.notNull().references('cases.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('detail', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('case_events_case').on('case_events').column('case_id').execute();

  await db.schema
    .createTable('mailbox_state')
    .addColumn('mailbox', 'text', (c) => c.primaryKey())
    .addColumn('uidvalidity', 'bigint', (c) => c.notNull())
    .addColumn('last_uid', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['mailbox_state', 'case_events', 'attachments', 'messages', 'cases', 'raw_messages']) {
    await db.schema.dropTable(table).execute();
  }
}
