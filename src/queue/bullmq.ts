import { Queue, Worker, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { Logger } from 'pino';
import { jobIdFor, QUEUE_NAMES, RETRY, type JobHandlers, type JobPayloads, type JobSink, type QueueName } from './jobs';

// The only file that imports BullMQ: the rest of the code sees JobSink and JobHandlers.

function jobOptions(name: QueueName): JobsOptions {
  return { ...KEEP, attempts: RETRY[name].attempts, backoff: { type: 'exponential', delay: RETRY[name].backoffMs } };
}

const KEEP: JobsOptions = {
  // Completed jobs are kept a day so a re-add with the same id stays a no-op while a duplicate
  // could still arrive; failed jobs are kept until someone looks at them.
  removeOnComplete: { age: 24 * 3600, count: 10000 },
  removeOnFail: false,
};

export interface QueueCounts {
  waiting: number;
  active: number;
  failed: number;
  delayed: number;
  completed: number;
}

/** Producers must not hang the intake path while Redis is away: the recovery sweep catches up. */
const PRODUCER_TIMEOUT_MS = 5000;

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: Redis did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function redisOptions(redisUrl: string, producer: boolean): ConnectionOptions {
  const u = new URL(redisUrl);
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 6379,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    // Producers fail fast while Redis is away (the recovery sweep queues the work later);
    // workers wait for it to come back.
    maxRetriesPerRequest: producer ? 1 : null,
    enableOfflineQueue: !producer,
  };
}

export class BullQueues implements JobSink {
  private readonly queues = new Map<QueueName, Queue>();

  constructor(redisUrl: string, private readonly prefix: string) {
    for (const name of QUEUE_NAMES) {
      const queue = new Queue(name, { connection: redisOptions(redisUrl, true), prefix, defaultJobOptions: jobOptions(name) });
      queue.on('error', () => undefined); // surfaced through health checks, not as crashes
      this.queues.set(name, queue);
    }
  }

  private queue(name: QueueName): Queue {
    const q = this.queues.get(name);
    if (!q) throw new Error(`unknown queue ${name}`);
    return q;
  }

  async enqueueMany<N extends QueueName>(name: N, data: Array<JobPayloads[N]>): Promise<void> {
    if (!data.length) return;
    const jobs = data.map((d) => ({ name, data: d, opts: { ...jobOptions(name), jobId: jobIdFor(name, d) } }));
    await withTimeout(this.queue(name).addBulk(jobs), PRODUCER_TIMEOUT_MS, `queue ${name}`);
  }

  /** Like `enqueueMany`, the job run no sooner than `delayMs` from now (a webhook's retry). */
  async enqueueLater<N extends QueueName>(name: N, data: JobPayloads[N], delayMs: number): Promise<void> {
    await withTimeout(this.queue(name).add(name, data, { ...jobOptions(name), jobId: jobIdFor(name, data), delay: Math.max(0, Math.ceil(delayMs)) }), PRODUCER_TIMEOUT_MS, `queue ${name}`);
  }

  async requeueMany<N extends QueueName>(name: N, data: Array<JobPayloads[N]>): Promise<void> {
    await this.enqueueMany(name, data);
    const queue = this.queue(name);
    const revive = async (d: JobPayloads[N]) => {
      const job = await queue.getJob(jobIdFor(name, d));
      const state = job ? await job.getState() : null;
      if (state === 'failed') await job!.retry('failed');
      else if (state === 'completed') {
        await job!.remove();
        await this.enqueueMany(name, [d]);
      }
    };
    await withTimeout(Promise.all(data.map(revive)), PRODUCER_TIMEOUT_MS, `queue ${name}`);
  }

  async counts(): Promise<Record<QueueName, QueueCounts>> {
    const entries = await Promise.all(
      QUEUE_NAMES.map(async (name) => {
        const c = await this.queue(name).getJobCounts('waiting', 'active', 'failed', 'delayed', 'completed');
        return [name, { waiting: c.waiting ?? 0, active: c.active ?? 0, failed: c.failed ?? 0, delayed: c.delayed ?? 0, completed: c.completed ?? 0 }] as const;
      }),
    );
    return Object.fromEntries(entries) as Record<QueueName, QueueCounts>;
  }

  /** The queues themselves, for Bull Board (the staff's job view); nothing else should need them. */
  boardQueues(): Queue[] {
    return [...this.queues.values()];
  }

  get queuePrefix(): string {
    return this.prefix;
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.queues.values()].map((q) => withTimeout(q.close(), PRODUCER_TIMEOUT_MS, 'close').catch(() => q.disconnect())),
    );
  }
}

export class BullWorkers {
  private readonly workers: Worker[] = [];

  constructor(redisUrl: string, prefix: string, handlers: JobHandlers, options: { concurrency: Record<QueueName, number>; log: Logger }) {
    for (const name of QUEUE_NAMES) {
      const handler = handlers[name] as (data: unknown) => Promise<unknown>;
      const worker = new Worker(name, async (job) => handler(job.data), {
        connection: redisOptions(redisUrl, false),
        prefix,
        concurrency: options.concurrency[name],
        // A worker killed mid-job leaves its job active until the lock expires; short locks
        // (renewed every half period while the job runs) get it retried within seconds.
        // Handlers are idempotent, so a job that stalls repeatedly is retried, not failed.
        lockDuration: 10_000,
        stalledInterval: 5_000,
        maxStalledCount: 10,
      });
      worker.on('failed', (job, err) => {
        options.log.warn({ queue: name, jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, 'job failed');
      });
      worker.on('error', (err) => options.log.warn({ queue: name, err: err.message }, 'worker error'));
      this.workers.push(worker);
    }
  }

  /**
   * Waits for in-flight jobs to finish, then disconnects. Past `withinMs` it stops waiting: the
   * unfinished jobs' locks lapse and another worker retries them (every handler is idempotent).
   */
  async close(withinMs = Infinity): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((resolve) => {
      if (Number.isFinite(withinMs)) timer = setTimeout(() => resolve('late'), withinMs);
    });
    const closed = Promise.all(this.workers.map((w) => w.close()));
    if ((await Promise.race([closed, deadline])) === 'late') await Promise.all(this.workers.map((w) => w.close(true)));
    clearTimeout(timer);
  }
}
