import { Kysely, sql } from 'kysely';

// A mail's secret parts (portal sign-in and invitation links, approval tokens) are kept out of
// the outbox's stored texts: sealed in this column until the row is sent, then dropped. The
// partial index holds only rows that still have them, for the sweep that drops leftovers.
// Rows written before and already sent lose the working parts of their links (the path stays,
// the token becomes "removed"); rows still pending go out as they were written.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('outbox').addColumn('sealed_secrets', 'bytea').execute();
  const approvalToken = String.raw`(/approvals/|\+approve-)[0-9a-z]+\.[0-9a-z]+\.[0-9a-z]+\.[a-z2-7]+`;
  const portalToken = '/portal/login/[A-Za-z0-9_-]{43}';
  for (const column of ['text', 'html', 'reply_to']) {
    await sql`
      update outbox set ${sql.ref(column)} = regexp_replace(regexp_replace(${sql.ref(column)}, ${approvalToken}, ${String.raw`\1removed`}, 'g'), ${portalToken}, '/portal/login/removed', 'g')
      where status <> 'pending' and kind in ('approval_request', 'approval_reminder', 'portal_sign_in', 'portal_invitation')`.execute(db);
  }
  await db.schema.createIndex('outbox_sealed').on('outbox').column('id').where(sql.ref('sealed_secrets'), 'is not', null).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('outbox_sealed').execute();
  await db.schema.alterTable('outbox').dropColumn('sealed_secrets').execute();
}
