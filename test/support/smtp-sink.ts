import net from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface CapturedMessage {
  envelopeTo: string[];
  raw: Buffer;
  parsed: ParsedMail;
  /** The user the session authenticated as (OAuth sinks); null without AUTH. */
  authUser: string | null;
}

export interface StartSmtpSinkOptions {
  /**
   * Require AUTH XOAUTH2 (the only mechanism offered, plaintext on loopback) and accept a login
   * when `validate(token, user)` says so, e.g. (t, u) => provider.validate(t, u, 'smtp'). A
   * refused token gets Gmail's error continuation, then 535.
   */
  oauth?: { validate(token: string, user: string): boolean };
}

/** One AUTH attempt: who, and whether it was let in. Never the token. */
export interface AuthAttempt {
  user: string;
  accepted: boolean;
}

/** What Gmail sends (base64 JSON in a 334) before refusing a bearer token. */
export const XOAUTH2_FAILURE = { status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' };

/**
 * A real SMTP server on a free loopback port that keeps what it receives, for tests of outbound
 * mail. `refuse(code)` makes it answer every message with that SMTP code until `accept()`.
 * With `oauth`, it takes only XOAUTH2 logins (see StartSmtpSinkOptions).
 * A message counts only when its DATA ended with the dot; a connection dropped before it (as a
 * send killed at its commit point does) is counted in `aborted` instead, as any SMTP server would discard it.
 */
export interface SmtpSink {
  port: number;
  url: string;
  messages: CapturedMessage[];
  /** AUTH attempts in order (OAuth sinks only). */
  authAttempts: AuthAttempt[];
  /** DATA phases that ended without the dot, with the bytes received before the connection dropped. */
  aborted: Array<{ bytes: number }>;
  /** Bytes received so far by each DATA phase still in progress. */
  receiving(): number[];
  refuse(code: number): void;
  accept(): void;
  /** Messages to an address (envelope recipient), optionally of a subject pattern. */
  to(address: string, subject?: RegExp): CapturedMessage[];
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export async function startSmtpSink(opts: StartSmtpSinkOptions = {}): Promise<SmtpSink> {
  const messages: CapturedMessage[] = [];
  const authAttempts: AuthAttempt[] = [];
  const oauth = opts.oauth;
  const aborted: Array<{ bytes: number }> = [];
  const inProgress = new Set<{ bytes: number }>();
  let refusal: number | null = null;
  const server = new SMTPServer({
    ...(oauth
      ? {
          authOptional: false,
          authMethods: ['XOAUTH2'],
          // Loopback only; the service's TLS to a real relay is not what this sink stands in for.
          allowInsecureAuth: true,
          disabledCommands: ['STARTTLS'],
          onAuth(auth, _session, callback) {
            // The token is only handed to validate(): it is kept nowhere, and logger: false keeps smtp-server quiet.
            const accepted = auth.method === 'XOAUTH2' && typeof auth.accessToken === 'string' && oauth.validate(auth.accessToken, auth.username ?? '');
            authAttempts.push({ user: auth.username ?? '', accepted });
            if (accepted) return callback(null, { user: auth.username });
            callback(null, { data: XOAUTH2_FAILURE });
          },
        }
      : { authOptional: true, disabledCommands: ['STARTTLS', 'AUTH'] }),
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      const progress = { bytes: 0 };
      inProgress.add(progress);
      stream.on('data', (c: Buffer) => {
        chunks.push(c);
        progress.bytes += c.length;
      });
      // smtp-server destroys the stream (with this error) when the client goes away before the dot.
      stream.on('error', () => undefined);
      stream.on('close', () => {
        if (!inProgress.delete(progress)) return;
        aborted.push(progress);
      });
      // 'end' comes only with the dot.
      stream.on('end', () => {
        inProgress.delete(progress);
        if (refusal !== null) return callback(Object.assign(new Error(`${refusal} refused by the test sink`), { responseCode: refusal }));
        const raw = Buffer.concat(chunks);
        simpleParser(raw).then(
          (parsed) => {
            const authUser = typeof session.user === 'string' ? session.user : null;
            messages.push({ envelopeTo: session.envelope.rcptTo.map((r) => r.address.toLowerCase()), raw, parsed, authUser });
            callback();
          },
          (err: Error) => callback(err),
        );
      });
    },
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    authAttempts,
    aborted,
    receiving: () => [...inProgress].map((p) => p.bytes),
    refuse: (code) => (refusal = code),
    accept: () => (refusal = null),
    to: (address, subject) => messages.filter((m) => m.envelopeTo.includes(address.toLowerCase()) && (!subject || subject.test(m.parsed.subject ?? ''))),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
