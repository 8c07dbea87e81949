import { GOOGLE_MAIL_SCOPE, type OAuthProvider } from './credentials';
import type { Explained } from './explained';
import { quotable } from './quotable';

/**
 * The mail server refused a token the provider issued: what the token lacks, or what the mailbox
 * lacks. Microsoft's app-only tokens say in their `roles` which permission the app holds, so a
 * token with the role that is still refused means the mailbox is not granted to the app.
 */

export interface ServerRefusal {
  provider: OAuthProvider;
  protocol: 'imap' | 'smtp';
  user: string;
  /** The server's refusal text (IMAP tagged NO / SMTP 535 line). */
  response: string;
  /** The SASL error JSON the server sent before refusing, decoded (Gmail/Outlook: {status, schemes, scope}), if any. */
  saslError?: unknown;
  /** The access token's claims when it is a JWT (Microsoft's are), else null: roles say which permission is missing. */
  tokenClaims: Record<string, unknown> | null;
}

const ROLE = { imap: 'IMAP.AccessAsApp', smtp: 'SMTP.SendAsApp' } as const;

/** The SASL error's status and scope, when the server sent the usual JSON object. */
function saslStatus(saslError: unknown): { status: string | null; scope: string | null } {
  const o = (saslError && typeof saslError === 'object' ? saslError : {}) as Record<string, unknown>;
  const status = typeof o.status === 'string' || typeof o.status === 'number' ? quotable(String(o.status), 40) : null;
  const scope = typeof o.scope === 'string' && o.scope ? quotable(o.scope, 120) : null;
  return { status, scope };
}

function microsoft(r: ServerRefusal, said: string): Explained {
  const role = ROLE[r.protocol];
  if (r.protocol === 'smtp' && /5\.7\.139|SmtpClientAuthentication/i.test(r.response)) {
    return { code: 'smtp_auth_disabled', reason: `Exchange Online has SMTP AUTH disabled for ${r.user} or its tenant (${said}): enable it with Set-CASMailbox -Identity ${r.user} -SmtpClientAuthenticationDisabled $false, and in the tenant's settings if it is off there.` };
  }
  const claims = r.tokenClaims;
  if (!claims) {
    return { code: 'login_refused', reason: `Exchange Online refused the token for ${r.user} (${said}): the app needs ${role} with admin consent, and the mailbox must be granted to its service principal.` };
  }
  const id = typeof claims.appid === 'string' ? claims.appid : claims.azp;
  const app = typeof id === 'string' && id ? quotable(id, 60) : 'OAUTH_CLIENT_ID';
  const roles = Array.isArray(claims.roles) ? claims.roles : [];
  if (!roles.includes(role)) {
    return { code: 'missing_permission', reason: `The token of app ${app} lacks the ${role} permission, so Exchange Online refuses ${r.user}: add it under the app's API permissions (Office 365 Exchange Online, Application permissions) and grant admin consent.` };
  }
  const grant =
    r.protocol === 'imap'
      ? `Add-MailboxPermission -Identity ${r.user} -User <its service principal> -AccessRights FullAccess`
      : `Add-MailboxPermission -Identity ${r.user} -User <its service principal> -AccessRights FullAccess (or Add-RecipientPermission -Identity ${r.user} -Trustee <its service principal> -AccessRights SendAs)`;
  return {
    code: 'mailbox_not_granted',
    reason: `App ${app} holds ${role}, but mailbox ${r.user} is not granted to its service principal: in Exchange Online PowerShell register it once (New-ServicePrincipal -AppId ${app} -ObjectId <the Enterprise application's Object ID>), then ${grant}.`,
  };
}

function google(r: ServerRefusal, said: string): Explained {
  const { status } = saslStatus(r.saslError);
  if (status === '400' || status === 'insufficient_scope') {
    return { code: 'insufficient_scope', reason: `Gmail refused the token for ${r.user} as not covering ${GOOGLE_MAIL_SCOPE} for this user: grant the service account domain-wide delegation of ${GOOGLE_MAIL_SCOPE} in the Admin console (or obtain the refresh token with that scope), and check the URL's user is the token's.` };
  }
  if (status === '401' || status === 'invalid_token') {
    return { code: 'invalid_token', reason: `Gmail refused even a fresh access token for ${r.user} as invalid: the user in the URL must be the user the token is for (the service account's subject, or the refresh token's account).` };
  }
  return { code: 'login_refused', reason: `Gmail refused the OAuth login for ${r.user} (${said}): check domain-wide delegation of ${GOOGLE_MAIL_SCOPE} and that the URL's user is the token's.` };
}

function generic(r: ServerRefusal, said: string): Explained {
  const { status, scope } = saslStatus(r.saslError);
  const code = status && /^[a-z_]{1,40}$/.test(status) ? status : 'login_refused';
  const sasl = status ? ` (SASL status ${status}${scope ? `, scope ${scope}` : ''})` : '';
  return { code, reason: `The mail server refused the OAuth login for ${r.user}: ${said}${sasl}; check that OAUTH_SCOPE covers ${r.protocol.toUpperCase()} and that the URL's user is the token's.` };
}

export function explainServerRefusal(r: ServerRefusal): Explained {
  const said = quotable(r.response) || 'no reason given';
  switch (r.provider) {
    case 'microsoft':
      return microsoft(r, said);
    case 'google':
      return google(r, said);
    case 'generic':
      return generic(r, said);
  }
}
