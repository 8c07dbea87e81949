/**
 * What the OAuth harness's providers know: the registered clients, the switches a test turns, the
 * tokens issued, and the decision a mail server makes about a token. The endpoints (oauth-*.ts)
 * read and change it; nothing here speaks HTTP.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import type { ClientAuthentication } from './oauth-http';
import type { JwtClaims, JwtHeader } from './jwt';

export type ProviderName = 'microsoft' | 'google' | 'generic';
export type MailProtocol = 'imap' | 'smtp';

/** The values below are the providers' documented ones, kept apart from the client's own constants on purpose. */
export const EXCHANGE_RESOURCE = 'https://outlook.office365.com';
export const EXCHANGE_ROLE: Record<MailProtocol, string> = { imap: 'IMAP.AccessAsApp', smtp: 'SMTP.SendAsApp' };
export const GMAIL_SCOPE = 'https://mail.google.com/';
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const JWT_CLIENT_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** A token the harness issued. Emails are kept lower-case: mail servers compare them so. */
export interface IssuedToken {
  provider: ProviderName | 'harness';
  clientId: string;
  /** Whom the token acts for; null for app-only (Microsoft, generic client-credentials) tokens. */
  user: string | null;
  scopes: string[];
  /** Microsoft app roles carried by the token, fixed when it was issued. */
  roles: string[];
  issuedAt: number;
  expiresAt: number;
  revoked: boolean;
}

export interface MicrosoftApp {
  tenantId: string;
  /** The tenant's initial domain, also accepted in the URL path as Microsoft does. */
  tenantDomain: string;
  clientId: string;
  /** The app's service principal in the tenant: the oid and sub of its tokens. */
  servicePrincipalId: string;
  displayName: string;
  clientSecret: string;
  secretExpired: boolean;
  /** The certificate registered on the app, and its private key (what the client signs with). */
  certificatePem: string;
  privateKeyPem: string;
  /** Admin consent to the app's Exchange permissions. */
  consent: boolean;
  /** App roles granted, written into each new token. */
  roles: string[];
  /** Mailboxes the app may open (Add-MailboxPermission / Add-RecipientPermission). */
  mailboxes: Set<string>;
  /** Key and id of the key that signs access tokens (published at the jwks_uri). */
  signingKey: KeyObject;
  signingPublicKey: KeyObject;
  signingKeyId: string;
}

export interface GoogleAccounts {
  projectId: string;
  clientEmail: string;
  /** The service account's numeric unique id (the JSON's client_id, named in Admin console delegation). */
  serviceAccountId: string;
  privateKeyId: string;
  privateKeyPem: string;
  publicKey: KeyObject;
  /** Scopes granted to the service account by domain-wide delegation. */
  delegatedScopes: Set<string>;
  /** The OAuth client behind refresh tokens (a user consented once; the token stands for that user). */
  oauthClientId: string;
  oauthClientSecret: string;
}

export interface GenericClient {
  clientId: string;
  clientSecret: string;
  /** The scope the provider's mail servers require. */
  mailScope: string;
  /** Every scope the client may ask for. */
  allowedScopes: string[];
}

export interface RefreshGrant {
  provider: 'google' | 'generic';
  clientId: string;
  user: string;
  scopes: string[];
  revoked: boolean;
}

/** One token request as received, without any secret or assertion in it. */
export interface TokenRequestRecord {
  at: Date;
  provider: ProviderName;
  path: string;
  grantType: string | null;
  clientId: string | null;
  scope: string | null;
  clientAuth: ClientAuthentication;
  /** The decoded header and claims of a client assertion or JWT grant (the signature is not kept). */
  assertion: { header: JwtHeader; claims: JwtClaims } | null;
  /** Whom the token would act for: a JWT grant's sub, a refresh token's user. */
  user: string | null;
  status: number;
  error: string | null;
  errorDescription: string | null;
}

export class TokenStore {
  lifetimeSeconds = 3600;
  private readonly tokens = new Map<string, IssuedToken>();

  /** Records a token; `render` makes its text from the times (a JWT carries them). */
  issue(fields: Omit<IssuedToken, 'issuedAt' | 'expiresAt' | 'revoked'>, render: (issuedAt: number, expiresAt: number) => string, lifetimeSeconds = this.lifetimeSeconds): { token: string; record: IssuedToken } {
    const issuedAt = Date.now();
    const record: IssuedToken = { ...fields, issuedAt, expiresAt: issuedAt + lifetimeSeconds * 1000, revoked: false };
    const token = render(issuedAt, record.expiresAt);
    this.tokens.set(token, record);
    return { token, record };
  }

  /** The token's record while it is usable: issued here, not expired, not revoked. */
  active(token: string): IssuedToken | undefined {
    const record = this.tokens.get(token);
    if (!record || record.revoked || Date.now() >= record.expiresAt) return undefined;
    return record;
  }

  revokeAll(): void {
    for (const record of this.tokens.values()) record.revoked = true;
  }
}

export class ProviderState {
  /** The HTTPS authority, https://127.0.0.1:<port>; set once it listens. */
  url = '';
  readonly tokens = new TokenStore();
  readonly refreshTokens = new Map<string, RefreshGrant>();
  readonly requests: TokenRequestRecord[] = [];

  constructor(
    /** The mail domain's users (lower-case): whom Google can delegate to and generic tokens can serve. */
    readonly users: Set<string>,
    readonly microsoft: MicrosoftApp,
    readonly google: GoogleAccounts,
    readonly generic: GenericClient,
  ) {}

  /**
   * What the mail servers decide for a login as `user` over `protocol` with `token`: issued
   * here, not expired nor revoked, for the mail scope, and for this user. Microsoft app-only
   * tokens name no user, so the mailbox must be granted to the app, and the token must carry the
   * protocol's role.
   */
  validate(token: string, user: string, protocol: MailProtocol): boolean {
    const issued = this.tokens.active(token);
    if (!issued) return false;
    const mailbox = user.toLowerCase();
    switch (issued.provider) {
      case 'harness':
        return issued.user === mailbox;
      case 'microsoft':
        return issued.scopes.includes(`${EXCHANGE_RESOURCE}/.default`) && issued.roles.includes(EXCHANGE_ROLE[protocol]) && this.microsoft.mailboxes.has(mailbox);
      case 'google':
        return issued.user === mailbox && issued.scopes.includes(GMAIL_SCOPE);
      case 'generic':
        return issued.scopes.includes(this.generic.mailScope) && (issued.user === null ? this.users.has(mailbox) : issued.user === mailbox);
    }
  }

  setRefreshTokenRevoked(token: string, revoked: boolean): void {
    const grant = this.refreshTokens.get(token);
    if (!grant) throw new Error('not a refresh token this provider issued');
    grant.revoked = revoked;
  }

  issueRefreshToken(provider: 'google' | 'generic', user: string, scopes: string[]): string {
    const clientId = provider === 'google' ? this.google.oauthClientId : this.generic.clientId;
    // Google's refresh tokens start "1//"; the generic provider's are opaque.
    const token = (provider === 'google' ? '1//0' : '') + randomToken(48);
    this.refreshTokens.set(token, { provider, clientId, user: user.toLowerCase(), scopes, revoked: false });
    return token;
  }
}

export function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

export function scopesOf(scope: string | null): string[] {
  return (scope ?? '').split(' ').filter(Boolean);
}
