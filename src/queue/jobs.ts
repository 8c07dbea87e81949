/**
 * Every queue, its payload and how its job id is derived. Payloads carry ids only: the handler
 * reloads the row, so a job never acts on stale data. Domain code enqueues through `JobSink`
 * and never sees BullMQ.
 */
export interface JobPayloads {
  /** Route and authorize one case. */
  match: { caseId: string };
}

export type QueueName = keyof JobPayloads;
export const QUEUE_NAMES: readonly QueueName[] = ['match'];

/** One job per entity: re-adding a job whose id exists is a no-op, so retries never double work. */
export function jobIdFor<N extends QueueName>(name: N, data: JobPayloads[N]): string {
  switch (name) {
    case 'match':
      return `match-${data.caseId}`;
    default:
      throw new Error(`no job id rule for queue ${String(name)}`);
  }
}

export interface JobSink {
  enqueue<N extends QueueName>(name: N, data: JobPayloads[N]): Promise<void>;
  enqueueMany<N extends QueueName>(name: N, data: Array<JobPayloads[N]>): Promise<void>;
}

export type JobHandlers = { [N in QueueName]: (data: JobPayloads[N]) => Promise<unknown> };
