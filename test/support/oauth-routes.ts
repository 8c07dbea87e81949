/**
 * Which of the harness's providers answers a request to its HTTPS authority, and the record
 * every token request leaves in `requests` (its outcome filled in once answered).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientAuthentication, readTokenRequest, sendJson, type JsonReply } from './oauth-http';
import type { ProviderName, ProviderState, TokenRequestRecord } from './oauth-state';
import { isMicrosoftDiscoveryPath, isMicrosoftTokenPath, microsoftDiscovery, microsoftToken } from './oauth-microsoft';
import { GOOGLE_TOKEN_PATH, googleToken } from './oauth-google';
import { GENERIC_TOKEN_PATH, genericToken } from './oauth-generic';

export async function routeRequest(state: ProviderState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let parsed;
  try {
    parsed = await readTokenRequest(req);
  } catch {
    res.writeHead(413).end();
    return;
  }
  const { path: urlPath, method } = parsed;
  const provider = tokenEndpointOf(urlPath);
  if (provider === null) {
    if (method === 'GET' && isMicrosoftDiscoveryPath(urlPath)) return sendJson(res, microsoftDiscovery(state, parsed));
    return sendJson(res, { status: 404, body: { error: 'not_found', error_description: `No endpoint at ${urlPath}.` } });
  }
  const record: TokenRequestRecord = {
    at: new Date(),
    provider,
    path: urlPath,
    grantType: parsed.form.get('grant_type'),
    clientId: parsed.form.get('client_id') ?? parsed.basic?.clientId ?? null,
    scope: parsed.form.get('scope'),
    clientAuth: clientAuthentication(parsed),
    assertion: null,
    user: null,
    status: 0,
    error: null,
    errorDescription: null,
  };
  state.requests.push(record);
  let reply: JsonReply;
  try {
    if (method !== 'POST') reply = { status: 405, body: { error: 'invalid_request', error_description: 'The token endpoint takes POST only.' }, headers: { allow: 'POST' } };
    else if (provider === 'microsoft') reply = microsoftToken(state, parsed, record);
    else if (provider === 'google') reply = googleToken(state, parsed, record);
    else reply = genericToken(state, parsed, record);
  } catch (err) {
    reply = { status: 500, body: { error: 'server_error', error_description: `harness failure: ${(err as Error).message}` } };
  }
  record.status = reply.status;
  const body = reply.body as { error?: string; error_description?: string };
  record.error = body.error ?? null;
  record.errorDescription = body.error_description ?? null;
  sendJson(res, reply);
}

function tokenEndpointOf(path: string): ProviderName | null {
  if (path === GOOGLE_TOKEN_PATH) return 'google';
  if (path === GENERIC_TOKEN_PATH) return 'generic';
  return isMicrosoftTokenPath(path) ? 'microsoft' : null;
}
