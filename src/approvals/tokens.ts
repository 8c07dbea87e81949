import { mac, sameText } from '../security/signing';

/**
 * Approval tokens: `<approval>.<approver>.<expiry>.<signature>`, numbers in base 36, the
 * signature an HMAC-SHA256 (truncated to 128 bits) in lower-case base 32. All lower case and
 * short on purpose: the token travels in a link and in a plus-address (`support+approve-<token>@`),
 * whose local part must stay under 64 characters and may be lower-cased by mail servers.
 */
export interface ApprovalTokenClaims {
  approvalId: string;
  approverId: string;
  /** Unix seconds. */
  expiresAt: number;
}

export type TokenCheck = { ok: true; claims: ApprovalTokenClaims } | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' };

function signature(secret: string, payload: string): string {
  return mac(secret, 'approval', payload, 16);
}

export function signApprovalToken(secret: string, claims: ApprovalTokenClaims): string {
  const payload = [BigInt(claims.approvalId).toString(36), BigInt(claims.approverId).toString(36), claims.expiresAt.toString(36)].join('.');
  return `${payload}.${signature(secret, payload)}`;
}

/**
 * Checks a token against the current secret and, during a rotation, the previous one. The
 * signature is checked before the expiry, so an expired answer is only given for a genuine token.
 */
export function verifyApprovalToken(token: string, secrets: Array<string | null>, nowSeconds = Math.floor(Date.now() / 1000)): TokenCheck {
  const m = /^([0-9a-z]{1,13})\.([0-9a-z]{1,13})\.([0-9a-z]{1,8})\.([a-z2-7]{26})$/.exec(token.toLowerCase());
  if (!m) return { ok: false, reason: 'malformed' };
  const [, approval, approver, expiry, sig] = m as unknown as [string, string, string, string, string];
  const payload = `${approval}.${approver}.${expiry}`;
  const valid = secrets.some((secret) => secret !== null && sameText(signature(secret, payload), sig));
  if (!valid) return { ok: false, reason: 'bad_signature' };
  const expiresAt = parseInt(expiry, 36);
  if (expiresAt <= nowSeconds) return { ok: false, reason: 'expired' };
  const toDecimal = (b36: string) => [...b36].reduce((n, c) => n * 36n + BigInt(parseInt(c, 36)), 0n).toString();
  return { ok: true, claims: { approvalId: toDecimal(approval), approverId: toDecimal(approver), expiresAt } };
}

/** The token in a `local+approve-<token>@domain` address, or null. */
export function tokenFromReplyAddress(address: string, supportAddress: string): string | null {
  const [supportLocal, supportDomain] = supportAddress.toLowerCase().split('@');
  const [local, domain] = address.toLowerCase().split('@');
  const prefix = `${supportLocal}+approve-`;
  if (!local || domain !== supportDomain || !local.startsWith(prefix)) return null;
  return local.slice(prefix.length) || null;
}

export function replyAddressFor(token: string, supportAddress: string): string {
  const [local, domain] = supportAddress.toLowerCase().split('@');
  return `${local}+approve-${token}@${domain}`;
}
