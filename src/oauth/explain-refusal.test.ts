import { explainServerRefusal, tokenClaims, type ServerRefusal } from './explain';

/** A JWT as Microsoft issues app-only tokens for Exchange Online (signature not checked here). */
function jwt(claims: Record<string, unknown>): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ typ: 'JWT', alg: 'RS256', x5t: 'H9nj5AOSswMphg1SFx7jaV-lB9w' })}.${part(claims)}.c2lnbmF0dXJl`;
}

const APP = '3706d681-d8a2-4996-b41a-2426890b46be';
const claims = (roles: string[]) => ({ aud: 'https://outlook.office365.com', iss: 'https://sts.windows.net/2371829a-0c4d-422b-870f-b47456bf4d0c/', appid: APP, idtyp: 'app', roles, tid: '2371829a-0c4d-422b-870f-b47456bf4d0c', exp: 1725840152 });
const outlook = (protocol: 'imap' | 'smtp', roles: string[] | null, response = protocol === 'imap' ? 'AUTHENTICATE failed.' : '535 5.7.3 Authentication unsuccessful [SN2PR00CA0018.namprd00.prod.outlook.com]'): ServerRefusal => ({
  provider: 'microsoft',
  protocol,
  user: 'support@contoso.com',
  response,
  tokenClaims: roles ? tokenClaims(jwt(claims(roles))) : null,
});

describe('explainServerRefusal: Exchange Online', () => {
  it('names the permission a token lacks, for IMAP and for SMTP, with admin consent', () => {
    const imap = explainServerRefusal(outlook('imap', []));
    expect(imap).toEqual({ code: 'missing_permission', reason: expect.stringMatching(new RegExp(`app ${APP} lacks the IMAP\\.AccessAsApp permission.*grant admin consent`)) });
    // The IMAP role does not let it send.
    const smtp = explainServerRefusal(outlook('smtp', ['IMAP.AccessAsApp']));
    expect(smtp).toEqual({ code: 'missing_permission', reason: expect.stringMatching(/lacks the SMTP\.SendAsApp permission/) });
  });

  it('says the mailbox is not granted to the app\'s service principal when the token has the role', () => {
    const imap = explainServerRefusal(outlook('imap', ['IMAP.AccessAsApp', 'SMTP.SendAsApp']));
    expect(imap.code).toBe('mailbox_not_granted');
    expect(imap.reason).toContain(`New-ServicePrincipal -AppId ${APP} -ObjectId`);
    expect(imap.reason).toContain('Add-MailboxPermission -Identity support@contoso.com -User <its service principal> -AccessRights FullAccess');
    expect(imap.reason).not.toContain('Add-RecipientPermission');
    const smtp = explainServerRefusal(outlook('smtp', ['SMTP.SendAsApp']));
    expect(smtp.code).toBe('mailbox_not_granted');
    expect(smtp.reason).toContain('Add-RecipientPermission -Identity support@contoso.com -Trustee <its service principal> -AccessRights SendAs');
  });

  it('says SMTP AUTH is disabled when Exchange Online says so, and quotes the server without a token', () => {
    expect(explainServerRefusal(outlook('smtp', ['SMTP.SendAsApp'], '535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.')).code).toBe('smtp_auth_disabled');
    expect(explainServerRefusal(outlook('imap', null))).toEqual({ code: 'login_refused', reason: expect.stringMatching(/^Exchange Online refused the token for support@contoso\.com \(AUTHENTICATE failed\.\): the app needs IMAP\.AccessAsApp/) });
  });
});

describe('explainServerRefusal: Gmail', () => {
  const gmail = (saslError: unknown): ServerRefusal => ({ provider: 'google', protocol: 'smtp', user: 'help@fabrikam.com', response: '535-5.7.8 Username and Password not accepted. Learn more at\n535 5.7.8  https://support.google.com/mail/?p=BadCredentials c7sm19648018pfp.164 - gsmtp', saslError, tokenClaims: null });
  it('reads the SASL error: 400 with a scope is delegation or scope missing, 401 an invalid token', () => {
    expect(explainServerRefusal(gmail({ status: '400', schemes: 'Bearer', scope: 'https://mail.google.com/' }))).toEqual({ code: 'insufficient_scope', reason: expect.stringMatching(/domain-wide delegation of https:\/\/mail\.google\.com\//) });
    expect(explainServerRefusal(gmail({ status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' }))).toEqual({ code: 'invalid_token', reason: expect.stringMatching(/user in the URL must be the user the token is for/) });
    // OAUTHBEARER's status words (RFC 7628).
    expect(explainServerRefusal(gmail({ status: 'invalid_token', scope: 'https://mail.google.com/' })).code).toBe('invalid_token');
  });

  it('quotes the server when it sent no SASL error', () => {
    const { code, reason } = explainServerRefusal({ ...gmail(false), protocol: 'imap', response: '[AUTHENTICATIONFAILED] Invalid credentials (Failure)' });
    expect(code).toBe('login_refused');
    expect(reason).toContain('([AUTHENTICATIONFAILED] Invalid credentials (Failure))');
  });
});

describe('explainServerRefusal: generic servers', () => {
  it('quotes the server and its SASL status', () => {
    const e = explainServerRefusal({ provider: 'generic', protocol: 'imap', user: 'intake@example.net', response: 'NO [AUTHENTICATIONFAILED] Authentication failed.', saslError: { status: 'invalid_token', schemes: 'bearer', scope: 'mail.imap' }, tokenClaims: null });
    expect(e).toEqual({ code: 'invalid_token', reason: 'The mail server refused the OAuth login for intake@example.net: NO [AUTHENTICATIONFAILED] Authentication failed. (SASL status invalid_token, scope mail.imap); check that OAUTH_SCOPE covers IMAP and that the URL\'s user is the token\'s.' });
    expect(explainServerRefusal({ provider: 'generic', protocol: 'smtp', user: 'u', response: '', tokenClaims: null }).reason).toContain('no reason given');
  });

  it('cuts out a token a buggy server echoes back, in any shape', () => {
    const token = jwt(claims(['IMAP.AccessAsApp']));
    const payload = Buffer.from(`user=intake@example.net\x01auth=Bearer ${token}\x01\x01`).toString('base64');
    for (const response of [`NO token ${token} rejected`, `535 5.7.8 auth=Bearer ya29.a0AfH6SMBxOpaqueToken not accepted`, `NO cannot decode ${payload}`, 'NO access_token="OpaqueValue123" refused', 'NO auth=Bearer opaquevalue123 refused']) {
      for (const provider of ['generic', 'google', 'microsoft'] as const) {
        const { reason } = explainServerRefusal({ provider, protocol: 'imap', user: 'intake@example.net', response, tokenClaims: null });
        for (const secret of [token, token.split('.')[1]!, 'ya29.a0AfH6SMBxOpaqueToken', payload.slice(0, 40), 'OpaqueValue123', 'opaquevalue123']) expect(reason).not.toContain(secret);
        expect(reason).toContain('[redacted]');
      }
    }
  });
});

describe('tokenClaims', () => {
  it('reads a JWT\'s claims and nothing else', () => {
    expect(tokenClaims(jwt(claims(['IMAP.AccessAsApp'])))).toEqual(claims(['IMAP.AccessAsApp']));
    expect(tokenClaims('ya29.a0AfH6SMBx-opaque-google-token')).toBeNull();
    expect(tokenClaims('a.b.c')).toBeNull();
    expect(tokenClaims(`x.${Buffer.from('[1,2]').toString('base64url')}.y`)).toBeNull();
    expect(tokenClaims('')).toBeNull();
  });
});
