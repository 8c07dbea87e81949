import { Kysely, sql } from 'kysely';

/**
 * A case's life after intake. Statuses pending (waiting for the customer), solved and closed; who
 * works it (assignee), whether a customer escalated it, when the customer last wrote and staff
 * first answered, and when it was resolved (solved or closed: the start of REOPEN_WINDOW). A case
 * started by a reply to a long-closed one names it (`follows_case_id`).
 *
 * Messages may now be written here rather than mailed in: a staff reply (author `staff`, its
 * outbox row carries the mail) and a portal comment (channel `portal`), neither with a raw copy.
 * Internal notes have a table of their own: they are never mailed nor shown to customers.
 * Case events gain the channel the change came through; the old rows take it from their detail.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table cases drop constraint cases_status_check`.execute(db);
  await sql`alter table cases add constraint cases_status_check check (status in ('new', 'open', 'pending', 'solved', 'closed', 'suspended', 'ignored'))`.execute(db);
  await db.schema
    .alterTable('cases')
    .addColumn('assignee_id', 'bigint', (c) => c.references('staff_accounts.id').onDelete('set null'))
    .addColumn('escalated_at', 'timestamptz')
    .addColumn('escalated_by', 'text')
    .addColumn('escalation_reason', 'text')
    .addColumn('last_customer_reply_at', 'timestamptz')
    .addColumn('first_response_at', 'timestamptz')
    .addColumn('resolved_at', 'timestamptz')
    .addColumn('follows_case_id', 'bigint', (c) => c.references('cases.id').onDelete('set null'))
    .execute();
  await db.schema.createIndex('cases_assignee').on('cases').columns(['assignee_id', 'id']).where(sql.ref('assignee_id'), 'is not', null).execute();
  await db.schema.createIndex('cases_escalated').on('cases').column('id').where(sql.ref('escalated_at'), 'is not', null).execute();
  // The sweep that closes solved cases once REOPEN_WINDOW has passed.
  await db.schema.createIndex('cases_solved').on('cases').column('resolved_at').where(sql.ref('status'), '=', 'solved').execute();

  await sql`alter table messages alter column raw_message_id drop not null`.execute(db);
  await db.schema
    .alterTable('messages')
    .addColumn('author', 'text', (c) => c.notNull().defaultTo('customer').check(sql`author in ('customer', 'staff')`))
    .addColumn('channel', 'text', (c) => c.notNull().defaultTo('mail').check(sql`channel in ('mail', 'portal', 'dashboard', 'api')`))
    .execute();
  // Every message that reached the mailbox keeps its raw copy; only ours and the portal's lack one.
  await sql`alter table messages add constraint messages_raw_copy check (raw_message_id is not null or channel <> 'mail')`.execute(db);

  await db.schema
    .alterTable('outbox')
    .addColumn('cc_addresses', sql`text[]`)
    // The message whose attachments this mail carries (a staff reply's).
    .addColumn('message_ref', 'bigint', (c) => c.references('messages.id').onDelete('set null'))
    .execute();

  await db.schema
    .createTable('case_notes')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('case_id', 'bigint', (c) => c.notNull().references('cases.id').onDelete('cascade'))
    .addColumn('author', 'text', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('case_notes_case').on('case_notes').columns(['case_id', 'id']).execute();

  // What each staff member last saw of each case: the list marks cases with newer events.
  await db.schema
    .createTable('staff_case_views')
    .addColumn('staff_id', 'bigint', (c) => c.notNull().references('staff_accounts.id').onDelete('cascade'))
    .addColumn('case_id', 'bigint', (c) => c.notNull().references('cases.id').onDelete('cascade'))
    .addColumn('seen_event_id', 'bigint', (c) => c.notNull())
    .addColumn('seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('staff_case_views_pk', ['staff_id', 'case_id'])
    .execute();

  await db.schema.alterTable('case_events').addColumn('channel', 'text', (c) => c.notNull().defaultTo('system')).execute();
  await sql`update case_events set channel = coalesce(detail->>'channel', case when kind in ('created', 'message_added', 'reply_held') then 'mail' else 'system' end)`.execute(db);
  // The list's "new since you looked" reads each case's latest event.
  await db.schema.createIndex('case_events_case_id').on('case_events').columns(['case_id', 'id']).execute();
  await db.schema.dropIndex('case_events_case').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('case_events_case').on('case_events').column('case_id').execute();
  await db.schema.dropIndex('case_events_case_id').execute();
  await db.schema.alterTable('case_events').dropColumn('channel').execute();
  await db.schema.dropTable('staff_case_views').execute();
  await db.schema.dropTable('case_notes').execute();
  await db.schema.alterTable('outbox').dropColumn('message_ref').dropColumn('cc_addresses').execute();
  await sql`alter table messages drop constraint messages_raw_copy`.execute(db);
  await db.schema.alterTable('messages').dropColumn('channel').dropColumn('author').execute();
  await sql`delete from messages where raw_message_id is null`.execute(db);
  await sql`alter table messages alter column raw_message_id set not null`.execute(db);
  await db.schema
    .alterTable('cases')
    .dropColumn('follows_case_id')
    .dropColumn('resolved_at')
    .dropColumn('first_response_at')
    .dropColumn('last_customer_reply_at')
    .dropColumn('escalation_reason')
    .dropColumn('escalated_by')
    .dropColumn('escalated_at')
    .dropColumn('assignee_id')
    .execute();
  await sql`update cases set status = 'open' where status in ('pending', 'solved', 'closed')`.execute(db);
  await sql`alter table cases drop constraint cases_status_check`.execute(db);
  await sql`alter table cases add constraint cases_status_check check (status in ('new', 'open', 'suspended', 'ignored'))`.execute(db);
}
