import type { MailAuth } from '../oauth/credentials';

/** One mailbox to watch: where it is and how its watcher logs in. */
export interface ImapTarget {
  /** Stable name for checkpoints and leases: `imaps://<user>@<host>:<port>/<mailbox>`, never a password. */
  id: string;
  secure: boolean;
  host: string;
  port: number;
  mailbox: string;
  auth: MailAuth;
}

/** The user and password a mail URL names, decoded (empty when absent). */
export function urlLogin(u: URL): { user: string; password: string } {
  return { user: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
}

/** An `imap://` or `imaps://` URL as a target that logs in with the URL's user and password. */
export function parseImapUrl(value: string): ImapTarget {
  const u = new URL(value);
  const secure = u.protocol === 'imaps:';
  const mailbox = decodeURIComponent(u.pathname.replace(/^\//, '')) || 'INBOX';
  const { user, password } = urlLogin(u);
  const port = u.port ? Number(u.port) : secure ? 993 : 143;
  return {
    id: `${u.protocol}//${encodeURIComponent(user)}@${u.hostname}:${port}/${mailbox}`,
    secure,
    host: u.hostname,
    port,
    mailbox,
    auth: { method: 'password', user, password },
  };
}
