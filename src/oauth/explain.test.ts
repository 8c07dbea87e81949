import { explainTokenFailure, type FailureNames, type TokenEndpointFailure } from './explain';

/**
 * The token endpoints' answers as they send them: Microsoft's JSON (error, error_description
 * starting "AADSTSnnnn: " and ending in trace lines, error_codes, ...) with its HTTP statuses, and
 * Google's RFC 6749 errors with their descriptions. IDs below are made up.
 */

const TENANT = 'contoso.onmicrosoft.com';
const APP = '3706d681-d8a2-4996-b41a-2426890b46be';
const MS_NAMES = { tokenUrl: `https://login.microsoftonline.com/${TENANT}/oauth2/v2.0/token`, tenantId: TENANT, clientId: APP };
const SA = 'intake@case-intake.iam.gserviceaccount.com';
const SA_NAMES = { tokenUrl: 'https://oauth2.googleapis.com/token', clientId: SA, subject: 'help@fabrikam.com' };
const RT_NAMES = { tokenUrl: 'https://oauth2.googleapis.com/token', clientId: '1234-abc.apps.googleusercontent.com' };
const GENERIC_NAMES = { tokenUrl: 'https://sso.example.net/oauth2/token?tenant=intake', clientId: 'intake' };

function microsoft(status: number, error: string, code: number, text: string, extra: Record<string, unknown> = {}): TokenEndpointFailure {
  const trace = 'Trace ID: 6f6c4645-0202-4486-b625-fa957dfc4700\r\nCorrelation ID: 5fc87507-4086-4e77-b415-cee677eb232e\r\nTimestamp: 2025-05-06 06:03:00Z';
  return {
    provider: 'microsoft',
    status,
    body: { error, error_description: `AADSTS${code}: ${text}\r\n${trace}`, error_codes: [code], timestamp: '2025-05-06 06:03:00Z', trace_id: '6f6c4645-0202-4486-b625-fa957dfc4700', correlation_id: '5fc87507-4086-4e77-b415-cee677eb232e', error_uri: `https://login.microsoftonline.com/error?code=${code}`, ...extra },
  };
}

const google = (status: number, error: string, description?: string): TokenEndpointFailure => ({ provider: 'google', status, body: description === undefined ? { error } : { error, error_description: description } });

