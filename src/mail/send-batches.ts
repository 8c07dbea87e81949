import { sql } from 'kysely';
import { batchKey, groupBySize } from '../db/batches';
import { databaseTimeAgo } from '../db/clock';
import type { DbOrTx } from '../db/connection';

/**
 * Mails one send job delivers at most, one after another. A job per mail cost a queue round trip
 * and three statements per mail; a batch shares its queue work, its row load and its record of
 * the server's answers. Small enough that a backlog's mail still spreads over SEND_CONCURRENCY jobs.
 */
export const SEND_BATCH_SIZE = 25;

export interface SendBatch {
  /** Stored on each of its rows as `send_batch`; the send job is named by it. */
  batch: string;
  outboxIds: string[];
}

/**
 * Groups outbox rows into send batches, in the order given, and stores each row's batch key. A
 * row that has a key keeps it (queued twice, it stays in its first batch); a row no longer
 * pending is left out, its mail done. One statement.
 */
export async function assignSendBatches(db: DbOrTx, ids: string[], size = SEND_BATCH_SIZE): Promise<SendBatch[]> {
  if (!ids.length) return [];
  const keys = groupBySize(ids, () => 0, size, Infinity).flatMap((group) => group.map(() => batchKey(group)));
  const rows = await sql<{ id: string; send_batch: string }>`
    update outbox o set send_batch = coalesce(o.send_batch, v.key)
    from unnest(${ids}::bigint[], ${keys}::text[]) as v(id, key)
    where o.id = v.id and o.status = 'pending'
    returning o.id, o.send_batch`.execute(db);
  const keyOf = new Map(rows.rows.map((r) => [String(r.id), r.send_batch]));
  return inBatches(ids.filter((id) => keyOf.has(id)).map((id) => ({ id, batch: keyOf.get(id)! })));
}

/**
 * For the recovery sweep: rows still pending `graceMs` after they were written, oldest first, in
 * the batches they were queued in (the sweep's add is then a no-op while their job lives). Rows
 * never queued (the process died before it could) get their batches now.
 */
export async function findPendingSendBatches(db: DbOrTx, limit: number, graceMs: number): Promise<SendBatch[]> {
  const rows = await db
    .selectFrom('outbox')
    .select(['id', 'send_batch'])
    .where('status', '=', 'pending')
    .where('created_at', '<=', databaseTimeAgo(graceMs))
    .orderBy('id')
    .limit(limit)
    .execute();
  const queued = rows.flatMap((r) => (r.send_batch ? [{ id: r.id, batch: r.send_batch }] : []));
  const unqueued = rows.filter((r) => !r.send_batch).map((r) => r.id);
  return [...inBatches(queued), ...(await assignSendBatches(db, unqueued))];
}

function inBatches(rows: Array<{ id: string; batch: string }>): SendBatch[] {
  const batches = new Map<string, string[]>();
  for (const { id, batch } of rows) {
    const ids = batches.get(batch);
    if (ids) ids.push(id);
    else batches.set(batch, [id]);
  }
  return [...batches].map(([batch, outboxIds]) => ({ batch, outboxIds }));
}
