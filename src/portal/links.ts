import { sql } from 'kysely';
import type { DbOrTx, Tx } from '../db/connection';
import { hashSecretToken, looksLikeSecretToken, newSecretToken } from '../security/secret-tokens';

/**
 * One-time sign-in links for the portal: PUBLIC_URL/portal/login/<token>. The token is only in
 * the mail; the database keeps its hash, when it expires and when it was used.
 */
export function signInUrl(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/$/, '')}/portal/login/${token}`;
}

/** A new link for `email`; the caller mails it (in the same transaction, through the outbox). */
export async function issueSignInLink(db: DbOrTx, publicUrl: string, email: string, ttlMs: number): Promise<{ url: string; expiresAt: Date }> {
  const token = newSecretToken();
  const row = await db
    .insertInto('portal_links')
    .values({ token_hash: hashSecretToken(token), email: email.toLowerCase(), expires_at: sql<Date>`now() + make_interval(secs => ${ttlMs / 1000})` })
    .returning('expires_at')
    .executeTakeFirstOrThrow();
  return { url: signInUrl(publicUrl, token), expiresAt: row.expires_at };
}

export type LinkCheck = { ok: true; email: string } | { ok: false; reason: 'unknown' | 'used' | 'expired' };

/** What a link is, without using it (the GET that shows the Sign in button). */
export async function checkSignInLink(db: DbOrTx, token: string): Promise<LinkCheck> {
  if (!looksLikeSecretToken(token)) return { ok: false, reason: 'unknown' };
  const row = await db
    .selectFrom('portal_links')
    .select(['email', 'used_at', sql<boolean>`expires_at <= now()`.as('expired')])
    .where('token_hash', '=', hashSecretToken(token))
    .executeTakeFirst();
  if (!row) return { ok: false, reason: 'unknown' };
  if (row.used_at) return { ok: false, reason: 'used' };
  if (row.expired) return { ok: false, reason: 'expired' };
  return { ok: true, email: row.email };
}

/** Uses a link up: of two clicks at once exactly one gets the email back. */
export async function consumeSignInLink(tx: Tx, token: string): Promise<LinkCheck> {
  const check = await checkSignInLink(tx, token);
  if (!check.ok) return check;
  const used = await tx
    .updateTable('portal_links')
    .set({ used_at: sql`now()` })
    .where('token_hash', '=', hashSecretToken(token))
    .where('used_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .returning('email')
    .executeTakeFirst();
  return used ? { ok: true, email: used.email } : { ok: false, reason: 'used' };
}

export async function pruneSignInLinks(db: DbOrTx): Promise<void> {
  await db.deleteFrom('portal_links').where('expires_at', '<', sql<Date>`now() - interval '1 day'`).execute();
}
