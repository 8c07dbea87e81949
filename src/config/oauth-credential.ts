import { isAbsolute, resolve } from 'node:path';
import { GOOGLE_AUTHORITY, MICROSOFT_AUTHORITY, type OAuthCredential, type OAuthProvider } from '../oauth/credentials';
import { readCertificatePair, readServiceAccountFile } from './credential-files';

/**
 * One OAuth credential's settings, as the OAUTH_* variables or a MAILBOXES_FILE entry give them
 * (the entry's fields are the variables' names in camelCase), checked by the same rules and read
 * into the credential the token client uses.
 */

export const OAUTH_FIELDS = ['provider', 'tenantId', 'clientId', 'clientSecret', 'clientCertFile', 'clientKeyFile', 'serviceAccountFile', 'refreshToken', 'tokenUrl', 'scope', 'authorityUrl'] as const;
export type OAuthField = (typeof OAUTH_FIELDS)[number];
/** Secrets already resolved (a MAILBOXES_FILE `{ "env": "NAME" }` replaced by the variable's value). */
export type OAuthSettings = Partial<Record<OAuthField, string>>;

export interface SettingsSource {
  /** How a problem names the field: `OAUTH_TENANT_ID`, `MAILBOXES_FILE[0].auth.tenantId`. */
  label(field: OAuthField): string;
  /** What relative file paths are relative to. */
  baseDir: string;
}

/** The credential for a login as `subject`: only a Google service account depends on it (it acts as that user). */
export type CredentialFor = (subject: string) => OAuthCredential;

const PROVIDERS: readonly OAuthProvider[] = ['microsoft', 'google', 'generic'];

/** The fields each provider reads; any other one given is a problem, so a misplaced setting is never silently dropped. */
const USED: Record<OAuthProvider, readonly OAuthField[]> = {
  microsoft: ['provider', 'tenantId', 'clientId', 'clientSecret', 'clientCertFile', 'clientKeyFile', 'authorityUrl'],
  google: ['provider', 'serviceAccountFile', 'refreshToken', 'clientId', 'clientSecret', 'authorityUrl'],
  generic: ['provider', 'tokenUrl', 'clientId', 'clientSecret', 'scope', 'refreshToken'],
};

/** An https URL without trailing slashes, or null after saying why. */
function httpsUrl(value: string, label: string, problems: string[]): string | null {
  let u: URL | null = null;
  try {
    u = new URL(value);
  } catch {
    // Reported below, like a URL of another scheme.
  }
  if (u?.protocol !== 'https:') {
    problems.push(`${label}: must be an https:// URL`);
    return null;
  }
  return value.replace(/\/+$/, '');
}

class Checker {
  readonly problems: string[] = [];
  constructor(
    private readonly s: OAuthSettings,
    readonly src: SettingsSource,
  ) {}

  label(field: OAuthField): string {
    return this.src.label(field);
  }

  /** The field's value, or '' after reporting it missing. */
  required(field: OAuthField, why: string): string {
    const value = this.s[field];
    if (!value) this.problems.push(`${this.label(field)}: required ${why}`);
    return value ?? '';
  }

  path(field: OAuthField): string {
    const value = this.s[field]!;
    return isAbsolute(value) ? value : resolve(this.src.baseDir, value);
  }
}

function microsoft(s: OAuthSettings, c: Checker): OAuthCredential | null {
  const tenantId = c.required('tenantId', 'with provider microsoft (the Directory (tenant) ID of the app registration)');
  const clientId = c.required('clientId', 'with provider microsoft (the Application (client) ID)');
  const authorityUrl = httpsUrl(s.authorityUrl ?? MICROSOFT_AUTHORITY, c.label('authorityUrl'), c.problems);
  const [secret, cert, key] = [s.clientSecret, s.clientCertFile, s.clientKeyFile];
  const pair = `${c.label('clientCertFile')} and ${c.label('clientKeyFile')}`;
  if (secret && (cert || key)) c.problems.push(`${c.label('clientSecret')}: give either a client secret or a certificate (${pair}), not both`);
  else if (cert && !key) c.problems.push(`${c.label('clientKeyFile')}: required with ${c.label('clientCertFile')} (the certificate's private key)`);
  else if (key && !cert) c.problems.push(`${c.label('clientCertFile')}: required with ${c.label('clientKeyFile')} (the certificate registered on the app)`);
  else if (!secret && !cert) c.problems.push(`${c.label('clientSecret')}: required with provider microsoft, or a certificate instead (${pair})`);
  // Read even when other settings are wrong, so a bad file is reported in the same start.
  const read = !secret && cert && key ? readCertificatePair({ path: c.path('clientCertFile'), label: c.label('clientCertFile') }, { path: c.path('clientKeyFile'), label: c.label('clientKeyFile') }, c.problems) : null;
  if (c.problems.length || !authorityUrl) return null;
  if (secret) return { provider: 'microsoft', authorityUrl, tenantId, clientId, proof: { kind: 'secret', clientSecret: secret } };
  return read && { provider: 'microsoft', authorityUrl, tenantId, clientId, proof: { kind: 'certificate', ...read } };
}

