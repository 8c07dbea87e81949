import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import * as client from 'openid-client';
import { importPKCS8, SignJWT } from 'jose';
import { GOOGLE_MAIL_SCOPE, MICROSOFT_MAIL_SCOPE, type OAuthCredential } from './credentials';
import { explainTokenFailure, type TokenEndpointFailure } from './explain';

/**
 * The provider edge of OAuth: one token request per call, through openid-client (panva's
 * OpenID-certified client, RFC 6749 and RFC 7523 alike for all three providers), not Microsoft's
 * own MSAL and Google's google-auth-library: google-auth-library signs its service-account
 * assertions for a fixed https://oauth2.googleapis.com/token (no sovereign or test authority)
 * and needs Node 22; one standards client keeps one error shape and one code path.
 */

export interface IssuedToken {
  accessToken: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/** The token endpoint refused or could not be reached; `reason` is in an operator's words. */
export class TokenRequestError extends Error {
  constructor(
    readonly code: string,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'TokenRequestError';
  }
}

/** Where the credential's token endpoint is. */
export function tokenUrlOf(credential: OAuthCredential): string {
  switch (credential.provider) {
    case 'microsoft':
      return `${credential.authorityUrl}/${encodeURIComponent(credential.tenantId)}/oauth2/v2.0/token`;
    case 'google':
      return `${credential.authorityUrl}/token`;
    case 'generic':
      return credential.tokenUrl;
  }
}

const ASSERTION_LIFETIME_S = 600;

/** A PEM private key (PKCS#8 or PKCS#1) as the WebCrypto key the JOSE libraries sign with. */
function signingKey(privateKeyPem: string): ReturnType<typeof importPKCS8> {
  const pkcs8 = createPrivateKey(privateKeyPem).export({ type: 'pkcs8', format: 'pem' }).toString();
  return importPKCS8(pkcs8, 'RS256');
}

/** Google's assertion for a service account acting as a Workspace user (RFC 7523, Google's profile). */
async function googleAssertion(grant: Extract<Extract<OAuthCredential, { provider: 'google' }>['grant'], { kind: 'service_account' }>, tokenUrl: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ scope: GOOGLE_MAIL_SCOPE })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(grant.privateKeyId ? { kid: grant.privateKeyId } : {}) })
    .setIssuer(grant.clientEmail)
    .setSubject(grant.subject)
    .setAudience(tokenUrl)
    .setIssuedAt(now)
    .setExpirationTime(now + ASSERTION_LIFETIME_S)
    .sign(await signingKey(grant.privateKeyPem));
}

/** Microsoft's certificate credential: a client assertion naming the certificate by its SHA-256 thumbprint. */
async function microsoftCertificateAuth(certificatePem: string, privateKeyPem: string, tokenUrl: string): Promise<client.ClientAuth> {
  const der = new X509Certificate(certificatePem).raw;
  const thumbprint = createHash('sha256').update(der).digest('base64url');
  return client.PrivateKeyJwt(
    await signingKey(privateKeyPem),
    {
      [client.modifyAssertion]: (header, payload) => {
        header['x5t#S256'] = thumbprint;
        // Microsoft asks for the token endpoint as the audience, not the issuer.
        payload.aud = tokenUrl;
      },
    },
  );
}

async function configurationFor(credential: OAuthCredential, tokenUrl: string, timeoutMs: number): Promise<client.Configuration> {
  const server: client.ServerMetadata = { issuer: new URL(tokenUrl).origin, token_endpoint: tokenUrl };
  let config: client.Configuration;
  switch (credential.provider) {
    case 'microsoft': {
      const proof = credential.proof;
      const auth = proof.kind === 'secret' ? client.ClientSecretPost(proof.clientSecret) : await microsoftCertificateAuth(proof.certificatePem, proof.privateKeyPem, tokenUrl);
      config = new client.Configuration(server, credential.clientId, undefined, auth);
      break;
    }
    case 'google': {
      const grant = credential.grant;
      config = grant.kind === 'refresh_token' ? new client.Configuration(server, grant.clientId, undefined, client.ClientSecretPost(grant.clientSecret)) : new client.Configuration(server, grant.clientEmail, undefined, client.None());
      break;
    }
    case 'generic':
      config = new client.Configuration(server, credential.clientId, undefined, client.ClientSecretPost(credential.clientSecret));
      break;
  }
  config.timeout = Math.max(1, Math.ceil(timeoutMs / 1000));
  return config;
}

async function grant(credential: OAuthCredential, config: client.Configuration, tokenUrl: string): Promise<client.TokenEndpointResponse> {
  switch (credential.provider) {
    case 'microsoft':
      return client.clientCredentialsGrant(config, { scope: MICROSOFT_MAIL_SCOPE });
    case 'google': {
      const g = credential.grant;
      if (g.kind === 'refresh_token') return client.refreshTokenGrant(config, g.refreshToken);
      return client.genericGrantRequest(config, 'urn:ietf:params:oauth:grant-type:jwt-bearer', { assertion: await googleAssertion(g, tokenUrl) });
    }
    case 'generic':
      return credential.refreshToken ? client.refreshTokenGrant(config, credential.refreshToken, { scope: credential.scope }) : client.clientCredentialsGrant(config, { scope: credential.scope });
  }
}

/** The network error's code, however deep the fetch implementation wrapped it. */
function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z_]+$/.test(code) && code !== 'OAUTH_RESPONSE_BODY_ERROR') return code;
    if ((e as { name?: unknown }).name === 'TimeoutError' || (e as { name?: unknown }).name === 'AbortError') return 'timeout';
  }
  return undefined;
}

function failureOf(credential: OAuthCredential, err: unknown): TokenEndpointFailure {
  if (err instanceof client.ResponseBodyError) return { provider: credential.provider, status: err.status, body: err.cause };
  const status = (err as { status?: unknown }).status;
  if (typeof status === 'number') return { provider: credential.provider, status, body: undefined };
  return { provider: credential.provider, status: null, network: networkCode(err) ?? 'unreachable' };
}

function namesOf(credential: OAuthCredential, tokenUrl: string): Parameters<typeof explainTokenFailure>[1] {
  switch (credential.provider) {
    case 'microsoft':
      return { tokenUrl, tenantId: credential.tenantId, clientId: credential.clientId };
    case 'google':
      return credential.grant.kind === 'service_account' ? { tokenUrl, clientId: credential.grant.clientEmail, subject: credential.grant.subject } : { tokenUrl, clientId: credential.grant.clientId };
    case 'generic':
      return { tokenUrl, clientId: credential.clientId };
  }
}

/** One access token for the credential, or a TokenRequestError saying what to fix. */
export async function requestToken(credential: OAuthCredential, { timeoutMs }: { timeoutMs: number }): Promise<IssuedToken> {
  const tokenUrl = tokenUrlOf(credential);
  const started = Date.now();
  try {
    const config = await configurationFor(credential, tokenUrl, timeoutMs);
    const answer = await grant(credential, config, tokenUrl);
    // A provider that names no lifetime gets a short one: better asked again than used expired.
    const lifetimeS = typeof answer.expires_in === 'number' && answer.expires_in > 0 ? answer.expires_in : 300;
    return { accessToken: answer.access_token, expiresAt: started + lifetimeS * 1000 };
  } catch (err) {
    const explained = explainTokenFailure(failureOf(credential, err), namesOf(credential, tokenUrl));
    throw new TokenRequestError(explained.code, explained.reason);
  }
}
