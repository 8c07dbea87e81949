/**
 * Intake's tables (owned by intake/): every raw message as it came in, and each mailbox's checkpoint.
 * Part of `Database` (schema.ts).
 */
import type { Generated, Insertable } from 'kysely';
import type { Id, Int8, Timestamp } from './columns';

export type RawSource = 'imap' | 'pipe' | 'smtp';
export type RawStatus = 'received' | 'case' | 'quarantined' | 'kept';

export interface RawMessagesTable {
  id: Id;
  source: RawSource;
  mailbox: string | null;
  uidvalidity: Int8 | null;
  uid: Int8 | null;
  dedupe_key: string;
  message_id: string | null;
  sha256: string;
  size: number;
  /** The whole message, or for one streamed into `raw_oid`, its first 256 KiB. */
  raw: Buffer;
  raw_oid: Generated<number | null>;
  status: Generated<RawStatus>;
  /** For kept messages: what they are (e.g. approval_reply). */
  kind: Generated<string | null>;
  error: string | null;
  case_id: Int8 | null;
  received_at: Timestamp;
  processed_at: Timestamp | null;
}

export interface MailboxStateTable {
  mailbox: string;
  uidvalidity: Int8;
  last_uid: Int8;
  updated_at: Timestamp;
}

export type NewRawMessage = Insertable<RawMessagesTable>;
