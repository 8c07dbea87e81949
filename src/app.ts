import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ApprovalDeps } from './approvals/context';
import { runApprovalClock } from './approvals/maintenance';
import { handleApprovalReply } from './approvals/reply';
import { onCaseDecided, type CcMemberLists } from './approvals/requests';
import type { Config } from './config/config';
import { createDb, type Db } from './db/connection';
import { migrateToLatest } from './db/migrate';
import { matchCases } from './directory/match-case';
import { startDevSmtp } from './intake/dev-smtp';
import type { IntakeDeps } from './intake/ingest';
import { recoverInterrupted } from './intake/recovery';
import { MailboxWatcher, type WatcherStatus } from './intake/watcher';
import { readWatcherStatuses } from './intake/watcher-status';
import { deliverOutboxRows } from './mail/deliver';
import { assignSendBatches, findPendingSendBatches, type SendBatch } from './mail/send-batches';
import { MailRenderer, TEMPLATES_DIR } from './mail/templates';
import { createSmtpTransport, type MailTransport } from './mail/transport';
import { BullQueues, BullWorkers } from './queue/bullmq';
import type { JobHandlers } from './queue/jobs';
import { Metrics } from './ops/metrics';
import { pruneAttempts } from './security/rate-limit';
import { pruneStaffSessions } from './staff/sessions';
import { pruneSignInLinks } from './portal/links';
import { prunePortalSessions } from './portal/sessions';
import { PageRenderer } from './web/pages';
import { buildServer } from './web/server';
import type { HealthReport } from './web/routes/health';

/** Everything a process shares, built once here and passed down; nothing else holds connections. */
export interface AppContext {
  config: Config;
  log: Logger;
  db: Db;
  /** The send queue's commit point (see DeliveryDeps.commitDb). */
  commitDb: Db;
  jobs: BullQueues;
  intake: IntakeDeps;
  approvals: ApprovalDeps;
  transport: MailTransport;
}

export async function createContext(config: Config, log: Logger): Promise<AppContext> {
  const renderer = await MailRenderer.load(TEMPLATES_DIR);
  const db = createDb(config.databaseUrl);
  const commitDb = createDb(config.databaseUrl, { max: config.sendConcurrency + 1, asyncCommit: true });
  const jobs = new BullQueues(config.redisUrl, config.queuePrefix);
  const approvals: ApprovalDeps = {
    db,
    log,
    outbox: { renderer, supportAddress: config.supportAddress, autoRepliesPerHour: config.autoRepliesPerSenderPerHour },
    settings: {
      publicUrl: config.publicUrl,
      linkSecret: config.linkSecret,
      linkSecretPrevious: config.linkSecretPrevious,
      ttlMs: config.approvalTtlMs,
      remindAfterMs: config.approvalRemindAfterMs,
      mailPerHour: config.approvalMailPerHour,
      inboundAuthservId: config.inboundAuthservId,
      maxMessageBytes: config.maxMessageBytes,
    },
  };
  const transport = createSmtpTransport(config.smtpUrl, config.supportAddress);
  return { config, log, db, commitDb, jobs, intake: {
      db,
      jobs,
      log,
      supportAddress: config.supportAddress,
      replySecrets: [config.linkSecret, config.linkSecretPrevious],
      inboundAuthservId: config.inboundAuthservId,
      maxMessageBytes: config.maxMessageBytes,
    }, approvals, transport };
}

export async function closeContext(ctx: AppContext): Promise<void> {
  ctx.transport.close();
  await ctx.jobs.close().catch(() => undefined);
  await ctx.db.destroy();
  await ctx.commitDb.destroy();
}

/** Queues delivery of outbox rows written by a committed transaction, in send batches. */
export async function sendLater(ctx: AppContext, outboxIds: string[]): Promise<void> {
  if (outboxIds.length) await queueSendBatches(ctx, () => assignSendBatches(ctx.db, outboxIds), false);
}

/**
 * `revive` (the sweep's rows, still pending long after) also revives their batches' finished
 * jobs (JobSink.requeueMany). A failure here loses nothing: the rows are pending in PostgreSQL,
 * and the sweep queues them.
 */
