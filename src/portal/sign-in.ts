import type { ApprovalDeps } from '../approvals/context';
import { formatDate } from '../approvals/views';
import { activatePendingContacts } from '../directory/people';
import { queueMail, written } from '../mail/outbox';
import { countAttempt, underLimit, type RateRule } from '../security/rate-limit';
import { consumeSignInLink, issueSignInLink, type LinkCheck } from './links';
import { isKnown, loadPerson } from './people';

// Link requests: three per address and twenty per client in fifteen minutes, whoever asks.
export const LINK_BY_EMAIL: RateRule = { scope: 'portal_link_email', limit: 3, windowMs: 15 * 60_000 };
export const LINK_BY_CLIENT: RateRule = { scope: 'portal_link_client', limit: 20, windowMs: 15 * 60_000 };

export type SignInRequest = { result: 'answered'; outboxIds: string[] } | { result: 'client_limited' };

/**
 * Someone asked for a sign-in link. The answer never says whether the address is known: a known
 * contact or case participant gets a mail, anyone else nothing, and both see the same page. Over
 * the per-address limit the mail is silently not sent; over the per-client limit the client is told.
 */
export async function requestSignIn(deps: ApprovalDeps, email: string, client: string, linkTtlMs: number): Promise<SignInRequest> {
  const address = email.trim().toLowerCase();
  if (!(await underLimit(deps.db, LINK_BY_CLIENT, [client]))) return { result: 'client_limited' };
  const addressOk = await underLimit(deps.db, LINK_BY_EMAIL, [address]);
  await countAttempt(deps.db, LINK_BY_CLIENT.scope, [client]);
  await countAttempt(deps.db, LINK_BY_EMAIL.scope, [address]);
  if (!addressOk || !/^[^\s@]+@[^\s@]+$/.test(address) || address.length > 320) return { result: 'answered', outboxIds: [] };
  const person = await loadPerson(deps.db, address);
  if (!isKnown(person)) return { result: 'answered', outboxIds: [] };
  const outboxIds = await deps.db.transaction().execute(async (tx) => {
    const link = await issueSignInLink(tx, deps.settings.publicUrl, address, linkTtlMs);
    const name = person.memberships.find((m) => m.name)?.name ?? null;
    return written(await queueMail(tx, deps.outbox, { kind: 'portal_sign_in', to: address, props: { recipient: { name, email: address }, link: link.url, expiresAt: formatDate(link.expiresAt), validMinutes: Math.round(linkTtlMs / 60_000) } }));
  });
  return { result: 'answered', outboxIds };
}

/**
 * Uses a sign-in link up. A pending member who signs in becomes active (the policy: pending
 * members become effective members when they create their account), recorded in the audit log.
 */
export async function completeSignIn(deps: ApprovalDeps, token: string): Promise<LinkCheck> {
  return deps.db.transaction().execute(async (tx) => {
    const used = await consumeSignInLink(tx, token);
    if (!used.ok) return used;
    await activatePendingContacts(tx, used.email);
    return used;
  });
}
