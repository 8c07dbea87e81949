import { runMaintenance, enqueueDeliveries } from '../../src/queue/handlers';
import { deliverOutboxRows } from '../../src/mail/deliver';
import { assignSendBatches, findPendingSendBatches, SEND_BATCH_SIZE } from '../../src/mail/send-batches';
import { SendError, type MailTransport } from '../../src/mail/transport';
import { createTestApp, type TestApp } from '../support/env';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink';

/**
 * Mail goes out in batches: one send job delivers up to SEND_BATCH_SIZE rows, one SMTP
 * transaction each. Each row keeps its own commit point; the batch shares the job, the row load
 * and the record of the answers, and the sweep re-queues a pending row under its batch's job.
 */
describe('send batches', () => {
  let app: TestApp;
  let sink: SmtpSink;
  let counter = 0;

  beforeAll(async () => {
    sink = await startSmtpSink();
    app = await createTestApp({ SMTP_URL: sink.url });
  });
  afterAll(async () => {
    await app.close();
    await sink.stop();
  });
  beforeEach(async () => {
    sink.accept();
    sink.messages.length = 0;
    // Each test counts its own rows: earlier tests' pending rows would join the sweep's batches.
    await app.ctx.db.deleteFrom('outbox').execute();
  });

  const deps = (transport: MailTransport = app.ctx.transport) => ({ db: app.ctx.db, commitPool: app.ctx.commitPool, transport, sealer: app.ctx.approvals.outbox.sealer, log: app.ctx.log });
  const newRows = async (n: number, createdSecondsAgo = 0) => {
    const rows = await app.ctx.db
      .insertInto('outbox')
      .values(
        Array.from({ length: n }, () => ({
          kind: 'acknowledgement',
          to_address: 'bob@acme.test',
          subject: `Batch ${counter}`,
          text: `Batch ${counter}`,
          html: `<p>Batch ${counter}</p>`,
          message_id: `batch-${Date.now()}-${counter++}@support.example.com`,
          sent_at: null,
          created_at: new Date(Date.now() - createdSecondsAgo * 1000),
        })),
      )
      .returning('id')
      .execute();
    return rows.map((r) => r.id);
  };
  const rowsOf = (ids: string[]) =>
    app.ctx.db.selectFrom('outbox').select(['id', 'status', 'attempts', 'smtp_response', 'send_batch']).where('id', 'in', ids).orderBy('id').execute();
  const sendJobs = async () => {
    const queue = app.ctx.jobs.boardQueues().find((q) => q.name === 'send')!;
    return queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
  };

  it('groups rows in order into batches of SEND_BATCH_SIZE, stores the keys, and leaves a row its first batch', async () => {
    const ids = await newRows(SEND_BATCH_SIZE + 3);
    const batches = await assignSendBatches(app.ctx.db, ids);
    expect(batches.map((b) => b.outboxIds)).toEqual([ids.slice(0, SEND_BATCH_SIZE), ids.slice(SEND_BATCH_SIZE)]);
    expect(new Set(batches.map((b) => b.batch)).size).toBe(2);
    const stored = await rowsOf(ids);
    expect(stored.map((r) => r.send_batch)).toEqual(ids.map((_, i) => batches[i < SEND_BATCH_SIZE ? 0 : 1]!.batch));

    // Queued again with others (a handler's retry): the rows keep their batch.
    const [extra] = await newRows(1);
    const again = await assignSendBatches(app.ctx.db, [ids[0]!, extra!]);
    expect(again).toEqual([
      { batch: batches[0]!.batch, outboxIds: [ids[0]] },
      { batch: expect.any(String), outboxIds: [extra] },
    ]);

    // A row no longer pending is not queued at all.
    await app.ctx.db.updateTable('outbox').set({ status: 'sent' }).where('id', '=', ids[1]!).execute();
    expect((await assignSendBatches(app.ctx.db, [ids[1]!])).length).toBe(0);
  });

  it('delivers a batch, one transaction per row, and records every answer', async () => {
    const ids = await newRows(5);
    const outcomes = await deliverOutboxRows(deps(), ids);
    expect(outcomes.map((o) => o.result)).toEqual(['sent', 'sent', 'sent', 'sent', 'sent']);
    expect(sink.messages).toHaveLength(5);
    expect((await rowsOf(ids)).map((r) => [r.status, r.smtp_response?.slice(0, 3)])).toEqual(ids.map(() => ['sent', '250']));
    // The job again (a retry after a crash): nothing goes out twice.
    expect((await deliverOutboxRows(deps(), ids)).map((o) => o.result)).toEqual(['skipped', 'skipped', 'skipped', 'skipped', 'skipped']);
    expect(sink.messages).toHaveLength(5);
  });

  it('a row refused for now does not hold the others; the job fails once all had their turn, and its retry sends only that row', async () => {
    const ids = await newRows(3);
    let refuseSecond = true;
    const transport: MailTransport = {
      send: (row, commit) => (refuseSecond && row.id === ids[1] ? Promise.reject(new SendError('451 try again later', false)) : app.ctx.transport.send(row, commit)),
      close: () => undefined,
    };
    await expect(deliverOutboxRows(deps(transport), ids)).rejects.toThrow(/451/);
    expect((await rowsOf(ids)).map((r) => [r.status, r.attempts])).toEqual([
      ['sent', 0],
      ['pending', 1],
      ['sent', 0],
    ]);
    expect(sink.messages).toHaveLength(2);

    refuseSecond = false;
    expect((await deliverOutboxRows(deps(transport), ids)).map((o) => o.result)).toEqual(['skipped', 'sent', 'skipped']);
    expect(sink.messages).toHaveLength(3);
  });

  it('a process that begins to stop ends the batch after the mail in hand, leaving the rest pending for the retry', async () => {
    const ids = await newRows(4);
    const stopping = new AbortController();
    const transport: MailTransport = {
      send: async (row, commit) => {
        const sent = await app.ctx.transport.send(row, commit);
        if (row.id === ids[1]) stopping.abort(); // SIGTERM arrives while the second mail is out
        return sent;
      },
      close: () => undefined,
    };
    await expect(deliverOutboxRows({ ...deps(transport), stopping: stopping.signal }, ids)).rejects.toThrow(/stopping/);
    expect((await rowsOf(ids)).map((r) => r.status)).toEqual(['sent', 'sent', 'pending', 'pending']);
    expect(sink.messages).toHaveLength(2);
  });

  it('two workers delivering the same batch at once: every row reaches the server exactly once', async () => {
    const ids = await newRows(10);
    const [a, b] = await Promise.all([deliverOutboxRows(deps(), ids), deliverOutboxRows(deps(), ids)]);
    expect([...a!, ...b!].filter((o) => o.result === 'sent')).toHaveLength(10);
    expect(sink.messages).toHaveLength(10);
    expect(new Set(sink.messages.map((m) => m.parsed.messageId)).size).toBe(10);
  });

  it('the sweep queues pending rows under the batch job they have, and never-queued rows in batches of their own', async () => {
    const queued = await newRows(3, 60);
    await enqueueDeliveries(app.ctx, queued);
    const [job] = await sendJobs();
    expect(job!.data).toEqual({ batch: expect.any(String), outboxIds: queued });
    // Still waiting (no worker runs here): the sweep must not add a second job for the same rows.
    const unqueued = await newRows(2, 60);
    await runMaintenance(app.ctx, 10_000);
    const jobs = await sendJobs();
    expect(jobs.map((j) => j.data.outboxIds).sort()).toEqual([queued, unqueued].sort());
    expect(await findPendingSendBatches(app.ctx.db, 100, 10_000)).toEqual([
      { batch: job!.data.batch, outboxIds: queued },
      { batch: jobs.find((j) => j.data.outboxIds[0] === unqueued[0])!.data.batch, outboxIds: unqueued },
    ]);
    // Rows written within the grace period are the producer's to queue, not the sweep's.
    await newRows(1);
    expect(await findPendingSendBatches(app.ctx.db, 100, 10_000)).toHaveLength(2);
  });
});