function google(s: OAuthSettings, c: Checker): CredentialFor | null {
  const authorityUrl = httpsUrl(s.authorityUrl ?? GOOGLE_AUTHORITY, c.label('authorityUrl'), c.problems);
  const [account, refreshToken] = [s.serviceAccountFile, s.refreshToken];
  if (account && refreshToken) {
    c.problems.push(`${c.label('serviceAccountFile')}: give either a service account or a refresh token (${c.label('refreshToken')}), not both`);
    return null;
  }
  if (refreshToken) {
    const clientId = c.required('clientId', `with ${c.label('refreshToken')} (the OAuth client that obtained it)`);
    const clientSecret = c.required('clientSecret', `with ${c.label('refreshToken')} (the OAuth client's secret)`);
    if (c.problems.length || !authorityUrl) return null;
    const credential: OAuthCredential = { provider: 'google', authorityUrl, grant: { kind: 'refresh_token', clientId, clientSecret, refreshToken } };
    return () => credential;
  }
  if (!account) {
    c.problems.push(`${c.label('serviceAccountFile')}: required with provider google, or a refresh token instead (${c.label('refreshToken')} with ${c.label('clientId')} and ${c.label('clientSecret')})`);
    return null;
  }
  for (const field of ['clientId', 'clientSecret'] as const) {
    if (s[field]) c.problems.push(`${c.label(field)}: not used with a service account (its key file names its client); remove it`);
  }
  const key = readServiceAccountFile(c.path('serviceAccountFile'), c.label('serviceAccountFile'), c.problems);
  if (c.problems.length || !authorityUrl || !key) return null;
  // One credential per user, so IMAP and SMTP logins of the same user share a token.
  const bySubject = new Map<string, OAuthCredential>();
  return (subject) => {
    let credential = bySubject.get(subject);
    if (!credential) bySubject.set(subject, (credential = { provider: 'google', authorityUrl, grant: { kind: 'service_account', ...key, subject } }));
    return credential;
  };
}

function generic(s: OAuthSettings, c: Checker): OAuthCredential | null {
  const tokenUrl = s.tokenUrl ? httpsUrl(s.tokenUrl, c.label('tokenUrl'), c.problems) : c.required('tokenUrl', 'with provider generic (the token endpoint)');
  const clientId = c.required('clientId', 'with provider generic');
  const clientSecret = c.required('clientSecret', 'with provider generic');
  const scope = c.required('scope', "with provider generic (the scope the mail server's tokens need)");
  if (c.problems.length || !tokenUrl) return null;
  return { provider: 'generic', tokenUrl, clientId, clientSecret, scope, refreshToken: s.refreshToken ?? null };
}

/**
 * Checks the settings for the provider they name and reads the files they point at. Every problem
 * goes to `problems`, one line each, named by `src.label`; null when there was any.
 */
export function readOAuthCredential(s: OAuthSettings, src: SettingsSource, problems: string[]): CredentialFor | null {
  const c = new Checker(s, src);
  const provider = s.provider as OAuthProvider | undefined;
  if (!provider || !PROVIDERS.includes(provider)) {
    problems.push(`${src.label('provider')}: ${provider ? 'must be microsoft, google or generic' : 'required (microsoft, google or generic)'}`);
    return null;
  }
  for (const field of OAUTH_FIELDS) {
    if (s[field] !== undefined && !USED[provider].includes(field)) c.problems.push(`${src.label(field)}: not used with provider ${provider}; remove it`);
  }
  let credentialFor: CredentialFor | null = null;
  if (provider === 'google') credentialFor = google(s, c);
  else {
    const credential = provider === 'microsoft' ? microsoft(s, c) : generic(s, c);
    credentialFor = credential && (() => credential);
  }
  problems.push(...c.problems);
  return c.problems.length ? null : credentialFor;
}
