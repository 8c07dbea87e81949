import { MICROSOFT_MAIL_SCOPE } from './credentials';
import { firstSentence } from './quotable';

/**
 * Microsoft identity platform refusals (AADSTS codes, sent in `error_codes` and at the start of
 * `error_description`) in an operator's words: what is wrong and which variable or which place
 * in the Entra admin center fixes it. Codes and texts from Microsoft's error reference
 * (https://login.microsoftonline.com/error?code=<n>) and the answers operators meet.
 */

export interface MicrosoftContext {
  tenant: string;
  clientId: string;
  description: string;
}

const q = (value: string) => `'${value}'`;

const MICROSOFT_REASONS: Record<number, (c: MicrosoftContext) => string> = {
  90002: (c) => `Microsoft does not know the tenant ${q(c.tenant)}: set OAUTH_TENANT_ID to the Directory (tenant) ID shown on the app registration's Overview page (or a domain of the tenant); a sovereign cloud also needs its OAUTH_AUTHORITY_URL.`,
  900023: (c) => `${q(c.tenant)} is not a tenant: OAUTH_TENANT_ID must be the Directory (tenant) ID, a GUID, or a domain of the tenant such as contoso.onmicrosoft.com.`,
  700016: (c) => `No app with client ID ${q(c.clientId)} is registered in tenant ${q(c.tenant)}: check OAUTH_CLIENT_ID (the Application (client) ID) and that OAUTH_TENANT_ID is the tenant the app is registered in.`,
  7000215: () => "The client secret is wrong: OAUTH_CLIENT_SECRET must be the secret's Value (shown once, when it was created), not its Secret ID; create a new secret if the Value is lost.",
  7000222: (c) => `The client secret of app ${q(c.clientId)} has expired: create a new one under Certificates & secrets and put its Value in OAUTH_CLIENT_SECRET.`,
  700027: (c) => `Microsoft does not accept the certificate: upload the certificate in OAUTH_CLIENT_CERT_FILE to app ${q(c.clientId)} (Certificates & secrets) and check that OAUTH_CLIENT_KEY_FILE is its key.`,
  700023: () => "Microsoft refused the certificate's signed assertion (its audience or lifetime): check this machine's clock, and that OAUTH_AUTHORITY_URL and OAUTH_TENANT_ID name the tenant's own token endpoint.",
  700024: () => "Microsoft refused the certificate's signed assertion as outside its valid time: this machine's clock is off; synchronize it (NTP).",
  70011: (c) => `Microsoft refused the scope ${MICROSOFT_MAIL_SCOPE} (${c.description}): check that OAUTH_AUTHORITY_URL is the cloud whose Exchange Online holds the mailboxes.`,
  1002012: (c) => `Microsoft refused the scope ${MICROSOFT_MAIL_SCOPE} (${c.description}): check that OAUTH_AUTHORITY_URL is the cloud whose Exchange Online holds the mailboxes.`,
  65001: (c) => `No administrator has consented to app ${q(c.clientId)}'s permissions: in the Entra admin center, under the app's API permissions, grant admin consent for Office 365 Exchange Online's IMAP.AccessAsApp and SMTP.SendAsApp.`,
  7000112: (c) => `App ${q(c.clientId)} is disabled in tenant ${q(c.tenant)}: an administrator must enable it again (Enterprise applications, the app's Properties, "Enabled for users to sign in").`,
  53003: (c) => `A Conditional Access policy of tenant ${q(c.tenant)} blocks tokens for app ${q(c.clientId)}: ask its administrator to exempt this app (a workload identity) or to allow this server's network location.`,
  500011: (c) => `Exchange Online is not in tenant ${q(c.tenant)} (it has no Office 365 Exchange Online service principal): check that OAUTH_TENANT_ID names the tenant that holds the mailboxes.`,
};

/** The AADSTS number of a Microsoft error body, from `error_codes` or the description. */
export function aadstsCode(body: { error_codes?: unknown; error_description?: unknown }): number | null {
  const codes = body.error_codes;
  if (Array.isArray(codes) && Number.isInteger(codes[0])) return codes[0] as number;
  const m = typeof body.error_description === 'string' ? /\bAADSTS(\d{4,8})\b/.exec(body.error_description) : null;
  return m ? Number(m[1]) : null;
}

export function explainAadsts(code: number, context: MicrosoftContext): string {
  const known = MICROSOFT_REASONS[code];
  if (known) return known({ ...context, description: firstSentence(context.description) });
  const said = firstSentence(context.description);
  return `Microsoft refused the token request (AADSTS${code})${said ? `: ${said}` : '.'}`;
}
