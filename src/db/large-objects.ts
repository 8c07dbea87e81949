import { sql } from 'kysely';
import type { Tx } from './connection';

/**
 * Bytes per statement when a value is written into a large object. pg copies each parameter
 * once while sending it, so this bounds that copy however large the value is.
 */
export const LARGE_OBJECT_CHUNK_BYTES = 1024 * 1024;

/**
 * A new large object, written by appending, one statement per piece. In the caller's
 * transaction, so a rollback removes it. Streamed raw messages and large attachments both go
 * through here.
 */
export class LargeObjectWriter {
  private written = 0;

  private constructor(
    private readonly tx: Tx,
    readonly oid: number,
  ) {}

  static async create(tx: Tx): Promise<LargeObjectWriter> {
    const created = await sql<{ oid: number }>`select lo_create(0) as oid`.execute(tx);
    return new LargeObjectWriter(tx, created.rows[0]!.oid);
  }

  async append(piece: Buffer): Promise<void> {
    await sql`select lo_put(${this.oid}::oid, ${this.written}::bigint, ${piece})`.execute(this.tx);
    this.written += piece.length;
  }
}

/**
 * Writes `content` into a new large object, LARGE_OBJECT_CHUNK_BYTES per statement (the pieces
 * are views of `content`, not copies); returns its oid.
 */
export async function writeLargeObject(tx: Tx, content: Buffer): Promise<number> {
  const writer = await LargeObjectWriter.create(tx);
  for (let offset = 0; offset < content.length; offset += LARGE_OBJECT_CHUNK_BYTES) await writer.append(content.subarray(offset, offset + LARGE_OBJECT_CHUNK_BYTES));
  return writer.oid;
}
