import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { appendMessage, startDovecot, type DovecotServer } from './dovecot';
import { postForm } from './https-form';
import { imapLogin, imapXoauth2, smtpXoauth2 } from './mail-auth';
import { startOAuthProvider, type OAuthProvider } from './oauth-provider';
import { startSmtpSink, XOAUTH2_FAILURE, type SmtpSink } from './smtp-sink';

const USER = 'intake@example.test';
const OTHER = 'other@example.test';

function rawMessage(subject: string): string {
  return ['From: Customer <customer@example.test>', `To: ${USER}`, `Subject: ${subject}`, 'Date: Mon, 03 Mar 2025 10:00:00 +0000', '', `Body of ${subject}`, ''].join('\r\n');
}

describe('OAuth harness: Dovecot and the SMTP sink take tokens only', () => {
  let p: OAuthProvider;
  let dovecot: DovecotServer;
  let sink: SmtpSink;
  const tokensUsed: string[] = [];
  const clients: ImapFlow[] = [];

  beforeAll(async () => {
    p = await startOAuthProvider({ users: [USER, OTHER] });
    [dovecot, sink] = await Promise.all([
      startDovecot({ user: USER, oauth: { introspectionUrl: p.introspectionUrl(USER), mint: (u) => p.mint(u) } }),
      startSmtpSink({ oauth: { validate: (token, user) => p.validate(token, user, 'smtp') } }),
    ]);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all([dovecot?.stop(), sink?.stop()]);
    await p?.stop();
  });

  /** An app-only token from the Microsoft endpoint, as the service would get it. */
  async function microsoftToken(): Promise<string> {
    const answer = await postForm(p.microsoft.tokenUrl, p.tls.caPem, { grant_type: 'client_credentials', client_id: p.microsoft.clientId, client_secret: p.microsoft.clientSecret, scope: 'https://outlook.office365.com/.default' });
    const token = String(answer.json.access_token);
    tokensUsed.push(token);
    return token;
  }
  function imap(token: string): ImapFlow {
    const client = new ImapFlow({ host: dovecot.host, port: dovecot.port, secure: false, auth: { user: USER, accessToken: token }, logger: false });
    clients.push(client);
    return client;
  }

  it('describes itself as an OAuth server with a URL without password', () => {
    expect({ auth: dovecot.auth, password: dovecot.password, url: dovecot.url }).toEqual({ auth: 'oauth2', password: '', url: `imap://intake%40example.test@127.0.0.1:${dovecot.port}/INBOX` });
  });

  it('logs in with a provider token over OAUTHBEARER (imapflow) and XOAUTH2, asking the introspection endpoint each time', async () => {
    const token = await microsoftToken();
    const asked = p.introspections.length;
    const client = imap(token);
    await client.connect();
    expect((await client.mailboxOpen('INBOX')).path).toBe('INBOX');
    await client.logout();
    expect((await imapXoauth2(dovecot.port, USER, token)).ok).toBe(true);
    expect(p.introspections.slice(asked)).toEqual([
      { user: USER, active: true },
      { user: USER, active: true },
    ]);
    const logins = (await readFile(path.join(dovecot.dir, 'dovecot.log'), 'utf8')).split('\n').filter((l) => l.includes(': Login: '));
    expect(logins.slice(-2).map((l) => /method=(\w+)/.exec(l)?.[1])).toEqual(['OAUTHBEARER', 'XOAUTH2']);
  });

  it('offers no password login at all', async () => {
    const greeting = (await imapLogin(dovecot.port, USER, 'anything')).lines[0]!;
    expect(greeting).toContain('AUTH=XOAUTH2 AUTH=OAUTHBEARER');
    expect(greeting).not.toMatch(/AUTH=(PLAIN|LOGIN)/);
    expect((await imapLogin(dovecot.port, USER, 'anything')).ok).toBe(false);
  });

  it("refuses an expired, a revoked and another user's token with the OAuth error continuation", async () => {
    p.setLifetime(1);
    const shortLived = await microsoftToken();
    p.setLifetime(3600);
    const revoked = await microsoftToken();
    p.revokeAll();
    const googleForOther = String((await postForm(p.google.tokenUrl, p.tls.caPem, { grant_type: 'refresh_token', client_id: p.google.oauthClientId, client_secret: p.google.oauthClientSecret, refresh_token: p.refreshToken('google', OTHER) })).json.access_token);
    tokensUsed.push(googleForOther);
    await new Promise((r) => setTimeout(r, 1100));

    for (const token of [shortLived, revoked, googleForOther]) {
      const outcome = await imapXoauth2(dovecot.port, USER, token);
      expect({ ok: outcome.ok, status: outcome.challenge?.status, final: outcome.final }).toEqual({ ok: false, status: '401', final: expect.stringMatching(/^a1 NO \[AUTHENTICATIONFAILED\]/) });
    }
    await expect(imap(revoked).connect()).rejects.toMatchObject({ authenticationFailed: true });
    // The token is good, the login name is not the mailbox it is for.
    const other = await imapXoauth2(dovecot.port, OTHER, googleForOther);
    expect(other.ok).toBe(false);
    expect((await imapXoauth2(dovecot.port, USER, await microsoftToken())).ok).toBe(true);
  });

  it('appendMessage logs in with a minted token, or with the token passed', async () => {
    const first = await appendMessage(dovecot, rawMessage('Minted login'));
    const second = await appendMessage(dovecot, rawMessage('Passed token'), ['\\Seen'], await microsoftToken());
    expect(second).toBeGreaterThan(first);
    await expect(appendMessage(dovecot, rawMessage('Refused'), undefined, 'not-a-token')).rejects.toThrow();
  });

  it('kick() drops a live IDLE session, as a provider revoking access does', async () => {
    const client = imap(await microsoftToken());
    await client.connect();
    await client.mailboxOpen('INBOX');
    let timer: NodeJS.Timeout | undefined;
    const closed = new Promise<string>((resolve) => {
      client.once('close', () => resolve('closed'));
      timer = setTimeout(() => resolve('still open after 3 s'), 3000);
    });
    const idling = client.idle().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
    expect(client.idling).toBe(true);
    expect(await dovecot.kick()).toBe(true);
    expect(await closed).toBe('closed');
    clearTimeout(timer);
    await idling;
    expect(client.usable).toBe(false);
    // Anvil may list the dying session a moment longer; then there is nothing left to kick.
    let again = true;
    for (let i = 0; i < 20 && again; i++) {
      again = await dovecot.kick();
      if (again) await new Promise((r) => setTimeout(r, 100));
    }
    expect(again).toBe(false);
  });

  it('keeps tokens out of its log', async () => {
    const log = await readFile(path.join(dovecot.dir, 'dovecot.log'), 'utf8');
    expect(log).toContain('method=OAUTHBEARER');
    for (const token of tokensUsed) expect(log).not.toContain(token);
  });

  it('SMTP: offers only AUTH XOAUTH2 and refuses mail before it', async () => {
    const outcome = await smtpXoauth2(sink.port, USER, 'not-a-token');
    expect(outcome.ehlo.filter((l) => /AUTH/.test(l)).map((l) => l.slice(4))).toEqual(['AUTH XOAUTH2']);
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: sink.port, secure: false, ignoreTLS: true });
    await expect(transport.sendMail({ from: USER, to: 'customer@example.test', subject: 'No auth', text: 'x' })).rejects.toMatchObject({ responseCode: 530 });
  });

  it('SMTP: accepts a valid token through nodemailer and records who sent', async () => {
    const token = await microsoftToken();
    const attempts = sink.authAttempts.length;
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: sink.port, secure: false, ignoreTLS: true, auth: { type: 'OAuth2', user: USER, accessToken: token } });
    await transport.sendMail({ from: USER, to: 'customer@example.test', subject: 'Sent with a token', text: 'hello' });
    expect(sink.to('customer@example.test', /Sent with a token/)).toHaveLength(1);
    expect(sink.to('customer@example.test', /Sent with a token/)[0]!.authUser).toBe(USER);
    expect(sink.authAttempts.slice(attempts)).toEqual([{ user: USER, accepted: true }]);
  });

  it("SMTP: refuses a token without the role, or for another user, with Gmail's continuation and 535", async () => {
    p.setRoles(['IMAP.AccessAsApp']);
    const imapOnly = await microsoftToken();
    p.setRoles(['IMAP.AccessAsApp', 'SMTP.SendAsApp']);
    const attempts = sink.authAttempts.length;
    const outcome = await smtpXoauth2(sink.port, USER, imapOnly);
    expect({ ok: outcome.ok, challenge: outcome.challenge, final: outcome.final.slice(0, 3) }).toEqual({ ok: false, challenge: XOAUTH2_FAILURE, final: '535' });
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: sink.port, secure: false, ignoreTLS: true, auth: { type: 'OAuth2', user: 'stranger@example.test', accessToken: await microsoftToken() } });
    await expect(transport.sendMail({ from: USER, to: 'customer@example.test', subject: 'Refused', text: 'x' })).rejects.toMatchObject({ responseCode: 535 });
    // nodemailer asks for a fresh token after the continuation and tries once more.
    expect(sink.authAttempts.slice(attempts)).toEqual([
      { user: USER, accepted: false },
      { user: 'stranger@example.test', accepted: false },
      { user: 'stranger@example.test', accepted: false },
    ]);
    expect(sink.to('customer@example.test', /Refused/)).toHaveLength(0);
    const recorded = JSON.stringify([sink.authAttempts, sink.messages.map((m) => m.raw.toString())]);
    for (const token of tokensUsed) expect(recorded).not.toContain(token);
  });
});

