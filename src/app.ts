import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ApprovalDeps } from './approvals/context';
import { runApprovalClock } from './approvals/maintenance';
import { handleApprovalReply } from './approvals/reply';
import { onCaseDecided } from './approvals/requests';
import type { Config } from './config/config';
import { createDb, type Db } from './db/connection';
import { migrateToLatest } from './db/migrate';
import { matchCase } from './directory/match-case';
import { startDevSmtp } from './intake/dev-smtp';
import type { IntakeDeps } from './intake/ingest';
import { recoverInterrupted } from './intake/recovery';
import { MailboxWatcher } from './intake/watcher';
import { deliverOutboxRow } from './mail/deliver';
import { findPendingOutboxIds } from './mail/outbox';
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
  jobs: BullQueues;
  intake: IntakeDeps;
  approvals: ApprovalDeps;
  transport: MailTransport;
}

export async function createContext(config: Config, log: Logger): Promise<AppContext> {
  const renderer = await MailRenderer.load(TEMPLATES_DIR);
  const db = createDb(config.databaseUrl);
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
  return { config, log, db, jobs, intake: {
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
}

/** Queues delivery of outbox rows written by a committed transaction. */
export async function sendLater(ctx: AppContext, outboxIds: string[]): Promise<void> {
  try {
    await ctx.jobs.enqueueMany('send', outboxIds.map((outboxId) => ({ outboxId })));
  } catch (err) {
    // The rows are pending in PostgreSQL; the maintenance sweep queues them.
    ctx.log.warn({ err: err instanceof Error ? err.message : String(err), count: outboxIds.length }, 'could not queue mail yet');
  }
}

/** One thin handler per queue: each calls a domain function and queues the mail it wrote. */
export function jobHandlers(ctx: AppContext, metrics?: Metrics): JobHandlers {
  const handlers: JobHandlers = {
    match: async ({ caseId }) => {
      const outcome = await matchCase(ctx.db, caseId, { senderLimit: ctx.config.senderCaseLimit, afterDecision: (tx, id) => onCaseDecided(tx, ctx.approvals, id) });
      if (outcome.result === 'decided') {
        ctx.log.info({ case: outcome.reference, status: outcome.status, holdReason: outcome.holdReason }, 'case decided');
        await sendLater(ctx, outcome.outboxIds);
      }
      return outcome;
    },
    send: async ({ outboxId }) => deliverOutboxRow({ db: ctx.db, transport: ctx.transport, log: ctx.log }, outboxId),
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
  await sendLater(ctx, await findPendingOutboxIds(ctx.db, 500));
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

/** `start`: migrations, then workers, the mailbox watcher and the HTTP server in this process. */
export async function startService(ctx: AppContext): Promise<RunningService> {
  const { config, log } = ctx;
  await migrateToLatest(ctx.db);

  // The watcher is made below; the metrics read its reconnect count when scraped.
  let watcher: MailboxWatcher | null = null;
  const metrics = new Metrics(ctx.db, () => watcher?.status().reconnects ?? 0);
  ctx.approvals.onDecided = (d) => metrics.approvalDecisionSeconds.observe({ channel: d.channel, outcome: d.outcome }, d.secondsToDecision);
  const workers = new BullWorkers(config.redisUrl, config.queuePrefix, jobHandlers(ctx, metrics), {
    concurrency: { match: config.matchConcurrency, send: config.sendConcurrency, 'approval-reply': 2 },
    log,
  });

  const recover = async (graceMs: number) => {
    try {
      await runMaintenance(ctx, graceMs);
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 'maintenance sweep failed; will retry');
    }
  };
  // At start nothing of ours is in flight, so everything unfinished is a crash's leftover.
  await recover(0);
  const recoveryTimer = setInterval(() => void recover(RECOVERY_GRACE_MS), RECOVERY_INTERVAL_MS);

  watcher = config.imap
    ? new MailboxWatcher(ctx.intake, {
        target: config.imap,
        databaseUrl: config.databaseUrl,
        pollMs: config.imapPollMs,
        processedFolder: config.imapProcessedFolder,
        maxMessageBytes: config.maxMessageBytes,
      })
    : null;
  watcher?.start();

  const devSmtp = config.devSmtp ? startDevSmtp(ctx.intake, { ...config.devSmtp, supportAddress: config.supportAddress }) : null;
  await devSmtp?.listening;

  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false });
  redis.on('error', () => undefined);
  const health = async (): Promise<HealthReport> => {
    const [database, redisUp] = await Promise.all([
      ctx.db.selectNoFrom((eb) => eb.val(1).as('ok')).execute().then(() => 'up' as const, () => 'down' as const),
      redis.ping().then(() => 'up' as const, () => 'down' as const),
    ]);
    const mailbox = watcher ? watcher.status() : ({ state: 'disabled' } as const);
    const mailboxOk = mailbox.state === 'disabled' || mailbox.state === 'connected' || mailbox.state === 'standby';
    return { status: database === 'up' && redisUp === 'up' && mailboxOk ? 'ok' : 'degraded', database, redis: redisUp, mailbox };
  };

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
  log.info({ address, mailbox: config.imap?.id ?? null, devSmtp: config.devSmtp }, 'case-intake started');

  let stopping: Promise<void> | null = null;
  return {
    address,
    health,
    stop: () =>
      (stopping ??= (async () => {
        clearInterval(recoveryTimer);
        const step = async (what: string, work: () => Promise<unknown> | undefined) => {
          const started = Date.now();
          await work();
          log.info({ step: what, ms: Date.now() - started }, 'stopped');
        };
        await step('http', () => server.close());
        await step('watcher', () => watcher?.stop());
        await step('workers', () => workers.close());
        // Our own pooled SMTP connection to the development server would hold its close open.
        ctx.transport.close();
        await step('dev-smtp', () => devSmtp?.close());
        redis.disconnect();
      })()),
  };
}
