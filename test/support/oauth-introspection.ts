/**
 * The token introspection endpoint (RFC 7662 shape) the harness's Dovecot asks, as Dovecot 2.3's
 * oauth2 passdb does with introspection_mode = post: a form with `token=...` (plus its empty
 * client_id and client_secret), answered with `active` and `username`. Plain HTTP on loopback:
 * it is the mail server's private side channel, not something the service under test talks to.
 *
 * Dovecot sends only the token, so each mailbox has its own URL and `username` is that mailbox
 * when the token may open it; Dovecot then compares it with the login name.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { readTokenRequest, sendJson } from './oauth-http';
import type { ProviderState } from './oauth-state';

export interface IntrospectionRecord {
  /** The mailbox whose URL was asked. */
  user: string;
  active: boolean;
}

export interface IntrospectionEndpoint {
  /** The URL for one mailbox's logins. */
  urlFor(user: string): string;
  readonly records: IntrospectionRecord[];
  close(): Promise<void>;
}

export async function startIntrospection(state: ProviderState): Promise<IntrospectionEndpoint> {
  const mailboxes: string[] = [];
  const records: IntrospectionRecord[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    void (async () => {
      const parsed = await readTokenRequest(req);
      const match = /^\/introspect\/(\d+)$/.exec(parsed.path);
      const user = match ? mailboxes[Number(match[1])] : undefined;
      if (parsed.method !== 'POST' || user === undefined) return sendJson(res, { status: 404, body: { error: 'not_found' } });
      const token = parsed.form.get('token') ?? '';
      const active = state.validate(token, user, 'imap');
      records.push({ user, active });
      const issued = active ? state.tokens.active(token) : undefined;
      sendJson(res, {
        status: 200,
        body: issued ? { active: true, username: user, client_id: issued.clientId, scope: issued.scopes.join(' '), exp: Math.floor(issued.expiresAt / 1000), token_type: 'Bearer' } : { active: false },
      });
    })().catch(() => {
      if (!res.headersSent) res.writeHead(400).end();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    urlFor(user) {
      const mailbox = user.toLowerCase();
      let index = mailboxes.indexOf(mailbox);
      if (index < 0) index = mailboxes.push(mailbox) - 1;
      // An index rather than the address keeps '@' and '%' out of Dovecot's config.
      return `http://127.0.0.1:${port}/introspect/${index}`;
    },
    records,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
