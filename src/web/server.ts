import { parse as parseForm } from 'node:querystring';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { TrustProxy } from '../config/trust-proxy';
import { pick } from './pick';
import { uploadLimits, type WebDeps } from './deps';
import { API_DEPS, registerApiRoutes } from './routes/api';
import { APPROVAL_ROUTE_DEPS, registerApprovalRoutes } from './routes/approvals';
import { registerDevMailRoutes } from './routes/dev-mail';
import { registerMetricsRoute } from './routes/metrics';
import { registerHealthRoutes } from './routes/health';
import { DASHBOARD_DEPS, registerDashboardRoutes } from './routes/dashboard';
import { PORTAL_DEPS, registerPortal } from './routes/portal';
import { registerQueueBoard } from './routes/queues';
import { registerSecurityHeaders } from './security-headers';
import { StaffAuth } from './staff-auth';
import { acceptUploads } from './uploads';
import { registerErrorPages } from './error-pages';

/**
 * TRUST_PROXY as Fastify takes it. A hop count is a function: Fastify reads a plain number as
 * "trust nothing" (it cannot check the nearest peer), while an operator who gives one says the
 * port is reachable through their proxies only.
 */
function fastifyTrustProxy(t: TrustProxy): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (t.kind === 'addresses') return t.addresses;
  if (t.kind === 'hops') return (_address, hop) => hop < t.hops;
  return false;
}

/** The HTTP edge: routes call domain functions; domain errors become status codes here only. */
export async function buildServer(deps: WebDeps): Promise<FastifyInstance> {
  // Per-request lines are noise at info level; errors still reach the log.
  const httpLog = deps.log.child({ component: 'http' }, { level: deps.log.level === 'silent' ? 'silent' : 'warn' });
  const app = Fastify({ loggerInstance: httpLog as FastifyBaseLogger, trustProxy: fastifyTrustProxy(deps.trustProxy ?? { kind: 'none' }) });
  registerSecurityHeaders(app, deps.approvals.settings.publicUrl, deps.pages.logoOrigin);
  registerErrorPages(app, deps.pages);
  // HTML forms post urlencoded bodies; small ones only.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) => {
    done(null, parseForm(body as string));
  });
  const statics: Array<[string, string, string]> = [['pages.css', 'text/css', deps.pages.css], ['live.js', 'text/javascript', deps.pages.script], ['times.js', 'text/javascript', deps.pages.timesScript]];
  for (const [file, type, body] of statics) app.get(`/static/${file}`, async (_request, reply) => reply.header('content-type', `${type}; charset=utf-8`).header('cache-control', 'public, max-age=3600').send(body));

  // Open to all: probes, the scrape endpoint (its own token), and the approval links.
  registerHealthRoutes(app, deps.health);
  registerApprovalRoutes(app, pick(deps, APPROVAL_ROUTE_DEPS));
  if (deps.metrics) registerMetricsRoute(app, deps.metrics, deps.metricsToken ?? null);

  // Everything else needs a staff session (or, for /api, the API token).
  const auth = new StaffAuth({ db: deps.db, log: deps.log, pages: deps.pages, secret: deps.approvals.settings.linkSecret, sessionTtlMs: deps.staffSessionTtlMs, publicUrl: deps.approvals.settings.publicUrl });
  auth.register(app);
  app.get('/', async (_request, reply) => reply.redirect('/dashboard', 303));
  await app.register(async (staff) => {
    staff.addHook('onRequest', auth.requirePage);
    staff.addHook('preHandler', auth.requireCsrf);
    await acceptUploads(staff, uploadLimits(deps));
    registerDashboardRoutes(staff, pick(deps, DASHBOARD_DEPS), auth);
    if (deps.devMail) registerDevMailRoutes(staff, deps.devMail, deps.pages);
    const queues = deps.queues;
    if (queues) await staff.register(async (board) => registerQueueBoard(board, queues.boardQueues()));
  });
  await app.register(async (api) => registerApiRoutes(api, pick(deps, API_DEPS)), { prefix: '/api' });
  await registerPortal(app, pick(deps, PORTAL_DEPS));
  return app;
}
