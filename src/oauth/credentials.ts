/**
 * How a mailbox (or the outbound SMTP relay) proves who it is: a password, as in IMAP_URL and
 * SMTP_URL, or an OAuth 2.0 access token (SASL XOAUTH2 / OAUTHBEARER) obtained from one of the
 * credentials below. Read once at start by the config; secrets are held here, never logged.
 */

export type OAuthProvider = 'microsoft' | 'google' | 'generic';

/** Microsoft's scope for IMAP and SMTP with app-only (client credentials) tokens. */
export const MICROSOFT_MAIL_SCOPE = 'https://outlook.office365.com/.default';
/** Google's scope for IMAP and SMTP (Gmail's only scope that covers them). */
export const GOOGLE_MAIL_SCOPE = 'https://mail.google.com/';
export const MICROSOFT_AUTHORITY = 'https://login.microsoftonline.com';
export const GOOGLE_AUTHORITY = 'https://oauth2.googleapis.com';

export type OAuthCredential =
  | {
      provider: 'microsoft';
      /** OAUTH_AUTHORITY_URL or MICROSOFT_AUTHORITY, without a trailing slash. */
      authorityUrl: string;
      tenantId: string;
      clientId: string;
      /** A client secret, or a certificate registered on the app (its PEM and its private key's PEM). */
      proof: { kind: 'secret'; clientSecret: string } | { kind: 'certificate'; certificatePem: string; privateKeyPem: string };
    }
  | {
      provider: 'google';
      /** OAUTH_AUTHORITY_URL or GOOGLE_AUTHORITY, without a trailing slash; the token endpoint is `<authorityUrl>/token`. */
      authorityUrl: string;
      grant:
        | {
            /** A service account with domain-wide delegation, acting as `subject` (the mailbox's user). */
            kind: 'service_account';
            clientEmail: string;
            privateKeyPem: string;
            privateKeyId: string | null;
            subject: string;
          }
        | { kind: 'refresh_token'; clientId: string; clientSecret: string; refreshToken: string };
    }
  | {
      provider: 'generic';
      tokenUrl: string;
      clientId: string;
      clientSecret: string;
      scope: string;
      /** Set: the refresh-token grant; null: client credentials. */
      refreshToken: string | null;
    };

/** A mailbox's or the SMTP relay's login. */
export type MailAuth = { method: 'password'; user: string; password: string } | { method: 'oauth2'; user: string; credential: OAuthCredential };
