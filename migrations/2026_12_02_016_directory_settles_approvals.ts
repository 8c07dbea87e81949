import { Kysely, sql } from 'kysely';

// A request can be settled by a change to people and rights that lets the requester open cases
// there: on the portal's team page (`team`) or by `directory import` (`import`).
const BEFORE = ['link', 'reply', 'portal', 'staff', 'expiry'];
const AFTER = [...BEFORE, 'team', 'import'];

async function allowChannels(db: Kysely<unknown>, channels: string[]): Promise<void> {
  await sql`alter table approvals drop constraint if exists approvals_channel_check`.execute(db);
  await sql`alter table approvals add constraint approvals_channel_check check (channel in (${sql.join(channels.map((c) => sql.lit(c)))}))`.execute(db);
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await allowChannels(db, AFTER);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await allowChannels(db, BEFORE);
}
