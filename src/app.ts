import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from './config/config';
import { createDb, type Db } from './db/connection';
import { migrateToLatest } from './db/migrate';
import { matchCase } from './directory/match-case';
import { startDevSmtp } from './intake/dev-smtp';
import type { IntakeDeps } from './intake/ingest';
import { recoverInterrupted } from './intake/recovery';
import { MailboxWatcher } from './intake/watcher';
import { BullQueues, BullWorkers } from './queue/bullmq';
import type { JobHandlers } from './queue/jobs';
import { buildServer } from './web/server';
import type { HealthReport } from './web/routes/health';

/** Everything a process shares, built once here and passed down; nothing else holds connections. */
export interface AppContext {
  config: Config;
  log: Logger;
  db: Db;
  jobs: BullQueues;
  intake: IntakeDeps;
}

export function createContext(config: Config, log: Logger): AppContext {
  const db = createDb(config.databaseUrl);
  const jobs = new BullQueues(config.redisUrl, config.queuePrefix);
  return { config, log, db, jobs, intake: { db, jobs, log } };
}

export async function closeContext(ctx: AppContext): Promise<void> {
  await ctx.jobs.close().catch(() => undefined);
  await ctx.db.destroy();
}

export function jobHandlers(ctx: AppContext): JobHandlers {
  return {
    match: async ({ caseId }) => {
      const outcome = await matchCase(ctx.db, caseId);
      if (outcome.result === 'decided') ctx.log.info({ caseId, status: outcome.status, holdReason: outcome.holdReason }, 'case decided');
      return outcome;
    },
  };
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

  const workers = new BullWorkers(config.redisUrl, config.queuePrefix, jobHandlers(ctx), {
    concurrency: { match: config.matchConcurrency },
    log,
  });

  const recover = async (graceMs: number) => {
    try {
      const counts = await recoverInterrupted(ctx.intake, graceMs);
      if (counts.reprocessed || counts.requeued) log.info(counts, 'recovered interrupted intake');
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 'recovery sweep failed; will retry');
    }
  };
  // At start nothing of ours is in flight, so everything unfinished is a crash's leftover.
  await recover(0);
  const recoveryTimer = setInterval(() => void recover(RECOVERY_GRACE_MS), RECOVERY_INTERVAL_MS);

  const watcher = config.imap
    ? new MailboxWatcher(ctx.intake, { target: config.imap, databaseUrl: config.databaseUrl, pollMs: config.imapPollMs, processedFolder: config.imapProcessedFolder })
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

  const server = await buildServer({ db: ctx.db, log, apiToken: config.apiToken, health });
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
        await step('dev-smtp', () => devSmtp?.close());
        await step('watcher', () => watcher?.stop());
        await step('workers', () => workers.close());
        redis.disconnect();
      })()),
  };
}
