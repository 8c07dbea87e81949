/**
 * A plain RFC 6749 authorization server's token endpoint: client credentials (§4.4) and refresh
 * tokens (§6), the client authenticated by HTTP Basic or in the body (§2.3.1), errors as §5.2.
 */
import type { JsonReply, TokenHttpRequest } from './oauth-http';
import { randomToken, scopesOf, type ProviderState, type TokenRequestRecord } from './oauth-state';

export const GENERIC_TOKEN_PATH = '/generic/token';
const REALM = 'Basic realm="case-intake harness", charset="UTF-8"';

export function genericToken(state: ProviderState, req: TokenHttpRequest, record: TokenRequestRecord): JsonReply {
  const client = state.generic;
  const form = req.form;
  if (req.repeated.length > 0) return rfcError(400, 'invalid_request', `Parameters must not be repeated: ${req.repeated.join(', ')}.`);

  const bodySecret = form.get('client_secret');
  if (req.basic && bodySecret !== null) return rfcError(400, 'invalid_request', 'The client used more than one authentication method.');
  // §5.2: a client that tried the Authorization header gets 401 with a challenge.
  const challenge = req.basic || req.malformedAuthorization ? { 'www-authenticate': REALM } : undefined;
  const clientId = req.basic?.clientId ?? form.get('client_id');
  const clientSecret = req.basic?.clientSecret ?? bodySecret;
  record.clientId = clientId ?? null;
  if (req.malformedAuthorization) return rfcError(401, 'invalid_client', 'The Authorization header is not valid Basic credentials.', challenge);
  if (req.basic && form.has('client_id') && form.get('client_id') !== req.basic.clientId) {
    return rfcError(400, 'invalid_request', 'client_id in the body does not match the authenticated client.');
  }
  if (!clientId || clientSecret === null) return rfcError(401, 'invalid_client', 'Client authentication is required.', { 'www-authenticate': REALM });
  if (clientId !== client.clientId || clientSecret !== client.clientSecret) return rfcError(401, 'invalid_client', 'Client authentication failed.', challenge);

  const grantType = form.get('grant_type');
  if (!grantType) return rfcError(400, 'invalid_request', 'The grant_type parameter is missing.');
  const requested = scopesOf(form.get('scope'));
  const unknown = requested.filter((s) => !client.allowedScopes.includes(s));
  if (unknown.length > 0) return rfcError(400, 'invalid_scope', `Unknown scope: ${unknown.join(' ')}.`);

  if (grantType === 'client_credentials') {
    // This provider has no default scope, so the client must name what it wants (§3.3).
    if (requested.length === 0) return rfcError(400, 'invalid_scope', 'The scope parameter is required.');
    return issue(state, clientId, null, requested);
  }
  if (grantType === 'refresh_token') {
    const refreshToken = form.get('refresh_token');
    if (!refreshToken) return rfcError(400, 'invalid_request', 'The refresh_token parameter is missing.');
    const grant = state.refreshTokens.get(refreshToken);
    if (!grant || grant.revoked || grant.provider !== 'generic' || grant.clientId !== clientId) {
      return rfcError(400, 'invalid_grant', 'The refresh token is invalid, expired, revoked, or was issued to another client.');
    }
    record.user = grant.user;
    // §6: the scope may only narrow what the refresh token was granted.
    if (!requested.every((s) => grant.scopes.includes(s))) return rfcError(400, 'invalid_scope', 'The scope exceeds what the refresh token was granted.');
    return issue(state, clientId, grant.user, requested.length > 0 ? requested : grant.scopes);
  }
  return rfcError(400, 'unsupported_grant_type', `The grant type ${grantType} is not supported.`);
}

function issue(state: ProviderState, clientId: string, user: string | null, scopes: string[]): JsonReply {
  const { token } = state.tokens.issue({ provider: 'generic', clientId, user, scopes, roles: [] }, () => randomToken(32));
  return { status: 200, body: { access_token: token, token_type: 'Bearer', expires_in: state.tokens.lifetimeSeconds, scope: scopes.join(' ') } };
}

function rfcError(status: number, error: string, description: string, headers?: Record<string, string>): JsonReply {
  return { status, body: { error, error_description: description }, headers };
}
