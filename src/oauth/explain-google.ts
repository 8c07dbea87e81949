import { GOOGLE_MAIL_SCOPE } from './credentials';
import { firstSentence } from './quotable';

/**
 * Google's token endpoint refusals: RFC 6749 error codes whose descriptions tell the cases apart
 * (a service account's key, its subject, the clock, a revoked refresh token, delegation).
 */

export interface GoogleContext {
  error: string;
  description: string;
  /** The service account's email, or the OAuth client's ID for a refresh token. */
  clientId: string;
  /** Set for a service account: the Workspace user it acts as. */
  subject?: string;
}

const DELEGATION = `in the Google Admin console (Security, Access and data control, API controls, Domain-wide delegation) add the service account's client ID with the scope ${GOOGLE_MAIL_SCOPE}`;

function invalidGrant(c: GoogleContext): string {
  const d = c.description;
  if (/invalid jwt signature/i.test(d)) return `Google does not accept the signature of service account '${c.clientId}': its key in GOOGLE_SERVICE_ACCOUNT_FILE was deleted or replaced; create a new JSON key in the Google Cloud console and update the file.`;
  if (/invalid email or user id/i.test(d)) return `Google does not know the user '${c.subject ?? ''}' the service account acts as: the mailbox's user (in IMAP_URL, SMTP_URL or MAILBOXES_FILE) must be an existing user of the Workspace domain.`;
  if (/expired or revoked/i.test(d)) return 'Google revoked the refresh token, or it expired: obtain a new one and set OAUTH_REFRESH_TOKEN (an OAuth app left in testing status gets tokens that last 7 days).';
  if (/short-lived token|reasonable timeframe|iat and exp/i.test(d)) return "Google refused the assertion's time: this machine's clock is off; synchronize it (NTP).";
  if (/account not found/i.test(d)) return `Google no longer knows service account '${c.clientId}': it was deleted; create a service account with domain-wide delegation and a new key for GOOGLE_SERVICE_ACCOUNT_FILE.`;
  const said = firstSentence(d);
  return `Google refused the grant (invalid_grant)${said ? `: ${said}` : '.'}`;
}

/** An operator's words for Google's answer, or null for codes RFC 6749's words cover as well. */
export function explainGoogle(c: GoogleContext): string | null {
  const serviceAccount = c.subject !== undefined;
  switch (c.error) {
    case 'invalid_grant':
      return invalidGrant(c);
    case 'unauthorized_client':
      return serviceAccount
        ? `Service account '${c.clientId}' may not act as '${c.subject}': domain-wide delegation is not granted; ${DELEGATION}.`
        : `OAuth client '${c.clientId}' may not use this refresh token: set OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET to the client that obtained OAUTH_REFRESH_TOKEN.`;
    case 'invalid_client':
      return serviceAccount
        ? `Google does not accept service account '${c.clientId}': check that GOOGLE_SERVICE_ACCOUNT_FILE is a current key of an existing service account.`
        : `Google does not accept OAuth client '${c.clientId}': check OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET (the secret may have been reset in the Google Cloud console).`;
    case 'access_denied':
    case 'admin_policy_enforced':
      return "The Workspace administrator's policy blocks this app: in the Admin console (Security, API controls, App access control) mark it trusted, or allow its access to Gmail.";
    case 'invalid_scope':
      return `Google refused the scope ${GOOGLE_MAIL_SCOPE}${serviceAccount ? `; ${DELEGATION}` : ': obtain the refresh token with that scope'}.`;
    default:
      return null;
  }
}
