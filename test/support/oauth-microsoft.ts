/**
 * A stand-in for the Microsoft identity platform v2 (login.microsoftonline.com) for app-only
 * Exchange Online access: the client-credentials grant with a client secret or a certificate
 * assertion, the tenant's OpenID configuration and signing keys, and Entra's error answers
 * (AADSTS codes, texts and HTTP statuses as Microsoft returns them).
 */
import { createPublicKey, randomUUID, X509Certificate } from 'node:crypto';
import { decodeJwt, signJwt, verifyJwtSignature, certificateThumbprints } from './jwt';
import type { JsonReply, TokenHttpRequest } from './oauth-http';
import { EXCHANGE_RESOURCE, JWT_CLIENT_ASSERTION, type ProviderState, type TokenRequestRecord } from './oauth-state';

const TOKEN_PATH = /^\/([^/]+)\/oauth2\/v2\.0\/token$/;
const CONFIGURATION_PATH = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/;
const KEYS_PATH = /^\/([^/]+)\/discovery\/v2\.0\/keys$/;
const CERT_CREDENTIALS_DOC = 'Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .';
/** Entra tolerates this much clock skew on an assertion's nbf. */
const NBF_SKEW_SECONDS = 300;

export function isMicrosoftTokenPath(path: string): boolean {
  return TOKEN_PATH.test(path);
}

/** The tenant's OpenID configuration and its signing keys (GET). */
export function isMicrosoftDiscoveryPath(path: string): boolean {
  return CONFIGURATION_PATH.test(path) || KEYS_PATH.test(path);
}

export function microsoftDiscovery(state: ProviderState, req: TokenHttpRequest): JsonReply {
  const tenant = (CONFIGURATION_PATH.exec(req.path) ?? KEYS_PATH.exec(req.path))![1]!;
  if (!knownTenant(state, tenant)) return tenantNotFound(state, req, tenant, 'invalid_tenant');
  const app = state.microsoft;
  if (KEYS_PATH.test(req.path)) {
    const jwk = app.signingPublicKey.export({ format: 'jwk' });
    return { status: 200, body: { keys: [{ kty: 'RSA', use: 'sig', kid: app.signingKeyId, x5t: app.signingKeyId, n: jwk.n, e: jwk.e, issuer: `${state.url}/${app.tenantId}/v2.0` }] } };
  }
  // Microsoft names the tenant by its id in the metadata even when it was asked by domain.
  const base = `${state.url}/${app.tenantId}`;
  return {
    status: 200,
    body: {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${base}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'cloud_instance_name', 'cloud_instance_host_name', 'cloud_graph_host_name', 'msgraph_host', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'at_hash', 'c_hash', 'email'],
      kerberos_endpoint: `${base}/kerberos`,
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
      rbac_url: 'https://pas.windows.net',
    },
  };
}

