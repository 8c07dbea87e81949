import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AppContext } from './context';
import { migrateToLatest } from './db/migrate';
import { startDevSmtp } from './intake/dev-smtp';
import { enqueueOrLeaveForSweep } from './intake/filing';
import { IntakeBacklog } from './intake/backlog';
import { FETCH_BATCH, MailboxWatcher } from './intake/watcher';
import { readWatcherStatuses, type WatcherStatus } from './intake/watcher-status';
import { TEMPLATES_DIR } from './mail/templates';
import type { MailTransport } from './mail/transport';
import { BullWorkers } from './queue/bullmq';
import { jobHandlers, runMaintenance, enqueueDeliveries } from './queue/handlers';
import { Metrics } from './ops/metrics';
import { PageRenderer } from './web/pages';
import { buildServer } from './web/server';
import type { HealthReport } from './web/routes/health';
import { errorMessage } from './errors';
import { queueStreams, relayAndDeliver, startEventRelay } from './queue/webhooks';
import { ROLES, type Role } from './roles';

export interface RunningService {
  address: string | null;
  health(): Promise<HealthReport>;
  stop(): Promise<void>;
  /** This process's metrics (also served at /metrics by the web role). */
  metrics: Metrics;
}

const RECOVERY_INTERVAL_MS = 30_000;
const RECOVERY_GRACE_MS = 10_000;


/**
 * `start`: migrations, then what the roles ask for: `watcher` (one per mailbox across all
 * processes, by lease; and the development SMTP server), `worker` (the queues and the periodic
 * sweep), `web` (the HTTP server). All three by default.
 */
export async function startService(ctx: AppContext, roles: ReadonlySet<Role> = new Set(ROLES)): Promise<RunningService> {
  const { config, log } = ctx;
  await migrateToLatest(ctx.db);

  const backlog = new IntakeBacklog({ threshold: FETCH_BATCH, maxHoldMs: config.sendYieldMs });
  const watchers = roles.has('watcher')
    ? config.mailboxes.map(
        (target) =>
          new MailboxWatcher(ctx.intake, {
            target,
            databaseUrl: config.databaseUrl,
            pollMs: config.imapPollMs,
            idle: config.imapIdle,
            processedFolder: config.imapProcessedFolder,
            maxMessageBytes: config.maxMessageBytes,
            backlog,
            tokens: ctx.tokens(target.auth),
          }),
      )
    : [];
  const stopping = new AbortController();
  const metrics = new Metrics(ctx.db, () => watchers.reduce((n, w) => n + w.status().reconnects, 0), () => backlog.waiting(), config.mailboxes.map((m) => m.id));
  ctx.approvals.onDecided = (d) => metrics.approvalDecisionSeconds.observe({ channel: d.channel, outcome: d.outcome }, d.secondsToDecision);
  const workers = roles.has('worker')
    ? new BullWorkers(config.redisUrl, config.queuePrefix, jobHandlers(ctx, { metrics, stopping: stopping.signal, backlog }), {
        concurrency: { match: config.matchConcurrency, send: config.sendConcurrency, 'approval-reply': 2, webhook: config.webhooks.concurrency },
        log,
      })
    : null;

  const recover = async (graceMs: number) => {
    try {
      await runMaintenance(ctx, graceMs);
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'maintenance sweep failed; will retry');
    }
  };
  let recoveryTimer: NodeJS.Timeout | null = null;
  if (workers) {
    // A process with every role finishes at once whatever a crash left; with split roles, work
    // younger than the grace period may be another process's, in flight.
    await recover(roles.size === ROLES.length ? 0 : RECOVERY_GRACE_MS);
    recoveryTimer = setInterval(() => void recover(RECOVERY_GRACE_MS), RECOVERY_INTERVAL_MS);
  }

  const relay = workers ? startEventRelay(ctx, backlog, config.sendYieldMs) : null;
  for (const w of watchers) w.start();
  const devSmtp = roles.has('watcher') && config.devSmtp ? startDevSmtp(ctx.intake, { ...config.devSmtp, supportAddress: config.supportAddress }) : null;
  await devSmtp?.listening;

  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false });
  redis.on('error', () => undefined);
  const mailboxIds = config.mailboxes.map((m) => m.id);
  const health = async (): Promise<HealthReport> => {
    const [database, redisUp] = await Promise.all([
      ctx.db.selectNoFrom((eb) => eb.val(1).as('ok')).execute().then(() => 'up' as const, () => 'down' as const),
      redis.ping().then(() => 'up' as const, () => 'down' as const),
    ]);
    // This process's own watchers where it has them; else what the live watchers last reported.
    const mailboxes = watchers.length ? watchers.map((w) => w.status()) : database === 'up' ? await readWatcherStatuses(ctx.db, mailboxIds).catch(() => []) : [];
    return healthReport(database, redisUp, mailboxes, mailboxIds.length);
  };

  if (!roles.has('web')) {
    log.info({ roles: [...roles], mailboxes: mailboxIds, devSmtp: config.devSmtp }, 'case-intake started');
    return { address: null, health, metrics, stop: stopper(log, { stopping, recoveryTimer, relay, server: null, watchers, workers, devSmtp, transport: ctx.transport, redis }) };
  }
  const pages = await PageRenderer.load(TEMPLATES_DIR, config.display);
  const server = await buildServer({ db: ctx.db, log, apiToken: config.apiToken, health, approvals: ctx.approvals, casework: ctx.casework, pages, enqueueDeliveries: (ids) => enqueueDeliveries(ctx, ids),
    matchLater: (ids) => enqueueOrLeaveForSweep(ctx.intake, 'match', [{ caseIds: ids }], { cases: ids }),
    devMail: devSmtp?.captured,
    intake: ctx.intake,
    metrics,
    onFirstResponse: (seconds) => metrics.firstResponseSeconds.observe(seconds),
    metricsToken: config.metricsToken,
    staffSessionTtlMs: config.staffSessionTtlMs,
    intakeAlertAfterMs: config.intakeAlertAfterMs,
    liveRefreshMs: config.dashboardRefreshMs,
    portalLinkTtlMs: config.portalLinkTtlMs,
    portalSessionTtlMs: config.portalSessionTtlMs,
    trustProxy: config.trustProxy,
    queues: ctx.jobs,
    relayEvents: () => relayAndDeliver(ctx, { wait: true }),
    deliverWebhooks: (heads) => queueStreams(ctx, heads, true),
  });
  const address = await server.listen({ host: config.host, port: config.port });
  log.info({ address, roles: [...roles], mailboxes: mailboxIds, devSmtp: config.devSmtp }, 'case-intake started');
  return { address, health, metrics, stop: stopper(log, { stopping, recoveryTimer, relay, server, watchers, workers, devSmtp, transport: ctx.transport, redis }) };
}


