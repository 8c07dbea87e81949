/**
 * The whole service as an operator runs it (`node bin/case-intake.js start`, configured by its
 * environment alone) against mailboxes that take only OAuth tokens: a Dovecot whose oauth2
 * passdb asks the harness's token service, an SMTP server taking only XOAUTH2, and the
 * providers' token endpoints on loopback HTTPS, trusted through NODE_EXTRA_CA_CERTS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDirectoryFile } from '../../src/directory/file-format';
import { importDirectory } from '../../src/directory/import';
import { NO_DIRECTORY_EFFECTS } from '../../src/directory/changes';
import { BIN, ROOT } from './cli';
import { startDovecot, type DovecotServer } from './dovecot';
import { createTestApp, eventually, within, type TestApp } from './env';
import { startOAuthProvider, type OAuthProvider } from './oauth-provider';
import { freePort, startSmtpSink, type SmtpSink } from './smtp-sink';

export const MAILBOX_USER = 'support@contoso.test';

export type Flow = 'microsoft-secret' | 'microsoft-certificate' | 'google-service-account' | 'google-refresh-token' | 'generic-client-credentials' | 'generic-refresh-token';

export interface OAuthWorld {
  app: TestApp;
  provider: OAuthProvider;
  dovecot: DovecotServer;
  smtp: SmtpSink;
  /** The OAUTH_* variables of a flow, as of now (a refresh token is issued for the flow's user). */
  flowEnv(flow: Flow): Promise<Record<string, string>>;
  /** Runs `body` with the provider issuing tokens of `seconds`, then back to an hour. */
  withTokenLifetime<T>(seconds: number, body: () => Promise<T>): Promise<T>;
  /** Starts `case-intake start` with the mailbox and SMTP on OAuth and the given variables on top. */
  start(extra: Record<string, string>): Promise<ServiceProcess>;
  close(): Promise<void>;
}

