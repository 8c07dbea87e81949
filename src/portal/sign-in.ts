import { formatDate } from '../dates';
import { activatePendingContacts } from '../directory/people';
import { addToOutbox, written, type OutboxContext } from '../mail/outbox';
import type { Db } from '../db/connection';
import { countAttempt, refundAttempt, type RateRule } from '../security/rate-limit';
import { consumeSignInLink, issueSignInLink, type LinkCheck } from './links';
import { isKnown, loadPerson, personName } from './people';

// Link requests: three per address and twenty per client in fifteen minutes, whoever asks.
export const LINK_BY_EMAIL: RateRule = { scope: 'portal_link_email', limit: 3, windowMs: 15 * 60_000 };
export const LINK_BY_CLIENT: RateRule = { scope: 'portal_link_client', limit: 20, windowMs: 15 * 60_000 };

/** What the portal's own mail needs: the database, the outbox, and the address its links point to. */
export interface PortalMailDeps {
  db: Db;
  outbox: OutboxContext;
  publicUrl: string;
}

export type SignInRequest = { result: 'answered'; mayMail: string | null } | { result: 'client_limited' };

/**
 * Someone asked for a sign-in link: the part of the answer that waits. It counts the request and
 * does nothing that depends on whether the address is known, so a known address is answered as
 * fast as an unknown one (no enumeration by timing); `mailSignInLink` runs after the answer with
 * `mayMail`, the address when it is under its limit. Both see the same page. Over the per-client
 * limit the client is told; over the per-address limit the mail is silently not sent.
 */
export async function countSignInRequest(db: Db, email: string, client: string): Promise<SignInRequest> {
  const address = email.trim().toLowerCase();
  const attempt = await countAttempt(db, [{ rule: LINK_BY_CLIENT, key: client }, { rule: LINK_BY_EMAIL, key: address }]);
  if (attempt.over.includes(LINK_BY_CLIENT)) {
    await refundAttempt(db, attempt);
    return { result: 'client_limited' };
  }
  const mayMail = !attempt.over.length && /^[^\s@]+@[^\s@]+$/.test(address) && address.length <= 320;
  return { result: 'answered', mayMail: mayMail ? address : null };
}

/** After the answer: a known contact or case participant gets a link by mail, anyone else nothing. Returns the outbox rows. */
export async function mailSignInLink(deps: PortalMailDeps, address: string, linkTtlMs: number): Promise<string[]> {
  const person = await loadPerson(deps.db, address);
  if (!isKnown(person)) return [];
  return deps.db.transaction().execute(async (tx) => {
    const link = await issueSignInLink(tx, deps.publicUrl, address, linkTtlMs);
    const name = personName(person);
    return written(await addToOutbox(tx, deps.outbox, { kind: 'portal_sign_in', to: address, props: { recipient: { name, email: address }, link: link.url, expiresAt: formatDate(link.expiresAt), validMinutes: Math.round(linkTtlMs / 60_000) } }));
  });
}

/**
 * Uses a sign-in link up. A pending member who signs in becomes active (the policy: pending
 * members become effective members when they create their account), recorded in the audit log.
 */
export async function completeSignIn(db: Db, token: string): Promise<LinkCheck> {
  return db.transaction().execute(async (tx) => {
    const used = await consumeSignInLink(tx, token);
    if (!used.ok) return used;
    await activatePendingContacts(tx, used.email);
    return used;
  });
}
