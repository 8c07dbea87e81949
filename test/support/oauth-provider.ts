/**
 * Stand-ins for the OAuth providers case-intake logs in to mail with: one HTTPS authority on
 * loopback answering as Microsoft's identity platform (/<tenant>/...), Google's token endpoint
 * (/token) and a plain RFC 6749 server (/generic/token), plus the introspection endpoint the
 * harness's Dovecot checks tokens with. Written from the providers' documented behaviour.
 *
 * Everything starts in a working state (consent given, roles and mailboxes granted, delegation
 * on); a test breaks one thing with the switches below and mends it again.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { OAuthCredential } from '../../src/oauth/credentials';
import { makeHarnessTls, type HarnessTls } from './tls';
import { GMAIL_SCOPE, ProviderState, randomToken, type MailProtocol, type ProviderName, type TokenRequestRecord } from './oauth-state';
import { GOOGLE_TOKEN_PATH } from './oauth-google';
import { GENERIC_TOKEN_PATH } from './oauth-generic';
import { routeRequest } from './oauth-routes';
import { startIntrospection, type IntrospectionRecord } from './oauth-introspection';
import { googleClientSecret, makeGenericClient, makeGoogleAccounts, makeMicrosoftApp, microsoftSecret, renewMicrosoftCertificate, renewServiceAccountKey, writeServiceAccountFile } from './oauth-identities';

export type { MailProtocol, ProviderName, TokenRequestRecord } from './oauth-state';

export interface StartOAuthProviderOptions {
  /** The mail domain's users, who exist at every provider; default ['intake@example.test']. */
  users?: string[];
  /** A CA and certificate to serve with (the caller cleans it up); default: a fresh one that stop() removes. */
  tls?: HarnessTls;
}

export interface OAuthProvider {
  /** The authority, https://127.0.0.1:<port>, with no trailing slash. */
  url: string;
  port: number;
  tls: HarnessTls;
  /** The CA file to pass as NODE_EXTRA_CA_CERTS. */
  caFile: string;
  users: string[];
  microsoft: {
    readonly authorityUrl: string;
    readonly tenantId: string;
    readonly tenantDomain: string;
    readonly clientId: string;
    readonly clientSecret: string;
    readonly certificatePem: string;
    readonly privateKeyPem: string;
    readonly tokenUrl: string;
    readonly openidConfigurationUrl: string;
  };
  google: {
    readonly authorityUrl: string;
    readonly tokenUrl: string;
    /** The service account's JSON key file, rewritten by rotateServiceAccountKey(). */
    readonly serviceAccountFile: string;
    readonly clientEmail: string;
    readonly privateKeyId: string;
    readonly privateKeyPem: string;
    readonly oauthClientId: string;
    readonly oauthClientSecret: string;
  };
  generic: { readonly tokenUrl: string; readonly clientId: string; readonly clientSecret: string; readonly mailScope: string };
  /** Every token request received, oldest first. */
  requests: TokenRequestRecord[];
  /** Every question Dovecot asked the introspection endpoint. */
  introspections: IntrospectionRecord[];
  /** The credential the service would be configured with, as of now. */
  microsoftCredential(proof: 'secret' | 'certificate'): OAuthCredential;
  /** For 'refresh_token', a fresh refresh token for `user` is issued. */
  googleCredential(grant: 'service_account' | 'refresh_token', user: string): OAuthCredential;
  /** Client credentials when `user` is omitted, else a fresh refresh token for `user`. */
  genericCredential(user?: string): OAuthCredential;
  /** A refresh token for `user`, as if the user had consented once (Google: to the mail scope). */
  refreshToken(provider: 'google' | 'generic', user: string): string;
  revokeRefreshToken(refreshToken: string): void;
  restoreRefreshToken(refreshToken: string): void;
  /** Lifetime of tokens issued from now on, in whole seconds (default 3600). */
  setLifetime(seconds: number): void;
  /** Every access token issued so far stops working (refresh tokens are untouched). */
  revokeAll(): void;
  /** The HTTPS listener closes its connections and refuses new ones until up(). */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  /** Replaces the client secret (Microsoft app, Google OAuth client, generic client); the old one stops working. Returns the new one. */
  rotateSecret(provider: ProviderName): string;
  /** The Microsoft app's current secret expires (AADSTS7000222) until rotateSecret('microsoft'). */
  expireSecret(provider: 'microsoft'): void;
  /** A new certificate on the Microsoft app; assertions signed for the old one fail. */
  rotateCertificate(): Promise<void>;
  /** A new key for the service account (new private_key_id, file rewritten); the old key fails. */
  rotateServiceAccountKey(): Promise<void>;
  /** Microsoft: admin consent to the app's permissions (AADSTS65001 without it). */
  setConsent(granted: boolean): void;
  /** Microsoft: the app roles written into tokens issued from now on. */
  setRoles(roles: string[]): void;
  /** Microsoft: the app may open this mailbox (Add-MailboxPermission), checked at each login. */
  grantMailbox(user: string): void;
  revokeMailbox(user: string): void;
  /** Google: domain-wide delegation of the mail scope to the service account. */
  setDelegation(granted: boolean): void;
  /** The decision the harness's mail servers make for a login. */
  validate(token: string, user: string, protocol: MailProtocol): boolean;
  /** The introspection URL for a Dovecot serving `user`. */
  introspectionUrl(user: string): string;
  /** A token for the harness's own logins as `user` (both protocols, an hour, untouched by the switches; revokeAll() still ends it). */
  mint(user: string): string;
  /** Closes everything and deletes the provider's files. Safe to call more than once. */
  stop(): Promise<void>;
}

