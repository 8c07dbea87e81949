import { sql } from 'kysely';
import { databaseTimeAgo } from '../db/clock';
import type { DbOrTx, Tx } from '../db/connection';
import type { RawSource } from '../db/schema';

export interface Origin {
  source: RawSource;
  mailbox?: string;
  uidvalidity?: string;
  uid?: number;
}

export interface RawInsert {
  origin: Origin;
  dedupeKey: string;
  messageId: string | null;
  sha256: string;
  raw: Buffer;
}

/**
 * Stores the raw message unless the same message (Message-ID, or the same mailbox UID) is
 * already stored. Returns the new row's id, or null for a duplicate.
 */
export async function insertRaw(db: DbOrTx, r: RawInsert): Promise<{ id: string; receivedAt: Date } | null> {
  const row = await db
    .insertInto('raw_messages')
    .values({
      source: r.origin.source,
      mailbox: r.origin.mailbox ?? null,
      uidvalidity: r.origin.uidvalidity ?? null,
      uid: r.origin.uid ?? null,
      dedupe_key: r.dedupeKey,
      message_id: r.messageId,
      sha256: r.sha256,
      size: r.raw.length,
      raw: r.raw,
      error: null,
      case_id: null,
      processed_at: null,
    })
    .onConflict((oc) => oc.doNothing())
    .returning(['id', 'received_at'])
    .executeTakeFirst();
  return row ? { id: row.id, receivedAt: row.received_at } : null;
}

export async function loadRaw(db: DbOrTx, id: string): Promise<{ raw: Buffer; status: string; receivedAt: Date } | undefined> {
  const row = await db.selectFrom('raw_messages').select(['raw', 'status', 'received_at']).where('id', '=', id).executeTakeFirst();
  return row && { raw: row.raw, status: row.status, receivedAt: row.received_at };
}

/**
 * Claims a received message for its case inside the case's transaction. Only one caller can
 * claim it, so a message processed twice at once (a sweep racing the watcher) is one case.
 */
export async function claimForCase(tx: Tx, id: string, caseId: string): Promise<boolean> {
  const r = await tx
    .updateTable('raw_messages')
    .set({ status: 'case', case_id: caseId, processed_at: sql`now()` })
    .where('id', '=', id)
    .where('status', '=', 'received')
    .executeTakeFirst();
  return r.numUpdatedRows === 1n;
}

export async function quarantine(db: DbOrTx, id: string, error: string): Promise<void> {
  await db
    .updateTable('raw_messages')
    .set({ status: 'quarantined', error: error.slice(0, 2000), processed_at: sql`now()` })
    .where('id', '=', id)
    .where('status', '=', 'received')
    .execute();
}

/** Messages still `received` after `graceMs` (measured on the database's clock, like received_at). */
/** Marks a received message as kept (stored, never a case) with what it is and why we think so. */
export async function keep(db: DbOrTx, id: string, kind: string, note: string | null = null): Promise<boolean> {
  const r = await db
    .updateTable('raw_messages')
    .set({ status: 'kept', kind, error: note, processed_at: sql`now()` })
    .where('id', '=', id)
    .where('status', '=', 'received')
    .executeTakeFirst();
  return r.numUpdatedRows === 1n;
}

/** Kept approval replies nobody has acted on yet (their note is still empty). */
export async function findUnhandledReplyIds(db: DbOrTx, graceMs: number, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('raw_messages')
    .select('id')
    .where('status', '=', 'kept')
    .where('kind', '=', 'approval_reply')
    .where('error', 'is', null)
    .where('received_at', '<=', databaseTimeAgo(graceMs))
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}

export async function findUnprocessedRawIds(db: DbOrTx, graceMs: number, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('raw_messages')
    .select('id')
    .where('status', '=', 'received')
    .where('received_at', '<=', databaseTimeAgo(graceMs))
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}
