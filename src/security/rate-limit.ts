import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';

/**
 * Counting attempts in PostgreSQL rather than in one process's memory, so the limit holds across
 * every process behind the load balancer and across restarts.
 */
export interface RateRule {
  scope: string;
  limit: number;
  windowMs: number;
}

/** How many attempts `key` made in the rule's window. */
export async function recentAttempts(db: DbOrTx, rule: RateRule, key: string): Promise<number> {
  const row = await db
    .selectFrom('rate_events')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('scope', '=', rule.scope)
    .where('key', '=', key)
    .where('at', '>', sql<Date>`now() - make_interval(secs => ${rule.windowMs / 1000})`)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** True while every key is under its limit. */
export async function underLimit(db: DbOrTx, rule: RateRule, keys: string[]): Promise<boolean> {
  for (const key of keys) if ((await recentAttempts(db, rule, key)) >= rule.limit) return false;
  return true;
}

export async function countAttempt(db: DbOrTx, scope: string, keys: string[]): Promise<void> {
  if (keys.length) await db.insertInto('rate_events').values(keys.map((key) => ({ scope, key }))).execute();
}

export async function forgetAttempts(db: DbOrTx, scope: string, key: string): Promise<void> {
  await db.deleteFrom('rate_events').where('scope', '=', scope).where('key', '=', key).execute();
}

/** Drops attempts older than any window can look back (a day); run by the maintenance sweep. */
export async function pruneAttempts(db: DbOrTx): Promise<number> {
  const r = await db.deleteFrom('rate_events').where('at', '<', sql<Date>`now() - interval '1 day'`).executeTakeFirst();
  return Number(r.numDeletedRows);
}