export interface ServiceProcess {
  child: ChildProcess;
  base: string;
  /** Everything the process wrote to stdout and stderr so far (its logs). */
  output(): string;
  readyz(): Promise<{ status: number; body: { mailbox: { state: string; lastError?: string | null } } }>;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

const enc = encodeURIComponent;

export async function startOAuthWorld(): Promise<OAuthWorld> {
  const app = await createTestApp();
  const directory = parseDirectoryFile(JSON.parse(await readFile(join(ROOT, 'fixtures/directory.json'), 'utf8')));
  await importDirectory(app.ctx.db, directory, { replace: false, effects: NO_DIRECTORY_EFFECTS });
  const provider = await startOAuthProvider({ users: [MAILBOX_USER] });
  provider.grantMailbox(MAILBOX_USER);
  const dovecot = await startDovecot({ user: MAILBOX_USER, oauth: { introspectionUrl: provider.introspectionUrl(MAILBOX_USER), mint: (u) => provider.mint(u) } });
  const smtp = await startSmtpSink({ oauth: { validate: (token, user) => provider.validate(token, user, 'smtp') } });
  const processes = new Set<ServiceProcess>();
  // The app's certificate and key as an operator keeps them: PEM files the service reads at start.
  const files = await mkdtemp(join(tmpdir(), 'oauth-service-'));
  const certFile = join(files, 'app-cert.pem');
  const keyFile = join(files, 'app-key.pem');

  const flowEnv = async (flow: Flow): Promise<Record<string, string>> => {
    const m = provider.microsoft;
    switch (flow) {
      case 'microsoft-secret':
        return { OAUTH_PROVIDER: 'microsoft', OAUTH_AUTHORITY_URL: provider.url, OAUTH_TENANT_ID: m.tenantId, OAUTH_CLIENT_ID: m.clientId, OAUTH_CLIENT_SECRET: m.clientSecret };
      case 'microsoft-certificate':
        await writeFile(certFile, m.certificatePem);
        await writeFile(keyFile, m.privateKeyPem, { mode: 0o600 });
        return { OAUTH_PROVIDER: 'microsoft', OAUTH_AUTHORITY_URL: provider.url, OAUTH_TENANT_ID: m.tenantId, OAUTH_CLIENT_ID: m.clientId, OAUTH_CLIENT_CERT_FILE: certFile, OAUTH_CLIENT_KEY_FILE: keyFile };
      case 'google-service-account':
        return { OAUTH_PROVIDER: 'google', OAUTH_AUTHORITY_URL: provider.url, GOOGLE_SERVICE_ACCOUNT_FILE: provider.google.serviceAccountFile };
      case 'google-refresh-token':
        return { OAUTH_PROVIDER: 'google', OAUTH_AUTHORITY_URL: provider.url, OAUTH_CLIENT_ID: provider.google.oauthClientId, OAUTH_CLIENT_SECRET: provider.google.oauthClientSecret, OAUTH_REFRESH_TOKEN: provider.refreshToken('google', MAILBOX_USER) };
      case 'generic-client-credentials':
        return { OAUTH_PROVIDER: 'generic', OAUTH_TOKEN_URL: provider.generic.tokenUrl, OAUTH_CLIENT_ID: provider.generic.clientId, OAUTH_CLIENT_SECRET: provider.generic.clientSecret, OAUTH_SCOPE: provider.generic.mailScope };
      case 'generic-refresh-token':
        return { ...(await flowEnv('generic-client-credentials')), OAUTH_REFRESH_TOKEN: provider.refreshToken('generic', MAILBOX_USER) };
    }
  };

  const start = async (extra: Record<string, string>): Promise<ServiceProcess> => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      NODE_EXTRA_CA_CERTS: provider.caFile,
      DATABASE_URL: app.database.url,
      REDIS_URL: app.ctx.config.redisUrl,
      QUEUE_PREFIX: app.ctx.config.queuePrefix,
      SUPPORT_ADDRESS: MAILBOX_USER,
      PUBLIC_URL: base,
      PORT: String(port),
      IMAP_URL: `imap://${enc(MAILBOX_USER)}@127.0.0.1:${dovecot.port}/INBOX`,
      IMAP_AUTH: 'oauth2',
      IMAP_POLL_SECONDS: '1',
      SMTP_URL: `smtp://${enc(MAILBOX_USER)}@127.0.0.1:${smtp.port}`,
      SMTP_AUTH: 'oauth2',
      LOG_LEVEL: 'info',
      ...extra,
    };
    const child = spawn(process.execPath, [BIN, 'start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const service: ServiceProcess = {
      child,
      base,
      output: () => output,
      async readyz() {
        const res = await fetch(`${base}/readyz`);
        return { status: res.status, body: (await res.json()) as Awaited<ReturnType<ServiceProcess['readyz']>>['body'] };
      },
      async metrics() {
        return (await fetch(`${base}/metrics`)).text();
      },
      async stop() {
        processes.delete(service);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        if ((await within(exited, 15_000, () => 'late' as const)) === 'late') {
          child.kill('SIGKILL');
          await exited;
        }
      },
    };
    processes.add(service);
    await eventually(() => fetch(`${base}/healthz`).then((r) => r.ok, () => false), 20_000, `the service on ${base} to answer`);
    return service;
  };

  return {
    app,
    provider,
    dovecot,
    smtp,
    flowEnv,
    start,
    async withTokenLifetime(seconds, body) {
      provider.setLifetime(seconds);
      try {
        return await body();
      } finally {
        provider.setLifetime(3600);
      }
    },
    async close() {
      await Promise.all([...processes].map((p) => p.stop()));
      await smtp.stop();
      await dovecot.stop();
      await provider.stop();
      await app.close();
      await rm(files, { recursive: true, force: true });
    },
  };
}

/** A world for a test file: started before its tests, closed after them (the returned object is filled in by then). */
export function oauthWorldForTests(): OAuthWorld {
  const world = {} as OAuthWorld;
  beforeAll(async () => {
    Object.assign(world, await startOAuthWorld());
  }, 60_000);
  afterAll(async () => world.close?.());
  return world;
}

/** Anything in a log that looks like an access token: a JWT (Microsoft's) or Google's ya29. */
export const TOKEN_SHAPED = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}|ya29\.[A-Za-z0-9_-]{8,}/;

/** Cases taken in so far (one per message the mailbox held). */
export async function casesTakenIn(app: TestApp): Promise<number> {
  const row = await app.ctx.db.selectFrom('raw_messages').select((eb) => eb.fn.countAll<string>().as('n')).where('status', '=', 'case').executeTakeFirstOrThrow();
  return Number(row.n);
}
