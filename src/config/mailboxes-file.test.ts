import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeKeyFiles, type KeyFiles } from '../../test/support/key-files';
import { GOOGLE_AUTHORITY, MICROSOFT_AUTHORITY } from '../oauth/credentials';
import { ConfigError, loadConfig } from './config';

const CONTOSO_SECRET = 'Contoso~Secret.Value-9';
const EXAMPLE_PASSWORD = 'example-imap-Password';
const INLINE_PASSWORD = 'inline-Password-in-file';

let keys: KeyFiles;
let written = 0;
beforeAll(() => (keys = makeKeyFiles()));
afterAll(() => keys?.cleanup());

/** A MAILBOXES_FILE in its own directory under the key files' temp dir. */
function mailboxesFile(content: unknown): string {
  const dir = join(keys.dir, `mailboxes-${++written}`);
  mkdirSync(dir);
  const path = join(dir, 'mailboxes.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const keyBody = keys.serviceAccount.private_key.split('\n')[1]!;
    for (const secret of [CONTOSO_SECRET, EXAMPLE_PASSWORD, INLINE_PASSWORD, keyBody]) expect(err.message).not.toContain(secret);
    return err.problems;
  }
  throw new Error('the configuration loaded');
}

const contoso = { url: 'imaps://support%40contoso.com@outlook.office365.com/INBOX', auth: { method: 'oauth2', provider: 'microsoft', tenantId: 'contoso.onmicrosoft.com', clientId: 'app-contoso', clientSecret: { env: 'CONTOSO_SECRET' } } };