async function queueSendBatches(ctx: AppContext, batches: () => Promise<SendBatch[]>, revive: boolean): Promise<void> {
  try {
    const jobs = await batches();
    await (revive ? ctx.jobs.requeueMany('send', jobs) : ctx.jobs.enqueueMany('send', jobs));
  } catch (err) {
    ctx.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not queue mail yet');
  }
}

/**
 * One thin handler per queue: each calls a domain function and queues the mail it wrote.
 * `stopping` aborts when the process begins to stop: a send job then ends after the mail in hand.
 */
export function jobHandlers(ctx: AppContext, metrics?: Metrics, stopping?: AbortSignal): JobHandlers {
  const handlers: JobHandlers = {
    match: async ({ caseIds }) => {
      const ccLists: CcMemberLists = new Map();
      const outcomes = await matchCases(ctx.db, caseIds, { senderLimit: ctx.config.senderCaseLimit, afterDecision: (tx, id) => onCaseDecided(tx, ctx.approvals, id, ccLists) });
      const outboxIds: string[] = [];
      let failed: unknown = null;
      for (const outcome of outcomes) {
        if (outcome.result === 'failed') failed ??= outcome.error;
        if (outcome.result !== 'decided') continue;
        ctx.log.info({ case: outcome.reference, status: outcome.status, holdReason: outcome.holdReason }, 'case decided');
        outboxIds.push(...outcome.outboxIds);
      }
      // The decided cases' mail goes out whatever became of the rest; a retry skips them.
      await sendLater(ctx, outboxIds);
      if (failed) throw failed;
      return outcomes;
    },
    // A send job queued before send batches carried one `outboxId`.
    send: async (data) => deliverOutboxRows({ db: ctx.db, commitDb: ctx.commitDb, transport: ctx.transport, log: ctx.log, stopping }, data.outboxIds ?? [(data as unknown as { outboxId: string }).outboxId]),
    'approval-reply': async ({ rawId }) => {
      const outcome = await handleApprovalReply(ctx.approvals, rawId);
      await sendLater(ctx, outcome.outboxIds);
      return outcome;
    },
  };
  if (!metrics) return handlers;
  return {
    match: (data) => metrics.timeJob('match', () => handlers.match(data)),
    send: (data) => metrics.timeJob('send', () => handlers.send(data)),
    'approval-reply': (data) => metrics.timeJob('approval-reply', () => handlers['approval-reply'](data)),
  };
}

/**
 * The periodic sweep every process runs: finish interrupted intake, queue mail nobody queued,
 * and move the approval clock (expiry, reminders, capped requests). All of it is idempotent.
 */
export async function runMaintenance(ctx: AppContext, graceMs: number): Promise<void> {
  const recovered = await recoverInterrupted(ctx.intake, graceMs);
  if (recovered.reprocessed || recovered.requeued) ctx.log.info(recovered, 'recovered interrupted intake');
  // Rows still pending after the grace period: their jobs may have run out of tries.
  await queueSendBatches(ctx, () => findPendingSendBatches(ctx.db, 500, graceMs), true);
  await pruneStaffSessions(ctx.db);
  await prunePortalSessions(ctx.db);
  await pruneSignInLinks(ctx.db);
  await pruneAttempts(ctx.db);
  const clock = await runApprovalClock(ctx.approvals);
  if (clock.expired || clock.reminded || clock.released) ctx.log.info({ expired: clock.expired, reminded: clock.reminded, released: clock.released }, 'approval clock');
  await sendLater(ctx, clock.outboxIds);
}

export interface RunningService {
  address: string | null;
  health(): Promise<HealthReport>;
  stop(): Promise<void>;
}

const RECOVERY_INTERVAL_MS = 30_000;
const RECOVERY_GRACE_MS = 10_000;

/** What one `start` process runs; any number of processes of any roles share Redis and PostgreSQL. */
export type Role = 'watcher' | 'worker' | 'web';
export const ROLES: readonly Role[] = ['watcher', 'worker', 'web'];

/**
 * `start`: migrations, then what the roles ask for: `watcher` (one per mailbox across all
 * processes, by lease; and the development SMTP server), `worker` (the queues and the periodic
 * sweep), `web` (the HTTP server). All three by default.
 */
