import type { FastifyInstance } from 'fastify';

export interface MailboxHealth {
  mailbox?: string;
  state: string;
  mode: string | null;
  lastSyncAt: string | null;
  lastMessageAt: string | null;
  lastError: string | null;
  stateSince?: string;
}

export interface HealthReport {
  status: 'ok' | 'degraded';
  database: 'up' | 'down';
  redis: 'up' | 'down';
  /** The mailbox that needs attention, else the first one; `disabled` when none is configured. */
  mailbox: MailboxHealth | { state: 'disabled' };
  /** Every configured mailbox (IMAP_URL may list several). */
  mailboxes?: MailboxHealth[];
}

export function registerHealthRoutes(app: FastifyInstance, health: () => Promise<HealthReport>): void {
  // Liveness: 200 while the process serves requests; the body tells what it depends on.
  app.get('/healthz', async () => health());
  // Readiness: 503 while PostgreSQL, Redis or the mailbox (when there is one) is unreachable.
  app.get('/readyz', async (_request, reply) => {
    const report = await health();
    return reply.status(report.status === 'ok' ? 200 : 503).send(report);
  });
}
