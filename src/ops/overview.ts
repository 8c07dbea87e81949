import { sql, type RawBuilder } from 'kysely';
import type { DbOrTx } from '../db/connection';
import type { CaseStatus, HoldReason } from '../db/schema';

/**
 * The dashboard's overview: what the service is doing right now, read from PostgreSQL only.
 * It is polled every few seconds, so it is five statements run side by side, each answered from
 * an index where one exists. Times are ISO 8601 strings, counts are numbers.
 *
 * Indexes relied on (see migrations/):
 * - cases by status/hold reason: none; a scan of `cases` (no index holds hold_reason).
 * - hourly buckets: none; `cases.created_at` has no index, so the 24 h window is a scan of `cases`.
 * - approvals: the partial indexes `approvals_due` / `approvals_one_pending` (status = 'pending').
 * - backlog: `raw_messages_unprocessed` (partial, status = 'received').
 * - last message seen: the primary key of raw_messages (newest id).
 * - quarantined, kept in 24 h: none; a scan of `raw_messages` (no index on status or received_at).
 * - lag: `cases_first_decided_at` (partial); then `messages_case` and the primary key of
 *   raw_messages for each case decided in the hour.
 * - outbox pending: `outbox_pending` (partial); failed and bounced: none, a scan of `outbox`.
 */

export const HOLD_REASONS: readonly HoldReason[] = ['unknown_sender', 'not_permitted', 'unrouted', 'rate_limited', 'sender_not_verified', 'too_large'];
const STATUSES: readonly CaseStatus[] = ['new', 'open', 'pending', 'solved', 'closed', 'suspended', 'ignored'];

export interface HourBucket {
  /** Start of the hour (session time zone), ISO 8601. */
  hourStart: string;
  /** Cases created in that hour, by the status they have now; `open`: passed the gate (open, pending, solved or closed). */
  open: number;
  suspended: number;
  ignored: number;
  new: number;
  total: number;
}

export interface Overview {
  /** The instant everything below is measured against, ISO 8601. */
  asOf: string;
  cases: {
    byStatus: Record<CaseStatus, number>;
    /** Suspended cases only; every reason is present, zero when none. */
    suspendedByHoldReason: Record<HoldReason, number>;
    total: number;
  };
  /** 24 buckets, oldest first; the last is the current (partial) hour. */
  last24h: HourBucket[];
  /**
   * Requests waiting for a person: how many, the oldest, and how many expire within the next
   * 24 hours (their cases then stay held until an administrator decides in the portal).
   */
  approvals: { pending: number; oldestCreatedAt: string | null; oldestAgeSeconds: number | null; expiringWithin24h: number; nextExpiresAt: string | null };
  intake: {
    /** Raw messages stored but not processed yet (status 'received'). */
    backlog: number;
    lastReceivedAt: string | null;
    quarantined: number;
    keptLast24h: number;
    /**
     * From a case's first raw message arriving to intake's decision (`first_decided_at`), over
     * cases first decided in the last hour: the machine's time. A held case released later by
     * an administrator does not count again, nor does the administrators' time to answer.
     */
    lagLastHour: { decided: number; p50Seconds: number | null; p95Seconds: number | null };
  };
  outbox: { pending: number; failed: number; bounced: number };
}

/** `now` fixes the reference instant (tests, replays); by default the database's clock. */
export async function loadOverview(db: DbOrTx, now?: Date): Promise<Overview> {
  const ref: RawBuilder<Date> = now ? sql<Date>`${now}::timestamptz` : sql<Date>`now()`;
  const [cases, last24h, approvals, intake, outbox] = await Promise.all([caseCounts(db), hourlyBuckets(db, ref), pendingApprovals(db, ref), intakeState(db, ref), outboxCounts(db)]);
  const { asOf, ...intakeRest } = intake;
  return { asOf, cases, last24h, approvals, intake: intakeRest, outbox };
}

const count = (value: string | number | bigint | null | undefined): number => Number(value ?? 0);
const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

async function caseCounts(db: DbOrTx): Promise<Overview['cases']> {
  const rows = await db
    .selectFrom('cases')
    .select(['status', 'hold_reason', (eb) => eb.fn.countAll<string>().as('n')])
    .groupBy(['status', 'hold_reason'])
    .execute();
  const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<CaseStatus, number>;
  const suspendedByHoldReason = Object.fromEntries(HOLD_REASONS.map((r) => [r, 0])) as Record<HoldReason, number>;
  let total = 0;
  for (const r of rows) {
    const n = count(r.n);
    byStatus[r.status] += n;
    total += n;
    if (r.status === 'suspended' && r.hold_reason) suspendedByHoldReason[r.hold_reason] += n;
  }
  return { byStatus, suspendedByHoldReason, total };
}

interface BucketRow {
  hour: Date;
  open: string;
  suspended: string;
  ignored: string;
  new: string;
}

