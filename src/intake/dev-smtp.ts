import { SMTPServer } from 'smtp-server';
import { fileRawMessage } from './ingest';
import type { IntakeDeps } from './filing';
import { errorMessage } from '../errors';

export interface CapturedMail {
  to: string[];
  raw: Buffer;
  at: Date;
}

function isSupportAddress(address: string, support: string): boolean {
  const [local, domain] = support.split('@');
  const a = address.toLowerCase();
  return a === support || (a.startsWith(`${local}+`) && a.endsWith(`@${domain}`));
}

const MAX_BYTES = 50 * 1024 * 1024;

/**
 * Development mail server (demo only): mail for the support address goes into the same intake
 * path as the mailbox watcher; anything else (the service's own outbound mail, when SMTP_URL
 * points here) is kept in memory so the demo can show it. No authentication, loopback only.
 */
export function startDevSmtp(deps: IntakeDeps, opts: { host: string; port: number; supportAddress: string }) {
  const captured: CapturedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    size: MAX_BYTES,
    logger: false,
    // Shutdown does not wait for clients that keep a connection open.
    closeTimeout: 1000,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        const to = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
        if (!to.some((a) => isSupportAddress(a, opts.supportAddress))) {
          captured.push({ to, raw, at: new Date() });
          if (captured.length > 500) captured.shift();
          deps.log.info({ to }, 'development SMTP kept an outbound message');
          return callback();
        }
        fileRawMessage(deps, raw, { source: 'smtp' }).then(
          () => callback(),
          // A temporary failure: the sending MTA keeps the message and retries.
          (err: unknown) => callback(Object.assign(new Error(`451 try again later: ${errorMessage(err)}`), { responseCode: 451 })),
        );
      });
    },
  });
  const listening = new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  server.on('error', (err) => deps.log.warn({ err: err.message }, 'development SMTP error'));
  return {
    listening,
    captured,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
