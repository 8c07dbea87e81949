import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';
import { hashSecretToken as hashToken, looksLikeSecretToken, newSecretToken } from '../security/secret-tokens';
import type { StaffMember } from './accounts';

export interface StaffSession extends StaffMember {
  /** Identifies the session without being its secret: what CSRF tokens are bound to. */
  sessionKey: string;
  expiresAt: Date;
}

/** A new session; the returned token goes into the cookie and is stored only as its hash. */
export async function startStaffSession(db: DbOrTx, staffId: string, ttlMs: number): Promise<{ token: string; expiresAt: Date }> {
  const token = newSecretToken();
  const row = await db
    .insertInto('staff_sessions')
    .values({ token_hash: hashToken(token), staff_id: staffId, expires_at: sql<Date>`now() + make_interval(secs => ${ttlMs / 1000})` })
    .returning('expires_at')
    .executeTakeFirstOrThrow();
  return { token, expiresAt: row.expires_at };
}

export async function findStaffSession(db: DbOrTx, token: string): Promise<StaffSession | undefined> {
  if (!looksLikeSecretToken(token)) return undefined;
  const tokenHash = hashToken(token);
  const row = await db
    .selectFrom('staff_sessions as s')
    .innerJoin('staff_accounts as a', 'a.id', 's.staff_id')
    .select(['a.id', 'a.email', 's.expires_at'])
    .where('s.token_hash', '=', tokenHash)
    .where('s.expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
  return row ? { id: row.id, email: row.email, expiresAt: row.expires_at, sessionKey: tokenHash } : undefined;
}

export async function endStaffSession(db: DbOrTx, token: string): Promise<void> {
  await db.deleteFrom('staff_sessions').where('token_hash', '=', hashToken(token)).execute();
}

export async function pruneStaffSessions(db: DbOrTx): Promise<number> {
  const r = await db.deleteFrom('staff_sessions').where('expires_at', '<', sql<Date>`now()`).executeTakeFirst();
  return Number(r.numDeletedRows);
}
