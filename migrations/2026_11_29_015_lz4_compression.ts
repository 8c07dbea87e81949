import { Kysely, sql } from 'kysely';

// Raw messages and attachments are the only large values the service writes, one of each per
// message. lz4 compresses them several times faster than PostgreSQL's default pglz, for a
// somewhat larger result; it applies to values written from now on. Skipped on a server built
// without lz4 (the values then stay pglz, as before).
const COLUMNS = [
  ['raw_messages', 'raw'],
  ['attachments', 'content'],
] as const;

async function lz4Available(db: Kysely<unknown>): Promise<boolean> {
  const { rows } = await sql<{ ok: boolean }>`select 'lz4' = any(enumvals) as ok from pg_settings where name = 'default_toast_compression'`.execute(db);
  return rows[0]?.ok === true;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  if (!(await lz4Available(db))) return;
  for (const [table, column] of COLUMNS) await sql`alter table ${sql.table(table)} alter column ${sql.ref(column)} set compression lz4`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const [table, column] of COLUMNS) await sql`alter table ${sql.table(table)} alter column ${sql.ref(column)} set compression default`.execute(db);
}
