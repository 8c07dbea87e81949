import { Worker } from 'bullmq';
import { createTestApp, eventually, TEST_REDIS, type TestApp } from '../support/env';

/**
 * The recovery sweep re-queues work whose row still needs it. A plain add is a no-op while a job
 * with the same id is kept, and failed jobs are kept for good: a case whose match job ran out of
 * tries during a long outage would otherwise never be decided.
 */
describe('requeueMany (the recovery sweep)', () => {
  let app: TestApp;
  const redis = { host: new URL(TEST_REDIS).hostname, port: Number(new URL(TEST_REDIS).port || 6379) };
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  const queue = () => app.ctx.jobs.boardQueues().find((q) => q.name === 'approval-reply')!;
  const runOnce = async (handler: () => Promise<void>) => {
    const worker = new Worker('approval-reply', handler, { connection: redis, prefix: app.ctx.config.queuePrefix });
    return worker;
  };

  it('retries a job that failed for good, where a plain add does nothing', async () => {
    await queue().add('approval-reply', { rawId: 'r1' }, { jobId: 'approval-reply-r1', attempts: 1 });
    const failing = await runOnce(async () => {
      throw new Error('PostgreSQL is down');
    });
    await eventually(async () => (await queue().getJob('approval-reply-r1'))?.isFailed());
    await failing.close();

    await app.ctx.jobs.enqueueMany('approval-reply', [{ rawId: 'r1' }]);
    expect(await (await queue().getJob('approval-reply-r1'))!.getState()).toBe('failed');

    await app.ctx.jobs.requeueMany('approval-reply', [{ rawId: 'r1' }]);
    expect(await (await queue().getJob('approval-reply-r1'))!.getState()).toBe('waiting');
    const seen: string[] = [];
    const working = await runOnce(async () => {
      seen.push('r1');
    });
    await eventually(async () => (await queue().getJob('approval-reply-r1'))?.isCompleted());
    await working.close();
    expect(seen).toEqual(['r1']);
  });

  it('replaces a completed job whose row was put back, and leaves waiting ones alone', async () => {
    await queue().add('approval-reply', { rawId: 'r2' }, { jobId: 'approval-reply-r2' });
    const worker = await runOnce(async () => undefined);
    await eventually(async () => (await queue().getJob('approval-reply-r2'))?.isCompleted());
    await worker.close();
    await queue().add('approval-reply', { rawId: 'r3' }, { jobId: 'approval-reply-r3' });

    await app.ctx.jobs.requeueMany('approval-reply', [{ rawId: 'r2' }, { rawId: 'r3' }]);
    expect(await (await queue().getJob('approval-reply-r2'))!.getState()).toBe('waiting');
    expect(await (await queue().getJob('approval-reply-r3'))!.getState()).toBe('waiting');
    expect(await queue().getWaitingCount()).toBe(2);
  });
});
