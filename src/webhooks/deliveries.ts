/**
 * Webhook deliveries: the one module that writes `webhook_deliveries`. A row per (endpoint,
 * event), written by the relay in the transaction that writes the event; the webhook job takes
 * a stream's oldest pending row, and the stream waits while that row waits for its retry.
 */
import { sql } from 'kysely';
import { databaseTimeAgo } from '../db/clock';
import type { Db, DbOrTx, Tx } from '../db/connection';
import type { DeliveryStatus } from '../db/schema-events';
import { toPublicEvent, type PublicEvent } from '../events/feed';

/** A stream of an endpoint with undelivered rows, and the row at its head (for the job's id). */
export interface StreamHead {
  endpointId: string;
  stream: string;
  deliveryId: string;
  attempts: number;
}

/** One delivery row per endpoint that takes each event's type; the streams that got rows. */
export async function fanOut(tx: Tx, eventIds: string[]): Promise<StreamHead[]> {
  if (!eventIds.length) return [];
  const rows = await sql<{ endpoint_id: string; stream: string; id: string }>`
    insert into webhook_deliveries (endpoint_id, event_id, stream)
    select w.id, e.id, e.stream
      from events e join webhook_endpoints w on w.event_types is null or e.type = any(w.event_types)
     where e.id = any(${eventIds}::bigint[])
     order by e.id, w.id
    returning endpoint_id, stream, id`.execute(tx);
  const heads = new Map<string, StreamHead>();
  for (const r of rows.rows) {
    const key = `${r.endpoint_id} ${r.stream}`;
    if (!heads.has(key)) heads.set(key, { endpointId: r.endpoint_id, stream: r.stream, deliveryId: r.id, attempts: 0 });
  }
  return [...heads.values()];
}

export interface PendingDelivery {
  id: string;
  attempts: number;
  /** How long until its next attempt is due (on the database's clock); 0: due. */
  waitMs: number;
  /** Its retry window, set by its first failure, is over. */
  pastGiveUp: boolean;
  event: PublicEvent;
}

/** The stream's oldest pending row with its event, or null when the stream is all sent. */
export async function streamHead(db: DbOrTx, endpointId: string, stream: string): Promise<PendingDelivery | null> {
  const row = await db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('events as e', 'e.id', 'd.event_id')
    .select(['d.id', 'd.attempts', 'e.id as event_id', 'e.type', 'e.occurred_at', 'e.data'])
    .select([sql<number>`ceil(extract(epoch from greatest(d.next_attempt_at - now(), interval '0')) * 1000)::int`.as('wait_ms'), sql<boolean>`coalesce(d.give_up_at <= now(), false)`.as('past_give_up')])
    .where('d.endpoint_id', '=', endpointId)
    .where('d.stream', '=', stream)
    .where('d.status', '=', 'pending')
    .orderBy('d.id')
    .limit(1)
    .executeTakeFirst();
  if (!row) return null;
  return { id: row.id, attempts: row.attempts, waitMs: row.wait_ms, pastGiveUp: row.past_give_up, event: toPublicEvent({ id: row.event_id, type: row.type, occurred_at: row.occurred_at, data: row.data }) };
}

export interface AttemptOutcome {
  /** The receiver's HTTP status; null when it gave none. */
  status: number | null;
  /** Why it failed, in words (no header, no body of ours). */
  error: string | null;
}

export async function markDelivered(db: DbOrTx, id: string, outcome: AttemptOutcome): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set({ status: 'delivered', attempts: sql`attempts + 1`, last_attempt_at: sql`now()`, delivered_at: sql`now()`, last_status: outcome.status, last_error: null })
    .where('id', '=', id)
    .execute();
}

/**
 * A failed attempt: retried after `retryInMs` (no later than the end of the retry window, which
 * the first failure opens), or given up (`retryInMs` null).
 */
