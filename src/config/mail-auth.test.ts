import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { makeKeyFiles, type KeyFiles } from '../../test/support/key-files';
import { GOOGLE_AUTHORITY, MICROSOFT_AUTHORITY } from '../oauth/credentials';
import { ConfigError, loadConfig } from './config';

const SECRET = 'Ms~Secret.Value-7Qx';
const REFRESH = '1//0gRefresh-Token-Value';
const GENERIC_SECRET = 'generic-client-secret-value';
const IMAP_PASSWORD = 'imap-pass-Word';
const MS_IMAP = 'imaps://support%40contoso.com@outlook.office365.com/INBOX';
const MS_SMTP = 'smtp://support%40contoso.com@smtp.office365.com:587';
const MS = { OAUTH_PROVIDER: 'microsoft', OAUTH_TENANT_ID: 'contoso.onmicrosoft.com', OAUTH_CLIENT_ID: '00000000-1111-2222-3333-444444444444' };

let keys: KeyFiles;
beforeAll(() => (keys = makeKeyFiles()));
afterAll(() => keys?.cleanup());

/** The problems loadConfig lists, after checking none of them repeats a secret or a key file's content. */
function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const keyBodies = [readFileSync(keys.keyFile, 'utf8'), keys.serviceAccount.private_key].map((pem) => pem.split('\n')[1]!);
    for (const secret of [SECRET, REFRESH, GENERIC_SECRET, IMAP_PASSWORD, ...keyBodies]) expect(err.message).not.toContain(secret);
    return err.problems;
  }
  throw new Error('the configuration loaded');
}

describe('password logins, as before OAuth', () => {
  it('logs the default and every IMAP_URL mailbox in with its URL password, and sends without OAuth', () => {
    const c = loadConfig({});
    expect(c.mailboxes).toEqual([{ id: 'imap://support@127.0.0.1:143/INBOX', secure: false, host: '127.0.0.1', port: 143, mailbox: 'INBOX', auth: { method: 'password', user: 'support', password: 'support' } }]);
    expect(c.smtpOAuth).toBeNull();
    const explicit = loadConfig({ IMAP_AUTH: 'password', SMTP_AUTH: 'password', IMAP_URL: `imaps://a%40x.test:${IMAP_PASSWORD}@mx.test/INBOX`, SMTP_URL: 'smtp://u:p@relay.test:587' });
    expect(explicit.mailboxes[0]?.auth).toEqual({ method: 'password', user: 'a@x.test', password: IMAP_PASSWORD });
    expect(explicit.smtpUrl).toBe('smtp://u:p@relay.test:587');
    expect(explicit.smtpOAuth).toBeNull();
  });

  it('takes blank variables for unset ones, as compose files pass them', () => {
    const c = loadConfig({ IMAP_AUTH: '', SMTP_AUTH: ' ', MAILBOXES_FILE: '', OAUTH_PROVIDER: '', OAUTH_CLIENT_SECRET: '', GOOGLE_SERVICE_ACCOUNT_FILE: '' });
    expect(c.mailboxes.map((m) => m.auth.method)).toEqual(['password']);
    expect(c.smtpOAuth).toBeNull();
  });
});