export async function startService(ctx: AppContext, roles: ReadonlySet<Role> = new Set(ROLES)): Promise<RunningService> {
  const { config, log } = ctx;
  await migrateToLatest(ctx.db);

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
          }),
      )
    : [];
  const stopping = new AbortController();
  const metrics = new Metrics(ctx.db, () => watchers.reduce((n, w) => n + w.status().reconnects, 0));
  ctx.approvals.onDecided = (d) => metrics.approvalDecisionSeconds.observe({ channel: d.channel, outcome: d.outcome }, d.secondsToDecision);
  const workers = roles.has('worker')
    ? new BullWorkers(config.redisUrl, config.queuePrefix, jobHandlers(ctx, metrics, stopping.signal), {
        concurrency: { match: config.matchConcurrency, send: config.sendConcurrency, 'approval-reply': 2 },
        log,
      })
    : null;

  const recover = async (graceMs: number) => {
    try {
      await runMaintenance(ctx, graceMs);
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 'maintenance sweep failed; will retry');
    }
  };
  let recoveryTimer: NodeJS.Timeout | null = null;
  if (workers) {
    // A process with every role finishes at once whatever a crash left; with split roles, work
    // younger than the grace period may be another process's, in flight.
    await recover(roles.size === ROLES.length ? 0 : RECOVERY_GRACE_MS);
    recoveryTimer = setInterval(() => void recover(RECOVERY_GRACE_MS), RECOVERY_INTERVAL_MS);
  }

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
    return { address: null, health, stop: stopper(log, { stopping, recoveryTimer, server: null, watchers, workers, devSmtp, transport: ctx.transport, redis }) };
  }
  const pages = await PageRenderer.load(TEMPLATES_DIR);
  const server = await buildServer({ db: ctx.db, log, apiToken: config.apiToken, health, approvals: ctx.approvals, pages, sendLater: (ids) => sendLater(ctx, ids),
    devMail: devSmtp?.captured,
    intake: ctx.intake,
    metrics,
    metricsToken: config.metricsToken,
    staffSessionTtlMs: config.staffSessionTtlMs,
    intakeAlertAfterMs: config.intakeAlertAfterMs,
    liveRefreshMs: config.dashboardRefreshMs,
    portalLinkTtlMs: config.portalLinkTtlMs,
    portalSessionTtlMs: config.portalSessionTtlMs,
    queues: ctx.jobs,
  });
  const address = await server.listen({ host: config.host, port: config.port });
  log.info({ address, roles: [...roles], mailboxes: mailboxIds, devSmtp: config.devSmtp }, 'case-intake started');
  return { address, health, stop: stopper(log, { stopping, recoveryTimer, server, watchers, workers, devSmtp, transport: ctx.transport, redis }) };
}


const MAILBOX_OK: ReadonlySet<string> = new Set(['connected', 'standby']);

/** Degraded while PostgreSQL, Redis or any watched mailbox is unreachable (or has no live watcher). */
export function healthReport(database: 'up' | 'down', redis: 'up' | 'down', mailboxes: WatcherStatus[], configured: number): HealthReport {
  const troubled = mailboxes.find((m) => !MAILBOX_OK.has(m.state));
  const unknown = configured > 0 && mailboxes.length === 0;
  const mailbox = configured === 0 ? ({ state: 'disabled' } as const) : (troubled ?? mailboxes[0] ?? { mailbox: '', state: 'unwatched', mode: null, lastSyncAt: null, lastMessageAt: null, lastError: 'cannot read the watchers\' reports', reconnects: 0, stateSince: new Date().toISOString() });
  const ok = database === 'up' && redis === 'up' && !troubled && !unknown;
  return { status: ok ? 'ok' : 'degraded', database, redis, mailbox, mailboxes };
}

/** SIGTERM must end within 10 s: in-flight jobs get most of it, then are left to be retried. */
const STOP_JOBS_WITHIN_MS = 7000;

interface Running {
  stopping: AbortController;
  recoveryTimer: NodeJS.Timeout | null;
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
      await step('workers', () => r.workers?.close(STOP_JOBS_WITHIN_MS));
      // Our own pooled SMTP connection to the development server would hold its close open.
      r.transport.close();
      await step('dev-smtp', () => r.devSmtp?.close());
      r.redis.disconnect();
    })());
}