export async function startOAuthProvider(opts: StartOAuthProviderOptions = {}): Promise<OAuthProvider> {
  const users = (opts.users ?? ['intake@example.test']).map((u) => u.toLowerCase());
  const ownTls = !opts.tls;
  const tls = opts.tls ?? (await makeHarnessTls());
  const dir = await mkdtemp(path.join(os.tmpdir(), 'oauth-provider-'));
  removeAtExit(dir, ownTls ? tls.dir : null);
  const serviceAccountFile = path.join(dir, 'service-account.json');
  let https: Server | null = null;
  const sockets = new Set<Socket>();
  const cleanupFiles = async () => {
    await rm(dir, { recursive: true, force: true });
    if (ownTls) await tls.cleanup();
    leftAtExit.delete(dir);
    if (ownTls) leftAtExit.delete(tls.dir);
  };
  try {
    const [microsoft, google] = await Promise.all([makeMicrosoftApp(users), makeGoogleAccounts()]);
    const state = new ProviderState(new Set(users), microsoft, google, makeGenericClient());
    const listen = async (port: number) => {
      const server = createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => void routeRequest(state, req, res));
      // The TCP socket, not the TLS one: a connection still in its handshake must go down too.
      server.on('connection', (socket: Socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve());
      });
      https = server;
      return (server.address() as AddressInfo).port;
    };
    const port = await listen(0);
    state.url = `https://127.0.0.1:${port}`;
    await writeServiceAccountFile(serviceAccountFile, google, state.url);
    const introspection = await startIntrospection(state);
    let stopped = false;

    const down = async () => {
      const server = https;
      https = null;
      if (!server) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    };
    const provider: OAuthProvider = {
      url: state.url,
      port,
      tls,
      caFile: tls.caFile,
      users,
      microsoft: {
        authorityUrl: state.url,
        tenantId: microsoft.tenantId,
        tenantDomain: microsoft.tenantDomain,
        clientId: microsoft.clientId,
        get clientSecret() { return microsoft.clientSecret; },
        get certificatePem() { return microsoft.certificatePem; },
        get privateKeyPem() { return microsoft.privateKeyPem; },
        tokenUrl: `${state.url}/${microsoft.tenantId}/oauth2/v2.0/token`,
        openidConfigurationUrl: `${state.url}/${microsoft.tenantId}/v2.0/.well-known/openid-configuration`,
      },
      google: {
        authorityUrl: state.url,
        tokenUrl: `${state.url}${GOOGLE_TOKEN_PATH}`,
        serviceAccountFile,
        clientEmail: google.clientEmail,
        get privateKeyId() { return google.privateKeyId; },
        get privateKeyPem() { return google.privateKeyPem; },
        oauthClientId: google.oauthClientId,
        get oauthClientSecret() { return google.oauthClientSecret; },
      },
      generic: {
        tokenUrl: `${state.url}${GENERIC_TOKEN_PATH}`,
        clientId: state.generic.clientId,
        get clientSecret() { return state.generic.clientSecret; },
        mailScope: state.generic.mailScope,
      },
      requests: state.requests,
      introspections: introspection.records,
      microsoftCredential: (proof) => ({
        provider: 'microsoft',
        authorityUrl: state.url,
        tenantId: microsoft.tenantId,
        clientId: microsoft.clientId,
        proof: proof === 'secret' ? { kind: 'secret', clientSecret: microsoft.clientSecret } : { kind: 'certificate', certificatePem: microsoft.certificatePem, privateKeyPem: microsoft.privateKeyPem },
      }),
      googleCredential: (grant, user) => ({
        provider: 'google',
        authorityUrl: state.url,
        grant:
          grant === 'service_account'
            ? { kind: 'service_account', clientEmail: google.clientEmail, privateKeyPem: google.privateKeyPem, privateKeyId: google.privateKeyId, subject: user }
            : { kind: 'refresh_token', clientId: google.oauthClientId, clientSecret: google.oauthClientSecret, refreshToken: provider.refreshToken('google', user) },
      }),
      genericCredential: (user) => ({
        provider: 'generic',
        tokenUrl: `${state.url}${GENERIC_TOKEN_PATH}`,
        clientId: state.generic.clientId,
        clientSecret: state.generic.clientSecret,
        scope: state.generic.mailScope,
        refreshToken: user === undefined ? null : provider.refreshToken('generic', user),
      }),
      refreshToken: (which, user) => state.issueRefreshToken(which, user, which === 'google' ? [GMAIL_SCOPE] : [state.generic.mailScope, 'offline_access']),
      revokeRefreshToken: (token) => state.setRefreshTokenRevoked(token, true),
      restoreRefreshToken: (token) => state.setRefreshTokenRevoked(token, false),
      setLifetime: (seconds) => {
        if (!Number.isInteger(seconds) || seconds < 1) throw new Error(`setLifetime: ${seconds} is not a whole number of seconds >= 1`);
        state.tokens.lifetimeSeconds = seconds;
      },
      revokeAll: () => state.tokens.revokeAll(),
      down,
      up: async () => {
        if (stopped) throw new Error('up() called after stop()');
        if (!https) await listen(port);
      },
      rotateSecret: (which) => {
        if (which === 'microsoft') {
          microsoft.clientSecret = microsoftSecret();
          microsoft.secretExpired = false;
          return microsoft.clientSecret;
        }
        if (which === 'google') return (google.oauthClientSecret = googleClientSecret());
        return (state.generic.clientSecret = randomToken(24));
      },
      expireSecret: () => void (microsoft.secretExpired = true),
      rotateCertificate: () => renewMicrosoftCertificate(microsoft),
      rotateServiceAccountKey: async () => {
        await renewServiceAccountKey(google);
        await writeServiceAccountFile(serviceAccountFile, google, state.url);
      },
      setConsent: (granted) => void (microsoft.consent = granted),
      setRoles: (roles) => void (microsoft.roles = [...roles]),
      grantMailbox: (user) => void microsoft.mailboxes.add(user.toLowerCase()),
      revokeMailbox: (user) => void microsoft.mailboxes.delete(user.toLowerCase()),
      setDelegation: (granted) => void (granted ? google.delegatedScopes.add(GMAIL_SCOPE) : google.delegatedScopes.delete(GMAIL_SCOPE)),
      validate: (token, user, protocol) => state.validate(token, user, protocol),
      introspectionUrl: (user) => introspection.urlFor(user),
      mint: (user) => state.tokens.issue({ provider: 'harness', clientId: 'harness', user: user.toLowerCase(), scopes: [], roles: [] }, () => `harness.${randomToken(32)}`, 3600).token,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await down();
        await introspection.close();
        await cleanupFiles();
      },
    };
    return provider;
  } catch (err) {
    // Assigned inside listen(), which the compiler's flow analysis does not follow.
    (https as Server | null)?.close();
    await cleanupFiles();
    throw err;
  }
}

const leftAtExit = new Set<string>();
let exitHookInstalled = false;

/** A test that never calls stop() (or a worker that dies) leaves no key material in /tmp. */
function removeAtExit(...dirs: Array<string | null>): void {
  for (const d of dirs) if (d) leftAtExit.add(d);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const d of leftAtExit) rmSync(d, { recursive: true, force: true });
  });
}