export async function markFailedAttempt(db: DbOrTx, id: string, outcome: AttemptOutcome, retryInMs: number | null, windowMs: number): Promise<void> {
  const window = sql<Date>`coalesce(give_up_at, now() + make_interval(secs => ${windowMs / 1000}))`;
  await db
    .updateTable('webhook_deliveries')
    .set({
      status: retryInMs === null ? 'failed' : 'pending',
      attempts: sql`attempts + 1`,
      last_attempt_at: sql`now()`,
      last_status: outcome.status,
      last_error: outcome.error,
      give_up_at: window,
      next_attempt_at: retryInMs === null ? sql`next_attempt_at` : sql`least(now() + make_interval(secs => ${retryInMs / 1000}), ${window})`,
    })
    .where('id', '=', id)
    .execute();
}

/** The due heads of streams nobody delivered for `graceMs` (their job was lost, or Redis was away). */
export async function overdueStreams(db: Db, graceMs: number, limit: number): Promise<StreamHead[]> {
  const rows = await sql<{ endpoint_id: string; stream: string; id: string; attempts: number }>`
    select endpoint_id, stream, id, attempts from (
      select distinct on (endpoint_id, stream) endpoint_id, stream, id, attempts, next_attempt_at
        from webhook_deliveries
       where status = 'pending'
       order by endpoint_id, stream, id) head
     where next_attempt_at <= ${databaseTimeAgo(graceMs)}
     limit ${limit}`.execute(db);
  return rows.rows.map((r) => ({ endpointId: r.endpoint_id, stream: r.stream, deliveryId: r.id, attempts: r.attempts }));
}

/**
 * Sends a delivered or failed row again, with its event's id (a receiver that kept it sees a
 * duplicate): pending at once, a fresh retry window, ahead of its stream's later rows.
 */
export async function redeliver(db: Db, endpointId: string, deliveryId: string): Promise<StreamHead | null> {
  if (!/^\d{1,18}$/.test(deliveryId) || !/^\d{1,18}$/.test(endpointId)) return null;
  const row = await db
    .updateTable('webhook_deliveries')
    .set({ status: 'pending', next_attempt_at: sql`now()`, give_up_at: null, delivered_at: null })
    .where('id', '=', deliveryId)
    .where('endpoint_id', '=', endpointId)
    .where('status', '<>', 'pending')
    .returning(['endpoint_id', 'stream', 'id', 'attempts'])
    .executeTakeFirst();
  return row ? { endpointId: row.endpoint_id, stream: row.stream, deliveryId: row.id, attempts: row.attempts } : null;
}

/** A delivery's status, or null when the endpoint has no such delivery. */
export async function deliveryStatus(db: Db, endpointId: string, deliveryId: string): Promise<DeliveryStatus | null> {
  if (!/^\d{1,18}$/.test(deliveryId) || !/^\d{1,18}$/.test(endpointId)) return null;
  const row = await db.selectFrom('webhook_deliveries').select('status').where('id', '=', deliveryId).where('endpoint_id', '=', endpointId).executeTakeFirst();
  return row?.status ?? null;
}

export interface DeliveryRow {
  id: string;
  eventId: string;
  type: string;
  caseReference: string | null;
  status: DeliveryStatus;
  attempts: number;
  lastAttemptAt: Date | null;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: Date;
  deliveredAt: Date | null;
}

/** An endpoint's deliveries, newest first; `status` keeps one kind. */
export async function listDeliveries(db: Db, endpointId: string, options: { status?: DeliveryStatus; limit: number }): Promise<DeliveryRow[]> {
  const rows = await db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('events as e', 'e.id', 'd.event_id')
    .select(['d.id', 'd.event_id', 'e.type', sql<string | null>`e.data->'case'->>'reference'`.as('reference'), 'd.status', 'd.attempts', 'd.last_attempt_at', 'd.last_status', 'd.last_error', 'd.next_attempt_at', 'd.delivered_at'])
    .where('d.endpoint_id', '=', endpointId)
    .$if(options.status !== undefined, (q) => q.where('d.status', '=', options.status!))
    .orderBy('d.id', 'desc')
    .limit(options.limit)
    .execute();
  return rows.map((r) => ({ id: r.id, eventId: r.event_id, type: r.type, caseReference: r.reference, status: r.status, attempts: r.attempts, lastAttemptAt: r.last_attempt_at, lastStatus: r.last_status, lastError: r.last_error, nextAttemptAt: r.next_attempt_at, deliveredAt: r.delivered_at }));
}
