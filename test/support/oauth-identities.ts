/**
 * The registrations a real tenant or project would hold, made fresh for each harness: a
 * Microsoft Entra app (secret and certificate), a Google service account (its JSON key file)
 * and OAuth client, a generic provider's client. Identifiers follow each provider's shapes.
 */
import { generateKeyPair, randomBytes, randomInt, randomUUID, type KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { makeSelfSignedCertificate } from './tls';
import { EXCHANGE_ROLE, GMAIL_SCOPE, randomToken, type GenericClient, type GoogleAccounts, type MicrosoftApp } from './oauth-state';
import { GOOGLE_TOKEN_PATH } from './oauth-google';

const generateRsa = promisify(generateKeyPair);

export async function makeMicrosoftApp(users: Iterable<string>): Promise<MicrosoftApp> {
  const [certificate, signing] = await Promise.all([makeSelfSignedCertificate('case-intake mail app'), rsaKeyPair()]);
  return {
    tenantId: randomUUID(),
    tenantDomain: 'caseintakeharness.onmicrosoft.com',
    clientId: randomUUID(),
    servicePrincipalId: randomUUID(),
    displayName: 'case-intake mail',
    clientSecret: microsoftSecret(),
    secretExpired: false,
    certificatePem: certificate.certPem,
    privateKeyPem: certificate.keyPem,
    consent: true,
    roles: [EXCHANGE_ROLE.imap, EXCHANGE_ROLE.smtp],
    mailboxes: new Set(users),
    signingKey: signing.privateKey,
    signingPublicKey: signing.publicKey,
    signingKeyId: randomToken(20).slice(0, 27),
  };
}

export async function renewMicrosoftCertificate(app: MicrosoftApp): Promise<void> {
  const certificate = await makeSelfSignedCertificate('case-intake mail app');
  app.certificatePem = certificate.certPem;
  app.privateKeyPem = certificate.keyPem;
}

/** Client secrets as Entra shows them: three characters, "8Q~", then 34 more. */
export function microsoftSecret(): string {
  const chars = randomBytes(48).toString('base64').replace(/[^A-Za-z0-9]/g, '');
  return `${chars.slice(0, 3)}8Q~${chars.slice(3, 37)}`;
}

export async function makeGoogleAccounts(): Promise<GoogleAccounts> {
  const projectId = 'case-intake-harness';
  const key = await rsaKeyPair();
  return {
    projectId,
    clientEmail: `intake-mail@${projectId}.iam.gserviceaccount.com`,
    serviceAccountId: `1${digits(20)}`,
    privateKeyId: randomBytes(20).toString('hex'),
    privateKeyPem: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: key.publicKey,
    delegatedScopes: new Set([GMAIL_SCOPE]),
    oauthClientId: `${digits(12)}-${randomBytes(16).toString('hex')}.apps.googleusercontent.com`,
    oauthClientSecret: googleClientSecret(),
  };
}

/** A new key for the service account; the old key id stops working, as after deleting the key. */
export async function renewServiceAccountKey(account: GoogleAccounts): Promise<void> {
  const key = await rsaKeyPair();
  account.privateKeyId = randomBytes(20).toString('hex');
  account.privateKeyPem = key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  account.publicKey = key.publicKey;
}

export function googleClientSecret(): string {
  return `GOCSPX-${randomToken(21).slice(0, 28)}`;
}

/** The key file a Google Cloud console download gives, with every URL on the harness. */
export async function writeServiceAccountFile(file: string, account: GoogleAccounts, authorityUrl: string): Promise<void> {
  const json = {
    type: 'service_account',
    project_id: account.projectId,
    private_key_id: account.privateKeyId,
    private_key: account.privateKeyPem,
    client_email: account.clientEmail,
    client_id: account.serviceAccountId,
    auth_uri: `${authorityUrl}/o/oauth2/auth`,
    token_uri: `${authorityUrl}${GOOGLE_TOKEN_PATH}`,
    auth_provider_x509_cert_url: `${authorityUrl}/oauth2/v1/certs`,
    client_x509_cert_url: `${authorityUrl}/robot/v1/metadata/x509/${encodeURIComponent(account.clientEmail)}`,
    universe_domain: 'googleapis.com',
  };
  await writeFile(file, `${JSON.stringify(json, null, 2)}\n`, { mode: 0o600 });
}

export function makeGenericClient(): GenericClient {
  return { clientId: 'case-intake', clientSecret: randomToken(24), mailScope: 'mail', allowedScopes: ['mail', 'openid', 'profile', 'offline_access'] };
}

function rsaKeyPair(): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  return generateRsa('rsa', { modulusLength: 2048 });
}

function digits(n: number): string {
  return Array.from({ length: n }, () => String(randomInt(10))).join('');
}
