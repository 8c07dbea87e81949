import { createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { certificateThumbprints, decodeJwt, signJwt, verifyJwtSignature, type JwtAlgorithm } from './jwt';
import { httpsRequest, postForm, type HttpsAnswer } from './https-form';
import { startOAuthProvider, type OAuthProvider } from './oauth-provider';

const USER = 'intake@example.test';
const OTHER = 'other@example.test';
const SCOPE = 'https://outlook.office365.com/.default';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

describe('OAuth harness: Microsoft identity platform', () => {
  let p: OAuthProvider;
  beforeAll(async () => {
    p = await startOAuthProvider({ users: [USER, OTHER] });
  });
  afterAll(() => p?.stop());

  /** A client assertion as MSAL builds one; `claims`/`header` entries set to undefined are left out. */
  function assertion(opts: { header?: Record<string, unknown>; claims?: Record<string, unknown>; key?: string; alg?: JwtAlgorithm } = {}): string {
    const now = Math.floor(Date.now() / 1000);
    const { x5tS256 } = certificateThumbprints(p.microsoft.certificatePem);
    return signJwt(
      { alg: opts.alg ?? 'RS256', 'x5t#S256': x5tS256, ...opts.header },
      { aud: p.microsoft.tokenUrl, iss: p.microsoft.clientId, sub: p.microsoft.clientId, jti: randomUUID(), nbf: now, exp: now + 600, ...opts.claims },
      opts.key ?? p.microsoft.privateKeyPem,
    );
  }
  const withSecret = (extra: Record<string, string> = {}) => ({ grant_type: 'client_credentials', client_id: p.microsoft.clientId, client_secret: p.microsoft.clientSecret, scope: SCOPE, ...extra });
  const withAssertion = (jwt: string, extra: Record<string, string> = {}) => ({ grant_type: 'client_credentials', client_id: p.microsoft.clientId, client_assertion_type: ASSERTION_TYPE, client_assertion: jwt, scope: SCOPE, ...extra });
  const token = (form: Record<string, string>, url = p.microsoft.tokenUrl) => postForm(url, p.tls.caPem, form);

  function expectAadError(answer: HttpsAnswer, status: number, error: string, code: number): void {
    expect({ status: answer.status, error: answer.json.error, codes: answer.json.error_codes }).toEqual({ status, error, codes: [code] });
    expect(answer.json.error_description).toMatch(new RegExp(`^AADSTS${code}: .+\\r\\nTrace ID: [0-9a-f-]{36}\\r\\nCorrelation ID: [0-9a-f-]{36}\\r\\nTimestamp: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ$`, 's'));
    expect(answer.json.timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
    expect(answer.json.trace_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(answer.json.error_uri).toBe(`${p.url}/error?code=${code}`);
    expect(p.requests.at(-1)).toMatchObject({ provider: 'microsoft', status, error });
  }

  it('serves the tenant OpenID configuration by id or domain, and refuses an unknown tenant', async () => {
    const byId = await httpsRequest(p.microsoft.openidConfigurationUrl, { ca: p.tls.caPem });
    expect(byId.status).toBe(200);
    expect(byId.json).toMatchObject({ issuer: `${p.url}/${p.microsoft.tenantId}/v2.0`, token_endpoint: p.microsoft.tokenUrl, jwks_uri: `${p.url}/${p.microsoft.tenantId}/discovery/v2.0/keys` });
    const byDomain = await httpsRequest(`${p.url}/${p.microsoft.tenantDomain}/v2.0/.well-known/openid-configuration`, { ca: p.tls.caPem });
    expect(byDomain.json.issuer).toBe(byId.json.issuer);
    const unknown = await httpsRequest(`${p.url}/${randomUUID()}/v2.0/.well-known/openid-configuration`, { ca: p.tls.caPem });
    expect({ status: unknown.status, error: unknown.json.error, codes: unknown.json.error_codes }).toEqual({ status: 400, error: 'invalid_tenant', codes: [90002] });
  });

  it('issues an Exchange app-only JWT for the client secret, recording the request without the secret', async () => {
    const answer = await token(withSecret());
    expect(answer.status).toBe(200);
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.json).toMatchObject({ token_type: 'Bearer', expires_in: 3600, ext_expires_in: 3600 });
    const jwt = decodeJwt(String(answer.json.access_token))!;
    expect(jwt.claims).toMatchObject({ aud: 'https://outlook.office365.com', tid: p.microsoft.tenantId, appid: p.microsoft.clientId, appidacr: '1', roles: ['IMAP.AccessAsApp', 'SMTP.SendAsApp'] });
    expect(Number(jwt.claims.exp) - Date.now() / 1000).toBeGreaterThan(3590);
    const keys = await httpsRequest(`${p.url}/${p.microsoft.tenantId}/discovery/v2.0/keys`, { ca: p.tls.caPem });
    const jwk = (keys.json.keys as Array<Record<string, string>>).find((k) => k.kid === jwt.header.kid)!;
    expect(verifyJwtSignature(jwt, createPublicKey({ key: jwk, format: 'jwk' }))).toBe(true);

    expect(p.requests.at(-1)).toMatchObject({ provider: 'microsoft', grantType: 'client_credentials', clientId: p.microsoft.clientId, scope: SCOPE, clientAuth: 'secret_post', status: 200, error: null });
    expect(JSON.stringify(p.requests)).not.toContain(p.microsoft.clientSecret);
    expect(p.validate(String(answer.json.access_token), USER, 'imap')).toBe(true);
    expect(p.validate(String(answer.json.access_token), USER, 'smtp')).toBe(true);
  });

  it('takes the secret by HTTP Basic too', async () => {
    const answer = await postForm(p.microsoft.tokenUrl, p.tls.caPem, { grant_type: 'client_credentials', scope: SCOPE }, { user: p.microsoft.clientId, password: p.microsoft.clientSecret });
    expect(answer.status).toBe(200);
    expect(p.requests.at(-1)).toMatchObject({ clientAuth: 'secret_basic', clientId: p.microsoft.clientId, status: 200 });
  });

  it.each<[string, JwtAlgorithm, 'x5t' | 'x5t#S256']>([
    ['RS256 with x5t#S256', 'RS256', 'x5t#S256'],
    ['PS256 with x5t', 'PS256', 'x5t'],
  ])('issues a token for a certificate assertion (%s), recording its header and claims', async (_name, alg, thumbprint) => {
    const { x5t, x5tS256 } = certificateThumbprints(p.microsoft.certificatePem);
    const header = thumbprint === 'x5t' ? { x5t, 'x5t#S256': undefined } : { 'x5t#S256': x5tS256 };
    const answer = await token(withAssertion(assertion({ alg, header })));
    expect(answer.status).toBe(200);
    expect(decodeJwt(String(answer.json.access_token))!.claims.appidacr).toBe('2');
    const recorded = p.requests.at(-1)!;
    expect(recorded).toMatchObject({ clientAuth: 'assertion', status: 200, assertion: { header: { alg, [thumbprint]: thumbprint === 'x5t' ? x5t : x5tS256 }, claims: { aud: p.microsoft.tokenUrl, iss: p.microsoft.clientId, sub: p.microsoft.clientId } } });
    expect(JSON.stringify(recorded)).not.toContain(p.microsoft.privateKeyPem.split('\n')[1]);
  });

  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  it.each<[string, () => Record<string, string>, () => string | undefined, number, string, number]>([
    ['an unknown tenant', () => withSecret(), () => `${p.url}/${randomUUID()}/oauth2/v2.0/token`, 400, 'invalid_request', 90002],
    ['an unknown client id', () => withSecret({ client_id: randomUUID() }), () => undefined, 400, 'unauthorized_client', 700016],
    ['a wrong secret', () => withSecret({ client_secret: 'not-the-secret' }), () => undefined, 401, 'invalid_client', 7000215],
    ['no credential at all', () => ({ grant_type: 'client_credentials', client_id: p.microsoft.clientId, scope: SCOPE }), () => undefined, 401, 'invalid_client', 7000218],
    ['an assertion signed with another key', () => withAssertion(assertion({ key: otherKey })), () => undefined, 401, 'invalid_client', 700027],
    ['an assertion naming an unregistered certificate', () => withAssertion(assertion({ header: { 'x5t#S256': Buffer.alloc(32, 7).toString('base64url') } })), () => undefined, 401, 'invalid_client', 700027],
    ['an assertion for another audience', () => withAssertion(assertion({ claims: { aud: `${p.url}/common/oauth2/v2.0/token` } })), () => undefined, 401, 'invalid_client', 700023],
    ['an assertion from another issuer', () => withAssertion(assertion({ claims: { iss: randomUUID() } })), () => undefined, 401, 'invalid_client', 700021],
    ['an expired assertion', () => withAssertion(assertion({ claims: { exp: Math.floor(Date.now() / 1000) - 5 } })), () => undefined, 401, 'invalid_client', 700024],
    ['an assertion without jti', () => withAssertion(assertion({ claims: { jti: undefined } })), () => undefined, 400, 'invalid_request', 50027],
    ['a scope without /.default', () => withSecret({ scope: 'https://outlook.office365.com/IMAP.AccessAsUser.All' }), () => undefined, 400, 'invalid_scope', 1002012],
    ['another resource', () => withSecret({ scope: 'https://graph.microsoft.com/.default' }), () => undefined, 400, 'invalid_resource', 500011],
    ['another grant type', () => withSecret({ grant_type: 'password' }), () => undefined, 400, 'unsupported_grant_type', 70003],
  ])('refuses %s as Entra does', async (_name, form, url, status, error, code) => {
    expectAadError(await token(form(), url()), status, error, code);
  });

  it('says which part of the assertion failed: an unknown key versus a failed signature', async () => {
    const unknownKey = await token(withAssertion(assertion({ header: { 'x5t#S256': Buffer.alloc(32, 7).toString('base64url') } })));
    expect(unknownKey.json.error_description).toContain('[Reason - The key was not found.');
    const badSignature = await token(withAssertion(assertion({ key: otherKey })));
    expect(badSignature.json.error_description).toContain('[Reason - Key was found, but use of the key to verify the signature failed.');
  });

  it('refuses an expired secret until it is rotated, and the old secret after', async () => {
    const old = p.microsoft.clientSecret;
    p.expireSecret('microsoft');
    expectAadError(await token(withSecret()), 401, 'invalid_client', 7000222);
    const renewed = p.rotateSecret('microsoft');
    expect(renewed).not.toBe(old);
    expectAadError(await token(withSecret({ client_secret: old })), 401, 'invalid_client', 7000215);
    expect((await token(withSecret())).status).toBe(200);
  });

  it('refuses without admin consent (AADSTS65001) and issues again once consent is given', async () => {
    p.setConsent(false);
    const refused = await token(withSecret());
    expectAadError(refused, 400, 'invalid_grant', 65001);
    expect(refused.json.suberror).toBe('consent_required');
    p.setConsent(true);
    expect((await token(withSecret())).status).toBe(200);
  });

  it('opens a mailbox only with its protocol role and a mailbox grant', async () => {
    const full = String((await token(withSecret())).json.access_token);
    p.setRoles(['IMAP.AccessAsApp']);
    const imapOnly = String((await token(withSecret())).json.access_token);
    p.setRoles(['IMAP.AccessAsApp', 'SMTP.SendAsApp']);
    expect(decodeJwt(imapOnly)!.claims.roles).toEqual(['IMAP.AccessAsApp']);
    expect([p.validate(imapOnly, USER, 'imap'), p.validate(imapOnly, USER, 'smtp')]).toEqual([true, false]);
    // Roles are fixed in a token when it is issued, as Exchange reads them from the token.
    expect(p.validate(full, USER, 'smtp')).toBe(true);

    p.revokeMailbox(OTHER);
    expect([p.validate(full, USER, 'imap'), p.validate(full, OTHER, 'imap'), p.validate(full, OTHER.toUpperCase(), 'smtp')]).toEqual([true, false, false]);
    p.grantMailbox(OTHER);
    expect(p.validate(full, OTHER, 'imap')).toBe(true);
    expect(p.validate(full, 'stranger@example.test', 'imap')).toBe(false);
  });

  it('refuses assertions for the old certificate once it is rotated', async () => {
    const oldAssertion = assertion();
    await p.rotateCertificate();
    expectAadError(await token(withAssertion(oldAssertion)), 401, 'invalid_client', 700027);
    expect((await token(withAssertion(assertion()))).status).toBe(200);
  });
});