describe('MAILBOXES_FILE', () => {
  it('reads each mailbox with its own login, secrets from the environment and paths relative to the file', () => {
    const file = mailboxesFile([
      contoso,
      { url: 'imaps://help%40fabrikam.com@imap.gmail.com/INBOX', auth: { method: 'oauth2', provider: 'google', serviceAccountFile: 'fabrikam-sa.json' } },
      { url: 'imaps://intake@mail.example.net/INBOX', auth: { method: 'password', password: { env: 'EXAMPLE_PW' } } },
      { url: 'imaps://second@mail.example.net/INBOX', auth: { method: 'password', password: INLINE_PASSWORD } },
      { url: 'imap://support:support@127.0.0.1:143/INBOX' },
    ]);
    copyFileSync(keys.serviceAccountFile, join(file, '../fabrikam-sa.json'));
    const c = loadConfig({ MAILBOXES_FILE: file, CONTOSO_SECRET, EXAMPLE_PW: EXAMPLE_PASSWORD });
    expect(c.mailboxes.map((m) => m.id)).toEqual(['imaps://support%40contoso.com@outlook.office365.com:993/INBOX', 'imaps://help%40fabrikam.com@imap.gmail.com:993/INBOX', 'imaps://intake@mail.example.net:993/INBOX', 'imaps://second@mail.example.net:993/INBOX', 'imap://support@127.0.0.1:143/INBOX']);
    expect(c.mailboxes.map((m) => m.auth)).toEqual([
      { method: 'oauth2', user: 'support@contoso.com', credential: { provider: 'microsoft', authorityUrl: MICROSOFT_AUTHORITY, tenantId: 'contoso.onmicrosoft.com', clientId: 'app-contoso', proof: { kind: 'secret', clientSecret: CONTOSO_SECRET } } },
      {
        method: 'oauth2',
        user: 'help@fabrikam.com',
        credential: { provider: 'google', authorityUrl: GOOGLE_AUTHORITY, grant: { kind: 'service_account', clientEmail: keys.serviceAccount.client_email, privateKeyPem: keys.serviceAccount.private_key, privateKeyId: keys.serviceAccount.private_key_id, subject: 'help@fabrikam.com' } },
      },
      { method: 'password', user: 'intake', password: EXAMPLE_PASSWORD },
      { method: 'password', user: 'second', password: INLINE_PASSWORD },
      { method: 'password', user: 'support', password: 'support' },
    ]);
    expect(c.smtpOAuth).toBeNull();
  });

  it('takes SMTP_AUTH=oauth2 from the OAUTH_* variables beside a file of mailboxes', () => {
    const c = loadConfig({ MAILBOXES_FILE: mailboxesFile([contoso]), CONTOSO_SECRET, SMTP_AUTH: 'oauth2', SMTP_URL: 'smtp://out%40contoso.com@smtp.office365.com:587', OAUTH_PROVIDER: 'microsoft', OAUTH_TENANT_ID: 't', OAUTH_CLIENT_ID: 'app-smtp', OAUTH_CLIENT_SECRET: 'smtp-secret' });
    expect(c.smtpOAuth).toEqual({ user: 'out@contoso.com', credential: { provider: 'microsoft', authorityUrl: MICROSOFT_AUTHORITY, tenantId: 't', clientId: 'app-smtp', proof: { kind: 'secret', clientSecret: 'smtp-secret' } } });
  });

  it('refuses IMAP_URL and IMAP_AUTH beside it, and OAUTH_* nothing uses, with the schema\'s problems', () => {
    const file = mailboxesFile([contoso]);
    expect(problemsOf({ MAILBOXES_FILE: file, CONTOSO_SECRET, IMAP_URL: 'imap://a:b@mx.test', IMAP_AUTH: 'oauth2', OAUTH_CLIENT_ID: 'x', PORT: '-1' })).toEqual([
      expect.stringMatching(/^PORT: /),
      'IMAP_URL: not used with MAILBOXES_FILE, which lists the mailboxes; set only one of them',
      'IMAP_AUTH: not used with MAILBOXES_FILE, where each entry has its own auth; remove it',
      'OAUTH_CLIENT_ID: not used, as SMTP_AUTH is not oauth2, and MAILBOXES_FILE entries carry their own auth; remove it or set the oauth2 login that needs it',
    ]);
  });

  it('lists every entry\'s problems at once, named MAILBOXES_FILE[<i>].<field>', () => {
    const file = mailboxesFile([
      { url: contoso.url, auth: { ...contoso.auth, tenantID: 'typo', clientSecret: { env: 'UNSET_SECRET' } } },
      { url: 'https://mail.example.net/INBOX', extra: true },
      { url: 'imaps://outlook.office365.com/INBOX', auth: { method: 'oauth2', provider: 'microsoft', clientId: 'c', clientSecret: CONTOSO_SECRET, scope: 'x' } },
      { url: `imaps://intake:${INLINE_PASSWORD}@mail.example.net/INBOX`, auth: { method: 'password', password: { env: 'EXAMPLE_PW' } } },
      { url: 'imaps://x@mail.example.net/INBOX', auth: { method: 'token' } },
      { url: 'imaps://y@mail.example.net/INBOX', auth: { method: 'password', password: 42 } },
      { url: 'imaps://z@mail.example.net/INBOX', auth: { method: 'password', password: { env: 'lower case!' } } },
      { url: 'imaps://help%40fabrikam.com@imap.gmail.com/INBOX', auth: { method: 'oauth2', provider: 'google', serviceAccountFile: 'missing-sa.json' } },
      { url: 'imaps://intake@mail.example.net:993/INBOX' },
      'imaps://not-an-object@mail.example.net/INBOX',
      { url: 'imaps://w@mail.example.net/INBOX', auth: { method: 'password', password: { env: 'mixed_Case' } } },
    ]);
    expect(problemsOf({ MAILBOXES_FILE: file, EXAMPLE_PW: EXAMPLE_PASSWORD })).toEqual([
      'MAILBOXES_FILE[0].auth.tenantID: unknown field',
      'MAILBOXES_FILE[0].auth.clientSecret: the environment variable UNSET_SECRET is not set',
      'MAILBOXES_FILE[1].extra: unknown field',
      'MAILBOXES_FILE[1].url: must be a URL starting with imap:// or imaps://',
      expect.stringMatching(/^MAILBOXES_FILE\[2\]\.url: must name the mailbox's user/),
      'MAILBOXES_FILE[2].auth.scope: not used with provider microsoft; remove it',
      expect.stringMatching(/^MAILBOXES_FILE\[2\]\.auth\.tenantId: required with provider microsoft/),
      'MAILBOXES_FILE[3].url: names a password, but MAILBOXES_FILE[3].auth gives the login; remove the password from the URL',
      'MAILBOXES_FILE[4].auth.method: method must be "password" or "oauth2"',
      'MAILBOXES_FILE[5].auth.password: must be a string or { "env": "NAME" }',
      'MAILBOXES_FILE[6].auth.password.env: must name an environment variable',
      `MAILBOXES_FILE[7].auth.serviceAccountFile: cannot read ${join(file, '../missing-sa.json')} (no such file)`,
      'MAILBOXES_FILE[8].url: the same mailbox as MAILBOXES_FILE[3] (imaps://intake@mail.example.net:993/INBOX)',
      expect.stringMatching(/^MAILBOXES_FILE\[9\]: Invalid input: expected object/),
      // Not a conventional name, so perhaps a secret in the wrong place: not repeated.
      'MAILBOXES_FILE[10].auth.password: the environment variable it names is not set',
    ]);
  });

  it('names a file that cannot be read, is not JSON (by line, never its text) or lists no mailboxes', () => {
    const absent = join(keys.dir, 'absent.json');
    expect(problemsOf({ MAILBOXES_FILE: absent })).toEqual([`MAILBOXES_FILE: cannot read ${absent} (no such file)`]);
    const broken = mailboxesFile(`[\n  { "url": "imaps://a@b/INBOX",\n    "auth": { "method": "password", "password": "${INLINE_PASSWORD}" }\n  ,\n]`);
    expect(problemsOf({ MAILBOXES_FILE: broken })).toEqual([`MAILBOXES_FILE: ${broken} is not valid JSON (line 5)`]);
    for (const content of ['{}', '[]']) expect(problemsOf({ MAILBOXES_FILE: mailboxesFile(content) })).toEqual([expect.stringMatching(/must hold a JSON array with one entry per mailbox$/)]);
    expect(readFileSync(broken, 'utf8')).toContain(INLINE_PASSWORD);
  });
});
