import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import type { ImapTarget } from '../config/config';
import { explainServerRefusal, tokenClaims } from '../oauth/explain';
import { TokenRequestError } from '../oauth/token-client';
import type { TokenSource } from '../oauth/token-cache';

/** The mailbox's credentials do not work: nothing a reconnect alone can fix. The watcher says `auth_failed`. */
export class MailboxAuthError extends Error {
  constructor(
    readonly code: string,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'MailboxAuthError';
  }
}

type ClientOptions = Omit<ImapFlowOptions, 'host' | 'port' | 'secure' | 'auth'>;

interface Refusal {
  authenticationFailed?: boolean;
  response?: unknown;
  oauthError?: unknown;
}

function refusalOf(err: unknown): Refusal | null {
  return err && typeof err === 'object' && (err as Refusal).authenticationFailed ? (err as Refusal) : null;
}

/**
 * Connects and logs in. With OAuth a refused token gets one fresh token and one more try (it may
 * have been revoked or expired early); a second refusal, or a token the provider will not issue,
 * is a MailboxAuthError in words the operator can act on.
 */
export async function connectMailbox(target: ImapTarget, tokens: TokenSource | null, options: ClientOptions): Promise<ImapFlow> {
  const auth = target.auth;
  const attempt = async (login: ImapFlowOptions['auth']) => {
    const client = new ImapFlow({ ...options, host: target.host, port: target.port, secure: target.secure, auth: login });
    // Until the caller listens, an 'error' event of a failed connect must not crash the process;
    // the failure reaches the caller through connect()'s rejection.
    client.on('error', () => undefined);
    try {
      await client.connect();
      return client;
    } catch (err) {
      client.close();
      throw err;
    }
  };
  // A password login behaves as it always has: a refusal is a lost connection, retried with backoff.
  if (auth.method === 'password') return attempt({ user: auth.user, pass: auth.password });
  if (!tokens) throw new Error(`no token source for ${target.id}`);
  let accessToken = '';
  for (const fresh of [false, true]) {
    try {
      accessToken = await tokens.token({ fresh });
    } catch (err) {
      if (err instanceof TokenRequestError) throw new MailboxAuthError(err.code, err.reason);
      throw err;
    }
    try {
      return await attempt({ user: auth.user, accessToken });
    } catch (err) {
      const refusal = refusalOf(err);
      if (!refusal) throw err;
      if (fresh) {
        const explained = explainServerRefusal({
          provider: auth.credential.provider,
          protocol: 'imap',
          user: auth.user,
          response: String(refusal.response ?? 'authentication failed'),
          saslError: refusal.oauthError,
          tokenClaims: tokenClaims(accessToken),
        });
        throw new MailboxAuthError(explained.code, explained.reason);
      }
    }
  }
  throw new Error('unreachable');
}
