import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';

/** A file a mail carries, as the transport attaches it. */
export interface MailAttachment {
  filename: string | null;
  contentType: string;
  content: Buffer;
}

/**
 * The attachments of the message an outbox row names (`message_ref`: a staff reply's own message
 * row), in the order they were stored; none for a row that names none (or whose message is gone).
 * Large ones come out of their large object (see insertAttachments in cases/repository.ts). Read
 * by the send before the transport composes the mail, so nothing of it happens at the commit point.
 */
export async function loadMailAttachments(db: DbOrTx, messageRef: string | null): Promise<MailAttachment[]> {
  if (messageRef === null) return [];
  const rows = await db
    .selectFrom('attachments')
    .select(['filename', 'content_type', sql<Buffer>`coalesce(content, lo_get(content_oid))`.as('content')])
    .where('message_id', '=', messageRef)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ filename: r.filename, contentType: r.content_type, content: r.content }));
}