async function hourlyBuckets(db: DbOrTx, ref: RawBuilder<Date>): Promise<HourBucket[]> {
  // The window's cases are read once and grouped by hour; generate_series supplies the empty hours.
  const { rows } = await sql<BucketRow>`
    with bounds as (select date_trunc('hour', ${ref}) as last_hour, ${ref} as ref),
    recent as (
      select date_trunc('hour', c.created_at) as hour, c.status
      from cases c, bounds b
      where c.created_at >= b.last_hour - interval '23 hours' and c.created_at <= b.ref
    )
    select h.hour,
      count(r.status) filter (where r.status in ('open', 'pending', 'solved', 'closed')) as open,
      count(r.status) filter (where r.status = 'suspended') as suspended,
      count(r.status) filter (where r.status = 'ignored') as ignored,
      count(r.status) filter (where r.status = 'new') as new
    from bounds b
    cross join generate_series(b.last_hour - interval '23 hours', b.last_hour, interval '1 hour') as h(hour)
    left join recent r on r.hour = h.hour
    group by h.hour
    order by h.hour`.execute(db);
  return rows.map((r) => {
    const bucket = { open: count(r.open), suspended: count(r.suspended), ignored: count(r.ignored), new: count(r.new) };
    return { hourStart: r.hour.toISOString(), ...bucket, total: bucket.open + bucket.suspended + bucket.ignored + bucket.new };
  });
}

async function pendingApprovals(db: DbOrTx, ref: RawBuilder<Date>): Promise<Overview['approvals']> {
  // The age on the same clock as `ref`: the database's, or the caller's fixed instant.
  const { rows } = await sql<{ n: string; oldest: Date | null; age: number | null; expiring: string; next_expiry: Date | null }>`
    select count(*) as n, min(created_at) as oldest, extract(epoch from ${ref} - min(created_at))::float8 as age,
      count(*) filter (where expires_at <= ${ref} + interval '24 hours') as expiring, min(expires_at) as next_expiry
    from approvals where status = 'pending'`.execute(db);
  const r = rows[0]!;
  return {
    pending: count(r.n),
    oldestCreatedAt: iso(r.oldest),
    oldestAgeSeconds: r.age === null ? null : Math.max(0, Math.floor(r.age)),
    expiringWithin24h: count(r.expiring),
    nextExpiresAt: iso(r.next_expiry),
  };
}

interface IntakeRow {
  as_of: Date;
  backlog: string;
  last_received_at: Date | null;
  quarantined: string;
  kept: string;
  decided: string;
  p50: number | null;
  p95: number | null;
}

async function intakeState(db: DbOrTx, ref: RawBuilder<Date>): Promise<Overview['intake'] & { asOf: string }> {
  // The newest row by id rather than max(received_at): ids follow arrival and the primary key answers it.
  // A case's arrival is its first message's raw copy (replies arrive later and are not the lag).
  const { rows } = await sql<IntakeRow>`
    select ${ref} as as_of,
      (select count(*) from raw_messages where status = 'received') as backlog,
      (select received_at from raw_messages order by id desc limit 1) as last_received_at,
      (select count(*) from raw_messages where status = 'quarantined') as quarantined,
      (select count(*) from raw_messages where status = 'kept' and received_at > ${ref} - interval '24 hours' and received_at <= ${ref}) as kept,
      lag.decided, lag.p50, lag.p95
    from (
      select count(*) as decided,
        percentile_cont(0.5) within group (order by extract(epoch from c.first_decided_at - r.received_at)::float8) as p50,
        percentile_cont(0.95) within group (order by extract(epoch from c.first_decided_at - r.received_at)::float8) as p95
      from cases c
      cross join lateral (select m.raw_message_id from messages m where m.case_id = c.id order by m.id limit 1) first
      join raw_messages r on r.id = first.raw_message_id
      where c.first_decided_at > ${ref} - interval '1 hour' and c.first_decided_at <= ${ref}
    ) lag`.execute(db);
  const r = rows[0]!;
  return {
    asOf: r.as_of.toISOString(),
    backlog: count(r.backlog),
    lastReceivedAt: iso(r.last_received_at),
    quarantined: count(r.quarantined),
    keptLast24h: count(r.kept),
    lagLastHour: { decided: count(r.decided), p50Seconds: r.p50, p95Seconds: r.p95 },
  };
}

async function outboxCounts(db: DbOrTx): Promise<Overview['outbox']> {
  // Separate counts, so 'pending' can use its partial index whatever the other two cost.
  const { rows } = await sql<{ pending: string; failed: string; bounced: string }>`
    select (select count(*) from outbox where status = 'pending') as pending,
      (select count(*) from outbox where status = 'failed') as failed,
      (select count(*) from outbox where status = 'bounced') as bounced`.execute(db);
  const r = rows[0]!;
  return { pending: count(r.pending), failed: count(r.failed), bounced: count(r.bounced) };
}