const MAILBOX_OK: ReadonlySet<string> = new Set(['connected', 'standby']);

/** Degraded while PostgreSQL, Redis or any watched mailbox is unreachable (or has no live watcher). */
export function healthReport(database: 'up' | 'down', redis: 'up' | 'down', mailboxes: WatcherStatus[], configured: number): HealthReport {
  const troubled = mailboxes.find((m) => !MAILBOX_OK.has(m.state));
  const unknown = configured > 0 && mailboxes.length === 0;
  const mailbox = configured === 0 ? ({ state: 'disabled' } as const) : (troubled ?? mailboxes[0] ?? { mailbox: '', state: 'unwatched', mode: null, lastSyncAt: null, lastMessageAt: null, lastError: 'cannot read the watchers\' reports', reasonCode: null, reconnects: 0, stateSince: new Date().toISOString() });
  const ok = database === 'up' && redis === 'up' && !troubled && !unknown;
  return { status: ok ? 'ok' : 'degraded', database, redis, mailbox, mailboxes };
}

/** SIGTERM must end within 10 s: in-flight jobs get most of it, then are left to be retried. */
const STOP_JOBS_WITHIN_MS = 7000;

interface Running {
  stopping: AbortController;
  recoveryTimer: NodeJS.Timeout | null;
  relay: { stop(): Promise<void> } | null;
  server: { close(): Promise<unknown> } | null;
  watchers: MailboxWatcher[];
  workers: BullWorkers | null;
  devSmtp: { close(): Promise<unknown> } | null;
  transport: MailTransport;
  redis: Redis;
}

function stopper(log: Logger, r: Running): () => Promise<void> {
  let closing: Promise<void> | null = null;
  return () =>
    (closing ??= (async () => {
      r.stopping.abort();
      if (r.recoveryTimer) clearInterval(r.recoveryTimer);
      const step = async (what: string, work: () => Promise<unknown> | undefined) => {
        const started = Date.now();
        await work();
        log.info({ step: what, ms: Date.now() - started }, 'stopped');
      };
      await step('http', () => r.server?.close());
      await step('watchers', () => Promise.all(r.watchers.map((w) => w.stop())));
      await step('event-relay', () => r.relay?.stop());
      await step('workers', () => r.workers?.close(STOP_JOBS_WITHIN_MS));
      // Our own pooled SMTP connection to the development server would hold its close open.
      r.transport.close();
      await step('dev-smtp', () => r.devSmtp?.close());
      r.redis.disconnect();
    })());
}
