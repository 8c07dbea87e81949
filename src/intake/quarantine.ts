import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';
import type { RawSource, RawStatus } from '../db/schema';
import { headerValue } from './headers';
import { fileStoredMessage } from './filing';
import type { IntakeDeps, IntakeResult } from './filing';
import { quarantine } from './raw-store';
import { errorMessage } from '../errors';

/**
 * The quarantine: raw messages that could not become a case (the parser failed, no From address,
 * the database refused the content). They stay in raw_messages with status 'quarantined' and the
 * reason in `error`; support lists them, downloads them, and retries them once the cause is fixed.
 */

export interface QuarantinedMessage {
  id: string;
  /** ISO 8601. */
  receivedAt: string;
  source: RawSource;
  size: number;
  messageId: string | null;
  /** The From header as written (encoded words decoded), or null; best effort, never parsed. */
  from: string | null;
  /** The Subject header as written (encoded words decoded), or null. */
  subject: string | null;
  error: string | null;
  /** For kept messages: what they are (bounce, auto_reply, approval_reply, …); null in quarantine. */
  kind: string | null;
}

/** How much of each message the listing reads: the headers are at the start, never the body. */
const HEAD_BYTES = 64 * 1024;
const MAX_BIGINT = 9223372036854775807n;

/** A raw_messages id as the database accepts it; anything else cannot name a row. */
export function isRawId(id: string): boolean {
  return /^\d{1,19}$/.test(id) && BigInt(id) <= MAX_BIGINT && BigInt(id) > 0n;
}

/** Quarantined messages, newest first; `beforeId` pages on (ids below it). */
export async function listQuarantine(db: DbOrTx, options: { limit: number; beforeId?: string }): Promise<QuarantinedMessage[]> {
  return listStored(db, { ...options, status: 'quarantined' });
}

/**
 * Stored messages that are not cases, newest first: the quarantine, or the kept automatic mail
 * (optionally of one kind), each with the reason it was kept.
 */
export async function listStored(db: DbOrTx, options: { status: 'quarantined' | 'kept'; kind?: string; limit: number; beforeId?: string }): Promise<QuarantinedMessage[]> {
  if (options.beforeId !== undefined && !isRawId(options.beforeId)) return [];
  let query = db
    .selectFrom('raw_messages')
    .select(['id', 'received_at', 'source', 'size', 'message_id', 'error', 'kind', sql<Buffer>`substring(raw from 1 for ${sql.lit(HEAD_BYTES)})`.as('head')])
    .where('status', '=', options.status);
  if (options.kind !== undefined) query = query.where('kind', '=', options.kind);
  if (options.beforeId !== undefined) query = query.where('id', '<', options.beforeId);
  const rows = await query.orderBy('id', 'desc').limit(options.limit).execute();
  return rows.map((r) => ({
    id: r.id,
    receivedAt: r.received_at.toISOString(),
    source: r.source,
    size: r.size,
    messageId: r.message_id,
    from: readableHeader(r.head, 'from'),
    subject: readableHeader(r.head, 'subject'),
    error: r.error,
    kind: r.kind,
  }));
}

/**
 * Runs a quarantined message through intake again. The flip back to 'received' is conditional, so
 * two retries at once process it once; the other gets null, like an id that is not quarantined.
 * A retry that fails again leaves the row quarantined with the new reason, also when processing
 * throws (database trouble): a retry never leaves a row stuck in 'received'. Should even that
 * write fail, the row is 'received' and the recovery sweep finishes it.
 */
export async function retryQuarantined(deps: IntakeDeps, id: string): Promise<IntakeResult | null> {
  if (!isRawId(id)) return null;
  const row = await deps.db
    .updateTable('raw_messages')
    .set({ status: 'received', error: null, processed_at: null })
    .where('id', '=', id)
    .where('status', '=', 'quarantined')
    .returning(['raw', 'size', 'received_at'])
    .executeTakeFirst();
  if (!row) return null;
  deps.log.info({ rawId: id }, 'retrying quarantined message');
  try {
    return await fileStoredMessage(deps, { rawId: id, raw: row.raw, receivedAt: row.received_at, size: row.size });
  } catch (err) {
    const error = `retry failed: ${errorMessage(err)}`;
    try {
      await quarantine(deps.db, id, error);
    } catch {
      deps.log.error({ rawId: id, err: error }, 'retry failed and the message could not be quarantined again; the recovery sweep will retry');
      throw err;
    }
    deps.log.warn({ rawId: id, reason: error }, 'message quarantined again');
    return { outcome: 'quarantined', rawId: id, error };
  }
}

/** Where a raw message stands, for telling "not quarantined" from "no such message". */
export async function rawMessageStatus(db: DbOrTx, id: string): Promise<{ status: RawStatus; reference: string | null } | undefined> {
  if (!isRawId(id)) return undefined;
  const row = await db
    .selectFrom('raw_messages')
    .leftJoin('cases', 'cases.id', 'raw_messages.case_id')
    .select(['raw_messages.status', 'cases.reference'])
    .where('raw_messages.id', '=', id)
    .executeTakeFirst();
  return row && { status: row.status, reference: row.reference ?? null };
}

/**
 * The stored bytes of a message, for download. Only quarantined and kept messages (those that
 * are not a case, so the raw copy is the only copy support has); a message that became a case is
 * read through its case.
 */
export async function loadRawMessage(db: DbOrTx, id: string): Promise<{ raw: Buffer; messageId: string | null } | undefined> {
  if (!isRawId(id)) return undefined;
  const row = await db
    .selectFrom('raw_messages')
    .select(['raw', 'message_id'])
    .where('id', '=', id)
    .where('status', 'in', ['quarantined', 'kept'])
    .executeTakeFirst();
  return row && { raw: row.raw, messageId: row.message_id };
}

/** A header's value for display: RFC 6532 UTF-8 when the bytes are UTF-8, encoded words decoded. */
function readableHeader(head: Buffer, name: string): string | null {
  // headerValue reads the header block as latin1 (one char per byte); go back to bytes for UTF-8.
  const value = headerValue(head, name);
  if (value === null) return null;
  const bytes = Buffer.from(value, 'latin1');
  let text = value;
  if (bytes.some((b) => b >= 0x80)) {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      // Not UTF-8: leave the latin1 reading.
    }
  }
  // Control characters (a decoded word may hold line breaks) would break one-line displays.
  // eslint-disable-next-line no-control-regex
  return decodeEncodedWords(text).replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}

/** RFC 2047 encoded words (=?charset?B|Q?text?=); a word that cannot be decoded stays as written. */
export function decodeEncodedWords(value: string): string {
  // Whitespace between two adjacent encoded words is not part of the text (RFC 2047 section 6.2).
  const joined = value.replace(/(\?=)\s+(?==\?)/g, '$1');
  return joined.replace(/=\?([^?\s*]+)(?:\*[^?\s]*)?\?([BbQq])\?([^?\s]*)\?=/g, (word, charset: string, encoding: string, text: string) => {
    try {
      const bytes =
        encoding.toUpperCase() === 'B'
          ? Buffer.from(text, 'base64')
          : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
      return new TextDecoder(charset.toLowerCase()).decode(bytes);
    } catch {
      return word;
    }
  });
}
