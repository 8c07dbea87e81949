import { CommitPointStream, type CommitPoint } from './commit-point';
import { compose, type OutgoingMail } from './compose';
import { parseSmtpUrl, SMTPConnection, socketOf, xoauth2Login, type SmtpOptions } from './smtp-internals';
import { errorMessage } from '../errors';
import type { OAuthProvider } from '../oauth/credentials';
import { explainServerRefusal, tokenClaims } from '../oauth/explain';
import type { TokenSource } from '../oauth/token-cache';

export type SendOutcome = { result: 'delivered'; response: string };

/** Where mail leaves the service; an SMTP relay in production, a capture sink in tests. */
export interface MailTransport {
  /** Throws SendError when the server refused the message or could not be reached. */
  send(mail: OutgoingMail, point: CommitPoint): Promise<SendOutcome>;
  close(): void;
}

/** An SMTP answer: 5xx is permanent (retrying cannot help), anything else is worth retrying. */
export class SendError extends Error {
  constructor(message: string, readonly permanent: boolean) {
    super(message);
    this.name = 'SendError';
  }
}

/** Connections idle longer than this are closed (the server would drop them sooner or later). */
const IDLE_MS = 30_000;
/** Idle connections kept for reuse; busier moments open more and close them after their send. */
const MAX_IDLE = 8;

/** Waits for an SMTPConnection step: its callback, or an 'error'/'end' event in the meantime. */
function step<T>(conn: SMTPConnection, start: (done: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onError = (err: Error) => done(err);
    const onEnd = () => done(new Error('Connection closed unexpectedly'));
    function done(err: Error | null | undefined, value?: T) {
      conn.off('error', onError);
      conn.off('end', onEnd);
      if (err) reject(err);
      else resolve(value as T);
    }
    conn.once('error', onError);
    conn.once('end', onEnd);
    start(done);
  });
}

/** SMTP_AUTH=oauth2: the relay's user and where its access tokens come from. */
export interface SmtpOAuth {
  user: string;
  provider: OAuthProvider;
  tokens: TokenSource;
}

/**
 * Logs in with XOAUTH2 through nodemailer's own token hook: a token the server refuses (its 334
 * continuation) makes nodemailer ask once more with `renew`, which takes a fresh one from the
 * provider. A second refusal is explained in the operator's words.
 */
async function loginWithToken(conn: SMTPConnection, oauth: SmtpOAuth): Promise<void> {
  let last = '';
  const login = xoauth2Login(oauth.user, async (renew) => (last = await oauth.tokens.token({ fresh: renew })));
  try {
    await step<void>(conn, (done) => conn.login(login, (err) => done(err)));
  } catch (err) {
    const response = (err as { response?: unknown }).response;
    if (typeof response !== 'string') throw err;
    const explained = explainServerRefusal({ provider: oauth.provider, protocol: 'smtp', user: oauth.user, response, tokenClaims: last ? tokenClaims(last) : null });
    // Not a refusal of the message: the mail waits in the outbox for credentials that work.
    throw new Error(explained.reason);
  }
}

async function openConnection(options: SmtpOptions, oauth: SmtpOAuth | null): Promise<SMTPConnection> {
  const conn = new SMTPConnection(options);
  // Errors also reach the step in progress; without a listener an 'error' event would crash the process.
  conn.on('error', () => undefined);
  try {
    await step<void>(conn, (done) => conn.connect((err) => done(err)));
    const auth = options.auth;
    if (oauth) await loginWithToken(conn, oauth);
    else if (auth && (conn.allowsAuth || options.forceAuth)) {
      const method = typeof options.authMethod === 'string' ? options.authMethod : false;
      await step<void>(conn, (done) => conn.login({ user: auth.user, credentials: { user: auth.user, pass: auth.pass }, method }, (err) => done(err)));
    }
    return conn;
  } catch (err) {
    conn.close();
    throw err;
  }
}

/**
 * SMTPConnection used directly rather than through sendMail and nodemailer's pool: the pool
 * starts reading the message stream before MAIL FROM (so a hook on the first read would commit
 * before the server took the envelope), and requeues a message on another connection by itself.
 * (On a failed source stream it does close the connection without the dot.) Here the message is
 * read only after the 354, and a connection is reused only after a send that ended with the
 * server's 250; any other outcome closes it, so an abandoned DATA is never continued.
 */
export function createSmtpTransport(smtpUrl: string, supportAddress: string, { fromName = 'Support', oauth = null }: { fromName?: string; oauth?: SmtpOAuth | null } = {}): MailTransport {
  const options = parseSmtpUrl(smtpUrl);
  const idle: Array<{ conn: SMTPConnection; timer: NodeJS.Timeout }> = [];
  let closed = false;

  const take = (): SMTPConnection | null => {
    for (let held = idle.pop(); held; held = idle.pop()) {
      clearTimeout(held.timer);
      if (!held.conn.destroyed) return held.conn;
    }
    return null;
  };
  const park = (conn: SMTPConnection) => {
    if (closed) return conn.close();
    if (idle.length >= MAX_IDLE || conn.destroyed) return conn.quit();
    const held = {
      conn,
      timer: setTimeout(() => {
        idle.splice(idle.indexOf(held), 1);
        conn.quit();
      }, IDLE_MS).unref(),
    };
    idle.push(held);
  };

  const attempt = async (conn: SMTPConnection, envelope: { from: string | false; to: string[] }, stream: CommitPointStream): Promise<SendOutcome> => {
    try {
      // SMTPConnection keeps its bookkeeping (errors, accepted recipients) on the envelope it is
      // given: each attempt gets its own copy.
      const info = await step<SMTPConnection.SentMessageInfo>(conn, (done) => conn.send({ ...envelope, to: [...envelope.to] }, stream, done));
      park(conn);
      // The server's 250 can come before PostgreSQL's answer to the commit: the caller needs both.
      await stream.decided;
      return { result: 'delivered', response: String(info.response ?? 'accepted') };
    } catch (err) {
      // Mid-DATA or not, this connection's transaction did not end cleanly: never reuse it.
      // close() unpipes the message before ending the socket, and failed() drops what the socket
      // held back: no dot follows.
      conn.close();
      stream.failed();
      stream.destroy();
      // The caller learns from its commit point whether it committed: do not answer before it has.
      await stream.decided;
      throw err;
    }
  };

  return {
    async send(row, point) {
      try {
        const { envelope, message } = await compose(row, supportAddress, fromName);
        const reused = take();
        if (reused) {
          const stream = new CommitPointStream(message, point, socketOf(reused));
          try {
            return await attempt(reused, envelope, stream);
          } catch (err) {
            // An idle connection the server dropped (or answered 421) fails before the message
            // was read: the commit point has not been reached, so the send may start over on a fresh one.
            const code = (err as { responseCode?: number }).responseCode;
            if (stream.started || (code !== undefined && code !== 421)) throw err;
          }
        }
        const fresh = await openConnection(options, oauth);
        return await attempt(fresh, envelope, new CommitPointStream(message, point, socketOf(fresh)));
      } catch (err) {
        const code = (err as { responseCode?: number }).responseCode;
        const text = errorMessage(err);
        throw new SendError(text, code !== undefined && code >= 500 && code < 600);
      }
    },
    close() {
      closed = true;
      for (let conn = take(); conn; conn = take()) conn.close();
    },
  };
}