export function microsoftToken(state: ProviderState, req: TokenHttpRequest, record: TokenRequestRecord): JsonReply {
  const tenant = TOKEN_PATH.exec(req.path)![1]!;
  const app = state.microsoft;
  const form = req.form;
  const fail = (status: number, error: string, code: number, text: string, extra?: Record<string, unknown>) => aadError(state, req, status, error, code, text, extra);
  if (!knownTenant(state, tenant)) return tenantNotFound(state, req, tenant, 'invalid_request');

  const grantType = form.get('grant_type');
  if (!grantType) return missingParameter(fail, 'grant_type');
  if (grantType !== 'client_credentials') return fail(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grantType}'.`);

  const clientId = form.get('client_id') ?? req.basic?.clientId ?? null;
  if (!clientId) return missingParameter(fail, 'client_id');
  if (clientId !== app.clientId) {
    return fail(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${app.tenantDomain}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`);
  }

  const secret = form.get('client_secret') ?? req.basic?.clientSecret ?? null;
  const assertion = form.get('client_assertion');
  if (secret !== null && assertion !== null) {
    // Entra's exact answer to both is undocumented; RFC 6749 §2.3 forbids more than one method.
    return fail(400, 'invalid_request', 90023, "The request must carry one client credential, 'client_secret' or 'client_assertion', not both.");
  }
  if (secret === null && assertion === null) {
    return fail(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
  }
  if (secret !== null) {
    if (secret !== app.clientSecret) {
      return fail(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`);
    }
    if (app.secretExpired) {
      return fail(401, 'invalid_client', 7000222, `The provided client secret keys for app '${app.clientId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`);
    }
  } else {
    const refused = checkAssertion(state, req, record, tenant, fail);
    if (refused) return refused;
  }

  const scope = form.get('scope');
  if (!scope) return missingParameter(fail, 'scope');
  const scopes = scope.split(' ').filter(Boolean);
  if (scopes.length !== 1) {
    return fail(400, 'invalid_scope', 70011, `The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid.`);
  }
  if (!scope.endsWith('/.default')) {
    return fail(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
  }
  const resource = scope.slice(0, -'/.default'.length);
  if (resource !== EXCHANGE_RESOURCE) {
    return fail(400, 'invalid_resource', 500011, `The resource principal named ${resource} was not found in the tenant named ${app.tenantDomain}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`);
  }
  if (!app.consent) {
    return fail(400, 'invalid_grant', 65001, `The user or administrator has not consented to use the application with ID '${app.clientId}' named '${app.displayName}'. Send an interactive authorization request for this user and resource.`, { suberror: 'consent_required' });
  }

  const lifetime = state.tokens.lifetimeSeconds;
  const { token } = state.tokens.issue({ provider: 'microsoft', clientId, user: null, scopes: [scope], roles: [...app.roles] }, (issuedAt, expiresAt) =>
    accessTokenJwt(state, issuedAt, expiresAt, assertion === null ? '1' : '2'),
  );
  return { status: 200, body: { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: token } };
}

type Fail = (status: number, error: string, code: number, text: string, extra?: Record<string, unknown>) => JsonReply;

