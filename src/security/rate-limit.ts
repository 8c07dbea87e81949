import { sql } from 'kysely';
import type { Db, DbOrTx } from '../db/connection';

/**
 * Counting attempts in PostgreSQL rather than in one process's memory, so the limit holds across
 * every process behind the load balancer and across restarts.
 */
export interface RateRule {
  scope: string;
  limit: number;
  windowMs: number;
}

/** One attempt, counted under each rule's key. */
export interface CountedAttempt {
  /** The rules this attempt went over (empty: within every limit). */
  over: RateRule[];
  /** Its rows, for `refundAttempt`. */
  ids: string[];
}

/**
 * Counts an attempt, then tells whether it is within every limit. Counting before checking is
 * what makes a limit hold under parallel requests: each attempt's row is committed before it
 * counts, so of attempts racing each other the k-th to commit sees at least k rows, and at most
 * `limit` of them pass (a burst may refuse some a slower sequence would admit, never admit one more).
 * Hence a pool, never a transaction: the row must be visible to the others before this one counts.
 */
export async function countAttempt(db: Db, keyed: Array<{ rule: RateRule; key: string }>): Promise<CountedAttempt> {
  if (!keyed.length) return { over: [], ids: [] };
  const rows = await db.insertInto('rate_events').values(keyed.map(({ rule, key }) => ({ scope: rule.scope, key }))).returning('id').execute();
  const over: RateRule[] = [];
  for (const { rule, key } of keyed) {
    const row = await db
      .selectFrom('rate_events')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('scope', '=', rule.scope)
      .where('key', '=', key)
      .where('at', '>', sql<Date>`now() - make_interval(secs => ${rule.windowMs / 1000})`)
      .executeTakeFirstOrThrow();
    if (Number(row.n) > rule.limit) over.push(rule);
  }
  return { over, ids: rows.map((r) => r.id) };
}

/** Takes an attempt back out of the count: one that was refused unchecked, or one that succeeded. */
export async function refundAttempt(db: DbOrTx, attempt: CountedAttempt, scope?: string): Promise<void> {
  if (!attempt.ids.length) return;
  let q = db.deleteFrom('rate_events').where('id', 'in', attempt.ids);
  if (scope) q = q.where('scope', '=', scope);
  await q.execute();
}

export async function forgetAttempts(db: DbOrTx, scope: string, key: string): Promise<void> {
  await db.deleteFrom('rate_events').where('scope', '=', scope).where('key', '=', key).execute();
}

/** Drops attempts older than any window can look back (a day); run by the maintenance sweep. */
export async function pruneAttempts(db: DbOrTx): Promise<number> {
  const r = await db.deleteFrom('rate_events').where('at', '<', sql<Date>`now() - interval '1 day'`).executeTakeFirst();
  return Number(r.numDeletedRows);
}
