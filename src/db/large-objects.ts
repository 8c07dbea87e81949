import { sql } from 'kysely';
import type { Tx } from './connection';

/**
 * Bytes per statement when a value is written into a large object. pg copies each parameter
 * once while sending it, so this bounds that copy however large the value is.
 */
export const LARGE_OBJECT_CHUNK_BYTES = 1024 * 1024;

/**
 * Writes `content` into a new large object, one chunk per statement (the chunks are views of
 * `content`, not copies); returns its oid. In the caller's transaction, so a rollback removes it.
 */
export async function writeLargeObject(tx: Tx, content: Buffer): Promise<number> {
  const first = content.subarray(0, LARGE_OBJECT_CHUNK_BYTES);
  const created = await sql<{ oid: number }>`select lo_from_bytea(0, ${first}) as oid`.execute(tx);
  const oid = created.rows[0]!.oid;
  for (let offset = first.length; offset < content.length; offset += LARGE_OBJECT_CHUNK_BYTES) {
    await sql`select lo_put(${oid}::oid, ${offset}::bigint, ${content.subarray(offset, offset + LARGE_OBJECT_CHUNK_BYTES)})`.execute(tx);
  }
  return oid;
}
