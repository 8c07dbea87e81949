import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';
import { hashSecretToken, looksLikeSecretToken, newSecretToken } from '../security/secret-tokens';

/** A portal session: who signed in; what they may see is read from the directory at each request. */
export interface PortalSession {
  email: string;
  /** The session's hash: what CSRF tokens are bound to. */
  sessionKey: string;
  expiresAt: Date;
}

export async function startPortalSession(db: DbOrTx, email: string, ttlMs: number): Promise<{ token: string; expiresAt: Date }> {
  const token = newSecretToken();
  const row = await db
    .insertInto('portal_sessions')
    .values({ token_hash: hashSecretToken(token), email, expires_at: sql<Date>`now() + make_interval(secs => ${ttlMs / 1000})` })
    .returning('expires_at')
    .executeTakeFirstOrThrow();
  return { token, expiresAt: row.expires_at };
}

export async function findPortalSession(db: DbOrTx, token: string): Promise<PortalSession | undefined> {
  if (!looksLikeSecretToken(token)) return undefined;
  const tokenHash = hashSecretToken(token);
  const row = await db.selectFrom('portal_sessions').select(['email', 'expires_at']).where('token_hash', '=', tokenHash).where('expires_at', '>', sql<Date>`now()`).executeTakeFirst();
  return row ? { email: row.email, expiresAt: row.expires_at, sessionKey: tokenHash } : undefined;
}

export async function endPortalSession(db: DbOrTx, token: string): Promise<void> {
  await db.deleteFrom('portal_sessions').where('token_hash', '=', hashSecretToken(token)).execute();
}

/** Ends every session of an address (a removed member keeps no way in). */
export async function endPortalSessionsOf(db: DbOrTx, email: string): Promise<void> {
  await db.deleteFrom('portal_sessions').where('email', '=', email.toLowerCase()).execute();
}

export async function prunePortalSessions(db: DbOrTx): Promise<void> {
  await db.deleteFrom('portal_sessions').where('expires_at', '<', sql<Date>`now()`).execute();
}
