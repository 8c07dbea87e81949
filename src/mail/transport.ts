import { Readable, type Writable } from 'node:stream';
import { parseConnectionUrl } from 'nodemailer/lib/shared';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { compose, type OutgoingMail } from './compose';
import { errorMessage } from '../errors';
import type { OAuthProvider } from '../oauth/credentials';
import { explainServerRefusal, tokenClaims } from '../oauth/explain';
import type { TokenSource } from '../oauth/token-cache';

/**
 * The commit point of a send: the row is taken (in a transaction not yet committed) before the
 * transport starts. Once the server has answered DATA with 354, the transport calls `commit`
 * with the write of the message and its end-of-data dot, to be made right after the COMMIT's, so
 * no other work runs between the two. A send that fails before then never calls it: the caller
 * rolls the take back, and the server, whose connection drops without the dot, must cancel the
 * transaction (RFC 5321 §3.8).
 */
export interface CommitPoint {
  /**
   * Writes the COMMIT, then calls `writeTheDot` at once; settles with the commit's outcome.
   * Throws, without calling it, when the COMMIT cannot be written.
   */
  commit(writeTheDot: () => void): Promise<void>;
}

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

/** The end-of-data line as nodemailer's DataStream writes it, after a message ending in LF, CR or neither. */
const TERMINATORS = ['.\r\n', '\n.\r\n', '\r\n.\r\n'].map((t) => Buffer.from(t));

/**
 * The message as SMTPConnection reads it: only once the server has answered DATA with 354, and
 * all at once. While it goes through the DataStream (which escapes dots) to the socket, the
 * socket's writes are held back until the DataStream writes the dot; then the COMMIT is written,
 * and the message with its dot in one write right after it, everything for that write prepared
 * beforehand. A kill -9 between the two loses the mail (the row says `sent`); the time between
 * them is what the commit point leaves open, so nothing is allocated or computed there. Both
 * writes happen in the one call: were the dot written even a process.nextTick later, any promise
 * continuation of the process could run in between.
 */
class CommitPointStream extends Readable {
  started = false;
  /** Settles once the commit has (at once if it was never written). Never rejects. */
  decided: Promise<void> = Promise.resolve();

  constructor(
    private readonly message: Buffer,
    private readonly point: CommitPoint,
    private readonly socket: () => Writable,
  ) {
    super();
  }

  override _read(): void {
    if (this.started) return;
    this.started = true;
    this.decided = this.commitWithTheDot();
    this.push(this.message);
    this.push(null);
  }

  /** Set while the socket holds the message back: restores the socket's own write. */
  private disarm: ((uncommitted?: boolean) => void) | null = null;

  /**
   * Arms the socket so that what the DataStream writes is held until its dot, and the dot's write
   * first writes the COMMIT; settles once the commit has (its outcome reaches the caller through
   * its commit point), or at once if the send fails first. Never rejects.
   */
  private commitWithTheDot(): Promise<void> {
    const socket = this.socket();
    const write = socket.write;
    const writeThrough = (...args: unknown[]) => (write as (...args: unknown[]) => boolean).apply(socket, args);
    const held: Buffer[] = [];
    return new Promise<void>((resolve) => {
      this.disarm = (uncommitted) => {
        socket.write = write;
        this.disarm = null;
        if (uncommitted) resolve();
      };
      socket.write = ((chunk: unknown, ...rest: unknown[]) => {
        if (!Buffer.isBuffer(chunk)) return writeThrough(chunk, ...rest);
        held.push(chunk);
        const done = rest.find((arg): arg is () => void => typeof arg === 'function');
        if (!TERMINATORS.some((t) => t.equals(chunk))) {
          // Taken: the DataStream may go on (the message is in memory anyway: a few kilobytes, or
          // the megabytes of a staff reply's attachments, built by compose before the envelope).
          if (done) process.nextTick(done);
          return true;
        }
        this.disarm?.();
        const message = held.length === 1 ? held[0]! : Buffer.concat(held);
        let written = false;
        let committing: Promise<void>;
        try {
          committing = this.point.commit(() => (written = writeThrough(message, ...rest)));
        } catch (err) {
          // Nothing committed: the message and its dot are never written, and the send fails.
          resolve();
          socket.destroy(err instanceof Error ? err : new Error(String(err)));
          return false;
        }
        committing.then(resolve, () => resolve());
        return written;
      }) as typeof socket.write;
    });
  }

  /** The send failed: whatever was held back never reaches the server, and no COMMIT is written. */
  failed(): void {
    this.disarm?.(true);
  }
}

/** Connections idle longer than this are closed (the server would drop them sooner or later). */
const IDLE_MS = 30_000;
/** Idle connections kept for reuse; busier moments open more and close them after their send. */
const MAX_IDLE = 8;

type Options = ReturnType<typeof parseConnectionUrl>;

/**
 * The connection's socket, where its DataStream writes the message and the dot (read when the dot
 * is near, so a socket STARTTLS replaced is the one used). Internal to nodemailer (10.6, pinned).
 */
function socketOf(conn: SMTPConnection): () => Writable {
  return () => (conn as unknown as { _socket: Writable })._socket;
}

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
  const oauth2 = {
    getToken(renew: boolean, callback: (err: Error | null, token?: string) => void) {
      oauth.tokens.token({ fresh: renew }).then(
        (token) => callback(null, (last = token)),
        (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
      );
    },
    buildXOAuth2Token(token: string) {
      return Buffer.from(`user=${oauth.user}\x01auth=Bearer ${token}\x01\x01`, 'utf8').toString('base64');
    },
  };
  try {
    await step<void>(conn, (done) => conn.login({ user: oauth.user, method: 'XOAUTH2', oauth2 } as unknown as SMTPConnection.Credentials, (err) => done(err)));
  } catch (err) {
    const response = (err as { response?: unknown }).response;
    if (typeof response !== 'string') throw err;
    const explained = explainServerRefusal({ provider: oauth.provider, protocol: 'smtp', user: oauth.user, response, tokenClaims: last ? tokenClaims(last) : null });
    // Not a refusal of the message: the mail waits in the outbox for credentials that work.
    throw new Error(explained.reason);
  }
}

async function openConnection(options: Options, oauth: SmtpOAuth | null): Promise<SMTPConnection> {
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
  const options = parseConnectionUrl(smtpUrl);
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
