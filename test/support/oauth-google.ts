/**
 * A stand-in for Google's token endpoint (oauth2.googleapis.com/token) for Gmail: a service
 * account acting for a Workspace user through domain-wide delegation (RFC 7523 JWT grant), and
 * an OAuth client's refresh token. Errors carry Google's codes, texts and HTTP statuses.
 */
import { decodeJwt, verifyJwtSignature } from './jwt';
import type { JsonReply, TokenHttpRequest } from './oauth-http';
import { JWT_BEARER_GRANT, randomToken, scopesOf, type ProviderState, type TokenRequestRecord } from './oauth-state';

export const GOOGLE_TOKEN_PATH = '/token';
/** Google's limit on a service-account assertion: exp at most an hour after iat. */
const MAX_ASSERTION_SECONDS = 3600;
/** How far ahead of our clock an iat may be, as a clock-skew allowance. */
const IAT_SKEW_SECONDS = 60;

const DELEGATION_REFUSED = 'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.';
const SHORT_LIVED = 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.';
const REVOKED = 'Token has been expired or revoked.';
const BAD_SCOPE = 'Invalid OAuth scope or ID token audience provided.';

export function googleToken(state: ProviderState, req: TokenHttpRequest, record: TokenRequestRecord): JsonReply {
  const grantType = req.form.get('grant_type') ?? '';
  if (grantType === JWT_BEARER_GRANT) return serviceAccountGrant(state, req, record);
  if (grantType === 'refresh_token') return refreshTokenGrant(state, req, record);
  return googleError(400, 'unsupported_grant_type', `Invalid grant_type: ${grantType}`);
}

function serviceAccountGrant(state: ProviderState, req: TokenHttpRequest, record: TokenRequestRecord): JsonReply {
  const account = state.google;
  const assertion = req.form.get('assertion');
  if (!assertion) return googleError(400, 'invalid_request', 'Missing required parameter: assertion');
  const jwt = decodeJwt(assertion);
  if (!jwt) return googleError(400, 'invalid_grant', 'Bad Request');
  const claims = jwt.claims;
  record.assertion = { header: jwt.header, claims };
  record.clientId = typeof claims.iss === 'string' ? claims.iss : null;
  record.scope = typeof claims.scope === 'string' ? claims.scope : null;
  record.user = typeof claims.sub === 'string' ? claims.sub.toLowerCase() : null;

  if (claims.iss !== account.clientEmail) return googleError(400, 'invalid_grant', 'Invalid grant: account not found');
  // Without a kid Google tries the account's keys; a kid naming another (or a deleted) key fails.
  const kid = jwt.header.kid;
  const keyMatches = kid === undefined || kid === account.privateKeyId;
  if (jwt.header.alg !== 'RS256' || !keyMatches || !verifyJwtSignature(jwt, account.publicKey)) {
    return googleError(400, 'invalid_grant', 'Invalid JWT Signature.');
  }
  if (claims.aud !== `${state.url}${GOOGLE_TOKEN_PATH}`) return googleError(400, 'invalid_grant', 'Invalid JWT: Failed audience check.');
  const now = Date.now() / 1000;
  const { iat, exp } = claims;
  if (typeof iat !== 'number' || typeof exp !== 'number' || exp <= now || iat > now + IAT_SKEW_SECONDS || exp - iat > MAX_ASSERTION_SECONDS || exp <= iat) {
    return googleError(400, 'invalid_grant', SHORT_LIVED);
  }
  const scopes = scopesOf(record.scope);
  if (scopes.length === 0) return googleError(400, 'invalid_scope', BAD_SCOPE);

  let user: string | null = null;
  if (typeof claims.sub === 'string') {
    user = claims.sub.toLowerCase();
    if (!state.users.has(user)) return googleError(400, 'invalid_grant', 'Invalid email or User ID');
    // Delegation is granted per client and scope in the Admin console: every scope must be there.
    if (!scopes.every((s) => account.delegatedScopes.has(s))) return googleError(401, 'unauthorized_client', DELEGATION_REFUSED);
  }
  // Without sub the token is the service account's own, which opens no mailbox.
  return issue(state, account.serviceAccountId, user, scopes);
}

function refreshTokenGrant(state: ProviderState, req: TokenHttpRequest, record: TokenRequestRecord): JsonReply {
  const account = state.google;
  const clientId = req.basic?.clientId ?? req.form.get('client_id');
  const clientSecret = req.basic?.clientSecret ?? req.form.get('client_secret');
  record.clientId = clientId ?? null;
  if (!clientId) return googleError(400, 'invalid_request', 'Could not determine client ID from request.');
  if (clientId !== account.oauthClientId) return googleError(401, 'invalid_client', 'The OAuth client was not found.');
  if (!clientSecret) return googleError(400, 'invalid_request', 'client_secret is missing.');
  if (clientSecret !== account.oauthClientSecret) return googleError(401, 'invalid_client', 'Unauthorized');
  const refreshToken = req.form.get('refresh_token');
  if (!refreshToken) return googleError(400, 'invalid_request', 'Missing required parameter: refresh_token');
  const grant = state.refreshTokens.get(refreshToken);
  if (!grant || grant.revoked || grant.provider !== 'google' || grant.clientId !== clientId) return googleError(400, 'invalid_grant', REVOKED);
  record.user = grant.user;
  const requested = scopesOf(req.form.get('scope'));
  if (!requested.every((s) => grant.scopes.includes(s))) return googleError(400, 'invalid_scope', BAD_SCOPE);
  return issue(state, clientId, grant.user, requested.length > 0 ? requested : grant.scopes);
}

function issue(state: ProviderState, clientId: string, user: string | null, scopes: string[]): JsonReply {
  // Google's access tokens are opaque and start "ya29.".
  const { token } = state.tokens.issue({ provider: 'google', clientId, user, scopes, roles: [] }, () => `ya29.${randomToken(96)}`);
  return { status: 200, body: { access_token: token, expires_in: state.tokens.lifetimeSeconds, scope: scopes.join(' '), token_type: 'Bearer' } };
}

function googleError(status: number, error: string, description: string): JsonReply {
  return { status, body: { error, error_description: description } };
}
