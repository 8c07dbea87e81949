import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from '../db/connection';
import { readWatcherStatuses } from '../intake/watcher-status';

/**
 * The Prometheus metrics of one process, in a registry of its own (no global state, so tests
 * build as many as they like). Totals that live in PostgreSQL (messages by class, cases by
 * decision, approvals, outbox) are read at scrape time, so every process reports the same
 * truth; what only a process knows (job durations and failures, mailbox reconnects, approval
 * decision times it saw) is counted in memory.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly jobDuration = new Histogram({
    name: 'case_intake_job_duration_seconds',
    help: 'Time a queue job took, by queue and result',
    labelNames: ['queue', 'result'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly jobFailures = new Counter({ name: 'case_intake_job_failures_total', help: 'Queue job attempts that threw', labelNames: ['queue'], registers: [this.registry] });
  readonly approvalDecisionSeconds = new Histogram({
    name: 'case_intake_approval_time_to_decision_seconds',
    help: 'From the approval request to its decision, by channel',
    labelNames: ['channel', 'outcome'],
    buckets: [60, 300, 900, 3600, 4 * 3600, 12 * 3600, 24 * 3600, 3 * 86400, 7 * 86400],
    registers: [this.registry],
  });

  /**
   * From a case's arrival to staff's first reply (dashboard or API), observed once per case when
   * that reply is written; the response-time goal is read from its buckets.
   */
  readonly firstResponseSeconds = new Histogram({
    name: 'case_intake_first_response_seconds',
    help: "From a case's arrival to the first staff reply",
    buckets: [60, 300, 900, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 24 * 3600, 2 * 86400, 3 * 86400, 7 * 86400],
    registers: [this.registry],
  });

  /**
   * How long each send's commit point stayed open: from the COMMIT's write to the write of the
   * message and its dot. A process killed inside it loses that mail (its row says `sent`), so
   * this is the exposure to crashes; on a busy machine its tail is scheduling, not the writes.
   */
  readonly commitPointWindow = new Histogram({
    name: 'case_intake_commit_point_window_seconds',
    help: 'From the COMMIT of a send to its end-of-data dot (a crash in between loses that mail)',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
    registers: [this.registry],
  });

  constructor(db: Db, mailboxReconnects: () => number, intakeBacklog: () => number, mailboxes: readonly string[] = []) {
    const perProcess = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      });
    perProcess('case_intake_mailbox_reconnects', 'Mailbox connections lost and retried by this process since it started', mailboxReconnects);
    perProcess(
      'case_intake_intake_backlog_messages',
      "Messages this process's watchers have listed on the server and not yet stored (over one fetch, outbound mail waits)",
      intakeBacklog,
    );
    const fromDatabase = (name: string, help: string, labelNames: string[], query: () => Promise<Array<{ labels: Record<string, string>; n: number }>>) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers: [this.registry],
        async collect() {
          this.reset();
          for (const row of await query()) this.set(row.labels, row.n);
        },
      });
    fromDatabase('case_intake_messages', 'Messages taken in, by what became of them (case, kept class, quarantined, received)', ['outcome', 'class'], async () => {
      const rows = await db.selectFrom('raw_messages').select(['status', 'kind', (eb) => eb.fn.countAll<string>().as('n')]).groupBy(['status', 'kind']).execute();
      return rows.map((r) => ({ labels: { outcome: r.status, class: r.kind ?? (r.status === 'case' ? 'person' : '') }, n: Number(r.n) }));
    });
    fromDatabase('case_intake_cases', 'Cases by status and hold reason', ['status', 'hold_reason'], async () => {
      const rows = await db.selectFrom('cases').select(['status', 'hold_reason', (eb) => eb.fn.countAll<string>().as('n')]).groupBy(['status', 'hold_reason']).execute();
      return rows.map((r) => ({ labels: { status: r.status, hold_reason: r.hold_reason ?? '' }, n: Number(r.n) }));
    });
    fromDatabase('case_intake_approvals', 'Approval requests by status and the channel that decided them', ['status', 'channel'], async () => {
      const rows = await db.selectFrom('approvals').select(['status', 'channel', (eb) => eb.fn.countAll<string>().as('n')]).groupBy(['status', 'channel']).execute();
      return rows.map((r) => ({ labels: { status: r.status, channel: r.channel ?? '' }, n: Number(r.n) }));
    });
    fromDatabase('case_intake_outbox', 'Outbound mail by status (pending, sent, failed, bounced) and kind', ['status', 'kind'], async () => {
      const rows = await db.selectFrom('outbox').select(['status', 'kind', (eb) => eb.fn.countAll<string>().as('n')]).groupBy(['status', 'kind']).execute();
      return rows.map((r) => ({ labels: { status: r.status, kind: r.kind }, n: Number(r.n) }));
    });
    // As the live watchers report them (any process's), so every process says the same; `reason` is
    // a short code (AADSTS7000215, invalid_grant, ...) while the credentials fail, never the sentence.
    fromDatabase('case_intake_mailbox_state', 'Each mailbox in its current state (1): connected, standby, disconnected, auth_failed, unwatched...', ['mailbox', 'state', 'reason'], async () => {
      const statuses = await readWatcherStatuses(db, [...mailboxes]);
      return statuses.map((s) => ({ labels: { mailbox: s.mailbox, state: s.state, reason: s.state === 'auth_failed' ? (s.reasonCode ?? '') : '' }, n: 1 }));
    });
    // By endpoint id, never its URL (a URL may carry the receiver's own token).
    fromDatabase('case_intake_webhook_deliveries', 'Webhook deliveries by endpoint id and status (pending, delivered, failed)', ['endpoint', 'status'], async () => {
      const rows = await db.selectFrom('webhook_deliveries').select(['endpoint_id', 'status', (eb) => eb.fn.countAll<string>().as('n')]).groupBy(['endpoint_id', 'status']).execute();
      return rows.map((r) => ({ labels: { endpoint: r.endpoint_id, status: r.status }, n: Number(r.n) }));
    });
  }

  /** Times one job and counts its failure; the job's own result or error passes through. */
  async timeJob<T>(queue: string, work: () => Promise<T>): Promise<T> {
    const end = this.jobDuration.startTimer({ queue });
    try {
      const result = await work();
      end({ result: 'ok' });
      return result;
    } catch (err) {
      end({ result: 'error' });
      this.jobFailures.inc({ queue });
      throw err;
    }
  }
}
