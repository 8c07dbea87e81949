import type { FastifyInstance } from 'fastify';
import { TEMPLATES_DIR } from '../../src/mail/templates';
import { PageRenderer } from '../../src/web/pages';
import type { WebDeps } from '../../src/web/deps';
import { buildServer } from '../../src/web/server';
import type { TestApp } from './env';

/**
 * The HTTP server alone (no workers, no watcher) on a free loopback port, wired to a test app.
 * Real HTTP: fastify.inject's light-my-request needs an ESM-only package jest cannot load.
 */
/** `prepare` adds to the server before it listens (a test's own routes). */
export async function startTestWeb(app: TestApp, apiToken: string, extra: Partial<WebDeps> = {}, prepare?: (server: FastifyInstance) => void): Promise<{ server: FastifyInstance; base: string }> {
  const server = await buildServer({
    db: app.ctx.db,
    log: app.ctx.log,
    apiToken,
    health: async () => ({ status: 'ok', database: 'up', redis: 'up', mailbox: { state: 'disabled' } }),
    approvals: app.ctx.approvals,
    casework: app.ctx.casework,
    pages: await PageRenderer.load(TEMPLATES_DIR, app.ctx.config.display),
    enqueueDeliveries: async () => undefined,
    matchLater: async () => undefined,
    intake: app.ctx.intake,
    staffSessionTtlMs: app.ctx.config.staffSessionTtlMs,
    intakeAlertAfterMs: app.ctx.config.intakeAlertAfterMs,
    ...extra,
  });
  prepare?.(server);
  return { server, base: await server.listen({ host: '127.0.0.1', port: 0 }) };
}
