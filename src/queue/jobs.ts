import { batchKey } from '../db/batches';

/**
 * Every queue, its payload, its retry policy and how its job id is derived. Payloads carry ids
 * only: the handler reloads the row, so a job never acts on stale data. Domain code enqueues
 * through `JobSink` and never sees BullMQ.
 */
export interface JobPayloads {
  /** Route and authorize cases: one fetch's new cases together, or one case (the recovery sweep). */
  match: { caseIds: string[] };
  /**
   * Deliver outbox rows, one SMTP transaction each, one after another: a batch of what one
   * producer wrote together. `batch` is the key stored on the rows (mail/send-batches.ts).
   */
  send: { batch: string; outboxIds: string[] };
  /** Act on a kept reply to an approval request (decide, or record why not). */
  'approval-reply': { rawId: string };
  /**
   * Deliver one webhook endpoint's stream (a case, an approval, a company's members) in order.
   * `wake` names the stream's head row and its attempts when the job was asked for
   * (`<deliveryId>.<attempts>`): each retry is a job of its own, and asking twice is one job.
   */
  webhook: { endpointId: string; stream: string; wake: string };
}

export type QueueName = keyof JobPayloads;
export const QUEUE_NAMES: readonly QueueName[] = ['match', 'send', 'approval-reply', 'webhook'];

export interface RetryPolicy {
  attempts: number;
  /** First retry delay; it doubles on each attempt. */
  backoffMs: number;
}

export const RETRY: Record<QueueName, RetryPolicy> = {
  match: { attempts: 8, backoffMs: 1000 },
  // SMTP outages last minutes: 10 attempts from 5 s span about 40 minutes (MAX_SEND_ATTEMPTS).
  send: { attempts: 10, backoffMs: 5000 },
  'approval-reply': { attempts: 8, backoffMs: 1000 },
  // A receiver's failures are retried by the rows' own schedule (webhooks/retry.ts), each retry
  // a delayed job; these attempts are for our own trouble (the database away).
  webhook: { attempts: 8, backoffMs: 1000 },
};

/** One job per entity: re-adding a job whose id exists is a no-op, so retries never double work. */
export function jobIdFor<N extends QueueName>(name: N, data: JobPayloads[N]): string {
  const d = data as JobPayloads[QueueName];
  switch (name) {
    case 'match': {
      // One case keeps the plain id; a batch is named by its first case and a digest of all.
      return `match-${batchKey((d as JobPayloads['match']).caseIds)}`;
    }
    case 'send':
      // By the key stored on the rows, not by the ids given: the sweep re-adds a batch's pending
      // rows (fewer ids once some went out) under the job that already has them.
      return `send-${(d as JobPayloads['send']).batch}`;
    case 'approval-reply':
      return `approval-reply-${(d as JobPayloads['approval-reply']).rawId}`;
    case 'webhook': {
      const w = d as JobPayloads['webhook'];
      // BullMQ refuses ':' in a job id; streams are `case:<id>` and the like.
      return `webhook-${w.endpointId}-${w.stream.replace(/:/g, '_')}-${w.wake}`;
    }
    default:
      throw new Error(`no job id rule for queue ${String(name)}`);
  }
}

export interface JobSink {
  enqueueMany<N extends QueueName>(name: N, data: Array<JobPayloads[N]>): Promise<void>;
  /**
   * For the recovery sweep, whose rows still need work: like `enqueueMany`, but a job for the same
   * data that already failed for good (a long outage outlasted its retries) is retried, and one
   * that completed (its row was put back afterwards) is replaced, instead of the add being a no-op.
   */
  requeueMany<N extends QueueName>(name: N, data: Array<JobPayloads[N]>): Promise<void>;
}

export type JobHandlers = { [N in QueueName]: (data: JobPayloads[N]) => Promise<unknown> };
