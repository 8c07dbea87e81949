/**
 * What the SMTP transport takes from nodemailer beyond its documented API, all in this module
 * (transport.ts and commit-point.ts reach nodemailer through it only). nodemailer is pinned
 * exactly in package.json because of it, and test/integration/nodemailer-internals.test.ts checks
 * each point against a real SMTP server on loopback, naming the one an upgrade broke. As of
 * nodemailer 10.6.0:
 *
 * 1. The module paths `nodemailer/lib/smtp-connection` (default export: the SMTPConnection class)
 *    and `nodemailer/lib/shared` (`parseConnectionUrl`), subpaths of the package's `exports`.
 * 2. SMTPConnection's callback API: connect(cb), login(auth, cb), send(envelope, message, cb),
 *    quit(), close(); the events 'error' and 'end'; `destroyed` and `allowsAuth`; errors carry
 *    `responseCode` (the server's code) and `response` (its line); send's info its `response`.
 * 3. send() reads a stream message only once the server has answered DATA (354): it pipes the
 *    message into its DataStream in DATA's callback. The commit point is built on this.
 * 4. The DataStream (dot-stuffing, CRLF line ends) is piped into the connection's `_socket`: each
 *    of its chunks goes through `_socket.write`, looked up at every write (so a `write` set on the
 *    socket itself takes them), and the end-of-data line comes last, in a write of its own, one of
 *    END_OF_DATA.
 * 5. `_socket` is the socket in use: the TLS socket once STARTTLS has replaced the plain one.
 * 6. close() during DATA unpipes the DataStream from `_socket` and destroys the message stream:
 *    nothing more of the message, and no dot, is written after it.
 * 7. XOAUTH2 through login({ user, method: 'XOAUTH2', oauth2 }) with an object of two methods,
 *    not nodemailer's XOAuth2 class: getToken(renew, cb) is asked with renew = false, and after
 *    the server's 334 error continuation once more with renew = true; buildXOAuth2Token(token)
 *    makes the SASL string. A second refusal fails with the server's last line in `response`.
 * 8. send() keeps its bookkeeping (accepted, rejected, rcptQueue) on the envelope object it is
 *    given: the transport gives each attempt a copy (nothing breaks should that stop).
 */
import type { Writable } from 'node:stream';
import { parseConnectionUrl } from 'nodemailer/lib/shared';
import SMTPConnection from 'nodemailer/lib/smtp-connection';

export { SMTPConnection };

/** SMTP_URL as SMTPConnection takes it: host, port, secure, auth, and `authMethod` and `forceAuth` from the query. */
export type SmtpOptions = ReturnType<typeof parseConnectionUrl>;

export function parseSmtpUrl(url: string): SmtpOptions {
  return parseConnectionUrl(url);
}

/** (4) The end-of-data line as the DataStream writes it after a message ending in LF, CR or neither. */
export const END_OF_DATA: readonly Buffer[] = ['.\r\n', '\n.\r\n', '\r\n.\r\n'].map((line) => Buffer.from(line));

export function isEndOfData(chunk: Buffer): boolean {
  return END_OF_DATA.some((line) => line.equals(chunk));
}

/**
 * (4, 5) Where the connection's DataStream writes the message and its dot. A getter, read when
 * the dot is near, so that the socket STARTTLS put in place is the one used.
 */
export function socketOf(conn: SMTPConnection): () => Writable {
  return () => {
    const socket = conn._socket;
    if (!socket) throw new Error('SMTPConnection has no socket (nodemailer internals changed?)');
    return socket;
  };
}

/**
 * (7) login()'s argument for XOAUTH2 as `user`, with tokens from `token(renew)`: a token the
 * server refuses makes nodemailer ask once more with `renew`.
 */
export function xoauth2Login(user: string, token: (renew: boolean) => Promise<string>): SMTPConnection.AuthenticationType {
  const oauth2 = {
    getToken(renew: boolean, callback: (err: Error | null, token?: string) => void) {
      token(renew).then(
        (value) => callback(null, value),
        (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
      );
    },
    buildXOAuth2Token(value: string) {
      return Buffer.from(`user=${user}\x01auth=Bearer ${value}\x01\x01`, 'utf8').toString('base64');
    },
  };
  return { user, method: 'XOAUTH2', oauth2: oauth2 as unknown as SMTPConnection.AuthenticationType['oauth2'] };
}