describe('startDovecot with oauth: what it makes of the introspection answer', () => {
  let answer: Record<string, unknown> = {};
  const posted: string[] = [];
  let introspection: Server;
  let dovecot: DovecotServer;

  beforeAll(async () => {
    // A fixed answer instead of the provider's, to pin down what Dovecot itself requires.
    introspection = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        posted.push(`${req.method} ${req.headers['content-type']} ${body}`);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((resolve) => introspection.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(introspection.address() as AddressInfo).port}/introspect`;
    dovecot = await startDovecot({ user: USER, oauth: { introspectionUrl: url } });
  });
  afterAll(async () => {
    await dovecot?.stop();
    await new Promise((resolve) => introspection?.close(resolve));
  });

  it.each<[string, Record<string, unknown>, boolean]>([
    ['active with the login name', { active: true, username: USER }, true],
    ['active with the name in another case', { active: true, username: USER.toUpperCase() }, true],
    ['inactive though naming the user', { active: false, username: USER }, false],
    ['active for another user', { active: true, username: OTHER }, false],
    ['active without a username', { active: true }, false],
  ])('an answer %s: the login is let in only if it should be', async (_name, reply, ok) => {
    answer = reply;
    expect((await imapXoauth2(dovecot.port, USER, 'opaque-token-1')).ok).toBe(ok);
    // Dovecot 2.3 adds its (empty) client_id and client_secret to the form.
    expect(posted.at(-1)).toMatch(/^POST application\/x-www-form-urlencoded token=opaque-token-1(&|$)/);
  });

  it('appendMessage needs a token when no mint was given', async () => {
    await expect(appendMessage(dovecot, rawMessage('No token'))).rejects.toThrow(/accessToken/);
  });
});

describe('startSmtpSink without oauth, as before', () => {
  it('offers no AUTH and takes mail from anyone', async () => {
    const sink = await startSmtpSink();
    try {
      const ehlo = (await smtpXoauth2(sink.port, USER, 'irrelevant')).ehlo;
      expect(ehlo.some((l) => /AUTH/.test(l))).toBe(false);
      await nodemailer.createTransport({ host: '127.0.0.1', port: sink.port, secure: false, ignoreTLS: true }).sendMail({ from: USER, to: 'customer@example.test', subject: 'Plain', text: 'x' });
      expect(sink.to('customer@example.test', /Plain/).map((m) => m.authUser)).toEqual([null]);
      expect(sink.authAttempts).toEqual([]);
    } finally {
      await sink.stop();
    }
  });
});