describe('oauth2 credentials from the OAUTH_* variables', () => {
  it('reads a Microsoft client secret, one credential for IMAP and SMTP', () => {
    const c = loadConfig({ IMAP_AUTH: 'oauth2', SMTP_AUTH: 'oauth2', IMAP_URL: MS_IMAP, SMTP_URL: MS_SMTP, ...MS, OAUTH_CLIENT_SECRET: SECRET });
    const credential = { provider: 'microsoft', authorityUrl: MICROSOFT_AUTHORITY, tenantId: MS.OAUTH_TENANT_ID, clientId: MS.OAUTH_CLIENT_ID, proof: { kind: 'secret', clientSecret: SECRET } };
    expect(c.mailboxes).toEqual([{ id: 'imaps://support%40contoso.com@outlook.office365.com:993/INBOX', secure: true, host: 'outlook.office365.com', port: 993, mailbox: 'INBOX', auth: { method: 'oauth2', user: 'support@contoso.com', credential } }]);
    expect(c.smtpOAuth).toEqual({ user: 'support@contoso.com', credential });
    // The same object: whoever caches tokens per credential asks Microsoft once for both.
    expect(c.smtpOAuth?.credential).toBe(c.mailboxes[0]?.auth.method === 'oauth2' && c.mailboxes[0].auth.credential);
    expect(c.smtpUrl).toBe(MS_SMTP);
  });

  it('reads a Microsoft certificate and its key, and a sovereign authority without its trailing slash', () => {
    const c = loadConfig({ IMAP_AUTH: 'oauth2', IMAP_URL: MS_IMAP, ...MS, OAUTH_CLIENT_CERT_FILE: keys.certFile, OAUTH_CLIENT_KEY_FILE: keys.keyFile, OAUTH_AUTHORITY_URL: 'https://login.microsoftonline.us/' });
    const auth = c.mailboxes[0]!.auth;
    if (auth.method !== 'oauth2' || auth.credential.provider !== 'microsoft' || auth.credential.proof.kind !== 'certificate') throw new Error(`not a certificate credential: ${JSON.stringify(auth.method)}`);
    expect(auth.credential.authorityUrl).toBe('https://login.microsoftonline.us');
    const proof = auth.credential.proof;
    expect(new X509Certificate(proof.certificatePem).fingerprint256).toBe(new X509Certificate(readFileSync(keys.certFile)).fingerprint256);
    expect(createPrivateKey(proof.privateKeyPem).export({ type: 'pkcs8', format: 'der' })).toEqual(createPrivateKey(readFileSync(keys.keyFile)).export({ type: 'pkcs8', format: 'der' }));
    expect(c.smtpOAuth).toBeNull();
  });

  it('reads a Google service account acting as each mailbox\'s user, and as the SMTP user', () => {
    const c = loadConfig({
      IMAP_AUTH: 'oauth2',
      SMTP_AUTH: 'oauth2',
      IMAP_URL: 'imaps://help%40fabrikam.com@imap.gmail.com/INBOX imaps://billing%40fabrikam.com@imap.gmail.com/INBOX',
      SMTP_URL: 'smtp://help%40fabrikam.com@smtp.gmail.com:587',
      OAUTH_PROVIDER: 'google',
      GOOGLE_SERVICE_ACCOUNT_FILE: keys.serviceAccountFile,
    });
    const grant = (subject: string) => ({ kind: 'service_account', clientEmail: keys.serviceAccount.client_email, privateKeyPem: keys.serviceAccount.private_key, privateKeyId: keys.serviceAccount.private_key_id, subject });
    expect(c.mailboxes.map((m) => m.auth)).toEqual([
      { method: 'oauth2', user: 'help@fabrikam.com', credential: { provider: 'google', authorityUrl: GOOGLE_AUTHORITY, grant: grant('help@fabrikam.com') } },
      { method: 'oauth2', user: 'billing@fabrikam.com', credential: { provider: 'google', authorityUrl: GOOGLE_AUTHORITY, grant: grant('billing@fabrikam.com') } },
    ]);
    expect(c.smtpOAuth?.credential).toBe(c.mailboxes[0]?.auth.method === 'oauth2' && c.mailboxes[0].auth.credential);
  });

  it('reads a Google refresh token with its OAuth client', () => {
    const c = loadConfig({ SMTP_AUTH: 'oauth2', SMTP_URL: 'smtps://help%40gmail.com@smtp.gmail.com', OAUTH_PROVIDER: 'google', OAUTH_REFRESH_TOKEN: REFRESH, OAUTH_CLIENT_ID: 'app.apps.googleusercontent.com', OAUTH_CLIENT_SECRET: SECRET, OAUTH_AUTHORITY_URL: 'https://127.0.0.1:8443' });
    expect(c.smtpOAuth).toEqual({ user: 'help@gmail.com', credential: { provider: 'google', authorityUrl: 'https://127.0.0.1:8443', grant: { kind: 'refresh_token', clientId: 'app.apps.googleusercontent.com', clientSecret: SECRET, refreshToken: REFRESH } } });
    expect(c.mailboxes[0]?.auth.method).toBe('password');
  });

  it('reads a generic provider with client credentials, or with a refresh token when one is given', () => {
    const generic = { IMAP_AUTH: 'oauth2', IMAP_URL: 'imaps://intake%40example.net@mail.example.net/INBOX', OAUTH_PROVIDER: 'generic', OAUTH_TOKEN_URL: 'https://sso.example.net/oauth2/token', OAUTH_CLIENT_ID: 'intake', OAUTH_CLIENT_SECRET: GENERIC_SECRET, OAUTH_SCOPE: 'mail.imap mail.smtp' };
    const credential = { provider: 'generic', tokenUrl: 'https://sso.example.net/oauth2/token', clientId: 'intake', clientSecret: GENERIC_SECRET, scope: 'mail.imap mail.smtp', refreshToken: null };
    expect(loadConfig(generic).mailboxes[0]?.auth).toEqual({ method: 'oauth2', user: 'intake@example.net', credential });
    expect(loadConfig({ ...generic, OAUTH_REFRESH_TOKEN: REFRESH }).mailboxes[0]?.auth).toEqual({ method: 'oauth2', user: 'intake@example.net', credential: { ...credential, refreshToken: REFRESH } });
  });
});

