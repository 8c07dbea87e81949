import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { groupBySize, MAX_STATEMENT_BYTES } from '../db/batches';
import { databaseTimeAgo } from '../db/clock';
import type { Db, DbOrTx, Tx } from '../db/connection';
import { LargeObjectWriter } from '../db/large-objects';
import { bodyOffset, contentDedupeKey, headerValue, messageDedupeKey, normaliseMessageId } from './headers';
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
  return (await insertRaws(db, [r]))[0]!;
}

/**
 * `insertRaw` for a whole fetch in one statement. Returns, in the order given, each message's new
 * row or null for a duplicate (already stored, or a repeat within the same batch).
 */
export async function insertRaws(db: DbOrTx, batch: RawInsert[]): Promise<Array<{ id: string; receivedAt: Date } | null>> {
  const results: Array<{ id: string; receivedAt: Date } | null> = [];
  // Several statements when the messages are large: each carries at most MAX_STATEMENT_BYTES.
  for (const group of groupBySize(batch, (r) => r.raw.length, batch.length, MAX_STATEMENT_BYTES)) results.push(...(await insertRawGroup(db, group)));
  return results;
}

async function insertRawGroup(db: DbOrTx, batch: RawInsert[]): Promise<Array<{ id: string; receivedAt: Date } | null>> {
  const rows = await db
    .insertInto('raw_messages')
    .values(
      batch.map((r) => ({
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
      })),
    )
    .onConflict((oc) => oc.doNothing())
    .returning(['id', 'received_at', 'dedupe_key'])
    .execute();
  // Rows skipped by ON CONFLICT are not returned; each stored key answers its first message only.
  const byKey = new Map(rows.map((row) => [row.dedupe_key, { id: row.id, receivedAt: row.received_at }]));
  return batch.map((r) => {
    const hit = byKey.get(r.dedupeKey) ?? null;
    byKey.delete(r.dedupeKey);
    return hit;
  });
}

/** A stored message as intake reads it again: for a streamed one, `raw` is its first 256 KiB. */
export async function loadRaw(db: DbOrTx, id: string): Promise<{ raw: Buffer; size: number; status: string; receivedAt: Date } | undefined> {
  const row = await db.selectFrom('raw_messages').select(['raw', 'size', 'status', 'received_at']).where('id', '=', id).executeTakeFirst();
  return row && { raw: row.raw, size: row.size, status: row.status, receivedAt: row.received_at };
}

/** What `raw` keeps of a streamed message: its header block, in any real message. */
export const STREAMED_PREFIX_BYTES = 256 * 1024;

class DuplicateStream extends Error {}

/**
 * Stores a message as it streams in, without ever holding it whole: each chunk goes into a
 * PostgreSQL large object, the hashes are computed on the way, and the row is written at the end
 * in the same transaction (a duplicate rolls the large object back). Same de-duplication keys as
 * `insertRaw`. Returns null for a duplicate.
 */
export async function insertRawStreamed(db: Db, origin: Origin, chunks: AsyncIterable<Buffer>): Promise<{ id: string; receivedAt: Date; prefix: Buffer; size: number } | null> {
  try {
    return await db.transaction().execute(async (tx) => {
      const object = await LargeObjectWriter.create(tx);
      const whole = createHash('sha256');
      const body = createHash('sha256');
      const prefixParts: Buffer[] = [];
      let prefixLength = 0;
      let bodyStart: number | null = null;
      let size = 0;
      for await (const chunk of chunks) {
        await object.append(chunk);
        whole.update(chunk);
        if (bodyStart === null && prefixLength < STREAMED_PREFIX_BYTES) {
          const part = chunk.subarray(0, STREAMED_PREFIX_BYTES - prefixLength);
          prefixParts.push(part);
          prefixLength += part.length;
          const prefix = Buffer.concat(prefixParts);
          const offset = bodyOffset(prefix);
          if (offset < prefix.length) {
            bodyStart = offset;
            body.update(prefix.subarray(offset));
            if (chunk.length > part.length) body.update(chunk.subarray(part.length));
          }
        } else if (bodyStart !== null) {
          body.update(chunk);
        }
        size += chunk.length;
      }
      const prefix = Buffer.concat(prefixParts);
      const messageId = normaliseMessageId(headerValue(prefix, 'message-id'));
      const sha256 = whole.digest('hex');
      // The same key insertRaw would compute: Message-ID with the body's hash, else the whole hash.
      const key = messageId && bodyStart !== null ? messageDedupeKey(messageId, body.digest('hex')) : contentDedupeKey(sha256);
      const row = await tx
        .insertInto('raw_messages')
        .values({ source: origin.source, mailbox: origin.mailbox ?? null, uidvalidity: origin.uidvalidity ?? null, uid: origin.uid ?? null, dedupe_key: key, message_id: messageId, sha256, size, raw: prefix, raw_oid: object.oid, error: null, case_id: null, processed_at: null })
        .onConflict((oc) => oc.doNothing())
        .returning(['id', 'received_at'])
        .executeTakeFirst();
      if (!row) throw new DuplicateStream();
      return { id: row.id, receivedAt: row.received_at, prefix, size };
    });
  } catch (err) {
    if (err instanceof DuplicateStream) return null;
    throw err;
  }
}

/**
 * Claims a received message for its case inside the case's transaction. Only one caller can
 * claim it, so a message processed twice at once (a sweep racing the watcher) is one case.
 */
export async function claimForCase(tx: Tx, id: string, caseId: string): Promise<boolean> {
  return claimAllForCases(tx, [{ rawId: id, caseId }]);
}

/** `claimForCase` for a batch; true only if every message was still unclaimed (else the caller rolls back). */
export async function claimAllForCases(tx: Tx, claims: Array<{ rawId: string; caseId: string }>): Promise<boolean> {
  if (!claims.length) return true;
  const values = sql.join(claims.map((c) => sql`(${c.rawId}::bigint, ${c.caseId}::bigint)`));
  const r = await sql`
    update raw_messages r set status = 'case', case_id = v.case_id, processed_at = now()
    from (values ${values}) as v(raw_id, case_id)
    where r.id = v.raw_id and r.status = 'received'`.execute(tx);
  return r.numAffectedRows === BigInt(claims.length);
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

/** What became of a kept approval reply (`decided: authorize`, `rejected: …`): its note, and the end of the recovery sweep's interest. */
export async function noteApprovalReply(db: DbOrTx, id: string, note: string): Promise<void> {
  await db.updateTable('raw_messages').set({ error: note, processed_at: sql`now()` }).where('id', '=', id).execute();
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
