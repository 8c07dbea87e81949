import { Kysely, PostgresDialect, type Transaction } from 'kysely';
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Database } from './schema';

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** Repository functions take either, so the caller decides what runs in one transaction. */
export type DbOrTx = Db | Tx;

// bigint columns come back as strings (ids never reach 2^53 in practice, but counts and
// uidvalidity are compared as strings to stay exact); timestamptz as Date, the pg default.
export interface DbOptions {
  max?: number;
  /**
   * Commits return before PostgreSQL has flushed them to disk (`synchronous_commit = off`): a
   * database crash, not a restart, can forget the last fraction of a second of them.
   */
  asyncCommit?: boolean;
}

export type Pool = pg.Pool;

export function createDb(databaseUrl: string, options: DbOptions = {}): Db {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: createPool(databaseUrl, options) }) });
}

/** A pool of plain pg clients, for the one place that needs to time its own writes (see send-claim.takeForSending). */
export function createPool(databaseUrl: string, options: DbOptions = {}): Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: options.max ?? 10, ...(options.asyncCommit ? { options: '-c synchronous_commit=off' } : {}) });
  // An idle client that loses its server (PostgreSQL restart) emits 'error'; without a listener
  // that would crash the process. The next query gets a fresh connection.
  pool.on('error', () => undefined);
  // pg-pool drops that listener while a client is checked out: a server that goes away between
  // two queries of a transaction would crash the process. The query in progress (or the next
  // one) fails instead, and the caller's retry path takes over.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
    prepareRepeatedStatements(client);
  });
  return pool;
}

const PREPARABLE = /^\s*(select|insert|update|delete|with)\b/i;
/**
 * Statements with more parameters are a batch's multi-row statements: run once per fetch, their
 * planning is already shared by the batch, and each row count would be one more statement kept
 * by every connection. Only the small per-message statements are worth keeping.
 */
const MAX_PREPARED_PARAMETERS = 32;

/**
 * Runs every query as a named prepared statement, named by a hash of its text: each connection
 * parses a statement once and PostgreSQL plans it once, instead of on every call. Intake runs the
 * same few dozen statements for every message, so this is most of what PostgreSQL spent on them.
 * A statement whose tables changed shape under it (a migration by a newer process) fails once
 * with "cached plan must not change result type"; that connection is then closed, so the retry
 * gets a fresh one.
 */
function prepareRepeatedStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (text: unknown, values?: unknown, callback?: unknown) => {
    const many = Array.isArray(values) && values.length > MAX_PREPARED_PARAMETERS;
    if (typeof text !== 'string' || !PREPARABLE.test(text) || typeof values === 'function' || many) return query(text, values, callback);
    const name = `k${createHash('sha1').update(text).digest('base64url')}`;
    const result = query({ text, values, name }, callback) as Promise<unknown> | undefined;
    return result?.catch((err: unknown) => {
      // Ended, the client is dropped by the pool when the caller releases it.
      if ((err as { code?: string }).code === '0A000') void client.end().catch(() => undefined);
      throw err;
    });
  };
}
