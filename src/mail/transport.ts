import { Readable, type Writable } from 'node:stream';
import MailComposer from 'nodemailer/lib/mail-composer';
import { parseConnectionUrl } from 'nodemailer/lib/shared';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { OutboxRow } from './outbox';
import { errorMessage } from '../errors';

/**
 * The commit point of a send, in two steps around the end-of-data dot. `take` runs once the
 * server has answered DATA with 354 and has the message's bytes, but not the dot: false (or a
 * rejection) drops the connection without the dot, and an SMTP server must then cancel the
 * transaction (RFC 5321 §3.8). After true, the transport calls `commit` from inside its write of
 * the dot, just before the dot's bytes go to the socket, so no other work runs between the two
 * writes; it calls `abandon` instead if the connection failed before the dot.
 */
export interface CommitPoint {
  take(): Promise<boolean>;
  /** Starts the commit, its bytes already written when it returns; settles with its outcome. */
  commit(): Promise<void>;
  abandon(): Promise<void>;
}

export type SendOutcome = { result: 'delivered'; response: string } | { result: 'withdrawn' };

/** Where mail leaves the service; an SMTP relay in production, a capture sink in tests. */
export interface MailTransport {
  /** Throws SendError when the server refused the message or could not be reached. */
  send(row: OutboxRow, point: CommitPoint): Promise<SendOutcome>;
  close(): void;
}

/** An SMTP answer: 5xx is permanent (retrying cannot help), anything else is worth retrying. */
export class SendError extends Error {
  constructor(message: string, readonly permanent: boolean) {
    super(message);
    this.name = 'SendError';
  }
}

// Replies to a person's message are auto-replied; mail we start (approval requests, reminders)
// is auto-generated (RFC 3834). Either way, well-behaved responders will not answer them.
const AUTO_GENERATED = new Set(['approval_request', 'approval_reminder', 'case_copy', 'portal_sign_in', 'portal_invitation', 'security_alert']);

/** The message of an outbox row, as nodemailer's sendMail built it before the commit point existed. */
async function compose(row: OutboxRow, supportAddress: string, fromName: string) {
  const node = new MailComposer({
    from: { name: fromName, address: supportAddress },
    to: row.to_address,
    subject: row.subject,
    text: row.text,
    html: row.html,
    messageId: `<${row.message_id}>`,
    inReplyTo: row.in_reply_to ? `<${row.in_reply_to}>` : undefined,
    references: row.references ?? undefined,
    replyTo: row.reply_to ?? undefined,
    headers: {
      'Auto-Submitted': AUTO_GENERATED.has(row.kind) ? 'auto-generated' : 'auto-replied',
      'X-Auto-Response-Suppress': 'All',
    },
  }).compile();
  return { envelope: node.getEnvelope(), message: await node.build() };
}

/** The end-of-data line as nodemailer's DataStream writes it, after a message ending in LF, CR or neither. */
const TERMINATORS = ['.\r\n', '\n.\r\n', '\r\n.\r\n'].map((t) => Buffer.from(t));

/**
 * The message as SMTPConnection reads it. SMTPConnection pipes it only once the server has
 * answered DATA; on that first read it gets the whole message, then the commit point's `take`
 * runs, and only after it is the stream ended, which makes the DataStream write the dot. The
 * COMMIT is written from inside the socket's write of the dot, just before it: two system calls
 * one after the other. (Written before ending the stream, as it once was, the COMMIT was some
 * process.nextTick steps ahead of the dot, and between those steps any promise continuation of
 * the process ran: a match job rendering a fetch's mail could hold the dot back for many
 * milliseconds, in which a kill -9 lost the mail.) A withdrawn or failed take destroys the stream
 * instead: SMTPConnection then fails the send without ever ending the DataStream, so no dot.
 */
class CommitPointStream extends Readable {
  started = false;
  withdrawn = false;
  /** Settles once the commit point has (at once if the message was never read). Never rejects. */
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
    this.push(this.message);
    this.decided = this.point.take().then(
      async (go) => {
        if (!go) {
          this.withdrawn = true;
          this.destroy(new Error('withdrawn at the commit point'));
        } else if (this.destroyed) {
          await this.point.abandon().catch(() => undefined);
        } else {
          const committing = this.commitWithTheDot();
          this.push(null);
          // The outcome reaches the caller through its commit point.
          await committing.catch(() => undefined);
        }
      },
      (err: unknown) => void this.destroy(err instanceof Error ? err : new Error(String(err))),
    );
  }

  /** Set while the socket waits to write the dot: undoes the arming and rolls the take back. */
  private armed: (() => void) | null = null;

  /**
   * Arms the socket so that its write of the dot first writes the COMMIT; settles with the
   * commit's outcome, or with the rollback's if the send fails before the dot (`failed`).
   */
  private commitWithTheDot(): Promise<void> {
    const socket = this.socket();
    const write = socket.write;
    return new Promise<void>((resolve, reject) => {
      const settle = (outcome: Promise<void>) => {
        socket.write = write;
        this.armed = null;
        outcome.then(resolve, reject);
      };
      this.armed = () => settle(this.point.abandon());
      socket.write = ((chunk: unknown, ...rest: unknown[]) => {
        if (Buffer.isBuffer(chunk) && TERMINATORS.some((t) => t.equals(chunk))) settle(this.point.commit());
        return (write as (...args: unknown[]) => boolean).call(socket, chunk, ...rest);
      }) as typeof socket.write;
    });
  }

  /** The send failed: if the dot was not written, nothing is committed. */
  failed(): void {
    this.armed?.();
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

async function openConnection(options: Options): Promise<SMTPConnection> {
  const conn = new SMTPConnection(options);
  // Errors also reach the step in progress; without a listener an 'error' event would crash the process.
  conn.on('error', () => undefined);
  try {
    await step<void>(conn, (done) => conn.connect((err) => done(err)));
    const auth = options.auth;
    if (auth && (conn.allowsAuth || options.forceAuth)) {
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
export function createSmtpTransport(smtpUrl: string, supportAddress: string, fromName = 'Support'): MailTransport {
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
      // close() unpipes the message before ending the socket, so no dot follows.
      conn.close();
      stream.failed();
      stream.destroy();
      // The caller learns from its commit point whether it committed: do not answer before it has.
      await stream.decided;
      if (stream.withdrawn) return { result: 'withdrawn' };
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
        const fresh = await openConnection(options);
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
