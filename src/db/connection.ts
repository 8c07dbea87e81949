import { Kysely, PostgresDialect, type Transaction } from 'kysely';
import pg from 'pg';
import type { Database } from './schema';

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** Repository functions take either, so the caller decides what runs in one transaction. */
export type DbOrTx = Db | Tx;

// bigint columns come back as strings (ids never reach 2^53 in practice, but counts and
// uidvalidity are compared as strings to stay exact); timestamptz as Date, the pg default.
export function createDb(databaseUrl: string, options: { max?: number } = {}): Db {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: options.max ?? 10 });
  // An idle client that loses its server (PostgreSQL restart) emits 'error'; without a listener
  // that would crash the process. The next query gets a fresh connection.
  pool.on('error', () => undefined);
  // pg-pool drops that listener while a client is checked out: a server that goes away between
  // two queries of a transaction would crash the process. The query in progress (or the next
  // one) fails instead, and the caller's retry path takes over.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
