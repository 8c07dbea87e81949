import type { OAuthCredential } from '../oauth/credentials';
import { parseImapUrl, urlLogin, type ImapTarget } from './imap-target';
import { readMailboxesFile } from './mailboxes-file';
import { OAUTH_FIELDS, readOAuthCredential, type CredentialFor, type OAuthField, type OAuthSettings } from './oauth-credential';

/**
 * How the mailboxes and the SMTP relay log in: IMAP_AUTH and SMTP_AUTH (`password`, the default,
 * or `oauth2`), one OAuth credential from the OAUTH_* variables for both, or MAILBOXES_FILE with
 * a login per mailbox (see mailboxes-file.ts). Read once at start with the rest of the config;
 * its problems are listed with the schema's.
 */

export interface MailAuthConfig {
  /** Every mailbox to watch, from IMAP_URL or MAILBOXES_FILE. */
  mailboxes: ImapTarget[];
  /** SMTP_AUTH=oauth2: the user SMTP_URL names and the credential it logs in with; null for a password (or no) login. */
  smtpOAuth: { user: string; credential: OAuthCredential } | null;
}

/** The OAuth settings' variables; camelCase in MAILBOXES_FILE. */
export const OAUTH_VARIABLES: Record<OAuthField, string> = {
  provider: 'OAUTH_PROVIDER',
  tenantId: 'OAUTH_TENANT_ID',
  clientId: 'OAUTH_CLIENT_ID',
  clientSecret: 'OAUTH_CLIENT_SECRET',
  clientCertFile: 'OAUTH_CLIENT_CERT_FILE',
  clientKeyFile: 'OAUTH_CLIENT_KEY_FILE',
  serviceAccountFile: 'GOOGLE_SERVICE_ACCOUNT_FILE',
  refreshToken: 'OAUTH_REFRESH_TOKEN',
  tokenUrl: 'OAUTH_TOKEN_URL',
  scope: 'OAUTH_SCOPE',
  authorityUrl: 'OAUTH_AUTHORITY_URL',
};

type Method = 'password' | 'oauth2';

/** An unset or blank variable is absent (compose files pass `VAR=` for unset ones). */
function setting(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function method(env: NodeJS.ProcessEnv, name: string, problems: string[]): Method {
  const value = setting(env, name) ?? 'password';
  if (value === 'password' || value === 'oauth2') return value;
  problems.push(`${name}: must be password or oauth2`);
  return 'password';
}

/** A URL's user, when it names one and no password, as an OAuth login requires; null after saying what is wrong. */
function oauthUser(u: URL, label: string, example: string, problems: string[]): string | null {
  const { user, password } = urlLogin(u);
  if (password) problems.push(`${label}: names a password, which an oauth2 login does not use; give only the user (${example})`);
  if (!user) problems.push(`${label}: must name the user to log in as with oauth2 (${example})`);
  return user && !password ? user : null;
}

function parsedUrl(value: string, protocols: string[]): URL | null {
  try {
    const u = new URL(value);
    return protocols.includes(u.protocol) ? u : null;
  } catch {
    return null;
  }
}

function imapUrlTargets(imapUrls: string[], imapAuth: Method, credentialFor: CredentialFor | null, problems: string[]): ImapTarget[] {
  const targets: ImapTarget[] = [];
  for (const value of imapUrls) {
    // One the schema refuses is reported there.
    const u = parsedUrl(value, ['imap:', 'imaps:']);
    if (!u) continue;
    const target = parseImapUrl(value);
    if (imapAuth === 'password') {
      targets.push(target);
      continue;
    }
    const user = oauthUser(u, `IMAP_URL (${target.id})`, 'imaps://support%40contoso.com@outlook.office365.com/INBOX', problems);
    if (user && credentialFor) targets.push({ ...target, auth: { method: 'oauth2', user, credential: credentialFor(user) } });
  }
  return targets;
}

/**
 * Reads the logins from the environment; `urls` are IMAP_URL's list and SMTP_URL as the schema
 * reads them (with their defaults). Every problem is returned, none holding a secret's value.
 */
export function readMailAuth(env: NodeJS.ProcessEnv, urls: { imap: string[]; smtp: string }): { problems: string[]; config: MailAuthConfig } {
  const problems: string[] = [];
  const imapAuth = method(env, 'IMAP_AUTH', problems);
  const smtpAuth = method(env, 'SMTP_AUTH', problems);
  const mailboxesFile = setting(env, 'MAILBOXES_FILE');
  if (mailboxesFile && setting(env, 'IMAP_URL')) problems.push('IMAP_URL: not used with MAILBOXES_FILE, which lists the mailboxes; set only one of them');
  if (mailboxesFile && setting(env, 'IMAP_AUTH')) problems.push("IMAP_AUTH: not used with MAILBOXES_FILE, where each entry has its own auth; remove it");

  const oauthSettings: OAuthSettings = {};
  for (const field of OAUTH_FIELDS) {
    const value = setting(env, OAUTH_VARIABLES[field]);
    if (value !== undefined) oauthSettings[field] = value;
  }
  const envOAuthUsed = smtpAuth === 'oauth2' || (imapAuth === 'oauth2' && !mailboxesFile);
  let credentialFor: CredentialFor | null = null;
  if (envOAuthUsed) credentialFor = readOAuthCredential(oauthSettings, { label: (field) => OAUTH_VARIABLES[field], baseDir: process.cwd() }, problems);
  else {
    const why = mailboxesFile ? 'SMTP_AUTH is not oauth2, and MAILBOXES_FILE entries carry their own auth' : 'neither IMAP_AUTH nor SMTP_AUTH is oauth2';
    for (const field of OAUTH_FIELDS) {
      if (oauthSettings[field] !== undefined) problems.push(`${OAUTH_VARIABLES[field]}: not used, as ${why}; remove it or set the oauth2 login that needs it`);
    }
  }

  const mailboxes = mailboxesFile ? readMailboxesFile(mailboxesFile, env, problems) : imapUrlTargets(urls.imap, imapAuth, credentialFor, problems);

  let smtpOAuth: MailAuthConfig['smtpOAuth'] = null;
  const smtp = smtpAuth === 'oauth2' ? parsedUrl(urls.smtp, ['smtp:', 'smtps:']) : null;
  if (smtp) {
    const user = oauthUser(smtp, 'SMTP_URL', 'smtp://support%40contoso.com@smtp.office365.com:587', problems);
    if (user && credentialFor) smtpOAuth = { user, credential: credentialFor(user) };
  }
  return { problems, config: { mailboxes, smtpOAuth } };
}
