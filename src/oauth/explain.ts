import type { OAuthProvider } from './credentials';
import { explainGoogle } from './explain-google';
import { aadstsCode, explainAadsts } from './explain-microsoft';
import { explainServerRefusal, type ServerRefusal } from './explain-refusal';
import type { Explained } from './explained';
import { firstSentence } from './quotable';

/**
 * Why an OAuth login failed, in words an operator can act on: the token endpoint's refusal (or
 * silence), or the mail server's refusal of a token. Pure: no I/O, and no secret ever passes
 * through (a provider's description is quoted only cleaned of anything token-shaped).
 */

export interface TokenEndpointFailure {
  provider: OAuthProvider;
  /** The token endpoint's HTTP status; null when there was no answer. */
  status: number | null;
  /** Its JSON body as sent (RFC 6749 §5.2 error, error_description; Microsoft adds error_codes). */
  body?: unknown;
  /** No answer: the network error code (ECONNREFUSED, ENOTFOUND, ECONNRESET, 'timeout', or a TLS
   * code such as UNABLE_TO_VERIFY_LEAF_SIGNATURE, SELF_SIGNED_CERT_IN_CHAIN, CERT_HAS_EXPIRED). */
  network?: string;
}

export type { ServerRefusal };
export { explainServerRefusal };

export interface FailureNames {
  tokenUrl: string;
  tenantId?: string;
  clientId?: string;
  /** A Google service account's user to act as. */
  subject?: string;
}

const UNTRUSTED = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE']);
const TIMEOUTS = new Set(['timeout', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** The endpoint without query or fragment: what an operator compares with their settings. */
function endpoint(tokenUrl: string): string {
  try {
    const u = new URL(tokenUrl);
    return `${u.origin}${u.pathname}`;
  } catch {
    return 'the token endpoint';
  }
}

function urlVariable(provider: OAuthProvider): string {
  return provider === 'generic' ? 'OAUTH_TOKEN_URL' : 'OAUTH_AUTHORITY_URL';
}

function explainNetwork(f: TokenEndpointFailure, url: string): Explained {
  // Only a code-shaped value is repeated: the field comes from an error object.
  const code = f.network && /^[A-Za-z0-9_]{1,40}$/.test(f.network) ? f.network : 'unreachable';
  const where = urlVariable(f.provider);
  if (UNTRUSTED.has(code)) return { code: 'untrusted_certificate', reason: `The certificate of ${url} is not trusted here (${code}): if a proxy or a private CA signs it, add that CA's PEM file to NODE_EXTRA_CA_CERTS; else check ${where}.` };
  if (code === 'CERT_HAS_EXPIRED') return { code: 'expired_certificate', reason: `The certificate of ${url} has expired (or this machine's clock is wrong): check the clock, and ${where} if it points at a proxy.` };
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return { code: 'certificate_name_mismatch', reason: `The certificate of ${url} is for another host name: check ${where}.` };
  if (TIMEOUTS.has(code)) return { code: 'timeout', reason: `${url} did not answer in time: check that this server can reach it (firewall, proxy) and ${where}.` };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { code: 'unreachable', reason: `The host of ${url} cannot be resolved (${code}): check ${where} and this server's DNS.` };
  const named = code === 'unreachable' ? '' : ` (${code})`;
  return { code: 'unreachable', reason: `${url} cannot be reached${named}: check ${where} and that this server may connect to it (firewall, proxy).` };
}

/** RFC 6749 §5.2 codes, for any provider's answers the provider-specific words do not cover. */
function explainRfc(error: string, said: string, f: TokenEndpointFailure, url: string): string {
  const scope = f.provider === 'generic' ? 'OAUTH_SCOPE' : 'the scope';
  const quoted = said ? ` (${said})` : '';
  switch (error) {
    case 'invalid_client':
      return `${url} does not accept the client${quoted}: check OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET.`;
    case 'invalid_grant':
      return `${url} refused the grant${quoted}: the refresh token (OAUTH_REFRESH_TOKEN) is invalid, expired or revoked, or was issued to another client.`;
    case 'unauthorized_client':
      return `${url} does not allow client OAUTH_CLIENT_ID this grant${quoted}: enable the client credentials or refresh token grant for it at the provider.`;
    case 'unsupported_grant_type':
      return `${url} does not support the grant${quoted}: the provider must allow client credentials (or, with OAUTH_REFRESH_TOKEN, refresh tokens).`;
    case 'invalid_scope':
      return `${url} refused ${scope}${quoted}: check OAUTH_SCOPE against the scopes the mail server's tokens need.`;
    case 'invalid_request':
      return `${url} refused the request as malformed${quoted}: check ${urlVariable(f.provider)} is the provider's token endpoint.`;
    case 'access_denied':
      return `${url} denied access${quoted}: the provider's administrator must allow this client.`;
    default:
      return `${url} refused the token request (${error})${said ? `: ${said}` : '.'}`;
  }
}

function explainStatus(status: number, f: TokenEndpointFailure, url: string): Explained {
  if (status >= 500 || status === 429) return { code: status === 429 ? 'rate_limited' : 'provider_unavailable', reason: `${url} answered HTTP ${status}: the provider is failing or throttling; it usually passes, else see the provider's status page.` };
  if (status === 404) return { code: 'not_found', reason: `${url} is not a token endpoint (HTTP 404): check ${urlVariable(f.provider)}${f.provider === 'microsoft' ? ' and OAUTH_TENANT_ID' : ''}.` };
  return { code: `http_${status}`, reason: `${url} refused the token request with HTTP ${status} and no OAuth error: check ${urlVariable(f.provider)} is the provider's token endpoint.` };
}

export function explainTokenFailure(f: TokenEndpointFailure, names: FailureNames): Explained {
  const url = endpoint(names.tokenUrl);
  if (f.status === null) return explainNetwork(f, url);
  const body = (f.body && typeof f.body === 'object' ? f.body : {}) as Record<string, unknown>;
  const error = typeof body.error === 'string' && /^[a-z_]{1,60}$/.test(body.error) ? body.error : null;
  const description = typeof body.error_description === 'string' ? body.error_description : '';
  if (f.provider === 'microsoft') {
    const aadsts = aadstsCode(body);
    if (aadsts !== null) return { code: `AADSTS${aadsts}`, reason: explainAadsts(aadsts, { tenant: names.tenantId ?? '', clientId: names.clientId ?? '', description }) };
  }
  if (!error) return explainStatus(f.status, f, url);
  if (f.provider === 'google') {
    const reason = explainGoogle({ error, description, clientId: names.clientId ?? '', subject: names.subject });
    if (reason) return { code: error, reason };
  }
  return { code: error, reason: explainRfc(error, firstSentence(description), f, url) };
}

/** The claims of a JWT access token without verifying it (for diagnostics only), or null. */
export function tokenClaims(accessToken: string): Record<string, unknown> | null {
  const parts = accessToken.split('.');
  if (parts.length !== 3 || !parts[1]) return null;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return claims && typeof claims === 'object' && !Array.isArray(claims) ? (claims as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
