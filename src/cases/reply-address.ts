import { mac, sameText } from '../security/signing';

/**
 * Each case's own reply address, `support+case-<id>-<signature>@<support domain>`: mail to it
 * joins the case whatever its headers say. Signed, so nobody can write into a case by guessing
 * its number; lower case, so servers that change an address's case do not break it.
 */
export function caseReplyAddress(caseId: string, secret: string, supportAddress: string): string {
  const [local, domain] = supportAddress.toLowerCase().split('@');
  const id = BigInt(caseId).toString(36);
  return `${local}+case-${id}-${mac(secret, 'case-reply', id, 10)}@${domain}`;
}

/** The case id a reply address names, if the address is one of ours and its signature holds. */
export function caseFromReplyAddress(address: string, secrets: Array<string | null>, supportAddress: string): string | null {
  const [supportLocal, supportDomain] = supportAddress.toLowerCase().split('@');
  const [local, domain] = address.toLowerCase().split('@');
  if (!local || domain !== supportDomain) return null;
  const m = new RegExp(`^${supportLocal!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\+case-([0-9a-z]{1,13})-([a-z2-7]{16})$`).exec(local);
  if (!m) return null;
  const [, id, sig] = m as unknown as [string, string, string];
  if (!secrets.some((s) => s !== null && sameText(mac(s, 'case-reply', id, 10), sig))) return null;
  return [...id].reduce((n, c) => n * 36n + BigInt(parseInt(c, 36)), 0n).toString();
}

/** `[CASE-000123]` in a subject, or null. */
export function referenceTag(subject: string): string | null {
  const m = /\[(CASE-\d{6,})\]/i.exec(subject);
  return m?.[1]?.toUpperCase() ?? null;
}
