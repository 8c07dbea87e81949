/**
 * A private, throwaway Dovecot IMAP server for integration tests.
 *
 * Every call to `startDovecot()` gets its own temporary directory, its own config, its own
 * `base_dir` and its own loopback port, so parallel jest workers never share state and nothing
 * from /etc/dovecot (or a system Dovecot that the Debian package may have started) is involved.
 * It takes either a password or, with `oauth`, OAuth 2.0 bearer tokens only (dovecot-config.ts).
 */
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { renderConfig, resolveAccounts, writeOAuthFile, writePasswordFile, type AuthConfig } from './dovecot-config';
import { DOVECOT_BINARY, DovecotInstance, DovecotStartError } from './dovecot-instance';
import { findFreePort } from './dovecot-process';

export interface DovecotServer {
  host: string;
  port: number;
  user: string;
  /** The login password; '' when the server takes OAuth tokens only. */
  password: string;
  /** How the server checks logins. */
  auth: 'password' | 'oauth2';
  /** Always 'INBOX': the only mailbox the harness guarantees to exist. */
  mailbox: string;
  /**
   * imap://user:password@127.0.0.1:port/INBOX, with user and password URL-encoded; with OAuth,
   * imap://user@127.0.0.1:port/INBOX.
   */
  url: string;
  /** The temporary directory holding config, runtime files, log and mail. */
  dir: string;
  /** Terminates the server and deletes `dir`. Safe to call more than once. */
  stop(): Promise<void>;
  /** Stops the server process (keeping the mail) and starts it again on the same port. */
  restart(): Promise<void>;
  /**
   * Drops every live IMAP session of `user` (default: the server's user) with `doveadm kick`, as
   * a provider does when it revokes access mid-session. Resolves once doveadm has signalled them:
   * true, or false when the user had no session.
   */
  kick(user?: string): Promise<boolean>;
  /** With OAuth: a token for the harness's own logins (appendMessage), when `oauth.mint` was given. */
  harnessToken?: () => string;
}

export interface StartDovecotOptions {
  user?: string;
  /** Password mode only. */
  password?: string;
  /**
   * Take OAuth 2.0 bearer tokens only (SASL XOAUTH2 and OAUTHBEARER), each checked at this
   * introspection URL (e.g. OAuthProvider.introspectionUrl(user)); no password login at all.
   * `mint` makes tokens for appendMessage, e.g. (user) => provider.mint(user).
   */
  oauth?: { introspectionUrl: string; mint?: (user: string) => string };
}

/** Dovecot's default auth_username_chars; anything else would be silently rejected at login. */
const SAFE_USERNAME = /^[A-Za-z0-9._@-]+$/;

export async function startDovecot(opts: StartDovecotOptions = {}): Promise<DovecotServer> {
  if (!existsSync(DOVECOT_BINARY)) {
    throw new Error(
      `${DOVECOT_BINARY} not found: the IMAP integration tests need Dovecot. ` +
        'Install it with `bash scripts/ensure-dovecot.sh`.',
    );
  }
  const user = opts.user ?? 'intake';
  if (opts.oauth && opts.password !== undefined) throw new Error('startDovecot: a password and oauth exclude each other');
  const password = opts.oauth ? '' : (opts.password ?? 'intake-password');
  if (!SAFE_USERNAME.test(user)) {
    throw new Error(`startDovecot: user ${JSON.stringify(user)} must match ${String(SAFE_USERNAME)}`);
  }

  const accounts = resolveAccounts();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dovecot-test-'));
  const homeDir = path.join(dir, 'home');
  let auth: AuthConfig;
  try {
    // mkdtemp gives 0700 and Dovecot's unprivileged processes (auth reads the passwd-file, imap
    // opens the maildir) must be able to traverse into it.
    await chmod(dir, 0o755);
    await mkdir(homeDir);
    // Dovecot refuses to serve mail as uid 0, so the mail processes run as an unprivileged
    // account that has to own its home/maildir.
    await chown(homeDir, accounts.mail.uid, accounts.mail.gid);
    await mkdir(path.join(dir, 'state'));
    if (opts.oauth) {
      await writeOAuthFile(dir, opts.oauth.introspectionUrl);
      auth = { kind: 'oauth2', homeDir };
    } else {
      await writePasswordFile(dir, user, password, accounts.mail, homeDir);
      auth = { kind: 'password' };
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  // The port is only reserved until we close the probe socket, so another process can grab it
  // before Dovecot binds; retrying with a fresh port makes that race harmless.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await findFreePort();
    await writeFile(path.join(dir, 'dovecot.conf'), renderConfig(dir, port, accounts, auth));
    const instance = new DovecotInstance(dir, port);
    try {
      await instance.start();
    } catch (err) {
      lastError = err;
      await instance.kill();
      if (err instanceof DovecotStartError && err.addressInUse) continue;
      break;
    }
    const mint = opts.oauth?.mint;
    return instance.toServer(user, password, auth.kind, mint ? () => mint(user) : undefined);
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

/**
 * Appends a message to INBOX over a separate connection, as a mail delivery would, and returns
 * the UID the server reported (Dovecot supports UIDPLUS). An OAuth server is logged in to with
 * `accessToken`, else with a token from the server's `harnessToken`.
 */
export async function appendMessage(
  server: DovecotServer,
  raw: string | Buffer,
  flags?: string[],
  accessToken?: string,
): Promise<number> {
  const client = new ImapFlow({
    host: server.host,
    port: server.port,
    secure: false,
    auth: server.auth === 'oauth2' ? { user: server.user, accessToken: accessToken ?? harnessToken(server) } : { user: server.user, pass: server.password },
    logger: false,
  });
  await client.connect();
  try {
    const result = await client.append(server.mailbox, raw, flags);
    if (result === false || result.uid === undefined) {
      throw new Error(`APPEND to ${server.mailbox} did not report a UID: ${JSON.stringify(result)}`);
    }
    return result.uid;
  } finally {
    await client.logout().catch(() => client.close());
  }
}

function harnessToken(server: DovecotServer): string {
  if (!server.harnessToken) throw new Error('appendMessage: this Dovecot takes OAuth tokens only; pass an accessToken or start it with oauth.mint');
  return server.harnessToken();
}
