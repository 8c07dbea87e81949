/**
 * What a process shares (connections, queues, the mail transport, the deps of each room), built
 * once from the configuration. Its own module so that the queue handlers, which take it, and
 * app.ts, which starts them, do not import each other.
 */
import type { Logger } from 'pino';
import type { ApprovalDeps } from './approvals/context';
import type { CaseworkDeps } from './cases/work-common';
import type { Config } from './config/config';
import { useDisplayTimeZone } from './dates';
import { createDb, createPool, type Db, type Pool } from './db/connection';
import type { IntakeDeps } from './intake/filing';
import { OutboxSealer } from './mail/sealed-secrets';
import { MailRenderer, TEMPLATES_DIR } from './mail/templates';
import { createSmtpTransport, type MailTransport } from './mail/transport';
import { mailTokens, type MailTokens } from './oauth/mail-tokens';
import { BullQueues } from './queue/bullmq';
import type { SecretBox } from './security/secret-box';
import { webhookSecretBox } from './webhooks/endpoints';
import type { WebhookRetryPolicy } from './webhooks/retry';

/** Everything a process shares, built once here and passed down; nothing else holds connections. */
export interface AppContext {
  config: Config;
  log: Logger;
  db: Db;
  /** The send queue's commit point (see DeliveryDeps.commitPool). */
  commitPool: Pool;
  jobs: BullQueues;
  intake: IntakeDeps;
  approvals: ApprovalDeps;
  /** Staff and customers working cases (cases/work.ts, cases/customer-side.ts). */
  casework: CaseworkDeps;
  transport: MailTransport;
  /** OAuth access tokens of the mailboxes and the SMTP relay, one cache per credential. */
  tokens: MailTokens;
  /** Webhook delivery: the endpoints' secrets' box, the retry schedule, the attempt timeout. */
  webhooks: { box: SecretBox; retry: WebhookRetryPolicy; timeoutMs: number };
}

export async function createContext(config: Config, log: Logger): Promise<AppContext> {
  useDisplayTimeZone(config.display.timeZone);
  const renderer = await MailRenderer.load(TEMPLATES_DIR, config.display.vendor);
  const db = createDb(config.databaseUrl);
  const commitPool = createPool(config.databaseUrl, { max: config.sendConcurrency + 1, asyncCommit: true });
  const jobs = new BullQueues(config.redisUrl, config.queuePrefix);
  const approvals: ApprovalDeps = {
    db,
    log,
    outbox: { renderer, supportAddress: config.supportAddress, autoRepliesPerHour: config.autoRepliesPerSenderPerHour, sealer: new OutboxSealer([config.linkSecret, config.linkSecretPrevious]) },
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
  const tokens = mailTokens();
  const smtpLogin = config.smtpOAuth ? { user: config.smtpOAuth.user, provider: config.smtpOAuth.credential.provider, tokens: tokens({ method: 'oauth2', ...config.smtpOAuth })! } : null;
  const transport = createSmtpTransport(config.smtpUrl, config.supportAddress, { oauth: smtpLogin });
  return { config, log, db, commitPool, jobs, intake: {
      db,
      jobs,
      log,
      supportAddress: config.supportAddress,
      replySecrets: [config.linkSecret, config.linkSecretPrevious],
      inboundAuthservId: config.inboundAuthservId,
      maxMessageBytes: config.maxMessageBytes,
      reopenWindowMs: config.reopenWindowMs,
    }, approvals, transport, tokens, casework: {
      db,
      outbox: approvals.outbox,
      replySecret: config.linkSecret,
      publicUrl: config.publicUrl,
      reopenWindowMs: config.reopenWindowMs,
      escalationNotify: config.escalationNotify,
    }, webhooks: { box: webhookSecretBox([config.linkSecret, config.linkSecretPrevious]), retry: config.webhooks.retry, timeoutMs: config.webhooks.timeoutMs } };
}

export async function closeContext(ctx: AppContext): Promise<void> {
  ctx.transport.close();
  await ctx.jobs.close().catch(() => undefined);
  await ctx.db.destroy();
  await ctx.commitPool.end();
}