describe('explainTokenFailure: Microsoft', () => {
  const cases: Array<[string, TokenEndpointFailure, RegExp[]]> = [
    ['AADSTS90002', microsoft(400, 'invalid_request', 90002, `Tenant '${TENANT}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`), [/tenant 'contoso\.onmicrosoft\.com'/, /OAUTH_TENANT_ID/, /Directory \(tenant\) ID/]],
    ['AADSTS900023', microsoft(400, 'invalid_request', 900023, "Specified tenant identifier 'contoso tenant' is neither a valid DNS name, nor a valid external domain."), [/is not a tenant/, /OAUTH_TENANT_ID must be the Directory \(tenant\) ID/]],
    ['AADSTS700016', microsoft(400, 'unauthorized_client', 700016, `Application with identifier '${APP}' was not found in the directory 'Contoso'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`), [new RegExp(`client ID '${APP}'`), /OAUTH_CLIENT_ID/, /OAUTH_TENANT_ID/]],
    ['AADSTS7000215', microsoft(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${APP}'.`), [/OAUTH_CLIENT_SECRET must be the secret's Value/, /not its Secret ID/]],
    ['AADSTS7000222', microsoft(401, 'invalid_client', 7000222, `The provided client secret keys for app '${APP}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`), [/has expired/, /create a new one/, /OAUTH_CLIENT_SECRET/]],
    ['AADSTS700027', microsoft(401, 'invalid_client', 700027, `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '8BDEB513EAC11E9E9DA752EB9D5087F317F6D931', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${APP}'.]`), [/upload the certificate in OAUTH_CLIENT_CERT_FILE/, /OAUTH_CLIENT_KEY_FILE/]],
    ['AADSTS700023', microsoft(400, 'invalid_request', 700023, 'Client assertion audience claim does not match Realm issuer. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .'), [/assertion/, /clock/, /OAUTH_AUTHORITY_URL/]],
    ['AADSTS1002012', microsoft(400, 'invalid_scope', 1002012, 'The provided value for scope https://outlook.office365.com/IMAP.AccessAsApp is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).'), [/scope https:\/\/outlook\.office365\.com\/\.default/, /The provided value for scope https:\/\/outlook\.office365\.com\/IMAP\.AccessAsApp is not valid\./, /OAUTH_AUTHORITY_URL/]],
    ['AADSTS70011', microsoft(400, 'invalid_scope', 70011, "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid."), [/refused the scope/, /OAUTH_AUTHORITY_URL/]],
    ['AADSTS65001', microsoft(400, 'invalid_grant', 65001, `The user or administrator has not consented to use the application with ID '${APP}' named 'case-intake'. Send an interactive authorization request for this user and resource.`, { suberror: 'consent_required' }), [/grant admin consent/, /IMAP\.AccessAsApp and SMTP\.SendAsApp/]],
    ['AADSTS7000112', microsoft(400, 'unauthorized_client', 7000112, `Application '${APP}'(case-intake) is disabled.`), [/is disabled in tenant/, /enable it/]],
    ['AADSTS53003', microsoft(400, 'invalid_grant', 53003, 'Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.'), [/Conditional Access policy/, /exempt this app/]],
    ['AADSTS500011', microsoft(400, 'invalid_resource', 500011, "The resource principal named https://outlook.office365.com was not found in the tenant named Contoso. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."), [/Exchange Online is not in tenant/, /OAUTH_TENANT_ID/]],
  ];
  it.each(cases)('explains %s in an operator\'s words', (code, failure, words) => {
    const explained = explainTokenFailure(failure, MS_NAMES);
    expect(explained.code).toBe(code);
    for (const w of words) expect(explained.reason).toMatch(w);
    expect(explained.reason).not.toMatch(/Trace ID|Correlation ID/);
  });

  it('falls back to the code and the first sentence of an unknown AADSTS error', () => {
    const failure = microsoft(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'. Second sentence.");
    expect(explainTokenFailure(failure, MS_NAMES)).toEqual({ code: 'AADSTS7000218', reason: "Microsoft refused the token request (AADSTS7000218): The request body must contain the following parameter: 'client_assertion' or 'client_secret'." });
  });

  it('finds the code in the description when error_codes is missing (older endpoints)', () => {
    const failure: TokenEndpointFailure = { provider: 'microsoft', status: 401, body: { error: 'invalid_client', error_description: 'AADSTS7000222: The provided client secret keys are expired.\r\nTrace ID: x' } };
    expect(explainTokenFailure(failure, MS_NAMES).code).toBe('AADSTS7000222');
    // And in error_codes when the description does not say it.
    expect(explainTokenFailure({ provider: 'microsoft', status: 401, body: { error: 'invalid_client', error_codes: [7000215] } }, MS_NAMES).code).toBe('AADSTS7000215');
  });

  it('quotes a description without a full stop only up to Microsoft\'s trace lines', () => {
    const failure = microsoft(500, 'server_error', 50000, 'There was an error issuing a token or an issue with our sign-in service');
    expect(explainTokenFailure(failure, MS_NAMES).reason).toBe('Microsoft refused the token request (AADSTS50000): There was an error issuing a token or an issue with our sign-in service');
  });
});

describe('explainTokenFailure: Google', () => {
  it('tells the invalid_grant descriptions apart', () => {
    const reason = (description: string, names: FailureNames = SA_NAMES) => {
      const e = explainTokenFailure(google(400, 'invalid_grant', description), names);
      expect(e.code).toBe('invalid_grant');
      return e.reason;
    };
    expect(reason('Invalid JWT Signature.')).toMatch(/key in GOOGLE_SERVICE_ACCOUNT_FILE was deleted or replaced; create a new JSON key/);
    expect(reason('Invalid email or User ID')).toMatch(/user 'help@fabrikam\.com'.*must be an existing user of the Workspace domain/);
    expect(reason('Token has been expired or revoked.', RT_NAMES)).toMatch(/revoked the refresh token.*OAUTH_REFRESH_TOKEN/);
    expect(reason('Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.')).toMatch(/clock is off/);
    expect(reason('Invalid grant: account not found')).toMatch(/service account .* was deleted/);
    expect(reason('Bad Request')).toBe('Google refused the grant (invalid_grant): Bad Request');
  });

  it('says where domain-wide delegation is granted when the service account may not act as the user', () => {
    const e = explainTokenFailure(google(401, 'unauthorized_client', 'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.'), SA_NAMES);
    expect(e.code).toBe('unauthorized_client');
    expect(e.reason).toMatch(/domain-wide delegation is not granted.*Admin console.*Domain-wide delegation.*https:\/\/mail\.google\.com\//);
    expect(explainTokenFailure(google(401, 'unauthorized_client', 'Unauthorized'), RT_NAMES).reason).toMatch(/OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET to the client that obtained OAUTH_REFRESH_TOKEN/);
  });

  it('explains an unknown client, an administrator\'s policy and other RFC 6749 codes', () => {
    expect(explainTokenFailure(google(401, 'invalid_client', 'The OAuth client was not found.'), RT_NAMES)).toEqual({ code: 'invalid_client', reason: expect.stringMatching(/check OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET/) });
    expect(explainTokenFailure(google(401, 'invalid_client', 'Unauthorized'), SA_NAMES).reason).toMatch(/GOOGLE_SERVICE_ACCOUNT_FILE/);
    for (const error of ['access_denied', 'admin_policy_enforced']) expect(explainTokenFailure(google(400, error), RT_NAMES).reason).toMatch(/administrator's policy blocks this app/);
    expect(explainTokenFailure(google(400, 'invalid_request', 'Invalid grant_type: x'), SA_NAMES)).toEqual({ code: 'invalid_request', reason: expect.stringMatching(/refused the request as malformed \(Invalid grant_type: x\)/) });
  });
});

describe('explainTokenFailure: generic providers (RFC 6749 §5.2)', () => {
  const generic = (status: number, body?: unknown): TokenEndpointFailure => ({ provider: 'generic', status, body });
  it.each([
    ['invalid_client', /OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET/],
    ['invalid_grant', /OAUTH_REFRESH_TOKEN\) is invalid, expired or revoked/],
    ['unauthorized_client', /does not allow client OAUTH_CLIENT_ID this grant/],
    ['unsupported_grant_type', /does not support the grant/],
    ['invalid_scope', /refused OAUTH_SCOPE/],
    ['invalid_request', /malformed.*OAUTH_TOKEN_URL/],
  ])('explains %s', (error, words) => {
    const e = explainTokenFailure(generic(400, { error, error_description: 'As the provider words it.' }), GENERIC_NAMES);
    expect(e.code).toBe(error);
    expect(e.reason).toMatch(words);
    expect(e.reason).toContain('(As the provider words it.)');
    // The endpoint as configured, without its query.
    expect(e.reason).toMatch(/^https:\/\/sso\.example\.net\/oauth2\/token /);
  });

  it('quotes an unknown error code and explains answers without an OAuth error by their status', () => {
    expect(explainTokenFailure(generic(400, { error: 'slow_down' }), GENERIC_NAMES)).toEqual({ code: 'slow_down', reason: 'https://sso.example.net/oauth2/token refused the token request (slow_down).' });
    expect(explainTokenFailure(generic(404, '<html>Not Found</html>'), GENERIC_NAMES)).toEqual({ code: 'not_found', reason: expect.stringMatching(/not a token endpoint \(HTTP 404\): check OAUTH_TOKEN_URL/) });
    expect(explainTokenFailure({ provider: 'microsoft', status: 404 }, MS_NAMES).reason).toMatch(/check OAUTH_AUTHORITY_URL and OAUTH_TENANT_ID/);
    expect(explainTokenFailure(generic(503), GENERIC_NAMES).code).toBe('provider_unavailable');
    expect(explainTokenFailure(generic(429), GENERIC_NAMES).code).toBe('rate_limited');
    expect(explainTokenFailure(generic(401, { error: 'Not An OAuth Code!' }), GENERIC_NAMES).code).toBe('http_401');
  });
});

describe('explainTokenFailure: no answer', () => {
  const none = (network: string | undefined, provider: TokenEndpointFailure['provider'] = 'microsoft'): TokenEndpointFailure => ({ provider, status: null, network });
  it('names an unreachable endpoint and the variable that says where it is', () => {
    expect(explainTokenFailure(none('ECONNREFUSED'), MS_NAMES)).toEqual({ code: 'unreachable', reason: `https://login.microsoftonline.com/${TENANT}/oauth2/v2.0/token cannot be reached (ECONNREFUSED): check OAUTH_AUTHORITY_URL and that this server may connect to it (firewall, proxy).` });
    expect(explainTokenFailure(none('ECONNRESET', 'generic'), GENERIC_NAMES).reason).toMatch(/\(ECONNRESET\): check OAUTH_TOKEN_URL/);
    expect(explainTokenFailure(none('ENOTFOUND', 'google'), SA_NAMES)).toEqual({ code: 'unreachable', reason: expect.stringMatching(/cannot be resolved \(ENOTFOUND\): check OAUTH_AUTHORITY_URL and this server's DNS/) });
    expect(explainTokenFailure(none(undefined), MS_NAMES).reason).toMatch(/cannot be reached: check/);
    // Only code-shaped values are repeated.
    expect(explainTokenFailure(none('connect failed: secret=abc'), MS_NAMES).reason).not.toContain('secret');
  });

  it('tells a timeout and certificate problems apart, pointing at NODE_EXTRA_CA_CERTS for an untrusted CA', () => {
    expect(explainTokenFailure(none('timeout'), MS_NAMES).code).toBe('timeout');
    expect(explainTokenFailure(none('ETIMEDOUT'), MS_NAMES).code).toBe('timeout');
    for (const code of ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT']) {
      expect(explainTokenFailure(none(code), MS_NAMES)).toEqual({ code: 'untrusted_certificate', reason: expect.stringMatching(new RegExp(`not trusted here \\(${code}\\): .*add that CA's PEM file to NODE_EXTRA_CA_CERTS`)) });
    }
    expect(explainTokenFailure(none('CERT_HAS_EXPIRED'), MS_NAMES)).toEqual({ code: 'expired_certificate', reason: expect.stringMatching(/has expired \(or this machine's clock is wrong\)/) });
    expect(explainTokenFailure(none('ERR_TLS_CERT_ALTNAME_INVALID'), MS_NAMES).code).toBe('certificate_name_mismatch');
  });
});

describe('explainTokenFailure: what it quotes', () => {
  it('keeps a description short and cuts out anything shaped like a token', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL291dGxvb2sub2ZmaWNlMzY1LmNvbSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
    const failure: TokenEndpointFailure = { provider: 'generic', status: 400, body: { error: 'invalid_request', error_description: `Bad assertion ${jwt} with refresh_token=rt-Secret-123 and Bearer ya29.a0AfH6SMBx ${'and more words '.repeat(30)}` } };
    const { reason } = explainTokenFailure(failure, GENERIC_NAMES);
    for (const leaked of [jwt, 'rt-Secret-123', 'ya29.a0AfH6SMBx', 'eyJ']) expect(reason).not.toContain(leaked);
    const quoted = /\((.*)\)/.exec(reason)?.[1] ?? '';
    expect(quoted.length).toBeLessThanOrEqual(200);
    expect(quoted).toMatch(/^Bad assertion \[redacted\] with refresh_token=\[redacted\] and Bearer \[redacted\] and more words.*…$/);
  });
});
