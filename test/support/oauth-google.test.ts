import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { signJwt } from './jwt';
import { postForm, type HttpsAnswer } from './https-form';
import { startOAuthProvider, type OAuthProvider } from './oauth-provider';

const USER = 'intake@example.test';
const OTHER = 'other@example.test';
const GMAIL = 'https://mail.google.com/';
const JWT_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

interface ServiceAccountFile {
  type: string;
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  token_uri: string;
}

describe('OAuth harness: Google', () => {
  let p: OAuthProvider;
  let file: ServiceAccountFile;
  beforeAll(async () => {
    p = await startOAuthProvider({ users: [USER, OTHER] });
    file = JSON.parse(await readFile(p.google.serviceAccountFile, 'utf8')) as ServiceAccountFile;
  });
  afterAll(() => p?.stop());

  /** A service-account assertion as Google's libraries build it from the key file; undefined entries are left out. */
  function assertion(opts: { claims?: Record<string, unknown>; header?: Record<string, unknown>; key?: string; from?: ServiceAccountFile } = {}): string {
    const from = opts.from ?? file;
    const iat = Math.floor(Date.now() / 1000);
    return signJwt({ alg: 'RS256', kid: from.private_key_id, ...opts.header }, { iss: from.client_email, sub: USER, scope: GMAIL, aud: from.token_uri, iat, exp: iat + 3600, ...opts.claims }, opts.key ?? from.private_key);
  }
  const jwtGrant = (jwt: string) => postForm(p.google.tokenUrl, p.tls.caPem, { grant_type: JWT_GRANT, assertion: jwt });
  const refresh = (form: Record<string, string>, basic?: { user: string; password: string }) => postForm(p.google.tokenUrl, p.tls.caPem, { grant_type: 'refresh_token', ...form }, basic);
  const expectError = (answer: HttpsAnswer, status: number, error: string, description: string) => {
    expect({ status: answer.status, json: answer.json }).toEqual({ status, json: { error, error_description: description } });
    expect(p.requests.at(-1)).toMatchObject({ provider: 'google', status, error, errorDescription: description });
  };

  it('writes the service account key file a Cloud console download gives', () => {
    expect(file).toMatchObject({ type: 'service_account', project_id: expect.any(String), private_key_id: p.google.privateKeyId, client_email: p.google.clientEmail, client_id: expect.stringMatching(/^\d{21}$/), token_uri: p.google.tokenUrl });
    expect(file.private_key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(p.google.tokenUrl).toBe(`${p.url}/token`);
  });

  it('issues a ya29 token for the service account acting as a user, recording the assertion', async () => {
    const answer = await jwtGrant(assertion());
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ access_token: expect.stringMatching(/^ya29\./), expires_in: 3600, scope: GMAIL, token_type: 'Bearer' });
    expect(p.requests.at(-1)).toMatchObject({ grantType: JWT_GRANT, clientId: file.client_email, scope: GMAIL, clientAuth: 'assertion', user: USER, status: 200, assertion: { header: { alg: 'RS256', kid: file.private_key_id }, claims: { iss: file.client_email, sub: USER, aud: file.token_uri } } });
    const token = String(answer.json.access_token);
    expect([p.validate(token, USER, 'imap'), p.validate(token, USER, 'smtp'), p.validate(token, OTHER, 'imap')]).toEqual([true, true, false]);
  });

  it('takes an assertion without kid, and gives the service account its own token (no mailbox) without sub', async () => {
    expect((await jwtGrant(assertion({ header: { kid: undefined } }))).status).toBe(200);
    const own = await jwtGrant(assertion({ claims: { sub: undefined } }));
    expect(own.status).toBe(200);
    expect(p.validate(String(own.json.access_token), USER, 'imap')).toBe(false);
  });

  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  it.each<[string, () => Record<string, unknown>, number, string, string]>([
    ['a signature by another key', () => ({ key: otherKey }), 400, 'invalid_grant', 'Invalid JWT Signature.'],
    ['a kid naming another key', () => ({ header: { kid: 'f'.repeat(40) } }), 400, 'invalid_grant', 'Invalid JWT Signature.'],
    ['an unknown subject', () => ({ claims: { sub: 'nobody@example.test' } }), 400, 'invalid_grant', 'Invalid email or User ID'],
    ['an unknown service account', () => ({ claims: { iss: 'someone@other-project.iam.gserviceaccount.com' } }), 400, 'invalid_grant', 'Invalid grant: account not found'],
    ['another audience', () => ({ claims: { aud: 'https://oauth2.googleapis.com/token' } }), 400, 'invalid_grant', 'Invalid JWT: Failed audience check.'],
    ['exp more than an hour after iat', () => ({ claims: { exp: Math.floor(Date.now() / 1000) + 3601 } }), 400, 'invalid_grant', 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.'],
    ['an expired assertion', () => ({ claims: { iat: Math.floor(Date.now() / 1000) - 4000, exp: Math.floor(Date.now() / 1000) - 400 } }), 400, 'invalid_grant', 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.'],
    ['no scope', () => ({ claims: { scope: undefined } }), 400, 'invalid_scope', 'Invalid OAuth scope or ID token audience provided.'],
    ['a scope not delegated', () => ({ claims: { scope: `${GMAIL} https://www.googleapis.com/auth/admin.directory.user` } }), 401, 'unauthorized_client', 'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.'],
  ])('refuses %s as Google does', async (_name, opts, status, error, description) => {
    expectError(await jwtGrant(assertion(opts())), status, error, description);
  });

  it('refuses while domain-wide delegation is withdrawn, and issues again once it is back', async () => {
    p.setDelegation(false);
    expectError(await jwtGrant(assertion()), 401, 'unauthorized_client', 'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.');
    p.setDelegation(true);
    expect((await jwtGrant(assertion())).status).toBe(200);
  });

  it('refuses the old key once the service account key is rotated, and takes the rewritten file', async () => {
    const oldFile = file;
    await p.rotateServiceAccountKey();
    const newFile = JSON.parse(await readFile(p.google.serviceAccountFile, 'utf8')) as ServiceAccountFile;
    expect(newFile.private_key_id).not.toBe(oldFile.private_key_id);
    expectError(await jwtGrant(assertion({ from: oldFile })), 400, 'invalid_grant', 'Invalid JWT Signature.');
    expect((await jwtGrant(assertion({ from: newFile }))).status).toBe(200);
    file = newFile;
  });

  it('exchanges a refresh token with the client secret in the body or by HTTP Basic, for that user only', async () => {
    const refreshToken = p.refreshToken('google', OTHER);
    const inBody = await refresh({ client_id: p.google.oauthClientId, client_secret: p.google.oauthClientSecret, refresh_token: refreshToken });
    expect(inBody.status).toBe(200);
    expect(inBody.json).toEqual({ access_token: expect.stringMatching(/^ya29\./), expires_in: 3600, scope: GMAIL, token_type: 'Bearer' });
    expect(p.requests.at(-1)).toMatchObject({ grantType: 'refresh_token', clientId: p.google.oauthClientId, clientAuth: 'secret_post', user: OTHER, status: 200 });
    const token = String(inBody.json.access_token);
    expect([p.validate(token, OTHER, 'imap'), p.validate(token, USER, 'imap')]).toEqual([true, false]);

    const basic = await refresh({ refresh_token: refreshToken }, { user: p.google.oauthClientId, password: p.google.oauthClientSecret });
    expect(basic.status).toBe(200);
    expect(p.requests.at(-1)).toMatchObject({ clientAuth: 'secret_basic', status: 200 });
    expect(JSON.stringify(p.requests)).not.toContain(refreshToken);
    expect(JSON.stringify(p.requests)).not.toContain(p.google.oauthClientSecret);
  });

  it('refuses a revoked refresh token, a wrong client and a rotated secret as Google does', async () => {
    const refreshToken = p.refreshToken('google', USER);
    const form = () => ({ client_id: p.google.oauthClientId, client_secret: p.google.oauthClientSecret, refresh_token: refreshToken });
    p.revokeRefreshToken(refreshToken);
    expectError(await refresh(form()), 400, 'invalid_grant', 'Token has been expired or revoked.');
    p.restoreRefreshToken(refreshToken);
    expect((await refresh(form())).status).toBe(200);

    expectError(await refresh({ ...form(), client_secret: 'GOCSPX-wrong' }), 401, 'invalid_client', 'Unauthorized');
    expectError(await refresh({ ...form(), client_id: '1-other.apps.googleusercontent.com' }), 401, 'invalid_client', 'The OAuth client was not found.');
    const old = p.google.oauthClientSecret;
    p.rotateSecret('google');
    expectError(await refresh({ ...form(), client_secret: old }), 401, 'invalid_client', 'Unauthorized');
    expect((await refresh(form())).status).toBe(200);
  });
});