describe('problems, every one listed at once', () => {
  it('lists a provider\'s conflicting and missing settings together with the schema\'s problems', () => {
    const problems = problemsOf({ PORT: 'eighty', IMAP_AUTH: 'oauth2', IMAP_URL: MS_IMAP, OAUTH_PROVIDER: 'microsoft', OAUTH_CLIENT_ID: MS.OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET: SECRET, OAUTH_CLIENT_CERT_FILE: keys.certFile, OAUTH_CLIENT_KEY_FILE: keys.keyFile, OAUTH_AUTHORITY_URL: 'http://login.microsoftonline.com', OAUTH_SCOPE: 'https://graph.microsoft.com/.default' });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PORT: /),
        expect.stringMatching(/^OAUTH_TENANT_ID: required with provider microsoft/),
        expect.stringMatching(/^OAUTH_CLIENT_SECRET: give either a client secret or a certificate \(OAUTH_CLIENT_CERT_FILE and OAUTH_CLIENT_KEY_FILE\), not both$/),
        'OAUTH_AUTHORITY_URL: must be an https:// URL',
        'OAUTH_SCOPE: not used with provider microsoft; remove it',
      ]),
    );
    expect(problems).toHaveLength(5);
  });

  it('wants a certificate and its key together, and a secret or a certificate', () => {
    const base = { IMAP_AUTH: 'oauth2', IMAP_URL: MS_IMAP, ...MS };
    expect(problemsOf({ ...base, OAUTH_CLIENT_CERT_FILE: keys.certFile })).toEqual(['OAUTH_CLIENT_KEY_FILE: required with OAUTH_CLIENT_CERT_FILE (the certificate\'s private key)']);
    expect(problemsOf({ ...base, OAUTH_CLIENT_KEY_FILE: keys.keyFile })).toEqual(['OAUTH_CLIENT_CERT_FILE: required with OAUTH_CLIENT_KEY_FILE (the certificate registered on the app)']);
    expect(problemsOf(base)).toEqual([expect.stringMatching(/^OAUTH_CLIENT_SECRET: required with provider microsoft, or a certificate instead/)]);
  });

  it('wants exactly one Google grant, each with what it needs', () => {
    const base = { SMTP_AUTH: 'oauth2', SMTP_URL: 'smtp://help%40fabrikam.com@smtp.gmail.com:587', OAUTH_PROVIDER: 'google' };
    expect(problemsOf(base)).toEqual([expect.stringMatching(/^GOOGLE_SERVICE_ACCOUNT_FILE: required with provider google, or a refresh token instead \(OAUTH_REFRESH_TOKEN with OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET\)$/)]);
    expect(problemsOf({ ...base, GOOGLE_SERVICE_ACCOUNT_FILE: keys.serviceAccountFile, OAUTH_REFRESH_TOKEN: REFRESH })).toEqual([expect.stringMatching(/^GOOGLE_SERVICE_ACCOUNT_FILE: give either a service account or a refresh token/)]);
    expect(problemsOf({ ...base, OAUTH_REFRESH_TOKEN: REFRESH, OAUTH_TENANT_ID: 'x' })).toEqual([
      'OAUTH_TENANT_ID: not used with provider google; remove it',
      expect.stringMatching(/^OAUTH_CLIENT_ID: required with OAUTH_REFRESH_TOKEN/),
      expect.stringMatching(/^OAUTH_CLIENT_SECRET: required with OAUTH_REFRESH_TOKEN/),
    ]);
    expect(problemsOf({ ...base, GOOGLE_SERVICE_ACCOUNT_FILE: keys.serviceAccountFile, OAUTH_CLIENT_SECRET: SECRET })).toEqual([expect.stringMatching(/^OAUTH_CLIENT_SECRET: not used with a service account/)]);
  });

  it('wants a generic provider\'s https token URL, client and scope', () => {
    const base = { IMAP_AUTH: 'oauth2', IMAP_URL: 'imaps://intake%40example.net@mail.example.net/INBOX', OAUTH_PROVIDER: 'generic' };
    expect(problemsOf({ ...base, OAUTH_TOKEN_URL: 'http://sso.example.net/token', OAUTH_CLIENT_ID: 'intake', OAUTH_CLIENT_SECRET: GENERIC_SECRET })).toEqual(['OAUTH_TOKEN_URL: must be an https:// URL', expect.stringMatching(/^OAUTH_SCOPE: required with provider generic/)]);
    expect(problemsOf({ ...base, OAUTH_AUTHORITY_URL: 'https://sso.example.net' })).toEqual([
      'OAUTH_AUTHORITY_URL: not used with provider generic; remove it',
      expect.stringMatching(/^OAUTH_TOKEN_URL: required/),
      expect.stringMatching(/^OAUTH_CLIENT_ID: required/),
      expect.stringMatching(/^OAUTH_CLIENT_SECRET: required/),
      expect.stringMatching(/^OAUTH_SCOPE: required/),
    ]);
  });

  it('names the provider and the login methods when they are missing or misspelt', () => {
    expect(problemsOf({ IMAP_AUTH: 'oauth2', IMAP_URL: MS_IMAP })).toEqual(['OAUTH_PROVIDER: required (microsoft, google or generic)']);
    expect(problemsOf({ IMAP_AUTH: 'oauth2', IMAP_URL: MS_IMAP, OAUTH_PROVIDER: 'azure' })).toEqual(['OAUTH_PROVIDER: must be microsoft, google or generic']);
    expect(problemsOf({ IMAP_AUTH: 'OAuth', SMTP_AUTH: 'xoauth2' })).toEqual(['IMAP_AUTH: must be password or oauth2', 'SMTP_AUTH: must be password or oauth2']);
  });

  it('names every OAUTH_* variable no oauth2 login uses', () => {
    expect(problemsOf({ ...MS, OAUTH_CLIENT_SECRET: SECRET, GOOGLE_SERVICE_ACCOUNT_FILE: 'sa.json' })).toEqual(
      ['OAUTH_PROVIDER', 'OAUTH_TENANT_ID', 'OAUTH_CLIENT_ID', 'OAUTH_CLIENT_SECRET', 'GOOGLE_SERVICE_ACCOUNT_FILE'].map((name) => `${name}: not used, as neither IMAP_AUTH nor SMTP_AUTH is oauth2; remove it or set the oauth2 login that needs it`),
    );
  });

  it('wants oauth2 URLs to name their user and no password, without repeating the password', () => {
    const problems = problemsOf({ IMAP_AUTH: 'oauth2', SMTP_AUTH: 'oauth2', IMAP_URL: `imaps://a%40contoso.com:${IMAP_PASSWORD}@outlook.office365.com/INBOX imaps://outlook.office365.com/Support`, ...MS, OAUTH_CLIENT_SECRET: SECRET });
    expect(problems).toEqual([
      expect.stringMatching(/^IMAP_URL \(imaps:\/\/a%40contoso\.com@outlook\.office365\.com:993\/INBOX\): names a password, which an oauth2 login does not use/),
      expect.stringMatching(/^IMAP_URL \(imaps:\/\/@outlook\.office365\.com:993\/Support\): must name the user/),
      expect.stringMatching(/^SMTP_URL: must name the user to log in as with oauth2 \(smtp:\/\/support%40contoso\.com@smtp\.office365\.com:587\)$/),
    ]);
    expect(problemsOf({ SMTP_AUTH: 'oauth2', SMTP_URL: 'smtp://u%40contoso.com:pw@smtp.office365.com:587', ...MS, OAUTH_CLIENT_SECRET: SECRET })).toEqual([expect.stringMatching(/^SMTP_URL: names a password/)]);
  });

  it('reports unreadable and wrong certificate files by variable and path', () => {
    const base = { IMAP_AUTH: 'oauth2', IMAP_URL: MS_IMAP, ...MS };
    const missing = `${keys.dir}/missing.pem`;
    expect(problemsOf({ ...base, OAUTH_CLIENT_CERT_FILE: missing, OAUTH_CLIENT_KEY_FILE: keys.dir })).toEqual([`OAUTH_CLIENT_CERT_FILE: cannot read ${missing} (no such file)`, `OAUTH_CLIENT_KEY_FILE: cannot read ${keys.dir} (is a directory, not a file)`]);
    // Each file in the other's place: neither holds what its variable promises.
    expect(problemsOf({ ...base, OAUTH_CLIENT_CERT_FILE: keys.keyFile, OAUTH_CLIENT_KEY_FILE: keys.certFile })).toEqual([
      `OAUTH_CLIENT_CERT_FILE: ${keys.keyFile} holds no PEM certificate (a -----BEGIN CERTIFICATE----- block)`,
      `OAUTH_CLIENT_KEY_FILE: ${keys.certFile} holds no PEM private key (a -----BEGIN PRIVATE KEY----- block)`,
    ]);
    expect(problemsOf({ ...base, OAUTH_CLIENT_CERT_FILE: keys.certFile, OAUTH_CLIENT_KEY_FILE: keys.otherKeyFile })).toEqual([`OAUTH_CLIENT_KEY_FILE: the key in ${keys.otherKeyFile} does not belong to the certificate in ${keys.certFile}`]);
    expect(problemsOf({ ...base, OAUTH_CLIENT_CERT_FILE: keys.certFile, OAUTH_CLIENT_KEY_FILE: keys.encryptedKeyFile })).toEqual([expect.stringMatching(/^OAUTH_CLIENT_KEY_FILE: the key in .* is protected by a passphrase/)]);
    expect(problemsOf({ ...base, OAUTH_CLIENT_CERT_FILE: keys.ecCertFile, OAUTH_CLIENT_KEY_FILE: keys.ecKeyFile })).toEqual([expect.stringMatching(/^OAUTH_CLIENT_KEY_FILE: the key in .* is ec; Microsoft accepts only RSA/)]);
    const damaged = keys.write('damaged-cert.pem', '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
    expect(problemsOf({ ...base, OAUTH_CLIENT_CERT_FILE: damaged, OAUTH_CLIENT_KEY_FILE: keys.keyFile })).toEqual([`OAUTH_CLIENT_CERT_FILE: the certificate in ${damaged} cannot be read (damaged PEM)`]);
  });

  it('reports a service account file that is not a usable service account key, never its content', () => {
    const base = { IMAP_AUTH: 'oauth2', IMAP_URL: 'imaps://help%40fabrikam.com@imap.gmail.com/INBOX', OAUTH_PROVIDER: 'google' };
    let written = 0;
    const check = (content: string | null) => {
      const path = content === null ? `${keys.dir}/absent.json` : keys.write(`sa-${++written}.json`, content);
      const problems = problemsOf({ ...base, GOOGLE_SERVICE_ACCOUNT_FILE: path });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(new RegExp(`^GOOGLE_SERVICE_ACCOUNT_FILE: .*${path.replace(/[.]/g, '\\.')}`));
      return problems[0];
    };
    expect(check(null)).toMatch(/cannot read .* \(no such file\)$/);
    expect(check(`{ "type": "service_account", "private_key": "${REFRESH}" `)).toMatch(/is not JSON/);
    expect(check(JSON.stringify({ type: 'authorized_user', client_id: 'x', client_secret: SECRET, refresh_token: REFRESH }))).toMatch(/its "type" is "authorized_user", expected "service_account"/);
    expect(check(JSON.stringify({ type: 'service_account', private_key_id: 'k' }))).toMatch(/lacks client_email and private_key/);
    expect(check(JSON.stringify({ ...keys.serviceAccount, type: 'service_account', private_key: `-----BEGIN PRIVATE KEY-----\n${SECRET}\n-----END PRIVATE KEY-----\n` }))).toMatch(/private_key in .* is not a readable RSA private key/);
    expect(check(JSON.stringify({ ...keys.serviceAccount, type: 'service_account', private_key: readFileSync(keys.ecKeyFile, 'utf8') }))).toMatch(/private_key in .* is not a readable RSA private key/);
  });

  it('never repeats a secret, a password or a key file\'s content, whichever setting is wrong', () => {
    // Every secret given where something is wrong around it: problemsOf fails on any echo.
    const problems = problemsOf({
      IMAP_AUTH: 'oauth2',
      SMTP_AUTH: 'oauth2',
      IMAP_URL: `imaps://a%40contoso.com:${IMAP_PASSWORD}@outlook.office365.com/INBOX`,
      SMTP_URL: `smtp://a%40contoso.com:${IMAP_PASSWORD}@smtp.office365.com:587`,
      OAUTH_PROVIDER: 'microsoft',
      OAUTH_CLIENT_SECRET: SECRET,
      OAUTH_REFRESH_TOKEN: REFRESH,
      OAUTH_CLIENT_CERT_FILE: keys.keyFile,
      OAUTH_CLIENT_KEY_FILE: keys.certFile,
      OAUTH_TOKEN_URL: `http://sso.example.net/token?secret=${GENERIC_SECRET}`,
    });
    expect(problems.length).toBeGreaterThanOrEqual(6);
  });
});
