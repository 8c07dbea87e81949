import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import https from 'node:https';
import { decodeJwt } from './jwt';
import { httpsRequest, postForm } from './https-form';
import { startOAuthProvider, type OAuthProvider } from './oauth-provider';
import { makeHarnessTls } from './tls';

const USER = 'intake@example.test';
const OTHER = 'other@example.test';

/** A GET with the platform's default trust only: how a client that was not given the CA fares. */
function getWithDefaultTrust(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    https.get(url, { agent: false }, (res) => resolve(res.statusCode ?? 0)).on('error', reject);
  });
}

/** What a child process like `node bin/case-intake.js start` gets from a GET, trusting the CA only through the environment. */
function childFetchStatus(url: string, env: NodeJS.ProcessEnv): Promise<string> {
  const script = `fetch(${JSON.stringify(url)}).then((r) => console.log(r.status), (e) => console.log(e.cause?.code ?? e.message))`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script], { env, timeout: 10_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout.trim())));
  });
}

describe('OAuth harness: TLS, generic provider, lifetimes and outages', () => {
  let p: OAuthProvider;
  beforeAll(async () => {
    p = await startOAuthProvider({ users: [USER, OTHER] });
  });
  afterAll(() => p?.stop());

  const generic = (form: Record<string, string> | string, basic?: { user: string; password: string }) => postForm(p.generic.tokenUrl, p.tls.caPem, form, basic);
  const client = () => ({ user: p.generic.clientId, password: p.generic.clientSecret });
  const microsoftToken = async () =>
    String((await postForm(p.microsoft.tokenUrl, p.tls.caPem, { grant_type: 'client_credentials', client_id: p.microsoft.clientId, client_secret: p.microsoft.clientSecret, scope: 'https://outlook.office365.com/.default' })).json.access_token);

  it('serves a certificate for 127.0.0.1 and localhost that verifies against the harness CA only', async () => {
    const cert = new X509Certificate(p.tls.certPem);
    expect(cert.subjectAltName).toBe('IP Address:127.0.0.1, DNS:localhost');
    expect(cert.verify(new X509Certificate(p.tls.caPem).publicKey)).toBe(true);
    expect((await httpsRequest(`${p.url}/nowhere`, { ca: p.tls.caPem })).status).toBe(404);
    expect((await httpsRequest(`https://localhost:${p.port}/nowhere`, { ca: p.tls.caPem })).status).toBe(404);
    await expect(getWithDefaultTrust(`${p.url}/nowhere`)).rejects.toMatchObject({ code: expect.stringMatching(/SELF_SIGNED|UNABLE_TO_VERIFY/) });
  });

  it('is trusted by a child process through NODE_EXTRA_CA_CERTS, and only so', async () => {
    const { NODE_EXTRA_CA_CERTS: _inherited, ...env } = process.env;
    expect(await childFetchStatus(p.microsoft.openidConfigurationUrl, { ...env, NODE_EXTRA_CA_CERTS: p.caFile })).toBe('200');
    expect(await childFetchStatus(p.microsoft.openidConfigurationUrl, env)).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/);
  });

  it('makeHarnessTls cleans its directory up', async () => {
    const tls = await makeHarnessTls();
    expect(existsSync(tls.caFile)).toBe(true);
    await tls.cleanup();
    await tls.cleanup();
    expect(existsSync(tls.dir)).toBe(false);
  });

  it('generic: issues client-credentials tokens to Basic and body authentication, serving any mailbox of the domain', async () => {
    const basic = await generic({ grant_type: 'client_credentials', scope: 'mail' }, client());
    expect(basic.status).toBe(200);
    expect(basic.json).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'mail' });
    expect(p.requests.at(-1)).toMatchObject({ provider: 'generic', grantType: 'client_credentials', clientId: p.generic.clientId, scope: 'mail', clientAuth: 'secret_basic', status: 200 });
    const token = String(basic.json.access_token);
    expect([p.validate(token, USER, 'imap'), p.validate(token, OTHER, 'smtp'), p.validate(token, 'stranger@example.test', 'imap')]).toEqual([true, true, false]);

    const post = await generic({ grant_type: 'client_credentials', scope: 'mail openid', client_id: p.generic.clientId, client_secret: p.generic.clientSecret });
    expect(post.status).toBe(200);
    expect(p.requests.at(-1)).toMatchObject({ clientAuth: 'secret_post', status: 200 });
    const withoutMail = await generic({ grant_type: 'client_credentials', scope: 'openid' }, client());
    expect(p.validate(String(withoutMail.json.access_token), USER, 'imap')).toBe(false);
    expect(JSON.stringify(p.requests)).not.toContain(p.generic.clientSecret);
  });

  it('generic: exchanges a refresh token for a token of that user only, and refuses it once revoked', async () => {
    const refreshToken = p.refreshToken('generic', OTHER);
    const answer = await generic({ grant_type: 'refresh_token', refresh_token: refreshToken }, client());
    expect(answer.status).toBe(200);
    expect(p.requests.at(-1)).toMatchObject({ grantType: 'refresh_token', user: OTHER });
    expect([p.validate(String(answer.json.access_token), OTHER, 'imap'), p.validate(String(answer.json.access_token), USER, 'imap')]).toEqual([true, false]);
    p.revokeRefreshToken(refreshToken);
    expect((await generic({ grant_type: 'refresh_token', refresh_token: refreshToken }, client())).json.error).toBe('invalid_grant');
  });

  it.each<[string, () => Parameters<typeof generic>, number, string]>([
    ['no scope for client credentials', () => [{ grant_type: 'client_credentials' }, client()], 400, 'invalid_scope'],
    ['an unknown scope', () => [{ grant_type: 'client_credentials', scope: 'mail admin' }, client()], 400, 'invalid_scope'],
    ['a wrong secret', () => [{ grant_type: 'client_credentials', scope: 'mail', client_id: p.generic.clientId, client_secret: 'wrong' }], 401, 'invalid_client'],
    ['no client authentication', () => [{ grant_type: 'client_credentials', scope: 'mail', client_id: p.generic.clientId }], 401, 'invalid_client'],
    ['two authentication methods', () => [{ grant_type: 'client_credentials', scope: 'mail', client_secret: p.generic.clientSecret }, client()], 400, 'invalid_request'],
    ['a repeated parameter', () => [`grant_type=client_credentials&scope=mail&scope=openid`, client()], 400, 'invalid_request'],
    ['no grant type', () => [{ scope: 'mail' }, client()], 400, 'invalid_request'],
    ['another grant type', () => [{ grant_type: 'password', username: USER, password: 'x' }, client()], 400, 'unsupported_grant_type'],
    ['an unknown refresh token', () => [{ grant_type: 'refresh_token', refresh_token: 'made-up' }, client()], 400, 'invalid_grant'],
  ])('generic: refuses %s with the RFC 6749 §5.2 error', async (_name, args, status, error) => {
    const answer = await generic(...args());
    expect({ status: answer.status, error: answer.json.error }).toEqual({ status, error });
    expect(typeof answer.json.error_description).toBe('string');
  });

  it('generic: challenges a client that failed HTTP Basic, and refuses its old secret after rotation', async () => {
    const wrong = await generic({ grant_type: 'client_credentials', scope: 'mail' }, { user: p.generic.clientId, password: 'wrong' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['www-authenticate']).toMatch(/^Basic realm=/);
    const old = client();
    p.rotateSecret('generic');
    expect((await generic({ grant_type: 'client_credentials', scope: 'mail' }, old)).status).toBe(401);
    expect((await generic({ grant_type: 'client_credentials', scope: 'mail' }, client())).status).toBe(200);
  });

  it('issues tokens with the lifetime set, which stop working when it runs out', async () => {
    p.setLifetime(1);
    try {
      const answer = await postForm(p.microsoft.tokenUrl, p.tls.caPem, { grant_type: 'client_credentials', client_id: p.microsoft.clientId, client_secret: p.microsoft.clientSecret, scope: 'https://outlook.office365.com/.default' });
      expect(answer.json.expires_in).toBe(1);
      const token = String(answer.json.access_token);
      const claims = decodeJwt(token)!.claims;
      expect(Number(claims.exp) - Number(claims.iat)).toBeLessThanOrEqual(1);
      const genericToken = await generic({ grant_type: 'client_credentials', scope: 'mail' }, client());
      expect(genericToken.json.expires_in).toBe(1);
      expect(p.validate(token, USER, 'imap')).toBe(true);
      await new Promise((r) => setTimeout(r, 1100));
      expect(p.validate(token, USER, 'imap')).toBe(false);
      expect(p.validate(String(genericToken.json.access_token), USER, 'imap')).toBe(false);
    } finally {
      p.setLifetime(3600);
    }
    expect(() => p.setLifetime(0)).toThrow();
    expect(() => p.setLifetime(1.5)).toThrow();
  });

  it('revokeAll ends every access token issued so far, and only those', async () => {
    const microsoft = await microsoftToken();
    const refreshToken = p.refreshToken('generic', USER);
    const fromRefresh = String((await generic({ grant_type: 'refresh_token', refresh_token: refreshToken }, client())).json.access_token);
    const minted = p.mint(USER);
    expect([microsoft, fromRefresh, minted].map((t) => p.validate(t, USER, 'imap'))).toEqual([true, true, true]);
    p.revokeAll();
    expect([microsoft, fromRefresh, minted].map((t) => p.validate(t, USER, 'imap'))).toEqual([false, false, false]);
    expect(p.validate(await microsoftToken(), USER, 'imap')).toBe(true);
    // Refresh tokens outlive a revocation of access tokens.
    expect((await generic({ grant_type: 'refresh_token', refresh_token: refreshToken }, client())).status).toBe(200);
  });

  it('mint gives the harness a token for one user and both protocols, whatever the switches', () => {
    p.revokeMailbox(USER);
    p.setRoles([]);
    try {
      const minted = p.mint(USER);
      expect([p.validate(minted, USER, 'imap'), p.validate(minted, USER, 'smtp'), p.validate(minted, OTHER, 'imap')]).toEqual([true, true, false]);
    } finally {
      p.grantMailbox(USER);
      p.setRoles(['IMAP.AccessAsApp', 'SMTP.SendAsApp']);
    }
  });

  it('down() refuses connections on the port until up() listens on it again', async () => {
    const port = p.port;
    await p.down();
    await expect(httpsRequest(p.microsoft.openidConfigurationUrl, { ca: p.tls.caPem })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await p.up();
    expect(p.port).toBe(port);
    expect((await httpsRequest(p.microsoft.openidConfigurationUrl, { ca: p.tls.caPem })).status).toBe(200);
  });

  it("answers Dovecot's introspection POST with active and the mailbox's username", async () => {
    const introspect = async (user: string, token: string) => {
      const res = await fetch(p.introspectionUrl(user), { method: 'POST', body: new URLSearchParams({ token }) });
      return (await res.json()) as Record<string, unknown>;
    };
    const token = await microsoftToken();
    expect(await introspect(USER, token)).toMatchObject({ active: true, username: USER, client_id: p.microsoft.clientId });
    expect(await introspect(USER, 'not-a-token')).toEqual({ active: false });
    p.revokeMailbox(OTHER);
    expect(await introspect(OTHER, token)).toEqual({ active: false });
    p.grantMailbox(OTHER);
    expect(p.introspections.slice(-3)).toEqual([
      { user: USER, active: true },
      { user: USER, active: false },
      { user: OTHER, active: false },
    ]);
  });

  it('stop() closes both endpoints and removes its files', async () => {
    const extra = await startOAuthProvider();
    const introspectionUrl = extra.introspectionUrl(USER);
    await extra.stop();
    await extra.stop();
    expect(existsSync(extra.google.serviceAccountFile)).toBe(false);
    expect(existsSync(extra.tls.dir)).toBe(false);
    await expect(httpsRequest(extra.microsoft.openidConfigurationUrl, { ca: extra.tls.caPem })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(fetch(introspectionUrl, { method: 'POST', body: 'token=x' })).rejects.toThrow();
  });
});
