import { Kysely, sql } from 'kysely';

// The dashboard refreshes its overview every few seconds and filters cases by company and
// infrastructure: without these, each refresh scans cases, raw_messages and outbox whole.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('cases_created_at').on('cases').column('created_at').execute();
  await db.schema.createIndex('cases_decided_at').on('cases').column('decided_at').where(sql.ref('decided_at'), 'is not', null).execute();
  await db.schema.createIndex('cases_company').on('cases').columns(['company_id', 'id']).execute();
  await db.schema.createIndex('cases_infrastructure').on('cases').columns(['infrastructure_id', 'id']).execute();
  await db.schema.createIndex('raw_messages_status_received').on('raw_messages').columns(['status', 'received_at']).execute();
  await db.schema.createIndex('outbox_undelivered').on('outbox').column('id').where(sql.ref('status'), 'in', sql`('failed', 'bounced')`).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const name of ['outbox_undelivered', 'raw_messages_status_received', 'cases_infrastructure', 'cases_company', 'cases_decided_at', 'cases_created_at']) {
    await db.schema.dropIndex(name).execute();
  }
}
