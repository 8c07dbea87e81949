import { parse as parseForm } from 'node:querystring';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { ApprovalDeps } from '../approvals/context';
import type { CaseworkDeps } from '../cases/work-common';
import type { Logger } from 'pino';
import type { StreamHead } from '../webhooks/deliveries';
import type { TrustProxy } from '../config/trust-proxy';
import type { Db } from '../db/connection';
import { DomainError, type DomainErrorCode } from '../errors';
import type { CapturedMail } from '../intake/dev-smtp';
import type { IntakeDeps } from '../intake/ingest';
import type { CaseFeedOptions } from './case-feed';
import { type PageRenderer } from './pages';
import { PAGE_HEADERS } from './security-headers';
import { pick } from './pick';
import { API_DEPS, registerApiRoutes } from './routes/api';
import { APPROVAL_ROUTE_DEPS, registerApprovalRoutes } from './routes/approvals';
import { registerDevMailRoutes } from './routes/dev-mail';
import { registerMetricsRoute } from './routes/metrics';
import type { Metrics } from '../ops/metrics';
import { registerHealthRoutes, type HealthReport } from './routes/health';
import type { Queue } from 'bullmq';
import type { QueueCounts } from '../queue/bullmq';
import { DASHBOARD_DEPS, registerDashboardRoutes } from './routes/dashboard';
import { PORTAL_DEPS, registerPortal } from './routes/portal';
import { registerQueueBoard } from './routes/queues';
import { registerSecurityHeaders } from './security-headers';
import { StaffAuth } from './staff-auth';
import { acceptUploads, uploadRefused, type UploadLimits } from './uploads';

export interface WebDeps {
  db: Db;
  log: Logger;
  apiToken: string;
  health: () => Promise<HealthReport>;
  approvals: ApprovalDeps;
  /** Replies, notes, assignment, status, comments, escalations. */
  casework: CaseworkDeps;
  pages: PageRenderer;
  sendLater(outboxIds: string[]): Promise<void>;
  /**
   * Queues matching of cases written by a committed transaction (a portal comment's follow-up
   * case). Never throws: a case left unqueued stays `new`, and the recovery sweep queues it.
   */
  matchLater(caseIds: string[]): Promise<void>;
  /** Intake dependencies, for retrying quarantined messages (POST /api/quarantine/:id/retry). */
  intake?: IntakeDeps;
  metrics?: Metrics;
  /** A reply's or a comment's files: MAX_MESSAGE_BYTES each, 10 at most, unless a test says otherwise. */
  uploadLimits?: UploadLimits;
  /** A staff reply was a case's first, `seconds` after the case arrived (the first-response histogram). */
  onFirstResponse?: (seconds: number) => void;
  metricsToken?: string | null;
  /** The development SMTP server's captured mail, shown at /dev/mail (demo only). */
  devMail?: CapturedMail[];
  staffSessionTtlMs: number;
  /** The dashboard turns red when intake is disconnected or decisions lag this long. */
  intakeAlertAfterMs: number;
  /** How often the overview's live numbers refresh (5 s unless a test says otherwise). */
  liveRefreshMs?: number;
  /** The live case list's poller: every second, a heartbeat every 15 s, 100 streams a process, unless a test says otherwise. */
  caseFeed?: Partial<CaseFeedOptions>;
  /** PORTAL_LINK_TTL and PORTAL_SESSION_TTL. */
  portalLinkTtlMs?: number;
  portalSessionTtlMs?: number;
  /** TRUST_PROXY: whose X-Forwarded-* headers are believed; none when absent. */
  trustProxy?: TrustProxy;
  /** The job queues, for the overview's counts and Bull Board; absent in tests of the web alone. */
  queues?: { counts(): Promise<Record<string, QueueCounts>>; boardQueues(): Queue[] };
  /**
   * Brings the event feed up to date before a read, queueing the webhooks' new deliveries; the
   * events module's relay alone when absent (tests of the web).
   */
  relayEvents?: () => Promise<unknown>;
  /** Queues delivery of webhook streams (a redelivery from the dashboard); the sweep does it when absent. */
  deliverWebhooks?: (heads: StreamHead[]) => Promise<void>;
}

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

const STATUS_BY_CODE: Record<DomainErrorCode, number> = { invalid_input: 400, forbidden: 403, not_found: 404, conflict: 409, unavailable: 503 };

/** The HTTP edge: routes call domain functions; domain errors become status codes here only. */
export const uploadLimits = (deps: Pick<WebDeps, 'uploadLimits' | 'approvals'>): UploadLimits => deps.uploadLimits ?? { fileBytes: deps.approvals.settings.maxMessageBytes, files: 10 };

export async function buildServer(deps: WebDeps): Promise<FastifyInstance> {
  // Per-request lines are noise at info level; errors still reach the log.
  const httpLog = deps.log.child({ component: 'http' }, { level: deps.log.level === 'silent' ? 'silent' : 'warn' });
  const app = Fastify({ loggerInstance: httpLog as FastifyBaseLogger, trustProxy: fastifyTrustProxy(deps.trustProxy ?? { kind: 'none' }) });
  registerSecurityHeaders(app, deps.approvals.settings.publicUrl);
  app.setErrorHandler((thrown, request, reply) => {
    const err = uploadRefused(thrown) ?? thrown;
    if (err instanceof DomainError && /^\/(dashboard|portal)(\/|\?|$)/.test(request.url)) {
      // Staff pages answer with a page; its text is ours (an id at most), escaped like any value.
      const status = STATUS_BY_CODE[err.code];
      return reply.status(status).headers(PAGE_HEADERS).send(deps.pages.render('notice', status === 404 ? 'Not found' : 'Cannot do that', { heading: status === 404 ? 'Not found' : status === 403 ? 'Not allowed' : 'That did not work', message: err.message, error: true }));
    }
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
  app.get('/static/live.js', async (_request, reply) => reply.header('content-type', 'text/javascript; charset=utf-8').header('cache-control', 'public, max-age=3600').send(deps.pages.script));

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
