/**
 * What a worker process runs: one thin handler per queue, each calling a domain function and
 * queueing the mail it wrote, and the periodic sweep. The web role queues its mail here too.
 */
import type { AppContext } from '../context';
import { runApprovalClock } from '../approvals/maintenance';
import { handleApprovalReply } from '../approvals/reply';
import { onCasesDecided } from '../approvals/on-decided';
import type { CcMemberLists } from '../directory/cc-members';
import { closeSolvedCases } from '../cases/customer-side';
import { matchCases } from '../directory/match-case';
import type { IntakeBacklog } from '../intake/backlog';
import { recoverInterrupted } from '../intake/recovery';
import { deliverOutboxRows } from '../mail/deliver';
import { dropSealedSecretsOfDoneRows } from '../mail/outbox';
import { assignSendBatches, findPendingSendBatches, type SendBatch } from '../mail/send-batches';
import type { Metrics } from '../ops/metrics';
import { prunePortalSessions } from '../portal/sessions';
import { pruneSignInLinks } from '../portal/links';
import { pruneAttempts } from '../security/rate-limit';
import { pruneStaffSessions } from '../staff/sessions';
import type { JobHandlers, QueueName } from './jobs';
import { errorMessage } from '../errors';
import { sweepWebhookStreams, webhookHandler } from './webhooks';

/** Queues delivery of outbox rows written by a committed transaction, in send batches. */
export async function enqueueDeliveries(ctx: AppContext, outboxIds: string[]): Promise<void> {
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
    ctx.log.warn({ err: errorMessage(err) }, 'could not queue mail yet');
  }
}

export interface HandlerOptions {
  metrics?: Metrics;
  /** Aborts when the process begins to stop: a send job then ends after the mail in hand. */
  stopping?: AbortSignal;
  /** This process's watchers' backlog: a send job waits while they catch up (SEND_YIELD_SECONDS). */
  backlog?: IntakeBacklog;
}

/** The handlers, one per queue. */
export function jobHandlers(ctx: AppContext, { metrics, stopping, backlog }: HandlerOptions = {}): JobHandlers {
  const handlers: JobHandlers = {
    match: async ({ caseIds }) => {
      const ccLists: CcMemberLists = new Map();
      const outcomes = await matchCases(ctx.db, caseIds, {
        senderLimit: ctx.config.senderCaseLimit,
        afterDecisions: (tx, ids) => onCasesDecided(tx, ctx.approvals, ids, ccLists),
        onTogetherFailed: (err, cases) => ctx.log.warn({ cases, err: errorMessage(err) }, 'deciding a job\'s cases together failed: deciding each alone'),
      });
      const outboxIds: string[] = [];
      let failed: unknown = null;
      for (const outcome of outcomes) {
        if (outcome.result === 'failed') failed ??= outcome.error;
        if (outcome.result !== 'decided') continue;
        ctx.log.info({ case: outcome.reference, status: outcome.status, holdReason: outcome.holdReason }, 'case decided');
        outboxIds.push(...outcome.outboxIds);
      }
      // The decided cases' mail goes out whatever became of the rest; a retry skips them.
      await enqueueDeliveries(ctx, outboxIds);
      if (failed) throw failed;
      return outcomes;
    },
    send: async ({ outboxIds }) =>
      deliverOutboxRows({ db: ctx.db, commitPool: ctx.commitPool, transport: ctx.transport, sealer: ctx.approvals.outbox.sealer, log: ctx.log, stopping, onCommitWindow: metrics && ((s) => metrics.commitPointWindow.observe(s)) }, outboxIds),
    'approval-reply': async ({ rawId }) => {
      const outcome = await handleApprovalReply(ctx.approvals, rawId);
      await enqueueDeliveries(ctx, outcome.outboxIds);
      return outcome;
    },
    webhook: webhookHandler(ctx, stopping),
  };
  // A job's duration is its own work: a send's wait for intake comes before its timing starts.
  const timed =
    <D>(queue: QueueName, run: (data: D) => Promise<unknown>) =>
    (data: D) =>
      metrics ? metrics.timeJob(queue, () => run(data)) : run(data);
  const send = timed('send', handlers.send);
  return {
    match: timed('match', handlers.match),
    send: async (data) => {
      await backlog?.yieldToIntake(stopping);
      return send(data);
    },
    'approval-reply': timed('approval-reply', handlers['approval-reply']),
    webhook: timed('webhook', handlers.webhook),
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
  await dropSealedSecretsOfDoneRows(ctx.db);
  await pruneAttempts(ctx.db);
  await sweepWebhookStreams(ctx, graceMs);
  const closed = await closeSolvedCases(ctx.db, ctx.casework.reopenWindowMs);
  if (closed) ctx.log.info({ closed }, 'solved cases closed after the reopen window');
  const clock = await runApprovalClock(ctx.approvals);
  if (clock.expired || clock.reminded || clock.released) ctx.log.info({ expired: clock.expired, reminded: clock.reminded, released: clock.released }, 'approval clock');
  await enqueueDeliveries(ctx, clock.outboxIds);
}
