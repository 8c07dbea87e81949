import { sql } from 'kysely';
import type { Tx } from './connection';

/**
 * Takes the transaction's advisory locks `case-intake:<scope>:<key>` for every key, in one
 * statement and in sorted order: two transactions locking overlapping keys wait for each other
 * rather than deadlock, and no lock is held while another of the same call is waited for.
 * Returns the keys, sorted and without repeats. The `case-intake:` prefix keeps the locks apart
 * from other applications' advisory locks on the same database.
 */
export async function lockKeys(tx: Tx, scope: string, keys: string[]): Promise<string[]> {
  const sorted = [...new Set(keys)].sort();
  if (sorted.length) await sql`select pg_advisory_xact_lock(hashtextextended(k, 0)) from unnest(${sorted.map((key) => `case-intake:${scope}:${key}`)}::text[]) as k`.execute(tx);
  return sorted;
}