/** Checks a certificate assertion as Entra does; undefined when it passes. */
function checkAssertion(state: ProviderState, req: TokenHttpRequest, record: TokenRequestRecord, tenant: string, fail: Fail): JsonReply | undefined {
  const app = state.microsoft;
  const assertionType = req.form.get('client_assertion_type');
  if (!assertionType) return missingParameter(fail, 'client_assertion_type');
  if (assertionType !== JWT_CLIENT_ASSERTION) return fail(400, 'invalid_request', 90011, 'Unexpected client assertion type.');
  const jwt = decodeJwt(req.form.get('client_assertion')!);
  if (!jwt) return fail(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.');
  record.assertion = { header: jwt.header, claims: jwt.claims };

  const alg = jwt.header.alg;
  if (alg !== 'RS256' && alg !== 'PS256') {
    return fail(401, 'invalid_client', 5002738, `Invalid JWT token. '${String(alg)}' is not a supported signature algorithm. Supported signing algorithms are: 'RS256, RS384, RS512, PS256, PS384, PS512'`);
  }
  const sent = typeof jwt.header['x5t#S256'] === 'string' ? { kind: 'x5tS256' as const, value: jwt.header['x5t#S256'] } : typeof jwt.header.x5t === 'string' ? { kind: 'x5t' as const, value: jwt.header.x5t } : null;
  if (!sent) return fail(401, 'invalid_client', 50027, 'Invalid JWT token. No certificate thumbprint specified in token header.');
  const thumbprintHex = Buffer.from(sent.value, 'base64url').toString('hex').toUpperCase();
  const keysAt = `Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${app.clientId}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/${app.clientId}'`;
  if (certificateThumbprints(app.certificatePem)[sent.kind] !== sent.value) {
    return fail(401, 'invalid_client', 700027, `Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '${thumbprintHex}', ${keysAt}].`);
  }
  if (!verifyJwtSignature(jwt, createPublicKey(app.certificatePem))) {
    const cert = new X509Certificate(app.certificatePem);
    const found = `Found key 'Start=${entraDate(cert.validFrom)}, End=${entraDate(cert.validTo)}'`;
    return fail(401, 'invalid_client', 700027, `Client assertion contains an invalid signature. [Reason - Key was found, but use of the key to verify the signature failed., Thumbprint of key used by client: '${thumbprintHex}', ${found}, ${keysAt}].`);
  }
  const claims = jwt.claims;
  const audiences = [app.tenantId, app.tenantDomain, tenant].map((t) => `${state.url}/${t}/oauth2/v2.0/token`);
  if (typeof claims.aud !== 'string' || !audiences.includes(claims.aud)) {
    return fail(401, 'invalid_client', 700023, `Client assertion audience claim does not match Realm issuer. ${CERT_CREDENTIALS_DOC}`);
  }
  if (claims.iss !== app.clientId || claims.sub !== app.clientId) {
    return fail(401, 'invalid_client', 700021, `Client assertion application identifier doesn't match 'client_id' parameter. ${CERT_CREDENTIALS_DOC}`);
  }
  const now = Date.now() / 1000;
  const exp = typeof claims.exp === 'number' ? claims.exp : null;
  const nbf = typeof claims.nbf === 'number' ? claims.nbf : null;
  if (exp === null || exp <= now || (nbf !== null && nbf > now + NBF_SKEW_SECONDS)) {
    const iso = (s: number | null) => (s === null ? 'none' : new Date(s * 1000).toISOString());
    return fail(401, 'invalid_client', 700024, `Client assertion is not within its valid time range. Current time: ${iso(now)}, assertion valid from ${iso(nbf)}, expiry time of assertion ${iso(exp)}. ${CERT_CREDENTIALS_DOC}`);
  }
  // Entra requires a jti (its documented claims list it); the wording of this refusal is the harness's.
  if (typeof claims.jti !== 'string' || claims.jti === '') return fail(400, 'invalid_request', 50027, "JWT token is invalid or malformed. The 'jti' claim is required.");
  return undefined;
}

/** An app-only access token for Exchange Online, shaped like the v1 tokens Entra issues for it. */
function accessTokenJwt(state: ProviderState, issuedAt: number, expiresAt: number, appidacr: '1' | '2'): string {
  const app = state.microsoft;
  const iat = Math.floor(issuedAt / 1000);
  return signJwt(
    { alg: 'RS256', x5t: app.signingKeyId, kid: app.signingKeyId },
    {
      aud: EXCHANGE_RESOURCE,
      iss: `https://sts.windows.net/${app.tenantId}/`,
      iat,
      nbf: iat,
      exp: Math.floor(expiresAt / 1000),
      app_displayname: app.displayName,
      appid: app.clientId,
      appidacr,
      idp: `https://sts.windows.net/${app.tenantId}/`,
      oid: app.servicePrincipalId,
      roles: [...app.roles],
      sid: randomUUID(),
      sub: app.servicePrincipalId,
      tid: app.tenantId,
      uti: randomUUID().replace(/-/g, '').slice(0, 22),
      ver: '1.0',
    },
    app.signingKey,
  );
}

function knownTenant(state: ProviderState, tenant: string): boolean {
  const t = tenant.toLowerCase();
  return t === state.microsoft.tenantId.toLowerCase() || t === state.microsoft.tenantDomain.toLowerCase();
}

function tenantNotFound(state: ProviderState, req: TokenHttpRequest, tenant: string, error: string): JsonReply {
  return aadError(state, req, 400, error, 90002, `Tenant '${tenant}' not found. This may happen if there are no active subscriptions for the tenant. Check to make sure you have the correct tenant ID. Check with your subscription administrator.`);
}

function missingParameter(fail: Fail, name: string): JsonReply {
  return fail(400, 'invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`);
}

/** Entra's error body: the AADSTS code leads the description, followed by the trace lines. */
function aadError(state: ProviderState, req: TokenHttpRequest, status: number, error: string, code: number, text: string, extra: Record<string, unknown> = {}): JsonReply {
  const timestamp = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  const traceId = randomUUID();
  // Entra echoes a client-request-id as the correlation id.
  const requested = req.headers['client-request-id'];
  const correlationId = typeof requested === 'string' && requested ? requested : randomUUID();
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${text}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
      error_codes: [code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `${state.url}/error?code=${code}`,
      ...extra,
    },
  };
}

/** Certificate dates as Entra prints them: MM/DD/YYYY HH:MM:SS (UTC). */
function entraDate(text: string): string {
  const d = new Date(text);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())}/${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
}
