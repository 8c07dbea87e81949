/**
 * Every queue, its payload, its retry policy and how its job id is derived. Payloads carry ids
 * only: the handler reloads the row, so a job never acts on stale data. Domain code enqueues
 * through `JobSink` and never sees BullMQ.
 */
export interface JobPayloads {
  /** Route and authorize one case. */
  match: { caseId: string };
  /** Deliver one outbox row. */
  send: { outboxId: string };
  /** Act on a kept reply to an approval request (decide, or record why not). */
  'approval-reply': { rawId: string };
}

export type QueueName = keyof JobPayloads;
export const QUEUE_NAMES: readonly QueueName[] = ['match', 'send', 'approval-reply'];

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
};

/** One job per entity: re-adding a job whose id exists is a no-op, so retries never double work. */
export function jobIdFor<N extends QueueName>(name: N, data: JobPayloads[N]): string {
  const d = data as JobPayloads[QueueName];
  switch (name) {
    case 'match':
      return `match-${(d as JobPayloads['match']).caseId}`;
    case 'send':
      return `send-${(d as JobPayloads['send']).outboxId}`;
    case 'approval-reply':
      return `approval-reply-${(d as JobPayloads['approval-reply']).rawId}`;
    default:
      throw new Error(`no job id rule for queue ${String(name)}`);
  }
}

export interface JobSink {
  enqueue<N extends QueueName>(name: N, data: JobPayloads[N]): Promise<void>;
  enqueueMany<N extends QueueName>(name: N, data: Array<JobPayloads[N]>): Promise<void>;
}

export type JobHandlers = { [N in QueueName]: (data: JobPayloads[N]) => Promise<unknown> };
