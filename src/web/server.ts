import { parse as parseForm } from 'node:querystring';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { ApprovalDeps } from '../approvals/context';
import type { Logger } from 'pino';
import type { Db } from '../db/connection';
import { DomainError, type DomainErrorCode } from '../errors';
import type { CapturedMail } from '../intake/dev-smtp';
import type { IntakeDeps } from '../intake/ingest';
import type { PageRenderer } from './pages';
import { registerApiRoutes } from './routes/api';
import { registerApprovalRoutes } from './routes/approvals';
import { registerDevMailRoutes } from './routes/dev-mail';
import { registerMetricsRoute } from './routes/metrics';
import type { Metrics } from '../ops/metrics';
import { registerHealthRoutes, type HealthReport } from './routes/health';

export interface WebDeps {
  db: Db;
  log: Logger;
  apiToken: string;
  health: () => Promise<HealthReport>;
  approvals: ApprovalDeps;
  pages: PageRenderer;
  sendLater(outboxIds: string[]): Promise<void>;
  /** Intake dependencies, for retrying quarantined messages (POST /api/quarantine/:id/retry). */
  intake?: IntakeDeps;
  metrics?: Metrics;
  metricsToken?: string | null;
  /** The development SMTP server's captured mail, shown at /dev/mail (demo only). */
  devMail?: CapturedMail[];
}

const STATUS_BY_CODE: Record<DomainErrorCode, number> = { invalid_input: 400, not_found: 404, conflict: 409, unavailable: 503 };

/** The HTTP edge: routes call domain functions; domain errors become status codes here only. */
export async function buildServer(deps: WebDeps): Promise<FastifyInstance> {
  // Per-request lines are noise at info level; errors still reach the log.
  const httpLog = deps.log.child({ component: 'http' }, { level: deps.log.level === 'silent' ? 'silent' : 'warn' });
  const app = Fastify({ loggerInstance: httpLog as FastifyBaseLogger, trustProxy: true });
  app.setErrorHandler((err, request, reply) => {
    if (err instanceof DomainError) return reply.status(STATUS_BY_CODE[err.code]).send({ error: err.code, message: err.message });
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status < 500) return reply.status(status).send({ error: 'bad_request', message: (err as Error).message });
    request.log.error({ err, reqId: request.id }, 'unhandled error');
    return reply.status(500).send({ error: 'internal', message: `internal error (request ${request.id})` });
  });
  // HTML forms post urlencoded bodies; small ones only.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) => {
    done(null, parseForm(body as string));
  });
  app.get('/static/pages.css', async (_request, reply) => reply.header('content-type', 'text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(deps.pages.css));
  registerHealthRoutes(app, deps.health);
  registerApprovalRoutes(app, deps);
  if (deps.metrics) registerMetricsRoute(app, deps.metrics, deps.metricsToken ?? null);
  if (deps.devMail) registerDevMailRoutes(app, deps.devMail, deps.pages);
  await app.register(async (api) => registerApiRoutes(api, deps), { prefix: '/api' });
  return app;
}
